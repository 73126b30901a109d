//! API keys for the ticketing system. Only a SHA-256 of each key is stored;
//! the key itself is shown once, when it is made.

use crate::audit::{audit, Actor};
use crate::db::Db;
use crate::{in_tx, now_ms, on_db, on_db_write, Error};
use base64::Engine;
use domain::views::api_keys::ApiKeyView;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Every key starts so, which makes a leaked one easy to search for.
pub const PREFIX: &str = "nk_";

pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The insert, on a pool or in a transaction.
macro_rules! insert_key {
    ($exec:expr, $name:expr, $key:expr, $created_by:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO api_keys (name, prefix, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind($name)
        .bind($key.chars().take(10).collect::<String>())
        .bind(hash($key))
        .bind($created_by)
        .bind(now_ms())
        .fetch_one($exec)
        .await?
    };
}

/// Makes a key for `actor` and notes it in the audit trail (its name and
/// prefix, never the key); returns its id and the key (shown once).
pub async fn create(db: &Db, actor: &Actor, name: &str) -> Result<(i64, String), Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| crate::error::internal("random", &e))?;
    let key = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let prefix: String = key.chars().take(10).collect();
    let id = in_tx!(db, |tx| {
        let id = insert_key!(&mut *tx, name, &key, actor.id.map(|u| u.0));
        let after = json!({"name": name, "prefix": prefix}).to_string();
        audit!(
            tx,
            actor,
            "api_key.create",
            &format!("{name} ({prefix}…)"),
            None::<String>,
            Some(after),
            now_ms()
        );
        id
    });
    Ok((id, key))
}

/// Stores a given key (the documented demo key, tests).
pub async fn insert(db: &Db, name: &str, key: &str, created_by: Option<i64>) -> Result<i64, Error> {
    let id: i64 = on_db_write!(db, |pool| insert_key!(pool, name, key, created_by));
    Ok(id)
}

/// The id of the key with this hash, unless it was revoked.
pub async fn find(db: &Db, key_hash: &str) -> Result<Option<i64>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await?))
}

/// Who key `id` is in the audit trail.
pub async fn actor(db: &Db, id: i64) -> Result<Actor, Error> {
    let row: Option<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT name, prefix FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let (name, prefix) = row.unwrap_or_else(|| (format!("#{id}"), PREFIX.to_owned()));
    Ok(Actor::api_key(&name, &prefix))
}

/// Notes that key `id` was used now.
pub async fn touch(db: &Db, id: i64) -> Result<(), Error> {
    on_db_write!(db, |pool| sqlx::query(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2"
    )
    .bind(now_ms())
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}

/// id, name, prefix, created_at, creator's name, last_used_at, revoked_at.
type KeyRow = (
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// Every key, the live ones first, newest first; never a key, only its
/// prefix.
pub async fn list(db: &Db) -> Result<Vec<ApiKeyView>, Error> {
    let rows: Vec<KeyRow> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT k.id, k.name, k.prefix, k.created_at, u.name, k.last_used_at, k.revoked_at
                 FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
                 ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(id, name, prefix, created_at, created_by, last_used_at, revoked_at)| ApiKeyView {
                id,
                name,
                prefix,
                created_at,
                created_by,
                last_used_at,
                revoked_at,
            },
        )
        .collect())
}

/// Revokes key `id` (again: no change, and no second audit entry). The
/// caller announces it (`Feed::key_revoked`) so that every instance's
/// lookup cache forgets it at once.
pub async fn revoke(db: &Db, actor: &Actor, id: i64, now: i64) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let row: Option<(String, String, Option<i64>)> =
            sqlx::query_as("SELECT name, prefix, revoked_at FROM api_keys WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((name, prefix, revoked_at)) = row else {
            return Err(Error::NotFound(domain::words::Missing::ApiKey(id)));
        };
        if revoked_at.is_none() {
            sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let before = json!({"name": name, "prefix": prefix, "revoked": false}).to_string();
            let after = json!({"name": name, "prefix": prefix, "revoked": true}).to_string();
            audit!(
                tx,
                actor,
                "api_key.revoke",
                &format!("{name} ({prefix}…)"),
                Some(before),
                Some(after),
                now
            );
        }
    });
    Ok(())
}
