//! Hands each batch of the live feed to every open socket of this instance.
//!
//! One task listens to the feed; for each batch it encodes the shared frames
//! once and writes them into every socket that may see them (see
//! [`super::peer`]); only a socket whose user has new inbox items, or that
//! must resync, has its own task woken. Beyond a few hundred sockets the
//! writes are spread over the machine's cores on blocking threads, so a
//! fan-out neither holds up a runtime worker nor runs on one core alone.

use super::peer::{text_frame, Due, Peer};
use app::live::feed::{Batch, Feed};
use app::live::ServerFrame;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// Registry shards: a socket arriving or leaving locks one of these, briefly.
const SHARDS: usize = 64;
/// Below this many sockets one thread writes them all.
const SPREAD_FROM: usize = 512;

/// The open sockets of this instance.
pub(super) struct Peers {
    shards: Vec<Mutex<HashMap<u64, Arc<Peer>>>>,
    next: AtomicU64,
    count: AtomicUsize,
}

/// Removes its socket from the registry when the socket's task ends.
pub(super) struct Registered<'a> {
    peers: &'a Peers,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let shard = &self.peers.shards[self.id as usize % SHARDS];
        if shard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id)
            .is_some()
        {
            self.peers.count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Peers {
    pub fn new() -> Peers {
        Peers {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            next: AtomicU64::new(0),
            count: AtomicUsize::new(0),
        }
    }

    pub fn add(&self, peer: Arc<Peer>) -> Registered<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.shards[id as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, peer);
        self.count.fetch_add(1, Ordering::Relaxed);
        Registered { peers: self, id }
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// The sockets of some shards, copied out so no lock is held while
    /// writing.
    fn snapshot(&self, shards: impl Iterator<Item = usize>) -> Vec<Arc<Peer>> {
        let mut all = Vec::new();
        for i in shards {
            let shard = self.shards[i].lock().unwrap_or_else(|e| e.into_inner());
            all.extend(shard.values().cloned());
        }
        all
    }
}

/// A batch as the sockets get it: its shared frames encoded once.
struct Delivery {
    batch: Arc<Batch>,
    deliveries: Option<Vec<u8>>,
    analytics: Option<Vec<u8>>,
}

impl Delivery {
    fn of(batch: Arc<Batch>) -> Delivery {
        let deliveries = batch.deliveries_frame.as_ref().map(|f| text_frame(f));
        let analytics = batch.analytics.then(|| {
            text_frame(&serde_json::to_string(&ServerFrame::Analytics).expect("frames serialise"))
        });
        Delivery {
            batch,
            deliveries,
            analytics,
        }
    }

    fn to(&self, peer: &Peer) {
        let due = Due {
            inbox: self.batch.has_inbox_for(peer.user),
            resync: self.batch.resync,
        };
        if due != Due::default() {
            peer.flag(due);
        }
        if peer.deliveries {
            if let Some(frame) = &self.deliveries {
                peer.share(frame);
            }
        }
        if peer.analytics {
            if let Some(frame) = &self.analytics {
                peer.share(frame);
            }
        }
    }
}

/// Runs until shutdown (or the feed ends).
pub(super) async fn run(feed: Feed, peers: Arc<Peers>, shutdown: CancellationToken) {
    let mut batches = feed.subscribe();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => return,
            batch = batches.recv() => match batch {
                Ok(batch) => batch,
                // This task fell behind the feed: every socket reloads.
                Err(RecvError::Lagged(_)) => Arc::new(Batch {
                    inbox: Vec::new(),
                    deliveries_frame: None,
                    resync: true,
                    analytics: false,
                }),
                Err(RecvError::Closed) => return,
            },
        };
        let delivery = Arc::new(Delivery::of(batch));
        if threads == 1 || peers.len() < SPREAD_FROM {
            for peer in peers.snapshot(0..SHARDS) {
                delivery.to(&peer);
            }
            continue;
        }
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let (peers, delivery) = (peers.clone(), delivery.clone());
                tokio::task::spawn_blocking(move || {
                    for peer in peers.snapshot((t..SHARDS).step_by(threads)) {
                        delivery.to(&peer);
                    }
                })
            })
            .collect();
        for part in parts {
            if let Err(e) = part.await {
                tracing::error!("live fan-out: {e}");
            }
        }
    }
}
