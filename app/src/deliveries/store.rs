//! SQL for the delivery log.

use super::DeliveryListItem;
use crate::db::Db;
use crate::error::{internal, AppError};
use crate::on_db;
use domain::{Channel, DeliveryStatus};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    created_at: i64,
    notification_type: String,
    channel: String,
    provider: Option<String>,
    recipient: String,
    status: String,
    attempts: i64,
    error: Option<String>,
}

pub async fn recent(db: &Db, limit: i64) -> Result<Vec<DeliveryListItem>, AppError> {
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, created_at, notification_type, channel, provider, recipient, status, attempts, error
         FROM deliveries ORDER BY created_at DESC, id DESC LIMIT $1"
    )
    .bind(limit)
    .fetch_all(pool)
    .await?
    });
    rows.into_iter()
        .map(|r| {
            Ok(DeliveryListItem {
                channel: Channel::parse(&r.channel)
                    .map_err(|e| internal("deliveries.channel", &e))?,
                status: DeliveryStatus::parse(&r.status)
                    .map_err(|e| internal("deliveries.status", &e))?,
                id: r.id,
                created_at: r.created_at,
                notification_type: r.notification_type,
                provider: r.provider,
                recipient: r.recipient,
                attempts: r.attempts,
                error: r.error,
            })
        })
        .collect()
}

/// Deliveries per status (analytics' first figure).
pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>, AppError> {
    let rows: Vec<(String, i64)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status"
    )
    .fetch_all(pool)
    .await?);
    Ok(rows)
}
