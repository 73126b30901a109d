//! SMS: Zenziva and Twilio fakes on loopback speaking their real formats,
//! failover between them, cost per segment, the WhatsApp → SMS fallback
//! (exactly once), and Twilio's signed status callbacks; on SQLite and
//! PostgreSQL.

mod support;

use server::dispatcher::fallback::WINDOW_MS;
use server::testkit::fakes::{self, Behaviour, Fake, Kind};
use server::webhooks::twilio_signature;
use storage::db::Db;
use storage::now_ms;
use storage::store_test;
use support::*;

/// A critical SLA breach for one technician: routed to every channel,
/// SMS included.
fn breach(user_id: domain::UserId, key: &str, priority: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "sla_breach", "priority": priority, "work_zone": "karawang",
        "recipients": {"user_ids": [user_id]},
        "data": {"ticket_id": "TK-77", "customer_name": "Bapak Joko", "location": "ODP-KRW-07",
                 "issue_type": "LOS merah", "sla_deadline": "14:00", "remaining_time": "0 menit",
                 "address": "Perumahan Galuh Mas Blok C2 No. 17, Karawang Barat",
                 "ticket_url": "https://tiket.example/TK-77"},
        "idempotency_key": key
    })
}

async fn rows_on(db: &Db, event_id: i64, channel: &str) -> Vec<Row> {
    deliveries(db, event_id)
        .await
        .into_iter()
        .filter(|r| r.channel == channel)
        .collect()
}

async fn fallback_of(db: &Db, id: i64) -> Option<i64> {
    storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT fallback_of FROM deliveries WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap())
}

store_test!(
    a_critical_alert_goes_by_sms_through_zenziva_billed_per_segment,
    |db| {
        setup(db).await;
        disable_all_accounts(db).await;
        let zenziva = Fake::start(Kind::Zenziva).await;
        let account = add_account(db, &zenziva, Kind::Zenziva, 1, 600, 150, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, breach(budi, "sms-1", "critical")).await.unwrap();

        let sms = rows_on(db, event.id(), "sms").await;
        assert_eq!(sms.len(), 1, "critical routes SMS directly");
        let text = sms[0].message.clone();
        assert!(
            !text.contains('*'),
            "no WhatsApp formatting in an SMS: {text}"
        );
        let parts = domain::sms::segments(&text);
        assert_eq!(parts.encoding, domain::sms::Encoding::Gsm7, "{text}");
        assert!(
            (2..=domain::sms::MAX_SEGMENTS).contains(&parts.count),
            "{} segments: {text}",
            parts.count
        );

        let d = dispatcher(db);
        step(&d).await;
        let sms = rows_on(db, event.id(), "sms").await;
        assert_eq!(sms[0].status, "sent");
        assert_eq!(sms[0].provider.as_deref(), Some("zenziva"));
        assert_eq!(sms[0].provider_account_id, Some(account));
        assert_eq!(sms[0].provider_message_id.as_deref(), Some("1000"));
        assert_eq!(sms[0].cost_rupiah, 150 * i64::from(parts.count));

        let got = zenziva.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "/reguler/api/sendsms/");
        assert_eq!(
            got[0].form_field("userkey").as_deref(),
            Some(fakes::ZENZIVA_USERKEY)
        );
        assert_eq!(got[0].form_field("to").as_deref(), Some("6281200000005"));
        assert_eq!(got[0].form_field("message").as_deref(), Some(text.as_str()));

        // Without an SMS account the channel is logged as not configured.
        disable_all_accounts(db).await;
        let event = ingest(db, breach(budi, "sms-2", "critical")).await.unwrap();
        step(&d).await;
        let sms = rows_on(db, event.id(), "sms").await;
        assert_eq!(sms[0].status, "failed");
        assert!(
            sms[0]
                .error
                .as_deref()
                .unwrap_or("")
                .contains("channel not configured"),
            "{:?}",
            sms[0].error
        );
    }
);

