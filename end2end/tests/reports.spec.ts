import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

const API_KEY = "nk_demo_0123456789abcdef";

/** `YYYY-MM-DD` in WIB, `days` from today. */
function wibDate(days: number): string {
  const wib = new Date(Date.now() + 7 * 3600_000 + days * 86_400_000);
  return wib.toISOString().slice(0, 10);
}

test("a manager adds, previews, switches off and deletes a report schedule", async ({ page, request }) => {
  // The ticketing system's own counts for Karawang, yesterday and today
  // (the preview covers one of them, depending on the hour).
  for (const date of [wibDate(-1), wibDate(0)]) {
    const res = await request.post("/api/v1/ticket-figures", {
      headers: { Authorization: `Bearer ${API_KEY}` },
      data: { date, work_zone: "karawang", total: 15, completed: 12, in_progress: 2, open: 1, sla_breached: 1 },
    });
    expect(res.status(), await res.text()).toBe(200);
  }

  await login(page, "manager@demo.id");
  await page.getByRole("link", { name: "Laporan terjadwal" }).click();
  await hydrated(page);
  const table = page.getByTestId("report-schedules");
  await expect(table.locator("tr", { hasText: "Laporan harian" }).getByTestId("schedule-when")).toHaveText(
    "Setiap hari 07:00 (Asia/Jakarta)",
  );
  await expect(table.locator("tr", { hasText: "Laporan mingguan" }).getByTestId("schedule-when")).toHaveText(
    "Setiap Senin 07:00 (Asia/Jakarta)",
  );

  // A mistake is named, in words and not by its field's code name, before
  // anything is sent.
  const form = page.getByTestId("schedule-form");
  await form.getByTestId("save-schedule").click();
  await expect(form.locator(".error")).toContainText("Nama jadwal wajib diisi");
  await expect(form.locator(".error")).not.toContainText("name:");

  const name = `Laporan sore ${Date.now()}`;
  await form.getByLabel("Nama").fill(name);
  await form.getByLabel("Jam").fill("17:30");
  await form.getByLabel("Grup WhatsApp").selectOption({ label: "Management" });
  await form.getByTestId("preview-report").click();
  const preview = form.getByTestId("report-preview");
  await expect(preview).toContainText("📊 *LAPORAN HARIAN*");
  await expect(preview).toContainText("*Total tiket:* 15");
  await expect(preview).toContainText("• Karawang: 12/15 selesai, 1 terbuka, 1 melewati SLA");
  await expect(preview).toContainText("17:30 WIB");

  await form.getByTestId("save-schedule").click();
  await expect(form.getByTestId("schedule-saved")).toContainText("tersimpan");
  const row = table.locator("tr", { hasText: name });
  await expect(row.getByTestId("schedule-when")).toHaveText("Setiap hari 17:30 (Asia/Jakarta)");
  await expect(row.getByTestId("schedule-next")).toContainText("17:30 WIB");
  await expect(row).toContainText("Management");

  // Switched off: no next run. A reload (server-rendered) says the same.
  await row.getByRole("button", { name: "Ubah" }).click();
  await expect(form.getByLabel("Nama")).toHaveValue(name);
  await form.getByLabel("Aktif").uncheck();
  await form.getByTestId("save-schedule").click();
  await expect(row.getByTestId("schedule-next")).toHaveText("nonaktif");
  await page.reload();
  await hydrated(page);
  await expect(row.getByTestId("schedule-next")).toHaveText("nonaktif");

  // Deleting asks once more.
  await row.getByTestId("delete-schedule").click();
  await row.getByTestId("confirm-delete").click();
  await expect(row).toHaveCount(0);
  await expect(table.locator("tr", { hasText: "Laporan harian" })).toHaveCount(1);
});

test("a technician has no reports page", async ({ page }) => {
  await login(page, "tek.karawang1@demo.id");
  await expect(page.getByRole("link", { name: "Laporan terjadwal" })).toHaveCount(0);
  await page.goto("/reports");
  await hydrated(page);
  await expect(page.locator("main")).toContainText("perlu peran: Admin, Manajer");
});
