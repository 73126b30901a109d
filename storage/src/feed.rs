//! The server's side of live updates: one [`Feed`] per instance.
//!
//! Writers (the event writer, the dispatcher, status webhooks, server
//! functions) call [`Feed::inbox`], [`Feed::deliveries`] or [`Feed::added`]
//! after their transaction commits: a few
//! nanoseconds under a mutex, so the hot paths do not wait for sockets. The
//! relay task ([`Feed::run`]) hands a change on at once, and coalesces what
//! arrives in the next few milliseconds into one [`Batch`], hands it through
//! a broadcast channel to this instance's fan-out (which writes it into every
//! socket; `server::live`), and on PostgreSQL sends it to the other instances
//! with `pg_notify`, whose own relay hands it to their sockets.
//!
//! A batch says *who* has new inbox items and *which* deliveries changed; the
//! socket reads the items themselves from the database, so a notification
//! missed for any reason is still found by the next one (ids only grow).

use crate::db::Db;
use domain::live::{DeliveryChange, ServerFrame};
use domain::UserId;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

/// The PostgreSQL channel the instances share.
pub const CHANNEL: &str = "notifikasi_live";
/// The shortest spell between two batches: a burst of sends becomes one frame
/// every 10 ms at most, short next to the 100 ms budget.
const COALESCE: Duration = Duration::from_millis(10);
/// Delivery changes per NOTIFY (each ~35 bytes; PostgreSQL allows 8,000).
const NOTIFY_CHUNK: usize = 150;
/// Beyond this many pending changes nobody is draining: keep a resync instead.
const MAX_PENDING: usize = 200_000;
/// Batches a slow socket may fall behind before it is told to resync.
const BACKLOG: usize = 512;

/// What changed, as the instances tell each other.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Changes {
    /// The instance that saw them (its own notifications come back to it).
    #[serde(default)]
    pub origin: String,
    /// Users with new or re-read inbox items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbox: Vec<UserId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryChange>,
    /// Users who signed out: their other sockets check their sessions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_out: Vec<UserId>,
    /// New deliveries were queued.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub added: bool,
    /// Changes were lost: every socket should reload.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resync: bool,
    /// An API key was revoked: every instance forgets the keys it had
    /// verified, so the revoked one is refused at once, not when its cache
    /// entry expires.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keys_revoked: bool,
    /// This instance recomputed the analytics rollups (not passed on: each
    /// instance recomputes from the changes it hears of).
    #[serde(skip)]
    pub analytics: bool,
}

impl Changes {
    /// Whether the other instances need to hear of these.
    fn relayed(&self) -> bool {
        !self.inbox.is_empty()
            || !self.deliveries.is_empty()
            || !self.signed_out.is_empty()
            || self.added
            || self.resync
            || self.keys_revoked
    }

    fn is_empty(&self) -> bool {
        !self.relayed() && !self.analytics
    }
}

/// One coalesced set of changes, as every socket of this instance gets it.
#[derive(Debug)]
pub struct Batch {
    /// Sorted, so a socket finds its user by binary search.
    pub inbox: Vec<UserId>,
    /// The deliveries frame, serialised once for all sockets that may see it
    /// (cloning it shares the bytes).
    pub deliveries_frame: Option<String>,
    /// Users who signed out, sorted.
    pub signed_out: Vec<UserId>,
    pub resync: bool,
    pub analytics: bool,
    /// Forget verified API keys (one was revoked).
    pub keys_revoked: bool,
}

impl Batch {
    fn of(changes: Changes) -> Batch {
        let mut inbox = changes.inbox;
        inbox.sort_unstable();
        inbox.dedup();
        let deliveries_frame = (!changes.deliveries.is_empty() || changes.added).then(|| {
            let frame = ServerFrame::Deliveries {
                changes: changes.deliveries,
                added: changes.added,
            };
            serde_json::to_string(&frame).expect("frames serialise")
        });
        let mut signed_out = changes.signed_out;
        signed_out.sort_unstable();
        signed_out.dedup();
        Batch {
            inbox,
            signed_out,
            deliveries_frame,
            resync: changes.resync,
            analytics: changes.analytics,
            keys_revoked: changes.keys_revoked,
        }
    }

    pub fn has_inbox_for(&self, user_id: UserId) -> bool {
        self.inbox.binary_search(&user_id).is_ok()
    }
}

#[derive(Default)]
struct Pending {
    inbox: BTreeSet<UserId>,
    signed_out: BTreeSet<UserId>,
    deliveries: Vec<DeliveryChange>,
    added: bool,
    resync: bool,
    analytics: bool,
    keys_revoked: bool,
}

struct Inner {
    origin: String,
    pending: Mutex<Pending>,
    kick: Notify,
    batches: broadcast::Sender<Arc<Batch>>,
}

/// This instance's live feed. Cheap to clone.
#[derive(Clone)]
pub struct Feed(Arc<Inner>);

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("origin", &self.0.origin)
            .finish()
    }
}

