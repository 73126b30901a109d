import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// `npx playwright test --config screenshots.config.ts` (from end2end/, after a
// release build): renders each page against a fresh demo database and writes
// the README's pictures to docs/screenshots/.
export default defineConfig({
  ...base,
  testDir: "./screenshots",
  // As an Indonesian user's browser draws them (dates as dd/mm/yyyy).
  use: { ...base.use, locale: "id-ID", timezoneId: "Asia/Jakarta" },
  // The app only (the push service fake is for the browser tests).
  webServer: {
    ...(base.webServer as object[])[0],
    env: {
      ...((base.webServer as { env: Record<string, string> }[])[0].env),
      DATABASE_URL: "sqlite:target/e2e/screenshots.db",
    },
  },
});
