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

/// Rows per statement for small lists of ids and the like (numbered
/// parameters on both backends).
pub const INSERT_CHUNK: usize = 64;

/// The most rows one multi-row INSERT of deliveries or inbox items takes
/// (18 parameters a row: far below either backend's limit on parameters).
pub const MAX_ROWS: usize = 256;

/// How `n` rows are split into multi-row statements: into powers of two
/// (256, 128, …, 1). Each distinct row count is its own prepared statement,
/// so the drivers' statement caches hold at most nine of each, however the
/// batch sizes vary, and a group commit of many events is a few statements.
pub fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = MAX_ROWS.min(1 << rest.len().ilog2());
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        Some(chunk)
    })
}

/// One row to write with the facts of the event it belongs to.
pub struct Routed<'a, T> {
    pub event_id: i64,
    pub kind: &'a str,
    pub priority: &'a str,
    pub row: &'a T,
}

impl<'a, T> Routed<'a, T> {
    /// Rows of one event.
    pub fn all(
        event_id: i64,
        kind: &'a str,
        priority: &'a str,
        rows: &'a [T],
    ) -> impl Iterator<Item = Self> {
        rows.iter().map(move |row| Routed {
            event_id,
            kind,
            priority,
            row,
        })
    }
}

/// A delivery a dispatcher has leased: by its claim of due rows, or at
/// insert (see [`Lease`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub priority: String,
    pub channel: String,
    pub recipient: String,
    /// Email only.
    pub subject: Option<String>,
    pub message: String,
    /// The staff member it is for (`None`: a group or a customer).
    pub user_id: Option<i64>,
    /// This attempt's number (already counted); results are fenced on it.
    pub attempts: i64,
    pub max_attempts: i64,
    /// The account of the previous attempt: failover starts after it.
    pub provider_account_id: Option<i64>,
    pub created_at: i64,
}

/// The columns of [`Claimed`].
pub const CLAIM_COLUMNS: &str =
    "id, priority, channel, recipient, subject, message, user_id, attempts, max_attempts, provider_account_id, created_at";

/// Deliveries written as already claimed by a dispatcher with free workers
/// (status `sending`, the first attempt counted, leased to `worker` until
/// `until`), so the dispatcher does not have to find and update them again.
/// They are ordinary leased rows from then on: a crash before they are
/// recorded returns them to the queue when the lease is rescued.
#[derive(Debug, Clone)]
pub struct Lease {
    pub worker: String,
    pub until: i64,
}

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
    let (mut out, _) = insert_events(db, &[(event, deliveries, inbox)], now, None).await?;
    Ok(out.remove(0))
}

/// One event with what it routed to.
pub type EventRows<'a> = (&'a NewEvent, &'a [NewDelivery], &'a [NewInboxItem]);

/// Inserts deliveries (`&[Routed<NewDelivery>]`, of one event or many)
/// inside the caller's transaction, a few multi-row statements in all.
/// `alert_step`: the escalation step that adds them (`None`: the events' own
/// routing). Rows whose status is `sending` are claimed at insert under
/// `lease` (an `Option<&Lease>`, required for them); the value is those
/// rows as [`Claimed`].
macro_rules! write_deliveries {
    ($tx:ident, $rows:expr, $now:expr, $alert_step:expr) => {
        $crate::outbox::write_deliveries!($tx, $rows, $now, $alert_step, None)
    };
    ($tx:ident, $rows:expr, $now:expr, $alert_step:expr, $lease:expr) => {{
        let (rows, now, alert_step, lease): (
            &[$crate::outbox::Routed<'_, $crate::outbox::NewDelivery>],
            i64,
            Option<i64>,
            Option<&$crate::outbox::Lease>,
        ) = ($rows, $now, $alert_step, $lease);
        let mut claimed: Vec<$crate::outbox::Claimed> = Vec::new();
        for chunk in $crate::outbox::chunks(rows) {
            let claims = chunk
                .iter()
                .any(|r| r.row.status == domain::DeliveryStatus::Sending);
            let sql = format!(
                "INSERT INTO deliveries (event_id, notification_type, priority, user_id, group_id, rule_id,
                     channel, recipient, subject, message, status, max_attempts, next_attempt_at,
                     created_at, updated_at, sent_at, delivered_at, alert_step, attempts,
                     lease_expires_at, locked_by)
                 VALUES {}{}",
                $crate::db::value_rows_in(&$tx, chunk.len(), 21),
                if claims { format!(" RETURNING {}", $crate::outbox::CLAIM_COLUMNS) } else { String::new() }
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                let d = r.row;
                let delivered_at = (d.status == domain::DeliveryStatus::Delivered).then_some(now);
                // A claimed row without a lease would never be rescued.
                let lease = match (d.status == domain::DeliveryStatus::Sending, lease) {
                    (false, _) => None,
                    (true, Some(l)) => Some(l),
                    (true, None) => Err($crate::error::internal(
                        "outbox",
                        &"a delivery written as sending needs a lease",
                    ))?,
                };
                q = q
                    .bind(r.event_id)
                    .bind(r.kind)
                    .bind(r.priority)
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
                    .bind(alert_step)
                    .bind(i64::from(lease.is_some()))
                    .bind(lease.map(|l| l.until))
                    .bind(lease.map(|l| l.worker.as_str()));
            }
            if claims {
                use sqlx::Row as _;
                for row in q.fetch_all(&mut *$tx).await? {
                    // Only the claimed rows have an attempt counted.
                    if row.try_get::<i64, _>("attempts")? == 1 {
                        claimed.push(sqlx::FromRow::from_row(&row)?);
                    }
                }
            } else {
                q.execute(&mut *$tx).await?;
            }
        }
        claimed
    }};
}
pub(crate) use write_deliveries;

