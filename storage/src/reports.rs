//! SQL of report schedules: the page's list and edits, due schedules, the
//! period's figures, and a run written exactly once.

use crate::audit::{audit, audit_saved, Actor};
use crate::db::Db;
use crate::outbox::{NewDelivery, NewEvent, NewInboxItem};
use crate::Error;
use crate::{in_tx, on_db, on_db_write};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::schedule::{
    combine_posted, local_label, report_text, status_kind, Cadence, DayFigures, Figures, Period,
    Posted, When,
};
use domain::views::reports::{ReportPreview, ScheduleView, ValidSchedule};
use domain::words::{Missing, Named, Words};
use domain::{GroupId, Role, UserId};

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
        domain::views::reports::when_of(
            self.weekday.and_then(|d| u8::try_from(d).ok()),
            self.minute_of_day.clamp(0, 1439) as u16,
            &self.time_zone,
        )
    }
}

fn utc(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: i64,
    name: String,
    weekday: Option<i64>,
    minute_of_day: i64,
    time_zone: String,
    group_id: Option<i64>,
    group_name: Option<String>,
    email_role: Option<String>,
    enabled: bool,
    next_run_at: Option<i64>,
    last_run_at: Option<i64>,
}

/// Every schedule, by name, with its next and last run in its own zone.
pub async fn list(db: &Db) -> Result<Vec<ScheduleView>, Error> {
    let rows: Vec<ListRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT s.id, s.name, s.weekday, s.minute_of_day, s.time_zone, s.group_id,
                g.name AS group_name, s.email_role, s.enabled, s.next_run_at, s.last_run_at
         FROM report_schedules s LEFT JOIN whatsapp_groups g ON g.id = s.group_id
         ORDER BY s.name"
    )
    .fetch_all(pool)
    .await?);
    Ok(rows
        .into_iter()
        .map(|r| {
            let label = |ms: Option<i64>| ms.and_then(utc).map(|t| local_label(t, &r.time_zone));
            ScheduleView {
                next_run: label(r.next_run_at.filter(|_| r.enabled)),
                last_run: label(r.last_run_at),
                id: r.id,
                weekday: r.weekday.and_then(|d| u8::try_from(d).ok()),
                minute_of_day: r.minute_of_day.clamp(0, 1439) as u16,
                group: r.group_id.zip(r.group_name),
                email_role: r.email_role.as_deref().and_then(|x| Role::parse(x).ok()),
                enabled: r.enabled,
                name: r.name,
                time_zone: r.time_zone,
            }
        })
        .collect())
}

/// The WhatsApp groups a report may go to (active ones).
pub async fn groups(db: &Db) -> Result<Vec<(i64, String)>, Error> {
    let rows = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, name FROM whatsapp_groups WHERE active = TRUE ORDER BY name"
    )
    .fetch_all(pool)
    .await?);
    Ok(rows)
}

/// Schedule `$id` as the audit trail keeps it, read in `$tx`.
macro_rules! schedule_snapshot {
    ($tx:ident, $id:expr) => {{
        type Snap = (String, String, Option<i64>, i64, String, Option<i64>, Option<String>, bool);
        let row: Option<Snap> = sqlx::query_as(
            "SELECT name, kind, weekday, minute_of_day, time_zone, group_id, email_role, enabled
             FROM report_schedules WHERE id = $1",
        )
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        row.map(|(name, kind, weekday, minute, zone, group, role, enabled)| {
            serde_json::json!({
                "name": name, "kind": kind, "weekday": weekday, "minute_of_day": minute,
                "time_zone": zone, "group_id": group, "email_role": role, "enabled": enabled,
            })
            .to_string()
        })
    }};
}

/// Creates or updates a schedule. Its timer is kept when neither its time,
/// day, zone nor switch changed (a save just before a run must not skip
/// it); otherwise it is the next firing after `now`, or none when off. A
/// taken name is a conflict; a group that does not exist, a validation
/// error.
pub async fn save(db: &Db, actor: &Actor, v: &ValidSchedule, now: i64) -> Result<i64, Error> {
    // The unique index on the name decides (two saves at once included).
    write(db, actor, v, now)
        .await
        .map_err(|e| e.taken(Named::Schedule, &v.name))
}

