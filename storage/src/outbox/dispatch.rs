//! The dispatcher's side of the outbox (its write side is [`super::write`]):
//! claiming due deliveries, recording outcomes (fenced on the attempt that
//! was claimed) and rescuing expired leases. Provider status callbacks are
//! [`super::callbacks`].

use super::write::{Claimed, CLAIM_COLUMNS};
use crate::db::direct::Val;
use crate::db::exec::{ready, Direct, Exec};
use crate::db::{Backend, Db};
use crate::error::{internal, Error};
use crate::{in_tx, on_db, on_db_write};
use domain::live::DeliveryChange;
use domain::{AccountId, DeliveryId, DeliveryStatus, TryOutcome};

/// Leases up to `limit` due deliveries to `worker` until `now + lease_ms`.
/// PostgreSQL skips rows another instance is claiming; SQLite has one writer.
/// One statement, committed on its own.
pub async fn claim(
    db: &Db,
    worker: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, Error> {
    match db {
        Db::Sqlite(_, gate) => match gate.direct() {
            Some(direct) => {
                let worker = worker.to_owned();
                direct
                    .transaction(move |tx| {
                        ready(claim_in(&mut Direct(tx), &worker, now, lease_ms, limit))
                    })
                    .await
            }
            None => {
                let _turn = gate.lock().await;
                let mut conn = gate.writer().acquire().await?;
                claim_in(&mut *conn, worker, now, lease_ms, limit).await
            }
        },
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            claim_in(&mut *conn, worker, now, lease_ms, limit).await
        }
    }
}

async fn claim_in(
    tx: &mut impl Exec,
    worker: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, Error> {
    let locking = match tx.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let values = [
        Val::Int(Some(now + lease_ms)),
        Val::Text(Some(worker)),
        Val::Int(Some(now)),
        Val::Int(Some(limit)),
    ];
    tx.fetch(&claim_sql(locking), &values, Claimed::from_row)
        .await
}

/// The claim: `$1` lease end, `$2` worker, `$3` now, `$4` limit; `locking`
/// is PostgreSQL's row-locking clause.
fn claim_sql(locking: &str) -> String {
    format!(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, lease_expires_at = $1,
             locked_by = $2, updated_at = $3
         WHERE id IN (SELECT id FROM deliveries WHERE status IN ('queued','deferred')
                      AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4 {locking})
         RETURNING {CLAIM_COLUMNS}"
    )
}

/// What became of one claimed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        provider: String,
        account_id: AccountId,
        message_id: Option<String>,
        reference: Option<String>,
        response: String,
        cost_rupiah: i64,
    },
    Retry {
        provider: Option<String>,
        account_id: Option<AccountId>,
        next_attempt_at: i64,
        error: String,
        response: Option<String>,
        /// The send timed out on `account_id`: it may have gone out, so the
        /// next attempt goes to that account alone.
        unconfirmed: bool,
    },
    /// Not attempted (every account was at its rate limit): the attempt is
    /// given back.
    Postpone { next_attempt_at: i64 },
    Failed {
        provider: Option<String>,
        account_id: Option<AccountId>,
        error: String,
        response: Option<String>,
    },
}

/// One claimed attempt's result: what became of the delivery and each
/// account's try on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    pub id: DeliveryId,
    /// The attempt that was claimed: the fence its outcome is recorded on.
    pub attempt: i64,
    pub outcome: Outcome,
    /// In the order tried (none when the attempt was postponed or never
    /// reached an account).
    pub tries: Vec<Try>,
}

/// One account's try within an attempt (`delivery_tries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Try {
    pub account_id: AccountId,
    pub provider: String,
    pub started_at: i64,
    pub finished_at: i64,
    /// When the provider answered over HTTP.
    pub http_status: Option<u16>,
    pub outcome: TryOutcome,
    pub error: Option<String>,
    /// The provider's answer, clipped.
    pub response: Option<String>,
}

/// Records a batch of outcomes, and their tries, in one transaction. Each update is fenced on
/// (id, attempt, still sending): a result that arrives after its lease was
/// rescued and re-claimed changes nothing. Returns the changes that applied
/// (for the live feed).
pub async fn record(
    db: &Db,
    results: &[Attempted],
    now: i64,
) -> Result<Vec<DeliveryChange>, Error> {
    if results.is_empty() {
        return Ok(Vec::new());
    }
    if let Db::Sqlite(_, gate) = db {
        if let Some(direct) = gate.direct() {
            let results = results.to_vec();
            return direct
                .transaction(move |tx| ready(record_in(&mut Direct(tx), &results, now)))
                .await;
        }
    }
    Ok(in_tx!(db, |tx| record_in(&mut *tx, results, now).await?))
}

