import { expect, test } from "@playwright/test";
import { DEMO_PASSWORD, hydrated, login } from "./helpers";

// Only this file signs in as the customer-service demo account: its password
// changes here.
const EMAIL = "cs@demo.id";
const NEW_PASSWORD = "ganti-sandi-2026";

test("a person sees where they are signed in, signs out another device and changes their password", async ({ page, browser }) => {
  // Another browser (a phone, say) signed in with the same account.
  const phoneContext = await browser.newContext({
    userAgent:
      "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  });
  const phone = await phoneContext.newPage();
  await login(phone, EMAIL);
  const tablet = await (await browser.newContext()).newPage();
  await login(tablet, EMAIL);

  await login(page, EMAIL);
  await page.goto("/settings");
  await hydrated(page);
  const sessions = page.getByTestId("sessions-card").getByTestId("session");
  await expect(sessions).toHaveCount(3);
  await expect(sessions.first().getByTestId("this-device")).toBeVisible();
  const phoneRow = sessions.filter({ hasText: "Chrome di Android" });
  await expect(phoneRow).toHaveCount(1);
  await expect(phoneRow).toContainText("terakhir aktif");

  // Signing the phone out ends its session: its next page asks to sign in.
  await phoneRow.getByTestId("end-session").click();
  await expect(sessions).toHaveCount(2);
  await phone.goto("/settings");
  await expect(phone).toHaveURL(/\/login/);

  // A wrong current password and a mismatched repeat are named, in Indonesian.
  const card = page.getByTestId("password-card");
  await card.getByLabel("Kata sandi saat ini").fill("bukan-sandi-ini");
  await card.getByLabel("Kata sandi baru (minimal 10 karakter)").fill(NEW_PASSWORD);
  await card.getByLabel("Ulangi kata sandi baru").fill("lain-sandi-2026");
  await card.getByRole("button", { name: "Ganti kata sandi" }).click();
  await expect(card.locator("#repeat-error")).toHaveText("Ulangan kata sandi baru tidak sama.");
  await card.getByLabel("Ulangi kata sandi baru").fill(NEW_PASSWORD);
  await card.getByRole("button", { name: "Ganti kata sandi" }).click();
  await expect(card.locator("#current-error")).toHaveText("Kata sandi saat ini salah.");

  await card.getByLabel("Kata sandi saat ini").fill(DEMO_PASSWORD);
  await card.getByRole("button", { name: "Ganti kata sandi" }).click();
  await expect(card.getByTestId("password-changed")).toBeVisible();
  await expect(card.getByLabel("Kata sandi saat ini")).toHaveValue("");

  // The tablet was signed out by the change; this browser stays signed in.
  await tablet.goto("/settings");
  await expect(tablet).toHaveURL(/\/login/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("sessions-card").getByTestId("session")).toHaveCount(1);

  // The old password no longer opens the account; the new one does.
  const fresh = await (await browser.newContext()).newPage();
  await fresh.goto("/login");
  await hydrated(fresh);
  await fresh.getByLabel("Email").fill(EMAIL);
  await fresh.getByLabel("Kata sandi").fill(DEMO_PASSWORD);
  await fresh.getByRole("button", { name: "Masuk" }).click();
  await expect(fresh.getByTestId("login-error")).toHaveText("Email atau kata sandi salah.");
  await login(fresh, EMAIL, NEW_PASSWORD);
});
