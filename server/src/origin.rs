//! Requests that act with the signed-in person's cookie must come from this
//! site's own pages. SameSite=Lax stops other sites' cross-site posts, but
//! not a page on a sibling domain (same site), nor a form posting
//! `text/plain` that no pre-flight guards. So every state-changing request
//! to the server functions (`/api/…`, sign-in included), `/push/receipt`
//! and the live socket is checked: a browser's `Origin` must be this site's
//! (`PUBLIC_URL`, or the `Host` the request came to, for a server reached
//! by another name); without an `Origin`, a `Sec-Fetch-Site` other than
//! same-origin or none refuses. A client that is no browser sends neither
//! and is let through: it has no victim's cookie to ride on. The body must
//! be JSON or a form (415 otherwise): `text/plain` is the type that skips
//! the browser's CORS pre-flight.

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

/// The nonce of this request's Content-Security-Policy: the page's own
/// scripts carry it (the host provides it to the render as Leptos's
/// `Nonce`), and no other script runs.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// The policy of a page whose scripts carry `nonce`: scripts only by nonce
/// (and what they load, `strict-dynamic`: the WASM bundle), WebAssembly
/// compiled, styles, pictures, fetches and the live socket from this site
/// only, no inline styles, plugins, `<base>` or framing.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Headers every answer carries unless it set its own: a
/// Content-Security-Policy with a fresh nonce ([`CspNonce`], put in the
/// request for the render), no framing by other sites (clickjacking), no
/// content sniffing, no full URL in the Referer (acknowledgement links
/// carry a token), and nothing signed-in cached by browsers or proxies
/// (pages and server functions; the static files under `/pkg` set their
/// own). Behind https, browsers are told to stay on it.
pub async fn security_headers(
    State(site): State<SameSite>,
    mut request: Request,
    next: Next,
) -> Response {
    use axum::http::HeaderValue;
    let path = request.uri().path().to_owned();
    let static_file = path.starts_with("/pkg/");
    let csp = (!static_file).then(|| {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the system's random source");
        let nonce = hex::encode(bytes);
        request.extensions_mut().insert(CspNonce(nonce.clone()));
        content_security_policy(&nonce)
    });
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(csp);
    }
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'");
    set(header::REFERRER_POLICY, "same-origin");
    match (static_file, static_file && hashed_name(&path)) {
        _ if path == "/favicon.svg" => set(header::CACHE_CONTROL, "public, max-age=86400"),
        (false, _) => set(header::CACHE_CONTROL, "no-store"),
        // Its name changes with its content: kept for a year, never asked again.
        (true, true) => set(header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        // A development build's files keep their names: asked again each
        // time (a 304 when unchanged).
        (true, false) => set(header::CACHE_CONTROL, "no-cache"),
    }
    if site.public.starts_with("https://") {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    response
}

/// Whether a file under `/pkg` is named by its content's hash, as
/// cargo-leptos names a release build's files: `notifikasi.<22 characters
/// of base64url MD5>.wasm` (`.js`, `.css`).
fn hashed_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let mut parts = name.rsplit('.');
    let (Some(ext), Some(hash), Some(_stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    matches!(ext, "js" | "wasm" | "css")
        && hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `request` changes state with the cookie: anything but a read to
/// a server function or the push receipt.
fn guarded(method: &Method, path: &str) -> bool {
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    !reads
        && ((path.starts_with("/api/") && !path.starts_with("/api/v1/")) || path == "/push/receipt")
}

/// Whether a guarded request's body is of a type this site's pages send:
/// JSON, or a form (the server functions' two encodings; the push receipt
/// is JSON only). A `text/plain` body is what a cross-site form or a
/// `fetch` without pre-flight can send, and JSON functions would read it
/// as JSON; refusing it keeps them behind CORS whatever the Origin says.
fn body_type_allowed(path: &str, headers: &HeaderMap) -> bool {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match media.as_deref() {
        Some("application/json") => true,
        Some("application/x-www-form-urlencoded" | "multipart/form-data") => {
            path != "/push/receipt"
        }
        Some(_) => false,
        // No body at all (a call without arguments) has nothing to read.
        None => {
            !headers.contains_key(header::TRANSFER_ENCODING)
                && headers
                    .get(header::CONTENT_LENGTH)
                    .is_none_or(|v| v.as_bytes() == b"0")
        }
    }
}

/// Refuses a cross-site state-changing request with 403, and one whose
/// body is not JSON or a form with 415, before it runs.
pub async fn refuse_cross_site(
    State(site): State<SameSite>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if guarded(request.method(), path) {
        if !site.allows(request.headers()) {
            return (
                StatusCode::FORBIDDEN,
                "cross-site request refused: send it from this site's pages",
            )
                .into_response();
        }
        if !body_type_allowed(path, request.headers()) {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as application/json (or, to a server function, as a form)",
            )
                .into_response();
        }
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
    fn only_files_named_by_their_hash_are_cached_for_good() {
        assert!(hashed_name("/pkg/notifikasi.q1w2e3r4t5y6u7i8o9p0-_.wasm"));
        assert!(hashed_name("/pkg/notifikasi.q1w2e3r4t5y6u7i8o9p0-_.js"));
        assert!(!hashed_name("/pkg/notifikasi.wasm"));
        assert!(!hashed_name("/pkg/notifikasi_bg.wasm"));
        assert!(!hashed_name("/pkg/notifikasi.short.css"));
        assert!(!hashed_name("/pkg/notifikasi.q1w2e3r4t5y6u7i8o9p0-_.html"));
        assert!(!hashed_name("/pkg/notifikasi.q1w2e3r4t5y6u7i8o9p0/_.js"));
    }

    #[test]
    fn only_json_and_forms_reach_the_server_functions() {
        let typed = |v: &str| headers(&[("content-type", v)]);
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            assert!(body_type_allowed("/api/groups/save", &typed(ok)), "{ok}");
        }
        for bad in [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/xml",
            "",
        ] {
            assert!(!body_type_allowed("/api/groups/save", &typed(bad)), "{bad}");
        }
        // No type: only without a body.
        assert!(body_type_allowed("/api/push/status", &HeaderMap::new()));
        let sized = |n: &str| headers(&[("content-length", n)]);
        assert!(body_type_allowed("/api/push/status", &sized("0")));
        assert!(!body_type_allowed("/api/groups/save", &sized("17")));
        // The push receipt is JSON only.
        assert!(body_type_allowed(
            "/push/receipt",
            &typed("application/json")
        ));
        assert!(!body_type_allowed(
            "/push/receipt",
            &typed("application/x-www-form-urlencoded")
        ));
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