async fn record_in(
    tx: &mut impl Exec,
    results: &[Attempted],
    now: i64,
) -> Result<Vec<DeliveryChange>, Error> {
    if tx.backend() == Backend::Postgres {
        // Planned for the table as it is now, each time: a plan cached while
        // the table was small (a new installation's first minutes) would
        // hash the batch against a scan of the whole table for as long as
        // the connection lives. Planning costs far less than such a scan.
        tx.execute("SET LOCAL plan_cache_mode = force_custom_plan", &[])
            .await?;
    }
    let mut applied = Vec::with_capacity(results.len());
    // The rows whose outcome applied: only their tries are kept (a late
    // result of a rescued attempt changes nothing, its tries included).
    let mut took = std::collections::HashSet::with_capacity(results.len());
    let numbered = tx.numbered();
    for shape in SHAPES {
        let rows: Vec<&Attempted> = results
            .iter()
            .filter(|a| shape.kind == OutcomeKind::of(&a.outcome))
            .collect();
        for chunk in rows.chunks(RECORD_CHUNK) {
            let first = outcome_values(chunk[0]);
            let (sql, nows) = shape.sql(chunk.len(), &first, numbered);
            let mut values = vec![Val::Int(Some(now)); nows];
            values.extend(first);
            for a in &chunk[1..] {
                values.extend(outcome_values(a));
            }
            let ids = tx.fetch(&sql, &values, |r| r.req_int(0)).await?;
            took.extend(ids.iter().copied());
            if let Some(status) = shape.announces {
                applied.extend(ids.into_iter().map(|id| DeliveryChange {
                    id: DeliveryId(id),
                    status,
                }));
            }
        }
    }
    let tries: Vec<(&Attempted, &Try)> = results
        .iter()
        .filter(|a| took.contains(&a.id.0))
        .flat_map(|a| a.tries.iter().map(move |t| (a, t)))
        .collect();
    for chunk in tries.chunks(TRIES_CHUNK) {
        tx.execute(&tries_sql(chunk.len(), numbered), &tries_values(chunk))
            .await?;
    }
    Ok(applied)
}

/// Tries per INSERT (10 parameters each).
const TRIES_CHUNK: usize = 64;

/// The INSERT of `rows` tries, parameters in binding order.
fn tries_sql(rows: usize, numbered: bool) -> String {
    format!(
        "INSERT INTO delivery_tries (delivery_id, attempt, account_id, provider, started_at,
             finished_at, http_status, outcome, error, response)
         VALUES {}",
        crate::db::rows_of(rows, 10, numbered)
    )
}

fn tries_values<'a>(chunk: &[(&'a Attempted, &'a Try)]) -> Vec<Val<'a>> {
    let mut v = Vec::with_capacity(chunk.len() * 10);
    for (a, t) in chunk {
        v.extend([
            Val::Int(Some(a.id.0)),
            Val::Int(Some(a.attempt)),
            Val::Int(Some(t.account_id.0)),
            Val::Text(Some(&t.provider)),
            Val::Int(Some(t.started_at)),
            Val::Int(Some(t.finished_at)),
            Val::Int(t.http_status.map(i64::from)),
            Val::Text(Some(t.outcome.as_str())),
            Val::Text(t.error.as_deref()),
            Val::Text(t.response.as_deref()),
        ]);
    }
    v
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutcomeKind {
    Sent,
    Retry,
    Postpone,
    Failed,
}

impl OutcomeKind {
    fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Sent { .. } => OutcomeKind::Sent,
            Outcome::Retry { .. } => OutcomeKind::Retry,
            Outcome::Postpone { .. } => OutcomeKind::Postpone,
            Outcome::Failed { .. } => OutcomeKind::Failed,
        }
    }
}

/// How one kind of outcome is recorded: one UPDATE … FROM (VALUES …) per
/// chunk of such outcomes, whatever their number (a gateway that is down
/// fails a whole batch: one statement, not one round trip per row).
struct Shape {
    kind: OutcomeKind,
    /// The SET list: `v.column3` on are the kind's values ([`outcome_values`]),
    /// `{now}` the time of recording.
    set: &'static str,
    /// The status the live feed is told of (a postponed row was queued
    /// before and is again: nothing to tell).
    announces: Option<DeliveryStatus>,
}

