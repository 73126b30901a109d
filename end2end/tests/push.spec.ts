import { expect, test, Page } from "@playwright/test";
import { hydrated, login } from "./helpers";

// Web push in Chromium, end to end except for one hop. Headless Chromium here
// cannot reach a real push service (no Google account, no internet), so the
// page's PushManager.subscribe is stood in for by a subscription made at the
// push service fake on loopback (target/debug/pushfake, port 3011), which
// holds its private keys. Everything else is real: the service worker's
// registration, the notification permission, the settings page and its
// server functions, the server's RFC 8291 encryption and VAPID signature,
// the fake's checks and decryption, and the service worker showing the
// decrypted message, which the DevTools protocol delivers to it as a push
// service would.

const API_KEY = "nk_demo_0123456789abcdef";
const PUSH = process.env.E2E_PUSH ?? "http://127.0.0.1:3011";

type Sub = { endpoint: string; keys: { p256dh: string; auth: string } };

/** Makes PushManager hand out `sub` (and forget it on unsubscribe). */
async function standIn(page: Page, sub: Sub) {
  await page.addInitScript((sub: Sub) => {
    const saved = () => localStorage.getItem("e2e-push") === "on";
    const wrap = () => ({
      endpoint: sub.endpoint,
      expirationTime: null,
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }),
      unsubscribe: async () => {
        localStorage.removeItem("e2e-push");
        return true;
      },
    });
    PushManager.prototype.subscribe = async function () {
      localStorage.setItem("e2e-push", "on");
      return wrap() as unknown as PushSubscription;
    };
    PushManager.prototype.getSubscription = async function () {
      return (saved() ? wrap() : null) as unknown as PushSubscription;
    };
  }, sub);
}

test("a push is encrypted to this browser, shown by the service worker and its receipt logged", async ({
  page,
  context,
  request,
  baseURL,
}) => {
  await context.grantPermissions(["notifications"], { origin: baseURL });
  // A person no other spec edits (quiet hours would hold the push back).
  await login(page, "tek.bekasi1@demo.id");
  const status = await (await page.request.post("/api/push/status")).json();
  expect(status.public_key).toMatch(/^[A-Za-z0-9_-]{87}$/);
  const made = await request.post(`${PUSH}/subscribe`, {
    data: { applicationServerKey: status.public_key },
  });
  const sub: Sub = await made.json();
  await standIn(page, sub);

  await page.goto("/settings");
  await hydrated(page);
  const card = page.getByTestId("push-devices");
  await card.getByTestId("push-on").click();
  await expect(card.getByTestId("push-on-here")).toBeVisible();
  const device = card.getByTestId("push-device");
  await expect(device).toHaveCount(1);
  await expect(device).toContainText("Chrome di Linux");
  await expect(device).toContainText("perangkat ini");

  // The ticketing system posts a high-priority event for this person.
  const me = (await (await page.request.post("/api/auth/whoami")).json()).id;
  const before = (await (await request.get(`${PUSH}/messages`)).json()).length;
  const res = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${API_KEY}` },
    data: {
      type: "ticket_status_changed",
      priority: "high",
      work_zone: "bekasi",
      recipients: { user_ids: [me] },
      data: { ticket_id: "TK-PUSH-1", status: "on_progress", technician_name: "Andi", customer_name: "Ibu Rina" },
      idempotency_key: `push-e2e-${Date.now()}`,
    },
  });
  expect(res.status(), await res.text()).toBe(202);

  // The push service fake received it, checked its VAPID token and decrypted it.
  let plaintext = "";
  await expect
    .poll(async () => {
      const all = await (await request.get(`${PUSH}/messages`)).json();
      const mine = all.slice(before).filter((m: { subscription: string }) => m.subscription === sub.endpoint);
      plaintext = mine.length ? mine[0].plaintext : "";
      return mine.length;
    })
    .toBe(1);
  const payload = JSON.parse(plaintext);
  expect(payload.title).toContain("TK-PUSH-1");

  // Delivered to the service worker as the push service would, it shows the notification.
  const cdp = await context.newCDPSession(page);
  const registration = new Promise<string>((resolve) => {
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const r = registrations.find((r: { scopeURL: string; isDeleted: boolean }) => r.scopeURL.startsWith(baseURL!) && !r.isDeleted);
      if (r) resolve(r.registrationId);
    });
  });
  // A push reaches only an active worker: wait for it (on a busy machine
  // it may still be activating when the registration is first reported).
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await cdp.send("ServiceWorker.enable");
  const registrationId = await registration;
  const shown = () =>
    page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
    });
  // Delivered again if nothing shows within 2 s: the tag makes a repeat
  // replace the first, and receipts are idempotent.
  for (let attempt = 0; attempt < 3 && (await shown()).length === 0; attempt++) {
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin: new URL(baseURL!).origin,
      registrationId,
      data: plaintext,
    });
    await expect.poll(async () => (await shown()).length, { timeout: 2_000 }).toBeGreaterThan(0).catch(() => {});
  }
  expect(await shown()).toEqual([{ title: payload.title, body: payload.body, tag: `delivery-${payload.delivery}` }]);

  // Its "shown" receipt marks the delivery delivered in the log.
  const admin = await context.browser()!.newContext();
  const adminPage = await admin.newPage();
  await login(adminPage, "admin@demo.id");
  await expect
    .poll(async () => {
      await adminPage.goto(`/deliveries/${payload.delivery}`);
      return adminPage.getByTestId("delivery-detail").innerText();
    })
    .toContain("Diterima");
  await expect(adminPage.getByTestId("delivery-detail")).toContainText("webpush");
  await admin.close();

  // Removing this device unsubscribes it here too.
  await device.getByTestId("push-remove").click();
  await expect(card.getByTestId("push-device")).toHaveCount(0);
  await expect(card.getByTestId("push-on")).toBeVisible();
});
