//! SQL for the in-app inbox.

use super::InboxItem;
use crate::db::Db;
use crate::error::AppError;
use crate::on_db;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    notification_type: String,
    priority: String,
    title: String,
    body: String,
    link: Option<String>,
    created_at: i64,
    read_at: Option<i64>,
}

pub async fn list(db: &Db, user_id: i64, limit: i64) -> Result<Vec<InboxItem>, AppError> {
    let rows: Vec<Row> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, notification_type, priority, title, body, link, created_at, read_at
         FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(pool)
    .await?);
    Ok(rows
        .into_iter()
        .map(|r| InboxItem {
            id: r.id,
            notification_type: r.notification_type,
            priority: r.priority,
            title: r.title,
            body: r.body,
            link: r.link,
            created_at: r.created_at,
            read_at: r.read_at,
        })
        .collect())
}
