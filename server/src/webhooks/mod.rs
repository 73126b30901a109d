//! Delivery-status callbacks from the providers.
//!
//! - Fonnte and Wablas sign nothing, so their callback URL carries a secret
//!   (`?token=…`, the account's `webhook_token`); a wrong or missing token is
//!   refused with 401 and nothing is applied.
//! - Meta verifies the URL with a GET handshake (`hub.verify_token`) and signs
//!   every POST with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the
//!   app secret), checked before the body is parsed.
//! - Twilio signs every status callback with `X-Twilio-Signature`
//!   (HMAC-SHA1 with the auth token of the URL it called, followed by the
//!   form's parameters sorted by name), so the URL is rebuilt from
//!   `PUBLIC_URL`: the address Twilio was given.
//!
//! Calls: Twilio reports a call's progress and the key pressed to
//! `/webhooks/twilio/{account}/voice/{status|gather}`, signed the same way;
//! key 1 acknowledges the alert the call was about.
//!
//! Replies: Fonnte's and Wablas's incoming-message webhooks (same token
//! rule, `/inbound` under the account's path) and Meta's `messages` in the
//! same callback as its statuses. A reply that acknowledges ("OK", "siap",
//! …) from a verified number closes that person's newest open alert (or the
//! alert of the message it quotes); unknown senders and other texts are
//! logged and change nothing. Woowa has no incoming webhook.
//!
//! Statuses only move a delivery forward (see `store::apply_status`), so
//! duplicated, late and out-of-order callbacks are harmless. Every callback is
//! kept in `provider_callbacks` with what became of it.
//!
//! Here: the routes, the checks every callback passes and applying what it
//! says; [`gateways`] (Fonnte, Wablas), [`meta`] and [`twilio`] read each
//! provider's callbacks. What a provider's status words mean is the
//! provider's module's (`providers::fonnte::callback_status`, …).

mod gateways;
mod meta;
mod twilio;

pub use meta::meta_signature_ok;
pub use twilio::twilio_signature;

use crate::providers::{Account, AccountCache, ProviderKind};
use crate::same_secret;
use app::live::DeliveryChange;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use domain::DeliveryStatus;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;
use storage::db::Db;
use storage::feed::Feed;
use storage::now_ms;
use storage::outbox::{self as store, Applied, MessageKey};

pub struct Webhooks {
    pub db: Db,
    pub accounts: Arc<AccountCache>,
    pub feed: Feed,
    /// `PUBLIC_URL` without a trailing slash (Twilio signs the URL it calls).
    pub public_url: String,
    /// Badly signed callbacks recorded per account (see [`bad_signature`]).
    pub refusals: RefusalLog,
    /// Wakes this instance's dispatcher for a delivery queued again.
    pub wake: Arc<tokio::sync::Notify>,
}

/// How many badly signed callbacks per account and minute are recorded;
/// the rest are refused without a trace (anyone can post them).
pub const REFUSALS_RECORDED_PER_MINUTE: u32 = 10;

/// Counts refusals per account within the current minute.
#[derive(Debug, Default)]
pub struct RefusalLog {
    minutes: std::sync::Mutex<HashMap<i64, (i64, u32)>>,
}

impl RefusalLog {
    /// Whether this refusal is still to be recorded.
    fn record(&self, account_id: i64, now: i64) -> bool {
        let minute = now / 60_000;
        let mut minutes = self.minutes.lock().expect("refusal log poisoned");
        if minutes.len() > 10_000 {
            minutes.retain(|_, (m, _)| *m == minute);
        }
        let (m, n) = minutes.entry(account_id).or_insert((minute, 0));
        if *m != minute {
            (*m, *n) = (minute, 0);
        }
        *n += 1;
        *n <= REFUSALS_RECORDED_PER_MINUTE
    }
}

