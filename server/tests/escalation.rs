//! Escalation until acknowledged, with a controllable clock: the demo policy
//! ("Insiden kritis": the zone's supervisors after 5 minutes, the NOC group
//! after 10 more, the managers after 15 more) climbing step by step, two
//! instances and a restart taking each step once, and the three ways to
//! acknowledge (inbox, signed link, WhatsApp reply); on SQLite and PostgreSQL.

mod support;

use app::alerts::AckOutcome;
use domain::escalation::AckChannel;
use reqwest::StatusCode;
use serde_json::json;
use server::testkit::fakes::{Fake, Kind};
use storage::alerts;
use storage::db::Db;
use storage::keys::ack_links::{LinkKey, LINK_TTL_MS};
use storage::now_ms;
use storage::store_test;
use support::*;

const MINUTE: i64 = 60_000;

/// A critical outage reported to one technician: under the demo policy.
fn outage(user_id: i64, key: &str) -> serde_json::Value {
    json!({
        "type": "outage", "priority": "critical", "work_zone": "karawang",
        "recipients": {"user_ids": [user_id]},
        "data": {"location": "OLT Karawang Barat", "issue_type": "Fiber cut", "ticket_id": "TK-900"},
        "idempotency_key": key
    })
}

#[derive(Debug, sqlx::FromRow)]
struct Alert {
    id: i64,
    status: String,
    next_step: i64,
    next_step_at: Option<i64>,
    acknowledged_by: Option<i64>,
    ack_channel: Option<String>,
    created_at: i64,
}

