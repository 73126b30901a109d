import { APIRequestContext, expect, Page, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

const API_KEY = "nk_demo_0123456789abcdef";

/** A critical outage for Budi (tek.karawang1): under the demo policy "Insiden kritis". */
async function criticalOutage(request: APIRequestContext, userId: number, key: string) {
  const res = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${API_KEY}` },
    data: {
      type: "outage",
      priority: "critical",
      work_zone: "karawang",
      recipients: { user_ids: [userId] },
      data: { location: `OLT ${key}`, issue_type: "Fiber cut" },
      idempotency_key: key,
    },
  });
  expect(res.status(), await res.text()).toBe(202);
}

async function myId(page: Page): Promise<number> {
  const res = await page.request.post("/api/auth/whoami");
  expect(res.ok()).toBe(true);
  return (await res.json()).id;
}

test("a critical alert is acknowledged from the inbox, and everyone asked sees who took it", async ({ page, request }) => {
  await login(page, "tek.karawang1@demo.id");
  const budi = await myId(page);
  const key = `e2e-ack-inbox-${Date.now()}`;
  await criticalOutage(request, budi, key);
  await page.goto("/inbox");
  await hydrated(page);
  const item = page.locator("ul.inbox li", { hasText: `OLT ${key}` });
  await expect(item.getByTestId("alert-open")).toContainText("Menunggu konfirmasi");
  await item.getByTestId("acknowledge").click();
  await expect(item.getByTestId("alert-acknowledged")).toContainText("Dikonfirmasi oleh Budi Teknisi");
  await expect(item.getByTestId("alert-acknowledged")).toContainText("melalui aplikasi");
  await expect(item.getByTestId("acknowledge")).toHaveCount(0);
  // A reload (server-rendered) shows the same.
  await page.reload();
  await hydrated(page);
  await expect(item.getByTestId("alert-acknowledged")).toContainText("Budi Teknisi");
});

test("the signed link in the WhatsApp message opens a page whose button acknowledges", async ({ page, request }) => {
  await login(page, "tek.karawang1@demo.id");
  const budi = await myId(page);
  const key = `e2e-ack-link-${Date.now()}`;
  await criticalOutage(request, budi, key);

  // The admin finds Budi's WhatsApp message in the delivery log.
  await page.context().clearCookies();
  await login(page, "admin@demo.id");
  const list = await page.request.post("/api/deliveries/list", {
    data: {
      filter: { status: "", channel: "whatsapp", provider: "", type: "outage", group: "", user: String(budi), from: "", to: "" },
      after: null,
    },
  });
  expect(list.ok(), await list.text()).toBe(true);
  const id = (await list.json()).items[0].id;
  await page.goto(`/deliveries/${id}`);
  await hydrated(page);
  await expect(page.getByTestId("delivery-alert")).toContainText("Peringatan terbuka");
  const message = await page.getByTestId("delivery-message").innerText();
  expect(message).toContain(`OLT ${key}`);
  const link = message.match(/https?:\/\/\S+\/ack\/\S+/)?.[0];
  expect(link, message).toBeTruthy();

  // Whoever holds the link, signed in or not: the page, then the button.
  await page.context().clearCookies();
  await page.goto(new URL(link!).pathname);
  await expect(page.locator("pre")).toContainText(`OLT ${key}`);
  await page.getByTestId("acknowledge").click();
  await expect(page.getByTestId("acknowledged")).toContainText("Sudah dikonfirmasi oleh Budi Teknisi");
  await expect(page.getByTestId("acknowledged")).toContainText("melalui tautan");

  // An altered link is refused.
  const forged = new URL(link!).pathname.replace(/\.(\d+)\./, ".1.");
  const res = await page.request.post(forged, { maxRedirects: 0 });
  expect(res.status()).toBe(403);

  // The delivery log says who acknowledged.
  await login(page, "admin@demo.id");
  await page.goto(`/deliveries/${id}`);
  await hydrated(page);
  await expect(page.getByTestId("delivery-alert")).toContainText("dikonfirmasi oleh Budi Teknisi");
});

test("an admin adds an escalation policy with steps; a step without a channel is refused", async ({ page }) => {
  await login(page, "admin@demo.id");
  await page.goto("/master/escalation");
  await hydrated(page);
  const table = page.getByTestId("escalation-policies");
  await expect(table).toContainText("Insiden kritis");
  await expect(table).toContainText("setelah 5 mnt · Supervisor (wilayah kejadian)");
  await expect(table).toContainText("grup NOC Team");

  const form = page.getByTestId("policy-form");
  const name = `Gangguan Bekasi ${Date.now()}`;
  await form.getByLabel("Nama").fill(name);
  await form.getByLabel("Jenis notifikasi").selectOption("outage");
  await form.getByLabel("Prioritas minimum").selectOption("high");
  const first = form.getByTestId("step-1");
  await first.getByTestId("step-delay").fill("3");
  await first.getByTestId("step-zone").selectOption("bekasi");
  await first.getByTestId("step-channel-whatsapp").uncheck();
  await first.getByTestId("step-channel-in_app").uncheck();
  await form.getByTestId("save-policy").click();
  await expect(form).toContainText("tahap 1: pilih paling sedikit satu kanal");

  await first.getByTestId("step-channel-sms").check();
  await form.getByTestId("add-step").click();
  const second = form.getByTestId("step-2");
  await second.getByTestId("step-target").selectOption("group");
  await second.getByTestId("step-group").selectOption({ label: "NOC Team" });
  await form.getByTestId("save-policy").click();
  await expect(form.getByTestId("policy-saved")).toBeVisible();
  const row = table.locator("tr", { hasText: name });
  await expect(row).toContainText("Gangguan jaringan");
  await expect(row).toContainText("setelah 3 mnt · Supervisor (Bekasi) · SMS");
  await expect(row).toContainText("setelah 5 mnt · grup NOC Team · WhatsApp");

  // A direct load renders and hydrates the same.
  await page.reload();
  await hydrated(page);
  const saved = table.locator("tr", { hasText: name });
  await expect(saved).toBeVisible();

  // Deleting asks first; cancel keeps it, confirm removes it.
  await saved.getByTestId("delete-policy").click();
  await saved.getByRole("button", { name: "Batal" }).click();
  await expect(saved).toBeVisible();
  await saved.getByTestId("delete-policy").click();
  await saved.getByTestId("confirm-delete").click();
  await expect(table.locator("tr", { hasText: name })).toHaveCount(0);
  await expect(table).toContainText("Insiden kritis");
});

test("a manager may not open the escalation policies", async ({ page }) => {
  await login(page, "manager@demo.id");
  await page.goto("/master/escalation");
  await hydrated(page);
  await expect(page.locator(".error")).toBeVisible();
  await expect(page.getByTestId("policy-form")).toHaveCount(0);
});
