//! Twilio's callbacks: SMS statuses, and a call's progress and the key
//! pressed, each signed with `X-Twilio-Signature` over `PUBLIC_URL` + path.

use super::*;

use crate::providers::sms::twilio_param as param;
pub use crate::providers::sms::twilio_signature;

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

pub(super) async fn twilio(
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
    let outcome = match crate::providers::sms::twilio_status_callback(&params) {
        Some((sid, status, error)) => {
            apply(
                &hooks,
                "twilio",
                MessageKey::Id(sid),
                status,
                now,
                error.as_deref(),
                None,
            )
            .await
        }
        None => "ignored: no MessageSid or MessageStatus".into(),
    };
    acknowledge(&hooks, "twilio", account_id, &body, &outcome, now).await
}

/// A call's progress (`StatusCallback`): answered → delivered; busy, no
/// answer, failed → failed. (A call that was answered and then completed
/// stays delivered; one acknowledged by a key is read.)
pub(super) async fn twilio_voice_status(
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
    let outcome = match crate::providers::voice::status_callback(&params) {
        Some((sid, moved, error)) => {
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
        None => "ignored: no CallSid or CallStatus".into(),
    };
    acknowledge(&hooks, kind.as_str(), account_id, &body, &outcome, now).await
}

/// The key pressed during an alert's call (`<Gather action>`): 1
/// acknowledges the alert for the person called and marks the call read.
/// Answered with TwiML that tells the caller what happened.
pub(super) async fn twilio_voice_gather(
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
    let (alert_id, user_id) = match storage::alerts::alert_for_call(&hooks.db, provider, sid).await
    {
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
    let acked = storage::alerts::acknowledge_and_announce(
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
