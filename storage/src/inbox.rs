//! SQL for the in-app inbox.

use crate::db::Db;
use crate::Error;
use crate::{on_db, on_db_write};
use domain::live::InboxItem;
use domain::UserId;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    event_id: Option<i64>,
    notification_type: String,
    priority: String,
    title: String,
    body: String,
    link: Option<String>,
    created_at: i64,
    read_at: Option<i64>,
}

impl From<Row> for InboxItem {
    fn from(r: Row) -> Self {
        InboxItem {
            id: r.id,
            notification_type: r.notification_type,
            priority: r.priority,
            title: r.title,
            body: r.body,
            link: r.link,
            created_at: r.created_at,
            read_at: r.read_at,
            alert: None,
        }
    }
}

const COLUMNS: &str =
    "id, event_id, notification_type, priority, title, body, link, created_at, read_at";

/// The newest `limit` items, newest first.
pub async fn list(db: &Db, user_id: UserId, limit: i64) -> Result<Vec<InboxItem>, Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2");
    let rows: Vec<Row> = on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(limit)
        .fetch_all(pool)
        .await?);
    let events: Vec<i64> = rows.iter().filter_map(|r| r.event_id).collect();
    let mut alerts = crate::alerts::for_events(db, &events).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let alert = r.event_id.and_then(|e| alerts.remove(&e)).map(Box::new);
            InboxItem { alert, ..r.into() }
        })
        .collect())
}

/// The alert of one of the user's notifications, if it has one.
pub async fn alert_of(db: &Db, user_id: UserId, id: i64) -> Result<Option<i64>, Error> {
    let found: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT a.id FROM notifications n JOIN alerts a ON a.event_id = n.event_id
         WHERE n.id = $1 AND n.user_id = $2"
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?);
    Ok(found)
}

/// Items after `after`, oldest first: what a live socket has not sent yet.
pub async fn after(
    db: &Db,
    user_id: UserId,
    after: i64,
    limit: i64,
) -> Result<Vec<InboxItem>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    let rows: Vec<Row> = on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?);
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The user's newest item id (0 with none): where a fresh socket starts.
pub async fn last_id(db: &Db, user_id: UserId) -> Result<i64, Error> {
    let id: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT MAX(id) FROM notifications WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_one(pool)
    .await?);
    Ok(id.unwrap_or(0))
}

pub async fn unread_count(db: &Db, user_id: UserId) -> Result<i64, Error> {
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL"
    )
    .bind(user_id)
    .fetch_one(pool)
    .await?);
    Ok(n)
}

/// Marks one of the user's items read (another user's id changes nothing).
/// Returns whether it was unread.
pub async fn mark_read(db: &Db, user_id: UserId, id: i64, now: i64) -> Result<bool, Error> {
    let n = on_db_write!(db, |pool| {
        sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL"
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected()
    });
    Ok(n > 0)
}

/// Marks every unread item of the user read; returns how many.
pub async fn mark_all_read(db: &Db, user_id: UserId, now: i64) -> Result<u64, Error> {
    let n = on_db_write!(db, |pool| sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL"
    )
    .bind(now)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n)
}
