//! API keys for the ticketing system (stored as `storage::api_keys`: only a
//! hash). Lookups are cached briefly, so ingestion at a thousand events a
//! second does not read the table each time (a revoked key stops working
//! within the cache's lifetime).

use std::collections::HashMap;
use std::time::{Duration, Instant};
use storage::api_keys::{find, hash, touch};
use storage::db::Db;
use tokio::sync::RwLock;

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
}