impl Default for Feed {
    fn default() -> Self {
        Self::new()
    }
}

impl Feed {
    pub fn new() -> Feed {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the OS has randomness");
        let (batches, _) = broadcast::channel(BACKLOG);
        Feed(Arc::new(Inner {
            origin: hex::encode(bytes),
            pending: Mutex::new(Pending::default()),
            kick: Notify::new(),
            batches,
        }))
    }

    fn pending(&self, change: impl FnOnce(&mut Pending)) {
        {
            let mut p = self.0.pending.lock().unwrap_or_else(|e| e.into_inner());
            change(&mut p);
            if p.deliveries.len() + p.inbox.len() > MAX_PENDING {
                *p = Pending {
                    resync: true,
                    ..Pending::default()
                };
            }
        }
        self.0.kick.notify_one();
    }

    /// These users have new inbox items, or read some.
    pub fn inbox(&self, users: impl IntoIterator<Item = UserId>) {
        self.pending(|p| p.inbox.extend(users));
    }

    /// These deliveries changed status.
    pub fn deliveries(&self, changes: impl IntoIterator<Item = DeliveryChange>) {
        self.pending(|p| p.deliveries.extend(changes));
    }

    /// A session of this user ended: their open sockets check theirs at
    /// once, on every instance, instead of at their next periodic check.
    pub fn signed_out(&self, user: UserId) {
        self.pending(|p| {
            p.signed_out.insert(user);
        });
    }

    /// An API key was revoked: every instance's key cache forgets.
    pub fn key_revoked(&self) {
        self.pending(|p| p.keys_revoked = true);
    }

    /// New deliveries were queued.
    pub fn added(&self) {
        self.pending(|p| p.added = true);
    }

    /// The analytics rollups were recomputed.
    pub fn analytics(&self) {
        self.pending(|p| p.analytics = true);
    }

