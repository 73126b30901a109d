//! The outbox's write side: an event with its deliveries and inbox items in one
//! transaction. Shared by the ingestion API (server crate) and by messages the
//! app itself sends (phone codes, test sends, retries): every message is a row
//! here before any provider sees it, and the dispatcher only ever reads rows.

use crate::db::direct::Val;
use crate::db::exec::{ready, Direct, Exec, Row};
use crate::db::Db;
use crate::Error;
use crate::{in_tx, on_db};
use domain::{
    AccountId, Channel, DeliveryId, DeliveryStatus, EventKind, GroupId, Priority, SystemMessage,
    UserId,
};
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
    pub user_id: UserId,
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
    pub user_id: Option<UserId>,
    pub group_id: Option<GroupId>,
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
    /// A message of the system to one person, sent at once (a phone code,
    /// a set-password link). Its secret is in the message only, never in
    /// the event's data.
    pub fn to_person(kind: SystemMessage, user_id: UserId) -> Self {
        NewEvent {
            source: "app".into(),
            idempotency_key: None,
            kind: EventKind::System(kind),
            priority: Priority::High,
            work_zone: None,
            recipients: serde_json::json!({ "user_ids": [user_id] }).to_string(),
            data: "{}".into(),
            alert: None,
            digest: Vec::new(),
        }
    }

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
    pub user_id: UserId,
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
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: DeliveryId,
    pub priority: Priority,
    pub channel: Channel,
    pub recipient: String,
    /// Email only.
    pub subject: Option<String>,
    pub message: String,
    /// The staff member it is for (`None`: a group or a customer).
    pub user_id: Option<UserId>,
    /// This attempt's number (already counted); results are fenced on it.
    pub attempts: i64,
    pub max_attempts: i64,
    /// The account of the previous attempt: failover starts after it.
    pub provider_account_id: Option<AccountId>,
    pub created_at: i64,
    /// The previous attempt timed out on this account, so the message may
    /// have gone out: this attempt goes to it alone.
    pub unconfirmed_account_id: Option<AccountId>,
}

impl Claimed {
    /// A row of [`CLAIM_COLUMNS`]. The vocabularies are parsed here, once
    /// (the schema's CHECK constraints hold them to known words).
    pub fn from_row(row: &dyn Row) -> Result<Self, Error> {
        let bad = |e: domain::UnknownWord| crate::error::internal("deliveries row", &e);
        Ok(Claimed {
            id: DeliveryId(row.req_int(0)?),
            priority: Priority::parse(&row.req_text(1)?).map_err(bad)?,
            channel: Channel::parse(&row.req_text(2)?).map_err(bad)?,
            recipient: row.req_text(3)?,
            subject: row.text(4)?,
            message: row.req_text(5)?,
            user_id: row.int(6)?.map(UserId),
            attempts: row.req_int(7)?,
            max_attempts: row.req_int(8)?,
            provider_account_id: row.int(9)?.map(AccountId),
            created_at: row.req_int(10)?,
            unconfirmed_account_id: row.int(11)?.map(AccountId),
        })
    }
}

/// The columns of [`Claimed`].
pub const CLAIM_COLUMNS: &str =
    "id, priority, channel, recipient, subject, message, user_id, attempts, max_attempts, provider_account_id, created_at, unconfirmed_account_id";

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
    Ok(in_tx!(db, |tx| write_event(
        &mut *tx, event, deliveries, inbox, now
    )
    .await?))
}

/// One event with what it routed to.
pub type EventRows<'a> = (&'a NewEvent, &'a [NewDelivery], &'a [NewInboxItem]);

