//! Scheduled reports with a controllable clock: the demo's daily summary at
//! 07:00 WIB and weekly report on Monday, their figures, exactly one report
//! per run however many instances sweep, and one catch-up report (not a
//! burst) after a long stop; on SQLite and PostgreSQL.

mod support;

use app::db::Db;
use app::store_test;
use app::time::now_ms;
use chrono::{Datelike, TimeZone, Utc};
use domain::schedule::Cadence;
use serde_json::json;
use server::reports::run_due;
use support::*;

const SETTINGS: &str = "http://localhost:3000/settings";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

async fn next_run(db: &Db, name: &str) -> i64 {
    app::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT next_run_at FROM report_schedules WHERE name = $1"
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn reports(db: &Db) -> Vec<(i64, String, String)> {
    app::on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, notification_type, idempotency_key FROM events WHERE source = 'scheduler' ORDER BY id"
    )
    .fetch_all(pool)
    .await
    .unwrap()
    })
}

/// Moves what exists so far to `at` (an instant inside the period a run reports on).
async fn backdate(db: &Db, at: i64) {
    app::on_db!(db, |pool| {
        sqlx::query("UPDATE events SET created_at = $1")
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("UPDATE deliveries SET created_at = $1")
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
    });
}

store_test!(
    the_daily_summary_goes_out_once_at_seven_with_the_days_figures,
    |db| {
        setup(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let maya = user_id(db, "manager@demo.id").await;
        // What the ticketing system posted: two new tickets, one finished, one
        // in progress, one SLA breach.
        for (i, (kind, status)) in [
            ("new_ticket", None),
            ("new_ticket", None),
            ("ticket_status_changed", Some("selesai")),
            ("ticket_status_changed", Some("on_progress")),
            ("sla_breach", None),
        ]
        .into_iter()
        .enumerate()
        {
            let mut data = json!({"ticket_id": format!("TK-{i}"), "customer_name": "Ibu Sari", "location": "ODP-1",
            "issue_type": "LOS", "address": "Jl. 1", "customer_phone": "0812-3456-7890",
            "sla_deadline": "16:00", "remaining_time": "0", "ticket_url": "https://tiket.example/1"});
            if let Some(s) = status {
                data["status"] = json!(s);
            }
            ingest(db, json!({"type": kind, "priority": "medium", "work_zone": "karawang",
            "recipients": {"user_ids": [budi]}, "data": data, "idempotency_key": format!("rep-{i}")}))
            .await
            .unwrap();
        }

        // The first sweep arms the timers: the next 07:00 WIB (00:00 UTC).
        let t0 = now_ms();
        assert!(run_due(db, t0, SETTINGS).await.unwrap().is_empty());
        let due = next_run(db, "Laporan harian").await;
        let due_utc = Utc.timestamp_millis_opt(due).unwrap();
        assert_eq!(due_utc.format("%H:%M").to_string(), "00:00");
        assert!(due > t0 && due <= t0 + DAY);
        let weekly = next_run(db, "Laporan mingguan").await;
        let weekly_local = Utc.timestamp_millis_opt(weekly).unwrap() + chrono::Duration::hours(7);
        assert_eq!(weekly_local.weekday(), chrono::Weekday::Mon);
        // The day the run reports on: put today's traffic there.
        backdate(db, due - 12 * HOUR).await;

        // A minute early: nothing. On time, two instances at once: one report.
        assert!(run_due(db, due - 60_000, SETTINGS)
            .await
            .unwrap()
            .is_empty());
        let (a, b) = tokio::join!(run_due(db, due, SETTINGS), run_due(db, due, SETTINGS));
        let sent: Vec<i64> = a.unwrap().into_iter().chain(b.unwrap()).collect();
        let all = reports(db).await;
        // (On a Sunday night the weekly report is due at the same moment.)
        assert_eq!(sent.len(), all.len(), "each report written by one instance");
        let written: Vec<_> = all.into_iter().filter(|r| r.1 == "daily_summary").collect();
        assert_eq!(written.len(), 1, "one report however many sweep");
        assert_eq!(next_run(db, "Laporan harian").await, due + DAY);

        let rows = deliveries(db, written[0].0).await;
        let group = rows
            .iter()
            .find(|r| r.channel == "whatsapp_group")
            .expect("to the Management group");
        assert!(
            group.message.starts_with("📊 *LAPORAN HARIAN* — "),
            "{}",
            group.message
        );
        for line in [
            "*Tiket baru:* 2",
            "*Selesai:* 1",
            "*Dalam proses:* 1",
            "*Melewati SLA:* 1",
        ] {
            assert!(group.message.contains(line), "{line} in {}", group.message);
        }
        // The five events' messages (WhatsApp, email, …; in-app not counted).
        assert!(
            group.message.contains("*Notifikasi terkirim:* "),
            "{}",
            group.message
        );
        let email = rows
            .iter()
            .find(|r| r.channel == "email")
            .expect("by email to the manager");
        assert_eq!(
            (email.user_id, email.recipient.as_str()),
            (Some(maya), "manager@demo.id")
        );
        assert!(rows
            .iter()
            .any(|r| r.channel == "in_app" && r.user_id == Some(maya)));
        let inbox = app::inbox::store::list(db, maya, 5).await.unwrap();
        assert!(
            inbox[0].title.starts_with("Laporan harian — "),
            "{}",
            inbox[0].title
        );
    }
);

store_test!(a_long_stop_sends_one_catch_up_report_not_a_burst, |db| {
    setup(db).await;
    let t0 = now_ms();
    run_due(db, t0, SETTINGS).await.unwrap();
    let due = next_run(db, "Laporan harian").await;
    // Down for three days: one daily report when it comes back, and the
    // next one is tomorrow's, counted from now.
    let back = due + 3 * DAY + HOUR;
    let sent = run_due(db, back, SETTINGS).await.unwrap();
    let daily: Vec<_> = reports(db)
        .await
        .into_iter()
        .filter(|r| r.1 == "daily_summary")
        .collect();
    assert_eq!(daily.len(), 1, "{sent:?}");
    assert_eq!(next_run(db, "Laporan harian").await, due + 4 * DAY);
    assert!(run_due(db, back + 60_000, SETTINGS)
        .await
        .unwrap()
        .is_empty());
    // The schedule's cadence as the domain reads it.
    let s = app::reports::store::due(db, i64::MAX).await.unwrap();
    assert!(s.iter().any(|s| s.name == "Laporan mingguan"
        && s.when().cadence == Cadence::Weekly(chrono::Weekday::Mon)));
});