store_test!(zenziva_out_of_balance_fails_over_to_twilio, |db| {
    setup(db).await;
    disable_all_accounts(db).await;
    let zenziva = Fake::start(Kind::Zenziva).await;
    let twilio = Fake::start(Kind::Twilio).await;
    add_account(db, &zenziva, Kind::Zenziva, 1, 600, 150, 2000).await;
    let second = add_account(db, &twilio, Kind::Twilio, 2, 600, 900, 2000).await;
    zenziva.push(Behaviour::Refuse("Saldo tidak mencukupi".into()));
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let event = ingest(db, breach(budi, "sms-3", "critical")).await.unwrap();
    let d = dispatcher(db);
    step(&d).await;

    let sms = &rows_on(db, event.id(), "sms").await[0];
    assert_eq!(sms.status, "sent");
    assert_eq!(sms.provider.as_deref(), Some("twilio"));
    assert_eq!(sms.provider_account_id, Some(second));
    assert!(sms
        .provider_message_id
        .as_deref()
        .is_some_and(|s| s.starts_with("SM")));
    let parts = domain::sms::segments(&sms.message).count;
    assert_eq!(sms.cost_rupiah, 900 * i64::from(parts));

    let got = twilio.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].path,
        format!("/2010-04-01/Accounts/{}/Messages.json", fakes::TWILIO_SID)
    );
    assert_eq!(got[0].form_field("To").as_deref(), Some("+6281200000005"));
    assert_eq!(got[0].form_field("From").as_deref(), Some("+15005550006"));
    assert_eq!(
        got[0].form_field("Body").as_deref(),
        Some(sms.message.as_str())
    );
    assert_eq!(
        got[0].form_field("StatusCallback"),
        Some(format!("http://localhost:3000/webhooks/twilio/{second}"))
    );

    // Twilio says the number is invalid: failed, with Twilio's reason.
    twilio.push(Behaviour::Refuse("21211".into()));
    zenziva.push(Behaviour::Refuse("Saldo tidak mencukupi".into()));
    let event = ingest(db, breach(budi, "sms-4", "critical")).await.unwrap();
    step(&d).await;
    let sms = &rows_on(db, event.id(), "sms").await[0];
    assert_eq!(sms.status, "failed");
    assert!(
        sms.error.as_deref().unwrap_or("").contains("Twilio 21211"),
        "{:?}",
        sms.error
    );
});

store_test!(
    whatsapp_refused_for_a_number_goes_by_sms_exactly_once,
    |db| {
        setup(db).await;
        disable_all_accounts(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        add_account(db, &fonnte, Kind::Fonnte, 1, 600, 350, 2000).await;
        fonnte.push(Behaviour::Refuse("target invalid".into()));
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, assignment(budi, "fb-1")).await.unwrap();
        let d = dispatcher(db);
        step(&d).await;
        let whatsapp = whatsapp_row(db, event.id()).await;
        assert_eq!(whatsapp.status, "failed");
        // A test send that fails is not followed by an SMS.
        fonnte.push(Behaviour::Refuse("target invalid".into()));
        let test = app::providers::ChannelTest {
            channel: "whatsapp".into(),
            recipient: "081200000005".into(),
            message: "uji".into(),
        }
        .validate()
        .unwrap();
        storage::providers::test_send(db, &test, budi, domain::Locale::Id, now_ms())
            .await
            .unwrap();
        step(&d).await;
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM deliveries WHERE notification_type = 'test_send' AND status = 'failed'").await,
            1
        );

        // Nor is a phone code: any number a user types would get a paid SMS.
        fonnte.push(Behaviour::Refuse("target invalid".into()));
        storage::on_db_write!(db, |pool| sqlx::query(
            "UPDATE users SET phone_verified_at = NULL WHERE id = $1"
        )
        .bind(budi)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        storage::settings::send_code(db, budi, domain::Locale::Id, now_ms())
            .await
            .unwrap();
        step(&d).await;
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM deliveries WHERE notification_type = 'phone_verification' AND status = 'failed'").await,
            1
        );
        storage::on_db_write!(db, |pool| sqlx::query(
            "UPDATE users SET phone_verified_at = 1 WHERE id = $1"
        )
        .bind(budi)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());

        // No SMS account: nothing to fall back to.
        assert!(d.sms_fallback(now_ms()).await.unwrap().is_empty());

        let zenziva = Fake::start(Kind::Zenziva).await;
        add_account(db, &zenziva, Kind::Zenziva, 1, 600, 150, 2000).await;
        d.accounts.invalidate();
        let other = dispatcher(db); // a second instance sweeping too
        let now = now_ms();
        let (a, b) = tokio::join!(d.sms_fallback(now), other.sms_fallback(now));
        let added: Vec<domain::DeliveryId> = a.unwrap().into_iter().chain(b.unwrap()).collect();
        assert_eq!(added.len(), 1, "one SMS however many sweep: {added:?}");
        assert!(d.sms_fallback(now_ms()).await.unwrap().is_empty());
        assert_eq!(fallback_of(db, added[0].0).await, Some(whatsapp.id));
        // The delivery log links the two both ways.
        let detail = storage::deliveries::detail(db, added[0]).await.unwrap();
        assert_eq!(detail.fallback_of, Some(domain::DeliveryId(whatsapp.id)));
        let detail = storage::deliveries::detail(db, domain::DeliveryId(whatsapp.id))
            .await
            .unwrap();
        assert_eq!(detail.sms_fallback, Some(added[0]));

        step(&d).await;
        let sms = &rows_on(db, event.id(), "sms").await[0];
        assert_eq!(sms.status, "sent");
        assert_eq!(sms.recipient, whatsapp.recipient);
        assert_eq!(
            sms.user_id,
            Some(budi.0),
            "it counts as the technician's in the log"
        );
        assert_eq!(sms.message, domain::sms::plain(&whatsapp.message));
        assert!(
            sms.message.starts_with("TIKET BARU DITUGASKAN"),
            "{}",
            sms.message
        );
        assert_eq!(zenziva.received().len(), 1);

        // A failure older than the window is left alone.
        fonnte.push(Behaviour::Refuse("target invalid".into()));
        let old = ingest(db, assignment(budi, "fb-2")).await.unwrap();
        step(&d).await;
        assert_eq!(whatsapp_row(db, old.id()).await.status, "failed");
        assert!(d
            .sms_fallback(now_ms() + WINDOW_MS + 60_000)
            .await
            .unwrap()
            .is_empty());
    }
);

