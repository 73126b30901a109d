//! The outbox's write side: an event with its deliveries and inbox items in one
//! transaction. Shared by the ingestion API (server crate) and by messages the
//! app itself sends (phone codes, test sends, retries): every message is a row
//! here before any provider sees it, and the dispatcher only ever reads rows.

use crate::db::direct::Val;
use crate::db::Db;
use crate::in_tx;
use crate::Error;
use domain::{Channel, DeliveryStatus, EventKind, Priority, SystemMessage};
use std::collections::HashMap;

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

impl Claimed {
    /// A row of [`CLAIM_COLUMNS`] read by SQLite's direct writer.
    pub fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Claimed {
            id: row.get(0)?,
            priority: row.get(1)?,
            channel: row.get(2)?,
            recipient: row.get(3)?,
            subject: row.get(4)?,
            message: row.get(5)?,
            user_id: row.get(6)?,
            attempts: row.get(7)?,
            max_attempts: row.get(8)?,
            provider_account_id: row.get(9)?,
            created_at: row.get(10)?,
        })
    }
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
) -> Result<Inserted, Error> {
    let rows: [EventRows<'_>; 1] = [(event, deliveries, inbox)];
    let (mut out, _) = in_tx!(db, |tx| crate::write_events!(tx, &rows, now, None));
    Ok(out.remove(0))
}

/// One event with what it routed to.
pub type EventRows<'a> = (&'a NewEvent, &'a [NewDelivery], &'a [NewInboxItem]);

/// The INSERT of `rows` deliveries (21 values each, [`delivery_values`]);
/// it returns [`CLAIM_COLUMNS`] when some are written as claimed.
#[doc(hidden)]
pub fn deliveries_sql(rows: usize, numbered: bool, claims: bool) -> String {
    format!(
        "INSERT INTO deliveries (event_id, notification_type, priority, user_id, group_id, rule_id,
             channel, recipient, subject, message, status, max_attempts, next_attempt_at,
             created_at, updated_at, sent_at, delivered_at, alert_step, attempts,
             lease_expires_at, locked_by)
         VALUES {}{}",
        crate::db::rows_of(rows, 21, numbered),
        if claims {
            format!(" RETURNING {CLAIM_COLUMNS}")
        } else {
            String::new()
        }
    )
}

/// Whether a chunk of deliveries has rows written as claimed.
#[doc(hidden)]
pub fn claims(chunk: &[Routed<'_, NewDelivery>]) -> bool {
    chunk
        .iter()
        .any(|r| r.row.status == DeliveryStatus::Sending)
}

/// One delivery's values for [`deliveries_sql`]. A row written as `sending`
/// needs the lease it is claimed under: without one it would never be
/// rescued.
#[doc(hidden)]
pub fn delivery_values<'a>(
    r: &Routed<'a, NewDelivery>,
    now: i64,
    alert_step: Option<i64>,
    lease: Option<&'a Lease>,
) -> Result<[Val<'a>; 21], Error> {
    let d = r.row;
    let delivered_at = (d.status == DeliveryStatus::Delivered).then_some(now);
    let lease = match (d.status == DeliveryStatus::Sending, lease) {
        (false, _) => None,
        (true, Some(l)) => Some(l),
        (true, None) => {
            return Err(crate::error::internal(
                "outbox",
                &"a delivery written as sending needs a lease",
            ))
        }
    };
    let int = |v: i64| Val::Int(Some(v));
    Ok([
        int(r.event_id),
        Val::Text(Some(r.kind)),
        Val::Text(Some(r.priority)),
        Val::Int(d.user_id),
        Val::Int(d.group_id),
        Val::Int(d.rule_id),
        Val::Text(Some(d.channel.as_str())),
        Val::Text(Some(&d.recipient)),
        Val::Text(d.subject.as_deref()),
        Val::Text(Some(&d.message)),
        Val::Text(Some(d.status.as_str())),
        int(d.max_attempts),
        Val::Int(d.next_attempt_at),
        int(now),
        int(now),
        Val::Int(delivered_at),
        Val::Int(delivered_at),
        Val::Int(alert_step),
        int(i64::from(lease.is_some())),
        Val::Int(lease.map(|l| l.until)),
        Val::Text(lease.map(|l| l.worker.as_str())),
    ])
}

