import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

test("admin signs in, sees the seeded WhatsApp groups, and the hydrated page filters them", async ({ page }) => {
  await login(page, "admin@demo.id");
  await expect(page.getByTestId("who")).toContainText("Admin Utama");

  await page.getByText("Grup WhatsApp").click();
  await expect(page).toHaveURL(/\/master\/groups$/);
  const rows = page.getByTestId("group-row");
  await expect(rows).toHaveCount(7);
  for (const name of ["Teknisi Karawang", "Teknisi Bekasi", "Teknisi Cikampek", "Supervisor Team", "NOC Team", "Management", "Customer Service"]) {
    await expect(page.getByRole("cell", { name })).toBeVisible();
  }

  // Filtering happens in the browser: it only works once the WASM runs.
  await hydrated(page);
  await page.getByTestId("group-search").fill("teknisi");
  await expect(rows).toHaveCount(3);
  await page.getByTestId("group-category").selectOption("noc");
  await expect(rows).toHaveCount(0);
  await page.getByTestId("group-search").fill("");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("NOC Team");
  await expect(page.getByTestId("group-count")).toHaveText("1 dari 7 grup");
});

test("a wrong password is refused with a clear message and no session", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill("admin@demo.id");
  await page.getByLabel("Kata sandi").fill("salah-sekali");
  await page.getByRole("button", { name: "Masuk" }).click();
  await expect(page.getByTestId("login-error")).toHaveText("Email atau kata sandi salah.");
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === "notifikasi_session")).toBeUndefined();
});

test("signed-out visitors are sent to the sign-in page", async ({ page }) => {
  await page.goto("/master/groups");
  await expect(page).toHaveURL(/\/login$/);
});

test("a technician sees only their own areas and is refused the groups page", async ({ page }) => {
  await login(page, "tek.karawang1@demo.id");
  await expect(page.getByRole("link", { name: "Kotak masuk" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Pengaturan notifikasi" })).toBeVisible();
  await expect(page.getByText("Grup WhatsApp")).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Log pengiriman" })).toHaveCount(0);

  await page.goto("/master/groups");
  await expect(page.getByRole("alert")).toContainText("perlu peran: Admin");
  await expect(page.getByTestId("group-row")).toHaveCount(0);
});

test("signing out ends the session", async ({ page }) => {
  await login(page, "manager@demo.id");
  await hydrated(page);
  await page.getByRole("button", { name: "Keluar" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/deliveries");
  await expect(page).toHaveURL(/\/login$/);
});
