//! Scheduled reports with a controllable clock: the demo's daily summary at
//! 07:00 WIB and weekly report on Monday, their figures, exactly one report
//! per run however many instances sweep, and one catch-up report (not a
//! burst) after a long stop; figures the ticketing system posts; schedules
//! edited over the page's server functions; on SQLite and PostgreSQL.

mod support;

use chrono::{Datelike, TimeZone, Utc};
use domain::schedule::Cadence;
use serde_json::{json, Value};
use server::reports::run_due;
use server::DEMO_API_KEY;
use storage::db::Db;
use storage::now_ms;
use storage::store_test;
use support::*;

const SETTINGS: &str = "http://localhost:3000/settings";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

async fn next_run(db: &Db, name: &str) -> i64 {
    storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT next_run_at FROM report_schedules WHERE name = $1"
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn reports(db: &Db) -> Vec<(i64, String, String)> {
    storage::on_db!(db, |pool| {
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
    storage::on_db_write!(db, |pool| {
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
            (Some(maya.0), "manager@demo.id")
        );
        assert!(rows
            .iter()
            .any(|r| r.channel == "in_app" && r.user_id == Some(maya.0)));
        // (On a Sunday night the weekly report's item may be the newest.)
        let inbox = storage::inbox::list(db, maya, 5).await.unwrap();
        let titles: Vec<&str> = inbox.iter().map(|i| i.title.as_str()).collect();
        assert!(
            titles.iter().any(|t| t.starts_with("Laporan harian — ")),
            "{titles:?}"
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
    let s = storage::reports::due(db, i64::MAX).await.unwrap();
    assert!(s.iter().any(|s| s.name == "Laporan mingguan"
        && s.when().cadence == Cadence::Weekly(chrono::Weekday::Mon)));
});

/// The local day (WIB) just before a 07:00 WIB run.
fn reported_day(due: i64) -> String {
    (Utc.timestamp_millis_opt(due).unwrap() + chrono::Duration::hours(7)
        - chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string()
}

async fn post_figures(base: &str, key: Option<&str>, body: Value) -> (reqwest::StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/ticket-figures"))
        .json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

store_test!(
    figures_the_ticketing_system_posts_replace_the_counted_ones,
    |db| {
        setup_with_api_key(db).await;
        let srv = spawn_server(db).await;
        let base = format!("http://{}", srv.addr);
        run_due(db, now_ms(), SETTINGS).await.unwrap();
        let due = next_run(db, "Laporan harian").await;
        let day = reported_day(due);
        let figures = |zone: Value, total: i64, completed: i64| {
            json!({"date": day, "work_zone": zone, "total": total, "completed": completed,
                   "in_progress": 2, "open": 1, "sla_breached": 1})
        };

        // Refusals: no key, bad fields (each named), an unknown zone; none stored.
        let (s, _) = post_figures(&base, None, figures(json!("karawang"), 9, 8)).await;
        assert_eq!(s, reqwest::StatusCode::UNAUTHORIZED);
        let (s, b) = post_figures(
            &base,
            Some(DEMO_API_KEY),
            json!({"date": "2026-13-01", "total": 1, "completed": 2, "in_progress": 0, "open": 0}),
        )
        .await;
        assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let fields: Vec<&str> = b["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["date", "sla_breached", "completed"], "{b}");
        let (s, b) = post_figures(&base, Some(DEMO_API_KEY), figures(json!("bandung"), 9, 8)).await;
        assert_eq!(
            (s, b["fields"][0]["message"].as_str()),
            (
                reqwest::StatusCode::UNPROCESSABLE_ENTITY,
                Some("unknown work zone 'bandung'; known: bekasi, cikampek, karawang")
            )
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM ticket_figures").await, 0);

        // Two zones; Karawang corrected by a second post.
        for (zone, total, completed, replaced) in [
            ("karawang", 10, 7, false),
            ("bekasi", 5, 5, false),
            ("karawang", 12, 9, true),
        ] {
            let (s, b) = post_figures(
                &base,
                Some(DEMO_API_KEY),
                figures(json!(zone), total, completed),
            )
            .await;
            assert_eq!(s, reqwest::StatusCode::OK, "{b}");
            assert_eq!(
                b,
                json!({"date": day, "work_zone": zone, "replaced": replaced})
            );
        }
        // Another day's figures are not this report's.
        let mut other = figures(Value::Null, 100, 100);
        other["date"] = json!(reported_day(due - DAY));
        assert_eq!(
            post_figures(&base, Some(DEMO_API_KEY), other).await.0,
            reqwest::StatusCode::OK
        );

        run_due(db, due, SETTINGS).await.unwrap();
        let daily = reports(db)
            .await
            .into_iter()
            .find(|r| r.1 == "daily_summary")
            .unwrap();
        let group = deliveries(db, daily.0)
            .await
            .into_iter()
            .find(|r| r.channel == "whatsapp_group")
            .unwrap();
        for line in [
            "*Total tiket:* 17\n*Selesai:* 14\n*Dalam proses:* 4\n*Terbuka:* 2\n*Melewati SLA:* 2",
            "_Per wilayah:_\n• Bekasi: 5/5 selesai, 1 terbuka, 1 melewati SLA\n• Karawang: 9/12 selesai, 1 terbuka, 1 melewati SLA",
        ] {
            assert!(group.message.contains(line), "{line} in {}", group.message);
        }
        assert!(!group.message.contains("Tiket baru"), "{}", group.message);
        srv.stop().await;
    }
);

/// Calls a server function as the holder of `session`: a JSON body for
/// those taking JSON (save, preview), a form for the others.
async fn call(
    base: &str,
    session: &str,
    endpoint: &str,
    body: Value,
) -> (reqwest::StatusCode, String) {
    let req = reqwest::Client::new()
        .post(format!("{base}/api/{endpoint}"))
        .header(
            "cookie",
            format!("{}={session}", app::auth::session::COOKIE_NAME),
        );
    let req = if body.get("form").is_some() {
        req.json(&body)
    } else {
        let fields: Vec<(String, String)> = body
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        req.form(&fields)
    };
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

store_test!(
    schedules_are_edited_by_managers_and_keep_their_timer,
    |db| {
        setup(db).await;
        // No dispatcher, so no report sweep: a sweep running late after
        // start could fire the timer this test sets in the past.
        let srv = server::testkit::start_on_loopback(db.clone(), None)
            .await
            .unwrap();
        let base = format!("http://{}", srv.addr);
        let session = |email: &'static str| async move {
            let id = user_id(db, email).await;
            storage::sessions::create_session(db, id, now_ms())
                .await
                .unwrap()
        };
        let maya = session("manager@demo.id").await;
        let budi = session("tek.karawang1@demo.id").await;

        // Technicians may not see or change schedules.
        let (s, body) = call(&base, &budi, "reports/list", json!({})).await;
        assert_eq!(s, reqwest::StatusCode::FORBIDDEN, "{body}");
        // The refusal is a kind (the roles that may), told in words where
        // it is shown.
        let refusal: app::AppError = serde_json::from_str(&body).unwrap();
        assert!(
            refusal.message_in(domain::Locale::Id).contains("Manajer"),
            "{body}"
        );
        let form = json!({"id": null, "name": "Laporan NOC", "weekday": "4", "time": "16:30",
                      "time_zone": "Asia/Makassar", "group_id": null, "email_role": "noc", "enabled": true});
        let (s, _) = call(&base, &budi, "reports/save", json!({ "form": form })).await;
        assert_eq!(s, reqwest::StatusCode::FORBIDDEN);
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM report_schedules").await,
            2,
            "nothing saved for a technician"
        );

        // A manager adds a weekly one: armed at once for the next Friday 16:30 WITA.
        let (s, id) = call(&base, &maya, "reports/save", json!({ "form": form })).await;
        assert!(s.is_success(), "{id}");
        let id: i64 = id.parse().unwrap();
        let first = next_run(db, "Laporan NOC").await;
        let local = Utc.timestamp_millis_opt(first).unwrap() + chrono::Duration::hours(8);
        assert_eq!(
            (local.weekday(), local.format("%H:%M").to_string()),
            (chrono::Weekday::Fri, "16:30".to_owned())
        );
        let (_, list) = call(&base, &maya, "reports/list", json!({})).await;
        let list: Value = serde_json::from_str(&list).unwrap();
        let row = list["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(row["weekday"], 4);
        assert!(
            row["next_run"].as_str().unwrap().ends_with("16:30 WITA"),
            "{row}"
        );
        assert!(list["groups"].as_array().unwrap().len() >= 5, "{list}");

        // Renamed and given a group: the timer stays (a save while a run is due
        // but not yet swept must not skip it). A new time: armed again from now.
        // Off: no timer.
        let pending = now_ms() - 60_000;
        storage::on_db_write!(db, |pool| sqlx::query(
            "UPDATE report_schedules SET next_run_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(pending)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        let group: i64 = list["groups"][0][0].as_i64().unwrap();
        let renamed = json!({"id": id, "name": "Laporan NOC mingguan", "weekday": "4", "time": "16:30",
                         "time_zone": "Asia/Makassar", "group_id": group, "email_role": "noc", "enabled": true});
        let (s, _) = call(&base, &maya, "reports/save", json!({ "form": renamed })).await;
        assert!(s.is_success());
        assert_eq!(next_run(db, "Laporan NOC mingguan").await, pending);
        let mut later = renamed.clone();
        later["time"] = json!("17:00");
        call(&base, &maya, "reports/save", json!({ "form": later })).await;
        assert_eq!(
            next_run(db, "Laporan NOC mingguan").await,
            first + 30 * 60_000
        );
        let mut off = later.clone();
        off["enabled"] = json!(false);
        call(&base, &maya, "reports/save", json!({ "form": off })).await;
        let timer: Option<i64> = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT next_run_at FROM report_schedules WHERE id = $1"
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(timer, None);

        // Refusals: a taken name, a group that does not exist, no audience.
        let mut taken = off.clone();
        taken["name"] = json!("Laporan harian");
        let (s, body) = call(&base, &maya, "reports/save", json!({ "form": taken })).await;
        assert_eq!(s, reqwest::StatusCode::CONFLICT, "{body}");
        let clash: app::AppError = serde_json::from_str(&body).unwrap();
        assert_eq!(
            clash.message_in(domain::Locale::Id),
            "Nama jadwal 'Laporan harian' sudah dipakai."
        );
        let mut ghost = off.clone();
        ghost["group_id"] = json!(99_999);
        let (s, body) = call(&base, &maya, "reports/save", json!({ "form": ghost })).await;
        assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("Grup yang dipilih tidak ada"), "{body}");
        let mut nobody = off.clone();
        nobody["group_id"] = Value::Null;
        nobody["email_role"] = json!("");
        let (s, body) = call(&base, &maya, "reports/save", json!({ "form": nobody })).await;
        assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("audience"), "{body}");

        // The preview: the next run's report with the figures so far.
        let (s, body) = call(&base, &maya, "reports/preview", json!({ "form": later })).await;
        assert!(s.is_success(), "{body}");
        let preview: Value = serde_json::from_str(&body).unwrap();
        assert!(
            preview["text"]
                .as_str()
                .unwrap()
                .starts_with("📈 *LAPORAN MINGGUAN* — "),
            "{preview}"
        );
        assert!(preview["next_run"]
            .as_str()
            .unwrap()
            .ends_with("17:00 WITA"));

        // Deleted once; a second time it is not found.
        let (s, _) = call(&base, &maya, "reports/delete", json!({ "id": id })).await;
        assert!(s.is_success());
        let (s, _) = call(&base, &maya, "reports/delete", json!({ "id": id })).await;
        assert_eq!(s, reqwest::StatusCode::NOT_FOUND);
        assert_eq!(count(db, "SELECT COUNT(*) FROM report_schedules").await, 2);
        srv.stop().await;
    }
);