/// The INSERT of `rows` deliveries (21 values each, [`delivery_values`]);
/// it returns [`CLAIM_COLUMNS`] when some are written as claimed.
fn deliveries_sql(rows: usize, numbered: bool, claims: bool) -> String {
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
fn claims(chunk: &[Routed<'_, NewDelivery>]) -> bool {
    chunk
        .iter()
        .any(|r| r.row.status == DeliveryStatus::Sending)
}

/// One delivery's values for [`deliveries_sql`]. A row written as `sending`
/// needs the lease it is claimed under: without one it would never be
/// rescued.
fn delivery_values<'a>(
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
        Val::Int(d.user_id.map(i64::from)),
        Val::Int(d.group_id.map(i64::from)),
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
fn inbox_sql(rows: usize, numbered: bool) -> String {
    format!(
        "INSERT INTO notifications (event_id, user_id, notification_type, priority, title, body, link, created_at)
         VALUES {}",
        crate::db::rows_of(rows, 8, numbered)
    )
}

fn inbox_values<'a>(r: &Routed<'a, NewInboxItem>, now: i64) -> [Val<'a>; 8] {
    let n = r.row;
    [
        Val::Int(Some(r.event_id)),
        Val::Int(Some(n.user_id.0)),
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
fn events_sql(rows: usize, numbered: bool) -> String {
    format!(
        "INSERT INTO events (source, idempotency_key, notification_type, priority, work_zone,
             recipients, data, created_at)
         VALUES {}
         ON CONFLICT (source, idempotency_key) DO NOTHING
         RETURNING id, source, idempotency_key",
        crate::db::rows_of(rows, 8, numbered)
    )
}

fn event_values<'a>(event: &'a NewEvent, key: Option<&'a str>, now: i64) -> [Val<'a>; 8] {
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
const EVENT_SQL: &str =
    "INSERT INTO events (source, idempotency_key, notification_type, priority, work_zone,
         recipients, data, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

/// The first event of a (source, key) that was seen before.
const FIRST_EVENT_SQL: &str = "SELECT id FROM events WHERE source = $1 AND idempotency_key = $2";

/// An event's alert: `$1` event, `$2` policy, `$3` ack key, `$4` message,
/// `$5` first step's time, `$6` now.
const ALERT_SQL: &str =
    "INSERT INTO alerts (event_id, policy_id, ack_key, status, message, next_step,
         next_step_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'open', $4, 0, $5, $6, $6) RETURNING id";

fn alert_values<'a>(event_id: i64, alert: &'a NewAlert, now: i64) -> [Val<'a>; 6] {
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
const ALERT_RECIPIENTS_SQL: &str =
    "INSERT INTO alert_recipients (alert_id, user_id, step, added_at)
     SELECT DISTINCT $1, user_id, 0, $2 FROM deliveries
     WHERE event_id = $3 AND user_id IS NOT NULL";

const DIGEST_SQL: &str = "INSERT INTO digest_items (user_id, event_id, title, line, created_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, event_id) DO NOTHING";

fn digest_values(event_id: i64, item: &NewDigestItem, now: i64) -> [Val<'_>; 5] {
    [
        Val::Int(Some(item.user_id.0)),
        Val::Int(Some(event_id)),
        Val::Text(Some(&item.title)),
        Val::Text(Some(&item.line)),
        Val::Int(Some(now)),
    ]
}

/// The events of a batch with an idempotency key, and the key.
fn keyed<'a>(events: &[EventRows<'a>]) -> Vec<(&'a NewEvent, &'a str)> {
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
fn resolve(
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
fn seen_before<'a>(
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
fn routed<'a>(
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

/// Inserts deliveries (of one event or many) inside the caller's
/// transaction, a few multi-row statements in all. `alert_step`: the
/// escalation step that adds them (`None`: the events' own routing). Rows
/// whose status is `sending` are claimed at insert under `lease` (required
/// for them); the answer is those rows as [`Claimed`].
pub async fn write_deliveries(
    tx: &mut impl Exec,
    rows: &[Routed<'_, NewDelivery>],
    now: i64,
    alert_step: Option<i64>,
    lease: Option<&Lease>,
) -> Result<Vec<Claimed>, Error> {
    let numbered = tx.numbered();
    let mut claimed = Vec::new();
    let mut values = Vec::new();
    for chunk in chunks(rows) {
        let claims = claims(chunk);
        let sql = deliveries_sql(chunk.len(), numbered, claims);
        values.clear();
        for r in chunk {
            values.extend(delivery_values(r, now, alert_step, lease)?);
        }
        if claims {
            for c in tx.fetch(&sql, &values, Claimed::from_row).await? {
                // Only the claimed rows have an attempt counted.
                if c.attempts == 1 {
                    claimed.push(c);
                }
            }
        } else {
            tx.execute(&sql, &values).await?;
        }
    }
    Ok(claimed)
}

/// Inserts in-app inbox items (of one event or many) inside the caller's
/// transaction.
pub async fn write_inbox(
    tx: &mut impl Exec,
    rows: &[Routed<'_, NewInboxItem>],
    now: i64,
) -> Result<(), Error> {
    let numbered = tx.numbered();
    let mut values = Vec::new();
    for chunk in chunks(rows) {
        values.clear();
        values.extend(chunk.iter().flat_map(|r| inbox_values(r, now)));
        tx.execute(&inbox_sql(chunk.len(), numbered), &values)
            .await?;
    }
    Ok(())
}

/// Writes several events with their deliveries and inbox items inside the
/// caller's transaction, so a message the app sends commits together with
/// the state it belongs to (a phone code, a retry) or not at all. A repeated
/// idempotency key writes nothing for that event. The rows of all new
/// events go in shared multi-row statements: a group commit of a hundred
/// events is a few statements. Deliveries whose status is `sending` are
/// claimed at insert under `lease` and returned.
pub async fn write_events(
    tx: &mut impl Exec,
    events: &[EventRows<'_>],
    now: i64,
    lease: Option<&Lease>,
) -> Result<(Vec<Inserted>, Vec<Claimed>), Error> {
    let numbered = tx.numbered();
    let keyed = keyed(events);
    let mut created = HashMap::with_capacity(keyed.len());
    let mut values = Vec::new();
    for chunk in chunks(&keyed) {
        values.clear();
        values.extend(
            chunk
                .iter()
                .flat_map(|&(event, key)| event_values(event, Some(key), now)),
        );
        let rows = tx
            .fetch(&events_sql(chunk.len(), numbered), &values, |r| {
                Ok((r.req_int(0)?, r.req_text(1)?, r.req_text(2)?))
            })
            .await?;
        for (id, source, key) in rows {
            created.insert((source, key), id);
        }
    }
    let mut unkeyed = Vec::new();
    for &(event, _, _) in events.iter().filter(|e| e.0.idempotency_key.is_none()) {
        unkeyed.push(
            tx.fetch_int(EVENT_SQL, &event_values(event, None, now))
                .await?,
        );
    }
    let mut first = HashMap::new();
    for (source, key) in seen_before(&keyed, &created) {
        let values = [Val::Text(Some(source)), Val::Text(Some(key))];
        let id = tx.fetch_int(FIRST_EVENT_SQL, &values).await?;
        first.insert((source.to_owned(), key.to_owned()), id);
    }
    let inserted = resolve(events, created, unkeyed, &first);
    let (deliveries, inbox) = routed(events, &inserted);
    let claimed = write_deliveries(tx, &deliveries, now, None, lease).await?;
    write_inbox(tx, &inbox, now).await?;
    // The alert's recipients are read from the deliveries written above.
    for (&(event, _, _), row) in events.iter().zip(&inserted) {
        let Inserted::Created(event_id) = *row else {
            continue;
        };
        if let Some(alert) = &event.alert {
            let alert_id = tx
                .fetch_int(ALERT_SQL, &alert_values(event_id, alert, now))
                .await?;
            let int = |v| Val::Int(Some(v));
            tx.execute(
                ALERT_RECIPIENTS_SQL,
                &[int(alert_id), int(now), int(event_id)],
            )
            .await?;
        }
        for item in &event.digest {
            tx.execute(DIGEST_SQL, &digest_values(event_id, item, now))
                .await?;
        }
    }
    Ok((inserted, claimed))
}

/// [`write_events`] for one event.
pub async fn write_event(
    tx: &mut impl Exec,
    event: &NewEvent,
    deliveries: &[NewDelivery],
    inbox: &[NewInboxItem],
    now: i64,
) -> Result<Inserted, Error> {
    let rows: [EventRows<'_>; 1] = [(event, deliveries, inbox)];
    let (inserted, _) = write_events(tx, &rows, now, None).await?;
    Ok(inserted[0])
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
                    ready(write_events(&mut Direct(tx), &rows, now, lease.as_ref()))
                })
                .await;
        }
    }
    let rows: Vec<EventRows<'_>> = batch.iter().map(EventParts::rows).collect();
    Ok(in_tx!(db, |tx| write_events(&mut *tx, &rows, now, lease).await?))
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

/// What a request repeating an idempotency key must repeat: the event as
/// it is stored.
#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyedEvent {
    pub notification_type: String,
    pub priority: String,
    pub work_zone: Option<String>,
    pub recipients: String,
    pub data: String,
}

/// The event first written from `source` under idempotency key `key`: its
/// id and what it said.
pub async fn keyed_event(
    db: &Db,
    source: &str,
    key: &str,
) -> Result<Option<(i64, KeyedEvent)>, Error> {
    #[derive(sqlx::FromRow)]
    struct First {
        id: i64,
        #[sqlx(flatten)]
        event: KeyedEvent,
    }
    let first: Option<First> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, notification_type, priority, work_zone, recipients, data
         FROM events WHERE source = $1 AND idempotency_key = $2"
    )
    .bind(source)
    .bind(key)
    .fetch_optional(pool)
    .await?);
    Ok(first.map(|f| (f.id, f.event)))
}
