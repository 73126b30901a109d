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

use crate::providers::{Account, AccountCache, ProviderKind};
use app::live::DeliveryChange;
use app::time::now_ms;
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
use storage::outbox::{self as store, Applied, MessageKey};

pub struct Webhooks {
    pub db: Db,
    pub accounts: Arc<AccountCache>,
    pub feed: Feed,
    /// `PUBLIC_URL` without a trailing slash (Twilio signs the URL it calls).
    pub public_url: String,
}

pub fn router(state: Arc<Webhooks>) -> Router {
    Router::new()
        .route("/webhooks/fonnte/{account}", post(fonnte))
        .route("/webhooks/fonnte/{account}/inbound", post(fonnte_inbound))
        .route("/webhooks/wablas/{account}", post(wablas))
        .route("/webhooks/wablas/{account}/inbound", post(wablas_inbound))
        .route("/webhooks/meta/{account}", post(meta_post).get(meta_verify))
        .route("/webhooks/twilio/{account}", post(twilio))
        .route(
            "/webhooks/twilio/{account}/voice/status",
            post(twilio_voice_status),
        )
        .route(
            "/webhooks/twilio/{account}/voice/gather",
            post(twilio_voice_gather),
        )
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .with_state(state)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

/// Compares secrets without revealing where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a callback is refused, before anything is applied.
type Refusal = (StatusCode, &'static str);

async fn account(hooks: &Webhooks, id: i64, kind: ProviderKind) -> Result<Account, Refusal> {
    match hooks.accounts.by_id(id).await {
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

fn text(v: &Value, key: &str) -> Option<String> {
    crate::providers::id_string(v.get(key))
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

fn fonnte_status(s: &str) -> Option<DeliveryStatus> {
    match s.to_ascii_lowercase().as_str() {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "invalid" | "expired" | "url unreachable" | "failed" => Some(DeliveryStatus::Failed),
        _ => None, // pending, waiting, processing: nothing new
    }
}

async fn fonnte(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Fonnte, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let id = text(&v, "id");
    let state_id = text(&v, "stateid");
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .and_then(fonnte_status);
    let state = v
        .get("state")
        .and_then(Value::as_str)
        .and_then(fonnte_status);
    let mut outcome = Vec::new();
    if let (Some(id), Some(sid)) = (&id, &state_id) {
        let _ = store::link_reference(&hooks.db, "fonnte", id, sid).await;
    }
    let error = (status == Some(DeliveryStatus::Failed))
        .then(|| format!("Fonnte status: {}", v["status"].as_str().unwrap_or("")));
    if let Some(id) = &id {
        outcome.push(
            apply(
                &hooks,
                "fonnte",
                MessageKey::Id(id),
                status,
                now,
                error.as_deref(),
                state_id.as_deref(),
            )
            .await,
        );
        if state.is_some() {
            outcome.push(
                apply(
                    &hooks,
                    "fonnte",
                    MessageKey::Id(id),
                    state,
                    now,
                    None,
                    state_id.as_deref(),
                )
                .await,
            );
        }
    } else if let Some(sid) = &state_id {
        outcome.push(
            apply(
                &hooks,
                "fonnte",
                MessageKey::Ref(sid),
                state.or(status),
                now,
                error.as_deref(),
                None,
            )
            .await,
        );
    } else {
        outcome.push("ignored: neither id nor stateid".into());
    }
    acknowledge(
        &hooks,
        "fonnte",
        account_id,
        &body,
        &outcome.join("; "),
        now,
    )
    .await
}

fn wablas_status(s: &str) -> Option<DeliveryStatus> {
    match s.to_ascii_lowercase().as_str() {
        "sent" => Some(DeliveryStatus::Sent),
        // Wablas's own list has "received" and no "delivered".
        "delivered" | "received" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "cancel" | "reject" | "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

async fn wablas(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Wablas, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let raw_status = v.get("status").and_then(Value::as_str).unwrap_or("");
    let outcome = match text(&v, "id") {
        Some(id) => {
            let status = wablas_status(raw_status);
            let error = (status == Some(DeliveryStatus::Failed))
                .then(|| format!("Wablas status: {raw_status}"));
            apply(
                &hooks,
                "wablas",
                MessageKey::Id(&id),
                status,
                now,
                error.as_deref(),
                None,
            )
            .await
        }
        None => "ignored: no id".into(),
    };
    acknowledge(&hooks, "wablas", account_id, &body, &outcome, now).await
}

/// A WhatsApp message someone sent us: if it acknowledges, the alert it is
/// about is closed for its sender. Returns what became of it.
async fn reply(
    hooks: &Webhooks,
    provider: &str,
    from: &str,
    text: &str,
    quoted: Option<&str>,
    now: i64,
) -> String {
    use app::alerts::store as alerts;
    let Ok(phone) = domain::PhoneE164::parse(from) else {
        return format!("rejected: reply from '{from}', not a number we send to");
    };
    if !domain::escalation::is_acknowledgement(text) {
        return "ignored: reply is not an acknowledgement".into();
    }
    let phone = phone.as_str();
    let quoted = match quoted {
        Some(id) => alerts::open_for_message(&hooks.db, provider, id, phone).await,
        None => Ok(None),
    };
    let target = match quoted {
        Ok(Some(found)) => Ok(found),
        Ok(None) => match alerts::open_for_phone(&hooks.db, phone).await {
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

/// Fonnte's incoming-message webhook: `sender` (the chat: a number, or a
/// group id with the person in `member`) and `message`.
async fn fonnte_inbound(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Fonnte, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let from = text(&v, "member")
        .filter(|m| !m.is_empty())
        .or_else(|| text(&v, "sender"))
        .unwrap_or_default();
    let message = text(&v, "message").unwrap_or_default();
    let outcome = reply(&hooks, "fonnte", &from, &message, None, now).await;
    acknowledge(&hooks, "fonnte", account_id, &body, &outcome, now).await
}

/// Wablas's incoming-message webhook: `phone` (or `sender` in a group),
/// `message`, and `isFromMe` for our own messages echoed back.
async fn wablas_inbound(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Wablas, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let flag = |k: &str| matches!(text(&v, k).as_deref(), Some("true" | "1"));
    let outcome = if flag("isFromMe") {
        "ignored: our own message".to_owned()
    } else {
        let from = if flag("isGroup") {
            text(&v, "sender")
        } else {
            text(&v, "phone")
        }
        .unwrap_or_default();
        let message = text(&v, "message").unwrap_or_default();
        reply(&hooks, "wablas", &from, &message, None, now).await
    };
    acknowledge(&hooks, "wablas", account_id, &body, &outcome, now).await
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn meta_verify(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(h): Query<Handshake>,
) -> Response {
    let account = match account(&hooks, account_id, ProviderKind::Meta).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let expected = account.credentials.verify_token.as_deref().unwrap_or("");
    match (h.mode.as_deref(), h.verify_token.as_deref(), h.challenge) {
        (Some("subscribe"), Some(token), Some(challenge))
            if !expected.is_empty() && same_secret(token, expected) =>
        {
            (StatusCode::OK, challenge).into_response()
        }
        _ => refuse(StatusCode::FORBIDDEN, "verification failed"),
    }
}

/// `sha256=<hex>` of HMAC-SHA256(app secret, raw body).
pub fn meta_signature_ok(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn meta_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" | "played" => Some(DeliveryStatus::Read),
        "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

async fn meta_post(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = match account(&hooks, account_id, ProviderKind::Meta).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let Some(secret) = account
        .credentials
        .app_secret
        .as_deref()
        .filter(|s| !s.is_empty())
    else {
        return refuse(
            StatusCode::FORBIDDEN,
            "this account has no app_secret configured",
        );
    };
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !meta_signature_ok(secret, &body, signature) {
        return bad_signature(&hooks, "meta", account_id, &body, StatusCode::UNAUTHORIZED).await;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "malformed JSON");
    };
    let now = now_ms();
    let mut outcome = Vec::new();
    let statuses = v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .flat_map(|c| c["value"]["statuses"].as_array().into_iter().flatten());
    for s in statuses {
        let Some(id) = s["id"].as_str() else { continue };
        let status = s["status"].as_str().and_then(meta_status);
        let at = s["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<i64>().ok())
            .map(|t| t * 1000)
            .unwrap_or(now);
        let error = s["errors"][0].as_object().map(|e| {
            format!(
                "Meta error {}: {}",
                e.get("code").and_then(Value::as_i64).unwrap_or(-1),
                e.get("title")
                    .or_else(|| e.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )
        });
        outcome.push(
            apply(
                &hooks,
                "meta",
                MessageKey::Id(id),
                status,
                at,
                error.as_deref(),
                None,
            )
            .await,
        );
    }
    // Replies: a text (or a quick-reply button) from a person, perhaps
    // quoting the message it answers.
    let messages = v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .flat_map(|c| c["value"]["messages"].as_array().into_iter().flatten());
    for m in messages {
        let from = m["from"].as_str().unwrap_or("");
        let body = m["text"]["body"]
            .as_str()
            .or_else(|| m["button"]["text"].as_str())
            .unwrap_or("");
        let quoted = m["context"]["id"].as_str();
        outcome.push(reply(&hooks, "meta", from, body, quoted, now).await);
    }
    if outcome.is_empty() {
        outcome.push("ignored: no statuses or messages".into());
    }
    acknowledge(&hooks, "meta", account_id, &body, &outcome.join("; "), now).await
}

/// Twilio's signature: base64 of HMAC-SHA1(auth token, URL + each parameter's
/// name and value, sorted by name).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine;
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn twilio_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "undelivered" | "failed" | "canceled" => Some(DeliveryStatus::Failed),
        _ => None, // accepted, scheduled, queued, sending: nothing new
    }
}

/// The checks every Twilio callback passes: the account exists and is of
/// `kind`, and `X-Twilio-Signature` matches the form signed with its auth
/// token over the URL Twilio was given (`PUBLIC_URL` + path). Returns the
/// form's parameters.
async fn twilio_form(
    hooks: &Webhooks,
    account_id: i64,
    kind: ProviderKind,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Response> {
    let account = account(hooks, account_id, kind)
        .await
        .map_err(IntoResponse::into_response)?;
    let Some(token) = account.credentials.auth_token.as_deref() else {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "this account has no auth_token",
        ));
    };
    let Ok(params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return Err(refuse(StatusCode::BAD_REQUEST, "body is not a form"));
    };
    let url = format!(
        "{}{}",
        hooks.public_url,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    if !given.is_some_and(|g| same_secret(g, &twilio_signature(token, &url, &params))) {
        return Err(bad_signature(
            hooks,
            kind.as_str(),
            account_id,
            body,
            StatusCode::FORBIDDEN,
        )
        .await);
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn twilio(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match twilio_form(
        &hooks,
        account_id,
        ProviderKind::Twilio,
        &uri,
        &headers,
        &body,
    )
    .await
    {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = now_ms();
    let field = |name: &str| param(&params, name);
    let outcome = match (field("MessageSid"), field("MessageStatus")) {
        (Some(sid), Some(status)) => {
            let error = field("ErrorCode")
                .filter(|c| !c.is_empty())
                .map(|c| format!("Twilio {status}: error {c}"))
                .or_else(|| {
                    matches!(status, "undelivered" | "failed").then(|| format!("Twilio {status}"))
                });
            apply(
                &hooks,
                "twilio",
                MessageKey::Id(sid),
                twilio_status(status),
                now,
                error.as_deref(),
                None,
            )
            .await
        }
        _ => "ignored: no MessageSid or MessageStatus".into(),
    };
    acknowledge(&hooks, "twilio", account_id, &body, &outcome, now).await
}

fn call_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        // Answered: it reached the person.
        "in-progress" | "completed" => Some(DeliveryStatus::Delivered),
        "busy" | "no-answer" | "failed" | "canceled" => Some(DeliveryStatus::Failed),
        _ => None, // queued, initiated, ringing
    }
}

/// A call's progress (`StatusCallback`): answered → delivered; busy, no
/// answer, failed → failed. (A call that was answered and then completed
/// stays delivered; one acknowledged by a key is read.)
async fn twilio_voice_status(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = ProviderKind::TwilioVoice;
    let params = match twilio_form(&hooks, account_id, kind, &uri, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = now_ms();
    let outcome = match (param(&params, "CallSid"), param(&params, "CallStatus")) {
        (Some(sid), Some(status)) => {
            let moved = call_status(status);
            let error =
                (moved == Some(DeliveryStatus::Failed)).then(|| format!("Twilio call {status}"));
            apply(
                &hooks,
                kind.as_str(),
                MessageKey::Id(sid),
                moved,
                now,
                error.as_deref(),
                None,
            )
            .await
        }
        _ => "ignored: no CallSid or CallStatus".into(),
    };
    acknowledge(&hooks, kind.as_str(), account_id, &body, &outcome, now).await
}

/// The key pressed during an alert's call (`<Gather action>`): 1
/// acknowledges the alert for the person called and marks the call read.
/// Answered with TwiML that tells the caller what happened.
async fn twilio_voice_gather(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use crate::providers::voice::reply_twiml;
    let kind = ProviderKind::TwilioVoice;
    let params = match twilio_form(&hooks, account_id, kind, &uri, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = now_ms();
    let (outcome, say) = match (param(&params, "CallSid"), param(&params, "Digits")) {
        (Some(sid), Some("1")) => key_one(&hooks, sid, now).await,
        (_, digits) => (
            format!(
                "ignored: key {:?} does not acknowledge",
                digits.unwrap_or("")
            ),
            "Peringatan belum dikonfirmasi.",
        ),
    };
    let _ = store::log_callback(
        &hooks.db,
        kind.as_str(),
        Some(account_id),
        &String::from_utf8_lossy(&body),
        &outcome,
        now,
    )
    .await;
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "text/xml")],
        reply_twiml(say),
    )
        .into_response()
}

/// Key 1 pressed in call `sid`: the alert the call was about is acknowledged
/// for the person called, and the call counts as read. Returns what became
/// of it and what the caller hears.
async fn key_one(hooks: &Webhooks, sid: &str, now: i64) -> (String, &'static str) {
    const SORRY: &str = "Maaf, terjadi kesalahan. Silakan konfirmasi lewat aplikasi.";
    let provider = ProviderKind::TwilioVoice.as_str();
    let (alert_id, user_id) =
        match app::alerts::store::alert_for_call(&hooks.db, provider, sid).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                return (
                    "ignored: this call is about no alert".into(),
                    "Tidak ada peringatan untuk panggilan ini.",
                )
            }
            Err(e) => return (format!("error: {e}"), SORRY),
        };
    let ack = domain::escalation::AckChannel::Voice;
    let acked = app::alerts::store::acknowledge_and_announce(
        &hooks.db,
        &hooks.feed,
        alert_id,
        user_id,
        ack,
        now,
    )
    .await;
    let read = Some(DeliveryStatus::Read);
    let _ = apply(hooks, provider, MessageKey::Id(sid), read, now, None, None).await;
    match acked {
        Ok(app::alerts::AckOutcome::Acknowledged) => (
            format!("alert {alert_id} acknowledged by user {user_id} (key 1)"),
            "Terima kasih. Peringatan sudah dikonfirmasi.",
        ),
        Ok(other) => (
            format!("alert {alert_id}: no change ({other:?})"),
            "Peringatan ini sudah dikonfirmasi sebelumnya. Terima kasih.",
        ),
        Err(e) => (format!("error: {e}"), SORRY),
    }
}

/// Refuses a callback whose signature does not match, keeping it (with the
/// verdict) for audit; nothing is applied.
async fn bad_signature(
    hooks: &Webhooks,
    provider: &str,
    account_id: i64,
    body: &[u8],
    status: StatusCode,
) -> Response {
    let _ = store::log_callback(
        &hooks.db,
        provider,
        Some(account_id),
        &String::from_utf8_lossy(body),
        "rejected: bad signature",
        now_ms(),
    )
    .await;
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
    fn twilio_signatures_match_twilios_published_example() {
        // The worked example of Twilio's "Webhooks security" page.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
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
        assert_eq!(wablas_status("received"), Some(DeliveryStatus::Delivered));
        assert_eq!(wablas_status("reject"), Some(DeliveryStatus::Failed));
        assert_eq!(wablas_status("pending"), None);
        assert_eq!(fonnte_status("read"), Some(DeliveryStatus::Read));
        assert_eq!(fonnte_status("waiting"), None);
        assert_eq!(meta_status("played"), Some(DeliveryStatus::Read));
    }

    #[test]
    fn gateway_bodies_may_be_json_or_forms() {
        assert_eq!(loose_body(br#"{"id":"1"}"#).unwrap()["id"], "1");
        assert_eq!(loose_body(b"id=2&status=read").unwrap()["status"], "read");
        assert!(loose_body(b"").is_none());
    }
}
