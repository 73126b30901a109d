//! The browser's socket: connects to `/ws`, applies frames to [`Live`], and
//! reconnects with capped, jittered backoff. Each reconnect asks for the
//! notifications after the last one seen (`?after=`) and resyncs the pages,
//! so a dropped connection loses nothing.

use super::{ClientFrame, Live, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

const FIRST_RETRY_MS: u32 = 500;
const MAX_RETRY_MS: u32 = 15_000;
/// Keeps idle proxies from closing the socket, and notices a dead one.
const PING_EVERY_MS: f64 = 25_000.0;
/// Delivery changes refresh pages at most this often.
const TICK_EVERY_MS: f64 = 500.0;

fn socket_url(after: Option<i64>) -> Option<String> {
    let location = window().location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().ok()?;
    Some(match after {
        Some(id) => format!("{scheme}://{host}/ws?after={id}"),
        None => format!("{scheme}://{host}/ws"),
    })
}

/// Starts the socket for the page's lifetime.
pub fn connect(live: Live) {
    leptos::task::spawn_local(async move {
        let mut retry_ms = FIRST_RETRY_MS;
        let mut ever_connected = false;
        loop {
            let Some(url) = socket_url(live.last_notification_id()) else {
                return;
            };
            if let Ok(socket) = WebSocket::open(&url) {
                if session(&live, socket, ever_connected).await {
                    ever_connected = true;
                    retry_ms = FIRST_RETRY_MS;
                }
            }
            if ever_connected {
                live.lost.set(true);
            }
            let jitter = (js_sys::Math::random() * f64::from(retry_ms) / 2.0) as u32;
            TimeoutFuture::new(retry_ms + jitter).await;
            retry_ms = (retry_ms * 2).min(MAX_RETRY_MS);
        }
    });
}

/// Runs one connection until it drops; true if it got as far as hello.
async fn session(live: &Live, socket: WebSocket, reconnect: bool) -> bool {
    use futures_util::future::{select, Either};
    let (mut write, mut read) = socket.split();
    let mut greeted = false;
    let mut last_tick = 0.0;
    let mut tick_pending = false;
    let mut last_ping = js_sys::Date::now();
    loop {
        let wait_ms = if tick_pending {
            TICK_EVERY_MS
        } else {
            PING_EVERY_MS
        };
        let next = select(read.next(), Box::pin(TimeoutFuture::new(wait_ms as u32))).await;
        let now = js_sys::Date::now();
        if tick_pending && now - last_tick >= TICK_EVERY_MS {
            live.deliveries_tick.update(|n| *n += 1);
            last_tick = now;
            tick_pending = false;
        }
        if now - last_ping >= PING_EVERY_MS {
            let ping = serde_json::to_string(&ClientFrame::Ping).expect("serialises");
            if write.send(Message::Text(ping)).await.is_err() {
                return greeted;
            }
            last_ping = now;
        }
        let text = match next {
            Either::Left((Some(Ok(Message::Text(text))), _)) => text,
            Either::Left((Some(Ok(Message::Bytes(_))), _)) | Either::Right(_) => continue,
            Either::Left((Some(Err(_)) | None, _)) => return greeted,
        };
        let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
            continue;
        };
        match &frame {
            ServerFrame::Hello { .. } => {
                greeted = true;
                if reconnect {
                    // Whatever changed while away: reload what is shown.
                    live.resync();
                }
            }
            ServerFrame::Deliveries { .. } if now - last_tick >= TICK_EVERY_MS => {
                live.deliveries_tick.update(|n| *n += 1);
                last_tick = now;
            }
            ServerFrame::Deliveries { .. } => tick_pending = true,
            _ => {}
        }
        live.apply(frame);
    }
}
