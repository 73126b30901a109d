//! Web push: one delivery to every device of its person, and what each
//! device's push service said.

use super::super::worker::Dispatcher;
use crate::providers::{self, FailureClass, SendResult};
use app::live::DeliveryChange;
use domain::DeliveryStatus;
use std::time::Duration;
use storage::now_ms;
use storage::outbox::Claimed;

/// How long after a push that some device's service refused the follow-up
/// for those devices is due.
pub const PUSH_FOLLOW_UP_MS: i64 = 30_000;

/// The provider message id of a push: the service worker knows only the
/// delivery, and reports receipts under this.
pub fn push_message_id(delivery: i64) -> String {
    format!("push-{delivery}")
}

impl Dispatcher {
    /// Pushes one delivery to every device of its person through a web push
    /// account, and records what each device's push service said.
    pub(super) async fn push(&self, d: &Claimed, account: &providers::Account) -> SendResult {
        let fail = |class, e: String| SendResult::failed(class, e, None);
        let Some(user) = d.user_id else {
            return fail(FailureClass::Recipient, "a push goes to a person".into());
        };
        let key = match self
            .vapid
            .get_or_try_init(|| {
                storage::keys::vapid::VapidKey::load_or_create(&self.db, &self.keys, now_ms())
            })
            .await
        {
            Ok(k) => k,
            Err(e) => return fail(FailureClass::Transient, format!("VAPID key: {e}")),
        };
        let subs = match storage::push::for_user(&self.db, user).await {
            // A follow-up goes to the devices that missed the first push.
            Ok(mut s) => {
                if let Some(ids) = storage::push::named_devices(&d.recipient) {
                    s.retain(|sub| ids.contains(&sub.id));
                }
                s
            }
            Err(e) => {
                return fail(
                    FailureClass::Transient,
                    format!("loading subscriptions: {e}"),
                )
            }
        };
        let priority = d.priority;
        let payload = domain::push::Payload::new(
            d.subject.as_deref().unwrap_or("Notifikasi"),
            &d.message,
            &self.inbox_url,
            d.id.0,
        );
        let payload = serde_json::to_string(&payload).expect("strings serialise");
        let options = providers::webpush::PushOptions {
            key,
            subject: account.credentials.subject.as_deref().unwrap_or_default(),
            ttl_seconds: domain::push::ttl_seconds(priority),
            urgency: domain::push::urgency(priority),
            timeout: Duration::from_millis(account.timeout_ms.max(1) as u64),
            now_s: now_ms() / 1000,
            loopback_allowed: self.config.push_loopback,
        };
        let pushed = providers::webpush::send(&self.push_http, &subs, &payload, &options).await;
        if let Err(e) = storage::push::record(&self.db, &pushed.answers, now_ms()).await {
            tracing::error!(delivery = d.id.0, "recording push answers failed: {e}");
        }
        if matches!(pushed.result, SendResult::Accepted { .. }) && !pushed.try_again.is_empty() {
            let now = now_ms();
            let at = now + PUSH_FOLLOW_UP_MS;
            match storage::push::follow_up(&self.db, d.id, &pushed.try_again, now, at).await {
                Ok(Some(id)) => self.feed.deliveries([DeliveryChange {
                    id,
                    status: DeliveryStatus::Queued,
                }]),
                Ok(None) => {}
                // The delivery still counts as sent: those devices miss it
                // (it is in the inbox).
                Err(e) => {
                    tracing::error!(delivery = d.id.0, "queueing a push follow-up failed: {e}")
                }
            }
        }
        match pushed.result {
            // The service worker reports receipts under this id.
            SendResult::Accepted {
                reference,
                response,
                ..
            } => SendResult::Accepted {
                message_id: Some(push_message_id(d.id.0)),
                reference,
                response,
            },
            failed => failed,
        }
    }
}
