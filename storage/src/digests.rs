//! SQL of digests: who is due, what waits for them, and a digest written
//! exactly once (the timer moved, fenced on its old value, in the
//! transaction that writes the digest and marks its lines).

use crate::db::Db;
use crate::outbox::write_event;
use crate::outbox::{NewDelivery, NewEvent};
use crate::Error;
use crate::{in_tx, on_db};
use domain::UserId;

/// A person whose digest time has come, with how to reach them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub user_id: UserId,
    /// `digest_next_at` as found: the write is fenced on it.
    pub due: i64,
    pub digest_minute: i64,
    pub time_zone: String,
    pub locale: String,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub whatsapp_enabled: bool,
    pub email: String,
    pub email_enabled: bool,
}

pub async fn due(db: &Db, now: i64) -> Result<Vec<Due>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT u.id AS user_id, s.digest_next_at AS due, s.digest_minute,
                s.quiet_time_zone AS time_zone, u.locale, u.phone,
                u.phone_verified_at IS NOT NULL AS phone_verified, s.whatsapp_enabled,
                u.email, s.email_enabled
         FROM notification_settings s JOIN users u ON u.id = s.user_id
         WHERE s.digest_enabled = TRUE AND s.digest_next_at <= $1 AND u.active = TRUE
         ORDER BY s.digest_next_at LIMIT 100"
    )
    .bind(now)
    .fetch_all(pool)
    .await?))
}

/// A line waiting for a digest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Waiting {
    pub id: i64,
    pub created_at: i64,
    pub title: String,
    pub line: String,
}

/// What waits for `user_id`'s digest due at `due`, oldest first.
pub async fn waiting(db: &Db, user_id: UserId, due: i64) -> Result<Vec<Waiting>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT id, created_at, title, line FROM digest_items
         WHERE user_id = $1 AND digest_event_id IS NULL AND created_at <= $2
         ORDER BY created_at, id"
    )
    .bind(user_id)
    .bind(due)
    .fetch_all(pool)
    .await?))
}

/// One digest, ready to write.
pub struct Digest<'a> {
    pub user_id: UserId,
    pub due: i64,
    /// The next digest time (`None`: none can be computed; the timer stops).
    pub next: Option<i64>,
    /// `None` when nothing waited: only the timer moves.
    pub event: Option<&'a NewEvent>,
    pub deliveries: &'a [NewDelivery],
    /// The lines it carries.
    pub items: &'a [i64],
}

/// Writes a digest: moves the person's timer from `due` to `next`, fenced
/// on `due`, and writes the digest's event and message and marks its lines
/// in the same transaction. `Ok(None)` when another instance took it first
/// or nothing waited; else the event id.
pub async fn take(db: &Db, d: &Digest<'_>, now: i64) -> Result<Option<i64>, Error> {
    let written = in_tx!(db, |tx| {
        let moved = sqlx::query(
            "UPDATE notification_settings SET digest_next_at = $3
             WHERE user_id = $1 AND digest_next_at = $2 AND digest_enabled = TRUE",
        )
        .bind(d.user_id)
        .bind(d.due)
        .bind(d.next)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        match (moved, d.event) {
            (1, Some(event)) => {
                let id = write_event(&mut *tx, event, d.deliveries, &[], now)
                    .await?
                    .id();
                for chunk in d.items.chunks(crate::outbox::INSERT_CHUNK) {
                    let sql = format!(
                        "UPDATE digest_items SET digest_event_id = $1
                         WHERE digest_event_id IS NULL AND id IN ({})",
                        (2..chunk.len() + 2)
                            .map(|i| format!("${i}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
                    for item in chunk {
                        q = q.bind(*item);
                    }
                    q.execute(&mut *tx).await?;
                }
                Some(id)
            }
            _ => None,
        }
    });
    Ok(written)
}
