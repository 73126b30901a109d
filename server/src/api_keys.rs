//! API keys for the ticketing system (stored as `storage::api_keys`: only a
//! hash). Lookups are cached briefly, so ingestion at a thousand events a
//! second does not read the table each time. A revoke is announced on the
//! live feed (`Feed::key_revoked`, relayed between instances on
//! PostgreSQL) and every instance's cache forgets at once; the cache's
//! lifetime bounds only a lost announcement.

use std::collections::HashMap;
use std::time::{Duration, Instant};
use storage::api_keys::{find, hash, touch};
use storage::db::Db;
use storage::feed::Feed;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

pub use storage::api_keys::{create, insert, PREFIX};

/// Verified keys: key hash → (key id, when checked).
pub struct ApiKeyCache {
    db: Db,
    ttl: Duration,
    known: RwLock<HashMap<String, (i64, Instant)>>,
}

impl ApiKeyCache {
    pub fn new(db: Db, ttl: Duration) -> Self {
        ApiKeyCache {
            db,
            ttl,
            known: RwLock::new(HashMap::new()),
        }
    }

    /// The key's id if it is valid and not revoked.
    pub async fn verify(&self, key: &str) -> Result<Option<i64>, storage::Error> {
        let h = hash(key);
        if let Some((id, at)) = self.known.read().await.get(&h) {
            if at.elapsed() < self.ttl {
                return Ok(Some(*id));
            }
        }
        let id = find(&self.db, &h).await?;
        let mut known = self.known.write().await;
        match id {
            Some(id) => {
                known.insert(h, (id, Instant::now()));
                drop(known);
                if let Err(e) = touch(&self.db, id).await {
                    tracing::debug!(key = id, "noting an API key's use: {e}");
                }
            }
            None => {
                known.remove(&h);
            }
        }
        Ok(id)
    }

    /// Forgets every verified key whenever one is revoked (here or on
    /// another instance), or when announcements may have been missed.
    pub async fn forget_on_revoke(&self, feed: &Feed, shutdown: CancellationToken) {
        let mut batches = feed.subscribe();
        loop {
            let forget = tokio::select! {
                _ = shutdown.cancelled() => return,
                batch = batches.recv() => match batch {
                    Ok(b) => b.keys_revoked || b.resync,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                },
            };
            if forget {
                self.known.write().await.clear();
            }
        }
    }
}