/// The INSERT of `rows` inbox items (8 values each, [`inbox_values`]).
#[doc(hidden)]
pub fn inbox_sql(rows: usize, numbered: bool) -> String {
    format!(
        "INSERT INTO notifications (event_id, user_id, notification_type, priority, title, body, link, created_at)
         VALUES {}",
        crate::db::rows_of(rows, 8, numbered)
    )
}

#[doc(hidden)]
pub fn inbox_values<'a>(r: &Routed<'a, NewInboxItem>, now: i64) -> [Val<'a>; 8] {
    let n = r.row;
    [
        Val::Int(Some(r.event_id)),
        Val::Int(Some(n.user_id)),
        Val::Text(Some(r.kind)),
        Val::Text(Some(r.priority)),
        Val::Text(Some(&n.title)),
        Val::Text(Some(&n.body)),
        Val::Text(n.link.as_deref()),
        Val::Int(Some(now)),
    ]
}

/// The INSERT of `rows` events that have an idempotency key (8 values each,
/// [`event_values`]); a key seen before inserts nothing and returns nothing.
#[doc(hidden)]
pub fn events_sql(rows: usize, numbered: bool) -> String {
    format!(
        "INSERT INTO events (source, idempotency_key, notification_type, priority, work_zone,
             recipients, data, created_at)
         VALUES {}
         ON CONFLICT (source, idempotency_key) DO NOTHING
         RETURNING id, source, idempotency_key",
        crate::db::rows_of(rows, 8, numbered)
    )
}

#[doc(hidden)]
pub fn event_values<'a>(event: &'a NewEvent, key: Option<&'a str>, now: i64) -> [Val<'a>; 8] {
    [
        Val::Text(Some(&event.source)),
        Val::Text(key),
        Val::Text(Some(event.kind.as_str())),
        Val::Text(Some(event.priority.as_str())),
        Val::Text(event.work_zone.as_deref()),
        Val::Text(Some(&event.recipients)),
        Val::Text(Some(&event.data)),
        Val::Int(Some(now)),
    ]
}

/// An event without an idempotency key (the app's own messages), `$1…$8`.
#[doc(hidden)]
pub const EVENT_SQL: &str =
    "INSERT INTO events (source, idempotency_key, notification_type, priority, work_zone,
         recipients, data, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

/// The first event of a (source, key) that was seen before.
#[doc(hidden)]
pub const FIRST_EVENT_SQL: &str =
    "SELECT id FROM events WHERE source = $1 AND idempotency_key = $2";

/// An event's alert: `$1` event, `$2` policy, `$3` ack key, `$4` message,
/// `$5` first step's time, `$6` now.
#[doc(hidden)]
pub const ALERT_SQL: &str =
    "INSERT INTO alerts (event_id, policy_id, ack_key, status, message, next_step,
         next_step_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'open', $4, 0, $5, $6, $6) RETURNING id";

#[doc(hidden)]
pub fn alert_values<'a>(event_id: i64, alert: &'a NewAlert, now: i64) -> [Val<'a>; 6] {
    [
        Val::Int(Some(event_id)),
        Val::Int(Some(alert.policy_id)),
        Val::Text(Some(&alert.ack_key)),
        Val::Text(Some(&alert.message)),
        Val::Int(alert.first_step_after_ms.map(|ms| now + ms)),
        Val::Int(Some(now)),
    ]
}

