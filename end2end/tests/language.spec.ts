import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

test("a supervisor switches the pages to English; it persists across sign-ins and switches back", async ({ page }) => {
  await login(page, "spv.bekasi@demo.id");
  await expect(page.locator("html")).toHaveAttribute("lang", "id");
  await expect(page.getByRole("link", { name: "Pengaturan notifikasi" })).toBeVisible();

  await page.goto("/settings");
  await hydrated(page);
  await page.getByTestId("locale-switch").click();

  // The same page comes back, rendered in English by the server…
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Notification settings");
  await expect(page.getByRole("link", { name: "Delivery log" })).toHaveCount(0);
  await hydrated(page);

  // …and the browser's own texts (validation, live summaries) follow it.
  await page.getByLabel("Number", { exact: true }).fill("0812-abc");
  await page.getByLabel("Turn on quiet hours").check();
  await page.getByLabel("From").fill("21:30");
  await page.getByLabel("Until").fill("21:30");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.locator("#phone-error")).toContainText("'a'");
  await expect(page.locator("#phone-error")).not.toContainText("berisi");
  await expect(page.locator("#quiet_end-error")).toContainText("must differ");
  await page.getByLabel("Number", { exact: true }).fill("0813 2222 3333");
  await page.getByLabel("Until").fill("06:00");
  await expect(page.getByTestId("quiet-summary")).toContainText("No WhatsApp messages while you sleep (21:30–06:00 WIB)");
  await expect(page.getByLabel("SLA warnings by WhatsApp")).toBeVisible();
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status")).toHaveText("Settings saved.");

  // Signing out shows the default language; signing in again brings English back.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "id");
  await login(page, "spv.bekasi@demo.id");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Welcome");

  await page.getByTestId("locale-switch").click();
  await expect(page.locator("html")).toHaveAttribute("lang", "id");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Selamat datang");
  await expect(page.getByTestId("locale-switch")).toHaveText("English");
});
