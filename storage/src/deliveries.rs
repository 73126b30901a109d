//! SQL for the delivery log.
//!
//! Pages are keyset-paginated on `(created_at, id)`, newest first: each page
//! starts below the last row of the previous one, so page 1,000 costs what
//! page 1 costs. Each single filter has an index leading with its column and
//! ending in `(created_at, id)` (migrations 0001), so a filtered page reads
//! only the rows it shows.

use crate::db::Db;
use crate::error::internal;
use crate::Error;
use crate::{in_tx, on_db};
use domain::views::deliveries::{
    Cursor, DeliveryDetail, DeliveryListItem, DeliveryPage, FilterOptions, Resolved,
};
use domain::words::{Clash, Missing};
use domain::{Channel, DeliveryId, DeliveryStatus, SystemMessage};

fn not_found(id: DeliveryId) -> Error {
    Error::NotFound(Missing::Delivery(id))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: DeliveryId,
    created_at: i64,
    notification_type: String,
    channel: String,
    provider: Option<String>,
    recipient: String,
    status: String,
    attempts: i64,
    error: Option<String>,
}

impl TryFrom<Row> for DeliveryListItem {
    type Error = Error;
    fn try_from(r: Row) -> Result<Self, Error> {
        Ok(DeliveryListItem {
            channel: Channel::parse(&r.channel).map_err(|e| internal("deliveries.channel", &e))?,
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
    }
}

enum Param {
    Int(i64),
    Text(String),
}

/// `WHERE …` for a filter and a cursor, with `$n` placeholders and their
/// values in order (one SQL text serves both backends).
fn where_clause(f: &Resolved, after: Option<Cursor>) -> (String, Vec<Param>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params = Vec::new();
    let mut add = |cond: &str, p: Param| {
        params.push(p);
        conds.push(cond.replace('?', &format!("${}", params.len())));
    };
    if let Some(s) = f.status {
        add("status = ?", Param::Text(s.as_str().into()));
    }
    if let Some(c) = f.channel {
        add("channel = ?", Param::Text(c.as_str().into()));
    }
    if let Some(p) = &f.provider {
        add("provider = ?", Param::Text(p.clone()));
    }
    if let Some(t) = &f.notification_type {
        add("notification_type = ?", Param::Text(t.clone()));
    }
    if let Some(g) = f.group_id {
        add("group_id = ?", Param::Int(g));
    }
    if let Some(u) = f.user_id {
        add("user_id = ?", Param::Int(u));
    }
    if let Some(ms) = f.from_ms {
        add("created_at >= ?", Param::Int(ms));
    }
    if let Some(ms) = f.until_ms {
        add("created_at < ?", Param::Int(ms));
    }
    if let Some(c) = after {
        // Row-value comparison: both backends walk the (…, created_at, id)
        // index backwards from here.
        params.push(Param::Int(c.created_at));
        params.push(Param::Int(c.id.0));
        let n = params.len();
        conds.push(format!("(created_at, id) < (${}, ${})", n - 1, n));
    }
    if conds.is_empty() {
        (String::new(), params)
    } else {
        (format!("WHERE {}", conds.join(" AND ")), params)
    }
}

/// One page, newest first; `next` is set when more rows follow.
pub async fn page(
    db: &Db,
    f: &Resolved,
    after: Option<Cursor>,
    size: usize,
) -> Result<DeliveryPage, Error> {
    let (conds, params) = where_clause(f, after);
    let sql = format!(
        "SELECT id, created_at, notification_type, channel, provider, recipient, status, attempts, error
         FROM deliveries {conds} ORDER BY created_at DESC, id DESC LIMIT {}",
        size + 1
    );
    let rows: Vec<Row> = on_db!(db, |pool| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for p in &params {
            q = match p {
                Param::Int(v) => q.bind(*v),
                Param::Text(v) => q.bind(v.clone()),
            };
        }
        q.fetch_all(pool).await?
    });
    let more = rows.len() > size;
    let items: Vec<DeliveryListItem> = rows
        .into_iter()
        .take(size)
        .map(DeliveryListItem::try_from)
        .collect::<Result<_, _>>()?;
    let next = more.then(|| items.last()).flatten().map(|d| {
        Cursor {
            created_at: d.created_at,
            id: d.id,
        }
        .encode()
    });
    Ok(DeliveryPage { items, next })
}

pub async fn filter_options(db: &Db) -> Result<FilterOptions, Error> {
    let (providers, groups, users) = on_db!(db, |pool| {
        // Provider names come from the accounts (a handful of rows), not from
        // a DISTINCT over the whole log.
        let providers: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT kind FROM provider_accounts ORDER BY kind")
                .fetch_all(pool)
                .await?;
        let groups: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM whatsapp_groups ORDER BY name")
                .fetch_all(pool)
                .await?;
        let users: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM users ORDER BY name")
            .fetch_all(pool)
            .await?;
        (providers, groups, users)
    });
    Ok(FilterOptions {
        providers,
        groups,
        users,
    })
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    row: Row,
    event_id: Option<i64>,
    priority: String,
    user_name: Option<String>,
    group_name: Option<String>,
    subject: Option<String>,
    message: String,
    provider_message_id: Option<String>,
    provider_response: Option<String>,
    max_attempts: i64,
    cost_rupiah: i64,
    next_attempt_at: Option<i64>,
    updated_at: i64,
    sent_at: Option<i64>,
    delivered_at: Option<i64>,
    read_at: Option<i64>,
    failed_at: Option<i64>,
    retry_of: Option<DeliveryId>,
    retried_as: Option<DeliveryId>,
    fallback_of: Option<DeliveryId>,
    sms_fallback: Option<DeliveryId>,
    alert_step: Option<i64>,
}

pub async fn detail(db: &Db, id: DeliveryId) -> Result<DeliveryDetail, Error> {
    let row: Option<DetailRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT d.id, d.created_at, d.notification_type, d.channel, d.provider, d.recipient, d.status,
                d.attempts, d.error, d.event_id, d.priority, u.name AS user_name, g.name AS group_name,
                d.subject, d.message, d.provider_message_id, d.provider_response, d.max_attempts, d.cost_rupiah,
                d.next_attempt_at, d.updated_at, d.sent_at, d.delivered_at, d.read_at, d.failed_at,
                d.retry_of, (SELECT r.id FROM deliveries r WHERE r.retry_of = d.id) AS retried_as,
                d.fallback_of, (SELECT f.id FROM deliveries f WHERE f.fallback_of = d.id) AS sms_fallback,
                d.alert_step
         FROM deliveries d
         LEFT JOIN users u ON u.id = d.user_id
         LEFT JOIN whatsapp_groups g ON g.id = d.group_id
         WHERE d.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    });
    let r = row.ok_or_else(|| not_found(id))?;
    // A phone code, a set-password link or an acknowledgement link acts in its recipient's name:
    // the log's readers see that there was one, not it, except where
    // nothing real was sent (the sandbox shows what would have gone out).
    let message = if r.row.provider.as_deref() == Some("sandbox") {
        r.message
    } else if r.row.notification_type == SystemMessage::PhoneVerification.as_str() {
        domain::verification::redact_codes(&r.message)
    } else if r.row.notification_type == SystemMessage::PasswordReset.as_str() {
        domain::views::users::redact_reset_links(&r.message)
    } else {
        domain::escalation::redact_ack_links(&r.message)
    };
    let alert = match r.event_id {
        Some(e) => crate::alerts::for_event(db, e).await?,
        None => None,
    };
    let tries = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT t.attempt, a.name AS account, t.provider, t.started_at, t.finished_at,
                    t.http_status, t.outcome, t.error, t.response
             FROM delivery_tries t LEFT JOIN provider_accounts a ON a.id = t.account_id
             WHERE t.delivery_id = $1 ORDER BY t.id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
    });
    Ok(DeliveryDetail {
        item: r.row.try_into()?,
        event_id: r.event_id,
        priority: r.priority,
        user_name: r.user_name,
        group_name: r.group_name,
        subject: r.subject,
        message,
        provider_message_id: r.provider_message_id,
        provider_response: r.provider_response,
        max_attempts: r.max_attempts,
        cost_rupiah: r.cost_rupiah,
        next_attempt_at: r.next_attempt_at,
        updated_at: r.updated_at,
        sent_at: r.sent_at,
        delivered_at: r.delivered_at,
        read_at: r.read_at,
        failed_at: r.failed_at,
        retry_of: r.retry_of,
        retried_as: r.retried_as,
        fallback_of: r.fallback_of,
        sms_fallback: r.sms_fallback,
        alert_step: r.alert_step,
        alert,
        tries,
    })
}