/// Inserts in-app inbox items (`&[Routed<NewInboxItem>]`, of one event or
/// many) inside the caller's transaction.
macro_rules! write_inbox {
    ($tx:ident, $rows:expr, $now:expr) => {{
        let (rows, now): (&[$crate::outbox::Routed<'_, $crate::outbox::NewInboxItem>], i64) =
            ($rows, $now);
        for chunk in $crate::outbox::chunks(rows) {
            let sql = format!(
                "INSERT INTO notifications (event_id, user_id, notification_type, priority, title, body, link, created_at)
                 VALUES {}",
                $crate::db::value_rows_in(&$tx, chunk.len(), 8)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                let n = r.row;
                q = q
                    .bind(r.event_id)
                    .bind(n.user_id)
                    .bind(r.kind)
                    .bind(r.priority)
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

/// Inserts an event's row inside the caller's transaction, or finds the
/// first event of its idempotency key.
macro_rules! event_row {
    ($tx:ident, $event:expr, $now:expr) => {{
        let (event, now): (&$crate::outbox::NewEvent, i64) = ($event, $now);
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
            Some(id) => $crate::outbox::Inserted::Created(id),
            None => $crate::outbox::Inserted::Duplicate(
                sqlx::query_scalar(
                    "SELECT id FROM events WHERE source = $1 AND idempotency_key = $2",
                )
                .bind(&event.source)
                .bind(&event.idempotency_key)
                .fetch_one(&mut *$tx)
                .await?,
            ),
        }
    }};
}
pub(crate) use event_row;

/// Writes what belongs to created event `event_id` besides its deliveries
/// and inbox items (which must be written first): its alert and digest
/// lines.
macro_rules! event_extras {
    ($tx:ident, $event_id:expr, $event:expr, $now:expr) => {{
        let (event_id, event, now): (i64, &$crate::outbox::NewEvent, i64) =
            ($event_id, $event, $now);
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
    }};
}
pub(crate) use event_extras;

/// Writes several events with their deliveries and inbox items inside the
/// caller's transaction (`in_tx!`), so a message the app sends commits
/// together with the state it belongs to (a phone code, a retry) or not at
/// all. A repeated idempotency key writes nothing for that event. The rows of
/// all new events go in shared multi-row statements: a group commit of a
/// hundred events is a hundred event rows and a few statements more. A
/// macro, like `in_tx!`, because the transaction's type differs per backend.
macro_rules! write_events {
    ($tx:ident, $events:expr, $now:expr) => {
        $crate::outbox::write_events!($tx, $events, $now, None).0
    };
    ($tx:ident, $events:expr, $now:expr, $lease:expr) => {{
        let (events, now, lease): (
            &[$crate::outbox::EventRows<'_>],
            i64,
            Option<&$crate::outbox::Lease>,
        ) = ($events, $now, $lease);
        let mut inserted = Vec::with_capacity(events.len());
        let mut deliveries = Vec::new();
        let mut inbox = Vec::new();
        for &(event, event_deliveries, event_inbox) in events {
            let row = $crate::outbox::event_row!($tx, event, now);
            if let $crate::outbox::Inserted::Created(id) = row {
                let (kind, priority) = (event.kind.as_str(), event.priority.as_str());
                deliveries.extend($crate::outbox::Routed::all(
                    id,
                    kind,
                    priority,
                    event_deliveries,
                ));
                inbox.extend($crate::outbox::Routed::all(id, kind, priority, event_inbox));
            }
            inserted.push(row);
        }
        let claimed = $crate::outbox::write_deliveries!($tx, &deliveries, now, None, lease);
        $crate::outbox::write_inbox!($tx, &inbox, now);
        for (&(event, _, _), row) in events.iter().zip(&inserted) {
            if let $crate::outbox::Inserted::Created(id) = *row {
                $crate::outbox::event_extras!($tx, id, event, now);
            }
        }
        (inserted, claimed)
    }};
}
pub(crate) use write_events;

/// [`write_events`] for one event.
macro_rules! write_event {
    ($tx:ident, $event:expr, $deliveries:expr, $inbox:expr, $now:expr) => {{
        let rows: [$crate::outbox::EventRows<'_>; 1] = [($event, $deliveries, $inbox)];
        $crate::outbox::write_events!($tx, &rows, $now)[0]
    }};
}
pub(crate) use write_event;

/// Writes several events in one transaction (group commit): one commit, and
/// one pass over the indexes' hot pages, for many events. Deliveries whose
/// status is `sending` are claimed at insert under `lease` and returned.
pub async fn insert_events(
    db: &Db,
    events: &[EventRows<'_>],
    now: i64,
    lease: Option<&Lease>,
) -> Result<(Vec<Inserted>, Vec<Claimed>), AppError> {
    let written = in_tx!(db, |tx| write_events!(tx, events, now, lease));
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_split_into_powers_of_two_up_to_the_maximum() {
        let sizes = |n: usize| {
            let rows: Vec<usize> = (0..n).collect();
            let parts: Vec<&[usize]> = chunks(&rows).collect();
            // Every row once, in order.
            assert_eq!(parts.concat(), rows);
            parts.iter().map(|c| c.len()).collect::<Vec<_>>()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(5), vec![4, 1]);
        assert_eq!(sizes(160), vec![128, 32]);
        assert_eq!(sizes(700), vec![256, 256, 128, 32, 16, 8, 4]);
    }
}
