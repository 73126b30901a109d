//! The outbox's write side: an event with its deliveries and inbox items in one
//! transaction. Shared by the ingestion API (server crate) and by messages the
//! app itself sends (phone codes, test sends, retries): every message is a row
//! here before any provider sees it, and the dispatcher only ever reads rows.

use crate::db::Db;
use crate::error::AppError;
use crate::in_tx;
use domain::{Channel, DeliveryStatus, EventKind, Priority, SystemMessage};

pub struct NewEvent {
    pub source: String,
    pub idempotency_key: Option<String>,
    pub kind: EventKind,
    pub priority: Priority,
    pub work_zone: Option<String>,
    /// JSON of the recipients as posted.
    pub recipients: String,
    /// JSON of the template variables as posted.
    pub data: String,
    /// Set when the event falls under an escalation policy.
    pub alert: Option<NewAlert>,
    /// Lines waiting for people's daily digests (`domain::digest`).
    pub digest: Vec<NewDigestItem>,
}

/// A low-priority notification held for a person's next digest.
pub struct NewDigestItem {
    pub user_id: i64,
    pub title: String,
    pub line: String,
}

/// The alert of an event under an escalation policy, written with it. Its
/// recipients are everyone the event's deliveries reach by name.
pub struct NewAlert {
    pub policy_id: i64,
    /// Random; the acknowledgement links in the event's messages name it.
    pub ack_key: String,
    /// The text repeated under each step's header.
    pub message: String,
    /// How long after the event the first step is due (`None`: the policy
    /// has no steps).
    pub first_step_after_ms: Option<i64>,
}

pub struct NewDelivery {
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub rule_id: Option<i64>,
    pub channel: Channel,
    pub recipient: String,
    /// Email only: the subject line.
    pub subject: Option<String>,
    pub message: String,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    pub max_attempts: i64,
}

impl NewEvent {
    /// The event of a test send made in the app; `recipients` says what was
    /// tested and by whom.
    pub fn test_send(recipients: serde_json::Value) -> Self {
        NewEvent {
            source: "app".into(),
            idempotency_key: None,
            kind: EventKind::System(SystemMessage::TestSend),
            priority: Priority::Medium,
            work_zone: None,
            recipients: recipients.to_string(),
            data: "{}".into(),
            alert: None,
            digest: Vec::new(),
        }
    }
}

impl NewDelivery {
    /// A delivery due at `now`, to nobody in particular yet (set `user_id` or
    /// `group_id` on it for a person or a group).
    pub fn queued(
        channel: Channel,
        recipient: String,
        subject: Option<String>,
        message: String,
        now: i64,
        max_attempts: i64,
    ) -> Self {
        NewDelivery {
            user_id: None,
            group_id: None,
            rule_id: None,
            channel,
            recipient,
            subject,
            message,
            status: DeliveryStatus::Queued,
            next_attempt_at: Some(now),
            max_attempts,
        }
    }

    /// A test send's one delivery, due now. One attempt per account: a test
    /// shows what happens, it does not insist.
    pub fn test_send(
        channel: Channel,
        recipient: String,
        subject: Option<String>,
        message: String,
        now: i64,
    ) -> Self {
        Self::queued(channel, recipient, subject, message, now, 1)
    }
}

pub struct NewInboxItem {
    pub user_id: i64,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
}

/// Rows per multi-row INSERT. Kept small: sqlx's SQLite driver looks each
/// `$N` up by name, which costs more per parameter the more a statement has.
pub const INSERT_CHUNK: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Created(i64),
    /// The (source, idempotency key) was seen before: the first event's id.
    Duplicate(i64),
}

impl Inserted {
    pub fn id(self) -> i64 {
        match self {
            Inserted::Created(id) | Inserted::Duplicate(id) => id,
        }
    }
}

/// Writes the event, its deliveries and inbox items atomically. A repeated
/// idempotency key writes nothing and returns the first event's id.
pub async fn insert_event(
    db: &Db,
    event: &NewEvent,
    deliveries: &[NewDelivery],
    inbox: &[NewInboxItem],
    now: i64,
) -> Result<Inserted, AppError> {
    let mut out = insert_events(db, &[(event, deliveries, inbox)], now).await?;
    Ok(out.remove(0))
}

/// One event with what it routed to.
pub type EventRows<'a> = (&'a NewEvent, &'a [NewDelivery], &'a [NewInboxItem]);