store_test!(
    urgent_whatsapp_not_delivered_in_time_also_goes_by_sms,
    |db| {
        setup(db).await;
        disable_all_accounts(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        add_account(db, &fonnte, Kind::Fonnte, 1, 600, 350, 2000).await;
        let zenziva = Fake::start(Kind::Zenziva).await;
        add_account(db, &zenziva, Kind::Zenziva, 1, 600, 150, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let high = ingest(db, breach(budi, "late-1", "high")).await.unwrap();
        let delivered = ingest(db, breach(budi, "late-2", "high")).await.unwrap();
        let medium = ingest(db, assignment(budi, "late-3")).await.unwrap();
        let d = dispatcher(db);
        step(&d).await;
        for e in [&high, &delivered, &medium] {
            assert_eq!(whatsapp_row(db, e.id()).await.status, "sent");
            assert!(rows_on(db, e.id(), "sms").await.is_empty());
        }
        let id = whatsapp_row(db, delivered.id())
            .await
            .provider_message_id
            .unwrap();
        storage::outbox::apply_status(
            db,
            "fonnte",
            storage::outbox::MessageKey::Id(&id),
            domain::DeliveryStatus::Delivered,
            now_ms(),
            None,
        )
        .await
        .unwrap()
        .expect("delivered");

        let after = d.config.sms_fallback.after_ms;
        assert!(
            d.sms_fallback(now_ms()).await.unwrap().is_empty(),
            "not late yet"
        );
        let added = d.sms_fallback(now_ms() + after + 1000).await.unwrap();
        assert_eq!(added.len(), 1, "only the undelivered high one");
        let sms = rows_on(db, high.id(), "sms").await;
        assert_eq!(sms.len(), 1);
        assert_eq!(
            fallback_of(db, sms[0].id).await,
            Some(whatsapp_row(db, high.id()).await.id)
        );
        assert!(rows_on(db, delivered.id(), "sms").await.is_empty());
        assert!(
            rows_on(db, medium.id(), "sms").await.is_empty(),
            "medium waits for its receipt"
        );
    }
);

store_test!(
    twilio_status_callbacks_must_be_signed_and_only_move_forward,
    |db| {
        setup(db).await;
        disable_all_accounts(db).await;
        let twilio = Fake::start(Kind::Twilio).await;
        let account = add_account(db, &twilio, Kind::Twilio, 1, 600, 900, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, breach(budi, "cb-1", "critical")).await.unwrap();
        let server = spawn_server(db).await;
        eventually("the SMS is sent", || async {
            rows_on(db, event.id(), "sms").await[0].status == "sent"
        })
        .await;
        let sms = rows_on(db, event.id(), "sms").await.remove(0);
        let sid = sms.provider_message_id.clone().unwrap();
        let callback = twilio.received()[0].form_field("StatusCallback").unwrap();
        let path = callback.strip_prefix("http://localhost:3000").unwrap();
        let target = format!("http://{}{path}", server.addr);
        let http = reqwest::Client::new();
        let post = |status: &str, signature: Option<String>| {
            let params = vec![
                ("AccountSid".to_owned(), fakes::TWILIO_SID.to_owned()),
                ("MessageSid".to_owned(), sid.clone()),
                ("MessageStatus".to_owned(), status.to_owned()),
                ("To".to_owned(), "+6281200000005".to_owned()),
            ];
            let signature = signature
                .unwrap_or_else(|| twilio_signature(fakes::TWILIO_TOKEN, &callback, &params));
            http.post(&target)
                .header("X-Twilio-Signature", signature)
                .form(&params)
                .send()
        };

        // Forged (signed with another token): refused, nothing applied.
        let forged = vec![("MessageSid".to_owned(), sid.clone())];
        let r = post(
            "delivered",
            Some(twilio_signature("not-the-token", &callback, &forged)),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(rows_on(db, event.id(), "sms").await[0].status, "sent");

        let r = post("delivered", None).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(rows_on(db, event.id(), "sms").await[0].status, "delivered");
        // A late "undelivered" or a repeated "sent" cannot take it back.
        assert_eq!(post("undelivered", None).await.unwrap().status(), 200);
        assert_eq!(post("sent", None).await.unwrap().status(), 200);
        assert_eq!(rows_on(db, event.id(), "sms").await[0].status, "delivered");

        // Another account's id in the URL: that account's token does not match.
        let wrong = target.replace(&format!("/{account}"), &format!("/{}", account + 1000));
        let r = http
            .post(&wrong)
            .form(&[("MessageSid", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        let rejected = count(
            db,
            "SELECT COUNT(*) FROM provider_callbacks WHERE provider = 'twilio' AND outcome LIKE 'rejected%'",
        )
        .await;
        assert_eq!(rejected, 1);
        server.stop().await;
    }
);
