//! `GET /ws`: the live socket of a signed-in browser (frames in
//! [`app::live`]).
//!
//! The session cookie is checked before the upgrade (401 without one, 403 for
//! a page of another origin), and again every minute while open: an expired
//! or revoked session closes the socket (1008). A frame the protocol does not
//! know closes that socket alone (1003, with the reason).
//!
//! - [`fanout`]: writes each batch of the live feed into every socket;
//! - [`peer`]: one socket's ordered output, shared by the fan-out and its task;
//! - [`socket`]: a socket's own task (hello, inbox, pings, session).

mod fanout;
mod peer;
mod socket;

use app::auth::session::token_from_headers;
use app::auth::Area;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use storage::db::Db;
use storage::feed::Feed;
use storage::now_ms;
use storage::sessions::resolve;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub struct Live {
    pub db: Db,
    pub feed: Feed,
    pub shutdown: CancellationToken,
    peers: Arc<fanout::Peers>,
    /// Whose pages may open a socket.
    site: crate::origin::SameSite,
}

impl Live {
    /// The live sockets of this instance, with their fan-out running.
    pub fn start(
        db: Db,
        feed: Feed,
        shutdown: CancellationToken,
        site: crate::origin::SameSite,
    ) -> Arc<Live> {
        let peers = Arc::new(fanout::Peers::new());
        tokio::spawn(fanout::run(feed.clone(), peers.clone(), shutdown.clone()));
        Arc::new(Live {
            db,
            feed,
            shutdown,
            peers,
            site,
        })
    }

    /// Sockets open on this instance.
    pub fn sockets(&self) -> usize {
        self.peers.len()
    }
}

pub fn router(live: Arc<Live>) -> Router {
    Router::new().route("/ws", get(upgrade)).with_state(live)
}

#[derive(serde::Deserialize)]
struct Resume {
    /// The last notification id the client saw: it gets every later one.
    after: Option<i64>,
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

/// The WebSocket opening handshake's request (RFC 6455 section 4.2.1), or
/// why it is not one; `Ok` holds the `Sec-WebSocket-Accept` answer.
fn handshake(headers: &HeaderMap) -> Result<String, (StatusCode, &'static str)> {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has(header::CONNECTION, "upgrade") || !has(header::UPGRADE, "websocket") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "this is a WebSocket: send Connection: Upgrade and Upgrade: websocket",
        ));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION) != Some(&HeaderValue::from_static("13")) {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "Sec-WebSocket-Version must be 13",
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or((StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing"))?;
    Ok(tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

async fn upgrade(State(live): State<Arc<Live>>, mut request: Request) -> Response {
    let accept = match handshake(request.headers()) {
        Ok(accept) => accept,
        Err((status, error)) => {
            let mut refused = refuse(status, error);
            if status == StatusCode::UPGRADE_REQUIRED {
                refused.headers_mut().insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            return refused;
        }
    };
    let Ok(Query(resume)) = Query::<Resume>::try_from_uri(request.uri()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "after must be a notification id (an integer)",
        );
    };
    let headers = request.headers();
    // Another site's page must not open a socket with the user's cookie
    // (`PUBLIC_URL`'s origin, or the Host it was reached by; see `origin`).
    if !live.site.allows(headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the socket must be opened from this site",
        );
    }
    let Some(token) = token_from_headers(headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "sign in first");
    };
    let user = match resolve(&live.db, &token, now_ms()).await {
        Ok(Some(info)) => info.user,
        Ok(None) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the session has expired; sign in again",
            )
        }
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let upgraded = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let upgraded = match upgraded.await {
            Ok(upgraded) => upgraded,
            Err(e) => return tracing::debug!("live: upgrade failed: {e}"),
        };
        // The connection itself, for the fan-out's direct writes (the
        // accept loop in `crate::http` serves plain TCP streams).
        let Ok(parts) = upgraded.downcast::<TokioIo<TcpStream>>() else {
            return tracing::error!("live: the upgraded connection is not a TCP stream");
        };
        let peer = Arc::new(peer::Peer::new(
            parts.io.into_inner(),
            user.id,
            Area::Deliveries.allows(user.role),
            Area::Analytics.allows(user.role),
        ));
        let _registered = live.peers.add(peer.clone());
        let wire = peer::Wire {
            peer: peer.clone(),
            early: parts.read_buf,
        };
        let mut conn = socket::Connection {
            live: live.clone(),
            peer,
            ws: socket::websocket(wire),
            user,
            token,
            last_sent: 0,
        };
        if let Err(reason) = conn.serve(resume.after).await {
            tracing::debug!("live socket ended: {reason}");
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::tests::headers;

    #[test]
    fn the_opening_handshake_is_checked_and_answered() {
        let upgrade = [
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        // RFC 6455 section 1.3's example.
        assert_eq!(
            handshake(&headers(&upgrade)).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let without = |name: &str| {
            let kept: Vec<_> = upgrade
                .iter()
                .copied()
                .filter(|(k, _)| *k != name)
                .collect();
            handshake(&headers(&kept)).unwrap_err().0
        };
        assert_eq!(without("connection"), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(without("upgrade"), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(
            without("sec-websocket-version"),
            StatusCode::UPGRADE_REQUIRED
        );
        assert_eq!(without("sec-websocket-key"), StatusCode::BAD_REQUEST);
        let mut old = upgrade;
        old[2].1 = "8";
        assert_eq!(
            handshake(&headers(&old)).unwrap_err().0,
            StatusCode::UPGRADE_REQUIRED
        );
    }

    #[test]
    fn close_reasons_fit_the_protocol_limit() {
        use socket::truncate;
        let long = "é".repeat(200);
        assert!(truncate(&long).len() <= 123);
        assert_eq!(truncate("short"), "short");
    }
}
