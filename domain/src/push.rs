//! Web push: what the service worker receives, how urgent the push service
//! should treat it, which endpoints a browser may register, and how a device
//! is named in the settings page's list. Pure; the encryption (RFC 8291) and
//! the signing (RFC 8292) live with the server's push client.

use crate::kinds::Priority;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

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

/// Why a browser's push endpoint is not accepted. Any signed-in person
/// registers one and the server then calls it, so it must name a public
/// push service: `https`, no user part, and no private, loopback,
/// link-local, shared or metadata address or internal name (the server
/// checks the addresses a name resolves to again on every connection).
/// `loopback_allowed` (a development or test switch) admits plain HTTP to
/// this machine, where the tests' push service fake runs.
pub fn endpoint_problem(endpoint: &str, loopback_allowed: bool) -> Option<&'static str> {
    const MAX: usize = 1024;
    if endpoint.len() > MAX {
        return Some("push endpoint is too long");
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Some("push endpoint is not a URL");
    }
    let (https, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        return Some("push endpoint must be an https URL");
    };
    let host = match host_of(rest) {
        Ok(host) => host,
        Err(HostProblem::UserPart) => {
            return Some("push endpoint must not carry a user or password")
        }
        Err(HostProblem::NotUrl) => return Some("push endpoint is not a URL"),
    };
    let loopback = match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => true,
        Ok(ip) if !is_public_ip(ip) => return Some("push endpoint must be a public address"),
        Ok(_) => false,
        Err(_) if is_loopback_host(&host) => true,
        Err(_) if internal_name(&host) => return Some("push endpoint must be a public address"),
        Err(_) => false,
    };
    match (loopback, https) {
        (true, _) if loopback_allowed => None,
        (true, _) => Some("push endpoint must be a public address"),
        (false, false) => Some("push endpoint must be https"),
        (false, true) => None,
    }
}

pub(crate) enum HostProblem {
    UserPart,
    NotUrl,
}

/// The host of a URL given without its `scheme://`: lower case, without a
/// trailing dot or an IPv6 address's brackets. A user part is refused: it
/// is how `http://127.0.0.1:@10.0.0.5/` hides where it really goes.
pub(crate) fn host_of(rest: &str) -> Result<String, HostProblem> {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains(['@', '\\']) {
        return Err(HostProblem::UserPart);
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, port)) if port.is_empty() || port.starts_with(':') => h,
            _ => return Err(HostProblem::NotUrl),
        },
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(HostProblem::NotUrl);
    }
    Ok(host.trim_end_matches('.').to_ascii_lowercase())
}

/// This machine, by address or by name.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    }
}

/// Names that only resolve inside a network: no dot, or a suffix reserved
/// for local use (cloud metadata services live under `.internal`).
fn internal_name(host: &str) -> bool {
    !host.contains('.')
        || [
            ".internal",
            ".local",
            ".lan",
            ".home.arpa",
            ".intranet",
            ".corp",
        ]
        .iter()
        .any(|suffix| host.ends_with(suffix))
}

/// Whether `ip` is an address on the public internet: not private,
/// loopback, link-local (cloud metadata, 169.254.169.254), shared (CGNAT),
/// unspecified, documentation, benchmarking, multicast or reserved, nor an
/// IPv6 form of one of those (mapped, unique-local, link-local).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
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
    fn endpoints_must_be_public_https_and_loopback_only_under_the_switch() {
        let ok = |e| endpoint_problem(e, false);
        assert_eq!(ok("https://fcm.googleapis.com/fcm/send/abc:def"), None);
        assert_eq!(
            ok("https://updates.push.services.mozilla.com/wpush/v2/x"),
            None
        );
        assert_eq!(ok("https://8.8.8.8/x"), None);
        // The test switch: plain HTTP to this machine's push fake.
        for e in [
            "http://127.0.0.1:3011/push/1",
            "http://localhost/push/1",
            "http://[::1]:9/push/1",
        ] {
            assert_eq!(endpoint_problem(e, true), None, "{e}");
            assert!(ok(e).is_some(), "{e}: loopback without the switch");
        }
        // Requests the server must never make for a user.
        for e in [
            "http://127.0.0.1:@10.0.0.5:8080/x",
            "https://user:pw@push.example.com/x",
            "https://10.0.0.5/x",
            "https://172.16.3.4/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:10.0.0.5]/x",
            "https://0.0.0.0/x",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://intranet/x",
            "https://printer.local/x",
            "http://push.example.com/x",
            "http://127.0.0.1.evil.test/x",
            "ftp://x",
            "https://",
            "https://a b",
        ] {
            assert!(ok(e).is_some(), "{e} accepted");
            assert!(
                endpoint_problem(e, true).is_some(),
                "{e} accepted under the switch"
            );
        }
        assert_eq!(
            endpoint_problem("http://127.0.0.1:@10.0.0.5:8080/x", true),
            Some("push endpoint must not carry a user or password")
        );
        assert!(ok(&format!("https://x.test/{}", "a".repeat(1100))).is_some());
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
