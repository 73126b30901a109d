//! Provider accounts behind one interface: the WhatsApp gateways here, email
//! (`email`), SMS (`sms`), voice (`voice`) and web push (`webpush`) beside them.
//!
//! Each provider module builds its real HTTP request and classifies its real
//! response (see ../shared/whatsapp-providers.md); `send` only wires the two to
//! reqwest. Classification drives the dispatcher:
//!
//! | class | meaning | dispatcher |
//! |---|---|---|
//! | `Recipient` | this number/group can never receive it | failed |
//! | `Account` | this account cannot send (token, quota, device offline) | next account |
//! | `Transient` | server trouble (5xx, unreachable) | next account, then back off |
//! | `RateLimited` | the provider says slow down | next account, then back off |
//! | `Unknown` | timed out after sending: it may have gone out | back off, no failover |

pub mod accounts;
pub mod email;
pub mod fonnte;
pub mod meta;
pub mod meta_sync;
pub mod ratelimit;
pub mod sms;
pub mod voice;
pub mod wablas;
pub mod webpush;
pub mod woowa;

use domain::PhoneE164;
use std::time::Duration;

pub use accounts::{Account, AccountCache, ProviderKind};

/// Where a message goes.
#[derive(Debug, Clone, Copy)]
pub enum To<'a> {
    Phone(&'a PhoneE164),
    /// A provider's group chat id.
    Group(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    Recipient,
    Account,
    Transient,
    RateLimited,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    Accepted {
        message_id: Option<String>,
        /// A second reference some providers report statuses under.
        reference: Option<String>,
        response: String,
    },
    Failed {
        class: FailureClass,
        error: String,
        response: Option<String>,
        /// How long the provider asked us to wait (`Retry-After` of a
        /// rate-limited answer).
        retry_after: Option<Duration>,
        /// The provider's own error code, where its answer has one (Meta's
        /// `error.code`), so a caller acts on it without reading `error`.
        code: Option<String>,
    },
}

impl SendResult {
    /// The failure class, if this is a failure.
    pub fn class(&self) -> Option<FailureClass> {
        match self {
            SendResult::Failed { class, .. } => Some(*class),
            SendResult::Accepted { .. } => None,
        }
    }

    pub fn failed(class: FailureClass, error: impl Into<String>, response: Option<String>) -> Self {
        SendResult::Failed {
            class,
            error: error.into(),
            response,
            retry_after: None,
            code: None,
        }
    }

    /// The same failure carrying the provider's error `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        if let SendResult::Failed { code: c, .. } = &mut self {
            *c = Some(code.into());
        }
        self
    }

    /// The provider's error code, if this is a failure that carries one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SendResult::Failed { code, .. } => code.as_deref(),
            SendResult::Accepted { .. } => None,
        }
    }
}

/// A provider's answer to one send: its verdict, and the HTTP status it
/// came with (none when it never answered, or spoke no HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub result: SendResult,
    pub http_status: Option<u16>,
}

impl From<SendResult> for Answer {
    fn from(result: SendResult) -> Self {
        Answer {
            result,
            http_status: None,
        }
    }
}

/// A request a provider wants sent.
pub struct HttpCall {
    pub request: reqwest::RequestBuilder,
}

/// How every call to a provider is made: no redirects (a redirect is an
/// answer to classify, not an address to call with the account's
/// credentials) and five seconds to connect.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
}

/// A client for calls to providers outside a send (Meta's template list).
pub fn http_client() -> reqwest::Client {
    client_builder().build().expect("HTTP client")
}

/// Provider responses are kept in the delivery log; a runaway body is cut.
pub fn clip(body: &str) -> String {
    clip_to(body, 2000)
}

/// `body`'s first `max` bytes (on a character boundary), marked when cut.
pub fn clip_to(body: &str, max: usize) -> String {
    if body.len() <= max {
        return body.to_owned();
    }
    let mut end = max;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

/// Sends one message through one account.
pub async fn send(client: &reqwest::Client, account: &Account, to: To<'_>, text: &str) -> Answer {
    let request = match account.kind {
        ProviderKind::Sandbox => {
            return SendResult::Accepted {
                message_id: Some(format!("sandbox-{}", next_sandbox_id())),
                reference: None,
                response: format!(
                    "sandbox: would send to {}: {} characters",
                    match to {
                        To::Phone(p) => p.as_str().to_owned(),
                        To::Group(g) => g.to_owned(),
                    },
                    text.chars().count()
                ),
            }
            .into();
        }
        ProviderKind::Fonnte => fonnte::request(client, account, to, text),
        ProviderKind::Wablas => wablas::request(client, account, to, text),
        ProviderKind::Woowa => woowa::request(client, account, to, text),
        ProviderKind::Meta => meta::request(client, account, to, text),
        ProviderKind::Smtp
        | ProviderKind::Zenziva
        | ProviderKind::Twilio
        | ProviderKind::TwilioVoice
        | ProviderKind::WebPush => {
            return SendResult::failed(
                FailureClass::Account,
                format!("a {} account does not send WhatsApp", account.kind.as_str()),
                None,
            )
            .into()
        }
    };
    exchange(request, account, |status, body| match account.kind {
        ProviderKind::Fonnte => fonnte::parse(status, body),
        ProviderKind::Wablas => wablas::parse(status, body),
        ProviderKind::Woowa => woowa::parse(status, body),
        ProviderKind::Meta => meta::parse(status, body),
        ProviderKind::Sandbox
        | ProviderKind::Smtp
        | ProviderKind::Zenziva
        | ProviderKind::Twilio
        | ProviderKind::TwilioVoice
        | ProviderKind::WebPush => unreachable!("answered above"),
    })
    .await
}

/// Sends a provider's request within the account's timeout and `parse`s the
/// answer (its HTTP status and body), or gives the failure as the
/// dispatcher classifies it (a request that could not be built is the
/// account's). A rate-limited answer keeps the wait its `Retry-After` asks.
pub(crate) async fn exchange(
    request: Result<reqwest::RequestBuilder, String>,
    account: &Account,
    parse: impl FnOnce(u16, &str) -> SendResult,
) -> Answer {
    let timeout = Duration::from_millis(account.timeout_ms.max(1) as u64);
    let request = match request {
        Ok(r) => r.timeout(timeout),
        Err(e) => return SendResult::failed(FailureClass::Account, e, None).into(),
    };
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return classify_transport_error(&e).into(),
    };
    let status = response.status().as_u16();
    let wait = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, chrono::Utc::now()));
    let http_status = Some(status);
    let body = match read_bounded(response, MAX_ANSWER).await {
        Ok(b) => b,
        Err(e) => {
            return Answer {
                result: classify_transport_error(&e),
                http_status,
            }
        }
    };
    let mut result = parse(status, &body);
    if let SendResult::Failed {
        class: FailureClass::RateLimited,
        retry_after,
        ..
    } = &mut result
    {
        *retry_after = wait;
    }
    Answer {
        result,
        http_status,
    }
}

