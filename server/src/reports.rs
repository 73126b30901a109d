//! Scheduled reports: the daily summary and the weekly report, built from
//! the events the ticketing system posted in the period and the system's own
//! delivery statistics, sent to the schedule's WhatsApp group and by email
//! and in-app to everyone of its role.
//!
//! Exactly once: a run moves `report_schedules.next_run_at` on, fenced on
//! the value it found, in the transaction that writes the report (and the
//! report's event carries the idempotency key `report:{schedule}:{run}`), so
//! instances sweeping together send one report and a restart loses none. A
//! run missed while no instance was up is sent once when one starts, and the
//! next is counted from then (no burst of old reports).

use chrono::{DateTime, TimeZone, Utc};
use domain::{Channel, DeliveryStatus, EventKind, NotificationType, Priority};
use std::sync::Arc;
use std::time::Duration;
use storage::db::Db;
use storage::feed::Feed;
use storage::outbox::{NewDelivery, NewEvent, NewInboxItem};
use storage::reports::{self as store, Run, Schedule};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How often schedules are looked at.
pub const EVERY: Duration = Duration::from_secs(20);

/// Sends every report due at `now`; returns the events written.
pub async fn run_due(db: &Db, now: i64, settings_url: &str) -> Result<Vec<i64>, storage::Error> {
    let now_utc = Utc
        .timestamp_millis_opt(now)
        .single()
        .unwrap_or_else(Utc::now);
    store::arm(db, now_utc).await?;
    let mut written = Vec::new();
    for s in store::due(db, now).await? {
        let Some(due) = s.next_run_at else { continue };
        if let Some(event) = run_one(db, &s, due, now_utc, settings_url).await? {
            tracing::info!(schedule = s.id, event, "scheduled report sent");
            written.push(event);
        }
    }
    Ok(written)
}

async fn run_one(
    db: &Db,
    s: &Schedule,
    due: i64,
    now: DateTime<Utc>,
    settings_url: &str,
) -> Result<Option<i64>, storage::Error> {
    let when = s.when();
    let due_utc = Utc.timestamp_millis_opt(due).single().unwrap_or(now);
    // The next run comes after now, not after the missed one.
    let next = when
        .next_after(now.max(due_utc))
        .map(|t| t.timestamp_millis());
    let Some((covered, figures, text)) =
        store::report(db, &when, due_utc, now.timestamp_millis()).await?
    else {
        return Ok(None);
    };
    let weekly = matches!(when.cadence, domain::schedule::Cadence::Weekly(_));
    let period = covered.label();
    let (group, people) = store::audience(db, s).await?;
    let now_ms = now.timestamp_millis();
    let queued = |channel, recipient: String, subject, message: String| {
        NewDelivery::queued(channel, recipient, subject, message, now_ms, 5)
    };
    let mut deliveries = Vec::new();
    let mut inbox = Vec::new();
    if let Some((group_id, chat_id)) = group {
        deliveries.push(NewDelivery {
            group_id: Some(group_id),
            ..queued(Channel::WhatsappGroup, chat_id, None, text.clone())
        });
    }
    let plain = domain::sms::plain(&text);
    let title = if weekly {
        "Laporan mingguan"
    } else {
        "Laporan harian"
    };
    for (user_id, email) in people {
        if domain::email::plausible_address(&email) {
            let body = domain::email::plain_body(
                &plain,
                &domain::email::footer(domain::Locale::Id, settings_url),
            );
            deliveries.push(NewDelivery {
                user_id: Some(user_id),
                ..queued(
                    Channel::Email,
                    email,
                    Some(format!("{title} — {period}")),
                    body,
                )
            });
        }
        deliveries.push(NewDelivery {
            user_id: Some(user_id),
            status: DeliveryStatus::Delivered,
            next_attempt_at: None,
            ..queued(
                Channel::InApp,
                format!("user:{user_id}"),
                None,
                plain.clone(),
            )
        });
        inbox.push(NewInboxItem {
            user_id,
            title: format!("{title} — {period}"),
            body: plain.clone(),
            link: None,
        });
    }
    let kind = if weekly {
        NotificationType::WeeklyReport
    } else {
        NotificationType::DailySummary
    };
    let event = NewEvent {
        source: "scheduler".into(),
        idempotency_key: Some(format!("report:{}:{due}", s.id)),
        kind: EventKind::Notification(kind),
        priority: Priority::Low,
        work_zone: None,
        recipients: serde_json::json!({"schedule": s.id, "name": s.name}).to_string(),
        data: serde_json::to_string(&figures).unwrap_or_else(|_| "{}".into()),
        alert: None,
        digest: Vec::new(),
    };
    let run = Run {
        schedule_id: s.id,
        due,
        next,
        event: &event,
        deliveries: &deliveries,
        inbox: &inbox,
    };
    store::take_run(db, &run, now_ms).await
}

/// Runs due reports and digests every [`EVERY`] until `shutdown`.
pub async fn run(
    db: Db,
    feed: Feed,
    wake: Arc<Notify>,
    settings_url: String,
    shutdown: CancellationToken,
) {
    loop {
        let now = storage::now_ms();
        let written = [
            ("scheduled reports", run_due(&db, now, &settings_url).await),
            (
                "digests",
                crate::digests::run_due(&db, now, &settings_url).await,
            ),
        ]
        .into_iter()
        .fold(false, |any, (what, result)| match result {
            Ok(events) => any || !events.is_empty(),
            Err(e) => {
                tracing::error!("{what}: {e}");
                any
            }
        });
        // New messages: the dispatcher sends them, the pages list them.
        if written {
            feed.added();
            wake.notify_one();
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
