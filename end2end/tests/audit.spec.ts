import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

test("an admin's changes and failed sign-ins are in the audit trail, with before and after; a manager is refused", async ({ page }) => {
  // A failed sign-in, from a stranger.
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill("Supervisor.Bekasi@demo.id");
  await page.getByLabel("Kata sandi").fill("salah-sekali");
  const refusedSignIn = page.waitForResponse((r) => r.url().endsWith("/api/auth/login"));
  await page.getByRole("button", { name: "Masuk" }).click();
  expect((await refusedSignIn).status()).toBe(401);

  // A change: a zone renamed.
  await login(page, "admin@demo.id");
  await page.goto("/master/zones");
  await hydrated(page);
  await page.getByTestId("new-zone-form").getByLabel("Kode (mis. karawang-timur)").fill("subang");
  await page.getByTestId("new-zone-form").getByLabel("Nama").fill("Subang");
  await page.getByTestId("new-zone-form").getByRole("button", { name: "Tambah zona" }).click();
  const row = page.getByTestId("zone-row").filter({ hasText: "subang" });
  await row.getByTestId("zone-name").fill("Subang Kota");
  await row.getByTestId("rename-zone").click();
  await expect(page.getByTestId("zone-row").filter({ hasText: "subang" }).getByTestId("zone-name")).toHaveValue("Subang Kota");

  await page.goto("/master/audit");
  await hydrated(page);
  await expect(page).toHaveTitle(/Jejak audit/);
  const filters = page.getByTestId("audit-filters");
  await filters.getByLabel("Bagian").selectOption("zone");
  await filters.getByRole("button", { name: "Tampilkan" }).click();
  const rows = page.getByTestId("audit-row");
  await expect(rows.first()).toContainText("Zona diubah");
  await expect(rows.first()).toContainText("Admin");
  await expect(rows.nth(1)).toContainText("Zona ditambah");
  await rows.first().locator("summary").click();
  // Only what changed, in words: the name, not the code nor the switch.
  const changes = rows.first().getByTestId("audit-change");
  await expect(changes).toHaveCount(1);
  await expect(changes.first().locator("th")).toHaveText("Nama");
  await expect(changes.first().locator("td")).toHaveText(["Subang", "Subang Kota"]);
  await rows.nth(1).locator("summary").click();
  await expect(rows.nth(1).getByTestId("audit-change").filter({ hasText: "Aktif" }).locator("td")).toHaveText(["—", "ya"]);

  await filters.getByLabel("Bagian").selectOption("auth");
  await filters.getByRole("button", { name: "Tampilkan" }).click();
  // (Other tests' failed sign-ins may be listed too.)
  await expect(rows.filter({ hasText: "supervisor.bekasi@demo.id" })).toContainText(["Gagal masuk"]);

  // A reversed range is named on its field, in Indonesian.
  await filters.getByLabel("Dari tanggal").fill("2026-12-07");
  await filters.getByLabel("Sampai tanggal").fill("2026-12-01");
  await filters.getByRole("button", { name: "Tampilkan" }).click();
  await expect(page.locator("#to-error")).toBeVisible();
  await expect(filters.getByLabel("Sampai tanggal")).toHaveAttribute("aria-invalid", "true");

  // Not for managers: the page says who may see it, and the server refuses too.
  await page.context().clearCookies();
  await login(page, "manager@demo.id");
  const page403 = await page.goto("/master/audit");
  expect(page403!.status()).toBe(403);
  await hydrated(page);
  await expect(page.getByTestId("audit-filters")).toHaveCount(0);
  const refused = await page.request.post("/api/audit/list", { data: { filter: {} } });
  expect(refused.status()).toBe(403);
});
