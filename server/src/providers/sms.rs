//! SMS gateways: Zenziva (Indonesian) and Twilio (international), with the
//! same classification as the WhatsApp gateways (see `providers`).
//!
//! - **Zenziva** (console API): `POST {base}/sendsms/`, a form with `userkey`,
//!   `passkey`, `to` and `message`; base `https://console.zenziva.net/reguler/api`
//!   (`…/masking/api` for a masking sender). Answers JSON
//!   `{"messageId","to","status":"1","text":"Success"}`; `status` other than
//!   `"1"` is a refusal whose `text` says why. No delivery reports.
//! - **Twilio** Programmable Messaging: `POST
//!   {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth
//!   (AccountSid, AuthToken), a form with `To`, `From` (or
//!   `MessagingServiceSid`), `Body` and `StatusCallback`. Answers 201 with the
//!   message resource (`sid`, `status`); errors are `{"code","message","status"}`
//!   with Twilio's error codes. Status callbacks are signed
//!   (`webhooks::twilio`).

use super::{classify_http, classify_reason, clip, id_string, Account, ProviderKind, SendResult};
use super::{FailureClass, To};
use domain::DeliveryStatus;
use domain::PhoneE164;
use serde_json::Value;

/// Sends one SMS through one account. `callback` is where Twilio should
/// report the message's status (`None`: no status reports).
pub async fn send(
    client: &reqwest::Client,
    account: &Account,
    to: &PhoneE164,
    text: &str,
    callback: Option<&str>,
) -> super::Answer {
    let request = match account.kind {
        // The sandbox answers for every channel.
        ProviderKind::Sandbox => return super::send(client, account, To::Phone(to), text).await,
        ProviderKind::Zenziva => zenziva_request(client, account, to, text),
        ProviderKind::Twilio => twilio_request(client, account, to, text, callback),
        other => {
            return SendResult::failed(
                FailureClass::Account,
                format!("a {} account does not send SMS", other.as_str()),
                None,
            )
            .into()
        }
    };
    super::exchange(request, account, |status, body| match account.kind {
        ProviderKind::Zenziva => zenziva_parse(status, body),
        _ => twilio_parse(status, body),
    })
    .await
}

fn zenziva_request(
    client: &reqwest::Client,
    account: &Account,
    to: &PhoneE164,
    text: &str,
) -> Result<reqwest::RequestBuilder, String> {
    let c = &account.credentials;
    let userkey = c
        .userkey
        .as_deref()
        .ok_or("Zenziva account has no userkey")?;
    let passkey = c
        .passkey
        .as_deref()
        .ok_or("Zenziva account has no passkey")?;
    let base = account.base()?;
    // Zenziva takes the number without "+" (62812…).
    let number = to.as_str().trim_start_matches('+');
    Ok(client.post(format!("{base}/sendsms/")).form(&[
        ("userkey", userkey),
        ("passkey", passkey),
        ("to", number),
        ("message", text),
    ]))
}

pub fn zenziva_parse(status: u16, body: &str) -> SendResult {
    if let Some(r) = classify_http(status, body) {
        return r;
    }
    let response = clip(body);
    let Ok(json) = serde_json::from_str::<Value>(body.trim()) else {
        return SendResult::failed(
            FailureClass::Transient,
            "Zenziva: the answer is not JSON",
            Some(response),
        );
    };
    let text = json
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    if id_string(json.get("status")).as_deref() == Some("1") {
        return SendResult::Accepted {
            message_id: id_string(json.get("messageId")),
            reference: None,
            response,
        };
    }
    let class = classify_reason(
        text,
        // Wrong keys, no balance, expired or suspended account (Indonesian
        // and English wordings).
        &[
            "userkey",
            "passkey",
            "saldo",
            "balance",
            "expired",
            "kadaluarsa",
            "aktif",
            "active",
        ],
        &["nomor", "number", "tujuan", "destination"],
    );
    SendResult::failed(class, format!("Zenziva: {text}"), Some(response))
}

