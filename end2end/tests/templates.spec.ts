import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

const API = { Authorization: "Bearer nk_demo_0123456789abcdef" };

test("an admin words a type's in-app message, checked as typed, and the next event reads it; reset brings back the fallback", async ({ page, request }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/templates");
  await hydrated(page);

  // Every type has its own WhatsApp text; the inbox falls back to it.
  await expect(page.getByTestId("cell-outage-whatsapp")).toHaveText("Sendiri");
  const inApp = page.getByTestId("cell-outage-in_app");
  await expect(inApp).toHaveText("↳ WhatsApp");
  await inApp.click();
  const editor = page.getByTestId("template-editor");
  await expect(editor.getByTestId("template-source")).toContainText("memakai template WhatsApp.");
  // It starts from the text in effect, previewed on sample values.
  await expect(editor.getByTestId("template-preview")).toContainText("GANGGUAN JARINGAN");
  await expect(editor.getByTestId("template-preview")).toContainText("214");

  // An unknown variable is named while typing, and saving waits for the fix.
  const body = editor.getByLabel("Isi pesan");
  await body.fill("Gangguan di {work_zone}: {lokasi}\nPenyebab: {issue_type?}\nPulih: {estimated_recovery?}");
  await expect(editor.getByTestId("template-error")).toHaveText("Variabel tidak dikenal: lokasi.");
  await expect(body).toHaveAttribute("aria-invalid", "true");
  await expect(editor.getByTestId("save-template")).toBeDisabled();
  await body.fill("Gangguan di {work_zone}: \nPenyebab: {issue_type?}\nPulih: {estimated_recovery?}");
  // A variable chip inserts at the cursor.
  await body.focus();
  await body.evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(25, 25));
  await editor.getByTestId("variable").filter({ hasText: /^location$/ }).click();
  await expect(body).toHaveValue("Gangguan di {work_zone}: {location}\nPenyebab: {issue_type?}\nPulih: {estimated_recovery?}");
  await expect(editor.getByTestId("template-error")).toBeEmpty();
  await expect(editor.getByTestId("template-preview")).toHaveText("Gangguan di Karawang: ODP-KRW-FAB/012\nPenyebab: FTTH LOS merah\nPulih: 16.30 WIB");
  await editor.getByTestId("save-template").click();
  await expect(editor.getByTestId("template-saved")).toContainText("Tersimpan");
  await expect(page.getByTestId("cell-outage-in_app")).toHaveText("Sendiri");
  // Push and email now use it (their next channel).
  await expect(page.getByTestId("cell-outage-push")).toHaveText("↳ Dalam aplikasi");

  // The next event to Budi's inbox reads the new text; the line whose
  // optional value is missing is left out, and the address is a link.
  const res = await request.post("/api/v1/events", {
    headers: API,
    data: { type: "outage", priority: "high", work_zone: "karawang", recipients: { user_ids: [5] },
      data: { location: "ODP-KRW-07 https://peta.example.id/odp/7", issue_type: "Kabel feeder putus" } },
  });
  expect(res.status(), await res.text()).toBe(202);

  const budi = await page.context().browser()!.newContext();
  const tech = await budi.newPage();
  await login(tech, "tek.karawang1@demo.id");
  await tech.goto("/inbox");
  await hydrated(tech);
  const item = tech.locator(".inbox li").filter({ hasText: "ODP-KRW-07" });
  await expect(item.locator("p").first()).toHaveText("Gangguan di Karawang: ODP-KRW-07 https://peta.example.id/odp/7\nPenyebab: Kabel feeder putus");
  await expect(item.getByRole("link", { name: "https://peta.example.id/odp/7" })).toHaveAttribute("href", "https://peta.example.id/odp/7");
  await budi.close();

  // Back to default: the inbox has no shipped text of its own, so it uses WhatsApp's again.
  await page.getByTestId("cell-outage-in_app").click();
  await editor.getByTestId("reset-template").click();
  await editor.getByTestId("confirm-reset").click();
  await expect(page.getByTestId("cell-outage-in_app")).toHaveText("↳ WhatsApp");
});

test("an email template sets its own subject, and English readers see the English defaults", async ({ page }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/templates");
  await hydrated(page);
  await page.getByTestId("locale-en").click();
  await page.getByTestId("cell-kpi_alert-email").click();
  const editor = page.getByTestId("template-editor");
  await expect(editor.getByTestId("template-source")).toContainText("memakai template WhatsApp.");
  await expect(editor.getByTestId("template-preview")).toContainText("KPI ALERT");
  await editor.getByLabel("Subjek (kosong: jenis, prioritas dan nomor tiket)").fill("KPI {metric} di {work_zone}");
  await expect(editor.getByTestId("subject-preview")).toHaveText("KPI Tiket selesai dalam SLA di Karawang");
  await editor.getByTestId("save-template").click();
  await expect(page.getByTestId("cell-kpi_alert-email")).toHaveText("Sendiri");
  // The Indonesian column is untouched.
  await page.getByTestId("locale-id").click();
  await expect(page.getByTestId("cell-kpi_alert-email")).toHaveText("↳ WhatsApp");
});
