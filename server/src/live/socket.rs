//! A socket's own task: its hello and replay, its user's inbox, what the
//! browser sends, and its session. Shared frames (delivery statuses,
//! analytics) do not pass through here: the fan-out writes them.

use super::peer::{encode, Broken, Due, Peer, Wire};
use super::Live;
use app::auth::CurrentUser;
use app::live::{ClientFrame, ServerFrame};
use axum::extract::ws::close_code;
use std::sync::Arc;
use std::time::Duration;
use storage::inbox;
use storage::now_ms;
use storage::sessions::resolve;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

/// How often an open socket re-checks its session.
const SESSION_CHECK: Duration = Duration::from_secs(60);
/// Client frames are tiny; anything larger is not ours.
const MAX_CLIENT_FRAME: usize = 4 * 1024;
/// Notifications per backlog query.
const BACKLOG_PAGE: i64 = 200;
/// A browser that takes none of this socket's own frames for this long is
/// gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a closing socket waits for its close frame to leave.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why a connection ended (logged at debug level only).
pub(super) type Ended = String;

impl From<Broken> for Ended {
    fn from(_: Broken) -> Ended {
        "the connection failed".into()
    }
}

pub(super) struct Connection {
    pub live: Arc<Live>,
    pub peer: Arc<Peer>,
    pub ws: WebSocket<Wire>,
    pub user: CurrentUser,
    pub token: String,
    /// The newest notification id this socket has sent (or skipped).
    pub last_sent: i64,
}

/// The library's view of a socket: small buffers (a server holds thousands,
/// and browsers only ever send pings).
pub(super) fn websocket(wire: Wire) -> WebSocket<Wire> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .max_message_size(Some(MAX_CLIENT_FRAME))
        .max_frame_size(Some(MAX_CLIENT_FRAME));
    WebSocket::from_raw_socket(wire, Role::Server, Some(config))
}

impl Connection {
    /// Waits until the browser's kernel has this socket's frames.
    async fn flush(&self) -> Result<(), Ended> {
        match tokio::time::timeout(SEND_TIMEOUT, self.peer.flush()).await {
            Ok(done) => Ok(done?),
            Err(_) => Err("the browser stopped reading".into()),
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Ended> {
        self.peer.push(&encode(frame))?;
        self.flush().await
    }

    /// Sends a close frame (after what is queued) and ends.
    async fn close(&mut self, code: u16, reason: &str) -> Result<(), Ended> {
        self.peer.silence();
        let _ = self.ws.close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(CLOSE_GRACE, self.peer.flush()).await;
        Err(reason.to_owned())
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

    /// The hello (and, for a resuming socket, what it missed).
    async fn open(&mut self, after: Option<i64>) -> Result<(), Ended> {
        let db = self.live.db.clone();
        let err = |e: storage::Error| e.to_string();
        // The socket is registered before reading, so a change between the
        // two is not missed: shared frames wait behind the hello, inbox news
        // wakes this task after it.
        let unread = inbox::unread_count(&db, self.user.id).await.map_err(err)?;
        // A resuming socket gets what it missed; a new one starts at the
        // newest item (the page it belongs to has just loaded the rest).
        self.last_sent = match after {
            Some(after) => after,
            None => inbox::last_id(&db, self.user.id).await.map_err(err)?,
        };
        self.peer.open(&encode(&ServerFrame::Hello {
            unread,
            deliveries: self.peer.deliveries,
            last: self.last_sent,
        }))?;
        self.flush().await?;
        if after.is_some() {
            // The hello's count already includes these items.
            self.send_backlog().await?;
        }
        Ok(())
    }

    pub async fn serve(&mut self, after: Option<i64>) -> Result<(), Ended> {
        self.open(after).await?;
        // Bytes that came with the upgrade request are read at once.
        self.read().await?;
        let peer = self.peer.clone();
        let mut check = tokio::time::interval(SESSION_CHECK);
        check.reset();
        // Made once: a fresh future per wake would join and leave the
        // token's waiter list each time, 10,000 sockets at once.
        let shutdown = self.live.shutdown.clone();
        let stopping = shutdown.cancelled();
        tokio::pin!(stopping);
        loop {
            let waiting = peer.has_pending();
            tokio::select! {
                biased;
                _ = &mut stopping => {
                    return self.close(close_code::AWAY, "the server is restarting").await;
                }
                _ = peer.wake.notified() => self.woken().await?,
                writable = peer.tcp.writable(), if waiting => {
                    writable.map_err(|e| e.to_string())?;
                    peer.try_flush()?;
                }
                readable = peer.tcp.readable() => {
                    readable.map_err(|e| e.to_string())?;
                    self.read().await?;
                }
                _ = check.tick() => self.check_session().await?,
            }
        }
    }

    /// Closes the socket (1008) once its session has ended: expired,
    /// revoked or signed out.
    async fn check_session(&mut self) -> Result<(), Ended> {
        match resolve(&self.live.db, &self.token, now_ms()).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                self.close(close_code::POLICY, "the session has ended; sign in again")
                    .await
            }
            Err(e) => {
                tracing::warn!("live: session check failed: {e}");
                Ok(())
            }
        }
    }

    /// The fan-out queued bytes, or has news for this socket.
    async fn woken(&mut self) -> Result<(), Ended> {
        self.peer.try_flush()?;
        let due = self.peer.take_due();
        if due.session {
            self.check_session().await?;
        }
        match due {
            Due { resync: true, .. } => {
                self.send(&ServerFrame::Resync).await?;
                self.catch_up().await
            }
            Due { inbox: true, .. } => self.catch_up().await,
            Due { .. } => Ok(()),
        }
    }

    /// Reads every frame the browser has sent: pings are answered,
    /// anything else closes this socket alone, with the reason.
    async fn read(&mut self) -> Result<(), Ended> {
        use tungstenite::Error;
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => match serde_json::from_str::<ClientFrame>(&text) {
                    Ok(ClientFrame::Ping) => self.send(&ServerFrame::Pong).await?,
                    Err(e) => {
                        let reason = format!("malformed frame: {e}");
                        return self.close(close_code::UNSUPPORTED, truncate(&reason)).await;
                    }
                },
                Ok(Message::Binary(_)) => {
                    return self
                        .close(close_code::UNSUPPORTED, "binary frames are not accepted")
                        .await;
                }
                Ok(Message::Close(_)) => {
                    // The library has queued its answer.
                    self.peer.silence();
                    let _ = tokio::time::timeout(CLOSE_GRACE, self.peer.flush()).await;
                    return Err("the browser closed the socket".into());
                }
                // The library answers pings itself (the pong is queued).
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.peer.try_flush()?;
                    return Ok(());
                }
                Err(Error::Capacity(_)) => {
                    return self
                        .close(close_code::SIZE, "frames over 4 KiB are not accepted")
                        .await;
                }
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }
}

/// Close reasons are limited to 123 bytes.
pub(super) fn truncate(reason: &str) -> &str {
    let mut end = reason.len().min(120);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}
