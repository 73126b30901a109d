//! Web push (RFC 8030) to each of a person's browsers: the payload encrypted
//! to the browser's keys (RFC 8291, `aes128gcm`, by web-push-native), the
//! request signed with this server's VAPID key (RFC 8292). One delivery goes
//! to every device the person subscribed; the service worker's notification
//! tag is the delivery, so a retry replaces rather than repeats it.
//!
//! Push services answer 201 Created; 404 and 410 mean the subscription is
//! gone (the browser unsubscribed, the app was uninstalled) and its row is
//! deleted; 429 and 5xx are worth a retry; 400, 403 (a VAPID key the
//! subscription was not made with) and 413 are not.

use super::{FailureClass, SendResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::time::Duration;
use storage::keys::vapid::VapidKey;
use storage::push::{DeviceAnswer, Subscription};

/// What a push to one person's devices came to.
#[derive(Debug)]
pub struct Pushed {
    pub result: SendResult,
    /// Per subscription, for `storage::push::record`.
    pub answers: Vec<(i64, DeviceAnswer)>,
    /// When some device accepted (the delivery counts as sent): the devices
    /// whose push service failed in a way worth trying again (down, busy,
    /// no answer), which would otherwise miss this message.
    pub try_again: Vec<i64>,
}

/// One push's settings.
pub struct PushOptions<'a> {
    pub key: &'a VapidKey,
    /// The VAPID `sub` claim (the account's `subject`).
    pub subject: &'a str,
    pub ttl_seconds: u32,
    pub urgency: &'static str,
    pub timeout: Duration,
    pub now_s: i64,
    /// The tests' switch: plain HTTP to this machine's push fake.
    pub loopback_allowed: bool,
}

/// The client push services are called with. The endpoints are whatever
/// signed-in people registered, so it follows no redirects and connects
/// only to public addresses: a name is resolved here and its private,
/// loopback and link-local addresses dropped, on every new connection (a
/// name that resolved to a public address once may not the next time).
/// `loopback_allowed` is the tests' and development's switch
/// (`PUSH_ALLOW_LOOPBACK`).
pub fn client(loopback_allowed: bool, concurrency: usize) -> reqwest::Client {
    super::client_builder()
        .dns_resolver(std::sync::Arc::new(PublicOnly { loopback_allowed }))
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("HTTP client")
}

/// A resolver that keeps the public addresses of a name (see [`client`]).
struct PublicOnly {
    loopback_allowed: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let loopback_allowed = self.loopback_allowed;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept = public_addresses(found, loopback_allowed);
            if kept.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The addresses a push endpoint's name may be connected to.
fn public_addresses(
    found: Vec<std::net::SocketAddr>,
    loopback_allowed: bool,
) -> Vec<std::net::SocketAddr> {
    found
        .into_iter()
        .filter(|a| {
            domain::push::is_public_ip(a.ip()) || (loopback_allowed && a.ip().is_loopback())
        })
        .collect()
}

/// A VAPID token lives this long (RFC 8292 allows up to 24 hours).
const TOKEN_SECONDS: i64 = 12 * 3600;

/// The request for one subscription: the encrypted body and the headers.
pub fn request(
    client: &reqwest::Client,
    sub: &Subscription,
    payload: &[u8],
    o: &PushOptions<'_>,
) -> Result<reqwest::RequestBuilder, String> {
    // Checked again here: a subscription stored before the rules were
    // this strict is not called.
    if let Some(problem) = domain::push::endpoint_problem(&sub.endpoint, o.loopback_allowed) {
        return Err(problem.to_owned());
    }
    let url = reqwest::Url::parse(&sub.endpoint).map_err(|e| format!("bad endpoint: {e}"))?;
    let public = URL_SAFE_NO_PAD
        .decode(&sub.p256dh)
        .ok()
        .and_then(|b| web_push_native::p256::PublicKey::from_sec1_bytes(&b).ok())
        .ok_or("the subscription's p256dh is not a P-256 key")?;
    let auth = URL_SAFE_NO_PAD
        .decode(&sub.auth)
        .ok()
        .filter(|b| b.len() == 16)
        .ok_or("the subscription's auth secret is not 16 bytes")?;
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    let body = web_push_native::encrypt(payload.to_vec(), &public, &auth)
        .map_err(|e| format!("encrypting the payload: {e}"))?;
    // The audience is the push service's origin, port included.
    let audience = url.origin().ascii_serialization();
    let authorization = o
        .key
        .authorization(&audience, o.subject, o.now_s + TOKEN_SECONDS);
    Ok(client
        .post(url)
        .header("TTL", o.ttl_seconds.to_string())
        .header("Urgency", o.urgency)
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/octet-stream")
        .header("Authorization", authorization)
        .timeout(o.timeout)
        .body(body))
}

/// What one push service's answer means for that subscription. Only the
/// status is kept: the body comes from an address a user chose, and the
/// device list shows the failure back to them.
pub fn classify(status: u16) -> (DeviceAnswer, Option<FailureClass>) {
    match status {
        200..=299 => (DeviceAnswer::Accepted, None),
        404 | 410 => (DeviceAnswer::Gone, Some(FailureClass::Recipient)),
        429 => (
            DeviceAnswer::Failed("HTTP 429".into()),
            Some(FailureClass::RateLimited),
        ),
        500..=599 => (
            DeviceAnswer::Failed(format!("HTTP {status}")),
            Some(FailureClass::Transient),
        ),
        // A redirect is not followed: the endpoint is not a push service.
        _ => (
            DeviceAnswer::Failed(format!("HTTP {status}")),
            Some(FailureClass::Recipient),
        ),
    }
}

/// Pushes `payload` to every subscription. Accepted by any device is sent
/// (the others' refusals are in the response text); otherwise the most
/// hopeful failure decides: unknown (a timeout) before transient before the
/// recipient's own.
pub async fn send(
    client: &reqwest::Client,
    subs: &[Subscription],
    payload: &str,
    o: &PushOptions<'_>,
) -> Pushed {
    if subs.is_empty() {
        return Pushed {
            result: SendResult::failed(
                FailureClass::Recipient,
                "no push subscription on any device",
                None,
            ),
            answers: Vec::new(),
            try_again: Vec::new(),
        };
    }
    let calls = subs.iter().map(|sub| async move {
        let request = match request(client, sub, payload.as_bytes(), o) {
            Ok(r) => r,
            Err(e) => {
                return (
                    sub.id,
                    DeviceAnswer::Failed(e),
                    Some(FailureClass::Recipient),
                    None,
                )
            }
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let (answer, class) = classify(status);
                (sub.id, answer, class, location)
            }
            Err(e) => {
                let class = if e.is_connect() {
                    FailureClass::Transient
                } else {
                    FailureClass::Unknown
                };
                (
                    sub.id,
                    DeviceAnswer::Failed(format!("transport: {e}")),
                    Some(class),
                    None,
                )
            }
        }
    });
    let outcomes = futures_util::future::join_all(calls).await;

