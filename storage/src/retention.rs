//! Retention: the delivery log and the events behind it are deleted after
//! a configurable number of days, so the database does not grow for ever.
//! The analytics rollups (`analytics_*` tables) stay: the figures of a
//! pruned day are kept, only its rows go. Deleted in small batches, each
//! its own short write transaction, so the dispatcher's writes interleave
//! instead of waiting behind one long delete.
//!
//! What goes with them: a delivery's tries; an event, once none of its
//! deliveries is left, takes its inbox items, and its alerts and digest
//! entries (cascade). Tries and inbox items are deleted here, in the
//! batch's transaction, not by a cascade: on PostgreSQL those hot tables
//! carry no foreign keys (migration 0024). A replay of a pruned event's
//! idempotency key makes a new event.

use crate::db::direct::Val;
use crate::db::exec::Exec;
use crate::db::Db;
use crate::{in_tx, Error};
use std::time::Duration;

/// Rows per delete.
pub const BATCH: i64 = 1000;
/// The pause between two batches: the writer is free for others meanwhile.
const BREATHE: Duration = Duration::from_millis(20);

/// What a prune deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub events: u64,
}

/// Deletes the deliveries made before `before` (ms), whatever their state
/// (rows that old are long finished or stale), then the events made
/// before it that have no delivery left, `batch` rows at a time.
pub async fn prune_before(db: &Db, before: i64, batch: i64) -> Result<Pruned, Error> {
    let deliveries = in_batches(
        db,
        "DELETE FROM deliveries WHERE id IN
             (SELECT id FROM deliveries WHERE created_at < $1 ORDER BY id LIMIT $2)
         RETURNING id",
        Some("DELETE FROM delivery_tries WHERE delivery_id IN"),
        before,
        batch,
    )
    .await?;
    let events = in_batches(
        db,
        "DELETE FROM events WHERE id IN
             (SELECT e.id FROM events e
              WHERE e.created_at < $1
                AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
              ORDER BY e.id LIMIT $2)
         RETURNING id",
        Some("DELETE FROM notifications WHERE event_id IN"),
        before,
        batch,
    )
    .await?;
    Ok(Pruned { deliveries, events })
}

/// Deletes the audit entries written before `before` (ms), `batch` rows at
/// a time; answers how many. Nothing else refers to them.
pub async fn prune_audit_before(db: &Db, before: i64, batch: i64) -> Result<u64, Error> {
    in_batches(
        db,
        "DELETE FROM audit_log WHERE id IN
             (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)
         RETURNING id",
        None,
        before,
        batch,
    )
    .await
}

/// Runs `delete` (bound to `before` and `batch`, answering the ids it
/// deleted) and then deletes the `dependents` (`DELETE … WHERE column IN`)
/// of those ids, each batch one transaction, until a batch deletes fewer
/// than `batch` rows, pausing between batches; answers the rows `delete`
/// deleted.
async fn in_batches(
    db: &Db,
    delete: &str,
    dependents: Option<&str>,
    before: i64,
    batch: i64,
) -> Result<u64, Error> {
    let mut deleted = 0;
    loop {
        let n = in_tx!(db, |tx| prune_rows(
            &mut *tx, delete, dependents, before, batch
        )
        .await?);
        deleted += n;
        if n < batch as u64 {
            return Ok(deleted);
        }
        tokio::time::sleep(BREATHE).await;
    }
}

/// One batch of [`in_batches`], in the open transaction `tx`.
async fn prune_rows(
    tx: &mut impl Exec,
    delete: &str,
    dependents: Option<&str>,
    before: i64,
    batch: i64,
) -> Result<u64, Error> {
    let ids = tx
        .fetch(
            delete,
            &[Val::Int(Some(before)), Val::Int(Some(batch))],
            |r| r.req_int(0),
        )
        .await?;
    if let Some(dependents) = dependents {
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let list = crate::db::rows_of(1, chunk.len(), tx.numbered());
            let values: Vec<Val<'_>> = chunk.iter().map(|id| Val::Int(Some(*id))).collect();
            tx.execute(&format!("{dependents} {list}"), &values).await?;
        }
    }
    Ok(ids.len() as u64)
}

/// Ids bound per dependents' DELETE (SQLite takes up to 32,766 parameters).
const IDS_PER_STATEMENT: usize = 1000;
