//! Hands each batch of the live feed to every open socket of this instance.
//!
//! One task listens to the feed; for each batch it encodes the shared frames
//! once and writes them into every socket that may see them (see
//! [`super::peer`]); only a socket whose user has new inbox items, or that
//! must resync, has its own task woken. Beyond a few hundred sockets the
//! writes are spread over the machine's cores on blocking threads, so a
//! fan-out neither holds up a runtime worker nor runs on one core alone.

use super::peer::{encode, text_frame, Due, Peer};
use app::live::ServerFrame;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use storage::feed::{Batch, Feed};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;
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
            metrics::gauge!(crate::metrics::WEBSOCKETS).decrement(1.0);
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
        metrics::gauge!(crate::metrics::WEBSOCKETS).increment(1.0);
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

/// The batches waiting when the fan-out is ready, as the sockets get them:
/// the shared frames encoded once and laid end to end, so that a socket
/// takes all of them in one write (under load, several batches wait).
#[derive(Default)]
struct Delivery {
    /// Users with inbox news, sorted.
    inbox: Vec<domain::UserId>,
    /// Users who signed out somewhere, sorted.
    signed_out: Vec<domain::UserId>,
    resync: bool,
    /// Deliveries frames, one per batch, in order.
    deliveries: Vec<u8>,
    /// One analytics frame for all the batches that had one.
    analytics: Option<Vec<u8>>,
}

/// Batches one fan-out takes at most.
const MERGE: usize = 64;

impl Delivery {
    fn add(&mut self, batch: &Batch) {
        self.inbox.extend(&batch.inbox);
        self.signed_out.extend(&batch.signed_out);
        self.resync |= batch.resync;
        if let Some(frame) = &batch.deliveries_frame {
            self.deliveries.extend(text_frame(frame));
        }
        if batch.analytics && self.analytics.is_none() {
            self.analytics = Some(encode(&ServerFrame::Analytics));
        }
    }

    /// Every batch that is waiting, from the first.
    fn gather(
        first: Result<Arc<Batch>, RecvError>,
        batches: &mut Receiver<Arc<Batch>>,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        let mut next = first;
        for _ in 0..MERGE {
            match next {
                Ok(batch) => delivery.add(&batch),
                // This fan-out fell behind the feed: every socket reloads.
                Err(RecvError::Lagged(_)) => delivery.resync = true,
                Err(RecvError::Closed) => break,
            }
            next = match batches.try_recv() {
                Ok(batch) => Ok(batch),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            };
        }
        delivery.inbox.sort_unstable();
        delivery.inbox.dedup();
        delivery.signed_out.sort_unstable();
        delivery.signed_out.dedup();
        delivery
    }

    fn to(&self, peer: &Peer) {
        let due = Due {
            inbox: self.inbox.binary_search(&peer.user).is_ok(),
            resync: self.resync,
            session: self.signed_out.binary_search(&peer.user).is_ok(),
        };
        if due != Due::default() {
            peer.flag(due);
        }
        if peer.deliveries && !self.deliveries.is_empty() {
            peer.share(&self.deliveries);
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
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            first = batches.recv() => match first {
                Err(RecvError::Closed) => return,
                first => first,
            },
        };
        let delivery = Arc::new(Delivery::gather(first, &mut batches));
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast;

    fn batch(inbox: &[i64], deliveries: Option<&str>, analytics: bool) -> Arc<Batch> {
        Arc::new(Batch {
            inbox: inbox.iter().copied().map(domain::UserId).collect(),
            deliveries_frame: deliveries.map(Into::into),
            signed_out: Vec::new(),
            resync: false,
            analytics,
            keys_revoked: false,
        })
    }

    #[test]
    fn sign_outs_of_waiting_batches_are_gathered_once() {
        let (tx, mut rx) = broadcast::channel(8);
        let signed_out = |users: &[i64]| {
            Arc::new(Batch {
                inbox: Vec::new(),
                deliveries_frame: None,
                signed_out: users.iter().copied().map(domain::UserId).collect(),
                resync: false,
                analytics: false,
                keys_revoked: false,
            })
        };
        tx.send(signed_out(&[5])).unwrap();
        tx.send(signed_out(&[5, 2])).unwrap();
        let first = rx.try_recv().map_err(|_| RecvError::Closed);
        let d = Delivery::gather(first, &mut rx);
        assert_eq!(d.signed_out, [2, 5].map(domain::UserId));
        assert!(d.inbox.is_empty() && !d.resync);
    }

    #[test]
    fn waiting_batches_go_out_together_in_order() {
        let (tx, mut rx) = broadcast::channel(8);
        tx.send(batch(&[7], Some("a"), true)).unwrap();
        tx.send(batch(&[3, 7], None, false)).unwrap();
        tx.send(batch(&[], Some("b"), true)).unwrap();
        let first = rx.try_recv().map_err(|_| RecvError::Closed);
        let d = Delivery::gather(first, &mut rx);
        assert_eq!(d.inbox, [3, 7].map(domain::UserId));
        assert!(!d.resync);
        assert_eq!(d.deliveries, [text_frame("a"), text_frame("b")].concat());
        assert_eq!(
            d.analytics.unwrap(),
            text_frame(r#"{"type":"analytics"}"#),
            "one analytics frame for both"
        );
        assert!(rx.try_recv().is_err(), "all were taken");
    }

    #[test]
    fn a_fan_out_behind_the_feed_makes_every_socket_resync() {
        let (tx, mut rx) = broadcast::channel(2);
        for frame in ["a", "b", "c"] {
            tx.send(batch(&[], Some(frame), false)).unwrap();
        }
        // The oldest was overwritten: the receiver hears of the loss first.
        let first = match rx.try_recv() {
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            other => panic!("expected a lag, got {other:?}"),
        };
        let d = Delivery::gather(first, &mut rx);
        assert!(d.resync);
        assert_eq!(d.deliveries, [text_frame("b"), text_frame("c")].concat());
    }
}