    let mut lines = Vec::with_capacity(outcomes.len());
    let mut accepted = 0;
    let mut worst: Option<FailureClass> = None;
    let mut location = None;
    for (id, answer, class, loc) in &outcomes {
        lines.push(match answer {
            DeviceAnswer::Accepted => {
                accepted += 1;
                location = location.take().or(loc.clone());
                format!("device {id}: accepted")
            }
            DeviceAnswer::Gone => format!("device {id}: subscription gone, removed"),
            DeviceAnswer::Failed(e) => format!("device {id}: {e}"),
        });
        if let Some(c) = class {
            worst = Some(match (worst, *c) {
                (Some(FailureClass::Unknown), _) | (_, FailureClass::Unknown) => {
                    FailureClass::Unknown
                }
                (Some(FailureClass::Transient), _) | (_, FailureClass::Transient) => {
                    FailureClass::Transient
                }
                (Some(FailureClass::RateLimited), _) | (_, FailureClass::RateLimited) => {
                    FailureClass::RateLimited
                }
                _ => FailureClass::Recipient,
            });
        }
    }
    let summary = format!(
        "{accepted} of {} devices; {}",
        outcomes.len(),
        lines.join("; ")
    );
    let try_again = if accepted > 0 {
        outcomes
            .iter()
            .filter(|(_, _, class, _)| class.is_some_and(|c| c != FailureClass::Recipient))
            .map(|(id, ..)| *id)
            .collect()
    } else {
        Vec::new()
    };
    let answers = outcomes.into_iter().map(|(id, a, _, _)| (id, a)).collect();
    let result = if accepted > 0 {
        SendResult::Accepted {
            message_id: None,
            reference: location,
            response: summary,
        }
    } else {
        let class = worst.unwrap_or(FailureClass::Recipient);
        let error = if class == FailureClass::Recipient {
            format!("no device accepted the push: {summary}")
        } else {
            format!("push services failed: {summary}")
        };
        SendResult::failed(class, error, None)
    };
    Pushed {
        result,
        answers,
        try_again,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_of_a_name_are_connected_to() {
        let a = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        let found = vec![
            a("10.0.0.5:443"),
            a("169.254.169.254:443"),
            a("127.0.0.1:443"),
            a("142.250.4.95:443"),
            a("[fd00::1]:443"),
        ];
        assert_eq!(
            public_addresses(found.clone(), false),
            [a("142.250.4.95:443")]
        );
        assert_eq!(
            public_addresses(found, true),
            [a("127.0.0.1:443"), a("142.250.4.95:443")]
        );
        assert!(public_addresses(vec![a("192.168.1.1:443")], false).is_empty());
    }

    #[test]
    fn push_service_answers_are_classified() {
        assert_eq!(classify(201).0, DeviceAnswer::Accepted);
        assert_eq!(classify(410).0, DeviceAnswer::Gone);
        assert_eq!(classify(404).0, DeviceAnswer::Gone);
        assert_eq!(classify(429).1, Some(FailureClass::RateLimited));
        assert_eq!(classify(503).1, Some(FailureClass::Transient));
        assert_eq!(classify(413).1, Some(FailureClass::Recipient));
        assert!(matches!(classify(403).0, DeviceAnswer::Failed(e) if e.contains("403")));
    }
}
