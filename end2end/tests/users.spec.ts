import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

// A person this file makes (the demo data has no such email).
const NAME = "Tono Teknisi Baru";
const EMAIL = "tono.baru@contoh.id";
const PHONE_E164 = "+6281255550101";
const PASSWORD = "sandi-tono-2026";

test("an admin adds a person, who sets their own password from the link and signs in; the admin moves and deactivates them", async ({ page, browser }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/users/new");
  await hydrated(page);
  const form = page.getByTestId("user-form");

  // Every bad field is named in Indonesian, and marked for screen readers.
  await form.getByLabel("Email").fill("tono-at-contoh");
  await form.getByLabel(/Nomor WhatsApp/).fill("0812-55x");
  await form.getByTestId("save-user").click();
  await expect(form.locator("#name-error")).toHaveText("Nama wajib diisi.");
  await expect(form.locator("#email-error")).toHaveText("Bukan alamat email (mis. rudi@contoh.id).");
  await expect(form.locator("#phone-error")).toBeVisible();
  await expect(form.getByLabel("Nama", { exact: true })).toHaveAttribute("aria-invalid", "true");

  await form.getByLabel("Nama", { exact: true }).fill(NAME);
  await form.getByLabel("Email").fill(EMAIL);
  await form.getByLabel(/Nomor WhatsApp/).fill("0812-5555-0101");
  await form.getByLabel("Peran").selectOption("technician");
  await form.getByLabel("Zona kerja").selectOption("karawang");
  await form.getByTestId("save-user").click();
  await expect(form.getByTestId("user-created")).toContainText(`${NAME} ditambahkan.`);
  await expect(form.getByTestId("link-sent")).toContainText("+62 812-****-0101");
  await expect(form.getByTestId("link-sent")).toContainText(EMAIL);
  // Ready for the next person of the same role and zone.
  await expect(form.getByLabel("Nama", { exact: true })).toHaveValue("");
  await expect(form.getByLabel("Zona kerja")).toHaveValue("karawang");

  // The same email again is refused on its field.
  await form.getByLabel("Nama", { exact: true }).fill("Tono Kembar");
  await form.getByLabel("Email").fill(EMAIL.toUpperCase());
  await form.getByTestId("save-user").click();
  await expect(form.locator("#email-error")).toHaveText("Email ini sudah dipakai orang lain.");

  // The list finds them by any form of the number; not signed up yet.
  await page.goto("/master/users");
  await hydrated(page);
  // Each page names itself in the tab and to screen readers.
  await expect(page).toHaveTitle("Pengguna · Notifikasi ISP");
  await page.getByTestId("user-search").fill("0812 5555 0101");
  const row = page.getByTestId("user-row");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(NAME);
  await expect(row).toContainText("belum membuat kata sandi");

  // The link went out through the outbox: the sandbox's WhatsApp message
  // in the delivery log holds it (a real gateway's would be redacted).
  await page.goto("/deliveries");
  await hydrated(page);
  const sent = page.getByTestId("delivery-row").filter({ hasText: PHONE_E164 }).filter({ hasText: "Tautan kata sandi" });
  await expect(sent).toHaveCount(1);
  await sent.getByRole("link").click();
  const message = page.getByTestId("delivery-message");
  await expect(message).toContainText(`Halo ${NAME}`);
  const text = (await message.textContent()) ?? "";
  const link = text.match(/https?:\/\/\S+\/set-password\?token=[\w-]+/)?.[0];
  expect(link, text).toBeTruthy();
  const path = new URL(link!).pathname + new URL(link!).search;

  // The person opens it, is greeted by name, and sets a password.
  const person = await (await browser.newContext()).newPage();
  await person.goto(path);
  await hydrated(person);
  await expect(person.getByText(`Halo ${NAME}`)).toBeVisible();
  await expect(person).toHaveTitle("Buat kata sandi · Notifikasi ISP");
  await person.getByLabel("Kata sandi baru").fill(PASSWORD);
  await person.getByLabel("Ulangi kata sandi").fill("lain-sekali-2026");
  await person.getByRole("button", { name: "Simpan kata sandi" }).click();
  await expect(person.locator("#repeat-error")).toHaveText("Kedua kata sandi tidak sama.");
  await person.getByLabel("Ulangi kata sandi").fill(PASSWORD);
  await person.getByRole("button", { name: "Simpan kata sandi" }).click();
  await expect(person.getByTestId("password-set")).toBeVisible();
  await login(person, EMAIL, PASSWORD);
  await expect(person.getByTestId("who")).toContainText(NAME);

  // The link works once.
  const again = await (await browser.newContext()).newPage();
  await again.goto(path);
  await hydrated(again);
  await expect(again.getByRole("alert")).toContainText("sudah dipakai atau kedaluwarsa");

  // The admin moves them to Bekasi: the zone filter follows at once.
  await page.goto("/master/users");
  await hydrated(page);
  await page.getByTestId("user-search").fill(EMAIL);
  await page.getByTestId("user-row").getByRole("link", { name: NAME }).click();
  await hydrated(page);
  await page.getByTestId("user-form").getByLabel("Zona kerja").selectOption("bekasi");
  await page.getByTestId("save-user").click();
  await expect(page.getByTestId("user-saved")).toBeVisible();
  await expect(page.getByTestId("access-card")).toContainText("Aktif");

  // Deactivated: signed out everywhere.
  await page.getByTestId("toggle-active").click();
  await expect(page.getByTestId("toggle-active")).toHaveText("Aktifkan kembali");
  await person.goto("/settings");
  await expect(person).toHaveURL(/\/login/);

  await page.goto("/master/users");
  await hydrated(page);
  await page.getByTestId("user-zone").selectOption("bekasi");
  await page.getByTestId("user-active").selectOption("no");
  await expect(page.getByTestId("user-row").filter({ hasText: NAME })).toHaveCount(1);

  // A technician is not shown the page.
  const tech = await (await browser.newContext()).newPage();
  await login(tech, "tek.karawang1@demo.id");
  await tech.goto("/master/users");
  await hydrated(tech);
  await expect(tech.getByRole("alert")).toContainText("Admin");
  await expect(tech.getByTestId("user-row")).toHaveCount(0);
});

