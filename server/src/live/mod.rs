//! `GET /ws`: the live socket of a signed-in browser (frames in
//! [`app::live`]).
//!
//! The session cookie is checked before the upgrade (401 without one, 403 for
//! a page of another origin), and again every minute while open: an expired
//! or revoked session closes the socket (1008). A frame the protocol does not
//! know closes that socket alone (1003, with the reason).

use app::auth::session::{resolve, token_from_headers};
use app::auth::{Area, CurrentUser};
use app::db::Db;
use app::inbox::store as inbox;
use app::live::feed::{Batch, Feed};
use app::live::{ClientFrame, ServerFrame};
use app::time::now_ms;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// How often an open socket re-checks its session.
const SESSION_CHECK: Duration = Duration::from_secs(60);
/// Client frames are tiny; anything larger is not ours.
const MAX_CLIENT_FRAME: usize = 4 * 1024;
/// Notifications per backlog query.
const BACKLOG_PAGE: i64 = 200;

pub struct Live {
    pub db: Db,
    pub feed: Feed,
    pub shutdown: CancellationToken,
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

/// A browser sends `Origin`; it must be this host, so another site's page
/// cannot open a socket with the user's cookie.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true; // not a browser: the cookie alone decides
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

async fn upgrade(
    State(live): State<Arc<Live>>,
    resume: Result<Query<Resume>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Ok(Query(resume)) = resume else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "after must be a notification id (an integer)",
        );
    };
    if !same_origin(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the socket must be opened from this site",
        );
    }
    let Some(token) = token_from_headers(&headers) else {
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
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, &e.message()),
    };
    // Small buffers: a server holds thousands of these, and clients only
    // ever send pings.
    ws.max_message_size(MAX_CLIENT_FRAME)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let mut conn = Connection {
                socket,
                live,
                user,
                token,
                last_sent: 0,
            };
            if let Err(reason) = conn.serve(resume.after).await {
                tracing::debug!("live socket ended: {reason}");
            }
        })
}

struct Connection {
    socket: WebSocket,
    live: Arc<Live>,
    user: CurrentUser,
    token: String,
    /// The newest notification id this socket has sent (or skipped).
    last_sent: i64,
}

/// Why a connection ended early (logged at debug level only).
type Ended = String;

impl Connection {
    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Ended> {
        let text = serde_json::to_string(frame).map_err(|e| e.to_string())?;
        self.send_text(text.into()).await
    }

    async fn send_text(&mut self, text: Utf8Bytes) -> Result<(), Ended> {
        self.socket
            .send(Message::Text(text))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), Ended> {
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        Err(reason.to_owned())
    }

    /// Sends every notification after `last_sent`, then the unread count.
    async fn catch_up(&mut self) -> Result<(), Ended> {
        let db = self.live.db.clone();
        loop {
            let items = inbox::after(&db, self.user.id, self.last_sent, BACKLOG_PAGE)
                .await
                .map_err(|e| e.to_string())?;
            let full = items.len() as i64 == BACKLOG_PAGE;
            for item in items {
                self.last_sent = item.id;
                self.send(&ServerFrame::Notification { item }).await?;
            }
            if !full {
                break;
            }
        }
        let count = inbox::unread_count(&db, self.user.id)
            .await
            .map_err(|e| e.to_string())?;
        self.send(&ServerFrame::Unread { count }).await
    }

    async fn serve(&mut self, after: Option<i64>) -> Result<(), Ended> {
        // Subscribed before reading, so a change between the two is not missed.
        let mut batches = self.live.feed.subscribe();
        let db = self.live.db.clone();
        let deliveries = Area::Deliveries.allows(self.user.role);
        let analytics = Area::Analytics.allows(self.user.role);
        let err = |e: app::AppError| e.to_string();
        let unread = inbox::unread_count(&db, self.user.id).await.map_err(err)?;
        self.send(&ServerFrame::Hello { unread, deliveries })
            .await?;
        match after {
            Some(after) => {
                self.last_sent = after;
                self.catch_up().await?;
            }
            None => self.last_sent = inbox::last_id(&db, self.user.id).await.map_err(err)?,
        }
        let mut check = tokio::time::interval(SESSION_CHECK);
        check.reset();
        let shutdown = self.live.shutdown.clone();
        loop {
            tokio::select! {
                incoming = self.socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Ping) => self.send(&ServerFrame::Pong).await?,
                        Err(e) => {
                            let reason = format!("malformed frame: {e}");
                            return self.close(close_code::UNSUPPORTED, truncate(&reason)).await;
                        }
                    },
                    Some(Ok(Message::Binary(_))) => {
                        return self.close(close_code::UNSUPPORTED, "binary frames are not accepted").await;
                    }
                    // The library answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                },
                batch = batches.recv() => match batch {
                    Ok(batch) => self.forward(&batch, deliveries, analytics).await?,
                    Err(RecvError::Lagged(_)) => {
                        // Fell behind: the inbox catches up from the database;
                        // the pages reload their delivery views.
                        self.send(&ServerFrame::Resync).await?;
                        self.catch_up().await?;
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                _ = check.tick() => {
                    match resolve(&db, &self.token, now_ms()).await {
                        Ok(Some(_)) => {}
                        Ok(None) => return self.close(close_code::POLICY, "the session has expired; sign in again").await,
                        Err(e) => tracing::warn!("live: session check failed: {e}"),
                    }
                }
                _ = shutdown.cancelled() => {
                    return self.close(close_code::AWAY, "the server is restarting").await;
                }
            }
        }
    }

    async fn forward(
        &mut self,
        batch: &Batch,
        deliveries: bool,
        analytics: bool,
    ) -> Result<(), Ended> {
        if batch.resync {
            self.send(&ServerFrame::Resync).await?;
        }
        if batch.resync || batch.has_inbox_for(self.user.id) {
            self.catch_up().await?;
        }
        if deliveries {
            if let Some(frame) = &batch.deliveries_frame {
                self.send_text(frame.clone()).await?;
            }
        }
        if analytics && batch.analytics {
            self.send(&ServerFrame::Analytics).await?;
        }
        Ok(())
    }
}

/// Close reasons are limited to 123 bytes.
fn truncate(reason: &str) -> &str {
    let mut end = reason.len().min(120);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_sites_pages_may_open_the_socket() {
        let here = [("host", "127.0.0.1:3000")];
        assert!(same_origin(&headers(&here)));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[(
            "origin",
            "http://127.0.0.1:3000"
        )])));
    }

    #[test]
    fn close_reasons_fit_the_protocol_limit() {
        let long = "é".repeat(200);
        assert!(truncate(&long).len() <= 123);
        assert_eq!(truncate("short"), "short");
    }
}
