// The service worker of web push: shows what the server pushes (decrypted by
// the browser) and tells the delivery log when it was shown and clicked.
// Payload: { title, body, url, tag, delivery } (domain::push::Payload).

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// Receipts go with the session cookie. A network error or a 5xx (a phone
// between networks, a server restarting) is tried again after 2 s and 8 s;
// other answers (401 signed out, 404 not theirs) are final. Receipts are
// idempotent on the server, so a retry of one that did arrive is harmless.
const RECEIPT_DELAYS_MS = [2000, 8000];

function receipt(delivery, event, attempt = 0) {
  if (!Number.isInteger(delivery)) return Promise.resolve();
  const again = () =>
    attempt < RECEIPT_DELAYS_MS.length
      ? new Promise((r) => setTimeout(r, RECEIPT_DELAYS_MS[attempt])).then(() => receipt(delivery, event, attempt + 1))
      : undefined;
  return fetch("/push/receipt", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ delivery, event }),
  })
    .then((res) => (res.status >= 500 ? again() : undefined))
    .catch(again);
}

self.addEventListener("push", (event) => {
  let p = null;
  try {
    p = event.data ? event.data.json() : null;
  } catch (_) {
    p = null;
  }
  // Every push must show a notification (userVisibleOnly); an unreadable one
  // says so rather than vanishing.
  const title = (p && p.title) || "Notifikasi ISP";
  const options = {
    body: (p && p.body) || "",
    // The delivery's tag: a repeated push replaces its notification.
    tag: (p && p.tag) || undefined,
    data: { url: (p && p.url) || "/inbox", delivery: p && p.delivery },
    lang: "id",
  };
  event.waitUntil(
    self.registration.showNotification(title, options).then(() => receipt(p && p.delivery, "shown")),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const { url, delivery } = event.notification.data || {};
  event.waitUntil(Promise.all([receipt(delivery, "clicked"), self.clients.openWindow(url || "/inbox")]));
});
