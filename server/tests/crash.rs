//! `kill -9` in the middle of a load, then a restart: every accepted event's
//! deliveries complete, none is lost, and none is sent twice unless the attempt
//! that was cut off may have reached the provider (it then counts two attempts).
//! Runs the real server binary, on SQLite and on PostgreSQL.

mod support;

use server::testkit::fakes::{Fake, Kind};
use server::DEMO_API_KEY;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storage::db::Db;
use storage::store_test;
use support::*;

const EVENTS: usize = 120;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The dispatcher's lease: PostgreSQL waits for a dead instance's leases to
/// expire (several instances may share it), so it gets a short one; SQLite
/// runs one instance, which owns every lease at start, so a restart must
/// requeue the interrupted rows at once however long the lease.
fn lease_ms(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(..) => "600000",
        Db::Postgres(_) => "3000",
    }
}

fn start_server(url: &str, port: u16, lease_ms: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .env("DATABASE_URL", url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .env("DISPATCH_LEASE_MS", lease_ms)
        .env_remove("DEMO_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary")
}

async fn wait_healthy(port: u16) {
    eventually("the server answers /healthz", || async move {
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
}

fn event(i: usize, users: &[domain::UserId]) -> String {
    serde_json::json!({
        "type": "ticket_assigned", "priority": "critical", "work_zone": "karawang",
        "recipients": {"user_ids": users},
        "data": {"ticket_id": format!("CR-{i}"), "customer_name": "Pak Budi", "customer_phone": "0812",
                 "address": "Jl. A", "location": "ODP", "issue_type": "LOS", "sla_deadline": "16:00",
                 "ticket_url": "https://t.example/x"},
        "idempotency_key": format!("crash-{i}")
    })
    .to_string()
}

/// Posts every event, retrying (same idempotency key) until the server answers.
async fn post_all(port: u16, users: Vec<domain::UserId>, accepted: Arc<AtomicUsize>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut pending: Vec<usize> = (0..EVENTS).collect();
    while !pending.is_empty() {
        let mut retry = Vec::new();
        for i in pending {
            let res = client
                .post(format!("http://127.0.0.1:{port}/api/v1/events"))
                .bearer_auth(DEMO_API_KEY)
                .header("content-type", "application/json")
                .body(event(i, &users))
                .send()
                .await;
            match res {
                Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(r) => panic!("event {i}: unexpected {}", r.status()),
                Err(_) => retry.push(i),
            }
        }
        pending = retry;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn crash_and_recover(db: &Db, url: &str) {
    setup(db).await;
    server::api_keys::insert(db, "crash", DEMO_API_KEY, None)
        .await
        .unwrap();
    let fonnte = Fake::start(Kind::Fonnte).await;
    fonnte.set_delay(Some(Duration::from_millis(15)));
    add_account(db, &fonnte, Kind::Fonnte, 1, 1_000_000, 100, 2_000).await;
    let users = vec![
        user_id(db, "tek.karawang1@demo.id").await,
        user_id(db, "tek.karawang2@demo.id").await,
    ];

    let port = free_port();
    let mut child = start_server(url, port, lease_ms(db));
    wait_healthy(port).await;
    let accepted = Arc::new(AtomicUsize::new(0));
    let poster = tokio::spawn(post_all(port, users.clone(), accepted.clone()));

    // Kill it while events are still arriving and messages are in flight.
    eventually("some messages reach the provider", || async {
        fonnte.count() >= 20
    })
    .await;
    child.kill().expect("kill -9");
    child.wait().unwrap();
    let at_crash = accepted.load(Ordering::Relaxed);
    assert!(
        at_crash < EVENTS,
        "the crash must interrupt the load ({at_crash} accepted)"
    );

    let mut child = start_server(url, port, lease_ms(db));
    wait_healthy(port).await;
    poster.await.unwrap();
    assert_eq!(accepted.load(Ordering::Relaxed), EVENTS);

    let expected = (EVENTS * users.len()) as i64;
    eventually("every WhatsApp delivery is sent", || async {
        count(
            db,
            "SELECT COUNT(*) FROM deliveries WHERE channel = 'whatsapp' AND status = 'sent'",
        )
        .await
            == expected
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(
        count(db, "SELECT COUNT(*) FROM events").await,
        EVENTS as i64,
        "one event per idempotency key"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM deliveries WHERE channel = 'whatsapp'"
        )
        .await,
        expected
    );

    // Messages the provider got, per (ticket, number).
    let mut got: HashMap<(String, String), i64> = HashMap::new();
    for r in fonnte.received() {
        let text = r.form_field("message").unwrap();
        let ticket = text
            .split("*No. Tiket:* ")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        *got.entry((ticket, r.form_field("target").unwrap()))
            .or_default() += 1;
    }
    let rows: Vec<(String, String, i64)> = storage::on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT d.recipient, e.data, d.attempts FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.channel = 'whatsapp'"
    )
    .fetch_all(pool)
    .await
    .unwrap()
    });
    let mut twice = 0;
    for (recipient, data, attempts) in rows {
        let ticket = serde_json::from_str::<serde_json::Value>(&data).unwrap()["ticket_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let n = got
            .get(&(ticket.clone(), recipient.trim_start_matches('+').to_owned()))
            .copied()
            .unwrap_or(0);
        assert!(n >= 1, "{ticket} to {recipient} was never sent");
        assert!(
            n <= attempts,
            "{ticket} to {recipient}: sent {n} times in {attempts} attempts"
        );
        if n > 1 {
            twice += 1;
        }
    }
    eprintln!("crash test: {at_crash} of {EVENTS} events accepted before the kill; {twice} messages went out twice (attempt cut off mid-call)");
}

store_test!(a_kill_9_mid_load_loses_nothing, |db| {
    let url = storage::db::testing::url_of(db).await;
    crash_and_recover(db, &url).await;
});
