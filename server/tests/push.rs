//! Web push end to end against a push service fake on loopback that checks
//! the VAPID token and decrypts each payload with the subscription's own
//! keys, as a browser does: every device of a person gets the encrypted
//! notification; gone subscriptions (404/410) are removed; an outage is
//! retried; a person with no device is skipped with a reason; subscribing
//! checks its keys; the service worker's receipts move the delivery to
//! delivered and read, for its owner only. On SQLite and PostgreSQL.

mod support;

use app::push::BrowserSubscription;
use serde_json::{json, Value};
use server::testkit::push::PushService;
use storage::db::Db;
use storage::push as push_store;
use storage::store_test;
use support::*;

/// The demo's web push account is the only one enabled.
async fn only_push(db: &Db) {
    disable_all_accounts(db).await;
    storage::on_db_write!(db, |pool| sqlx::query(
        "UPDATE provider_accounts SET enabled = TRUE WHERE kind = 'webpush'"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
}

async fn vapid_public(db: &Db) -> String {
    storage::keys::vapid::VapidKey::load_or_create(db, &server::testkit::keys(), storage::now_ms())
        .await
        .unwrap()
        .public_key()
        .to_owned()
}

/// A browser subscription made at `fake` with the server's key, stored for `user`.
async fn device(db: &Db, fake: &PushService, user: domain::UserId, label: &str) -> String {
    let sub: BrowserSubscription =
        serde_json::from_value(fake.subscribe(&vapid_public(db).await)).unwrap();
    let valid = app::push::check_subscription(&sub, true).unwrap();
    match push_store::subscribe(db, user, &valid, label, storage::now_ms())
        .await
        .unwrap()
    {
        push_store::Saved::Id(_) => sub.endpoint,
        push_store::Saved::TooMany | push_store::Saved::Taken => panic!("not stored"),
    }
}

/// A high-priority status change for `user`: in-app, WhatsApp, push, email.
fn status_change(user: domain::UserId, key: &str) -> Value {
    json!({
        "type": "ticket_status_changed", "priority": "high", "work_zone": "karawang",
        "recipients": {"user_ids": [user]},
        "data": {"ticket_id": "TK-77", "status": "on_progress", "technician_name": "Budi",
                 "customer_name": "Ibu Sari", "ticket_url": "https://tiket.example/TK-77"},
        "idempotency_key": key
    })
}

async fn push_row(db: &Db, event: i64) -> Row {
    deliveries(db, event)
        .await
        .into_iter()
        .find(|r| r.channel == "push")
        .expect("a push delivery")
}

async fn push_row_by_id(db: &Db, event: i64, id: i64) -> Row {
    deliveries(db, event)
        .await
        .into_iter()
        .find(|r| r.id == id)
        .expect("the delivery")
}

async fn event_id(db: &Db, body: Value) -> i64 {
    match ingest(db, body).await.unwrap() {
        storage::outbox::Inserted::Created(id) => id,
        other => panic!("{other:?}"),
    }
}

store_test!(
    a_push_reaches_every_device_encrypted_and_gone_devices_are_removed,
    |db| {
        setup(db).await;
        only_push(db).await;
        let fake = PushService::start().await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let phone = device(db, &fake, budi, "Chrome di Android").await;
        let laptop = device(db, &fake, budi, "Firefox di Linux").await;
        let old = device(db, &fake, budi, "Chrome di Windows").await;
        fake.answer(&old, &[410]);

        let event = event_id(db, status_change(budi, "push-1")).await;
        let d = dispatcher(db);
        step(&d).await;
        let row = push_row(db, event).await;
        assert_eq!(row.status, "sent", "{row:?}");
        assert_eq!(row.provider.as_deref(), Some("webpush"));
        assert_eq!(row.provider_message_id, Some(format!("push-{}", row.id)));
        assert_eq!(row.cost_rupiah, 0);

        // Both live devices got it, and decrypted it to the notification.
        let arrived = fake.received();
        let mut to: Vec<&str> = arrived.iter().map(|a| a.subscription.as_str()).collect();
        to.sort();
        let mut want = vec![phone.as_str(), laptop.as_str()];
        want.sort();
        assert_eq!(to, want);
        for a in &arrived {
            let p: domain::push::Payload = serde_json::from_str(&a.plaintext).unwrap();
            assert!(
                p.title.contains("Status tiket berubah") && p.title.contains("TK-77"),
                "{p:?}"
            );
            assert!(p.body.contains("TK-77"), "{p:?}");
            assert_eq!(p.delivery, row.id);
            assert_eq!(p.tag, format!("delivery-{}", row.id));
            assert_eq!(p.url, "http://localhost:3000/inbox");
            assert_eq!(a.urgency, "high");
            assert_eq!(
                a.ttl,
                domain::push::ttl_seconds(domain::Priority::High).to_string()
            );
            assert_eq!(a.claims["aud"], fake.base.as_str());
            assert_eq!(a.claims["sub"], "mailto:noc@demo.id");
        }
        // The gone one is removed; the others record their success.
        let left = push_store::devices(db, budi).await.unwrap();
        assert_eq!(left.len(), 2);
        assert!(left
            .iter()
            .all(|d| d.endpoint != old && d.last_success_at.is_some()));
        let response: String = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT provider_response FROM deliveries WHERE id = $1"
        )
        .bind(row.id)
        .fetch_one(pool)
        .await
        .unwrap());
        assert!(
            response.starts_with("2 of 3 devices") && response.contains("gone, removed"),
            "{response}"
        );
    }
);