/// What is kept of a refused body: its size, its SHA-256 and its first
/// characters, enough to recognise it again without storing what a stranger
/// sent (up to 256 KiB a request).
pub fn refused_summary(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    const PREFIX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(PREFIX * 4)]);
    let prefix: String = text.chars().take(PREFIX).collect();
    format!(
        "{} bytes, sha256 {}: {prefix}{}",
        body.len(),
        hex::encode(Sha256::digest(body)),
        if body.len() > prefix.len() { "…" } else { "" }
    )
}

pub fn router(state: Arc<Webhooks>) -> Router {
    Router::new()
        .route("/webhooks/fonnte/{account}", post(gateways::fonnte))
        .route(
            "/webhooks/fonnte/{account}/inbound",
            post(gateways::fonnte_inbound),
        )
        .route("/webhooks/wablas/{account}", post(gateways::wablas))
        .route(
            "/webhooks/wablas/{account}/inbound",
            post(gateways::wablas_inbound),
        )
        .route(
            "/webhooks/meta/{account}",
            post(meta::meta_post).get(meta::meta_verify),
        )
        .route("/webhooks/twilio/{account}", post(twilio::twilio))
        .route(
            "/webhooks/twilio/{account}/voice/status",
            post(twilio::twilio_voice_status),
        )
        .route(
            "/webhooks/twilio/{account}/voice/gather",
            post(twilio::twilio_voice_gather),
        )
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .layer(axum::middleware::from_fn(count_refused))
        .with_state(state)
}