/// Everyone the event's deliveries reach by name: `$1` alert, `$2` now, `$3` event.
#[doc(hidden)]
pub const ALERT_RECIPIENTS_SQL: &str =
    "INSERT INTO alert_recipients (alert_id, user_id, step, added_at)
     SELECT DISTINCT $1, user_id, 0, $2 FROM deliveries
     WHERE event_id = $3 AND user_id IS NOT NULL";

#[doc(hidden)]
pub const DIGEST_SQL: &str = "INSERT INTO digest_items (user_id, event_id, title, line, created_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, event_id) DO NOTHING";

#[doc(hidden)]
pub fn digest_values(event_id: i64, item: &NewDigestItem, now: i64) -> [Val<'_>; 5] {
    [
        Val::Int(Some(item.user_id)),
        Val::Int(Some(event_id)),
        Val::Text(Some(&item.title)),
        Val::Text(Some(&item.line)),
        Val::Int(Some(now)),
    ]
}

/// The events of a batch with an idempotency key, and the key.
#[doc(hidden)]
pub fn keyed<'a>(events: &[EventRows<'a>]) -> Vec<(&'a NewEvent, &'a str)> {
    events
        .iter()
        .filter_map(|&(e, _, _)| e.idempotency_key.as_deref().map(|k| (e, k)))
        .collect()
}

/// What became of each event of a batch, from what the backend said: the
/// rows the keyed INSERT created (`created`, by (source, key)), the ids of
/// the unkeyed events in order (`unkeyed`) and the first events of the keys
/// seen before (`first`). A key twice in one batch: the second is the first's
/// duplicate.
#[doc(hidden)]
pub fn resolve(
    events: &[EventRows<'_>],
    mut created: HashMap<(String, String), i64>,
    unkeyed: Vec<i64>,
    first: &HashMap<(String, String), i64>,
) -> Vec<Inserted> {
    let mut unkeyed = unkeyed.into_iter();
    let mut seen: HashMap<(String, String), i64> = HashMap::new();
    events
        .iter()
        .map(|&(event, _, _)| {
            let Some(key) = event.idempotency_key.as_deref() else {
                return Inserted::Created(unkeyed.next().expect("one id per unkeyed event"));
            };
            let k = (event.source.clone(), key.to_owned());
            if let Some(&id) = seen.get(&k) {
                return Inserted::Duplicate(id);
            }
            let row = match created.remove(&k) {
                Some(id) => Inserted::Created(id),
                None => Inserted::Duplicate(first[&k]),
            };
            seen.insert(k, row.id());
            row
        })
        .collect()
}

/// The keys of a batch's events that the keyed INSERT did not create.
#[doc(hidden)]
pub fn seen_before<'a>(
    keyed: &[(&'a NewEvent, &'a str)],
    created: &HashMap<(String, String), i64>,
) -> Vec<(&'a str, &'a str)> {
    keyed
        .iter()
        .map(|&(e, k)| (e.source.as_str(), k))
        .filter(|&(s, k)| !created.contains_key(&(s.to_owned(), k.to_owned())))
        .collect()
}

/// The deliveries and inbox items of the created events of a batch.
#[allow(clippy::type_complexity)]
#[doc(hidden)]
pub fn routed<'a>(
    events: &[EventRows<'a>],
    inserted: &[Inserted],
) -> (Vec<Routed<'a, NewDelivery>>, Vec<Routed<'a, NewInboxItem>>) {
    let (mut deliveries, mut inbox) = (Vec::new(), Vec::new());
    for (&(event, event_deliveries, event_inbox), row) in events.iter().zip(inserted) {
        if let Inserted::Created(id) = *row {
            let (kind, priority) = (event.kind.as_str(), event.priority.as_str());
            deliveries.extend(Routed::all(id, kind, priority, event_deliveries));
            inbox.extend(Routed::all(id, kind, priority, event_inbox));
        }
    }
    (deliveries, inbox)
}

