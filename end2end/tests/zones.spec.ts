import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

test("an admin adds, renames, deactivates and deletes work zones; a zone in use is kept", async ({ page, request }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/zones");
  await hydrated(page);

  // A code the API could not carry is refused, in Indonesian.
  const form = page.getByTestId("new-zone-form");
  await form.getByLabel("Kode (mis. karawang-timur)").fill("Purwakarta Kota");
  await form.getByLabel("Nama").fill("Purwakarta");
  await form.getByRole("button", { name: "Tambah zona" }).click();
  await expect(form.locator("#code-error")).toContainText("huruf kecil");

  await form.getByLabel("Kode (mis. karawang-timur)").fill("purwakarta");
  await form.getByRole("button", { name: "Tambah zona" }).click();
  const row = page.getByTestId("zone-row").filter({ hasText: "purwakarta" });
  await expect(row).toContainText("Aktif");
  await expect(row).toContainText("tidak ada");

  // The ticketing system may use it at once.
  const res = await request.post("/api/v1/events", {
    headers: { Authorization: "Bearer nk_demo_0123456789abcdef" },
    data: { type: "new_ticket", priority: "low", work_zone: "purwakarta", data: { ticket_id: "TKT-PWK-1", customer_name: "Pak Dedi", location: "ODP-PWK-01", issue_type: "LOS" } },
  });
  expect(res.status(), await res.text()).toBe(202);

  // Renamed; the code stays.
  await row.getByTestId("zone-name").fill("Purwakarta Raya");
  await row.getByTestId("rename-zone").click();
  await expect(page.getByTestId("zone-row").filter({ hasText: "purwakarta" }).getByTestId("zone-name")).toHaveValue("Purwakarta Raya");

  // Karawang has people and groups: no delete button, and deactivation keeps them.
  const karawang = page.getByTestId("zone-row").filter({ hasText: "karawang" });
  await expect(karawang).toContainText("orang");
  await expect(karawang.getByTestId("delete-zone")).toHaveCount(0);

  // Inactive, it is offered for nothing new: not in the user editor's picker.
  await row.getByTestId("toggle-zone").click();
  await expect(page.getByTestId("zone-row").filter({ hasText: "purwakarta" })).toContainText("Nonaktif");
  await page.goto("/master/users/new");
  await hydrated(page);
  await expect(page.getByTestId("user-form").getByLabel("Zona kerja").locator("option", { hasText: "Purwakarta" })).toHaveCount(0);

  // Unused, it can be deleted.
  await page.goto("/master/zones");
  await hydrated(page);
  await page.getByTestId("zone-row").filter({ hasText: "purwakarta" }).getByTestId("delete-zone").click();
  await expect(page.getByTestId("zone-row").filter({ hasText: "purwakarta" })).toHaveCount(0);
});