async fn write(db: &Db, actor: &Actor, v: &ValidSchedule, now: i64) -> Result<i64, Error> {
    if let Some(g) = v.group_id {
        let exists: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM whatsapp_groups WHERE id = $1"
        )
        .bind(g)
        .fetch_optional(pool)
        .await?);
        if exists.is_none() {
            return Err(Error::invalid(
                "group_id",
                Words::new(
                    "Grup yang dipilih tidak ada.",
                    "The group chosen does not exist.",
                ),
            ));
        }
    }
    let next = if v.enabled {
        utc(now)
            .and_then(|t| v.when().next_after(t))
            .map(|t| t.timestamp_millis())
    } else {
        None
    };
    let weekday = v.weekday.map(i64::from);
    let minute = i64::from(v.minute_of_day);
    let role = v.email_role.map(|r| r.as_str());
    let id = in_tx!(db, |tx| {
        let before = match v.id {
            Some(id) => schedule_snapshot!(tx, id),
            None => None,
        };
        let id: i64 = match v.id {
            Some(id) => {
                let updated: Option<i64> = sqlx::query_scalar(
                    "UPDATE report_schedules SET
                         next_run_at = CASE WHEN enabled = $8 AND COALESCE(weekday, -1) = COALESCE($3, -1)
                                             AND minute_of_day = $4 AND time_zone = $5
                                            THEN next_run_at ELSE $9 END,
                         name = $2, weekday = $3, minute_of_day = $4, time_zone = $5,
                         group_id = $6, email_role = $7, enabled = $8, kind = $10, updated_at = $11
                     WHERE id = $1 RETURNING id",
                )
                .bind(id)
                .bind(&v.name)
                .bind(weekday)
                .bind(minute)
                .bind(&v.time_zone)
                .bind(v.group_id)
                .bind(role)
                .bind(v.enabled)
                .bind(next)
                .bind(v.kind())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                updated.ok_or(Error::NotFound(Missing::Schedule(id)))?
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO report_schedules (name, kind, weekday, minute_of_day, time_zone,
                         group_id, email_role, enabled, next_run_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                )
                .bind(&v.name)
                .bind(v.kind())
                .bind(weekday)
                .bind(minute)
                .bind(&v.time_zone)
                .bind(v.group_id)
                .bind(role)
                .bind(v.enabled)
                .bind(next)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let after = schedule_snapshot!(tx, id);
        audit_saved!(
            tx,
            actor,
            "report",
            &format!("#{id} {}", v.name),
            before,
            after,
            now
        );
        id
    });
    Ok(id)
}

pub async fn delete(db: &Db, actor: &Actor, id: i64, now: i64) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let Some(before) = schedule_snapshot!(tx, id) else {
            return Err(Error::NotFound(Missing::Schedule(id)));
        };
        sqlx::query("DELETE FROM report_schedules WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit!(
            tx,
            actor,
            "report.delete",
            &format!("#{id}"),
            Some(before),
            None::<String>,
            now
        );
    });
    Ok(())
}

/// A run's report: the days it covers, their figures (up to `now`), and
/// its WhatsApp text.
pub async fn report(
    db: &Db,
    when: &When,
    run: DateTime<Utc>,
    now: i64,
) -> Result<Option<(Period, Figures, String)>, Error> {
    let Some(period) = when.period(run) else {
        return Ok(None);
    };
    let f = figures(db, &period, period.to.timestamp_millis().min(now)).await?;
    let weekly = matches!(when.cadence, Cadence::Weekly(_));
    let text = report_text(weekly, &period.label(), &f);
    Ok(Some((period, f, text)))
}

/// What the next run of `when` would send, with the figures so far.
pub async fn preview(db: &Db, when: &When, now: i64) -> Result<ReportPreview, Error> {
    let next = utc(now).and_then(|t| when.next_after(t));
    let report = match next {
        Some(t) => report(db, when, t, now).await?,
        None => None,
    };
    match (next, report) {
        (Some(t), Some((period, _, text))) => Ok(ReportPreview {
            next_run: local_label(t, &when.time_zone),
            period: period.label(),
            text,
        }),
        _ => Err(Error::invalid(
            "time",
            Words::new(
                "Jadwal ini tidak pernah berjalan.",
                "This schedule never runs.",
            ),
        )),
    }
}

const COLUMNS: &str =
    "id, name, kind, weekday, minute_of_day, time_zone, group_id, email_role, next_run_at";