/// Inserts deliveries (`&[Routed<NewDelivery>]`, of one event or many)
/// inside the caller's transaction, a few multi-row statements in all.
/// `alert_step`: the escalation step that adds them (`None`: the events' own
/// routing). Rows whose status is `sending` are claimed at insert under
/// `lease` (an `Option<&Lease>`, required for them); the value is those
/// rows as [`Claimed`].
#[macro_export]
macro_rules! write_deliveries {
    ($tx:ident, $rows:expr, $now:expr, $alert_step:expr) => {
        $crate::write_deliveries!($tx, $rows, $now, $alert_step, None)
    };
    ($tx:ident, $rows:expr, $now:expr, $alert_step:expr, $lease:expr) => {{
        let (rows, now, alert_step, lease): (
            &[$crate::outbox::write::Routed<'_, $crate::outbox::write::NewDelivery>],
            i64,
            Option<i64>,
            Option<&$crate::outbox::write::Lease>,
        ) = ($rows, $now, $alert_step, $lease);
        let numbered = $crate::db::numbered(&$tx);
        let mut claimed: Vec<$crate::outbox::write::Claimed> = Vec::new();
        for chunk in $crate::outbox::write::chunks(rows) {
            let claims = $crate::outbox::write::claims(chunk);
            let sql = $crate::outbox::write::deliveries_sql(chunk.len(), numbered, claims);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                $crate::bind_vals!(
                    q,
                    $crate::outbox::write::delivery_values(r, now, alert_step, lease)?
                );
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

/// Inserts in-app inbox items (`&[Routed<NewInboxItem>]`, of one event or
/// many) inside the caller's transaction.
#[macro_export]
macro_rules! write_inbox {
    ($tx:ident, $rows:expr, $now:expr) => {{
        let (rows, now): (
            &[$crate::outbox::write::Routed<'_, $crate::outbox::write::NewInboxItem>],
            i64,
        ) = ($rows, $now);
        let numbered = $crate::db::numbered(&$tx);
        for chunk in $crate::outbox::write::chunks(rows) {
            let sql = $crate::outbox::write::inbox_sql(chunk.len(), numbered);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                $crate::bind_vals!(q, $crate::outbox::write::inbox_values(r, now));
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

/// Writes several events with their deliveries and inbox items inside the
/// caller's transaction (`in_tx!`), so a message the app sends commits
/// together with the state it belongs to (a phone code, a retry) or not at
/// all. A repeated idempotency key writes nothing for that event. The rows of
/// all new events go in shared multi-row statements: a group commit of a
/// hundred events is a few statements. A macro, like `in_tx!`, because the
/// transaction's type differs per backend; [`write_events_direct`] is the
/// same on SQLite's direct writer.
#[macro_export]
macro_rules! write_events {
    ($tx:ident, $events:expr, $now:expr) => {
        $crate::write_events!($tx, $events, $now, None).0
    };
    ($tx:ident, $events:expr, $now:expr, $lease:expr) => {{
        use std::collections::HashMap;
        let (events, now, lease): (
            &[$crate::outbox::write::EventRows<'_>],
            i64,
            Option<&$crate::outbox::write::Lease>,
        ) = ($events, $now, $lease);
        let numbered = $crate::db::numbered(&$tx);
        let keyed = $crate::outbox::write::keyed(events);
        let mut created = HashMap::with_capacity(keyed.len());
        for chunk in $crate::outbox::write::chunks(&keyed) {
            let sql = $crate::outbox::write::events_sql(chunk.len(), numbered);
            let mut q = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql));
            for &(event, key) in chunk {
                $crate::bind_vals!(
                    q,
                    $crate::outbox::write::event_values(event, Some(key), now)
                );
            }
            for (id, source, key) in q.fetch_all(&mut *$tx).await? {
                created.insert((source, key), id);
            }
        }
        let mut unkeyed = Vec::new();
        for &(event, _, _) in events.iter().filter(|e| e.0.idempotency_key.is_none()) {
            let mut q = sqlx::query_scalar::<_, i64>($crate::outbox::write::EVENT_SQL);
            $crate::bind_vals!(q, $crate::outbox::write::event_values(event, None, now));
            unkeyed.push(q.fetch_one(&mut *$tx).await?);
        }
        let mut first = HashMap::new();
        for (source, key) in $crate::outbox::write::seen_before(&keyed, &created) {
            let id: i64 = sqlx::query_scalar($crate::outbox::write::FIRST_EVENT_SQL)
                .bind(source)
                .bind(key)
                .fetch_one(&mut *$tx)
                .await?;
            first.insert((source.to_owned(), key.to_owned()), id);
        }
        let inserted = $crate::outbox::write::resolve(events, created, unkeyed, &first);
        let (deliveries, inbox) = $crate::outbox::write::routed(events, &inserted);
        let claimed = $crate::write_deliveries!($tx, &deliveries, now, None, lease);
        $crate::write_inbox!($tx, &inbox, now);
        // The alert's recipients are read from the deliveries written above.
        for (&(event, _, _), row) in events.iter().zip(&inserted) {
            let $crate::outbox::write::Inserted::Created(event_id) = *row else {
                continue;
            };
            if let Some(alert) = &event.alert {
                let mut q = sqlx::query_scalar::<_, i64>($crate::outbox::write::ALERT_SQL);
                $crate::bind_vals!(q, $crate::outbox::write::alert_values(event_id, alert, now));
                let alert_id = q.fetch_one(&mut *$tx).await?;
                sqlx::query($crate::outbox::write::ALERT_RECIPIENTS_SQL)
                    .bind(alert_id)
                    .bind(now)
                    .bind(event_id)
                    .execute(&mut *$tx)
                    .await?;
            }
            for item in &event.digest {
                let mut q = sqlx::query($crate::outbox::write::DIGEST_SQL);
                $crate::bind_vals!(q, $crate::outbox::write::digest_values(event_id, item, now));
                q.execute(&mut *$tx).await?;
            }
        }
        (inserted, claimed)
    }};
}

/// [`write_events`] for one event.
#[macro_export]
macro_rules! write_event {
    ($tx:ident, $event:expr, $deliveries:expr, $inbox:expr, $now:expr) => {{
        let rows: [$crate::outbox::write::EventRows<'_>; 1] = [($event, $deliveries, $inbox)];
        $crate::write_events!($tx, &rows, $now)[0]
    }};
}

/// [`write_events`] on SQLite's direct writer (`db::direct`): the same
/// statements and values, bound through rusqlite.
pub fn write_events_direct(
    tx: &rusqlite::Transaction<'_>,
    events: &[EventRows<'_>],
    now: i64,
    lease: Option<&Lease>,
) -> Result<(Vec<Inserted>, Vec<Claimed>), Error> {
    use crate::db::direct::{bind_all, bind_numbered};
    let keyed = keyed(events);
    let mut created = HashMap::with_capacity(keyed.len());
    for chunk in chunks(&keyed) {
        let mut stmt = tx.prepare_cached(&events_sql(chunk.len(), false))?;
        bind_all(
            &mut stmt,
            chunk
                .iter()
                .flat_map(|&(event, key)| event_values(event, Some(key), now)),
        )?;
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            created.insert((row.get(1)?, row.get(2)?), row.get(0)?);
        }
    }
    let mut unkeyed = Vec::new();
    for &(event, _, _) in events.iter().filter(|e| e.0.idempotency_key.is_none()) {
        let mut stmt = tx.prepare_cached(EVENT_SQL)?;
        bind_numbered(&mut stmt, &event_values(event, None, now))?;
        unkeyed.push(one(&mut stmt)?);
    }
    let mut first = HashMap::new();
    for (source, key) in seen_before(&keyed, &created) {
        let mut stmt = tx.prepare_cached(FIRST_EVENT_SQL)?;
        bind_numbered(&mut stmt, &[Val::Text(Some(source)), Val::Text(Some(key))])?;
        first.insert((source.to_owned(), key.to_owned()), one(&mut stmt)?);
    }
    let inserted = resolve(events, created, unkeyed, &first);
    let (deliveries, inbox) = routed(events, &inserted);
    let mut claimed = Vec::new();
    for chunk in chunks(&deliveries) {
        let claims = claims(chunk);
        let mut stmt = tx.prepare_cached(&deliveries_sql(chunk.len(), false, claims))?;
        let mut values = Vec::with_capacity(chunk.len() * 21);
        for r in chunk {
            values.extend(delivery_values(r, now, None, lease)?);
        }
        bind_all(&mut stmt, values)?;
        if claims {
            for c in stmt.raw_query().mapped(Claimed::from_direct) {
                let c = c?;
                // Only the claimed rows have an attempt counted.
                if c.attempts == 1 {
                    claimed.push(c);
                }
            }
        } else {
            stmt.raw_execute()?;
        }
    }
    for chunk in chunks(&inbox) {
        let mut stmt = tx.prepare_cached(&inbox_sql(chunk.len(), false))?;
        bind_all(&mut stmt, chunk.iter().flat_map(|r| inbox_values(r, now)))?;
        stmt.raw_execute()?;
    }
    for (&(event, _, _), row) in events.iter().zip(&inserted) {
        let Inserted::Created(event_id) = *row else {
            continue;
        };
        if let Some(alert) = &event.alert {
            let mut stmt = tx.prepare_cached(ALERT_SQL)?;
            bind_numbered(&mut stmt, &alert_values(event_id, alert, now))?;
            let alert_id = one(&mut stmt)?;
            let mut stmt = tx.prepare_cached(ALERT_RECIPIENTS_SQL)?;
            let int = |v| Val::Int(Some(v));
            bind_numbered(&mut stmt, &[int(alert_id), int(now), int(event_id)])?;
            stmt.raw_execute()?;
        }
        for item in &event.digest {
            let mut stmt = tx.prepare_cached(DIGEST_SQL)?;
            bind_numbered(&mut stmt, &digest_values(event_id, item, now))?;
            stmt.raw_execute()?;
        }
    }
    Ok((inserted, claimed))
}

/// The one integer a bound statement returns.
fn one(stmt: &mut rusqlite::CachedStatement<'_>) -> Result<i64, Error> {
    let mut rows = stmt.raw_query();
    match rows.next()? {
        Some(row) => Ok(row.get(0)?),
        None => Err(rusqlite::Error::QueryReturnedNoRows.into()),
    }
}

/// An event with what it routed to, owned (a group commit's batch).
pub struct EventParts {
    pub event: NewEvent,
    pub deliveries: Vec<NewDelivery>,
    pub inbox: Vec<NewInboxItem>,
}

impl EventParts {
    pub fn rows(&self) -> EventRows<'_> {
        (&self.event, &self.deliveries, &self.inbox)
    }
}

/// Writes several events in one transaction (group commit): one commit, and
/// one pass over the indexes' hot pages, for many events. Deliveries whose
/// status is `sending` are claimed at insert under `lease` and returned. On
/// SQLite the transaction runs whole on the direct writer's thread.
pub async fn insert_events(
    db: &Db,
    batch: std::sync::Arc<Vec<EventParts>>,
    now: i64,
    lease: Option<&Lease>,
) -> Result<(Vec<Inserted>, Vec<Claimed>), Error> {
    if let Db::Sqlite(_, gate) = db {
        if let Some(direct) = gate.direct() {
            let lease = lease.cloned();
            return direct
                .transaction(move |tx| {
                    let rows: Vec<EventRows<'_>> = batch.iter().map(EventParts::rows).collect();
                    write_events_direct(tx, &rows, now, lease.as_ref())
                })
                .await;
        }
    }
    let rows: Vec<EventRows<'_>> = batch.iter().map(EventParts::rows).collect();
    let written = in_tx!(db, |tx| crate::write_events!(tx, &rows, now, lease));
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
