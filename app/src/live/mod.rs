//! Live updates: what the server pushes over the WebSocket (`/ws`), and the
//! browser's side of that socket.
//!
//! Two kinds of stream share one socket:
//! - the user's **inbox**, an event stream: each notification is sent once, in
//!   id order, and a reconnecting client asks for everything after the last id
//!   it saw (`/ws?after=ID`), so nothing is lost across a dropped connection;
//! - **delivery status changes** (for the roles that may read the delivery
//!   log), a state stream: a frame says which deliveries changed and to what;
//!   after a reconnect, or when the server had to drop frames for a slow
//!   client, the page reloads what it shows (`resync`) instead of replaying.
//!
//! [`feed`] (server) gathers the changes of this instance and, on PostgreSQL,
//! of the others; [`client`] (browser) keeps the socket open.

#[cfg(feature = "hydrate")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod feed;

use crate::inbox::InboxItem;
use domain::DeliveryStatus;
use serde::{Deserialize, Serialize};

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame after connecting. `last` is the notification id the stream
    /// starts after: a client that reconnects before any notification came
    /// resumes from there (`?after=last`), so nothing that arrived while it
    /// was away is skipped.
    Hello {
        unread: i64,
        deliveries: bool,
        last: i64,
    },
    /// A notification after the last one this socket sent (or `after`).
    Notification { item: InboxItem },
    /// The user's unread count changed (new items, or read elsewhere).
    Unread { count: i64 },
    /// Deliveries whose status changed; `added` when new ones were queued.
    Deliveries {
        changes: Vec<DeliveryChange>,
        added: bool,
    },
    /// The analytics rollups were recomputed: reload the figures.
    Analytics,
    /// Changes were dropped for this socket (it fell behind, or another
    /// instance's notifications were interrupted): reload what is shown.
    Resync,
    /// The answer to a client's ping.
    Pong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryChange {
    pub id: i64,
    pub status: DeliveryStatus,
}

/// A frame from the browser. Anything else closes the socket (code 1003,
/// with the reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Ping,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_a_type_tag_and_snake_case_names() {
        let f = ServerFrame::Deliveries {
            changes: vec![DeliveryChange {
                id: 7,
                status: DeliveryStatus::Read,
            }],
            added: false,
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"type":"deliveries","changes":[{"id":7,"status":"read"}],"added":false}"#
        );
        assert_eq!(serde_json::from_str::<ServerFrame>(&json).unwrap(), f);
        assert_eq!(
            serde_json::to_string(&ServerFrame::Resync).unwrap(),
            r#"{"type":"resync"}"#
        );
    }

    #[test]
    fn only_known_client_frames_parse() {
        assert_eq!(
            serde_json::from_str::<ClientFrame>(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>("not json").is_err());
    }
}

use leptos::prelude::*;

/// What the pages read of the live socket. Provided by the app shell on both
/// server and browser; only the browser connects ([`client::connect`]), so
/// on the server these stay at their starting values.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// The socket was open once and is now down (shown to the user).
    pub lost: RwSignal<bool>,
    /// The user's unread count, once the socket told it.
    pub unread: RwSignal<Option<i64>>,
    /// The newest notification id received over the socket (or where the
    /// stream started): where a reconnect resumes (`?after=`). Not reactive:
    /// nothing renders it.
    last_seen: StoredValue<Option<i64>>,
    /// Bumped (at most twice a second) when deliveries changed, and on every
    /// resync: pages showing deliveries reload when it moves.
    pub deliveries_tick: RwSignal<u64>,
    /// The last delivery changes, for pages that follow particular rows.
    pub last_changes: RwSignal<Vec<DeliveryChange>>,
    /// Bumped on every resync (reconnects included): reload everything shown.
    pub resyncs: RwSignal<u64>,
    /// Bumped when the analytics rollups were recomputed (and on resync).
    pub analytics_tick: RwSignal<u64>,
}

impl Live {
    pub fn new() -> Live {
        Live {
            lost: RwSignal::new(false),
            unread: RwSignal::new(None),
            last_seen: StoredValue::new(None),
            deliveries_tick: RwSignal::new(0),
            last_changes: RwSignal::new(Vec::new()),
            resyncs: RwSignal::new(0),
            analytics_tick: RwSignal::new(0),
        }
    }

    /// The shell's instance (a fresh, idle one outside the shell).
    pub fn get() -> Live {
        use_context::<Live>().unwrap_or_default()
    }

    /// Applies one frame from the server.
    pub fn apply(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Hello { unread, last, .. } => {
                self.unread.set(Some(unread));
                self.lost.set(false);
                self.saw(last);
            }
            ServerFrame::Notification { item } => self.saw(item.id),
            ServerFrame::Unread { count } => self.unread.set(Some(count)),
            ServerFrame::Deliveries { changes, .. } => {
                self.last_changes.set(changes);
            }
            ServerFrame::Analytics => self.analytics_tick.update(|n| *n += 1),
            ServerFrame::Resync => self.resync(),
            ServerFrame::Pong => {}
        }
    }

    fn saw(&self, id: i64) {
        self.last_seen
            .update_value(|last| *last = Some(last.map_or(id, |l| l.max(id))));
    }

    pub fn resync(&self) {
        self.resyncs.update(|n| *n += 1);
        self.deliveries_tick.update(|n| *n += 1);
        self.analytics_tick.update(|n| *n += 1);
    }

    /// The newest notification id this page has seen over the socket.
    pub fn last_notification_id(&self) -> Option<i64> {
        self.last_seen.get_value()
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}