test("the admin cannot lock themselves out", async ({ page }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/users");
  await hydrated(page);
  await page.getByTestId("user-search").fill("admin@demo.id");
  await page.getByTestId("user-row").getByRole("link").first().click();
  await hydrated(page);
  await page.getByTestId("toggle-active").click();
  await expect(page.getByTestId("access-card").getByRole("alert")).toContainText("tidak dapat menonaktifkan diri sendiri");
});

test("an office imports its staff list: every bad row named first, then all saved at once", async ({ page }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/users");
  await hydrated(page);
  const card = page.getByTestId("import-card");
  await card.locator("summary").click();
  // As a spreadsheet in Indonesian settings writes it: semicolons.
  const bad = [
    "Nama;Email;Telepon;Peran;Zona",
    "Wawan Teknisi;wawan@contoh.id;0812-6666-0001;Teknisi;karawang",
    "Yuni Teknisi;yuni@contoh.id;0812-6666-0002;Teknisi;atlantis",
    "Zaki;WAWAN@contoh.id;0812-66xx;bos;",
  ].join("\n");
  await card.getByTestId("import-text").fill(bad);
  await card.getByTestId("check-import").click();
  await expect(card.getByTestId("import-summary")).toHaveText("2 baris perlu diperbaiki; belum ada yang disimpan.");
  const rows = card.getByTestId("import-row");
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toContainText("Baru");
  await expect(rows.nth(1)).toContainText("Zona 'atlantis' tidak ada atau nonaktif.");
  await expect(rows.nth(2)).toContainText("Pilih peran.");
  await expect(rows.nth(2)).toContainText("Nomor");
  await expect(rows.nth(2)).toContainText("Email yang sama sudah ada di baris 2.");
  await expect(card.getByTestId("save-import")).toBeDisabled();

  // Fixed (and one row updating a demo person by email): saved whole.
  const good = [
    "Nama;Email;Telepon;Peran;Zona",
    "Wawan Teknisi;wawan@contoh.id;0812-6666-0001;Teknisi;karawang",
    "Yuni Teknisi;yuni@contoh.id;0812-6666-0002;Teknisi;bekasi",
    "Dedi Teknisi;tek.cikampek1@demo.id;0812-0000-0008;Teknisi;cikampek",
  ].join("\n");
  await card.getByTestId("import-text").fill(good);
  // The report is of the old text: saving waits for a new check.
  await expect(card.getByTestId("save-import")).toBeDisabled();
  await card.getByTestId("check-import").click();
  await expect(card.getByTestId("import-summary")).toHaveText("Semua baris benar: 2 orang baru, 1 diperbarui. Belum disimpan.");
  await card.getByTestId("save-import").click();
  await expect(card.getByTestId("import-summary")).toHaveText(
    "Tersimpan: 2 orang baru, 1 diperbarui. Tautan kata sandi dikirim ke 2 orang.",
  );
  await page.getByTestId("user-search").fill("contoh.id");
  await expect(page.getByTestId("user-row").filter({ hasText: /Wawan|Yuni/ })).toHaveCount(2);
  await expect(page.getByTestId("user-row").filter({ hasText: "Wawan" })).toContainText("belum membuat kata sandi");
});

test("a long list is drawn a page at a time, and a new filter starts again at the top", async ({ page, request }) => {
  // A first sync of 60 people (their own email domain keeps other tests' rows out).
  const users = Array.from({ length: 60 }, (_, i) => ({
    external_id: `HAL-${i}`,
    name: `Halaman ${String(i).padStart(2, "0")}`,
    email: `halaman${i}@paging.example`,
    role: "customer_service",
  }));
  const synced = await request.post("/api/v1/users:bulk", {
    headers: { Authorization: "Bearer nk_demo_0123456789abcdef" },
    data: { users },
  });
  expect(synced.status()).toBe(200);

  await login(page, "admin@demo.id");
  await page.goto("/master/users");
  await hydrated(page);
  await page.getByTestId("user-search").fill("paging.example");
  await expect(page.getByTestId("user-count")).toHaveText(/^60 dari \d+ orang$/);
  const rows = page.getByTestId("user-row");
  await expect(rows).toHaveCount(50);
  const more = page.getByTestId("more-users");
  await expect(more).toHaveText("Tampilkan 10 lagi (masih 10 orang)");
  await more.click();
  await expect(rows).toHaveCount(60);
  await expect(rows.last()).toContainText("Halaman 59");
  await expect(more).toHaveCount(0);
  // Another search draws its first page again.
  await page.getByTestId("user-search").fill("halaman");
  await expect(rows).toHaveCount(50);
  await expect(more).toBeVisible();
});
