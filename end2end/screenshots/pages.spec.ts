import { expect, test } from "@playwright/test";
import { hydrated, login } from "../tests/helpers";

const out = (name: string) => `../docs/screenshots/${name}.png`;

test("screenshots of each page", async ({ page, request }) => {
  // Some traffic first, so the log and the charts have something to show.
  for (let i = 0; i < 12; i++) {
    const res = await request.post("/api/v1/events", {
      headers: { Authorization: "Bearer nk_demo_0123456789abcdef" },
      data: {
        type: i % 3 === 0 ? "new_ticket" : "ticket_assigned",
        priority: i % 4 === 0 ? "high" : "medium",
        work_zone: ["karawang", "bekasi", "cikampek"][i % 3],
        recipients: { user_ids: [5, 6, 7, 8] },
        data: {
          ticket_id: `TKT-2026-${1000 + i}`, customer_name: "Ibu Sari", location: "Perum Griya Asri Blok C2",
          issue_type: "FTTH LOS merah", address: "Jl. Tuparev No. 12", customer_phone: "081234567890",
          ticket_url: "https://tiket.example/TKT", sla_deadline: "16:00", technician_name: "Budi",
        },
        idempotency_key: `shot-${i}`,
      },
    });
    expect(res.status(), await res.text()).toBe(202);
  }

  // A critical outage for Budi: under the demo escalation policy, so his
  // inbox shows it open with the acknowledge button.
  const outage = await request.post("/api/v1/events", {
    headers: { Authorization: "Bearer nk_demo_0123456789abcdef" },
    data: {
      type: "outage", priority: "critical", work_zone: "karawang", recipients: { user_ids: [5] },
      data: { location: "OLT Karawang Barat", issue_type: "Kabel feeder putus", ticket_id: "TKT-2026-2001" },
      idempotency_key: "shot-outage",
    },
  });
  expect(outage.status(), await outage.text()).toBe(202);

  await page.setViewportSize({ width: 1280, height: 900 });
  await login(page, "admin@demo.id");
  for (const [path, name] of [
    ["/settings", "settings"],
    ["/master/groups", "groups"],
    ["/master/groups/1", "group-editor"],
    ["/master/users", "users"],
    ["/master/users/5", "user-editor"],
    ["/master/zones", "zones"],
    ["/master/templates", "templates"],
    ["/master/api-keys", "api-keys"],
    ["/master/providers", "providers"],
    ["/master/escalation", "escalation"],
    ["/deliveries", "deliveries"],
    ["/analytics", "analytics"],
  ]) {
    await page.goto(path);
    await hydrated(page);
    if (name === "analytics") await expect(page.getByTestId("total")).not.toHaveText("0", { timeout: 10_000 });
    await page.screenshot({ path: out(name), fullPage: true });
  }
  await page.goto("/deliveries");
  await hydrated(page);
  await page.getByTestId("delivery-row").first().getByRole("link").click();
  await expect(page.getByTestId("delivery-detail")).toBeVisible();
  await page.screenshot({ path: out("delivery-detail"), fullPage: true });

  // A staff list pasted from a spreadsheet, checked row by row.
  await page.goto("/master/users");
  await hydrated(page);
  await page.getByTestId("import-card").locator("summary").click();
  await page.getByTestId("import-text").fill([
    "Nama;Email;Telepon;Peran;Zona",
    "Wawan Teknisi;wawan@contoh.id;0812-6666-0001;Teknisi;karawang",
    "Yuni Teknisi;yuni@contoh.id;0812-6666-0002;Teknisi;atlantis",
    "Zaki;WAWAN@contoh.id;0812-66xx;bos;",
    "Dedi Teknisi;tek.cikampek1@demo.id;0812-0000-0008;Teknisi;cikampek",
  ].join("\n"));
  await page.getByTestId("check-import").click();
  await expect(page.getByTestId("import-summary")).toBeVisible();
  await page.getByTestId("import-card").screenshot({ path: out("users-import") });

  // Report schedules, with the preview of the daily summary over the
  // ticketing system's counts for the two days it may cover.
  for (const [days, zone, total, completed] of [[-1, "karawang", 15, 12], [-1, "bekasi", 9, 9], [0, "karawang", 6, 2]] as const) {
    const date = new Date(Date.now() + 7 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
    const res = await request.post("/api/v1/ticket-figures", {
      headers: { Authorization: "Bearer nk_demo_0123456789abcdef" },
      data: { date, work_zone: zone, total, completed, in_progress: 2, open: 1, sla_breached: 1 },
    });
    expect(res.status(), await res.text()).toBe(200);
  }
  await page.goto("/reports");
  await hydrated(page);
  await page.getByTestId("report-schedules").locator("tr", { hasText: "Laporan harian" }).getByRole("button", { name: "Ubah" }).click();
  await page.getByTestId("preview-report").click();
  await expect(page.getByTestId("report-preview")).toContainText("LAPORAN HARIAN");
  await page.screenshot({ path: out("reports"), fullPage: true });

  // The audit trail, after a zone is renamed: the change in words.
  await page.goto("/master/zones");
  await hydrated(page);
  const zone = page.getByTestId("zone-row").filter({ hasText: "cikampek" });
  await zone.getByTestId("zone-name").fill("Cikampek Kota");
  await zone.getByTestId("rename-zone").click();
  await expect(page.getByTestId("zone-row").filter({ hasText: "cikampek" }).getByTestId("zone-name")).toHaveValue("Cikampek Kota");
  await page.goto("/master/audit");
  await hydrated(page);
  await page.getByTestId("audit-row").first().locator("summary").click();
  await expect(page.getByTestId("audit-change").first()).toBeVisible();
  await page.screenshot({ path: out("audit"), fullPage: true });

  // The same pages on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [path, name] of [
    ["/master/groups/1", "group-editor-phone"],
    ["/master/users", "users-phone"],
    ["/master/templates", "templates-phone"],
    ["/master/audit", "audit-phone"],
    ["/master/users/5", "user-editor-phone"],
    ["/master/zones", "zones-phone"],
    ["/master/api-keys", "api-keys-phone"],
    ["/master/providers", "providers-phone"],
    ["/master/escalation", "escalation-phone"],
    ["/reports", "reports-phone"],
    ["/deliveries", "deliveries-phone"],
    ["/analytics", "analytics-phone"],
  ]) {
    await page.goto(path);
    await hydrated(page);
    await page.screenshot({ path: out(name), fullPage: true });
  }

  // A technician's phone.
  await page.context().clearCookies();
  await login(page, "tek.karawang1@demo.id");
  await page.goto("/settings");
  await hydrated(page);
  await page.screenshot({ path: out("settings-phone"), fullPage: true });
  // Their inbox, with the live unread badge (it appears once the socket says hello).
  await page.goto("/inbox");
  await hydrated(page);
  await expect(page.getByTestId("unread-badge")).toBeVisible();
  // (The first screen only: the inbox is long.)
  await page.screenshot({ path: out("inbox-phone") });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: out("inbox") });
});