const SHAPES: [Shape; 4] = [
    Shape {
        kind: OutcomeKind::Sent,
        set: "status = 'sent', provider = v.column3, provider_account_id = v.column4,
             provider_message_id = v.column5, provider_ref = v.column6, provider_response = v.column7,
             cost_rupiah = cost_rupiah + v.column8, sent_at = {now}, error = NULL,
             unconfirmed_account_id = NULL, lease_expires_at = NULL, locked_by = NULL,
             updated_at = {now}",
        announces: Some(DeliveryStatus::Sent),
    },
    Shape {
        kind: OutcomeKind::Failed,
        set: "status = 'failed', provider = COALESCE(v.column3, provider),
             provider_account_id = COALESCE(v.column4, provider_account_id), error = v.column5,
             provider_response = v.column6, failed_at = {now}, lease_expires_at = NULL,
             locked_by = NULL, updated_at = {now}, unconfirmed_account_id = NULL",
        announces: Some(DeliveryStatus::Failed),
    },
    Shape {
        kind: OutcomeKind::Retry,
        set: "status = 'queued', provider = COALESCE(v.column3, provider),
             provider_account_id = COALESCE(v.column4, provider_account_id),
             next_attempt_at = v.column5, error = v.column6, provider_response = v.column7,
             unconfirmed_account_id = v.column8, lease_expires_at = NULL, locked_by = NULL,
             updated_at = {now}",
        announces: Some(DeliveryStatus::Queued),
    },
    Shape {
        kind: OutcomeKind::Postpone,
        set: "status = 'queued', attempts = attempts - 1, next_attempt_at = v.column3,
             lease_expires_at = NULL, locked_by = NULL, updated_at = {now}",
        announces: None,
    },
];

impl Shape {
    /// The UPDATE of `rows` outcomes of this kind, whose values are shaped
    /// like `row` ([`outcome_values`]; its integers are cast, so PostgreSQL
    /// types a column of NULLs right), fenced on (id, attempt, still
    /// sending); and how many times the time is bound first: once as `$1` on
    /// PostgreSQL, once per `{now}` with SQLite's `?` (bound in order; see
    /// [`crate::db::exec::Exec::numbered`]).
    fn sql(&self, rows: usize, row: &[Val<'_>], numbered: bool) -> (String, usize) {
        let p = |n| crate::db::placeholder(numbered, n);
        let mut values = String::new();
        for i in 0..rows {
            let base = 1 + i * row.len();
            values.push_str(if i == 0 { "(" } else { ", (" });
            for (c, value) in row.iter().enumerate() {
                if c > 0 {
                    values.push_str(", ");
                }
                let param = p(base + c + 1);
                match value {
                    Val::Int(_) => values.push_str(&format!("CAST({param} AS BIGINT)")),
                    Val::Text(_) => values.push_str(&param),
                }
            }
            values.push(')');
        }
        let nows = if numbered {
            1
        } else {
            self.set.matches("{now}").count()
        };
        // VALUES columns are column1, column2, … on both backends. The
        // fence on the status is written `(…) IS TRUE` so that PostgreSQL
        // cannot answer it from `deliveries_status_created_idx`: its
        // statistics see few rows `sending`, so it planned a bitmap scan of
        // every `sending` entry (each claim leaves one, dead until vacuum)
        // hashed against the VALUES, 140 µs a row under load; by the primary
        // key it is one index probe per row.
        let sql = format!(
            "UPDATE deliveries SET {}
             FROM (VALUES {values}) AS v
             WHERE deliveries.id = v.column1 AND deliveries.attempts = v.column2
               AND (deliveries.status = 'sending') IS TRUE
             RETURNING deliveries.id",
            self.set.replace("{now}", &p(1)),
        );
        (sql, nows)
    }
}

/// One outcome's values for its [`Shape`]: id, attempt, then the kind's.
fn outcome_values(a: &Attempted) -> Vec<Val<'_>> {
    let int = |v: i64| Val::Int(Some(v));
    let mut v = vec![int(a.id.0), int(a.attempt)];
    match &a.outcome {
        Outcome::Sent {
            provider,
            account_id,
            message_id,
            reference,
            response,
            cost_rupiah,
        } => v.extend([
            Val::Text(Some(provider)),
            int(account_id.0),
            Val::Text(message_id.as_deref()),
            Val::Text(reference.as_deref()),
            Val::Text(Some(response)),
            int(*cost_rupiah),
        ]),
        Outcome::Failed {
            provider,
            account_id,
            error,
            response,
        } => v.extend([
            Val::Text(provider.as_deref()),
            Val::Int(account_id.map(|a| a.0)),
            Val::Text(Some(error)),
            Val::Text(response.as_deref()),
        ]),
        Outcome::Retry {
            provider,
            account_id,
            next_attempt_at,
            error,
            response,
            unconfirmed,
        } => v.extend([
            Val::Text(provider.as_deref()),
            Val::Int(account_id.map(|a| a.0)),
            int(*next_attempt_at),
            Val::Text(Some(error)),
            Val::Text(response.as_deref()),
            Val::Int(account_id.filter(|_| *unconfirmed).map(|a| a.0)),
        ]),
        Outcome::Postpone { next_attempt_at } => v.push(int(*next_attempt_at)),
    }
    v
}