/// Inserts deliveries of event `event_id` inside the caller's transaction,
/// one multi-row statement per chunk. `alert_step`: the escalation step that
/// adds them (`None`: the event's own routing).
macro_rules! write_deliveries {
    ($tx:ident, $event_id:expr, $kind:expr, $priority:expr, $deliveries:expr, $now:expr, $alert_step:expr) => {{
        let (event_id, kind, priority, deliveries, now, alert_step): (
            i64,
            &str,
            &str,
            &[$crate::outbox::NewDelivery],
            i64,
            Option<i64>,
        ) = ($event_id, $kind, $priority, $deliveries, $now, $alert_step);
        for chunk in deliveries.chunks($crate::outbox::INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO deliveries (event_id, notification_type, priority, user_id, group_id, rule_id,
                     channel, recipient, subject, message, status, max_attempts, next_attempt_at,
                     created_at, updated_at, sent_at, delivered_at, alert_step)
                 VALUES {}",
                $crate::db::value_rows_in(&$tx, chunk.len(), 18)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for d in chunk {
                let delivered_at = (d.status == domain::DeliveryStatus::Delivered).then_some(now);
                q = q
                    .bind(event_id)
                    .bind(kind)
                    .bind(priority)
                    .bind(d.user_id)
                    .bind(d.group_id)
                    .bind(d.rule_id)
                    .bind(d.channel.as_str())
                    .bind(&d.recipient)
                    .bind(&d.subject)
                    .bind(&d.message)
                    .bind(d.status.as_str())
                    .bind(d.max_attempts)
                    .bind(d.next_attempt_at)
                    .bind(now)
                    .bind(now)
                    .bind(delivered_at)
                    .bind(delivered_at)
                    .bind(alert_step);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use write_deliveries;

/// Inserts in-app inbox items of event `event_id` inside the caller's
/// transaction.
macro_rules! write_inbox {
    ($tx:ident, $event_id:expr, $kind:expr, $priority:expr, $inbox:expr, $now:expr) => {{
        let (event_id, kind, priority, inbox, now): (
            i64,
            &str,
            &str,
            &[$crate::outbox::NewInboxItem],
            i64,
        ) = ($event_id, $kind, $priority, $inbox, $now);
        for chunk in inbox.chunks($crate::outbox::INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO notifications (event_id, user_id, notification_type, priority, title, body, link, created_at)
                 VALUES {}",
                $crate::db::value_rows_in(&$tx, chunk.len(), 8)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for n in chunk {
                q = q
                    .bind(event_id)
                    .bind(n.user_id)
                    .bind(kind)
                    .bind(priority)
                    .bind(&n.title)
                    .bind(&n.body)
                    .bind(&n.link)
                    .bind(now);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use write_inbox;

/// Writes one event with its deliveries and inbox items inside the caller's
/// transaction (`in_tx!`), so a message the app sends commits together with
/// the state it belongs to (a phone code, a retry) or not at all. A macro,
/// like `in_tx!`, because the transaction's type differs per backend.
macro_rules! write_event {
    ($tx:ident, $event:expr, $deliveries:expr, $inbox:expr, $now:expr) => {{
        let (event, deliveries, inbox, now): (
            &$crate::outbox::NewEvent,
            &[$crate::outbox::NewDelivery],
            &[$crate::outbox::NewInboxItem],
            i64,
        ) = ($event, $deliveries, $inbox, $now);
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO events (source, idempotency_key, notification_type, priority, work_zone,
                 recipients, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (source, idempotency_key) DO NOTHING
             RETURNING id",
        )
        .bind(&event.source)
        .bind(&event.idempotency_key)
        .bind(event.kind.as_str())
        .bind(event.priority.as_str())
        .bind(&event.work_zone)
        .bind(&event.recipients)
        .bind(&event.data)
        .bind(now)
        .fetch_optional(&mut *$tx)
        .await?;
        match id {
            None => {
                let first: i64 = sqlx::query_scalar(
                    "SELECT id FROM events WHERE source = $1 AND idempotency_key = $2",
                )
                .bind(&event.source)
                .bind(&event.idempotency_key)
                .fetch_one(&mut *$tx)
                .await?;
                $crate::outbox::Inserted::Duplicate(first)
            }
            Some(event_id) => {
                $crate::outbox::write_deliveries!(
                    $tx,
                    event_id,
                    event.kind.as_str(),
                    event.priority.as_str(),
                    deliveries,
                    now,
                    None::<i64>
                );
                $crate::outbox::write_inbox!(
                    $tx,
                    event_id,
                    event.kind.as_str(),
                    event.priority.as_str(),
                    inbox,
                    now
                );
                if let Some(alert) = &event.alert {
                    let alert_id: i64 = sqlx::query_scalar(
                        "INSERT INTO alerts (event_id, policy_id, ack_key, status, message, next_step,
                             next_step_at, created_at, updated_at)
                         VALUES ($1, $2, $3, 'open', $4, 0, $5, $6, $6) RETURNING id",
                    )
                    .bind(event_id)
                    .bind(alert.policy_id)
                    .bind(&alert.ack_key)
                    .bind(&alert.message)
                    .bind(alert.first_step_after_ms.map(|ms| now + ms))
                    .bind(now)
                    .fetch_one(&mut *$tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO alert_recipients (alert_id, user_id, step, added_at)
                         SELECT DISTINCT $1, user_id, 0, $2 FROM deliveries
                         WHERE event_id = $3 AND user_id IS NOT NULL",
                    )
                    .bind(alert_id)
                    .bind(now)
                    .bind(event_id)
                    .execute(&mut *$tx)
                    .await?;
                }
                for item in &event.digest {
                    sqlx::query(
                        "INSERT INTO digest_items (user_id, event_id, title, line, created_at)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, event_id) DO NOTHING",
                    )
                    .bind(item.user_id)
                    .bind(event_id)
                    .bind(&item.title)
                    .bind(&item.line)
                    .bind(now)
                    .execute(&mut *$tx)
                    .await?;
                }
                $crate::outbox::Inserted::Created(event_id)
            }
        }
    }};
}
pub(crate) use write_event;

/// Writes several events in one transaction (group commit): one commit, and
/// one pass over the indexes' hot pages, for many events.
pub async fn insert_events(
    db: &Db,
    events: &[EventRows<'_>],
    now: i64,
) -> Result<Vec<Inserted>, AppError> {
    let inserted = in_tx!(db, |tx| {
        let mut all = Vec::with_capacity(events.len());
        for &(event, deliveries, inbox) in events {
            all.push(write_event!(tx, event, deliveries, inbox, now));
        }
        all
    });
    Ok(inserted)
}
