//! Wablas: `POST {base}/api/v2/send-message` with `{"data":[…]}` JSON and
//! `Authorization: <token>.<secret>` (or the bare token on older accounts).
//! The base URL is the customer's own server, e.g. `https://solo.wablas.com`.

use super::{
    classify_http, classify_reason, clip, id_string, truthy, Account, FailureClass, SendResult, To,
};
use domain::DeliveryStatus;
use serde_json::{json, Value};

pub fn request(
    client: &reqwest::Client,
    account: &Account,
    to: To<'_>,
    text: &str,
) -> Result<reqwest::RequestBuilder, String> {
    let token = account
        .credentials
        .token
        .as_deref()
        .ok_or("Wablas account has no token")?;
    let auth = match account.credentials.secret.as_deref() {
        Some(secret) if !secret.is_empty() => format!("{token}.{secret}"),
        _ => token.to_owned(),
    };
    let item = match to {
        To::Phone(p) => json!({"phone": p.digits(), "message": text}),
        // Wablas insists on the string "true".
        To::Group(g) => json!({"phone": g, "message": text, "isGroup": "true"}),
    };
    Ok(client
        .post(format!("{}/api/v2/send-message", account.base()?))
        .header("Authorization", auth)
        .json(&json!({ "data": [item] })))
}

pub fn parse(status: u16, body: &str) -> SendResult {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if status == 200 && json.as_ref().is_some_and(|j| truthy(j.get("status"))) {
        let j = json.expect("checked");
        let first = j.pointer("/data/messages/0");
        let message_id = id_string(first.and_then(|m| m.get("id")));
        // A message the gateway already rejected comes back inside a "success".
        let item_status = first
            .and_then(|m| m.get("status"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if matches!(item_status, "cancel" | "reject" | "failed") {
            return SendResult::failed(
                FailureClass::Recipient,
                format!("Wablas: message {item_status}"),
                Some(clip(body)),
            );
        }
        return SendResult::Accepted {
            message_id,
            reference: None,
            response: clip(body),
        };
    }
    if let Some(r) = classify_http(status, body) {
        return r;
    }
    let class = classify_reason(
        &message,
        &["token", "secret", "quota", "device"],
        &["phone", "number", "not registered"],
    );
    let reason = if message.is_empty() {
        "no reason given"
    } else {
        &message
    };
    SendResult::failed(class, format!("Wablas: {reason}"), Some(clip(body)))
}

/// What a status word in a Wablas status callback means for the delivery
/// (`None`: nothing new).
pub fn callback_status(s: &str) -> Option<DeliveryStatus> {
    match s.to_ascii_lowercase().as_str() {
        "sent" => Some(DeliveryStatus::Sent),
        // Wablas's own list has "received" and no "delivered".
        "delivered" | "received" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "cancel" | "reject" | "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

/// A Wablas status callback: (message id, what its status means, "Wablas
/// status: WORD" when it failed); `None` without an id.
pub fn status_callback(v: &Value) -> Option<(String, Option<DeliveryStatus>, Option<String>)> {
    let id = id_string(v.get("id"))?;
    let raw = v.get("status").and_then(Value::as_str).unwrap_or("");
    let status = callback_status(raw);
    let error = (status == Some(DeliveryStatus::Failed)).then(|| format!("Wablas status: {raw}"));
    Some((id, status, error))
}

/// A message someone wrote to a Wablas number: (its id, who wrote — the
/// sender in a group, else the phone —, the text); `None` for the number's
/// own messages, which Wablas reports too.
pub fn inbound(v: &Value) -> Option<(Option<String>, String, String)> {
    // Form posts say "true"; JSON bodies may say true.
    let flag = |k: &str| truthy(v.get(k));
    if flag("isFromMe") {
        return None;
    }
    let from = if flag("isGroup") {
        id_string(v.get("sender"))
    } else {
        id_string(v.get("phone"))
    }
    .unwrap_or_default();
    Some((
        id_string(v.get("id")),
        from,
        id_string(v.get("message")).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_are_read_and_our_own_messages_skipped() {
        assert_eq!(
            status_callback(&serde_json::json!({"id": "w-1", "status": "read"})),
            Some(("w-1".into(), Some(DeliveryStatus::Read), None))
        );
        assert_eq!(
            status_callback(&serde_json::json!({"id": "w-2", "status": "reject"})),
            Some((
                "w-2".into(),
                Some(DeliveryStatus::Failed),
                Some("Wablas status: reject".into())
            ))
        );
        assert_eq!(
            status_callback(&serde_json::json!({"status": "sent"})),
            None
        );
        assert_eq!(
            inbound(
                &serde_json::json!({"id": "in-1", "phone": "6281200000005", "message": "OK", "isGroup": false})
            ),
            Some((Some("in-1".into()), "6281200000005".into(), "OK".into()))
        );
        assert_eq!(
            inbound(&serde_json::json!({"phone": "120363", "sender": "6281200000006", "message": "siap", "isGroup": "true"}))
                .map(|m| m.1),
            Some("6281200000006".into())
        );
        assert_eq!(
            inbound(&serde_json::json!({"message": "x", "isFromMe": true})),
            None
        );
        assert_eq!(
            inbound(&serde_json::json!({"message": "x", "isFromMe": "true"})),
            None
        );
    }

    #[test]
    fn a_pending_message_is_accepted_with_its_uuid() {
        let body = r#"{"status":true,"message":"Message is pending and waiting to be processed","data":{"device_id":"OMM1F9","quota":999,"messages":[{"id":"f5b3cb53-b926-472d-9cb3-594b7f535f7b","phone":6281335614467,"message":"x","status":"pending","ref_id":""}]}}"#;
        assert!(
            matches!(parse(200, body), SendResult::Accepted { message_id: Some(ref id), .. } if id == "f5b3cb53-b926-472d-9cb3-594b7f535f7b")
        );
    }

    #[test]
    fn failures_are_classified() {
        assert_eq!(
            parse(200, r#"{"status":false,"message":"token invalid"}"#).class(),
            Some(FailureClass::Account)
        );
        assert_eq!(
            parse(
                200,
                r#"{"status":false,"message":"phone number not registered"}"#
            )
            .class(),
            Some(FailureClass::Recipient)
        );
        assert_eq!(
            parse(502, "Bad Gateway").class(),
            Some(FailureClass::Transient)
        );
        assert_eq!(
            parse(500, r#"{"status":false,"message":"token invalid"}"#).class(),
            Some(FailureClass::Transient)
        );
        let rejected = r#"{"status":true,"data":{"messages":[{"id":"a","status":"reject"}]}}"#;
        assert_eq!(parse(200, rejected).class(), Some(FailureClass::Recipient));
    }
}