fn twilio_request(
    client: &reqwest::Client,
    account: &Account,
    to: &PhoneE164,
    text: &str,
    callback: Option<&str>,
) -> Result<reqwest::RequestBuilder, String> {
    let c = &account.credentials;
    let (sid, token, base) = twilio_auth(account)?;
    let mut form = vec![("To", to.as_str()), ("Body", text)];
    match (c.messaging_service_sid.as_deref(), c.from.as_deref()) {
        (Some(service), _) => form.push(("MessagingServiceSid", service)),
        (None, Some(from)) => form.push(("From", from)),
        (None, None) => return Err("Twilio account needs from or messaging_service_sid".into()),
    }
    if let Some(url) = callback {
        form.push(("StatusCallback", url));
    }
    Ok(client
        .post(format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"))
        .basic_auth(sid, Some(token))
        .form(&form))
}

/// A Twilio account's API address and Basic-auth pair (AccountSid, AuthToken),
/// shared by messages and calls.
pub(super) fn twilio_auth(account: &Account) -> Result<(&str, &str, String), String> {
    let c = &account.credentials;
    let sid = c
        .account_sid
        .as_deref()
        .ok_or("Twilio account has no account_sid")?;
    let token = c
        .auth_token
        .as_deref()
        .ok_or("Twilio account has no auth_token")?;
    Ok((sid, token, account.base()?))
}

/// Twilio error codes that say this number can never get the message.
const TWILIO_RECIPIENT: &[i64] = &[
    21211, // invalid 'To' number
    21214, // 'To' number cannot be reached
    21610, // the recipient replied STOP
    21612, // 'To' not reachable from this 'From'
    21614, // 'To' is not a mobile number
];

/// Error codes that are the account's problem (credentials, sender, country
/// permission, trial limits, suspended).
const TWILIO_ACCOUNT: &[i64] = &[20003, 20404, 21408, 21606, 21608, 21659, 30002];

pub fn twilio_parse(status: u16, body: &str) -> SendResult {
    let response = clip(body);
    let json: Value = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return match json.get("sid").and_then(Value::as_str) {
            Some(sid) => SendResult::Accepted {
                message_id: Some(sid.to_owned()),
                reference: None,
                response,
            },
            None => SendResult::failed(
                FailureClass::Unknown,
                "Twilio answered without a message sid",
                Some(response),
            ),
        };
    }
    let code = json.get("code").and_then(Value::as_i64);
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    let class = match code {
        Some(c) if TWILIO_RECIPIENT.contains(&c) => FailureClass::Recipient,
        Some(c) if TWILIO_ACCOUNT.contains(&c) => FailureClass::Account,
        Some(20429) => FailureClass::RateLimited,
        _ => match classify_http(status, body) {
            Some(r) => return r,
            None => FailureClass::Transient,
        },
    };
    let error = match code {
        Some(c) => format!("Twilio {c}: {message}"),
        None => format!("Twilio HTTP {status}: {message}"),
    };
    SendResult::failed(class, error, Some(response))
}

/// What a status word in a Twilio (SMS) status callback means for the delivery
/// (`None`: nothing new).
pub fn twilio_callback_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "undelivered" | "failed" | "canceled" => Some(DeliveryStatus::Failed),
        _ => None, // accepted, scheduled, queued, sending: nothing new
    }
}

/// Twilio's `X-Twilio-Signature` for a callback to `url` with form
/// `params`: base64 of HMAC-SHA1 (the auth token as key) over the URL and
/// every parameter's name and value, sorted.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
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

