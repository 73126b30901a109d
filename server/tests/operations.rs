//! What an operator relies on, against a running server: `/metrics` after a
//! load (and the Grafana dashboard drawing only what is exported), each
//! response's request id, the client's address behind a trusted proxy, and
//! a stop that lets sends in flight finish within its grace. SQLite and
//! PostgreSQL.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use server::dispatcher::DispatcherConfig;
use server::testkit::fakes::{Fake, Kind};
use server::testkit::METRICS_TOKEN;
use server::DEMO_API_KEY;
use std::time::{Duration, Instant};
use storage::store_test;
use support::*;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post_event(base: &str, body: &Value) -> (StatusCode, Value) {
    let res = client()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(DEMO_API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn scrape(base: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = client().get(format!("{base}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The value of the sample `name{labels}` (labels as rendered, in order),
/// or of `name` with no labels; `None` when absent.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Every metric name a PromQL expression of the dashboard reads, without
/// the histogram series' suffixes.
fn dashboard_metrics() -> Vec<String> {
    let dashboard: Value =
        serde_json::from_str(include_str!("../../docs/grafana-dashboard.json")).unwrap();
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (i, _) in expr.match_indices("notifikasi_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let name = name.trim_end_matches("_bucket").to_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

store_test!(
    metrics_count_a_load_and_the_dashboard_draws_only_what_is_exported,
    |db| {
        setup_with_api_key(db).await;
        disable_all_accounts(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        let account = add_account(db, &fonnte, Kind::Fonnte, 1, 6000, 100, 2000).await;
        let srv = spawn_server(db).await;
        let base = format!("http://{}", srv.addr);
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        for i in 0..5 {
            let (s, b) = post_event(&base, &assignment(budi, &format!("M-{i}"))).await;
            assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        }
        let (s, b) = post_event(&base, &assignment(budi, "M-0")).await;
        assert_eq!((s, &b["duplicate"]), (StatusCode::ACCEPTED, &json!(true)));
        let mut bad = assignment(budi, "M-bad");
        bad["priority"] = json!("urgent");
        let (s, _) = post_event(&base, &bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        eventually("five WhatsApp sends", || async { fonnte.count() >= 5 }).await;
        eventually("recorded", || async {
            count(
                db,
                "SELECT COUNT(*) FROM deliveries WHERE channel = 'whatsapp' AND status = 'sent'",
            )
            .await
                >= 5
        })
        .await;
        // A status callback, and one with a wrong token.
        let message_id: String = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT provider_message_id FROM deliveries WHERE status = 'sent' LIMIT 1"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        let hook = format!("{base}/webhooks/fonnte/{account}");
        let callback = json!({"device": "6281200000000", "id": message_id.parse::<i64>().unwrap(),
                              "stateid": "st-1", "status": "sent", "state": "delivered"});
        for (token, status) in [
            ("fonnte-hook-5f2c1a9e7b3d4c6a8e0f1b2d", StatusCode::OK),
            ("wrong", StatusCode::UNAUTHORIZED),
        ] {
            let res = client()
                .post(format!("{hook}?token={token}"))
                .json(&callback)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), status);
        }

        // Only with the token.
        assert_eq!(scrape(&base, None).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            scrape(&base, Some("metrics-token-of-the-test")).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (s, text) = scrape(&base, Some(METRICS_TOKEN)).await;
        assert_eq!(s, StatusCode::OK);
        // (Tests share the process's recorder: at least this test's load.)
        let at_least = |series: &str, n: f64| {
            let v = sample(&text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
            assert!(v >= n, "{series} = {v}, expected at least {n}");
        };
        at_least(r#"notifikasi_events_total{outcome="new"}"#, 5.0);
        at_least(r#"notifikasi_events_total{outcome="duplicate"}"#, 1.0);
        at_least(
            r#"notifikasi_api_refusals_total{reason="validation_failed"}"#,
            1.0,
        );
        at_least(
            r#"notifikasi_deliveries_created_total{channel="whatsapp"}"#,
            5.0,
        );
        at_least(
            r#"notifikasi_deliveries_created_total{channel="in_app"}"#,
            5.0,
        );
        at_least(
            r#"notifikasi_delivery_attempts_total{channel="whatsapp",outcome="sent"}"#,
            5.0,
        );
        at_least(
            &format!(
                r#"notifikasi_provider_sends_total{{provider="fonnte",account="{account}",outcome="accepted"}}"#
            ),
            5.0,
        );
        at_least(
            r#"notifikasi_provider_send_seconds_count{provider="fonnte"}"#,
            5.0,
        );
        at_least(
            r#"notifikasi_post_to_provider_seconds_count{channel="whatsapp"}"#,
            5.0,
        );
        at_least(
            r#"notifikasi_webhook_callbacks_total{provider="fonnte",verdict="applied"}"#,
            1.0,
        );
        at_least(
            r#"notifikasi_webhook_callbacks_total{provider="fonnte",verdict="refused_401"}"#,
            1.0,
        );
        // Read at the scrape: nothing of this test's is waiting.
        assert!(sample(
            &text,
            r#"notifikasi_outbox_deliveries{channel="whatsapp",state="due"}"#
        )
        .is_some());
        assert!(sample(&text, "notifikasi_outbox_oldest_due_seconds").is_some());
        at_least(r#"notifikasi_db_connections{state="idle"}"#, 0.0);
        if matches!(db, storage::db::Db::Sqlite(..)) {
            at_least(
                r#"notifikasi_sqlite_write_wait_seconds_count{writer="direct"}"#,
                1.0,
            );
        }
        // The dashboard reads nothing that is not exported. (Open sockets
        // appear once one has opened; the live tests open them.)
        for name in dashboard_metrics() {
            let shown = text.lines().any(|l| l.starts_with(&name))
                || name == server::metrics::WEBSOCKETS
                || (name == server::metrics::SQLITE_WRITE_WAIT
                    && matches!(db, storage::db::Db::Postgres(_)));
            assert!(shown, "the dashboard reads {name}, which /metrics lacks");
        }
        srv.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_without_a_token() {
    let t = storage::db::testing::TestDb::sqlite().await;
    setup(&t.db).await;
    let srv = server::testkit::start_on_loopback_with(t.db.clone(), None, |o| {
        o.metrics_token = None;
    })
    .await
    .unwrap();
    let base = format!("http://{}", srv.addr);
    assert_eq!(
        scrape(&base, Some(METRICS_TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    srv.stop().await;
    t.close().await;
}

/// A failed sign-in through a "proxy" on 127.0.0.1 that says the client
/// is `forwarded_for`; the response's status and request id.
async fn guess(base: &str, email: &str, forwarded_for: &str) -> (StatusCode, String) {
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/api/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .header("x-request-id", "proxy-id-1")
        .form(&[("email", email), ("password", "tebakan")])
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    (res.status(), id)
}

/// Behind a trusted proxy the client is the address the proxy names (the
/// audit trail records it, the sign-in back-off counts it) and the proxy's
/// request id is kept; from anyone else `X-Forwarded-For` is the client's
/// own claim and ignored, and each response gets an id of ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_client_is_the_client() {
    let t = storage::db::testing::TestDb::sqlite().await;
    let db = &t.db;
    setup(db).await;
    for (trusted, email, expected) in [
        (true, "tamu1@contoh.id", "203.0.113.7"),
        (false, "tamu2@contoh.id", "127.0.0.1"),
    ] {
        let srv = server::testkit::start_on_loopback_with(db.clone(), None, |o| {
            if trusted {
                o.trusted_proxies = server::config::parse_proxies("127.0.0.0/8").unwrap();
            }
        })
        .await
        .unwrap();
        let base = format!("http://{}", srv.addr);
        let (s, id) = guess(&base, email, "198.51.100.1, 203.0.113.7").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        if trusted {
            assert_eq!(id, "proxy-id-1");
        } else {
            assert_eq!(id.len(), 16, "{id}");
            assert_ne!(
                id,
                guess(&base, email, "203.0.113.7").await.1,
                "one per request"
            );
        }
        eventually("the failure audited", || async {
            let actors: Vec<String> = storage::on_db!(db, |pool| {
                sqlx::query_scalar(
                "SELECT actor FROM audit_log WHERE action = 'auth.sign_in_failed' AND subject = $1"
            )
            .bind(email)
            .fetch_all(pool)
            .await
            .unwrap()
            });
            !actors.is_empty() && actors.iter().all(|a| a == expected)
        })
        .await;
        srv.stop().await;
    }
    t.close().await;
}

store_test!(
    a_stop_lets_sends_in_flight_finish_and_abandons_them_after_the_grace,
    |db| {
        setup_with_api_key(db).await;
        disable_all_accounts(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        // The account waits for the gateway longer than any grace here.
        add_account(db, &fonnte, Kind::Fonnte, 1, 6000, 100, 60_000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let config = |grace: Duration| DispatcherConfig {
            poll: Duration::from_millis(50),
            lease_ms: 1_000,
            shutdown_grace: grace,
            ..DispatcherConfig::default()
        };
        let whatsapp = |key: &'static str| async move {
            storage::on_db!(db, |pool| sqlx::query_as::<_, (String, i64)>(
                "SELECT d.status, d.attempts FROM deliveries d JOIN events e ON e.id = d.event_id
                  WHERE e.idempotency_key = $1 AND d.channel = 'whatsapp'"
            )
            .bind(key)
            .fetch_one(pool)
            .await
            .unwrap())
        };

        // A send the gateway answers in 0.8 s: the stop waits for it and
        // its outcome is written.
        fonnte.set_delay(Some(Duration::from_millis(800)));
        let srv =
            server::testkit::start_on_loopback(db.clone(), Some(config(Duration::from_secs(20))))
                .await
                .unwrap();
        let (s, _) = post_event(&format!("http://{}", srv.addr), &assignment(budi, "G-1")).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        eventually("the send in flight", || async { fonnte.count() == 1 }).await;
        srv.stop().await;
        assert_eq!(whatsapp("G-1").await, ("sent".to_owned(), 1));

        // A gateway that does not answer: the stop gives up after its
        // grace, the row keeps its lease, and it is sent again later.
        fonnte.set_delay(Some(Duration::from_secs(3600)));
        let srv =
            server::testkit::start_on_loopback(db.clone(), Some(config(Duration::from_secs(1))))
                .await
                .unwrap();
        let (s, _) = post_event(&format!("http://{}", srv.addr), &assignment(budi, "G-2")).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        eventually("the send in flight", || async { fonnte.count() == 2 }).await;
        let stopping = Instant::now();
        tokio::time::timeout(Duration::from_secs(15), srv.stop())
            .await
            .expect("the stop keeps to its grace");
        assert!(
            stopping.elapsed() >= Duration::from_secs(1),
            "it waited for the grace"
        );
        assert_eq!(whatsapp("G-2").await.0, "sending");

        fonnte.set_delay(None);
        let srv =
            server::testkit::start_on_loopback(db.clone(), Some(config(Duration::from_secs(20))))
                .await
                .unwrap();
        eventually("sent again after the lease", || async {
            whatsapp("G-2").await.0 == "sent"
        })
        .await;
        assert_eq!(fonnte.count(), 3);
        srv.stop().await;
    }
);
