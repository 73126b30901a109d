import { defineConfig } from "@playwright/test";

// The release server on its own port and its own fresh database with demo
// data: an SQLite file (scripts/test.sh deletes it before each run), then a
// PostgreSQL database made afresh. Chromium is the system's
// (/usr/bin/chromium): Playwright must not download browsers.
const port = Number(process.env.E2E_PORT ?? 3010);

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
  {
    command: "./target/release/server",
    cwd: "..",
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      // scripts/test.sh runs the suite a second time on a fresh PostgreSQL
      // database (E2E_DATABASE_URL), the scale-out path.
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? "sqlite:target/e2e/e2e.db",
      SECRET_KEY_FILE: "target/e2e/secret.key",
      DEMO_DATA: "1",
      BIND_ADDR: `127.0.0.1:${port}`,
      RUST_LOG: "warn",
      ANALYTICS_REFRESH_MS: "500",
      // The push service fake (below) listens on plain HTTP on loopback.
      PUSH_ALLOW_LOOPBACK: "1",
    },
  },
  // The web push service fake (tools/src/bin/pushfake.rs, built by the
  // cargo test step): push.spec.ts subscribes there and reads what arrived.
  {
    command: "./target/debug/pushfake 127.0.0.1:3011",
    cwd: "..",
    url: "http://127.0.0.1:3011/messages",
    reuseExistingServer: false,
    timeout: 60_000,
  },
  // Meta's Cloud API fake (tools/src/bin/metafake.rs): providers.spec.ts
  // syncs a Meta account's templates from it. (Unauthenticated, it answers
  // 401: up.)
  {
    command: "./target/debug/metafake 127.0.0.1:3012",
    cwd: "..",
    url: "http://127.0.0.1:3012/v21.0/0/message_templates",
    reuseExistingServer: false,
    timeout: 60_000,
  },
  ],
});
