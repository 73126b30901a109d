//! Provider status callbacks applied to the outbox monotonically (sent <
//! delivered < read; failed only before delivery), held when they arrive
//! before their send is recorded, and kept for audit.

use super::dispatch::{Attempted, Outcome};
use crate::db::Db;
use crate::error::Error;
use crate::{on_db, on_db_write};
use domain::live::DeliveryChange;
use domain::{DeliveryId, DeliveryStatus};

/// How a status callback names its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKey<'a> {
    Id(&'a str),
    /// Fonnte's `stateid`.
    Ref(&'a str),
}

/// Applies a provider status to the delivery it names, only if it moves the
/// delivery forward (sent < delivered < read; failed only before delivery).
/// Returns the delivery id and its new status, or `None` if nothing changed
/// (unknown message, duplicate, or out of order).
pub async fn apply_status(
    db: &Db,
    provider: &str,
    key: MessageKey<'_>,
    status: DeliveryStatus,
    at: i64,
    error: Option<&str>,
) -> Result<Option<(DeliveryId, DeliveryStatus)>, Error> {
    let allowed_from: &[&str] = match status {
        DeliveryStatus::Sent => &["sending"],
        DeliveryStatus::Delivered => &["sending", "sent"],
        DeliveryStatus::Read => &["sending", "sent", "delivered"],
        DeliveryStatus::Failed => &["sending", "sent"],
        _ => return Ok(None),
    };
    let (column, value) = match key {
        MessageKey::Id(v) => ("provider_message_id", v),
        MessageKey::Ref(v) => ("provider_ref", v),
    };
    let from_list = allowed_from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    // Both interpolations are constants chosen above, never input.
    let sql = format!(
        "UPDATE deliveries SET status = $1,
             delivered_at = CASE WHEN $1 IN ('delivered','read') THEN COALESCE(delivered_at, $2) ELSE delivered_at END,
             read_at = CASE WHEN $1 = 'read' THEN COALESCE(read_at, $2) ELSE read_at END,
             failed_at = CASE WHEN $1 = 'failed' THEN $2 ELSE failed_at END,
             error = CASE WHEN $1 = 'failed' THEN $3 ELSE error END,
             updated_at = $2
         WHERE provider = $4 AND {column} = $5 AND status IN ({from_list})
         RETURNING id"
    );
    let id: Option<DeliveryId> =
        on_db_write!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(at)
            .bind(error)
            .bind(provider)
            .bind(value)
            .fetch_optional(pool)
            .await?);
    Ok(id.map(|id| (id, status)))
}

/// Links Fonnte's `stateid` to the message id it returned at send time.
pub async fn link_reference(
    db: &Db,
    provider: &str,
    message_id: &str,
    reference: &str,
) -> Result<bool, Error> {
    let n = on_db_write!(db, |pool| {
        sqlx::query(
        "UPDATE deliveries SET provider_ref = $1 WHERE provider = $2 AND provider_message_id = $3"
    )
    .bind(reference)
    .bind(provider)
    .bind(message_id)
    .execute(pool)
    .await?
    .rows_affected()
    });
    Ok(n > 0)
}

/// Keeps a provider callback for audit.
pub async fn log_callback(
    db: &Db,
    provider: &str,
    account_id: Option<i64>,
    body: &str,
    outcome: &str,
    now: i64,
) -> Result<(), Error> {
    on_db_write!(db, |pool| {
        sqlx::query(
        "INSERT INTO provider_callbacks (provider, account_id, received_at, body, outcome) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(provider)
    .bind(account_id)
    .bind(now)
    .bind(body)
    .bind(outcome)
    .execute(pool)
    .await
    .map(|_| ())?
    });
    Ok(())
}

/// Forgets the callbacks received before `before` (ms); answers how many.
pub async fn prune_callbacks(db: &Db, before: i64) -> Result<u64, Error> {
    Ok(on_db_write!(db, |pool| {
        // The replies' ids go with them: a webhook is not retried for days.
        sqlx::query("DELETE FROM inbound_messages WHERE received_at < $1")
            .bind(before)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM provider_callbacks WHERE received_at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())?
    }))
}

/// What a status callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The delivery moved to this status.
    Moved(DeliveryId, DeliveryStatus),
    /// The delivery exists; the status is a duplicate or out of order.
    Unchanged,
    /// No delivery has this id yet: held until its send is recorded.
    Held,
}

fn early_key(key: &MessageKey<'_>) -> String {
    match key {
        MessageKey::Id(id) => (*id).to_owned(),
        MessageKey::Ref(r) => format!("ref:{r}"),
    }
}

