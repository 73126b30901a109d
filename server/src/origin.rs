//! Requests that act with the signed-in person's cookie must come from this
//! site's own pages. SameSite=Lax stops other sites' cross-site posts, but
//! not a page on a sibling domain (same site), nor a form posting
//! `text/plain` that no pre-flight guards. So every state-changing request
//! to the server functions (`/api/…`, sign-in included), `/push/receipt`
//! and the live socket is checked: a browser's `Origin` must be this site's
//! (`PUBLIC_URL`, or the `Host` the request came to, for a server reached
//! by another name); without an `Origin`, a `Sec-Fetch-Site` other than
//! same-origin or none refuses. A client that is no browser sends neither
//! and is let through: it has no victim's cookie to ride on.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// This site's origin, as browsers write it in `Origin`.
#[derive(Debug, Clone)]
pub struct SameSite {
    /// `scheme://host[:port]` of `PUBLIC_URL`, lower-case, no default port.
    public: String,
}

impl SameSite {
    pub fn new(public_url: &str) -> Self {
        SameSite {
            public: origin_of(public_url),
        }
    }

    /// Whether a request with these headers comes from this site's pages
    /// or from no browser at all.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        match text(header::ORIGIN) {
            Some(origin) => {
                let origin = origin.trim().to_ascii_lowercase();
                // "null": a sandboxed frame, a file, a redirect chain.
                origin != "null"
                    && (origin == self.public
                        || text(header::HOST).is_some_and(|host| {
                            origin
                                .split_once("://")
                                .is_some_and(|(_, h)| h.eq_ignore_ascii_case(host))
                        }))
            }
            None => matches!(
                text(header::HeaderName::from_static("sec-fetch-site")),
                None | Some("same-origin" | "none")
            ),
        }
    }
}

/// `https://Example.com:443/x` → `https://example.com`.
fn origin_of(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url.as_str()));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match (scheme, host.rsplit_once(':')) {
        ("https", Some((h, "443"))) | ("http", Some((h, "80"))) => h,
        _ => host,
    };
    format!("{scheme}://{host}")
}

/// Headers every answer carries unless it set its own: no framing by other
/// sites (clickjacking), no content sniffing, no full URL in the Referer
/// (acknowledgement links carry a token), and nothing signed-in cached by
/// browsers or proxies (pages and server functions; the static files under
/// `/pkg` set their own). Behind https, browsers are told to stay on it.
pub async fn security_headers(
    State(site): State<SameSite>,
    request: Request,
    next: Next,
) -> Response {
    use axum::http::HeaderValue;
    let static_file = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'");
    set(header::REFERRER_POLICY, "same-origin");
    if !static_file {
        set(header::CACHE_CONTROL, "no-store");
    }
    if site.public.starts_with("https://") {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    response
}

/// Whether `request` changes state with the cookie: anything but a read to
/// a server function or the push receipt.
fn guarded(method: &Method, path: &str) -> bool {
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    !reads
        && ((path.starts_with("/api/") && !path.starts_with("/api/v1/")) || path == "/push/receipt")
}

/// Refuses a cross-site state-changing request with 403 before it runs.
pub async fn refuse_cross_site(
    State(site): State<SameSite>,
    request: Request,
    next: Next,
) -> Response {
    if guarded(request.method(), request.uri().path()) && !site.allows(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "cross-site request refused: send it from this site's pages",
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header map from name/value pairs (also the live socket's tests).
    pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_sites_pages_and_non_browsers_pass() {
        let site = SameSite::new("https://notif.isp.example/");
        let behind_proxy = [("host", "10.0.0.7:3000")];
        // PUBLIC_URL's origin, whatever Host a reverse proxy forwards.
        assert!(site.allows(&headers(&[
            behind_proxy[0],
            ("origin", "https://notif.isp.example")
        ])));
        // The Host the browser reached (a server reached by its address).
        assert!(site.allows(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        for bad in [
            "https://evil.example",
            "https://other.isp.example",
            "null",
            "http://notif.isp.example",
        ] {
            assert!(
                !site.allows(&headers(&[behind_proxy[0], ("origin", bad)])),
                "{bad}"
            );
        }
        // No Origin: the browser's Sec-Fetch-Site decides; no browser passes.
        assert!(site.allows(&headers(&behind_proxy)));
        assert!(site.allows(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!site.allows(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!site.allows(&headers(&[("sec-fetch-site", "cross-site")])));
    }

    #[test]
    fn default_ports_and_paths_do_not_matter() {
        assert_eq!(origin_of("https://A.example:443/x?y"), "https://a.example");
        assert_eq!(origin_of("http://a.example:80"), "http://a.example");
        assert_eq!(origin_of("http://localhost:3000/"), "http://localhost:3000");
    }

    #[test]
    fn reads_and_the_keyed_api_are_not_guarded() {
        assert!(guarded(&Method::POST, "/api/groups/save"));
        assert!(guarded(&Method::POST, "/api/auth/login"));
        assert!(guarded(&Method::POST, "/push/receipt"));
        assert!(!guarded(&Method::GET, "/api/groups/list"));
        assert!(!guarded(&Method::POST, "/api/v1/events"));
        assert!(!guarded(&Method::POST, "/webhooks/fonnte/1"));
    }
}
