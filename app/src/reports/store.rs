//! SQL of report schedules: due schedules, the period's figures, and a run
//! written exactly once.

use crate::db::Db;
use crate::error::AppError;
use crate::outbox::{NewDelivery, NewEvent, NewInboxItem};
use crate::{in_tx, on_db, on_db_write};
use chrono::{DateTime, Utc, Weekday};
use domain::schedule::{status_kind, Cadence, Figures, When};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub weekday: Option<i64>,
    pub minute_of_day: i64,
    pub time_zone: String,
    pub group_id: Option<i64>,
    pub email_role: Option<String>,
    pub next_run_at: Option<i64>,
}

impl Schedule {
    pub fn when(&self) -> When {
        let cadence = match self.weekday.and_then(|d| u8::try_from(d).ok()) {
            Some(d) => Cadence::Weekly(Weekday::try_from(d).unwrap_or(Weekday::Mon)),
            None => Cadence::Daily,
        };
        When {
            cadence,
            minute_of_day: self.minute_of_day.clamp(0, 1439) as u16,
            time_zone: self.time_zone.clone(),
        }
    }
}

const COLUMNS: &str =
    "id, name, kind, weekday, minute_of_day, time_zone, group_id, email_role, next_run_at";

/// Gives every enabled schedule without a timer its next run after `now`
/// (a new schedule, or one switched on again).
pub async fn arm(db: &Db, now: DateTime<Utc>) -> Result<(), AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM report_schedules WHERE enabled = TRUE AND next_run_at IS NULL"
    );
    let idle: Vec<Schedule> = on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?);
    for s in idle {
        let Some(next) = s.when().next_after(now) else {
            continue;
        };
        on_db_write!(db, |pool| sqlx::query(
            "UPDATE report_schedules SET next_run_at = $2 WHERE id = $1 AND next_run_at IS NULL"
        )
        .bind(s.id)
        .bind(next.timestamp_millis())
        .execute(pool)
        .await
        .map(|_| ())?);
    }
    Ok(())
}

pub async fn due(db: &Db, now: i64) -> Result<Vec<Schedule>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM report_schedules WHERE enabled = TRUE AND next_run_at <= $1
         ORDER BY next_run_at LIMIT 20"
    );
    let rows: Vec<Schedule> = on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .fetch_all(pool)
        .await?);
    Ok(rows)
}

/// The period's figures: the ticketing system's events (any source but the
/// app's own and the scheduler's) and every message but in-app ones (always
/// delivered, they would flatter).
pub async fn figures(db: &Db, from: i64, to: i64) -> Result<Figures, AppError> {
    let events: Vec<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT notification_type, data FROM events
         WHERE created_at >= $1 AND created_at < $2 AND source NOT IN ('app', 'scheduler')
           AND notification_type IN ('new_ticket', 'ticket_status_changed', 'sla_breach', 'outage')"
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?
    });
    let mut f = Figures::default();
    for (kind, data) in events {
        match kind.as_str() {
            "new_ticket" => f.new_tickets += 1,
            "sla_breach" => f.sla_breaches += 1,
            "outage" => f.outages += 1,
            _ => {
                let status = serde_json::from_str::<serde_json::Value>(&data)
                    .ok()
                    .and_then(|v| v["status"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                match status_kind(&status) {
                    Some(true) => f.completed += 1,
                    Some(false) => f.in_progress += 1,
                    None => {}
                }
            }
        }
    }
    let (messages, delivered, read, failed, cost): (i64, i64, i64, i64, i64) = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT COUNT(*),
                    CAST(COALESCE(SUM(CASE WHEN status IN ('delivered', 'read') THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN status = 'read' THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(cost_rupiah), 0) AS BIGINT)
             FROM deliveries WHERE created_at >= $1 AND created_at < $2 AND channel <> 'in_app'"
        )
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await?
    });
    f.messages = messages;
    f.delivered = delivered;
    f.read = read;
    f.failed = failed;
    f.cost_rupiah = cost;
    Ok(f)
}

/// Who a schedule reaches: its group's chat id, and the active people of its
/// role as (id, email).
pub async fn audience(
    db: &Db,
    s: &Schedule,
) -> Result<(Option<(i64, String)>, Vec<(i64, String)>), AppError> {
    let group: Option<(i64, String)> = match s.group_id {
        Some(g) => on_db!(db, |pool| sqlx::query_as(
            "SELECT id, chat_id FROM whatsapp_groups WHERE id = $1 AND active = TRUE"
        )
        .bind(g)
        .fetch_optional(pool)
        .await?),
        None => None,
    };
    let people: Vec<(i64, String)> = match &s.email_role {
        Some(role) => on_db!(db, |pool| sqlx::query_as(
            "SELECT id, email FROM users WHERE role = $1 AND active = TRUE ORDER BY id"
        )
        .bind(role)
        .fetch_all(pool)
        .await?),
        None => Vec::new(),
    };
    Ok((group, people))
}

/// One run of a schedule, ready to write.
pub struct Run<'a> {
    pub schedule_id: i64,
    /// The run's time (`next_run_at` as found): the write is fenced on it.
    pub due: i64,
    /// The next run's time.
    pub next: Option<i64>,
    pub event: &'a NewEvent,
    pub deliveries: &'a [NewDelivery],
    pub inbox: &'a [NewInboxItem],
}

/// Writes a run: moves the schedule's timer from `due` to `next`, fenced on
/// `due`, and writes the report's event and messages in the same
/// transaction. Returns the event id, or `None` when another instance took
/// this run first.
pub async fn take_run(db: &Db, run: &Run<'_>, now: i64) -> Result<Option<i64>, AppError> {
    let Run {
        schedule_id,
        due,
        next,
        event,
        deliveries,
        inbox,
    } = *run;
    let written = in_tx!(db, |tx| {
        let moved = sqlx::query(
            "UPDATE report_schedules SET next_run_at = $3, last_run_at = $2, updated_at = $4
             WHERE id = $1 AND next_run_at = $2 AND enabled = TRUE",
        )
        .bind(schedule_id)
        .bind(due)
        .bind(next)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 1 {
            Some(crate::outbox::write_event!(tx, event, deliveries, inbox, now).id())
        } else {
            None
        }
    });
    Ok(written)
}
