//! Woowa (NotifAPI): `POST {base}/send_message` or `/send_message_group_id`,
//! JSON with the API key in the body. Answers vary: plain `success`, or JSON
//! with `code`/`results.id_message` (`WOWA…`), or a `status` flag.

use super::{classify_http, classify_reason, clip, id_string, truthy, Account, SendResult, To};
use serde_json::{json, Value};

pub fn request(
    client: &reqwest::Client,
    account: &Account,
    to: To<'_>,
    text: &str,
) -> Result<reqwest::RequestBuilder, String> {
    let key = account
        .credentials
        .key
        .as_deref()
        .ok_or("Woowa account has no key")?;
    let base = account.base()?;
    Ok(match to {
        To::Phone(p) => client
            .post(format!("{base}/send_message"))
            .json(&json!({"phone_no": p.as_str(), "key": key, "message": text, "skip_link": true})),
        To::Group(g) => client
            .post(format!("{base}/send_message_group_id"))
            .json(&json!({"group_id": g, "key": key, "message": text})),
    })
}

pub fn parse(status: u16, body: &str) -> SendResult {
    if let Some(r) = classify_http(status, body) {
        return r;
    }
    let response = clip(body);
    let trimmed = body.trim();
    let Ok(json) = serde_json::from_str::<Value>(trimmed) else {
        // Legacy endpoints answer plain text.
        if trimmed.eq_ignore_ascii_case("success") {
            return SendResult::Accepted {
                message_id: None,
                reference: None,
                response,
            };
        }
        return classify_text(trimmed, response);
    };
    let code_ok = json
        .get("code")
        .and_then(Value::as_i64)
        .is_none_or(|c| c == 200);
    let status_ok = json.get("status").is_none_or(|s| truthy(Some(s)));
    let id = id_string(json.pointer("/results/id_message"))
        .or_else(|| id_string(json.get("id_message")));
    if code_ok
        && status_ok
        && (id.is_some() || json.get("code").is_some() || json.get("status").is_some())
    {
        return SendResult::Accepted {
            message_id: id,
            reference: None,
            response,
        };
    }
    let reason = json
        .get("message")
        .or_else(|| json.pointer("/results/message"))
        .and_then(Value::as_str)
        .unwrap_or(trimmed);
    classify_text(reason, response)
}

fn classify_text(reason: &str, response: String) -> SendResult {
    let class = classify_reason(
        reason,
        &["key", "expired", "quota"],
        &["not registered", "invalid number", "phone"],
    );
    SendResult::failed(class, format!("Woowa: {reason}"), Some(response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::FailureClass;

    #[test]
    fn every_known_success_shape_is_accepted() {
        assert!(matches!(
            parse(200, "success"),
            SendResult::Accepted {
                message_id: None,
                ..
            }
        ));
        assert!(matches!(
            parse(200, r#"{"code":200,"results":{"id_message":"WOWA123"}}"#),
            SendResult::Accepted { message_id: Some(ref id), .. } if id == "WOWA123"
        ));
        assert!(matches!(
            parse(200, r#"{"status":"success","message":{"status":"sent"}}"#),
            SendResult::Accepted { .. }
        ));
    }

    #[test]
    fn failures_are_classified() {
        assert_eq!(
            parse(200, "invalid key").class(),
            Some(FailureClass::Account)
        );
        assert_eq!(
            parse(200, r#"{"code":400,"message":"phone not registered"}"#).class(),
            Some(FailureClass::Recipient)
        );
        assert_eq!(parse(200, "error").class(), Some(FailureClass::Transient));
        assert_eq!(parse(503, "").class(), Some(FailureClass::Transient));
    }
}