    /// The batches from now on (the fan-out's and the analytics refresh's view).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Batch>> {
        self.0.batches.subscribe()
    }

    fn take(&self) -> Changes {
        let p = std::mem::take(&mut *self.0.pending.lock().unwrap_or_else(|e| e.into_inner()));
        Changes {
            origin: self.0.origin.clone(),
            inbox: p.inbox.into_iter().collect(),
            signed_out: p.signed_out.into_iter().collect(),
            deliveries: p.deliveries,
            added: p.added,
            resync: p.resync,
            analytics: p.analytics,
            keys_revoked: p.keys_revoked,
        }
    }

    fn hand_out(&self, changes: Changes) {
        // With no socket open (a busy API-only hour) there is nothing to build.
        if self.0.batches.receiver_count() > 0 {
            let _ = self.0.batches.send(Arc::new(Batch::of(changes)));
        }
    }

    /// The relay: runs until `shutdown`. On PostgreSQL it also listens to the
    /// other instances.
    pub async fn run(self, db: Db, shutdown: CancellationToken) {
        let pg = match &db {
            Db::Postgres(pool) => Some(pool.clone()),
            Db::Sqlite(..) => None,
        };
        if let Some(pool) = pg.clone() {
            tokio::spawn(self.clone().listen(pool, shutdown.clone()));
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.0.kick.notified() => {}
            }
            // Leading edge: a change after a quiet spell goes out at once;
            // what follows within COALESCE waits for the next batch.
            let changes = self.take();
            if !changes.is_empty() {
                let payloads = match &pg {
                    Some(_) if changes.relayed() => notify_payloads(&changes),
                    _ => Vec::new(),
                };
                // This instance's sockets first; the others hear of it next.
                self.hand_out(changes);
                if let Some(pool) = &pg {
                    for payload in payloads {
                        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(CHANNEL)
                            .bind(&payload)
                            .execute(pool)
                            .await
                        {
                            tracing::warn!("live: cannot notify the other instances: {e}");
                        }
                    }
                }
            }
            tokio::time::sleep(COALESCE).await;
        }
    }

    /// Hands the other instances' changes to this instance's sockets. After a
    /// lost connection whatever was sent meanwhile is gone, so every socket
    /// is told to resync.
    async fn listen(self, pool: sqlx::PgPool, shutdown: CancellationToken) {
        let mut listener = loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => break l,
                    Err(e) => tracing::warn!("live: LISTEN failed: {e}"),
                },
                Err(e) => tracing::warn!("live: cannot connect to listen: {e}"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        };
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                n = listener.try_recv() => n,
            };
            match next {
                Ok(Some(n)) => match serde_json::from_str::<Changes>(n.payload()) {
                    Ok(c) if c.origin == self.0.origin => {}
                    Ok(c) => self.hand_out(c),
                    Err(e) => tracing::warn!("live: unreadable notification: {e}"),
                },
                Ok(None) => {
                    tracing::warn!("live: the LISTEN connection was lost; sockets will resync");
                    self.hand_out(Changes {
                        resync: true,
                        ..Changes::default()
                    });
                }
                Err(e) => {
                    tracing::warn!("live: listening failed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Splits changes into NOTIFY payloads under PostgreSQL's 8,000-byte limit:
/// the flags and inbox users first, then the delivery changes.
fn notify_payloads(changes: &Changes) -> Vec<String> {
    let empty = Changes {
        origin: changes.origin.clone(),
        ..Changes::default()
    };
    // Sign-outs are rare: a handful of ids.
    let mut out = vec![Changes {
        added: changes.added,
        resync: changes.resync,
        keys_revoked: changes.keys_revoked,
        signed_out: changes.signed_out.clone(),
        ..empty.clone()
    }];
    // An inbox id is at most 20 bytes; a delivery change about 45.
    for (i, users) in changes.inbox.chunks(300).enumerate() {
        if i > 0 {
            out.push(empty.clone());
        }
        out.last_mut().expect("one at least").inbox = users.to_vec();
    }
    for chunk in changes.deliveries.chunks(NOTIFY_CHUNK) {
        out.push(Changes {
            deliveries: chunk.to_vec(),
            ..empty.clone()
        });
    }
    out.retain(Changes::relayed);
    out.into_iter()
        .map(|c| serde_json::to_string(&c).expect("changes serialise"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::DeliveryStatus;

    fn change(id: i64) -> DeliveryChange {
        DeliveryChange {
            id: domain::DeliveryId(id),
            status: DeliveryStatus::Delivered,
        }
    }

    #[test]
    fn payloads_stay_under_the_notify_limit_and_lose_nothing() {
        let changes = Changes {
            origin: "abcdef0123456789".into(),
            inbox: (1_000_000_000_000..1_000_000_000_700).map(UserId).collect(),
            deliveries: (1_000_000_000_000..1_000_000_001_000).map(change).collect(),
            signed_out: vec![UserId(42)],
            added: true,
            resync: false,
            analytics: false,
            keys_revoked: true,
        };
        let payloads = notify_payloads(&changes);
        assert!(payloads.len() > 1);
        let mut inbox = Vec::new();
        let mut deliveries = Vec::new();
        let mut added = 0;
        let mut revoked = 0;
        let mut signed_out = Vec::new();
        for p in &payloads {
            assert!(p.len() < 8_000, "payload of {} bytes", p.len());
            let c: Changes = serde_json::from_str(p).unwrap();
            assert_eq!(c.origin, changes.origin);
            inbox.extend(c.inbox);
            deliveries.extend(c.deliveries);
            added += usize::from(c.added);
            revoked += usize::from(c.keys_revoked);
            signed_out.extend(c.signed_out);
        }
        assert_eq!(
            signed_out,
            [UserId(42)],
            "a sign-out reaches the other instances once"
        );
        assert_eq!(inbox, changes.inbox);
        assert_eq!(deliveries, changes.deliveries);
        assert_eq!(added, 1);
        assert_eq!(revoked, 1, "a revoked key reaches the other instances");
        let only_revoked = Changes {
            keys_revoked: true,
            ..Changes::default()
        };
        assert_eq!(notify_payloads(&only_revoked).len(), 1);

        // Each instance recomputes its own analytics: that flag stays home.
        let local_only = Changes {
            analytics: true,
            ..Changes::default()
        };
        assert!(notify_payloads(&local_only).is_empty());
    }

    #[test]
    fn a_batch_serialises_its_deliveries_frame_once_and_finds_users() {
        let batch = Batch::of(Changes {
            inbox: [9, 3, 3, 5].map(UserId).to_vec(),
            deliveries: vec![change(1)],
            ..Changes::default()
        });
        assert!(
            batch.has_inbox_for(UserId(3))
                && batch.has_inbox_for(UserId(9))
                && !batch.has_inbox_for(UserId(4))
        );
        let frame: ServerFrame =
            serde_json::from_str(batch.deliveries_frame.as_deref().unwrap()).unwrap();
        assert_eq!(
            frame,
            ServerFrame::Deliveries {
                changes: vec![change(1)],
                added: false
            }
        );
        let inbox_only = Batch::of(Changes {
            inbox: vec![UserId(1)],
            ..Changes::default()
        });
        assert!(inbox_only.deliveries_frame.is_none());
    }

    #[tokio::test]
    async fn the_relay_coalesces_published_changes_into_one_batch() {
        let db = crate::db::Db::connect("sqlite::memory:", 1).await.unwrap();
        let feed = Feed::new();
        let mut rx = feed.subscribe();
        let stop = CancellationToken::new();
        let relay = tokio::spawn(feed.clone().run(db, stop.clone()));
        feed.inbox([UserId(4)]);
        feed.deliveries([change(10), change(11)]);
        feed.added();
        let batch = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(batch.inbox, vec![UserId(4)]);
        let frame: ServerFrame =
            serde_json::from_str(batch.deliveries_frame.as_deref().unwrap()).unwrap();
        assert_eq!(
            frame,
            ServerFrame::Deliveries {
                changes: vec![change(10), change(11)],
                added: true
            }
        );
        stop.cancel();
        relay.await.unwrap();
    }
}