/// Gives every enabled schedule without a timer its next run after `now`
/// (a new schedule, or one switched on again).
pub async fn arm(db: &Db, now: DateTime<Utc>) -> Result<(), Error> {
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

pub async fn due(db: &Db, now: i64) -> Result<Vec<Schedule>, Error> {
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

/// Stores one day's ticket figures for a zone (`""`: all zones), replacing
/// what was posted before for that day and zone. Returns whether it did.
pub async fn post_ticket_figures(
    db: &Db,
    day: NaiveDate,
    zone: &str,
    f: &DayFigures,
    source: &str,
    now: i64,
) -> Result<bool, Error> {
    let day = day.format("%Y-%m-%d").to_string();
    let replaced = in_tx!(db, |tx| {
        let before: Option<i64> = sqlx::query_scalar(
            "SELECT received_at FROM ticket_figures WHERE day = $1 AND work_zone = $2",
        )
        .bind(&day)
        .bind(zone)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ticket_figures (day, work_zone, total, completed, in_progress,
                 open_tickets, sla_breached, source, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (day, work_zone) DO UPDATE SET total = excluded.total,
                 completed = excluded.completed, in_progress = excluded.in_progress,
                 open_tickets = excluded.open_tickets, sla_breached = excluded.sla_breached,
                 source = excluded.source, received_at = excluded.received_at",
        )
        .bind(&day)
        .bind(zone)
        .bind(f.total)
        .bind(f.completed)
        .bind(f.in_progress)
        .bind(f.open)
        .bind(f.sla_breached)
        .bind(source)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        before.is_some()
    });
    Ok(replaced)
}

#[derive(sqlx::FromRow)]
struct PostedRow {
    day: String,
    work_zone: String,
    zone_name: Option<String>,
    total: i64,
    completed: i64,
    in_progress: i64,
    open_tickets: i64,
    sla_breached: i64,
}

/// The ticket figures posted for the period's days, combined.
async fn posted(db: &Db, period: &Period) -> Result<Option<Posted>, Error> {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let rows: Vec<PostedRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT f.day, f.work_zone, z.name AS zone_name, f.total, f.completed, f.in_progress,
                f.open_tickets, f.sla_breached
         FROM ticket_figures f LEFT JOIN work_zones z ON z.code = f.work_zone
         WHERE f.day >= $1 AND f.day <= $2 ORDER BY f.day, f.work_zone"
    )
    .bind(day(period.first_day))
    .bind(day(period.last_day))
    .fetch_all(pool)
    .await?);
    let names: std::collections::HashMap<String, String> = rows
        .iter()
        .filter_map(|r| Some((r.work_zone.clone(), r.zone_name.clone()?)))
        .collect();
    let rows: Vec<(NaiveDate, String, DayFigures)> = rows
        .into_iter()
        .filter_map(|r| {
            let d = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()?;
            let f = DayFigures {
                total: r.total,
                completed: r.completed,
                in_progress: r.in_progress,
                open: r.open_tickets,
                sla_breached: r.sla_breached,
            };
            Some((d, r.work_zone, f))
        })
        .collect();
    Ok(combine_posted(&rows, |code| {
        names.get(code).cloned().unwrap_or_else(|| code.to_owned())
    }))
}

/// The period's figures: the ticketing system's posted figures for its days
/// and its events (any source but the app's own and the scheduler's) up to
/// `to`, and every message but in-app ones (always delivered, they would
/// flatter).
pub async fn figures(db: &Db, period: &Period, to: i64) -> Result<Figures, Error> {
    let from = period.from.timestamp_millis();
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
    f.posted = posted(db, period).await?;
    Ok(f)
}

/// Who a schedule reaches: its group's chat id, and the active people of its
/// role as (id, email).
pub async fn audience(
    db: &Db,
    s: &Schedule,
) -> Result<(Option<(GroupId, String)>, Vec<(UserId, String)>), Error> {
    let group: Option<(GroupId, String)> = match s.group_id {
        Some(g) => on_db!(db, |pool| sqlx::query_as(
            "SELECT id, chat_id FROM whatsapp_groups WHERE id = $1 AND active = TRUE"
        )
        .bind(g)
        .fetch_optional(pool)
        .await?),
        None => None,
    };
    let people: Vec<(UserId, String)> = match &s.email_role {
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
pub async fn take_run(db: &Db, run: &Run<'_>, now: i64) -> Result<Option<i64>, Error> {
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
            Some(
                crate::outbox::write_event(&mut *tx, event, deliveries, inbox, now)
                    .await?
                    .id(),
            )
        } else {
            None
        }
    });
    Ok(written)
}
