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
pub use storage::feed;

pub use domain::live::{ClientFrame, DeliveryChange, ServerFrame};

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