/// Refused callbacks in the metrics, by the provider of the path and the
/// status answered (`refused_401`: a bad token or signature, …); the
/// accepted ones are counted with their verdict by [`acknowledge`].
async fn count_refused(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let provider = ["fonnte", "wablas", "meta", "twilio"]
        .into_iter()
        .find(|p| request.uri().path().split('/').nth(2) == Some(p))
        .unwrap_or("other");
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_success() {
        metrics::counter!(
            crate::metrics::CALLBACKS,
            "provider" => provider,
            "verdict" => format!("refused_{}", status.as_u16()),
        )
        .increment(1);
    }
    response
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

/// Why a callback is refused, before anything is applied.
type Refusal = (StatusCode, &'static str);

async fn account(hooks: &Webhooks, id: i64, kind: ProviderKind) -> Result<Account, Refusal> {
    match hooks.accounts.by_id(domain::AccountId(id)).await {
        Ok(Some(a)) if a.kind == kind => Ok(a),
        Ok(_) => Err((StatusCode::NOT_FOUND, "no such provider account")),
        Err(_) => Err((StatusCode::SERVICE_UNAVAILABLE, "try again")),
    }
}

fn check_token(account: &Account, query: &HashMap<String, String>) -> Result<(), Refusal> {
    let Some(expected) = account
        .credentials
        .webhook_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return Err((
            StatusCode::FORBIDDEN,
            "this account has no webhook_token configured",
        ));
    };
    // A short token (saved before the rule) can be guessed: the account's
    // callbacks wait for a longer one.
    if expected.chars().count() < domain::providers::MIN_WEBHOOK_TOKEN_CHARS {
        return Err((
            StatusCode::FORBIDDEN,
            "this account's webhook_token is too short: set one of at least 32 characters",
        ));
    }
    match query.get("token") {
        Some(given) if same_secret(given, expected) => Ok(()),
        _ => Err((StatusCode::UNAUTHORIZED, "bad webhook token")),
    }
}

/// The checks every unsigned gateway callback passes before it is applied:
/// the account exists and is of this kind, the URL carries its secret, and the
/// body can be read.
async fn gateway_body(
    hooks: &Webhooks,
    account_id: i64,
    kind: ProviderKind,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<Value, Refusal> {
    let account = account(hooks, account_id, kind).await?;
    check_token(&account, query)?;
    loose_body(body).ok_or((StatusCode::BAD_REQUEST, "body is neither JSON nor a form"))
}

/// Reads a gateway body that may be JSON or a form.
fn loose_body(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok().or_else(|| {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        (!pairs.is_empty()).then(|| {
            Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            )
        })
    })
}

async fn apply(
    hooks: &Webhooks,
    provider: &str,
    key: MessageKey<'_>,
    status: Option<DeliveryStatus>,
    at: i64,
    error: Option<&str>,
    reference: Option<&str>,
) -> String {
    let Some(status) = status else {
        return "ignored: no status change".into();
    };
    match store::apply_or_hold(&hooks.db, provider, key, status, at, error, reference).await {
        Ok(Applied::Moved(id, s)) => {
            hooks.feed.deliveries([DeliveryChange { id, status: s }]);
            format!("delivery {id} -> {}", s.as_str())
        }
        Ok(Applied::Unchanged) => format!(
            "no change ({} is a duplicate or out of order)",
            status.as_str()
        ),
        Ok(Applied::Held) => format!(
            "held: no send recorded yet for this message ({})",
            status.as_str()
        ),
        Err(e) => format!("error: {e}"),
    }
}

/// A WhatsApp message someone sent us: if it acknowledges, the alert it is
/// about is closed for its sender. Returns what became of it.
async fn reply(hooks: &Webhooks, provider: &str, m: Inbound<'_>, now: i64) -> String {
    use storage::alerts;
    let Inbound {
        id,
        from,
        text,
        quoted,
        written_at,
    } = m;
    let Ok(phone) = domain::PhoneE164::parse(from) else {
        return format!("rejected: reply from '{from}', not a number we send to");
    };
    if !domain::escalation::is_acknowledgement(text) {
        return "ignored: reply is not an acknowledgement".into();
    }
    // A webhook delivered twice: the "OK" was handled, and must not
    // acknowledge an alert that opened since.
    if let Some(id) = id.filter(|i| !i.is_empty()) {
        match storage::window::first_time(&hooks.db, provider, id, now).await {
            Ok(true) => {}
            Ok(false) => return format!("ignored: message {id} was handled already"),
            Err(e) => return format!("error: {e}"),
        }
    }
    let phone = phone.as_str();
    let quoted = match quoted {
        Some(id) => alerts::open_for_message(&hooks.db, provider, id, phone).await,
        None => Ok(None),
    };
    let target = match quoted {
        Ok(Some(found)) => Ok(found),
        Ok(None) => match alerts::open_for_phone(&hooks.db, phone, written_at).await {
            Ok(r) => r,
            Err(e) => return format!("error: {e}"),
        },
        Err(e) => return format!("error: {e}"),
    };
    let (alert_id, user_id) = match target {
        Ok(found) => found,
        Err(reason) => {
            tracing::warn!(provider, "WhatsApp reply not matched: {reason}");
            return format!("rejected: {reason}");
        }
    };
    let ack = domain::escalation::AckChannel::Whatsapp;
    match alerts::acknowledge_and_announce(&hooks.db, &hooks.feed, alert_id, user_id, ack, now)
        .await
    {
        Ok(app::alerts::AckOutcome::Acknowledged) => {
            format!("alert {alert_id} acknowledged by user {user_id}")
        }
        Ok(other) => format!("alert {alert_id}: no change ({other:?})"),
        Err(e) => format!("error: {e}"),
    }
}

/// A person's message as a provider's webhook reports it.
#[derive(Debug, Clone, Copy)]
struct Inbound<'a> {
    /// The provider's id of the message, when it gives one.
    id: Option<&'a str>,
    from: &'a str,
    text: &'a str,
    /// The id of our message it quotes (Meta).
    quoted: Option<&'a str>,
    /// When the person wrote it (ms), by the provider's clock, if it says.
    written_at: Option<i64>,
}

impl<'a> Inbound<'a> {
    /// A gateway's message: it quotes nothing we can match and carries no
    /// time of writing (taken as written on arrival).
    fn from_gateway(id: Option<&'a str>, from: &'a str, text: &'a str) -> Self {
        Inbound {
            id,
            from,
            text,
            quoted: None,
            written_at: None,
        }
    }
}

