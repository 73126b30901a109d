import { APIRequestContext, expect, Page, test, WebSocketRoute } from "@playwright/test";
import { hydrated, login } from "./helpers";

const API_KEY = "nk_demo_0123456789abcdef";

async function post(request: APIRequestContext, body: object) {
  const res = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${API_KEY}` },
    data: body,
  });
  expect(res.status(), await res.text()).toBe(202);
}

/** The signed-in user's id, as the ticketing system would know it. */
async function myId(page: Page): Promise<number> {
  const res = await page.request.post("/api/auth/whoami");
  expect(res.ok()).toBe(true);
  return (await res.json()).id;
}

function statusChange(userId: number, ticket: string) {
  return {
    type: "ticket_status_changed",
    priority: "low",
    recipients: { user_ids: [userId] },
    data: { ticket_id: ticket, status: "on_progress" },
    idempotency_key: `e2e-${ticket}`,
  };
}

/** A WhatsApp message to a customer (the sandbox sends it and plays its receipts). */
function registrationApproved(phone: string, name: string, key: string) {
  return {
    type: "customer_registration_approved",
    priority: "medium",
    recipients: { customer: { phone, name } },
    data: { customer_name: name },
    idempotency_key: key,
  };
}

test("an event posted to the API reaches an open inbox live; a dropped socket is shown, reconnects and replays", async ({ page, request }) => {
  // The page's socket passes through here, so the test can cut it.
  let blocked = false;
  let current: WebSocketRoute | undefined;
  await page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
    if (blocked) {
      ws.close({ code: 1012, reason: "cut by the test" });
      return;
    }
    ws.connectToServer();
    current = ws;
  });

  await login(page, "tek.cikampek1@demo.id");
  await page.goto("/inbox");
  await hydrated(page);
  const markAll = page.getByTestId("mark-all-read");
  if (await markAll.isVisible()) await markAll.click();
  const badge = page.getByTestId("unread-badge");
  await expect(badge).toBeHidden();
  const me = await myId(page);

  await post(request, statusChange(me, "TK-LIVE-1"));
  await expect(badge).toHaveText("1");
  await expect(page.locator(".inbox li.unread")).toContainText(["TK-LIVE-1"]);

  // Cut the socket and keep it down while another event arrives.
  blocked = true;
  await current!.close({ code: 1012, reason: "cut by the test" });
  await expect(page.getByTestId("connection-lost")).toBeVisible();
  await post(request, statusChange(me, "TK-LIVE-2"));
  blocked = false;
  // The reconnect asks for what came after TK-LIVE-1: nothing is lost.
  await expect(page.getByTestId("connection-lost")).toBeHidden({ timeout: 20_000 });
  await expect(badge).toHaveText("2");
  await expect(page.locator(".inbox li").first()).toContainText("TK-LIVE-2");

  // Reading one item, then the rest, updates the badge at once.
  await page.locator(".inbox li.unread").first().getByTestId("mark-read").click();
  await expect(badge).toHaveText("1");
  await page.getByTestId("mark-all-read").click();
  await expect(badge).toBeHidden();
  await expect(page.locator(".inbox li.unread")).toHaveCount(0);
});

test("the delivery log shows a new WhatsApp message and its statuses as they happen", async ({ page, request }) => {
  await login(page, "manager@demo.id");
  await page.goto("/deliveries");
  await hydrated(page);
  await expect(page.getByTestId("delivery-row").first()).toBeVisible();
  const phone = "+6281277770001";
  const row = page.getByTestId("delivery-row").filter({ hasText: phone });
  await expect(row).toHaveCount(0);

  await post(request, registrationApproved("0812-7777-0001", "Bu Rina", "e2e-live-log"));
  // The sandbox plays the receipts a gateway would send: sent, delivered, read.
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Dibaca", { timeout: 15_000 });
});

test("the analytics figures move while the page is open", async ({ page, request }) => {
  await login(page, "manager@demo.id");
  await page.goto("/analytics");
  await hydrated(page);
  const total = page.getByTestId("total");
  await expect(total).not.toHaveText("0", { timeout: 10_000 });
  const before = Number((await total.innerText()).replace(/\D/g, ""));

  await post(request, registrationApproved("0812-7777-0002", "Pak Dedi", "e2e-live-analytics"));
  await expect
    .poll(async () => Number((await total.innerText()).replace(/\D/g, "")), { timeout: 15_000 })
    .toBeGreaterThan(before);
});