store_test!(
    a_device_whose_push_service_fails_gets_a_follow_up_the_others_nothing_twice,
    |db| {
        setup(db).await;
        only_push(db).await;
        let fake = PushService::start().await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let phone = device(db, &fake, budi, "Chrome di Android").await;
        let laptop = device(db, &fake, budi, "Firefox di Linux").await;
        // The phone's push service is down for one request.
        fake.answer(&phone, &[503]);

        let event = event_id(db, status_change(budi, "push-partial")).await;
        let d = dispatcher(db);
        step(&d).await;
        let rows: Vec<Row> = deliveries(db, event)
            .await
            .into_iter()
            .filter(|r| r.channel == "push")
            .collect();
        // The laptop has it: sent. The phone's share is a follow-up row,
        // due shortly, for the phone only.
        assert_eq!(rows.len(), 2, "{rows:?}");
        let (first, follow) = (&rows[0], &rows[1]);
        assert_eq!(first.status, "sent", "{first:?}");
        assert_eq!(follow.status, "queued", "{follow:?}");
        let phone_id = push_store::devices(db, budi)
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.endpoint == phone)
            .unwrap()
            .id;
        assert_eq!(follow.recipient, format!("devices:{phone_id}"));
        let (retry_of, due): (Option<i64>, Option<i64>) =
            storage::on_db!(db, |pool| sqlx::query_as(
                "SELECT retry_of, next_attempt_at FROM deliveries WHERE id = $1"
            )
            .bind(follow.id)
            .fetch_one(pool)
            .await
            .unwrap());
        assert_eq!(retry_of, Some(first.id));
        let due = due.unwrap();
        assert!(due > storage::now_ms() + 20_000, "not at once");
        // The worker running the first one again (after a crash) adds nothing.
        let again = push_store::follow_up(db, domain::DeliveryId(first.id), &[phone_id], 1, 2)
            .await
            .unwrap();
        assert_eq!(again, None);
        assert_eq!(fake.received().len(), 1);
        assert_eq!(fake.received()[0].subscription, laptop);

        step_at(&d, due).await;
        let follow = push_row_by_id(db, event, follow.id).await;
        assert_eq!(follow.status, "sent", "{follow:?}");
        let arrived = fake.received();
        let to: Vec<&str> = arrived.iter().map(|a| a.subscription.as_str()).collect();
        assert_eq!(to, [laptop.as_str(), phone.as_str()], "each device once");
    }
);

