//! SMS fallback: a WhatsApp message to a person (staff or customer) goes out
//! again as SMS when
//!
//! - it failed for good (the number is not on WhatsApp, the gateway refused
//!   it, every attempt failed, or a status callback said failed), or
//! - it is high or critical and still not delivered `after_ms` after it was
//!   sent (or created, while it is still being retried).
//!
//! The sweep is idempotent: `deliveries.fallback_of` is unique, so instances
//! sweeping at the same moment add one SMS, never two, and an event that
//! already sends the person an SMS (critical routes SMS directly) adds none.
//! Test sends never fall back.
//! Only messages from the last [`WINDOW_MS`] qualify: an SMS about a failure
//! hours old (say, SMS was switched on later) would be noise.

use crate::db::Db;
use crate::{on_db, on_db_write};
use domain::{routing, sms, Priority};

/// How far back a failure or a late message still qualifies.
pub const WINDOW_MS: i64 = 3_600_000;

/// Candidates handled per sweep; the next sweep takes the rest.
const BATCH: i64 = 200;

#[derive(Debug, Clone, Copy)]
pub struct FallbackConfig {
    /// High/critical WhatsApp not delivered after this long goes as SMS too.
    pub after_ms: i64,
}

impl Default for FallbackConfig {
    fn default() -> Self {
        FallbackConfig {
            after_ms: 10 * 60_000,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    event_id: Option<i64>,
    notification_type: String,
    priority: String,
    user_id: Option<i64>,
    recipient: String,
    message: String,
}

const COLUMNS: &str =
    "d.id, d.event_id, d.notification_type, d.priority, d.user_id, d.recipient, d.message";

/// Not a test send (it shows what one channel does, and an SMS costs
/// money), nor a phone code (anyone may type any number: the operator
/// would pay to text strangers), and neither an SMS standing in for it,
/// nor one the event sends this number.
const WORTH_AN_SMS: &str = "d.notification_type NOT IN ('test_send', 'phone_verification')
     AND NOT EXISTS (SELECT 1 FROM deliveries s WHERE s.fallback_of = d.id)
     AND NOT EXISTS (SELECT 1 FROM deliveries s WHERE s.event_id = d.event_id
                     AND s.channel = 'sms' AND s.recipient = d.recipient)";

/// Adds the SMS deliveries due at `now`; returns their ids.
pub async fn sweep(
    db: &Db,
    now: i64,
    config: FallbackConfig,
) -> Result<Vec<domain::DeliveryId>, crate::Error> {
    let failed_sql = format!(
        "SELECT {COLUMNS} FROM deliveries d
         WHERE d.channel = 'whatsapp' AND d.status = 'failed' AND d.failed_at >= $1 AND {WORTH_AN_SMS}
         ORDER BY d.failed_at LIMIT $2"
    );
    let late_sql = format!(
        "SELECT {COLUMNS} FROM deliveries d
         WHERE d.channel = 'whatsapp' AND d.status IN ('queued', 'sending', 'sent')
           AND d.created_at >= $1 AND d.created_at <= $2
           AND d.priority IN ('high', 'critical') AND COALESCE(d.sent_at, d.created_at) <= $2
           AND {WORTH_AN_SMS}
         ORDER BY d.created_at LIMIT $3"
    );
    let late_before = now - config.after_ms;
    let mut candidates: Vec<Candidate> = on_db!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(failed_sql.as_str()))
            .bind(now - WINDOW_MS)
            .bind(BATCH)
            .fetch_all(pool)
            .await?
    });
    let late: Vec<Candidate> = on_db!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(late_sql.as_str()))
            .bind(late_before - WINDOW_MS)
            .bind(late_before)
            .bind(BATCH)
            .fetch_all(pool)
            .await?
    });
    candidates.extend(late);

    let mut added = Vec::new();
    for c in candidates {
        let priority = Priority::parse(&c.priority).unwrap_or(Priority::High);
        let text = sms::from_whatsapp(&c.message);
        let id: Option<domain::DeliveryId> = on_db_write!(db, |pool| {
            sqlx::query_scalar(
                "INSERT INTO deliveries (event_id, notification_type, priority, user_id, channel, recipient,
                     message, status, attempts, max_attempts, next_attempt_at, created_at, updated_at,
                     fallback_of)
                 VALUES ($1, $2, $3, $4, 'sms', $5, $6, 'queued', 0, $7, $8, $8, $8, $9)
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(c.event_id)
            .bind(&c.notification_type)
            .bind(&c.priority)
            .bind(c.user_id)
            .bind(&c.recipient)
            .bind(&text)
            .bind(i64::from(routing::max_attempts(priority)))
            .bind(now)
            .bind(c.id)
            .fetch_optional(pool)
            .await?
        });
        if let Some(id) = id {
            tracing::info!(
                delivery = c.id,
                sms = %id,
                "WhatsApp not delivered: SMS fallback queued"
            );
            added.push(id);
        }
    }
    Ok(added)
}
