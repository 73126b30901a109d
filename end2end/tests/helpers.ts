import { expect, Page } from "@playwright/test";

export const DEMO_PASSWORD = "demo12345";

/** Waits until the WASM bundle has hydrated the page (frontend/src/lib.rs). */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

export async function login(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Kata sandi").fill(password);
  await page.getByRole("button", { name: "Masuk" }).click();
  await expect(page.getByTestId("who")).toBeVisible();
}
