import { Browser, expect, Page, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

async function openSettings(page: Page) {
  await page.goto("/settings");
  await hydrated(page);
  await expect(page.getByTestId("settings-form")).toBeVisible();
}

test("a technician changes settings with quiet hours; they persist and bad input is named", async ({ page }) => {
  await login(page, "tek.karawang2@demo.id");
  await openSettings(page);

  // Inline validation: nothing is sent while a field is wrong.
  await page.getByLabel("Nomor", { exact: true }).fill("0812-abc");
  await page.getByLabel("Aktifkan jam tenang").check();
  await page.getByLabel("Mulai").fill("22:00");
  await page.getByLabel("Selesai").fill("22:00");
  await page.getByRole("button", { name: "Simpan pengaturan" }).click();
  await expect(page.locator("#phone-error")).toContainText("berisi 'a'");
  await expect(page.locator("#quiet_end-error")).toContainText("tidak boleh sama");
  // The number cleared while WhatsApp is on: named, not saved silently.
  await page.getByLabel("Nomor", { exact: true }).fill("");
  await page.getByRole("button", { name: "Simpan pengaturan" }).click();
  await expect(page.locator("#phone-error")).toContainText("matikan WhatsApp");

  await page.getByLabel("Nomor", { exact: true }).fill("0812 1111 2222");
  await page.getByLabel("Selesai").fill("05:30");
  await page.getByLabel("Zona waktu").selectOption("Asia/Makassar");
  await page.getByLabel("Push", { exact: true }).check();
  await page.getByLabel("Peringatan SLA lewat WhatsApp").uncheck();
  await expect(page.getByTestId("quiet-summary")).toContainText("22:00–05:30 WITA");
  await expect(page.getByTestId("quiet-summary")).toContainText("peringatan kritis tetap dikirim");
  await page.getByRole("button", { name: "Simpan pengaturan" }).click();
  await expect(page.getByRole("status")).toHaveText("Pengaturan tersimpan.");
  await expect(page.locator(".field-error")).toHaveCount(0);

  // A fresh load shows what was saved; the new number is not verified.
  await openSettings(page);
  await expect(page.getByLabel("Nomor", { exact: true })).toHaveValue("+6281211112222");
  await expect(page.getByLabel("Aktifkan jam tenang")).toBeChecked();
  await expect(page.getByLabel("Mulai")).toHaveValue("22:00");
  await expect(page.getByLabel("Selesai")).toHaveValue("05:30");
  await expect(page.getByLabel("Zona waktu")).toHaveValue("Asia/Makassar");
  await expect(page.getByLabel("Push", { exact: true })).toBeChecked();
  await expect(page.getByLabel("Peringatan SLA lewat WhatsApp")).not.toBeChecked();
  await expect(page.getByLabel("Peringatan SLA lewat Email")).toBeChecked();
  await expect(page.getByTestId("phone-status")).toContainText("Belum terverifikasi");
});

/** The newest phone code, as an admin reads it in the delivery log. */
async function codeFromDeliveryLog(browser: Browser): Promise<string> {
  const context = await browser.newContext();
  const admin = await context.newPage();
  await login(admin, "admin@demo.id");
  await admin.goto("/deliveries?type=phone_verification");
  await hydrated(admin);
  await admin.getByTestId("delivery-row").first().getByRole("link").click();
  await expect(admin.getByTestId("delivery-detail")).toContainText("sandbox");
  const message = await admin.getByTestId("delivery-message").innerText();
  await context.close();
  const code = message.match(/\*(\d{6})\*/);
  expect(code, message).not.toBeNull();
  return code![1];
}

test("a phone number is verified with the code the sandbox sent", async ({ page, browser }) => {
  await login(page, "tek.cikampek1@demo.id");
  await openSettings(page);
  await page.getByLabel("Nomor", { exact: true }).fill("0813-7777-8888");
  await page.getByRole("button", { name: "Simpan pengaturan" }).click();
  await expect(page.getByRole("status")).toHaveText("Pengaturan tersimpan.");
  await expect(page.getByTestId("phone-status")).toContainText("Belum terverifikasi");

  await page.getByTestId("send-code").click();
  await expect(page.getByTestId("phone-status")).toContainText("+62 813-****-8888");
  // A second code inside the cooldown is refused.
  await page.getByTestId("send-code").click();
  await expect(page.getByTestId("phone-status")).toContainText("Tunggu");

  const code = await codeFromDeliveryLog(browser);
  await page.getByLabel("Kode verifikasi").fill(code === "000000" ? "111111" : "000000");
  await page.getByTestId("verify-code").click();
  await expect(page.locator("#code-error")).toHaveText("Kode salah; sisa 4 percobaan.");
  await page.getByLabel("Kode verifikasi").fill(code);
  await page.getByTestId("verify-code").click();
  await expect(page.getByTestId("phone-status")).toContainText("Terverifikasi");

  await openSettings(page);
  await expect(page.getByTestId("phone-status")).toContainText("Terverifikasi");
});

test("an admin creates a group with a rule, previews its template and test-sends to it", async ({ page }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/groups");
  await hydrated(page);
  await page.getByTestId("new-group").click();
  await expect(page).toHaveURL(/\/master\/groups\/new$/);
  await hydrated(page);

  await page.getByRole("button", { name: "Simpan grup" }).click();
  await expect(page.locator("#group-name-error")).toContainText("wajib");
  await page.getByLabel("Nama", { exact: true }).fill("Teknisi Purwakarta <b>baru</b>");
  await page.getByLabel("ID grup WhatsApp").fill("120363099999999999@g.us");
  await page.getByLabel("Kategori").selectOption("technicians");
  await page.getByRole("button", { name: "Simpan grup" }).click();
  await expect(page).toHaveURL(/\/master\/groups\/\d+$/);
  // Names are shown as text, never as markup.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Teknisi Purwakarta <b>baru</b>");

  // Members.
  await page.getByRole("checkbox", { name: /Dedi Teknisi/ }).check();
  await page.getByRole("button", { name: "Simpan anggota (1)" }).click();
  await expect(page.getByRole("checkbox", { name: /Dedi Teknisi/ })).toBeChecked();

  // A rule whose template is previewed in the browser as it is typed.
  await page.getByLabel("Jenis notifikasi").selectOption("new_ticket");
  await page.getByLabel("Prioritas minimal").selectOption("high");
  await page.getByLabel(/^Template/).fill("🎫 *TIKET BARU* {ticket_id} di {lokasi}");
  await expect(page.getByTestId("template-preview-error")).toContainText("lokasi");
  await page.getByLabel(/^Template/).fill("🎫 *TIKET BARU* {ticket_id} di {location}");
  await expect(page.getByTestId("template-preview")).toHaveText("🎫 *TIKET BARU* TKT-2026-0042 di ODP-KRW-FAB/012");
  await page.getByRole("button", { name: "Tambah aturan" }).click();
  await expect(page.getByTestId("rule-row")).toHaveCount(1);
  await expect(page.getByTestId("rule-row")).toContainText("Tiket baru");

  // The test send goes through the sandbox and its progress is shown.
  await page.getByTestId("test-send-button").click();
  // The sandbox plays the receipts a real gateway would send: sent, delivered, read.
  await expect(page.getByTestId("test-send-status")).toContainText("Dibaca lewat sandbox", { timeout: 10_000 });

  // The list shows it; delete asks first.
  await page.goto("/master/groups");
  await hydrated(page);
  await expect(page.getByTestId("group-row")).toHaveCount(8);
  await page.getByRole("link", { name: /Teknisi Purwakarta/ }).click();
  await hydrated(page);
  await page.getByTestId("delete-group").click();
  await page.getByTestId("confirm-delete").click();
  await expect(page).toHaveURL(/\/master\/groups$/);
  await expect(page.getByTestId("group-row")).toHaveCount(7);

  // A group that does not exist is a 404 page that says so, not a 200.
  const missing = await page.goto("/master/groups/99999");
  expect(missing!.status()).toBe(404);
  await expect(page.getByRole("alert")).toContainText("Tidak ditemukan: grup #99999");
});

test("a manager filters the delivery log, opens a delivery and exports the filtered set", async ({ page }) => {
  await login(page, "manager@demo.id");
  await page.goto("/deliveries");
  await hydrated(page);
  const rows = page.getByTestId("delivery-row");
  await expect(rows.first()).toBeVisible();

  await page.getByTestId("filter-type").selectOption("phone_verification");
  await expect(page).toHaveURL(/type=phone_verification/);
  await expect(rows.first()).toContainText("Kode verifikasi");
  for (const row of await rows.all()) {
    await expect(row).toContainText("Kode verifikasi");
  }
  await page.getByTestId("filter-status").selectOption("failed");
  await expect(page.getByTestId("deliveries-empty")).toBeVisible();
  await page.getByTestId("filter-status").selectOption("");
  await expect(rows.first()).toBeVisible();

  const href = await page.getByTestId("export-csv").getAttribute("href");
  expect(href).toContain("type=phone_verification");
  const body = await (await page.request.get(href!)).body();
  // A UTF-8 byte-order mark first: spreadsheet programs then read non-ASCII right.
  expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const lines = body.subarray(3).toString("utf8").trim().split("\r\n");
  expect(lines[0]).toBe("id,created_at_wib,notification_type,channel,provider,recipient,status,attempts,error");
  expect(lines.length).toBe((await rows.count()) + 1);
  expect(lines.slice(1).every((l) => l.includes(",phone_verification,"))).toBe(true);
  // Numbers as they are, without a guarding quote (a bare +62… is no formula).
  expect(lines.slice(1).every((l) => l.split(",")[5].startsWith("+62"))).toBe(true);

  await rows.first().getByRole("link").click();
  await expect(page).toHaveURL(/\/deliveries\/\d+$/);
  await expect(page.getByTestId("delivery-detail")).toContainText("WhatsApp");
  await expect(page.getByTestId("delivery-message")).toContainText("Kode verifikasi");
  // Every account's try, in words: the sandbox account took it.
  const tries = page.getByTestId("tries");
  await expect(tries.locator("li")).toHaveCount(1);
  await expect(tries).toContainText("Sandbox (sandbox)");
  await expect(tries.getByTestId("try-outcome")).toHaveText("Diterima penyedia");
  await page.screenshot({ path: "test-results/delivery-tries.png", fullPage: true });
});

test("a manager loads analytics for a range and switches the chart's breakdown", async ({ page }) => {
  await login(page, "manager@demo.id");
  await page.goto("/analytics");
  await hydrated(page);
  // The deliveries of the tests above (codes, test sends) are in today's figures.
  await expect(page.getByTestId("total")).not.toHaveText("0", { timeout: 10_000 });
  const from = await page.getByTestId("range-from").inputValue();
  const to = await page.getByTestId("range-to").inputValue();
  expect(from < to).toBe(true);
  await expect(page.getByTestId("volume-chart")).toHaveAttribute("aria-label", /Volume: \d+ pengiriman dalam 7 hari/);
  await expect(page.locator("figure.chart .legend")).toContainText("WhatsApp");
  // The legend's swatches are small squares beside their names, not the
  // chart's full width.
  const swatch = await page.locator("figure.chart .legend .swatch").first().boundingBox();
  expect(swatch && swatch.width).toBeLessThan(24);
  expect(swatch && swatch.height).toBeLessThan(24);
  await page.getByTestId("dimension").selectOption("type");
  await expect(page.locator("figure.chart .legend")).toContainText("Kode verifikasi");
  // Each account's tries by how they ended: the sandbox accepted them.
  const sandbox = page.getByTestId("tries-by-account").locator("tr", { hasText: "Sandbox" });
  await expect(sandbox.locator("td").nth(1)).not.toHaveText("0");

  // A range with nothing in it.
  await page.getByTestId("range-from").fill("2020-01-01");
  await page.getByTestId("range-from").dispatchEvent("change");
  await page.getByTestId("range-to").fill("2020-01-03");
  await page.getByTestId("range-to").dispatchEvent("change");
  await expect(page).toHaveURL(/from=2020-01-01&to=2020-01-03/);
  await expect(page.getByTestId("total")).toHaveText("0");
  await expect(page.getByTestId("volume-chart")).toHaveAttribute("aria-label", "Volume: 0 pengiriman dalam 3 hari");
});
