import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// `npx playwright test --config screenshots.config.ts` (from end2end/, after a
// release build): renders each page against a fresh demo database and writes
// the README's pictures to docs/screenshots/.
export default defineConfig({
  ...base,
  testDir: "./screenshots",
  webServer: {
    ...(base.webServer as object),
    env: {
      ...((base.webServer as { env: Record<string, string> }).env),
      DATABASE_URL: "sqlite:target/e2e/screenshots.db",
    },
  },
});