/// Outcomes per UPDATE (up to 8 parameters each; small for the reason given
/// at [`super::write::INSERT_CHUNK`]).
const RECORD_CHUNK: usize = 64;

/// Returns deliveries whose worker died mid-attempt to the queue: those
/// whose lease expired before `now` (another instance's, on PostgreSQL).
/// Their last attempt's outcome is unknown, so the message may go out
/// twice; nothing is lost.
pub async fn rescue_expired(db: &Db, now: i64) -> Result<u64, Error> {
    requeue_leased(db, now, now).await
}

/// At the start of a single-instance SQLite server, before it accepts work:
/// every leased row was its own previous run's, which is gone; they are due
/// at once, not when their lease would have run out.
pub async fn rescue_all_at_start(db: &Db, now: i64) -> Result<u64, Error> {
    requeue_leased(db, i64::MAX, now).await
}

/// Requeues `sending` rows leased until before `cutoff`, due at `now`.
async fn requeue_leased(db: &Db, cutoff: i64, now: i64) -> Result<u64, Error> {
    let n = on_db_write!(db, |pool| {
        sqlx::query(
            "UPDATE deliveries SET status = 'queued', next_attempt_at = $1, lease_expires_at = NULL,
                 locked_by = NULL, error = 'worker stopped during the attempt; outcome unknown',
                 updated_at = $1
             WHERE status = 'sending' AND lease_expires_at < $2",
        )
        .bind(now)
        .bind(cutoff)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(n)
}

/// The earliest `next_attempt_at` still waiting, to know how long to sleep.
pub async fn next_due(db: &Db) -> Result<Option<i64>, Error> {
    let v: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE status IN ('queued','deferred')"
    )
    .fetch_one(pool)
    .await?);
    Ok(v)
}

/// Deliveries waiting in the outbox, per channel: `due` (queued or deferred
/// and due by `now`) and `sending` (claimed, not yet recorded), each with
/// the oldest one's due time (`due`) or creation (`sending`), in ms.
/// Read through the due and status indexes (`/metrics`).
pub async fn backlog(db: &Db, now: i64) -> Result<Vec<Backlog>, Error> {
    let rows: Vec<(String, String, i64, Option<i64>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT channel, 'due', COUNT(*), MIN(next_attempt_at) FROM deliveries
          WHERE status IN ('queued','deferred') AND next_attempt_at <= $1 GROUP BY channel
         UNION ALL
         SELECT channel, 'sending', COUNT(*), MIN(created_at) FROM deliveries
          WHERE status = 'sending' GROUP BY channel"
    )
    .bind(now)
    .fetch_all(pool)
    .await?);
    Ok(rows
        .into_iter()
        .map(|(channel, state, count, oldest)| Backlog {
            channel,
            state,
            count,
            oldest: oldest.unwrap_or(now),
        })
        .collect())
}

/// One line of [`backlog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub channel: String,
    /// `due` or `sending`.
    pub state: String,
    pub count: i64,
    pub oldest: i64,
}

/// The status of one delivery (tests and the API).
pub async fn status_of(db: &Db, id: DeliveryId) -> Result<DeliveryStatus, Error> {
    let s: String = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT status FROM deliveries WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await?);
    DeliveryStatus::parse(&s).map_err(|e| internal("deliveries.status", &e))
}