/// How much of a provider's answer is read: a verdict fits in far less, and
/// a runaway or hostile body must not fill memory or hold the send until
/// its timeout.
const MAX_ANSWER: usize = 64 * 1024;

/// The first `max` bytes of `response`'s body, as text (the rest is never
/// read; the connection is dropped with it).
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = max - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= max {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// A `Retry-After` header's wait: seconds, or an HTTP date (RFC 9110
/// §10.2.3) counted from `now`; a date already past waits nothing.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let ms = (at.with_timezone(&chrono::Utc) - now).num_milliseconds();
    Some(Duration::from_millis(ms.max(0) as u64))
}

fn classify_transport_error(e: &reqwest::Error) -> SendResult {
    if e.is_connect() {
        // Never reached the provider: safe to try elsewhere.
        SendResult::failed(
            FailureClass::Transient,
            format!("cannot connect: {e}"),
            None,
        )
    } else if e.is_timeout() {
        SendResult::failed(
            FailureClass::Unknown,
            "timed out waiting for the provider; it may have sent the message",
            None,
        )
    } else {
        SendResult::failed(FailureClass::Unknown, format!("transport error: {e}"), None)
    }
}

/// Classifies a gateway's failure text by the words in it: the account's
/// problems first, then the recipient's; anything else is transient.
pub fn classify_reason(reason: &str, account: &[&str], recipient: &[&str]) -> FailureClass {
    let lower = reason.to_lowercase();
    if account.iter().any(|w| lower.contains(w)) {
        FailureClass::Account
    } else if recipient.iter().any(|w| lower.contains(w)) {
        FailureClass::Recipient
    } else {
        FailureClass::Transient
    }
}

/// Shared classification of HTTP statuses that carry no provider verdict.
pub fn classify_http(status: u16, body: &str) -> Option<SendResult> {
    let response = Some(clip(body));
    match status {
        200..=299 => None,
        429 => Some(SendResult::failed(
            FailureClass::RateLimited,
            "HTTP 429 from provider",
            response,
        )),
        401 | 403 => Some(SendResult::failed(
            FailureClass::Account,
            format!("HTTP {status}: credentials refused"),
            response,
        )),
        500..=599 => Some(SendResult::failed(
            FailureClass::Transient,
            format!("HTTP {status} from provider"),
            response,
        )),
        _ => Some(SendResult::failed(
            FailureClass::Account,
            format!("HTTP {status} from provider"),
            response,
        )),
    }
}

fn next_sandbox_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{t:x}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A JSON value's truthiness the lenient way gateways need: `true`, `"true"`,
/// `1`, `"1"`.
pub fn truthy(v: Option<&serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => {
            matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "success")
        }
        Some(serde_json::Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// A JSON id that may be a number or a string.
pub fn id_string(v: Option<&serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(retry_after("60", now), Some(Duration::from_secs(60)));
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 10:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn http_statuses_without_a_verdict_are_classified() {
        assert_eq!(classify_http(200, ""), None);
        assert!(matches!(
            classify_http(429, ""),
            Some(SendResult::Failed {
                class: FailureClass::RateLimited,
                ..
            })
        ));
        assert!(matches!(
            classify_http(503, ""),
            Some(SendResult::Failed {
                class: FailureClass::Transient,
                ..
            })
        ));
        assert!(matches!(
            classify_http(401, ""),
            Some(SendResult::Failed {
                class: FailureClass::Account,
                ..
            })
        ));
    }

    #[test]
    fn long_responses_are_clipped_on_a_character_boundary() {
        let s = "é".repeat(1500);
        let c = clip(&s);
        assert!(c.len() <= 2000 + '…'.len_utf8());
        assert!(c.ends_with('…'));
    }

    #[test]
    fn truthiness_is_lenient() {
        use serde_json::json;
        assert!(
            truthy(Some(&json!(true))) && truthy(Some(&json!("true"))) && truthy(Some(&json!(1)))
        );
        assert!(!truthy(Some(&json!(false))) && !truthy(None) && !truthy(Some(&json!("false"))));
        assert_eq!(id_string(Some(&json!(142223099))), Some("142223099".into()));
        assert_eq!(id_string(Some(&json!("abc"))), Some("abc".into()));
    }
}
