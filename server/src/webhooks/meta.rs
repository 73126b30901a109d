//! Meta's callbacks: the GET handshake and the signed POST with statuses
//! and incoming messages.

use super::*;

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
    let statuses = v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .flat_map(|c| c["value"]["statuses"].as_array().into_iter().flatten());
    for s in statuses {
        let Some(id) = s["id"].as_str() else { continue };
        let status = s["status"]
            .as_str()
            .and_then(crate::providers::meta::callback_status);
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
        // Free text refused later as outside the window (131047): sent
        // again as the type's template instead of failing.
        if s["errors"][0]["code"].as_i64() == Some(131047) {
            let reason = error.as_deref().unwrap_or("Meta error 131047");
            match storage::window::resend_outside_window(
                &hooks.db,
                domain::AccountId(account_id),
                id,
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
                    outcome.push(format!(
                        "delivery {delivery} queued again as a template (131047)"
                    ));
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    outcome.push(format!("error: {e}"));
                    continue;
                }
            }
        }
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
    // Replies: a text (or a reply button) from a person, perhaps
    // quoting the message it answers.
    let messages = v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .flat_map(|c| c["value"]["messages"].as_array().into_iter().flatten());
    for m in messages {
        let from = m["from"].as_str().unwrap_or("");
        // The "Konfirmasi" button answers with our payload (a template's
        // quick reply) or id (an interactive reply), whatever its label.
        let ack = crate::providers::meta::ACK_PAYLOAD;
        let tapped = m["button"]["payload"].as_str() == Some(ack)
            || m["interactive"]["button_reply"]["id"].as_str() == Some(ack);
        let body = if tapped {
            ack
        } else {
            m["text"]["body"]
                .as_str()
                .or_else(|| m["button"]["text"].as_str())
                .or_else(|| m["interactive"]["button_reply"]["title"].as_str())
                .unwrap_or("")
        };
        let quoted = m["context"]["id"].as_str();
        // Meta's time of the message, in seconds.
        let written_at = m["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<i64>().ok())
            .map(|t| (t * 1000).min(now));
        // The person wrote: free text may reach them for a day.
        if let Ok(phone) = domain::PhoneE164::parse(from) {
            let at = written_at.unwrap_or(now);
            if let Err(e) =
                storage::window::record_inbound(&hooks.db, account_id, phone.as_str(), at).await
            {
                tracing::warn!(account = account_id, "24-hour window not recorded: {e}");
            }
        }
        let inbound = Inbound {
            id: m["id"].as_str(),
            from,
            text: body,
            quoted,
            // A second's grace: Meta's time is in whole seconds.
            written_at: written_at.map(|t| t + 999),
        };
        outcome.push(reply(&hooks, "meta", inbound, now).await);
    }
    if outcome.is_empty() {
        outcome.push("ignored: no statuses or messages".into());
    }
    acknowledge(&hooks, "meta", account_id, &body, &outcome.join("; "), now).await
}
