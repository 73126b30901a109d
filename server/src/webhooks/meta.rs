//! Meta's callbacks: the GET handshake and the signed POST with statuses
//! and incoming messages.

use super::*;
use crate::providers::meta as protocol;

#[derive(Deserialize)]
pub(super) struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

pub(super) async fn meta_verify(
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

pub(super) async fn meta_post(
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
    for update in protocol::statuses(&v) {
        outcome.push(meta_status(&hooks, account_id, update, now).await);
    }
    // Replies: a text (or a reply button) from a person, perhaps quoting the
    // message it answers.
    for written in protocol::messages(&v) {
        outcome.push(meta_inbound(&hooks, account_id, written, now).await);
    }
    if outcome.is_empty() {
        outcome.push("ignored: no statuses or messages".into());
    }
    acknowledge(&hooks, "meta", account_id, &body, &outcome.join("; "), now).await
}

/// One status of a Meta callback applied; what it did.
async fn meta_status(
    hooks: &Webhooks,
    account_id: i64,
    s: protocol::StatusUpdate<'_>,
    now: i64,
) -> String {
    // Free text refused later as outside the window (131047): sent again as
    // the type's template instead of failing.
    if s.outside_window {
        let reason = s.error.as_deref().unwrap_or("Meta error 131047");
        match storage::window::resend_outside_window(
            &hooks.db,
            domain::AccountId(account_id),
            s.id,
            reason,
            now,
        )
        .await
        {
            Ok(Some(delivery)) => {
                hooks.feed.deliveries([DeliveryChange {
                    id: delivery,
                    status: DeliveryStatus::Queued,
                }]);
                hooks.wake.notify_one();
                return format!("delivery {delivery} queued again as a template (131047)");
            }
            Ok(None) => {}
            Err(e) => return format!("error: {e}"),
        }
    }
    apply(
        hooks,
        "meta",
        MessageKey::Id(s.id),
        s.status,
        s.at.unwrap_or(now),
        s.error.as_deref(),
        None,
    )
    .await
}

/// One message a person wrote (or a button they tapped): it opens the
/// 24-hour window and may acknowledge an alert; what it did.
async fn meta_inbound(
    hooks: &Webhooks,
    account_id: i64,
    m: protocol::Written<'_>,
    now: i64,
) -> String {
    let written_at = m.written_at.map(|t| t.min(now));
    // The person wrote: free text may reach them for a day.
    if let Ok(phone) = domain::PhoneE164::parse(m.from) {
        let at = written_at.unwrap_or(now);
        if let Err(e) =
            storage::window::record_inbound(&hooks.db, account_id, phone.as_str(), at).await
        {
            tracing::warn!(account = account_id, "24-hour window not recorded: {e}");
        }
    }
    let inbound = Inbound {
        id: m.id,
        from: m.from,
        text: m.text,
        quoted: m.quoted,
        // A second's grace: Meta's time is in whole seconds.
        written_at: written_at.map(|t| t + 999),
    };
    reply(hooks, "meta", inbound, now).await
}
