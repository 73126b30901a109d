import { expect, Page } from "@playwright/test";

export const DEMO_PASSWORD = "demo12345";

/** What the browser refused under the pages' Content-Security-Policy. */
const violations = new WeakMap<Page, string[]>();

/** Starts collecting the page's Content-Security-Policy refusals (once). */
export function watchCsp(page: Page) {
  if (violations.has(page)) return;
  const seen: string[] = [];
  violations.set(page, seen);
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) seen.push(m.text());
  });
}

/**
 * Waits until the WASM bundle has hydrated the page (frontend/src/lib.rs),
 * and checks that the policy refused nothing the page tried.
 */
export async function hydrated(page: Page) {
  watchCsp(page);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  expect(violations.get(page), "Content-Security-Policy refusals").toEqual([]);
}

export async function login(page: Page, email: string, password = DEMO_PASSWORD) {
  watchCsp(page);
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Kata sandi").fill(password);
  await page.getByRole("button", { name: "Masuk" }).click();
  await expect(page.getByTestId("who")).toBeVisible();
}
