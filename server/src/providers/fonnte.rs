//! Fonnte: `POST {base}/send`, form fields, `Authorization: <device token>`.
//! Answers HTTP 200 even on failure; the `status` flag is the verdict.

use super::{
    classify_http, classify_reason, clip, id_string, truthy, Account, FailureClass, SendResult, To,
};
use domain::DeliveryStatus;
use serde_json::Value;

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
        .ok_or("Fonnte account has no token")?;
    let target = match to {
        To::Phone(p) => p.digits().to_owned(),
        To::Group(g) => g.to_owned(),
    };
    let form = [
        ("target", target.as_str()),
        ("message", text),
        ("countryCode", "62"),
    ];
    Ok(client
        .post(format!("{}/send", account.base()?))
        .header("Authorization", token)
        .form(&form))
}

/// Reasons Fonnte gives that no retry through this account will fix.
const ACCOUNT_REASONS: &[&str] = &[
    "token invalid",
    "invalid token",
    "devices must belong to an account",
    "insufficient quota",
    "disconnected device",
];

/// Reasons that no account will fix: the target or the request itself.
const RECIPIENT_REASONS: &[&str] = &["target invalid", "input invalid", "json format invalid"];

pub fn parse(status: u16, body: &str) -> SendResult {
    if let Some(r) = classify_http(status, body) {
        return r;
    }
    let response = clip(body);
    let json: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            return SendResult::failed(
                FailureClass::Transient,
                "Fonnte answered with something that is not JSON",
                Some(response),
            )
        }
    };
    // A documented example spells it `Status`.
    let flag = json.get("status").or_else(|| json.get("Status"));
    if truthy(flag) {
        let message_id = json.get("id").and_then(|ids| match ids {
            Value::Array(a) => id_string(a.first()),
            other => id_string(Some(other)),
        });
        return SendResult::Accepted {
            message_id,
            reference: None,
            response,
        };
    }
    let reason = json
        .get("reason")
        .or_else(|| json.get("detail"))
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_owned();
    let class = classify_reason(&reason, ACCOUNT_REASONS, RECIPIENT_REASONS);
    SendResult::failed(class, format!("Fonnte: {reason}"), Some(response))
}

/// What a status word in a Fonnte status callback means for the delivery
/// (`None`: nothing new).
pub fn callback_status(s: &str) -> Option<DeliveryStatus> {
    match s.to_ascii_lowercase().as_str() {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "invalid" | "expired" | "url unreachable" | "failed" => Some(DeliveryStatus::Failed),
        _ => None, // pending, waiting, processing: nothing new
    }
}

/// A Fonnte status callback: the message id it returned at send time
/// and/or its `stateid`, with what each says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    pub id: Option<String>,
    /// Fonnte's `stateid`: later callbacks may name the message by it alone.
    pub state_id: Option<String>,
    /// The `status` word's meaning.
    pub status: Option<DeliveryStatus>,
    /// The `state` word's meaning (sent, delivered, read).
    pub state: Option<DeliveryStatus>,
    /// "Fonnte status: WORD" when `status` says it failed.
    pub error: Option<String>,
}

/// Reads a Fonnte status callback's body.
pub fn status_callback(v: &Value) -> StatusCallback {
    let word = |k: &str| v.get(k).and_then(Value::as_str);
    let status = word("status").and_then(callback_status);
    StatusCallback {
        id: id_string(v.get("id")),
        state_id: id_string(v.get("stateid")),
        status,
        state: word("state").and_then(callback_status),
        error: (status == Some(DeliveryStatus::Failed))
            .then(|| format!("Fonnte status: {}", word("status").unwrap_or(""))),
    }
}

/// A message someone wrote to a Fonnte number: (its id, who wrote — the
/// member in a group, else the sender —, the text).
pub fn inbound(v: &Value) -> (Option<String>, String, String) {
    let from = id_string(v.get("member"))
        .filter(|m| !m.is_empty())
        .or_else(|| id_string(v.get("sender")))
        .unwrap_or_default();
    let id = id_string(v.get("inboxid")).or_else(|| id_string(v.get("id")));
    (id, from, id_string(v.get("message")).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_callbacks_name_the_message_by_id_or_stateid() {
        let cb = status_callback(&serde_json::json!({
            "device": "6281", "id": "8891", "stateid": "st-1", "status": "sent", "state": "delivered"
        }));
        assert_eq!(
            cb,
            StatusCallback {
                id: Some("8891".into()),
                state_id: Some("st-1".into()),
                status: Some(DeliveryStatus::Sent),
                state: Some(DeliveryStatus::Delivered),
                error: None,
            }
        );
        let failed = status_callback(&serde_json::json!({"id": 8892, "status": "invalid"}));
        assert_eq!(failed.id.as_deref(), Some("8892"), "numeric ids too");
        assert_eq!(failed.error.as_deref(), Some("Fonnte status: invalid"));
        let by_state = status_callback(&serde_json::json!({"stateid": "st-2", "state": "read"}));
        assert_eq!(
            (by_state.id, by_state.state),
            (None, Some(DeliveryStatus::Read))
        );
    }

    #[test]
    fn an_inbound_message_in_a_group_is_the_members() {
        let v = serde_json::json!({"sender": "120363@g.us", "member": "6281200000005", "message": "OK", "inboxid": 77});
        assert_eq!(
            inbound(&v),
            (Some("77".into()), "6281200000005".into(), "OK".into())
        );
        let direct = serde_json::json!({"sender": "6281200000006", "member": "", "message": "siap", "id": "m1"});
        assert_eq!(
            inbound(&direct),
            (Some("m1".into()), "6281200000006".into(), "siap".into())
        );
    }

    #[test]
    fn a_queued_message_is_accepted_with_its_numeric_id() {
        let body = r#"{"status":true,"detail":"success! message in queue","id":[142223099],"process":"pending","requestid":369052479,"target":["6285885529352"]}"#;
        match parse(200, body) {
            SendResult::Accepted { message_id, .. } => {
                assert_eq!(message_id.as_deref(), Some("142223099"))
            }
            other => panic!("{other:?}"),
        }
        // String ids, as in the docs' examples.
        assert!(
            matches!(parse(200, r#"{"status":true,"id":["77"]}"#), SendResult::Accepted { message_id: Some(ref id), .. } if id == "77")
        );
    }

    #[test]
    fn failures_in_a_200_body_are_classified_by_reason() {
        let cases = [
            ("token invalid", FailureClass::Account),
            ("invalid token", FailureClass::Account),
            (
                "request invalid on disconnected device",
                FailureClass::Account,
            ),
            ("insufficient quota", FailureClass::Account),
            ("target invalid", FailureClass::Recipient),
            ("something new", FailureClass::Transient),
        ];
        for (reason, class) in cases {
            let body = format!(r#"{{"status":false,"reason":"{reason}","requestid":2937124}}"#);
            match parse(200, &body) {
                SendResult::Failed {
                    class: c, error, ..
                } => {
                    assert_eq!(c, class, "{reason}");
                    assert!(error.contains(reason));
                }
                other => panic!("{reason}: {other:?}"),
            }
        }
        assert_eq!(
            parse(200, r#"{"Status":false,"reason":"target invalid"}"#).class(),
            Some(FailureClass::Recipient)
        );
        assert_eq!(
            parse(200, "<html>oops</html>").class(),
            Some(FailureClass::Transient)
        );
        assert!(
            matches!(parse(200, "{}"), SendResult::Failed { .. }),
            "no truthy status is a failure"
        );
    }
}
