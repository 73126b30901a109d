import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

test("an admin adds provider accounts with write-only credentials and test-sends an SMS", async ({ page }) => {
  await login(page, "admin@demo.id");
  await page.getByRole("link", { name: "Penyedia" }).click();
  await expect(page).toHaveURL(/\/master\/providers$/);
  // Loaded directly too, the server's page hydrates.
  await page.reload();
  await hydrated(page);
  // The seeded sandbox is listed.
  await expect(page.getByTestId("provider-accounts")).toContainText("Sandbox");

  // A gateway account: its token is stored but never shown again.
  const form = page.getByTestId("provider-form");
  await form.getByLabel("Nama").fill("Fonnte cadangan");
  await form.getByLabel("Jenis").selectOption("fonnte");
  await form.getByLabel("Kredensial (JSON)").fill('{"token": "rahasia-fonnte-123", "webhook_token": "kait-456-0f1e2d3c4b5a69788796a5b4c3d2e1f0"}');
  await form.getByLabel("Urutan").fill("20");
  await page.getByTestId("save-provider").click();
  await expect(page.getByTestId("provider-saved")).toBeVisible();
  const row = page.getByTestId("provider-accounts").getByRole("row", { name: /Fonnte cadangan/ });
  await expect(row).toContainText("token, webhook_token");
  await expect(page.locator("body")).not.toContainText("rahasia-fonnte-123");
  await expect(form.getByLabel("Kredensial (JSON)")).toHaveValue("");

  // Incomplete credentials are refused with the missing field named.
  await form.getByLabel("Nama").fill("Twilio");
  await form.getByLabel("Jenis").selectOption("twilio");
  await form.getByLabel("Kredensial (JSON)").fill('{"account_sid": "AC1", "auth_token": "x"}');
  await page.getByTestId("save-provider").click();
  await expect(form.getByRole("alert")).toContainText("messaging_service_sid");
  await expect(page.getByTestId("provider-accounts").getByRole("row", { name: /Twilio/ })).toHaveCount(0);

  // A sandbox account for SMS, then a test send on that channel.
  await form.getByLabel("Nama").fill("SMS sandbox");
  await form.getByLabel("Jenis").selectOption("sandbox");
  await form.getByLabel("Kanal sandbox").selectOption("sms");
  await form.getByLabel("Kredensial (JSON)").fill("");
  await page.getByTestId("save-provider").click();
  await expect(page.getByTestId("provider-accounts").getByRole("row", { name: /SMS sandbox/ })).toContainText("SMS");

  const testCard = page.getByTestId("channel-test");
  await testCard.getByLabel("Kanal").selectOption("sms");
  await testCard.getByLabel("Nomor HP").fill("0812-bukan");
  await page.getByTestId("channel-test-button").click();
  await expect(testCard.getByRole("alert")).toBeVisible();
  await testCard.getByLabel("Nomor HP").fill("0812-3456-7890");
  await page.getByTestId("channel-test-button").click();
  await expect(page.getByTestId("test-send-status")).toContainText("Dibaca lewat sandbox", { timeout: 10_000 });

  // The delivery log shows the SMS as sent: without formatting, with its segments.
  await testCard.getByRole("link", { name: "Lihat di log pengiriman" }).click();
  await hydrated(page);
  await expect(page.getByTestId("delivery-message")).toHaveText("Uji kirim dari Notifikasi ISP. Abaikan pesan ini.");
  await expect(page.locator("body")).toContainText("1 segmen SMS (GSM-7)");
});

test("a manager cannot reach the provider accounts", async ({ page }) => {
  await login(page, "manager@demo.id");
  await expect(page.getByRole("link", { name: "Penyedia" })).toHaveCount(0);
  await page.goto("/master/providers");
  await hydrated(page);
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page.getByTestId("provider-accounts")).toHaveCount(0);
});

test("an admin syncs a Meta account's templates and picks one for a type", async ({ page }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/providers");
  await hydrated(page);
  // A Meta account on the Cloud API fake, its WABA id mistyped.
  const form = page.getByTestId("provider-form");
  await form.getByLabel("Nama").fill("Meta Cloud");
  await form.getByLabel("Jenis").selectOption("meta");
  await form.getByLabel(/Alamat server/).fill("http://127.0.0.1:3012");
  await form
    .getByLabel("Kredensial (JSON)")
    .fill('{"access_token": "meta-access-token", "phone_number_id": "106540352242922", "waba_id": "123"}');
  // Meta bills by category: a utility template's price.
  await form.getByTestId("template-prices").getByLabel("Utilitas").fill("356");
  await page.getByTestId("save-provider").click();
  await expect(page.getByTestId("provider-saved")).toBeVisible();

  // Meta refuses the sync: its reason is on the page, no template listed.
  const card = page.getByTestId("meta-templates");
  await card.getByRole("button", { name: "Sinkronkan sekarang" }).click();
  await expect(card.getByTestId("meta-sync-refused")).toContainText("periksa \"waba_id\"");
  await expect(card.getByTestId("meta-sync-answer")).toContainText("Meta error 100");
  await expect(card.getByTestId("meta-template-list")).toHaveCount(0);

  // The WABA id corrected, the sync lists both templates with their status.
  await page.getByTestId("provider-accounts").getByRole("row", { name: /Meta Cloud/ }).getByRole("button", { name: "Ubah" }).click();
  // The price was kept (the form shows it again; credentials it never does).
  await expect(form.getByTestId("template-prices").getByLabel("Utilitas")).toHaveValue("356");
  await form.getByLabel("Kredensial (JSON)").fill('{"waba_id": "102290129340398"}');
  await page.getByTestId("save-provider").click();
  await expect(page.getByTestId("provider-saved")).toBeVisible();
  await card.getByRole("button", { name: "Sinkronkan sekarang" }).click();
  await expect(card.getByTestId("meta-synced")).toContainText("2 templat");
  const list = card.getByTestId("meta-template-list");
  await expect(list.getByRole("row", { name: /ticket_assigned/ })).toContainText("Disetujui");
  await expect(list.getByRole("row", { name: /tugas_teknisi/ })).toContainText("Menunggu persetujuan");
  await expect(card.getByTestId("meta-sync-refused")).toHaveCount(0);

  // A mapping naming a variable the product does not have is refused.
  await card.locator("#m-type").selectOption("ticket_assigned");
  await card.getByLabel(/Templat \(kosong/).fill("tugas_teknisi");
  await card.getByLabel(/Parameter = variabel/).fill("1=nomor_tiket\n2=location");
  await card.getByTestId("save-meta-mapping").click();
  await expect(card.getByRole("alert")).toContainText("Variabel tidak dikenal: nomor_tiket");
  await expect(card.getByTestId("meta-mappings")).toHaveCount(0);
  await card.getByLabel(/Parameter = variabel/).fill("1=ticket_id\n2=location");
  await card.getByTestId("save-meta-mapping").click();
  await expect(card.getByTestId("meta-mappings")).toContainText("Tiket ditugaskan (id) → tugas_teknisi · 1=ticket_id, 2=location");
  await page.screenshot({ path: "test-results/meta-templates.png", fullPage: true });
});
