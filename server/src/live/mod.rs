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
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
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
        // Each frame is written at once (measured: buffering until a flush
        // made the fan-out slower).
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let (control, requests) = mpsc::channel(4);
            // The reader wakes only when the browser sends something (or
            // the session check is due), so a batch wakes the writer alone.
            let reader = tokio::spawn(read(stream, live.db.clone(), token, control));
            let mut conn = Connection {
                sink,
                live,
                user,
                last_sent: 0,
            };
            if let Err(reason) = conn.serve(resume.after, requests).await {
                tracing::debug!("live socket ended: {reason}");
            }
            reader.abort();
        })
}

/// What the reader asks of the writer.
enum Request {
    Pong,
    Close(u16, String),
    /// The browser went away.
    Gone,
}

/// The reading half: answers pings, refuses unknown frames, and re-checks
/// the session every [`SESSION_CHECK`].
async fn read(
    mut stream: SplitStream<WebSocket>,
    db: Db,
    token: String,
    control: mpsc::Sender<Request>,
) {
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.reset();
    let request = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break Request::Gone,
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientFrame>(&text) {
                    Ok(ClientFrame::Ping) => {
                        if control.send(Request::Pong).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let reason = format!("malformed frame: {e}");
                        break Request::Close(close_code::UNSUPPORTED, truncate(&reason).to_owned());
                    }
                },
                Some(Ok(Message::Binary(_))) => {
                    break Request::Close(close_code::UNSUPPORTED, "binary frames are not accepted".into());
                }
                // The library answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            },
            _ = check.tick() => match resolve(&db, &token, now_ms()).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    break Request::Close(close_code::POLICY, "the session has expired; sign in again".into());
                }
                Err(e) => tracing::warn!("live: session check failed: {e}"),
            },
        }
    };
    let _ = control.send(request).await;
}

/// The writing half, run by the socket's own task.
struct Connection {
    sink: SplitSink<WebSocket, Message>,
    live: Arc<Live>,
    user: CurrentUser,
    /// The newest notification id this socket has sent (or skipped).
    last_sent: i64,
}

/// Why a connection ended early (logged at debug level only).
type Ended = String;

impl Connection {
    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Ended> {
        let text = serde_json::to_string(frame).map_err(|e| e.to_string())?;
        self.sink
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), Ended> {
        let _ = self
            .sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        Err(reason.to_owned())
    }

    /// Fell behind the batches: the inbox catches up from the database; the
    /// pages reload their delivery views.
    async fn resync(&mut self) -> Result<(), Ended> {
        self.send(&ServerFrame::Resync).await?;
        self.catch_up().await
    }

    /// Sends every notification after `last_sent`, then the unread count.
    async fn catch_up(&mut self) -> Result<(), Ended> {
        self.send_backlog().await?;
        let count = inbox::unread_count(&self.live.db, self.user.id)
            .await
            .map_err(|e| e.to_string())?;
        self.send(&ServerFrame::Unread { count }).await
    }

    /// Sends every notification after `last_sent`.
    async fn send_backlog(&mut self) -> Result<(), Ended> {
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
                return Ok(());
            }
        }
    }

    async fn serve(
        &mut self,
        after: Option<i64>,
        mut requests: mpsc::Receiver<Request>,
    ) -> Result<(), Ended> {
        // Subscribed before reading, so a change between the two is not missed.
        let mut batches = self.live.feed.subscribe();
        let db = self.live.db.clone();
        let deliveries = Area::Deliveries.allows(self.user.role);
        let analytics = Area::Analytics.allows(self.user.role);
        let err = |e: app::AppError| e.to_string();
        let unread = inbox::unread_count(&db, self.user.id).await.map_err(err)?;
        // A resuming socket gets what it missed; a new one starts at the
        // newest item (the page it belongs to has just loaded the rest).
        let resumed = after.is_some();
        self.last_sent = match after {
            Some(after) => after,
            None => inbox::last_id(&db, self.user.id).await.map_err(err)?,
        };
        self.send(&ServerFrame::Hello {
            unread,
            deliveries,
            last: self.last_sent,
        })
        .await?;
        if resumed {
            // The hello's count already includes these items.
            self.send_backlog().await?;
        }
        // Made once: a fresh future per wake would join and leave the
        // token's waiter list each time, 10,000 sockets at once.
        let shutdown = self.live.shutdown.clone();
        let stopping = shutdown.cancelled();
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                biased;
                batch = batches.recv() => match batch {
                    Ok(batch) => self.forward(&batch, deliveries, analytics).await?,
                    Err(RecvError::Lagged(_)) => self.resync().await?,
                    Err(RecvError::Closed) => return Ok(()),
                },
                request = requests.recv() => match request {
                    Some(Request::Pong) => self.send(&ServerFrame::Pong).await?,
                    Some(Request::Close(code, reason)) => return self.close(code, &reason).await,
                    Some(Request::Gone) | None => return Ok(()),
                },
                _ = &mut stopping => {
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
                self.sink
                    .send(Message::Text(frame.clone()))
                    .await
                    .map_err(|e| format!("send: {e}"))?;
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