store_test!(
    no_device_is_a_skip_an_outage_is_retried_and_a_foreign_key_fails,
    |db| {
        setup(db).await;
        only_push(db).await;
        let fake = PushService::start().await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;

        // Push switched on but no device: routing skips push with a reason,
        // nothing is queued.
        storage::on_db_write!(db, |pool| sqlx::query(
            "UPDATE notification_settings SET push_enabled = TRUE WHERE user_id = $1"
        )
        .bind(budi)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        let event = event_id(db, status_change(budi, "push-none")).await;
        assert!(deliveries(db, event)
            .await
            .iter()
            .all(|r| r.channel != "push"));
        let body = status_change(budi, "push-none-api");
        let event_req = server::ingest::request::parse(&body, None).unwrap();
        let cache =
            server::ingest::plan::ReferenceCache::new(db.clone(), std::time::Duration::ZERO);
        let prepared = server::ingest::plan::prepare(
            db,
            &cache.get().await.unwrap(),
            &event_req,
            chrono::Utc::now(),
            &server::ingest::plan::Links::new(
                "http://localhost:3000",
                storage::keys::ack_links::LinkKey::load_or_create(
                    db,
                    &server::testkit::keys(),
                    storage::now_ms(),
                )
                .await
                .unwrap(),
            ),
        )
        .await
        .unwrap()
        .unwrap();
        let skip = prepared
            .skipped
            .iter()
            .find(|s| s.channel == domain::Channel::Push)
            .expect("push skipped");
        assert_eq!(
            skip.reason,
            "push is not turned on in any browser or device"
        );

        // The push service is down: retried, then sent.
        let phone = device(db, &fake, budi, "Chrome di Android").await;
        fake.answer(&phone, &[503]);
        let event = event_id(db, status_change(budi, "push-outage")).await;
        let d = dispatcher(db);
        step(&d).await;
        let row = push_row(db, event).await;
        assert_eq!(row.status, "queued", "{row:?}");
        assert!(
            row.error.as_deref().unwrap_or("").contains("HTTP 503"),
            "{row:?}"
        );
        step_at(&d, row.next_attempt_at.unwrap()).await;
        let row = push_row(db, event).await;
        assert_eq!(row.status, "sent", "{row:?}");
        assert_eq!(fake.received().len(), 1);

        // A subscription made with another server's key: 403, not retried,
        // and the device keeps its row with the reason shown.
        let stranger: BrowserSubscription = serde_json::from_value(fake.subscribe(
            "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
        ))
        .unwrap();
        let andi = user_id(db, "tek.bekasi1@demo.id").await;
        push_store::subscribe(
            db,
            andi,
            &app::push::check_subscription(&stranger, true).unwrap(),
            "Chrome di Linux",
            1,
        )
        .await
        .unwrap();
        let event = event_id(db, status_change(andi, "push-foreign")).await;
        step(&d).await;
        let row = push_row(db, event).await;
        assert_eq!(row.status, "failed", "{row:?}");
        assert!(
            row.error.as_deref().unwrap_or("").contains("HTTP 403"),
            "{row:?}"
        );
        let devices = push_store::devices(db, andi).await.unwrap();
        assert!(devices[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("403"));
        assert_eq!(fake.refused().last().unwrap().0, 403);

        // Every device gone: failed, and nothing left to push to.
        fake.answer(&phone, &[404]);
        let event = event_id(db, status_change(budi, "push-gone")).await;
        step(&d).await;
        let row = push_row(db, event).await;
        assert_eq!(row.status, "failed");
        assert!(
            row.error
                .as_deref()
                .unwrap_or("")
                .contains("no device accepted"),
            "{row:?}"
        );
        assert!(push_store::devices(db, budi).await.unwrap().is_empty());
    }
);

store_test!(
    subscribing_checks_the_keys_and_receipts_count_for_the_owner_only,
    |db| {
        setup_with_api_key(db).await;
        only_push(db).await;
        let fake = PushService::start().await;
        let running = spawn_server(db).await;
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::new();
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let cookie = |token: &str| format!("{}={token}", app::auth::session::COOKIE_NAME);
        let budi_session = storage::sessions::create_session(db, budi, storage::now_ms())
            .await
            .unwrap();
        let andi = user_id(db, "tek.bekasi1@demo.id").await;
        let andi_session = storage::sessions::create_session(db, andi, storage::now_ms())
            .await
            .unwrap();

        // The page's status: the key to subscribe with, no devices yet.
        let status: Value = http
            .post(format!("{base}/api/push/status"))
            .header("cookie", cookie(&budi_session))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = status["public_key"].as_str().unwrap().to_owned();
        assert_eq!(key, vapid_public(db).await);
        assert_eq!(status["devices"], json!([]));

        // Subscribing: bad keys are refused by field; good ones are kept with
        // the device named from the User-Agent.
        let subscribe = |sub: Value, token: String| {
            let http = http.clone();
            let base = base.clone();
            async move {
                http.post(format!("{base}/api/push/subscribe"))
                    .header("cookie", cookie(&token))
                    .header("user-agent", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")
                    .json(&json!({ "subscription": sub }))
                    .send()
                    .await
                    .unwrap()
            }
        };
        let good = fake.subscribe(&key);
        let mut bad = good.clone();
        bad["keys"]["p256dh"] = json!("AAAA");
        let answer = subscribe(bad, budi_session.clone()).await;
        assert_eq!(answer.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(answer.text().await.unwrap().contains("p256dh"));
        let mut http_endpoint = good.clone();
        http_endpoint["endpoint"] = json!("http://push.example.com/x");
        let answer = subscribe(http_endpoint, budi_session.clone()).await;
        assert!(answer.text().await.unwrap().contains("https"));
        // A technician cannot make the server call inside its network:
        // private, metadata and internal addresses, a user part hiding the
        // real host, internal names.
        for inside in [
            "http://127.0.0.1:@10.0.0.5:8080/x",
            "https://10.0.0.5/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::ffff:192.168.1.1]/x",
            "https://metadata.google.internal/computeMetadata/v1/",
        ] {
            let mut sub = good.clone();
            sub["endpoint"] = json!(inside);
            let answer = subscribe(sub, budi_session.clone()).await;
            assert_eq!(
                answer.status(),
                reqwest::StatusCode::UNPROCESSABLE_ENTITY,
                "{inside}"
            );
        }
        let answer = subscribe(good.clone(), budi_session.clone()).await;
        assert!(
            answer.status().is_success(),
            "{}",
            answer.text().await.unwrap()
        );
        let devices = push_store::devices(db, budi).await.unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].device, "Chrome di Android");
        let switched: bool = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT push_enabled FROM notification_settings WHERE user_id = $1"
        )
        .bind(budi)
        .fetch_one(pool)
        .await
        .unwrap());
        assert!(switched, "subscribing turns the push channel on");
        // The same browser again: still one row.
        subscribe(good.clone(), budi_session.clone()).await;
        assert_eq!(push_store::devices(db, budi).await.unwrap().len(), 1);
        // Someone else cannot remove it.
        let answer = http
            .post(format!("{base}/api/push/remove"))
            .header("cookie", cookie(&andi_session))
            .form(&[("id", devices[0].id.to_string())])
            .send()
            .await
            .unwrap();
        assert!(!answer.status().is_success());
        assert_eq!(push_store::devices(db, budi).await.unwrap().len(), 1);

        // An event through the API reaches the device.
        let answer = http
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(server::DEMO_API_KEY)
            .json(&status_change(budi, "push-http"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
        let event = answer.json::<Value>().await.unwrap()["notification_id"]
            .as_i64()
            .unwrap();
        eventually("the push is sent", || async {
            push_row(db, event).await.status == "sent"
        })
        .await;
        let row = push_row(db, event).await;
        assert_eq!(fake.received().len(), 1);

        // The service worker's receipts: only from the owner's session.
        let receipt = |token: Option<String>, body: String| {
            let http = http.clone();
            let base = base.clone();
            async move {
                let mut r = http
                    .post(format!("{base}/push/receipt"))
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(t) = token {
                    r = r.header("cookie", cookie(&t));
                }
                r.send().await.unwrap().status().as_u16()
            }
        };
        let shown = json!({"delivery": row.id, "event": "shown"}).to_string();
        assert_eq!(receipt(None, shown.clone()).await, 401);
        assert_eq!(
            receipt(Some(andi_session.clone()), shown.clone()).await,
            404
        );
        assert_eq!(
            receipt(Some(budi_session.clone()), "{not json".into()).await,
            400
        );
        assert_eq!(
            receipt(
                Some(budi_session.clone()),
                json!({"delivery": row.id, "event": "opened"}).to_string()
            )
            .await,
            400
        );
        assert_eq!(push_row(db, event).await.status, "sent");
        assert_eq!(receipt(Some(budi_session.clone()), shown).await, 204);
        assert_eq!(push_row(db, event).await.status, "delivered");
        let clicked = json!({"delivery": row.id, "event": "clicked"}).to_string();
        assert_eq!(receipt(Some(budi_session.clone()), clicked).await, 204);
        assert_eq!(push_row(db, event).await.status, "read");
        // A late "shown" does not take it back.
        let shown = json!({"delivery": row.id, "event": "shown"}).to_string();
        assert_eq!(receipt(Some(budi_session.clone()), shown).await, 204);
        assert_eq!(push_row(db, event).await.status, "read");
        running.stop().await;
    }
);

store_test!(
    a_push_endpoint_moves_to_another_person_only_with_its_keys,
    |db| {
        setup(db).await;
        let fake = PushService::start().await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let joko = user_id(db, "tek.karawang2@demo.id").await;
        let sub: BrowserSubscription =
            serde_json::from_value(fake.subscribe(&vapid_public(db).await)).unwrap();
        let budis = app::push::check_subscription(&sub, true).unwrap();
        let now = storage::now_ms();
        assert!(matches!(
            push_store::subscribe(db, budi, &budis, "HP Budi", now)
                .await
                .unwrap(),
            push_store::Saved::Id(_)
        ));
        let owner = |db: &Db| {
            let db = db.clone();
            let endpoint = budis.endpoint.clone();
            async move {
                let o: domain::UserId = storage::on_db!(&db, |pool| sqlx::query_scalar(
                    "SELECT user_id FROM push_subscriptions WHERE endpoint = $1"
                )
                .bind(endpoint)
                .fetch_one(pool)
                .await
                .unwrap());
                o
            }
        };
        // Joko learned the endpoint, not the browser's secret: refused, and
        // Budi keeps his device.
        let forged = push_store::Subscription {
            auth: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            ..budis.clone()
        };
        assert!(matches!(
            push_store::subscribe(db, joko, &forged, "?", now)
                .await
                .unwrap(),
            push_store::Saved::Taken
        ));
        assert_eq!(owner(db).await, budi);
        // The same browser, now signed in by Joko (a shared phone): it moves.
        assert!(matches!(
            push_store::subscribe(db, joko, &budis, "HP bersama", now)
                .await
                .unwrap(),
            push_store::Saved::Id(_)
        ));
        assert_eq!(owner(db).await, joko);
    }
);
