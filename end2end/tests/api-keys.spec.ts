import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

test("an admin makes an API key, sees it once, the ticketing system uses it, and it is revoked", async ({ page, request }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/api-keys");
  await hydrated(page);

  // A name is required, in Indonesian.
  const form = page.getByTestId("new-key-form");
  await form.getByRole("button", { name: "Buat kunci" }).click();
  await expect(form.locator("#name-error")).toContainText("Beri nama 1–100 karakter");

  await form.getByLabel("Nama kunci (untuk sistem apa)").fill("Sistem tiket uji");
  await form.getByRole("button", { name: "Buat kunci" }).click();
  await expect(page.getByTestId("new-key")).toContainText("tidak akan ditampilkan lagi");
  const key = await page.getByTestId("new-key-value").inputValue();
  expect(key).toMatch(/^nk_[\w-]{32}$/);
  const row = page.getByTestId("key-row").filter({ hasText: "Sistem tiket uji" });
  await expect(row).toContainText(key.slice(0, 10));
  await expect(row).toContainText("Belum pernah");

  // The ticketing system posts with it.
  const event = {
    type: "new_ticket",
    priority: "low",
    work_zone: "karawang",
    data: { ticket_id: "TKT-KEY-1", customer_name: "Ibu Ani", location: "ODP-KRW-01", issue_type: "LOS" },
  };
  const ok = await request.post("/api/v1/events", { headers: { Authorization: `Bearer ${key}` }, data: event });
  expect(ok.status(), await ok.text()).toBe(202);
  await page.reload();
  await hydrated(page);
  await expect(row).not.toContainText("Belum pernah");

  // Shown once: after a reload only its start is on the page.
  await expect(page.getByTestId("new-key")).toHaveCount(0);
  expect(await page.content()).not.toContain(key);

  // Revoked (asked twice): the list says so.
  await row.getByTestId("revoke-key").click();
  await row.getByTestId("confirm-revoke").click();
  await expect(row).toContainText("Dicabut");
  await expect(row.getByTestId("revoke-key")).toHaveCount(0);
  // Refused at once, though the server had verified (and cached) it a moment ago.
  await expect
    .poll(async () => (await request.post("/api/v1/events", { headers: { Authorization: `Bearer ${key}` }, data: event })).status(), { timeout: 3_000 })
    .toBe(401);

  // A manager is not shown the page.
  await page.context().clearCookies();
  await login(page, "manager@demo.id");
  await page.goto("/master/api-keys");
  await hydrated(page);
  await expect(page.getByRole("alert")).toContainText("Admin");
  await expect(page.getByTestId("key-row")).toHaveCount(0);
});
