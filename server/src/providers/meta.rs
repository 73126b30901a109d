//! Meta WhatsApp Cloud API: `POST {base}/{version}/{phone_number_id}/messages`
//! with a bearer token. Errors are HTTP 4xx/5xx with an `error.code`; branch on
//! the code, never on the title or the HTTP status.

use super::{clip, id_string, Account, FailureClass, SendResult, To};
use domain::DeliveryStatus;
use serde_json::{json, Value};

pub const DEFAULT_API_VERSION: &str = "v21.0";

pub fn request(
    client: &reqwest::Client,
    account: &Account,
    to: To<'_>,
    text: &str,
) -> Result<reqwest::RequestBuilder, String> {
    let c = &account.credentials;
    let token = c
        .access_token
        .as_deref()
        .ok_or("Meta account has no access_token")?;
    let number_id = c
        .phone_number_id
        .as_deref()
        .ok_or("Meta account has no phone_number_id")?;
    let version = c.api_version.as_deref().unwrap_or(DEFAULT_API_VERSION);
    let to = match to {
        To::Phone(p) => p.digits().to_owned(),
        // Routing passes Meta over for groups (`reaches_gateway_groups`).
        To::Group(_) => return Err("Meta cannot post to a gateway's group chat".into()),
    };
    let body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": false, "body": text},
    });
    Ok(client
        .post(format!(
            "{}/{version}/{number_id}/messages",
            account.base()?
        ))
        .bearer_auth(token)
        .json(&body))
}

/// Meta's error codes, by what the dispatcher should do.
pub fn classify_code(code: i64) -> FailureClass {
    match code {
        4 | 80007 | 130429 | 131056 | 131048 | 131049 => FailureClass::RateLimited,
        // 131047: outside the 24-hour window (a window Meta counts closed
        // though our record says open): another account may still send it.
        0 | 3 | 10 | 190 | 200..=299 | 368 | 131031 | 131042 | 131047 | 133010 => {
            FailureClass::Account
        }
        131026 | 131050 | 131021 | 131051 | 131008 | 131009 | 100 | 132000 | 132001 => {
            FailureClass::Recipient
        }
        _ => FailureClass::Transient, // 1, 2, 131000, 131016 and anything new
    }
}

pub fn parse(status: u16, body: &str) -> SendResult {
    let response = clip(body);
    let json: Option<Value> = serde_json::from_str(body).ok();
    if (200..300).contains(&status) {
        let id = json
            .as_ref()
            .and_then(|j| id_string(j.pointer("/messages/0/id")));
        return match id {
            Some(id) => SendResult::Accepted {
                message_id: Some(id),
                reference: None,
                response,
            },
            None => SendResult::failed(
                FailureClass::Unknown,
                "Meta answered 2xx without a message id",
                Some(response),
            ),
        };
    }
    match json.as_ref().and_then(|j| j.get("error")) {
        Some(err) => {
            let code = err.get("code").and_then(Value::as_i64).unwrap_or(-1);
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            let details = err.pointer("/error_data/details").and_then(Value::as_str);
            let text = match details {
                Some(d) => format!("Meta error {code}: {message} ({d})"),
                None => format!("Meta error {code}: {message}"),
            };
            SendResult::failed(classify_code(code), text, Some(response))
        }
        None => super::classify_http(status, body).unwrap_or_else(|| {
            SendResult::failed(
                FailureClass::Transient,
                format!("HTTP {status}"),
                Some(response),
            )
        }),
    }
}

/// What a status word in a Meta status callback means for the delivery
/// (`None`: nothing new).
pub fn callback_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" | "played" => Some(DeliveryStatus::Read),
        "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_message_returns_its_wamid() {
        let body = r#"{"messaging_product":"whatsapp","contacts":[{"input":"6281234567890","wa_id":"6281234567890"}],"messages":[{"id":"wamid.HBgN123","message_status":"accepted"}]}"#;
        assert!(
            matches!(parse(200, body), SendResult::Accepted { message_id: Some(ref id), .. } if id == "wamid.HBgN123")
        );
    }

    #[test]
    fn errors_are_classified_by_code_not_http_status() {
        let err = |http: u16, code: i64| {
            let body = format!(
                r#"{{"error":{{"message":"x","type":"OAuthException","code":{code},"error_data":{{"messaging_product":"whatsapp","details":"d"}},"fbtrace_id":"A"}}}}"#
            );
            match parse(http, &body) {
                SendResult::Failed { class, error, .. } => {
                    assert!(error.contains(&code.to_string()));
                    class
                }
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(err(400, 130429), FailureClass::RateLimited);
        assert_eq!(err(429, 130429), FailureClass::RateLimited);
        assert_eq!(err(400, 131056), FailureClass::RateLimited);
        assert_eq!(err(401, 190), FailureClass::Account);
        assert_eq!(err(400, 131026), FailureClass::Recipient);
        assert_eq!(err(400, 100), FailureClass::Recipient);
        assert_eq!(err(500, 131000), FailureClass::Transient);
        assert_eq!(err(503, 1), FailureClass::Transient);
        assert_eq!(parse(502, "<html>").class(), Some(FailureClass::Transient));
    }
}
