//! Web push: what the service worker receives, how urgent the push service
//! should treat it, which endpoints a browser may register, and how a device
//! is named in the settings page's list. Pure; the encryption (RFC 8291) and
//! the signing (RFC 8292) live with the server's push client.

use crate::kinds::Priority;
use serde::{Deserialize, Serialize};

/// What the service worker gets (JSON, encrypted on the way) and shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub title: String,
    pub body: String,
    /// Opened when the notification is clicked.
    pub url: String,
    /// The notification's tag: a message pushed twice (a retry after an
    /// unknown outcome) replaces itself on the device instead of showing twice.
    pub tag: String,
    /// The delivery it reports receipts for (shown → delivered, clicked → read).
    pub delivery: i64,
}

/// Push services take at most 4,096 bytes per message; RFC 8291's header,
/// padding delimiter and tag leave 3,993 for the payload. Titles and bodies are
/// cut well inside that, so any URL and tag fit too.
pub const MAX_PAYLOAD_BYTES: usize = 3993;
const MAX_TITLE_BYTES: usize = 200;
const MAX_BODY_BYTES: usize = 2400;

impl Payload {
    pub fn new(title: &str, body: &str, url: &str, delivery: i64) -> Payload {
        Payload {
            title: clip(title.trim(), MAX_TITLE_BYTES),
            body: clip(body.trim(), MAX_BODY_BYTES),
            url: url.to_owned(),
            tag: format!("delivery-{delivery}"),
            delivery,
        }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s[..end].trim_end())
}

/// RFC 8030's `Urgency` header: a phone on battery wakes for `high` at once
/// and may hold `low` back.
pub fn urgency(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "low",
        Priority::Medium => "normal",
        Priority::High | Priority::Critical => "high",
    }
}

/// How long a push service keeps a message for a device that is offline
/// (RFC 8030 `TTL`, seconds): past that, a notification about a ticket is
/// stale. Critical ones escalate to other channels within minutes anyway.
pub fn ttl_seconds(priority: Priority) -> u32 {
    match priority {
        Priority::Low | Priority::Medium => 24 * 3600,
        Priority::High => 6 * 3600,
        Priority::Critical => 3600,
    }
}

/// Why a browser's push endpoint is not accepted. Browsers' push services are
/// HTTPS; plain HTTP is allowed on loopback only, where a development push
/// service or the tests' fake runs.
pub fn endpoint_problem(endpoint: &str) -> Option<&'static str> {
    const MAX: usize = 1024;
    if endpoint.len() > MAX {
        return Some("push endpoint is too long");
    }
    let rest = if let Some(rest) = endpoint.strip_prefix("https://") {
        rest
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        let loopback = ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| {
            rest.strip_prefix(h)
                .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
        });
        if !loopback {
            return Some("push endpoint must be https");
        }
        rest
    } else {
        return Some("push endpoint must be an https URL");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || endpoint
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Some("push endpoint is not a URL");
    }
    None
}

/// A device's name in the list of subscriptions, from its browser's
/// User-Agent: "Chrome di Android", "Firefox di Windows".
pub fn device_label(user_agent: &str) -> String {
    let ua = user_agent;
    // Order matters: Edge and Opera say "Chrome", Chrome says "Safari".
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("SamsungBrowser/") {
        "Samsung Internet"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "Browser"
    };
    let system = if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("CrOS") {
        Some("ChromeOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match system {
        Some(s) => format!("{browser} di {s}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_to_fit_a_push_on_a_character_boundary() {
        let body = "Gangguan massal di Karawang — ".repeat(200);
        let p = Payload::new(&"Judul ".repeat(100), &body, "https://x.test/inbox", 42);
        assert!(p.title.len() <= MAX_TITLE_BYTES && p.title.ends_with('…'));
        assert!(p.body.len() <= MAX_BODY_BYTES && p.body.ends_with('…'));
        assert!(serde_json::to_string(&p).unwrap().len() <= MAX_PAYLOAD_BYTES);
        assert_eq!(p.tag, "delivery-42");
        let short = Payload::new(" Tiket ditugaskan ", "TCK-1", "/inbox", 7);
        assert_eq!(
            (short.title.as_str(), short.body.as_str()),
            ("Tiket ditugaskan", "TCK-1")
        );
        let back: Payload = serde_json::from_str(&serde_json::to_string(&short).unwrap()).unwrap();
        assert_eq!(back, short);
    }

    #[test]
    fn urgency_and_lifetime_follow_priority() {
        assert_eq!(urgency(Priority::Low), "low");
        assert_eq!(urgency(Priority::Medium), "normal");
        assert_eq!(urgency(Priority::Critical), "high");
        assert!(ttl_seconds(Priority::Critical) < ttl_seconds(Priority::Low));
    }

    #[test]
    fn endpoints_must_be_https_except_on_loopback() {
        assert_eq!(
            endpoint_problem("https://fcm.googleapis.com/fcm/send/abc:def"),
            None
        );
        assert_eq!(endpoint_problem("http://127.0.0.1:3011/push/1"), None);
        assert_eq!(endpoint_problem("http://localhost/push/1"), None);
        assert_eq!(endpoint_problem("http://[::1]:9/push/1"), None);
        assert_eq!(
            endpoint_problem("http://push.example.com/x"),
            Some("push endpoint must be https")
        );
        assert_eq!(
            endpoint_problem("http://127.0.0.1.evil.test/x"),
            Some("push endpoint must be https")
        );
        assert!(endpoint_problem("ftp://x").is_some());
        assert!(endpoint_problem("https://").is_some());
        assert!(endpoint_problem("https://a b").is_some());
        assert!(endpoint_problem(&format!("https://x.test/{}", "a".repeat(1100))).is_some());
    }

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let android = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
        assert_eq!(device_label(android), "Chrome di Android");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(device_label(firefox), "Firefox di Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(device_label(edge), "Edge di Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(device_label(iphone), "Safari di iOS");
        let samsung = "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36";
        assert_eq!(device_label(samsung), "Samsung Internet di Android");
        assert_eq!(device_label(""), "Browser");
    }
}