/// A form parameter of a Twilio callback.
pub fn twilio_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A Twilio message status callback: (MessageSid, what its status means,
/// "Twilio STATUS: error CODE" or "Twilio STATUS" for a failure); `None`
/// without a sid or status.
pub fn twilio_status_callback(
    params: &[(String, String)],
) -> Option<(&str, Option<DeliveryStatus>, Option<String>)> {
    let sid = twilio_param(params, "MessageSid")?;
    let status = twilio_param(params, "MessageStatus")?;
    let error = twilio_param(params, "ErrorCode")
        .filter(|c| !c.is_empty())
        .map(|c| format!("Twilio {status}: error {c}"))
        .or_else(|| matches!(status, "undelivered" | "failed").then(|| format!("Twilio {status}")));
    Some((sid, twilio_callback_status(status), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn twilio_signatures_match_twilios_published_example() {
        // The worked example of Twilio's "Webhooks security" page.
        let params = form(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
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
    fn twilio_status_callbacks_carry_the_error_code() {
        let p = form(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]);
        assert_eq!(
            twilio_status_callback(&p),
            Some((
                "SM1",
                twilio_callback_status("undelivered"),
                Some("Twilio undelivered: error 30003".into())
            ))
        );
        let p = form(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "failed"),
            ("ErrorCode", ""),
        ]);
        assert_eq!(
            twilio_status_callback(&p).unwrap().2.as_deref(),
            Some("Twilio failed")
        );
        let p = form(&[("MessageSid", "SM3"), ("MessageStatus", "delivered")]);
        assert_eq!(twilio_status_callback(&p).unwrap().2, None);
        assert_eq!(
            twilio_status_callback(&form(&[("MessageStatus", "sent")])),
            None
        );
    }

    #[test]
    fn zenziva_answers_are_read() {
        let ok = zenziva_parse(
            200,
            r#"{"messageId":"8c7d1e","to":"6281234567890","status":"1","text":"Success"}"#,
        );
        assert!(
            matches!(ok, SendResult::Accepted { message_id: Some(ref id), .. } if id == "8c7d1e")
        );
        let keys = zenziva_parse(200, r#"{"status":"0","text":"Userkey / Passkey Salah"}"#);
        assert_eq!(keys.class(), Some(FailureClass::Account));
        let balance = zenziva_parse(200, r#"{"status":"0","text":"Saldo tidak mencukupi"}"#);
        assert_eq!(balance.class(), Some(FailureClass::Account));
        let number = zenziva_parse(200, r#"{"status":"0","text":"Nomor tujuan tidak valid"}"#);
        assert_eq!(number.class(), Some(FailureClass::Recipient));
        assert_eq!(
            zenziva_parse(200, "<html>maintenance</html>").class(),
            Some(FailureClass::Transient)
        );
        assert_eq!(
            zenziva_parse(502, "").class(),
            Some(FailureClass::Transient)
        );
    }

    #[test]
    fn twilio_answers_are_read() {
        let ok = twilio_parse(
            201,
            r#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","num_segments":"1"}"#,
        );
        assert!(
            matches!(ok, SendResult::Accepted { message_id: Some(ref id), .. } if id.starts_with("SM"))
        );
        let invalid = twilio_parse(
            400,
            r#"{"code":21211,"message":"Invalid 'To' Phone Number","status":400}"#,
        );
        assert_eq!(invalid.class(), Some(FailureClass::Recipient));
        assert!(matches!(invalid, SendResult::Failed { ref error, .. } if error.contains("21211")));
        let auth = twilio_parse(
            401,
            r#"{"code":20003,"message":"Authenticate","status":401}"#,
        );
        assert_eq!(auth.class(), Some(FailureClass::Account));
        let busy = twilio_parse(
            429,
            r#"{"code":20429,"message":"Too Many Requests","status":429}"#,
        );
        assert_eq!(busy.class(), Some(FailureClass::RateLimited));
        assert_eq!(twilio_parse(503, "").class(), Some(FailureClass::Transient));
        assert_eq!(
            twilio_parse(201, "{}").class(),
            Some(FailureClass::Unknown),
            "accepted without a sid: it may have gone out"
        );
    }
}
