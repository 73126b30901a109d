//! API keys for the ticketing system. Only a SHA-256 of each key is stored; the
//! key itself is shown once, when it is made. Lookups are cached briefly, so
//! ingestion at a thousand events a second does not read the table each time
//! (a revoked key stops working within the cache's lifetime).

use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use storage::db::Db;
use storage::now_ms;
use storage::{on_db, on_db_write};
use tokio::sync::RwLock;

pub const PREFIX: &str = "nk_";

pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Makes a key; returns its id and the key (shown once).
pub async fn create(
    db: &Db,
    name: &str,
    created_by: Option<i64>,
) -> Result<(i64, String), storage::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| storage::error::internal("random", &e))?;
    let key = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let id = insert(db, name, &key, created_by).await?;
    Ok((id, key))
}

/// Stores a given key (the documented demo key, tests).
pub async fn insert(
    db: &Db,
    name: &str,
    key: &str,
    created_by: Option<i64>,
) -> Result<i64, storage::Error> {
    let id: i64 = on_db_write!(db, |pool| {
        sqlx::query_scalar(
        "INSERT INTO api_keys (name, prefix, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(name)
    .bind(key.chars().take(10).collect::<String>())
    .bind(hash(key))
    .bind(created_by)
    .bind(now_ms())
    .fetch_one(pool)
    .await?
    });
    Ok(id)
}

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
        let id: Option<i64> = on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
        )
        .bind(&h)
        .fetch_optional(pool)
        .await?);
        let mut known = self.known.write().await;
        match id {
            Some(id) => {
                known.insert(h, (id, Instant::now()));
                drop(known);
                let _ = on_db_write!(&self.db, |pool| sqlx::query(
                    "UPDATE api_keys SET last_used_at = $1 WHERE id = $2"
                )
                .bind(now_ms())
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ()));
            }
            None => {
                known.remove(&h);
            }
        }
        Ok(id)
    }
}