/// Applies a status callback; one for a message whose send is not recorded
/// yet is held in `early_statuses` (see [`replay_early`]). `reference` is a
/// Fonnte stateid that came with the message id.
pub async fn apply_or_hold(
    db: &Db,
    provider: &str,
    key: MessageKey<'_>,
    status: DeliveryStatus,
    at: i64,
    error: Option<&str>,
    reference: Option<&str>,
) -> Result<Applied, Error> {
    if let Some((id, s)) = apply_status(db, provider, key.clone(), status, at, error).await? {
        return Ok(Applied::Moved(id, s));
    }
    let (column, value) = match &key {
        MessageKey::Id(v) => ("provider_message_id", *v),
        MessageKey::Ref(v) => ("provider_ref", *v),
    };
    let exists: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM deliveries WHERE provider = $1 AND {column} = $2 LIMIT 1"
    )))
    .bind(provider)
    .bind(value)
    .fetch_optional(pool)
    .await?);
    if exists.is_some() {
        return Ok(Applied::Unchanged);
    }
    on_db_write!(db, |pool| {
        sqlx::query(
        "INSERT INTO early_statuses (provider, message_key, status, at, error, reference, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(provider)
    .bind(early_key(&key))
    .bind(status.as_str())
    .bind(at)
    .bind(error)
    .bind(reference)
    .bind(crate::now_ms())
    .execute(pool)
    .await
    .map(|_| ())?
    });
    Ok(Applied::Held)
}

#[derive(sqlx::FromRow)]
struct Early {
    id: i64,
    message_key: String,
    status: String,
    at: i64,
    error: Option<String>,
    reference: Option<String>,
}

/// Applies held statuses of messages whose sends were just recorded:
/// `sent` holds (provider, message id). Returns the changes that applied.
pub async fn replay_early(
    db: &Db,
    sent: &[(String, String)],
) -> Result<Vec<DeliveryChange>, Error> {
    // Nearly always empty: one cheap look before anything else.
    let any: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM early_statuses LIMIT 1"
    )
    .fetch_optional(pool)
    .await?);
    if any.is_none() || sent.is_empty() {
        return Ok(Vec::new());
    }
    let mut applied = Vec::new();
    for (provider, message_id) in sent {
        let mut held = held_for(db, provider, message_id).await?;
        // Receipts keyed by a reference that arrived with this message id.
        let references: Vec<String> = held.iter().filter_map(|e| e.reference.clone()).collect();
        for r in &references {
            link_reference(db, provider, message_id, r).await?;
            held.extend(held_for(db, provider, &format!("ref:{r}")).await?);
        }
        // Oldest state first, so each one can move the delivery forward.
        held.sort_by_key(|e| {
            DeliveryStatus::parse(&e.status)
                .map(|s| s.rank())
                .unwrap_or(0)
        });
        for e in &held {
            let Ok(status) = DeliveryStatus::parse(&e.status) else {
                continue;
            };
            let key = match e.message_key.strip_prefix("ref:") {
                Some(r) => MessageKey::Ref(r),
                None => MessageKey::Id(&e.message_key),
            };
            if let Some((id, status)) =
                apply_status(db, provider, key, status, e.at, e.error.as_deref()).await?
            {
                applied.push(DeliveryChange { id, status });
            }
            on_db_write!(db, |pool| sqlx::query(
                "DELETE FROM early_statuses WHERE id = $1"
            )
            .bind(e.id)
            .execute(pool)
            .await
            .map(|_| ())?);
        }
    }
    Ok(applied)
}

/// The callbacks held for one message key, oldest first.
async fn held_for(db: &Db, provider: &str, key: &str) -> Result<Vec<Early>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT id, message_key, status, at, error, reference FROM early_statuses
         WHERE provider = $1 AND message_key = $2 ORDER BY id"
    )
    .bind(provider)
    .bind(key)
    .fetch_all(pool)
    .await?))
}

/// The (provider, message id) of each sent outcome, for [`replay_early`].
pub fn sent_ids(results: &[Attempted]) -> Vec<(String, String)> {
    results
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Sent {
                provider,
                message_id: Some(m),
                ..
            } => Some((provider.clone(), m.clone())),
            _ => None,
        })
        .collect()
}

/// Drops held callbacks that never found their send (an hour is far longer
/// than any send takes to be recorded).
pub async fn expire_early(db: &Db, before: i64) -> Result<u64, Error> {
    let n = on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM early_statuses WHERE received_at < $1"
    )
    .bind(before)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n)
}