/// Refuses a callback whose signature does not match; nothing is applied.
/// A summary of it is kept for audit ([`refused_summary`]), for the first
/// few per account and minute only, so a flood cannot fill the disk.
async fn bad_signature(
    hooks: &Webhooks,
    provider: &str,
    account_id: i64,
    body: &[u8],
    status: StatusCode,
) -> Response {
    let now = now_ms();
    if hooks.refusals.record(account_id, now) {
        let _ = store::log_callback(
            &hooks.db,
            provider,
            Some(account_id),
            &refused_summary(body),
            "rejected: bad signature",
            now,
        )
        .await;
    }
    refuse(status, "bad signature")
}

/// Keeps the callback and what it did (audit, replay detection) and answers
/// 200, which every provider takes as "received, do not resend".
async fn acknowledge(
    hooks: &Webhooks,
    provider: &str,
    account_id: i64,
    body: &[u8],
    outcome: &str,
    now: i64,
) -> Response {
    metrics::counter!(
        crate::metrics::CALLBACKS,
        "provider" => provider.to_owned(),
        "verdict" => crate::metrics::verdict_of(outcome),
    )
    .increment(1);
    let _ = store::log_callback(
        &hooks.db,
        provider,
        Some(account_id),
        &String::from_utf8_lossy(body),
        outcome,
        now,
    )
    .await;
    (StatusCode::OK, "ok").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_body_is_kept_as_its_size_hash_and_first_characters() {
        let body = "x".repeat(256 * 1024);
        let kept = refused_summary(body.as_bytes());
        assert!(kept.len() < 400, "{}", kept.len());
        assert!(kept.starts_with("262144 bytes, sha256 "), "{kept}");
        assert!(kept.ends_with('…'));
        assert_eq!(
            refused_summary(b"{}").len(),
            "2 bytes, sha256 ".len() + 64 + 4
        );
    }

    #[test]
    fn refusals_are_recorded_a_few_per_account_and_minute() {
        let log = RefusalLog::default();
        let recorded = (0..50).filter(|_| log.record(1, 60_000)).count();
        assert_eq!(recorded, REFUSALS_RECORDED_PER_MINUTE as usize);
        assert!(log.record(2, 60_000), "another account has its own count");
        assert!(log.record(1, 120_000), "a new minute starts again");
    }

    #[test]
    fn meta_signatures_are_checked_against_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(meta_signature_ok("s3cret", body, Some(&good)));
        assert!(!meta_signature_ok("other", body, Some(&good)));
        assert!(!meta_signature_ok("s3cret", b"{}", Some(&good)));
        assert!(!meta_signature_ok("s3cret", body, None));
        assert!(!meta_signature_ok("s3cret", body, Some("sha256=zz")));
        assert!(!meta_signature_ok(
            "s3cret",
            body,
            Some(&good.replace("sha256=", "sha1="))
        ));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "abcd") && !same_secret("", "a"));
    }

    #[test]
    fn provider_status_words_map_to_delivery_statuses() {
        assert_eq!(
            crate::providers::wablas::callback_status("received"),
            Some(DeliveryStatus::Delivered)
        );
        assert_eq!(
            crate::providers::wablas::callback_status("reject"),
            Some(DeliveryStatus::Failed)
        );
        assert_eq!(crate::providers::wablas::callback_status("pending"), None);
        assert_eq!(
            crate::providers::fonnte::callback_status("read"),
            Some(DeliveryStatus::Read)
        );
        assert_eq!(crate::providers::fonnte::callback_status("waiting"), None);
        assert_eq!(
            crate::providers::meta::callback_status("played"),
            Some(DeliveryStatus::Read)
        );
    }

    #[test]
    fn gateway_bodies_may_be_json_or_forms() {
        assert_eq!(loose_body(br#"{"id":"1"}"#).unwrap()["id"], "1");
        assert_eq!(loose_body(b"id=2&status=read").unwrap()["status"], "read");
        assert!(loose_body(b"").is_none());
    }
}