/// Queues delivery `$1` again as a new row linked to it (`retry_of`), with
/// fresh attempts, due at `$3`, written at `$4`, to recipient `$2` (NULL: the
/// same one). The unique index on `retry_of` makes a second insert for the
/// same delivery add nothing (no row returned). Used by [`retry`] and by web
/// push follow-ups (`crate::push::follow_up`).
pub const REQUEUE_SQL: &str =
    "INSERT INTO deliveries (event_id, notification_type, priority, user_id, group_id, rule_id,
         channel, recipient, subject, message, status, max_attempts, next_attempt_at, created_at,
         updated_at, retry_of)
     SELECT event_id, notification_type, priority, user_id, group_id, rule_id, channel,
            COALESCE($2, recipient), subject, message, 'queued', max_attempts, $3, $4, $4, id
     FROM deliveries WHERE id = $1
     ON CONFLICT (retry_of) WHERE retry_of IS NOT NULL DO NOTHING
     RETURNING id";

/// A failed delivery, queued again as a new row with fresh attempts. The
/// unique index on `retry_of` makes a second request answer the first retry.
pub async fn retry(db: &Db, id: DeliveryId, now: i64) -> Result<DeliveryId, Error> {
    let new_id = in_tx!(db, |tx| {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM deliveries WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref() {
            None => return Err(not_found(id)),
            Some("failed") => {}
            Some(other) => {
                return Err(Error::Conflict(Clash::NotRetryable {
                    status: other.to_owned(),
                }))
            }
        }
        let created: Option<DeliveryId> = sqlx::query_scalar(REQUEUE_SQL)
            .bind(id)
            .bind(None::<String>)
            .bind(now)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        match created {
            Some(new_id) => new_id,
            None => {
                sqlx::query_scalar("SELECT id FROM deliveries WHERE retry_of = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
            }
        }
    });
    Ok(new_id)
}

/// Deliveries per status (analytics' first figure).
pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>, Error> {
    let rows: Vec<(String, i64)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status"
    )
    .fetch_all(pool)
    .await?);
    Ok(rows)
}
