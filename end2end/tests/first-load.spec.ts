import { expect, test, type CDPSession, type Page } from "@playwright/test";
import { mkdirSync, writeFileSync } from "node:fs";
import { hydrated, login } from "./helpers";

// A technician's first visit over a mobile connection: the sign-in and
// settings pages with a cold cache on Chromium's "Fast 3G" profile
// (DevTools' preset: 562.5 ms round trip, 1.6 Mbit/s down and 750 kbit/s
// up, each at 90%). The times are recorded (target/e2e/first-load.json and
// the README), not asserted: a speed target lives in a measurement, not in
// a test that fails on a slow machine. What is asserted is how the files
// travel: compressed, and cached for good under names that change with
// their content.

const FAST_3G = {
  offline: false,
  latency: 562.5,
  downloadThroughput: ((1.6 * 1024 * 1024) / 8) * 0.9,
  uploadThroughput: ((750 * 1024) / 8) * 0.9,
};

async function throttled(page: Page): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.clearBrowserCache");
  await cdp.send("Network.emulateNetworkConditions", FAST_3G);
  return cdp;
}

/** Opens `path` and waits until the page is interactive (hydrated): ms. */
async function interactive(page: Page, path: string): Promise<number> {
  const start = Date.now();
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true", {
    timeout: 60_000,
  });
  return Date.now() - start;
}

test("the bundle travels compressed and is cached for good; first loads on Fast 3G are recorded", async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const context = await browser.newContext();
  const page = await context.newPage();

  // How the site's files are served.
  const files: { url: string; encoding?: string; cache?: string; bytes: number }[] = [];
  page.on("response", async (res) => {
    if (!res.url().includes("/pkg/")) return;
    const headers = await res.allHeaders();
    const body = await res.body().catch(() => Buffer.alloc(0));
    files.push({
      url: new URL(res.url()).pathname,
      encoding: headers["content-encoding"],
      cache: headers["cache-control"],
      bytes: body.length,
    });
  });

  const cdp = await throttled(page);
  const signIn = await interactive(page, "/login");
  await hydrated(page);
  const wasm = files.find((f) => f.url.endsWith(".wasm"));
  expect(wasm, JSON.stringify(files)).toBeDefined();
  expect(wasm!.url).toMatch(/^\/pkg\/notifikasi\.[A-Za-z0-9_-]{22}\.wasm$/);
  for (const f of files) {
    expect(f.cache, f.url).toBe("public, max-age=31536000, immutable");
    expect(["br", "gzip"], f.url).toContain(f.encoding);
  }

  // Measured on the wire by the browser: what the WASM file cost to fetch.
  const transferred = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((e) => e.name.endsWith(".wasm"))
      .map((e) => (e as PerformanceResourceTiming).encodedBodySize)
      .reduce((a, b) => a + b, 0),
  );

  // The settings page, signed in, with the cache emptied again.
  await cdp.send("Network.emulateNetworkConditions", { ...FAST_3G, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await login(page, "tek.karawang1@demo.id");
  await cdp.send("Network.clearBrowserCache");
  await cdp.send("Network.emulateNetworkConditions", FAST_3G);
  const settings = await interactive(page, "/settings");

  // A second visit: the files come from the cache, only the page travels.
  const again = await interactive(page, "/settings");

  const figures = {
    profile: "Fast 3G (562.5 ms, 1.44 Mbit/s down), cold cache",
    wasm_transferred_bytes: transferred,
    wasm_encoding: wasm!.encoding,
    sign_in_interactive_ms: signIn,
    settings_interactive_ms: settings,
    settings_again_warm_cache_ms: again,
  };
  console.log(JSON.stringify(figures));
  mkdirSync("../target/e2e", { recursive: true });
  writeFileSync("../target/e2e/first-load.json", JSON.stringify(figures, null, 2) + "\n");
  await context.close();
});