async fn alert_of(db: &Db, event_id: i64) -> Alert {
    storage::on_db!(db, |pool| sqlx::query_as(
        "SELECT id, status, next_step, next_step_at, acknowledged_by, ack_channel, created_at
         FROM alerts WHERE event_id = $1"
    )
    .bind(event_id)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// (channel, user id, group id) of the deliveries a step added.
async fn step_rows(db: &Db, event_id: i64, step: i64) -> Vec<(String, Option<i64>, Option<i64>)> {
    storage::on_db!(db, |pool| sqlx::query_as(
        "SELECT channel, user_id, group_id FROM deliveries WHERE event_id = $1 AND alert_step = $2
         ORDER BY channel, user_id"
    )
    .bind(event_id)
    .bind(step)
    .fetch_all(pool)
    .await
    .unwrap())
}

async fn group_id(db: &Db, name: &str) -> i64 {
    storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM whatsapp_groups WHERE name = $1"
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// The acknowledgement link in a message, on `addr` instead of PUBLIC_URL.
fn link_in(message: &str, addr: std::net::SocketAddr) -> String {
    let at = message.find("http://localhost:3000/ack/").expect("a link");
    let link: String = message[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.replace("localhost:3000", &addr.to_string())
}

store_test!(
    a_critical_alert_climbs_step_by_step_until_acknowledged,
    |db| {
        setup(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let sari = user_id(db, "spv.karawang@demo.id").await.0;
        let maya = user_id(db, "manager@demo.id").await.0;
        let event = ingest(db, outage(budi, "esc-1")).await.unwrap();
        let alert = alert_of(db, event.id()).await;
        assert_eq!(alert.status, "open");
        assert_eq!(alert.next_step_at, Some(alert.created_at + 5 * MINUTE));
        let wa = whatsapp_row(db, event.id()).await;
        assert!(
            wa.message
                .contains("Balas *OK* untuk konfirmasi, atau buka: http://localhost:3000/ack/"),
            "{}",
            wa.message
        );
        // The delivery log shows that there is a link, not the link: it
        // would acknowledge in Budi's name.
        let shown = storage::deliveries::detail(db, domain::DeliveryId(wa.id))
            .await
            .unwrap()
            .message;
        assert!(
            shown.contains("atau buka: http://localhost:3000/ack/…"),
            "{shown}"
        );
        let token = &wa.message[wa.message.find("/ack/").unwrap() + 5..];
        let token = token.split_whitespace().next().unwrap();
        assert!(!shown.contains(token), "{shown}");
        let t0 = alert.created_at;
        let d = dispatcher(db);

        // Not yet: nothing happens before the first delay.
        let swept = d.escalate(t0 + 5 * MINUTE - 1).await.unwrap();
        assert!(swept.steps.is_empty());

        // Step 1: the Karawang supervisor (not Bekasi's) on WhatsApp, SMS and in the app.
        let swept = d.escalate(t0 + 5 * MINUTE).await.unwrap();
        assert_eq!(swept.steps, vec![(alert.id, 1)]);
        assert_eq!(
            step_rows(db, event.id(), 1).await,
            vec![
                ("in_app".into(), Some(sari), None),
                ("sms".into(), Some(sari), None),
                ("whatsapp".into(), Some(sari), None),
            ]
        );
        let sari_inbox = storage::inbox::list(db, domain::UserId(sari), 10)
            .await
            .unwrap();
        assert_eq!(sari_inbox.len(), 1);
        assert!(
            sari_inbox[0].title.starts_with("Eskalasi tahap 1"),
            "{}",
            sari_inbox[0].title
        );
        assert!(sari_inbox[0]
            .alert
            .as_ref()
            .is_some_and(|a| a.open && a.steps_taken == 1));
        let sari_wa: String = storage::on_db!(db, |pool| {
            sqlx::query_scalar(
        "SELECT message FROM deliveries WHERE event_id = $1 AND alert_step = 1 AND channel = 'whatsapp'"
    )
    .bind(event.id())
    .fetch_one(pool)
    .await
    .unwrap()
        });
        assert!(
            sari_wa
                .starts_with("🚨 *ESKALASI tahap 1*: belum ada yang mengonfirmasi selama 5 menit."),
            "{sari_wa}"
        );
        assert!(
            sari_wa.contains("OLT Karawang Barat") && sari_wa.contains("/ack/"),
            "{sari_wa}"
        );

        // The same moment again: the step was taken.
        assert!(d.escalate(t0 + 5 * MINUTE).await.unwrap().steps.is_empty());
        // Step 2, ten minutes later: the NOC group.
        let at = alert_of(db, event.id()).await.next_step_at.unwrap();
        assert_eq!(at, t0 + 15 * MINUTE);
        assert_eq!(d.escalate(at).await.unwrap().steps, vec![(alert.id, 2)]);
        assert_eq!(
            step_rows(db, event.id(), 2).await,
            vec![(
                "whatsapp_group".into(),
                None,
                Some(group_id(db, "NOC Team").await)
            )]
        );

        // Sari acknowledges in her inbox: the managers' step never comes.
        let outcome = alerts::acknowledge(
            db,
            alert.id,
            domain::UserId(sari),
            AckChannel::InApp,
            t0 + 20 * MINUTE,
        )
        .await
        .unwrap();
        assert_eq!(outcome, AckOutcome::Acknowledged);
        assert!(d.escalate(t0 + 60 * MINUTE).await.unwrap().steps.is_empty());
        assert!(step_rows(db, event.id(), 3).await.is_empty());
        let closed = alert_of(db, event.id()).await;
        assert_eq!(
            (
                closed.status.as_str(),
                closed.acknowledged_by,
                closed.ack_channel.as_deref(),
                closed.next_step_at
            ),
            ("acknowledged", Some(sari), Some("in_app"), None)
        );

        // Budi was second: nothing changes, and he sees who took it.
        match alerts::acknowledge(
            db,
            alert.id,
            domain::UserId(budi),
            AckChannel::InApp,
            t0 + 21 * MINUTE,
        )
        .await
        .unwrap()
        {
            AckOutcome::Already(v) => {
                assert_eq!(v.acknowledged_by.as_deref(), Some("Sari Supervisor"));
                assert_eq!(v.ack_channel, Some(AckChannel::InApp));
                assert_eq!(v.acknowledged_at, Some(t0 + 20 * MINUTE));
            }
            other => panic!("expected Already, got {other:?}"),
        }
        // Maya was never asked (the step that would have asked her never came).
        assert_eq!(
            alerts::acknowledge(db, alert.id, domain::UserId(maya), AckChannel::InApp, t0)
                .await
                .unwrap(),
            AckOutcome::NotRecipient
        );
        // Budi's inbox shows it acknowledged.
        let item = storage::inbox::list(db, domain::UserId(budi), 10)
            .await
            .unwrap()
            .remove(0);
        let a = item.alert.expect("under a policy");
        assert!(!a.open);
        assert_eq!(a.acknowledged_by.as_deref(), Some("Sari Supervisor"));
    }
);

store_test!(
    an_unacknowledged_alert_reaches_every_step_and_then_stays_open,
    |db| {
        setup(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let maya = user_id(db, "manager@demo.id").await.0;
        let event = ingest(db, outage(budi, "esc-2")).await.unwrap();
        let t0 = alert_of(db, event.id()).await.created_at;
        let d = dispatcher(db);
        for minutes in [5, 15, 30] {
            assert_eq!(
                d.escalate(t0 + minutes * MINUTE).await.unwrap().steps.len(),
                1,
                "at {minutes} min"
            );
        }
        // Step 3: the manager (no work zone: she covers every zone).
        assert_eq!(
            step_rows(db, event.id(), 3).await,
            vec![
                ("email".into(), Some(maya), None),
                ("in_app".into(), Some(maya), None),
                ("whatsapp".into(), Some(maya), None),
            ]
        );
        let a = alert_of(db, event.id()).await;
        assert_eq!(
            (a.status.as_str(), a.next_step, a.next_step_at),
            ("open", 3, None)
        );
        assert!(d
            .escalate(t0 + 600 * MINUTE)
            .await
            .unwrap()
            .steps
            .is_empty());
        // Lower priorities are not under the policy.
        let mut high = outage(budi, "esc-3");
        high["priority"] = json!("high");
        let event = ingest(db, high).await.unwrap();
        let n: i64 = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts WHERE event_id = $1"
        )
        .bind(event.id())
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(n, 0);
        assert!(!whatsapp_row(db, event.id()).await.message.contains("/ack/"));
    }
);

store_test!(
    two_instances_and_a_restart_take_each_step_exactly_once,
    |db| {
        setup(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let mut events = Vec::new();
        for i in 0..5 {
            events.push(
                ingest(db, outage(budi, &format!("esc-race-{i}")))
                    .await
                    .unwrap()
                    .id(),
            );
        }
        let t0 = alert_of(db, events[0]).await.created_at;
        let (a, b) = (dispatcher(db), dispatcher(db));
        let at = t0 + 6 * MINUTE;
        let (ra, rb) = tokio::join!(a.escalate(at), b.escalate(at));
        let taken = ra.unwrap().steps.len() + rb.unwrap().steps.len();
        assert_eq!(
            taken, 5,
            "each alert's first step taken once between the two"
        );
        for &e in &events {
            assert_eq!(step_rows(db, e, 1).await.len(), 3, "event {e}");
        }
        // "Restart": the instances are gone; a new one picks up at step 2 from
        // the rows alone.
        drop((a, b));
        let c = dispatcher(db);
        assert!(c.escalate(at).await.unwrap().steps.is_empty());
        let swept = c.escalate(t0 + 16 * MINUTE).await.unwrap();
        assert_eq!(swept.steps.len(), 5);
        assert!(swept.steps.iter().all(|&(_, step)| step == 2));
        for &e in &events {
            assert_eq!(step_rows(db, e, 1).await.len(), 3);
            assert_eq!(step_rows(db, e, 2).await.len(), 1);
        }
    }
);

store_test!(
    acknowledgement_links_are_signed_and_only_a_post_acknowledges,
    |db| {
        setup(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let srv = spawn_server(db).await;
        let event = ingest(db, outage(budi, "esc-link")).await.unwrap();
        let alert = alert_of(db, event.id()).await;
        let link = link_in(&whatsapp_row(db, event.id()).await.message, srv.addr);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        // A GET (a link preview, a mail scanner) shows the alert and acknowledges nothing.
        let page = http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["cache-control"], "no-store");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("OLT Karawang Barat") && html.contains("data-testid=\"acknowledge\""),
            "{html}"
        );
        assert_eq!(alert_of(db, event.id()).await.status, "open");

        // Altered (another user, a later expiry) or made up: refused, nothing acknowledged.
        let token = link.rsplit('/').next().unwrap().to_owned();
        let parts: Vec<&str> = token.split('.').collect();
        let sari = user_id(db, "spv.karawang@demo.id").await.0;
        let base = link.trim_end_matches(&token).to_owned();
        for forged in [
            format!("{}.{sari}.{}.{}", parts[0], parts[2], parts[3]),
            format!(
                "{}.{}.{}.{}",
                parts[0],
                parts[1],
                parts[2].parse::<i64>().unwrap() + 999,
                parts[3]
            ),
            "0011223344556677.1.9999999999.AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        ] {
            let res = http.post(format!("{base}{forged}")).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{forged}");
        }
        // Expired: signed by this server, days ago.
        let key = LinkKey::load_or_create(db, &server::testkit::keys(), now_ms())
            .await
            .unwrap();
        let ack_key: String = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT ack_key FROM alerts WHERE id = $1"
        )
        .bind(alert.id)
        .fetch_one(pool)
        .await
        .unwrap());
        let old = key.sign(
            &ack_key,
            domain::UserId(budi),
            now_ms() - LINK_TTL_MS - 60_000,
        );
        let res = http.post(format!("{base}{old}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::GONE);
        assert_eq!(alert_of(db, event.id()).await.status, "open");

        // The button's POST acknowledges, then shows who did.
        let res = http.post(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let a = alert_of(db, event.id()).await;
        assert_eq!(
            (
                a.status.as_str(),
                a.acknowledged_by,
                a.ack_channel.as_deref()
            ),
            ("acknowledged", Some(budi), Some("link"))
        );
        let html = http.get(&link).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains("Sudah dikonfirmasi oleh Budi Teknisi")
                && html.contains("melalui tautan"),
            "{html}"
        );
        // Used again: nothing changes.
        let res = http.post(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(alert_of(db, event.id()).await.acknowledged_by, Some(budi));
        srv.stop().await;
    }
);

store_test!(whatsapp_replies_acknowledge_the_senders_open_alert, |db| {
    setup(db).await;
    disable_all_accounts(db).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    let wablas = Fake::start(Kind::Wablas).await;
    let meta = Fake::start(Kind::Meta).await;
    // Meta sends (first in order); the gateways' accounts take replies.
    let m = add_account(db, &meta, Kind::Meta, 1, 600, 0, 2000).await;
    let f = add_account(db, &fonnte, Kind::Fonnte, 2, 600, 0, 2000).await;
    let w = add_account(db, &wablas, Kind::Wablas, 3, 600, 0, 2000).await;
    // Budi wrote to the business number today: Meta may send him text.
    open_window(db, m, BUDI_PHONE).await;
    let budi = user_id(db, "tek.karawang1@demo.id").await.0;
    let srv = spawn_server(db).await;
    let http = reqwest::Client::new();
    let fonnte_url = format!(
        "http://{}/webhooks/fonnte/{f}/inbound?token=fonnte-hook-5f2c1a9e7b3d4c6a8e0f1b2d",
        srv.addr
    );
    let outcome = |db: &Db| {
        let db = db.clone();
        async move {
            let o: String = storage::on_db!(&db, |pool| sqlx::query_scalar(
                "SELECT outcome FROM provider_callbacks ORDER BY id DESC LIMIT 1"
            )
            .fetch_one(pool)
            .await
            .unwrap());
            o
        }
    };

    let first = ingest(db, outage(budi, "esc-wa-1")).await.unwrap();
    // Unknown sender: logged, nothing acknowledged.
    let res = http
        .post(&fonnte_url)
        .json(&json!({"device": "6281100000000", "sender": "6289999999999", "message": "OK", "name": "?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(outcome(db).await, "rejected: unknown sender");
    // Budi, but not an acknowledgement.
    http.post(&fonnte_url)
        .json(
            &json!({"device": "6281100000000", "sender": "6281200000005", "message": "nanti dulu"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        outcome(db).await,
        "ignored: reply is not an acknowledgement"
    );
    // A wrong token: refused before anything is read.
    let res = http
        .post(format!(
            "http://{}/webhooks/fonnte/{f}/inbound?token=guess",
            srv.addr
        ))
        .json(&json!({"sender": "6281200000005", "message": "OK"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(alert_of(db, first.id()).await.status, "open");
    // Budi answers "Siap": his open alert is acknowledged by WhatsApp.
    http.post(&fonnte_url)
        .json(&json!({"device": "6281100000000", "sender": "6281200000005", "message": "Siap, meluncur"}))
        .send()
        .await
        .unwrap();
    let a = alert_of(db, first.id()).await;
    assert_eq!(
        (
            a.status.as_str(),
            a.acknowledged_by,
            a.ack_channel.as_deref()
        ),
        ("acknowledged", Some(budi), Some("whatsapp"))
    );

    // Wablas: our own echoed message is ignored; Budi's "ok" acknowledges.
    let second = ingest(db, outage(budi, "esc-wa-2")).await.unwrap();
    let wablas_url = format!(
        "http://{}/webhooks/wablas/{w}/inbound?token=wablas-hook-9a8b7c6d5e4f3a2b1c0d9e8f",
        srv.addr
    );
    http.post(&wablas_url)
        .form(&[
            ("phone", "6281200000005"),
            ("message", "OK"),
            ("isFromMe", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(alert_of(db, second.id()).await.status, "open");
    http.post(&wablas_url)
        .form(&[
            ("phone", "6281200000005"),
            ("message", "ok"),
            ("isFromMe", "false"),
            ("isGroup", "false"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        alert_of(db, second.id()).await.ack_channel.as_deref(),
        Some("whatsapp")
    );

    // Meta: a signed reply that quotes an older alert's message acknowledges
    // that one, not Budi's newest; a bad signature changes nothing.
    let third = ingest(db, outage(budi, "esc-wa-3")).await.unwrap();
    eventually("the message sent through Meta", || async {
        whatsapp_row(db, third.id())
            .await
            .provider_message_id
            .is_some()
    })
    .await;
    let wamid = whatsapp_row(db, third.id())
        .await
        .provider_message_id
        .unwrap();
    let fourth = ingest(db, outage(budi, "esc-wa-4")).await.unwrap();
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "6221000", "phone_number_id": "106540352242922"},
                  "messages": [{"from": "6281200000005", "id": "wamid.reply1", "timestamp": "1790000000", "type": "text",
                                "text": {"body": "OK 👍"}, "context": {"from": "6221000", "id": wamid}}]}}]}]})
    .to_string();
    let meta_url = format!("http://{}/webhooks/meta/{m}", srv.addr);
    let res = http
        .post(&meta_url)
        .header("X-Hub-Signature-256", sign("not-the-secret", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(alert_of(db, third.id()).await.status, "open");
    let res = http
        .post(&meta_url)
        .header("X-Hub-Signature-256", sign("meta-app-secret", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let a = alert_of(db, third.id()).await;
    assert_eq!(
        (a.status.as_str(), a.acknowledged_by),
        ("acknowledged", Some(budi))
    );
    assert_eq!(alert_of(db, fourth.id()).await.status, "open");

    // Meta delivers the same webhook again: the reply was handled, and its
    // "OK" does not acknowledge Budi's other open alert.
    let res = http
        .post(&meta_url)
        .header("X-Hub-Signature-256", sign("meta-app-secret", &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        outcome(db).await.contains("handled already"),
        "{}",
        outcome(db).await
    );
    assert_eq!(alert_of(db, fourth.id()).await.status, "open");
    srv.stop().await;
});

store_test!(
    a_deleted_policy_stops_its_alerts_timers_but_not_their_acknowledgement,
    |db| {
        setup(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let event = ingest(db, outage(budi, "esc-del")).await.unwrap();
        let alert = alert_of(db, event.id()).await;
        let policy: i64 = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT policy_id FROM alerts WHERE id = $1"
        )
        .bind(alert.id)
        .fetch_one(pool)
        .await
        .unwrap());
        storage::escalation::delete(db, &storage::audit::Actor::cli(), policy, now_ms())
            .await
            .unwrap();
        let d = dispatcher(db);
        assert!(d
            .escalate(alert.created_at + 60 * MINUTE)
            .await
            .unwrap()
            .steps
            .is_empty());
        let a = alert_of(db, event.id()).await;
        assert_eq!((a.status.as_str(), a.next_step_at), ("open", None));
        assert_eq!(
            alerts::acknowledge(
                db,
                alert.id,
                domain::UserId(budi),
                AckChannel::InApp,
                now_ms()
            )
            .await
            .unwrap(),
            AckOutcome::Acknowledged
        );
    }
);

/// Posts a form to a Twilio webhook of the server, signed as Twilio signs
/// (the URL is PUBLIC_URL's, the one Twilio was given).
async fn twilio_post(
    srv: &server::Running,
    path: &str,
    params: &[(&str, &str)],
    token: &str,
) -> reqwest::Response {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature =
        server::webhooks::twilio_signature(token, &format!("http://localhost:3000{path}"), &owned);
    reqwest::Client::new()
        .post(format!("http://{}{path}", srv.addr))
        .header("X-Twilio-Signature", signature)
        .form(&owned)
        .send()
        .await
        .unwrap()
}

store_test!(
    a_call_reads_the_alert_in_indonesian_and_key_1_acknowledges_it,
    |db| {
        use app::escalation::{PolicyForm, StepForm};
        use server::testkit::fakes::{TWILIO_SID, TWILIO_TOKEN};
        setup(db).await;
        disable_all_accounts(db).await;
        let twilio = Fake::start(Kind::TwilioVoice).await;
        let account = add_account(db, &twilio, Kind::TwilioVoice, 1, 600, 2500, 2000).await;
        // Critical incidents call the manager at once (this policy names the
        // type, so it wins over the demo's policy for every type).
        let maya = user_id(db, "manager@demo.id").await.0;
        let form = PolicyForm {
            name: "Telepon manajer".into(),
            notification_type: "critical_incident".into(),
            min_priority: "critical".into(),
            steps: vec![StepForm {
                delay_minutes: 0,
                target: "user".into(),
                user_id: Some(maya),
                channels: vec![domain::Channel::Voice],
                ..StepForm::default()
            }],
            ..PolicyForm::default()
        };
        storage::escalation::save(
            db,
            &storage::audit::Actor::cli(),
            &form.validate().unwrap(),
            now_ms(),
        )
        .await
        .unwrap();
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let event = ingest(
            db,
            json!({"type": "critical_incident", "priority": "critical", "work_zone": "karawang",
               "recipients": {"user_ids": [budi]},
               "data": {"location": "POP Karawang", "issue_type": "Listrik padam"},
               "idempotency_key": "voice-1"}),
        )
        .await
        .unwrap();
        let alert = alert_of(db, event.id()).await;
        let d = dispatcher(db);
        assert_eq!(
            d.escalate(alert.created_at).await.unwrap().steps,
            vec![(alert.id, 1)]
        );
        step(&d).await;

        let call = deliveries(db, event.id())
            .await
            .into_iter()
            .find(|r| r.channel == "voice")
            .expect("a call");
        assert_eq!((call.status.as_str(), call.user_id), ("sent", Some(maya)));
        assert_eq!(call.provider.as_deref(), Some("twilio_voice"));
        assert_eq!(call.cost_rupiah, 2500);
        let sid = call.provider_message_id.clone().unwrap();
        assert!(sid.starts_with("CA"), "{sid}");
        let got = twilio.received();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].path,
            format!("/2010-04-01/Accounts/{TWILIO_SID}/Calls.json")
        );
        assert_eq!(got[0].form_field("To").as_deref(), Some("+6281200000002"));
        let twiml = got[0].form_field("Twiml").unwrap();
        assert!(twiml.contains("language=\"id-ID\""), "{twiml}");
        assert!(
            twiml.contains("POP Karawang") && twiml.contains("Tekan 1 untuk konfirmasi."),
            "{twiml}"
        );
        assert!(
            twiml.contains(&format!(
                "action=\"http://localhost:3000/webhooks/twilio/{account}/voice/gather\""
            )),
            "{twiml}"
        );
        assert_eq!(
            got[0].form_field("StatusCallback"),
            Some(format!(
                "http://localhost:3000/webhooks/twilio/{account}/voice/status"
            ))
        );

        let srv = spawn_server(db).await;
        let status_path = format!("/webhooks/twilio/{account}/voice/status");
        let gather_path = format!("/webhooks/twilio/{account}/voice/gather");
        let row = |db: &Db| {
            let db = db.clone();
            let id = call.id;
            async move {
                let s: String = storage::on_db!(&db, |pool| sqlx::query_scalar(
                    "SELECT status FROM deliveries WHERE id = $1"
                )
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap());
                s
            }
        };
        twilio_post(
            &srv,
            &status_path,
            &[("CallSid", &sid), ("CallStatus", "ringing")],
            TWILIO_TOKEN,
        )
        .await;
        assert_eq!(row(db).await, "sent");
        twilio_post(
            &srv,
            &status_path,
            &[("CallSid", &sid), ("CallStatus", "in-progress")],
            TWILIO_TOKEN,
        )
        .await;
        assert_eq!(row(db).await, "delivered");

        // A forged key press changes nothing; another key does not acknowledge.
        let res = twilio_post(
            &srv,
            &gather_path,
            &[("CallSid", &sid), ("Digits", "1")],
            "not-the-token",
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = twilio_post(
            &srv,
            &gather_path,
            &[("CallSid", &sid), ("Digits", "2")],
            TWILIO_TOKEN,
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("belum dikonfirmasi"));
        assert_eq!(alert_of(db, event.id()).await.status, "open");

        // Key 1: acknowledged by the person called, by phone; the call counts as read.
        let res = twilio_post(
            &srv,
            &gather_path,
            &[("CallSid", &sid), ("Digits", "1")],
            TWILIO_TOKEN,
        )
        .await;
        assert_eq!(res.headers()["content-type"], "text/xml");
        let said = res.text().await.unwrap();
        assert!(
            said.starts_with("<Response><Say language=\"id-ID\""),
            "{said}"
        );
        assert!(said.contains("sudah dikonfirmasi"), "{said}");
        let a = alert_of(db, event.id()).await;
        assert_eq!(
            (
                a.status.as_str(),
                a.acknowledged_by,
                a.ack_channel.as_deref()
            ),
            ("acknowledged", Some(maya), Some("voice"))
        );
        assert_eq!(row(db).await, "read");
        twilio_post(
            &srv,
            &status_path,
            &[("CallSid", &sid), ("CallStatus", "completed")],
            TWILIO_TOKEN,
        )
        .await;
        assert_eq!(row(db).await, "read", "a later status never goes back");
        srv.stop().await;
    }
);

store_test!(an_unanswered_call_is_failed_with_its_reason, |db| {
    use server::testkit::fakes::TWILIO_TOKEN;
    setup(db).await;
    disable_all_accounts(db).await;
    let twilio = Fake::start(Kind::TwilioVoice).await;
    let account = add_account(db, &twilio, Kind::TwilioVoice, 1, 600, 2500, 2000).await;
    // A test call from the providers page's channel test: one delivery.
    let event = storage::outbox::NewEvent::test_send(json!({"channel": "voice"}));
    let delivery = storage::outbox::NewDelivery::test_send(
        domain::Channel::Voice,
        "+6281200000002".into(),
        None,
        "Uji panggilan".into(),
        now_ms(),
    );
    let inserted = storage::outbox::insert_event(db, &event, &[delivery], &[], now_ms())
        .await
        .unwrap();
    let d = dispatcher(db);
    step(&d).await;
    let call = deliveries(db, inserted.id()).await.remove(0);
    assert_eq!(call.status, "sent");
    let sid = call.provider_message_id.unwrap();
    let srv = spawn_server(db).await;
    let path = format!("/webhooks/twilio/{account}/voice/status");
    twilio_post(
        &srv,
        &path,
        &[("CallSid", &sid), ("CallStatus", "no-answer")],
        TWILIO_TOKEN,
    )
    .await;
    let after = deliveries(db, inserted.id()).await.remove(0);
    assert_eq!(after.status, "failed");
    assert_eq!(after.error.as_deref(), Some("Twilio call no-answer"));
    srv.stop().await;
});

store_test!(
    a_critical_alert_through_meta_is_acknowledged_with_one_tap,
    |db| {
        setup(db).await;
        disable_all_accounts(db).await;
        let meta = Fake::start(Kind::Meta).await;
        meta.set_templates(vec![json!({
        "name": "outage", "language": "id", "status": "APPROVED", "category": "UTILITY",
        "parameter_format": "NAMED", "components": [
            {"type": "BODY", "text": "*Gangguan* {{ticket_id}} di {{location}}: {{issue_type}}"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Konfirmasi"}]}]
    })]);
        let m = add_account(db, &meta, Kind::Meta, 1, 600, 0, 2000).await;
        let accounts = server::providers::AccountCache::new(
            db.clone(),
            server::testkit::keys(),
            std::time::Duration::ZERO,
        );
        server::providers::meta_sync::sync_id(db, &server::providers::http_client(), &accounts, m)
            .await
            .unwrap();
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let srv = spawn_server(db).await;
        let sent_id = |event: i64| async move {
            eventually("the alert sent through Meta", || async {
                whatsapp_row(db, event).await.provider_message_id.is_some()
            })
            .await;
            whatsapp_row(db, event).await.provider_message_id.unwrap()
        };
        let tap = |n: u32, wamid: String, tapped: serde_json::Value| {
            let mut message = json!({"from": "6281200000005", "id": format!("wamid.tap{n}"),
            "timestamp": (storage::now_ms() / 1000).to_string(), "context": {"from": "6221000", "id": wamid}});
            for (k, v) in tapped.as_object().unwrap() {
                message[k] = v.clone();
            }
            meta_change(json!({ "messages": [message] }))
        };

        // Budi never wrote: the alert goes as the "outage" template, its
        // quick-reply button carrying the acknowledgement.
        let first = ingest(db, outage(budi, "tap-1")).await.unwrap();
        let wamid = sent_id(first.id()).await;
        let sent = meta_sends(&meta);
        let template = &sent.last().unwrap()["template"];
        assert_eq!(template["name"], "outage");
        assert_eq!(
            template["components"][1],
            json!({"type": "button", "sub_type": "quick_reply", "index": "0",
               "parameters": [{"type": "payload", "payload": "ack"}]})
        );
        // He taps "Konfirmasi" (the button's label is his app's, the payload ours).
        let body = tap(
            1,
            wamid,
            json!({"type": "button", "button": {"payload": "ack", "text": "Konfirmasi"}}),
        );
        assert_eq!(post_meta(&srv, m, body).await, StatusCode::OK);
        let a = alert_of(db, first.id()).await;
        assert_eq!(
            (
                a.status.as_str(),
                a.acknowledged_by,
                a.ack_channel.as_deref()
            ),
            ("acknowledged", Some(budi), Some("whatsapp"))
        );

        // His tap opened the window: the next alert is free text with a reply
        // button, and its tap acknowledges it too.
        let second = ingest(db, outage(budi, "tap-2")).await.unwrap();
        let wamid = sent_id(second.id()).await;
        let sent = meta_sends(&meta);
        let last = sent.last().unwrap();
        assert_eq!(last["type"], "interactive");
        assert_eq!(
            last["interactive"]["action"]["buttons"][0]["reply"]["id"],
            "ack"
        );
        let body = tap(
            2,
            wamid,
            json!({"type": "interactive", "interactive": {"type": "button_reply",
            "button_reply": {"id": "ack", "title": "Konfirmasi"}}}),
        );
        assert_eq!(post_meta(&srv, m, body).await, StatusCode::OK);
        assert_eq!(alert_of(db, second.id()).await.status, "acknowledged");
        srv.stop().await;
    }
);

store_test!(
    an_ok_written_before_the_alert_opened_does_not_acknowledge_it,
    |db| {
        setup(db).await;
        disable_all_accounts(db).await;
        let meta = Fake::start(Kind::Meta).await;
        let m = add_account(db, &meta, Kind::Meta, 1, 600, 0, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await.0;
        let srv = spawn_server(db).await;
        let event = ingest(db, outage(budi, "stale-ok")).await.unwrap();
        let opened = alert_of(db, event.id()).await.created_at;
        let ok_at = |n: u32, seconds: i64| {
            meta_change(json!({"messages": [{"from": "6281200000005",
                "id": format!("wamid.stale{n}"), "timestamp": seconds.to_string(), "type": "text",
                "text": {"body": "OK"}}]}))
        };
        let post = |body: String| post_meta(&srv, m, body);
        // Typed a minute before the alert (delivered late by Meta): not about it.
        assert_eq!(post(ok_at(1, opened / 1000 - 60)).await, StatusCode::OK);
        assert_eq!(alert_of(db, event.id()).await.status, "open");
        // Written now: it is.
        assert_eq!(
            post(ok_at(2, storage::now_ms() / 1000)).await,
            StatusCode::OK
        );
        assert_eq!(alert_of(db, event.id()).await.status, "acknowledged");
        srv.stop().await;
    }
);
