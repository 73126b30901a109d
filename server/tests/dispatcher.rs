//! The dispatcher against provider fakes on loopback, on SQLite and PostgreSQL.

mod support;

use server::testkit::fakes::{Behaviour, Fake, Kind};
use std::sync::Arc;
use std::time::Duration;
use storage::now_ms;
use storage::outbox::{self as store, EventParts, Inserted, Outcome};
use storage::store_test;
use support::*;

store_test!(
    a_ticket_assignment_goes_out_through_fonnte_in_its_real_format,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        let account = add_account(db, &fonnte, Kind::Fonnte, 1, 600, 350, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, assignment(budi, "a1")).await.unwrap();

        // Written before any send: the WhatsApp row is queued, in-app is delivered.
        let rows = deliveries(db, event.id()).await;
        let mut states: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.channel.as_str(), r.status.as_str()))
            .collect();
        states.sort();
        assert_eq!(
            states,
            vec![("in_app", "delivered"), ("whatsapp", "queued")]
        );

        let d = dispatcher(db);
        assert_eq!(step(&d).await, 1);
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!(row.status, "sent");
        assert_eq!(row.provider.as_deref(), Some("fonnte"));
        assert_eq!(row.provider_account_id, Some(account));
        assert_eq!(row.provider_message_id.as_deref(), Some("1000"));
        assert_eq!(row.cost_rupiah, 350);

        let got = fonnte.received();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].form_field("target").as_deref(),
            Some("6281200000005")
        );
        assert_eq!(got[0].form_field("countryCode").as_deref(), Some("62"));
        let text = got[0].form_field("message").unwrap();
        assert!(text.starts_with("🔧 *TIKET BARU DITUGASKAN*"), "{text}");
        assert!(text.contains("*No. Tiket:* TK-1"), "{text}");
        assert!(
            text.contains("Ibu \u{FF0A}Siti\u{FF0A}"),
            "customer data cannot inject formatting: {text}"
        );
        assert!(text.contains("*Prioritas:* Sedang"), "{text}");
        // Nothing left to do.
        assert_eq!(step(&d).await, 0);
    }
);

store_test!(
    every_provider_speaks_its_own_protocol_for_people_and_groups,
    |db| {
        setup(db).await;
        for kind in [Kind::Wablas, Kind::Woowa, Kind::Meta] {
            let fake = Fake::start(kind).await;
            disable_all_accounts(db).await;
            let account = add_account(db, &fake, kind, 1, 600, 100, 2000).await;
            if kind == Kind::Meta {
                open_window(db, account, BUDI_PHONE).await;
            }
            let budi = user_id(db, "tek.karawang1@demo.id").await;
            let key = format!("p-{}", kind_name(kind));
            let event = ingest(db, assignment(budi, &key)).await.unwrap();
            let group_event = ingest(
            db,
            serde_json::json!({"type": "new_ticket", "priority": "low", "work_zone": "bekasi",
                               "data": {"ticket_id": "TK-9"}, "idempotency_key": format!("g-{key}")}),
        )
        .await
        .unwrap();
            let d = dispatcher(db);
            assert_eq!(step(&d).await, 2, "{kind:?}");
            let row = whatsapp_row(db, event.id()).await;
            assert_eq!(row.status, "sent", "{kind:?}: {:?}", row.error);
            let group_row = deliveries(db, group_event.id())
                .await
                .into_iter()
                .find(|r| r.channel == "whatsapp_group")
                .unwrap();
            if kind == Kind::Meta {
                // Meta's Cloud API cannot post to a gateway's group chat:
                // with no other account, the group message says why.
                assert_eq!(group_row.status, "failed");
                assert!(
                    group_row
                        .error
                        .as_deref()
                        .unwrap()
                        .contains("can post to groups"),
                    "{:?}",
                    group_row.error
                );
                assert_eq!(fake.received().len(), 1, "only the personal message");
                assert_eq!(fake.received()[0].json()["recipient_type"], "individual");
                continue;
            }
            assert_eq!(group_row.status, "sent", "{kind:?}: {:?}", group_row.error);
            assert_eq!(group_row.recipient, "120363000000000002@g.us");
            let got = fake.received();
            assert_eq!(got.len(), 2);
            let (person, group) = if got[0].body.contains("@g.us") {
                (&got[1], &got[0])
            } else {
                (&got[0], &got[1])
            };
            match kind {
                Kind::Wablas => {
                    assert_eq!(person.json()["data"][0]["phone"], "6281200000005");
                    assert_eq!(group.json()["data"][0]["isGroup"], "true");
                    assert!(row.provider_message_id.unwrap().starts_with("f5b3cb53"));
                }
                Kind::Woowa => {
                    assert_eq!(person.path, "/send_message");
                    assert_eq!(person.json()["phone_no"], "+6281200000005");
                    assert_eq!(group.path, "/send_message_group_id");
                    assert_eq!(group.json()["group_id"], "120363000000000002@g.us");
                    assert!(row.provider_message_id.unwrap().starts_with("WOWA"));
                }
                Kind::Meta | Kind::Fonnte | Kind::Zenziva | Kind::Twilio | Kind::TwilioVoice => {
                    unreachable!()
                }
            }
        }
    }
);

store_test!(
    meta_sends_free_text_only_inside_the_24_hour_window_and_a_gateway_takes_the_rest,
    |db| {
        setup(db).await;
        let meta = Fake::start(Kind::Meta).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        let meta_id = add_account(db, &meta, Kind::Meta, 1, 600, 300, 2000).await;
        let fonnte_id = add_account(db, &fonnte, Kind::Fonnte, 2, 600, 100, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let d = dispatcher(db);

        // Budi never wrote to the business number: Meta is passed over (it
        // would answer 131047) and Fonnte sends it.
        let first = ingest(db, assignment(budi, "w1")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, first.id()).await;
        assert_eq!(
            (row.status.as_str(), row.provider_account_id),
            ("sent", Some(fonnte_id))
        );
        assert!(meta.received().is_empty());

        // He writes (Meta's webhook, signed): the window opens and Meta,
        // first in order, takes the next message.
        let srv = spawn_server(db).await;
        let inbound =
            serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                "messages": [{"from": "6281200000005", "id": "wamid.in1",
                    "timestamp": (now_ms() / 1000).to_string(), "type": "text",
                    "text": {"body": "siap"}}]}}]}]})
            .to_string();
        let res = reqwest::Client::new()
            .post(format!("http://{}/webhooks/meta/{meta_id}", srv.addr))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign("meta-app-secret", &inbound))
            .body(inbound)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        srv.stop().await;
        let second = ingest(db, assignment(budi, "w2")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, second.id()).await;
        assert_eq!(row.provider_account_id, Some(meta_id), "{:?}", row.error);
        assert_eq!(meta_sends(&meta).len(), 1);
        assert_eq!(meta_sends(&meta)[0]["type"], "text");

        // Meta counts the window closed after all (131047): the message
        // fails over to the gateway instead of failing.
        meta.push(Behaviour::Refuse("131047".into()));
        let third = ingest(db, assignment(budi, "w3")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, third.id()).await;
        assert_eq!(
            (row.status.as_str(), row.provider_account_id),
            ("sent", Some(fonnte_id)),
            "{:?}",
            row.error
        );

        // Only Meta, window closed for Joko: failed, saying why.
        disable_all_accounts(db).await;
        storage::on_db_write!(db, |pool| {
            sqlx::query("UPDATE provider_accounts SET enabled = TRUE WHERE id = $1")
                .bind(meta_id)
                .execute(pool)
                .await
                .map(drop)
                .unwrap()
        });
        let joko = user_id(db, "tek.karawang2@demo.id").await;
        let fourth = ingest(db, assignment(joko, "w4")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, fourth.id()).await;
        assert_eq!(row.status, "failed");
        assert!(
            row.error.as_deref().unwrap().contains("24-hour"),
            "{:?}",
            row.error
        );
        assert_eq!(meta_sends(&meta).len(), 2, "nothing sent to Joko");
    }
);

store_test!(
    a_wablas_account_written_as_wablas_documents_it_sends,
    |db| {
        setup(db).await;
        let wablas = Fake::start(Kind::Wablas).await;
        disable_all_accounts(db).await;
        let id = add_account(db, &wablas, Kind::Wablas, 1, 600, 100, 2000).await;
        // "https://{server}.wablas.com/api", as Wablas' documentation and
        // dashboard write the server's address.
        let documented = format!("{}/api/", wablas.base);
        storage::on_db_write!(db, |pool| sqlx::query(
            "UPDATE provider_accounts SET base_url = $1 WHERE id = $2"
        )
        .bind(&documented)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, assignment(budi, "wablas-api")).await.unwrap();
        let d = dispatcher(db);
        step(&d).await;
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!(row.status, "sent", "{:?}", row.error);
        assert_eq!(wablas.received()[0].path, "/api/v2/send-message");
    }
);

store_test!(
    a_group_message_passes_meta_over_for_a_gateway_that_can_post_to_groups,
    |db| {
        setup(db).await;
        let meta = Fake::start(Kind::Meta).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        disable_all_accounts(db).await;
        add_account(db, &meta, Kind::Meta, 1, 600, 100, 2000).await;
        let gateway = add_account(db, &fonnte, Kind::Fonnte, 2, 600, 100, 2000).await;
        let event = ingest(
            db,
            serde_json::json!({"type": "new_ticket", "priority": "low", "work_zone": "bekasi",
                               "data": {"ticket_id": "TK-10"}, "idempotency_key": "meta-group"}),
        )
        .await
        .unwrap();
        step(&dispatcher(db)).await;
        let group_row = deliveries(db, event.id())
            .await
            .into_iter()
            .find(|r| r.channel == "whatsapp_group")
            .unwrap();
        assert_eq!(group_row.status, "sent", "{:?}", group_row.error);
        assert_eq!(group_row.provider_account_id, Some(gateway));
        assert!(meta.received().is_empty(), "Meta was not asked");
        assert_eq!(fonnte.received().len(), 1);
    }
);

store_test!(a_failing_account_fails_over_to_the_next_in_order, |db| {
    setup(db).await;
    let wablas = Fake::start(Kind::Wablas).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    let first = add_account(db, &wablas, Kind::Wablas, 1, 600, 100, 2000).await;
    let second = add_account(db, &fonnte, Kind::Fonnte, 2, 600, 200, 2000).await;
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let d = dispatcher(db);

    // HTTP 500, then a 200 with a provider-level account error, then 429: each
    // time the next account takes the message within the same attempt.
    // Each try is kept: the first account's failure, then the second's send.
    for (i, (failure, status, outcome)) in [
        (
            Behaviour::Http(500, "Internal Server Error".into()),
            500,
            "transient",
        ),
        (
            Behaviour::Refuse("token invalid".into()),
            200,
            "account_error",
        ),
        (
            Behaviour::Http(429, "Too Many Requests".into()),
            429,
            "rate_limited",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        wablas.push(failure);
        let event = ingest(db, assignment(budi, &format!("f{i}")))
            .await
            .unwrap();
        step(&d).await;
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!(row.status, "sent", "case {i}: {:?}", row.error);
        assert_eq!(row.provider_account_id, Some(second), "case {i}");
        assert_eq!(row.attempts, 1, "failover happens inside one attempt");
        assert_eq!(row.cost_rupiah, 200);
        assert_eq!(
            tries(db, row.id).await,
            vec![
                (1, Some(first), Some(status), outcome.to_owned()),
                (1, Some(second), Some(200), "accepted".to_owned()),
            ],
            "case {i}"
        );
    }
    assert_eq!(wablas.received().len(), 3);
    assert_eq!(fonnte.received().len(), 3);
});

store_test!(an_endless_answer_is_read_no_further_than_its_start, |db| {
    setup(db).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    let account = add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 10_000).await;
    fonnte.push(Behaviour::Endless);
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let event = ingest(db, assignment(budi, "e1")).await.unwrap();
    step(&dispatcher(db)).await;
    // Judged on what came first, not waited on until the timeout (which
    // would count as "may have gone out").
    let row = whatsapp_row(db, event.id()).await;
    let kept = tries(db, row.id).await;
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].1, kept[0].2), (Some(account), Some(200)));
    assert_ne!(kept[0].3, "timed_out", "{:?}", row.error);
    assert!(row.error.is_some());
});

store_test!(a_recipient_error_fails_permanently_without_failover, |db| {
    setup(db).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    let wablas = Fake::start(Kind::Wablas).await;
    add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 2000).await;
    add_account(db, &wablas, Kind::Wablas, 2, 600, 100, 2000).await;
    fonnte.push(Behaviour::Refuse("target invalid".into()));
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let event = ingest(db, assignment(budi, "r1")).await.unwrap();
    step(&dispatcher(db)).await;
    let row = whatsapp_row(db, event.id()).await;
    assert_eq!(row.status, "failed");
    assert_eq!(row.error.as_deref(), Some("Fonnte: target invalid"));
    assert!(wablas.received().is_empty());
});

store_test!(
    when_every_account_fails_the_delivery_backs_off_then_gives_up,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        add_account(db, &fonnte, Kind::Fonnte, 1, 6000, 100, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let mut body = assignment(budi, "b1");
        body["priority"] = "low".into(); // 3 attempts
        let event = ingest(db, body).await.unwrap();
        let d = dispatcher(db);
        let mut now = now_ms();
        for attempt in 1..=3 {
            fonnte.push(Behaviour::Http(503, "down".into()));
            assert_eq!(step_at(&d, now).await, 1, "attempt {attempt}");
            let row = whatsapp_row(db, event.id()).await;
            assert_eq!(row.attempts, attempt);
            if attempt < 3 {
                assert_eq!(row.status, "queued");
                let wait = row.next_attempt_at.unwrap() - now_ms();
                let base = 5_000 * 2i64.pow(attempt as u32 - 1);
                assert!(
                    wait > base * 7 / 10 && wait <= base * 6 / 5 + 50,
                    "attempt {attempt}: waits {wait} ms"
                );
                // Not due yet: nothing is claimed before the backoff ends.
                assert_eq!(step_at(&d, now).await, 0);
                now = row.next_attempt_at.unwrap();
            } else {
                assert_eq!(row.status, "failed");
                assert!(
                    row.error
                        .as_deref()
                        .unwrap()
                        .starts_with("gave up after 3 attempts: HTTP 503"),
                    "{:?}",
                    row.error
                );
            }
        }
        assert_eq!(fonnte.received().len(), 3);
    }
);

store_test!(a_timeout_is_retried_on_the_same_account_only, |db| {
    setup(db).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    let wablas = Fake::start(Kind::Wablas).await;
    let first = add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 300).await;
    add_account(db, &wablas, Kind::Wablas, 2, 600, 100, 300).await;
    fonnte.push(Behaviour::Delay(Duration::from_millis(1500)));
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let event = ingest(db, assignment(budi, "t1")).await.unwrap();
    let d = dispatcher(db);
    step(&d).await;
    let ended = now_ms();
    let row = whatsapp_row(db, event.id()).await;
    assert_eq!(row.status, "queued");
    assert!(
        row.error.as_deref().unwrap().contains("may have sent"),
        "{:?}",
        row.error
    );
    assert!(
        wablas.received().is_empty(),
        "an unknown outcome must not be sent twice at once"
    );
    // The backoff (at least 4 s after a first attempt) counts from the
    // attempt's end, not from its start 300 ms earlier.
    assert!(
        row.next_attempt_at.unwrap() >= ended - 50 + 4_000,
        "{:?} vs {ended}",
        row.next_attempt_at
    );

    // Due again: the same account takes it, even though failover would
    // start after it; the other account never sees the message.
    make_due(db, row.id).await;
    step(&d).await;
    let row = whatsapp_row(db, event.id()).await;
    assert_eq!(row.status, "sent", "{:?}", row.error);
    assert_eq!(row.provider_account_id, Some(first));
    assert_eq!(fonnte.received().len(), 2);
    assert!(wablas.received().is_empty(), "no second copy via Wablas");
    // The timeline: no answer on the first attempt, then accepted.
    assert_eq!(
        tries(db, row.id).await,
        vec![
            (1, Some(first), None, "timed_out".to_owned()),
            (2, Some(first), Some(200), "accepted".to_owned()),
        ]
    );
    // As the delivery's page reads them: by account name, in order.
    let detail = storage::deliveries::detail(db, domain::DeliveryId(row.id))
        .await
        .unwrap();
    let name = format!("{} #1", kind_name(Kind::Fonnte));
    assert_eq!(
        detail
            .tries
            .iter()
            .map(|t| (t.attempt, t.account.as_deref(), t.outcome, t.http_status))
            .collect::<Vec<_>>(),
        vec![
            (1, Some(name.as_str()), domain::TryOutcome::TimedOut, None),
            (
                2,
                Some(name.as_str()),
                domain::TryOutcome::Accepted,
                Some(200)
            ),
        ]
    );
    assert!(detail.tries[0]
        .error
        .as_deref()
        .unwrap()
        .contains("may have sent"));
    assert!(detail.tries[1].finished_at >= detail.tries[1].started_at);
});

store_test!(
    a_gateway_asking_to_wait_is_not_called_before_its_retry_after,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        let wablas = Fake::start(Kind::Wablas).await;
        let first = add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 2000).await;
        let second = add_account(db, &wablas, Kind::Wablas, 2, 600, 100, 2000).await;
        fonnte.push(Behaviour::TooMany(60));
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let d = dispatcher(db);
        let event = ingest(db, assignment(budi, "w1")).await.unwrap();
        step(&d).await;
        let before = now_ms();
        // The other account takes the traffic meanwhile.
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!(
            (row.status.as_str(), row.provider_account_id),
            ("sent", Some(second))
        );
        for i in 0..3 {
            let e = ingest(db, assignment(budi, &format!("w2-{i}")))
                .await
                .unwrap();
            step(&d).await;
            let row = whatsapp_row(db, e.id()).await;
            assert_eq!(row.provider_account_id, Some(second), "{i}");
        }
        assert_eq!(fonnte.received().len(), 1, "paused for its Retry-After");
        // The pause is stored for the other instances: a second dispatcher
        // on the same database holds it too.
        let until: Option<i64> = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT paused_until FROM provider_accounts WHERE id = $1"
        )
        .bind(first)
        .fetch_one(pool)
        .await
        .unwrap());
        let until = until.expect("paused_until stored");
        assert!(
            (before + 58_000..=before + 61_000).contains(&until),
            "{until} vs {before}"
        );
        // The providers page shows it while it holds.
        let shown = storage::providers::list(db, now_ms()).await.unwrap();
        let paused = |id| {
            shown
                .iter()
                .find(|a| a.id == domain::AccountId(id))
                .unwrap()
                .paused_until
        };
        assert_eq!((paused(first), paused(second)), (Some(until), None));
        let later = storage::providers::list(db, until + 1).await.unwrap();
        assert!(later.iter().all(|a| a.paused_until.is_none()));
        let other = dispatcher(db);
        let e = ingest(db, assignment(budi, "w3")).await.unwrap();
        step(&other).await;
        assert_eq!(
            whatsapp_row(db, e.id()).await.provider_account_id,
            Some(second)
        );
        assert_eq!(fonnte.received().len(), 1);
    }
);

store_test!(
    an_account_at_its_rate_limit_postpones_without_using_an_attempt,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        add_account(db, &fonnte, Kind::Fonnte, 1, 60, 100, 2000).await; // one per second
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let joko = user_id(db, "tek.karawang2@demo.id").await;
        let a = ingest(db, assignment(budi, "l1")).await.unwrap();
        let b = ingest(db, assignment(joko, "l2")).await.unwrap();
        step(&dispatcher(db)).await;
        let rows = [
            whatsapp_row(db, a.id()).await,
            whatsapp_row(db, b.id()).await,
        ];
        let sent: Vec<_> = rows.iter().filter(|r| r.status == "sent").collect();
        let waiting: Vec<_> = rows.iter().filter(|r| r.status == "queued").collect();
        assert_eq!((sent.len(), waiting.len()), (1, 1));
        assert_eq!(waiting[0].attempts, 0, "postponing is not an attempt");
        assert!(waiting[0].next_attempt_at.unwrap() > now_ms() + 500);
        assert_eq!(fonnte.received().len(), 1);
    }
);

/// Two instances on one PostgreSQL database hold one account's pace
/// together: right after one instance sent, the other sends nothing through
/// that account until the rate allows (each pacing itself sent at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_keep_one_accounts_pace() {
    let Some(t) = storage::db::testing::TestDb::postgres().await else {
        return;
    };
    let db = &t.db;
    setup(db).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    add_account(db, &fonnte, Kind::Fonnte, 1, 30, 100, 2000).await; // one per 2 s
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let joko = user_id(db, "tek.karawang2@demo.id").await;
    let (one, two) = (dispatcher(db), dispatcher(db));

    let a = ingest(db, assignment(budi, "p1")).await.unwrap();
    step(&one).await;
    assert_eq!(whatsapp_row(db, a.id()).await.status, "sent");
    let b = ingest(db, assignment(joko, "p2")).await.unwrap();
    step(&two).await;
    let waiting = whatsapp_row(db, b.id()).await;
    assert_eq!((waiting.status.as_str(), waiting.attempts), ("queued", 0));
    assert_eq!(
        fonnte.received().len(),
        1,
        "the second instance kept the pace"
    );

    // When the pace allows, the second instance sends it.
    let due = waiting.next_attempt_at.unwrap();
    tokio::time::sleep(Duration::from_millis((due - now_ms()).max(0) as u64 + 10)).await;
    step(&two).await;
    assert_eq!(whatsapp_row(db, b.id()).await.status, "sent");
    let got = fonnte.received();
    assert_eq!(got.len(), 2);
    let gap = got[1].at.duration_since(got[0].at);
    assert!(gap >= Duration::from_millis(1900), "{gap:?} apart");
    t.close().await;
}

store_test!(
    channels_without_a_sender_are_logged_as_not_configured,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        // Push on, a device subscribed, but no push account enabled.
        storage::on_db_write!(db, |pool| {
            sqlx::query("UPDATE notification_settings SET push_enabled = TRUE WHERE user_id = $1")
                .bind(budi)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, device, created_at)
                 VALUES ($1, 'https://push.example/1', 'k', 'a', 'Chrome di Android', 0)",
            )
            .bind(budi)
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("UPDATE provider_accounts SET enabled = FALSE WHERE kind = 'webpush'")
                .execute(pool)
                .await
                .map(|_| ())
                .unwrap()
        });
        let mut body = assignment(budi, "c1");
        body["priority"] = "high".into(); // + push + email
        let event = ingest(db, body).await.unwrap();
        step(&dispatcher(db)).await;
        let mut by_channel: Vec<(String, String, Option<String>)> = deliveries(db, event.id())
            .await
            .into_iter()
            .map(|r| (r.channel, r.status, r.error))
            .collect();
        by_channel.sort();
        assert_eq!(
            by_channel,
            vec![
                (
                    "email".into(),
                    "failed".into(),
                    Some("channel not configured: no enabled email provider account".into())
                ),
                ("in_app".into(), "delivered".into(), None),
                (
                    "push".into(),
                    "failed".into(),
                    Some("channel not configured: no enabled push provider account".into())
                ),
                ("whatsapp".into(), "sent".into(), None),
            ]
        );
    }
);

store_test!(
    an_expired_lease_is_requeued_and_the_late_result_is_fenced_out,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        let account = add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, assignment(budi, "lease")).await.unwrap();
        let now = now_ms();
        // Worker A claims and "dies".
        let claimed = store::claim(db, "worker-a", now, 1_000, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(
            store::claim(db, "worker-b", now, 1_000, 10)
                .await
                .unwrap()
                .len(),
            0,
            "leased rows are not claimed twice"
        );
        assert_eq!(
            store::rescue_expired(db, now + 500).await.unwrap(),
            0,
            "lease still valid"
        );
        assert_eq!(store::rescue_expired(db, now + 1_001).await.unwrap(), 1);
        // Worker B takes it over and sends it.
        let d = dispatcher(db);
        step_at(&d, now + 1_002).await;
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
        // A's late verdict changes nothing, and its try is not kept.
        let late = store::Attempted {
            id: claimed[0].id,
            attempt: claimed[0].attempts,
            outcome: Outcome::Failed {
                provider: None,
                account_id: None,
                error: "late".into(),
                response: None,
            },
            tries: vec![store::Try {
                account_id: domain::AccountId(account),
                provider: "fonnte".into(),
                started_at: now,
                finished_at: now_ms(),
                http_status: Some(500),
                outcome: domain::TryOutcome::Transient,
                error: Some("late".into()),
                response: None,
            }],
        };
        assert_eq!(store::record(db, &[late], now_ms()).await.unwrap(), vec![]);
        assert_eq!(whatsapp_row(db, event.id()).await.status, "sent");
        let kept = count_where(
            db,
            "SELECT COUNT(*) FROM delivery_tries WHERE delivery_id = $1",
            row.id,
        )
        .await;
        assert_eq!(kept, 1, "only B's try");
    }
);

store_test!(
    a_batch_of_every_kind_of_outcome_is_recorded_each_on_its_own_fence,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        let account = add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let mut events = Vec::new();
        for i in 0..6 {
            events.push(
                ingest(db, assignment(budi, &format!("mix-{i}")))
                    .await
                    .unwrap()
                    .id(),
            );
        }
        let now = now_ms();
        let mut claimed = store::claim(db, "worker", now, 60_000, 10).await.unwrap();
        assert_eq!(claimed.len(), 6);
        claimed.sort_by_key(|c| c.id.0);
        let account_id = domain::AccountId(account);
        let attempted = |i: usize, outcome: Outcome| store::Attempted {
            id: claimed[i].id,
            attempt: claimed[i].attempts,
            outcome,
            tries: Vec::new(),
        };
        let later = now + 30_000;
        let mut batch = vec![
            attempted(
                0,
                Outcome::Sent {
                    provider: "fonnte".into(),
                    account_id,
                    message_id: Some("m-0".into()),
                    reference: None,
                    response: "{}".into(),
                    cost_rupiah: 350,
                },
            ),
            attempted(
                1,
                Outcome::Failed {
                    provider: Some("fonnte".into()),
                    account_id: Some(account_id),
                    error: "nomor tidak terdaftar".into(),
                    response: Some("{\"status\":false}".into()),
                },
            ),
            // No account reached: what the row said before stays.
            attempted(
                2,
                Outcome::Failed {
                    provider: None,
                    account_id: None,
                    error: "channel not configured".into(),
                    response: None,
                },
            ),
            attempted(
                3,
                Outcome::Retry {
                    provider: Some("fonnte".into()),
                    account_id: Some(account_id),
                    next_attempt_at: later,
                    error: "timeout".into(),
                    response: None,
                    unconfirmed: true,
                },
            ),
            attempted(
                4,
                Outcome::Postpone {
                    next_attempt_at: later,
                },
            ),
        ];
        // A verdict on an attempt that is not the row's current one.
        let mut stale = attempted(
            5,
            Outcome::Failed {
                provider: None,
                account_id: None,
                error: "late".into(),
                response: None,
            },
        );
        stale.attempt += 1;
        batch.push(stale);

        let mut changes: Vec<(i64, domain::DeliveryStatus)> = store::record(db, &batch, now_ms())
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.id.0, c.status))
            .collect();
        changes.sort();
        use domain::DeliveryStatus as S;
        let id = |i: usize| claimed[i].id.0;
        assert_eq!(
            changes,
            vec![
                (id(0), S::Sent),
                (id(1), S::Failed),
                (id(2), S::Failed),
                (id(3), S::Queued)
            ],
            "a postponed row and a stale verdict announce nothing"
        );
        let rows: Vec<Row> = {
            let mut rows = Vec::new();
            for e in &events {
                rows.push(whatsapp_row(db, *e).await);
            }
            rows
        };
        let r = &rows[0];
        assert_eq!(
            (
                r.status.as_str(),
                r.provider_message_id.as_deref(),
                r.cost_rupiah,
                r.provider_account_id
            ),
            ("sent", Some("m-0"), 350, Some(account))
        );
        let r = &rows[1];
        assert_eq!(
            (r.status.as_str(), r.error.as_deref(), r.provider.as_deref()),
            ("failed", Some("nomor tidak terdaftar"), Some("fonnte"))
        );
        let r = &rows[2];
        assert_eq!(
            (
                r.status.as_str(),
                r.error.as_deref(),
                r.provider.as_deref(),
                r.provider_account_id
            ),
            ("failed", Some("channel not configured"), None, None)
        );
        let r = &rows[3];
        assert_eq!(
            (r.status.as_str(), r.next_attempt_at, r.attempts),
            ("queued", Some(later), 1)
        );
        let unconfirmed = count_where(
            db,
            "SELECT COALESCE(unconfirmed_account_id, 0) FROM deliveries WHERE id = $1",
            id(3),
        )
        .await;
        assert_eq!(
            unconfirmed, account,
            "a timed-out send goes back to its account"
        );
        let r = &rows[4];
        assert_eq!(
            (r.status.as_str(), r.next_attempt_at, r.attempts),
            ("queued", Some(later), 0),
            "a postponed attempt is given back"
        );
        assert_eq!(
            rows[5].status, "sending",
            "the stale verdict changed nothing"
        );
    }
);

store_test!(quiet_hours_defer_whatsapp_to_the_end_of_the_window, |db| {
    setup(db).await;
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    // A window covering the whole day but one minute, so "now" is inside.
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Jakarta);
    use chrono::Timelike;
    let minute = (now.hour() * 60 + now.minute()) as i64;
    let end = (minute + 2) % 1440;
    let start = (minute + 1439) % 1440;
    storage::on_db_write!(db, |pool| {
        sqlx::query(
        "UPDATE notification_settings SET quiet_hours_enabled = TRUE, quiet_start_minute = $1, quiet_end_minute = $2 WHERE user_id = $3"
    )
    .bind(start)
    .bind(end)
    .bind(budi)
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap()
    });
    let event = ingest(db, assignment(budi, "q1")).await.unwrap();
    let rows = deliveries(db, event.id()).await;
    let wa = rows.iter().find(|r| r.channel == "whatsapp").unwrap();
    assert_eq!(wa.status, "deferred");
    let wait = wa.next_attempt_at.unwrap() - now_ms();
    assert!(
        (0..=120_000).contains(&wait),
        "deferred to the window's end, {wait} ms away"
    );
    assert_eq!(
        rows.iter().find(|r| r.channel == "in_app").unwrap().status,
        "delivered",
        "in-app stays immediate"
    );
    // Not claimable before the end; claimable after.
    let fonnte = Fake::start(Kind::Fonnte).await;
    add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 2000).await;
    let d = dispatcher(db);
    assert_eq!(step(&d).await, 0);
    assert_eq!(step_at(&d, wa.next_attempt_at.unwrap()).await, 1);
    assert_eq!(whatsapp_row(db, event.id()).await.status, "sent");
});

store_test!(a_repeated_idempotency_key_writes_nothing_twice, |db| {
    setup(db).await;
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let first = ingest(db, assignment(budi, "same")).await.unwrap();
    let again = ingest(db, assignment(budi, "same")).await.unwrap();
    assert!(matches!(first, Inserted::Created(_)));
    assert_eq!(again, Inserted::Duplicate(first.id()));
    assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries").await, 2);
    assert_eq!(count(db, "SELECT COUNT(*) FROM notifications").await, 1);
});

store_test!(
    missing_template_values_refuse_the_event_and_write_nothing,
    |db| {
        setup(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let mut body = assignment(budi, "m1");
        body["data"].as_object_mut().unwrap().remove("address");
        body["data"].as_object_mut().unwrap().remove("sla_deadline");
        let problems = ingest(db, body).await.unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, vec!["data.address", "data.sla_deadline"]);
        assert!(
            problems[0].message.contains("ticket_assigned/whatsapp/id"),
            "{}",
            problems[0].message
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, 0);
        assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries").await, 0);
    }
);

store_test!(system_alerts_reach_the_noc_group_and_admins_in_app, |db| {
    setup(db).await;
    let event = ingest(
        db,
        serde_json::json!({"type": "system_alert", "priority": "high",
        "data": {"title": "OLT Karawang-01 down", "message": "12 ODP tidak merespons"}}),
    )
    .await
    .unwrap();
    let rows = deliveries(db, event.id()).await;
    let groups: Vec<&str> = rows
        .iter()
        .filter(|r| r.channel == "whatsapp_group")
        .map(|r| r.recipient.as_str())
        .collect();
    assert_eq!(groups, vec!["120363000000000005@g.us"], "NOC Team");
    let admin = user_id(db, "admin@demo.id").await;
    let admin_rows: Vec<&str> = rows
        .iter()
        .filter(|r| r.user_id == Some(admin.0))
        .map(|r| r.channel.as_str())
        .collect();
    assert_eq!(admin_rows, vec!["in_app"]);
    // The NOC member opted into group notifications gets an in-app copy.
    let noc = user_id(db, "noc@demo.id").await;
    assert!(rows
        .iter()
        .any(|r| r.user_id == Some(noc.0) && r.channel == "in_app"));
    // The default template words it; the zone line goes, as the alert has none.
    let msg = &rows
        .iter()
        .find(|r| r.channel == "whatsapp_group")
        .unwrap()
        .message;
    assert_eq!(
        msg,
        "🖥️ *PERINGATAN SISTEM* (Tinggi)\n\n*OLT Karawang-01 down*\n12 ODP tidak merespons"
    );
    // In the inbox: the same words without WhatsApp's marks.
    let inbox = &rows
        .iter()
        .find(|r| r.user_id == Some(admin.0))
        .unwrap()
        .message;
    assert_eq!(
        inbox,
        "🖥️ PERINGATAN SISTEM (Tinggi)\n\nOLT Karawang-01 down\n12 ODP tidak merespons"
    );
});

store_test!(
    a_status_that_arrives_before_the_send_is_recorded_is_applied_after,
    |db| {
        use domain::DeliveryStatus;
        use storage::outbox::{apply_or_hold, Applied, MessageKey};
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        add_account(db, &fonnte, Kind::Fonnte, 1, 600, 100, 2000).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, assignment(budi, "early")).await.unwrap();
        // The fake will answer with message id 1000; its receipts beat our record.
        let at = now_ms();
        let held = apply_or_hold(
            db,
            "fonnte",
            MessageKey::Id("1000"),
            DeliveryStatus::Delivered,
            at,
            None,
            Some("st-1"),
        )
        .await
        .unwrap();
        assert_eq!(held, Applied::Held);
        let held = apply_or_hold(
            db,
            "fonnte",
            MessageKey::Ref("st-1"),
            DeliveryStatus::Read,
            at + 5,
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(held, Applied::Held);
        assert_eq!(count(db, "SELECT COUNT(*) FROM early_statuses").await, 2);

        step(&dispatcher(db)).await;
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!(
            (row.provider_message_id.as_deref(), row.status.as_str()),
            (Some("1000"), "read")
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM early_statuses").await, 0);
        // Later duplicates of a known message are not held again.
        let again = apply_or_hold(
            db,
            "fonnte",
            MessageKey::Id("1000"),
            DeliveryStatus::Delivered,
            at,
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(again, Applied::Unchanged);
        assert_eq!(count(db, "SELECT COUNT(*) FROM early_statuses").await, 0);
    }
);

store_test!(
    the_sandbox_plays_delivered_and_read_receipts_through_the_webhook_path,
    |db| {
        setup(db).await;
        disable_all_accounts(db).await;
        storage::on_db_write!(db, |pool| sqlx::query(
            "UPDATE provider_accounts SET enabled = TRUE WHERE kind = 'sandbox'"
        )
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let event = ingest(db, assignment(budi, "sandbox-1")).await.unwrap();
        let d = dispatcher(db);
        assert_eq!(step(&d).await, 1);
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!(row.provider.as_deref(), Some("sandbox"));
        assert!(row
            .provider_message_id
            .as_deref()
            .unwrap()
            .starts_with("sandbox-"));
        eventually("the sandbox's read receipt", || async {
            whatsapp_row(db, event.id()).await.status == "read"
        })
        .await;
        let (sent, delivered, read): (Option<i64>, Option<i64>, Option<i64>) =
            storage::on_db!(db, |pool| {
                sqlx::query_as(
                    "SELECT sent_at, delivered_at, read_at FROM deliveries WHERE id = $1",
                )
                .bind(row.id)
                .fetch_one(pool)
                .await
                .unwrap()
            });
        let (sent, delivered, read) = (sent.unwrap(), delivered.unwrap(), read.unwrap());
        assert!(
            sent <= delivered && delivered <= read,
            "{sent} {delivered} {read}"
        );
    }
);

store_test!(
    deliveries_claimed_at_insert_are_leased_and_requeued_if_never_sent,
    |db| {
        use domain::{Channel, DeliveryStatus};
        use storage::outbox::{Lease, NewDelivery, NewEvent};
        setup(db).await;
        let now = now_ms();
        let event = NewEvent::test_send(serde_json::json!({"test": "handoff"}));
        let row = |to: &str| {
            NewDelivery::queued(
                Channel::Whatsapp,
                to.into(),
                None,
                format!("pesan untuk {to}"),
                now,
                3,
            )
        };
        let mut handed = row("+6281200000001");
        handed.status = DeliveryStatus::Sending;
        let queued = row("+6281200000002");
        let lease = Lease {
            worker: "w-ingest".into(),
            until: now + 60_000,
        };
        let batch = Arc::new(vec![EventParts {
            event,
            deliveries: vec![handed, queued],
            inbox: vec![],
        }]);
        let (inserted, claimed) = store::insert_events(db, batch, now, Some(&lease))
            .await
            .unwrap();
        let Inserted::Created(event_id) = inserted[0] else {
            panic!("a new event: {inserted:?}")
        };

        // Only the row written as claimed comes back, as a claim would return it.
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].recipient, "+6281200000001");
        assert_eq!(claimed[0].message, "pesan untuk +6281200000001");
        assert_eq!(claimed[0].attempts, 1);
        assert_eq!(claimed[0].max_attempts, 3);
        let mut states: Vec<(String, String, i64)> = deliveries(db, event_id)
            .await
            .into_iter()
            .map(|r| (r.recipient, r.status, r.attempts))
            .collect();
        states.sort();
        assert_eq!(
            states,
            vec![
                ("+6281200000001".into(), "sending".into(), 1),
                ("+6281200000002".into(), "queued".into(), 0),
            ]
        );
        let leased: (Option<i64>, Option<String>) = storage::on_db!(db, |pool| sqlx::query_as(
            "SELECT lease_expires_at, locked_by FROM deliveries WHERE id = $1"
        )
        .bind(claimed[0].id.0)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(leased, (Some(now + 60_000), Some("w-ingest".into())));

        // The dispatcher's own claim finds only the queued row (leased for
        // longer, so that only the other lease expires below).
        let found = store::claim(db, "w-claim", now, 120_000, 10).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "+6281200000002");

        // Never sent (the process died before the hand-over): the expired
        // lease returns it to the queue, and its next claim is attempt 2.
        assert_eq!(store::rescue_expired(db, now + 60_001).await.unwrap(), 1);
        let again = store::claim(db, "w-claim", now + 60_001, 60_000, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, claimed[0].id);
        assert_eq!(again[0].attempts, 2);
    }
);

store_test!(
    a_delivery_written_as_claimed_without_a_lease_is_refused_whole,
    |db| {
        use domain::{Channel, DeliveryStatus};
        use storage::outbox::{NewDelivery, NewEvent};
        setup(db).await;
        let before = count(db, "SELECT COUNT(*) FROM events").await;
        let event = NewEvent::test_send(serde_json::json!({"test": "no lease"}));
        let mut row = NewDelivery::queued(
            Channel::Whatsapp,
            "+6281200000001".into(),
            None,
            "pesan".into(),
            now_ms(),
            3,
        );
        row.status = DeliveryStatus::Sending;
        // Such a row would never be rescued: the whole event is refused.
        let batch = Arc::new(vec![EventParts {
            event,
            deliveries: vec![row],
            inbox: vec![],
        }]);
        let result = store::insert_events(db, batch, now_ms(), None).await;
        assert!(result.is_err(), "{result:?}");
        assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, before);
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM deliveries WHERE status = 'sending'"
            )
            .await,
            0
        );
    }
);

store_test!(
    a_group_commit_writes_each_new_event_once_and_answers_repeated_keys_with_the_first,
    |db| {
        use domain::Channel;
        use storage::outbox::{NewDelivery, NewEvent, NewInboxItem};
        setup(db).await;
        let now = now_ms();
        let someone = count(db, "SELECT MIN(id) FROM users").await;
        // Events, deliveries and inbox items in the tables.
        let totals = || async {
            (
                count(db, "SELECT COUNT(*) FROM events").await,
                count(db, "SELECT COUNT(*) FROM deliveries").await,
                count(db, "SELECT COUNT(*) FROM notifications").await,
            )
        };
        let start = totals().await;
        let event = |key: Option<&str>| {
            let mut e = NewEvent::test_send(serde_json::json!({"test": "batch"}));
            e.source = "ticketing".into();
            e.idempotency_key = key.map(str::to_owned);
            e
        };
        let parts = |key: Option<&str>, to: &str| EventParts {
            event: event(key),
            deliveries: vec![NewDelivery::queued(
                Channel::Whatsapp,
                to.into(),
                None,
                format!("pesan untuk {to}"),
                now,
                3,
            )],
            inbox: vec![NewInboxItem {
                user_id: domain::UserId(someone),
                title: format!("untuk {to}"),
                body: "isi".into(),
                link: None,
            }],
        };
        // A key already in the table.
        let (earlier, _) =
            store::insert_events(db, Arc::new(vec![parts(Some("K-0"), "+628100")]), now, None)
                .await
                .unwrap();
        let Inserted::Created(k0) = earlier[0] else {
            panic!("{earlier:?}")
        };

        let batch = vec![
            parts(Some("K-1"), "+628101"),
            parts(None, "+628102"),
            parts(Some("K-1"), "+628103"),
            parts(Some("K-0"), "+628104"),
            parts(None, "+628105"),
            parts(Some("K-2"), "+628106"),
        ];
        let (inserted, _) = store::insert_events(db, Arc::new(batch), now, None)
            .await
            .unwrap();
        let created: Vec<i64> = inserted
            .iter()
            .filter_map(|r| match r {
                Inserted::Created(id) => Some(*id),
                Inserted::Duplicate(_) => None,
            })
            .collect();
        assert_eq!(created.len(), 4, "{inserted:?}");
        assert_eq!(inserted[2], Inserted::Duplicate(inserted[0].id()));
        assert_eq!(inserted[3], Inserted::Duplicate(k0));
        // Each created event has its own rows, the duplicates none.
        for (i, to) in [
            (0, "+628101"),
            (1, "+628102"),
            (4, "+628105"),
            (5, "+628106"),
        ] {
            let rows = deliveries(db, inserted[i].id()).await;
            assert_eq!(rows.len(), 1, "event {i}");
            assert_eq!(rows[0].recipient, to);
        }
        // The earlier event and the batch's four new ones.
        let end = totals().await;
        assert_eq!(
            (end.0 - start.0, end.1 - start.1, end.2 - start.2),
            (5, 5, 5)
        );
        let titles: i64 = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications n JOIN deliveries d ON d.event_id = n.event_id
             WHERE n.title = 'untuk ' || d.recipient AND d.event_id >= $1"
        )
        .bind(k0)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(titles, 5, "inbox items belong to their own event");
    }
);

/// A single SQLite instance owns every lease when it starts: what its last
/// run left `sending` is requeued, due at once, before the server takes any
/// work (so nothing this run hands over can be mistaken for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_server_requeues_its_last_runs_leases_at_once_before_it_takes_work() {
    use domain::{Channel, DeliveryStatus};
    use storage::outbox::{Lease, NewDelivery, NewEvent};
    let t = storage::db::testing::TestDb::sqlite().await;
    let db = &t.db;
    setup(db).await;
    let now = now_ms();
    let mut row = NewDelivery::queued(
        Channel::Whatsapp,
        "+6281200000001".into(),
        None,
        "pesan".into(),
        now,
        3,
    );
    row.status = DeliveryStatus::Sending;
    // Leased for an hour by the run that died.
    let lease = Lease {
        worker: "previous-run".into(),
        until: now + 3_600_000,
    };
    let batch = Arc::new(vec![EventParts {
        event: NewEvent::test_send(serde_json::json!({"test": "restart"})),
        deliveries: vec![row],
        inbox: vec![],
    }]);
    let (_, claimed) = store::insert_events(db, batch, now, Some(&lease))
        .await
        .unwrap();
    let id = claimed[0].id;

    let before_start = now_ms();
    // A dispatcher with no free worker: nothing claims the row again, so
    // what the start did to it stays visible.
    let dispatcher = server::dispatcher::DispatcherConfig {
        concurrency: 0,
        ..Default::default()
    };
    let srv = server::testkit::start_on_loopback(db.clone(), Some(dispatcher))
        .await
        .unwrap();
    // Already when `start` returns: requeued and due, not in an hour.
    let (status, due): (String, i64) = storage::on_db!(db, |pool| sqlx::query_as(
        "SELECT status, next_attempt_at FROM deliveries WHERE id = $1"
    )
    .bind(id.0)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(status, "queued");
    assert!(due >= before_start && due <= now_ms(), "due at {due}");
    srv.stop().await;
    t.close().await;
}

/// Templates as Meta lists them for the fake's business account.
fn meta_templates() -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!({"name": "ticket_assigned", "language": "id", "status": "APPROVED", "category": "UTILITY",
            "parameter_format": "NAMED", "id": "1", "components": [
                {"type": "BODY", "text": "Halo {{recipient_name}}, tiket *{{ticket_id}}* untuk {{customer_name}} di {{location}}.",
                 "example": {"body_text_named_params": [{"param_name": "recipient_name", "example": "Budi"}]}}]}),
        json!({"name": "tugas_teknisi", "language": "id", "status": "APPROVED", "category": "UTILITY",
            "parameter_format": "POSITIONAL", "id": "2", "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Tugas baru"},
                {"type": "BODY", "text": "Tiket {{1}} di {{2}}."}]}),
        json!({"name": "sla_warning", "language": "id", "status": "PENDING", "category": "UTILITY",
            "parameter_format": "NAMED", "id": "3", "components": [
                {"type": "BODY", "text": "SLA {{ticket_id}}"}]}),
    ]
}

/// A Meta account whose templates were synced from the fake; its id.
async fn meta_with_templates(db: &storage::Db, meta: &Fake) -> i64 {
    meta.set_templates(meta_templates());
    let id = add_account(db, meta, Kind::Meta, 1, 600, 300, 2000).await;
    let accounts =
        server::providers::AccountCache::new(db.clone(), server::testkit::keys(), Duration::ZERO);
    let http = server::providers::http_client();
    let n = server::providers::meta_sync::sync_id(db, &http, &accounts, id)
        .await
        .unwrap();
    assert_eq!(n, 3);
    id
}

store_test!(
    meta_sends_the_types_template_outside_the_window_and_after_a_131047,
    |db| {
        setup(db).await;
        let meta = Fake::start(Kind::Meta).await;
        // One template per page: the sync follows Meta's cursor.
        meta.set_template_page(1);
        let meta_id = meta_with_templates(db, &meta).await;
        let lists = |meta: &Fake| {
            meta.received()
                .iter()
                .filter(|r| r.path.contains("/message_templates"))
                .count()
        };
        assert_eq!(lists(&meta), 3);
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        // Meta bills a utility template, and nothing for text in the window.
        storage::on_db_write!(db, |pool| {
            sqlx::query("UPDATE provider_accounts SET template_prices = $1 WHERE id = $2")
                .bind(r#"{"utility": 356, "service": 0}"#)
                .bind(meta_id)
                .execute(pool)
                .await
                .map(drop)
                .unwrap()
        });
        let d = dispatcher(db);

        // Budi never wrote: Meta alone, yet it goes out, as the type's
        // template with its named parameters filled from the event.
        let first = ingest(db, assignment(budi, "t1")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, first.id()).await;
        assert_eq!(
            (row.status.as_str(), row.provider_account_id),
            ("sent", Some(meta_id)),
            "{:?}",
            row.error
        );
        let sent = meta_sends(&meta);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["type"], "template");
        assert_eq!(sent[0]["template"]["name"], "ticket_assigned");
        assert_eq!(sent[0]["template"]["language"]["code"], "id");
        let params = &sent[0]["template"]["components"][0]["parameters"];
        let named: Vec<(&str, &str)> = params
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["parameter_name"].as_str().unwrap(),
                    p["text"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                ("recipient_name", "Budi Teknisi"),
                ("ticket_id", "TK-1"),
                ("customer_name", "Ibu *Siti*"),
                ("location", "ODP-KRW-01"),
            ]
        );
        assert_eq!(row.cost_rupiah, 356, "a utility template's price");

        // He wrote: free text, at the service price.
        open_window(db, meta_id, BUDI_PHONE).await;
        let text = ingest(db, assignment(budi, "t1b")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, text.id()).await;
        assert_eq!((row.status.as_str(), row.cost_rupiah), ("sent", 0));
        assert_eq!(meta_sends(&meta)[1]["type"], "text");

        // Our record says his window is open, Meta says closed (131047):
        // the same attempt sends the template instead (billed as one), and
        // both tries are kept; the window is forgotten.
        meta.push(Behaviour::Refuse("131047".into()));
        let second = ingest(db, assignment(budi, "t2")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, second.id()).await;
        assert_eq!(row.status, "sent", "{:?}", row.error);
        assert_eq!(row.cost_rupiah, 356);
        let sent = meta_sends(&meta);
        assert_eq!(
            (sent[2]["type"].as_str(), sent[3]["type"].as_str()),
            (Some("text"), Some("template"))
        );
        let kept = tries(db, row.id).await;
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(
            !storage::window::is_open(db, domain::AccountId(meta_id), BUDI_PHONE, now_ms())
                .await
                .unwrap()
        );

        // An admin maps the type to a positional template.
        let mapping = storage::meta_templates::Mapping {
            notification_type: "ticket_assigned".into(),
            language: "id".into(),
            template_name: "tugas_teknisi".into(),
            params: [
                ("1".to_owned(), "ticket_id".to_owned()),
                ("2".to_owned(), "location".to_owned()),
            ]
            .into(),
        };
        storage::meta_templates::save_mapping(db, &mapping, now_ms())
            .await
            .unwrap();
        let third = ingest(db, assignment(budi, "t3")).await.unwrap();
        step(&d).await;
        assert_eq!(whatsapp_row(db, third.id()).await.status, "sent");
        let sent = meta_sends(&meta);
        let t = &sent[4]["template"];
        assert_eq!(t["name"], "tugas_teknisi");
        assert_eq!(
            t["components"][0]["parameters"],
            serde_json::json!([{"type": "text", "text": "TK-1"}, {"type": "text", "text": "ODP-KRW-01"}])
        );

        // A mapping to a template Meta does not have: the delivery fails,
        // naming the type and language; nothing is sent.
        let missing = storage::meta_templates::Mapping {
            template_name: "tugas_lama".into(),
            params: Default::default(),
            ..mapping
        };
        storage::meta_templates::save_mapping(db, &missing, now_ms())
            .await
            .unwrap();
        let fourth = ingest(db, assignment(budi, "t4")).await.unwrap();
        step(&d).await;
        let row = whatsapp_row(db, fourth.id()).await;
        assert_eq!(row.status, "failed");
        let error = row.error.unwrap();
        assert!(
            error.contains("no approved Meta template for \"ticket_assigned\" in language \"id\""),
            "{error}"
        );
        assert_eq!(meta_sends(&meta).len(), 5);
    }
);

store_test!(
    a_refused_template_sync_keeps_the_templates_and_meta_s_reason,
    |db| {
        setup(db).await;
        let meta = Fake::start(Kind::Meta).await;
        let id = meta_with_templates(db, &meta).await;
        // The WABA id is mistyped: Meta's code 100, nothing changes.
        storage::on_db_write!(db, |pool| {
            sqlx::query("UPDATE provider_accounts SET credentials = $1 WHERE id = $2")
                .bind(
                    serde_json::json!({"access_token": server::testkit::fakes::META_TOKEN,
                        "phone_number_id": server::testkit::fakes::META_PHONE_ID, "waba_id": "999"})
                    .to_string(),
                )
                .bind(id)
                .execute(pool)
                .await
                .map(drop)
                .unwrap()
        });
        let accounts = server::providers::AccountCache::new(
            db.clone(),
            server::testkit::keys(),
            Duration::ZERO,
        );
        let http = server::providers::http_client();
        let err = server::providers::meta_sync::sync_id(db, &http, &accounts, id)
            .await
            .unwrap_err();
        assert!(err.starts_with("Meta error 100:"), "{err}");
        assert_eq!(storage::meta_templates::list(db).await.unwrap().len(), 3);
        let sync = &storage::meta_templates::syncs(db).await.unwrap()[0];
        assert_eq!(sync.error.as_deref(), Some(err.as_str()));
        assert!(sync.synced_at.is_some());
    }
);

store_test!(
    a_131047_reported_later_by_meta_sends_the_message_again_as_its_template,
    |db| {
        setup(db).await;
        let meta = Fake::start(Kind::Meta).await;
        let meta_id = meta_with_templates(db, &meta).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        // Our record says Budi wrote today: free text goes, Meta accepts it.
        open_window(db, meta_id, BUDI_PHONE).await;
        let event = ingest(db, assignment(budi, "late-131047")).await.unwrap();
        step(&dispatcher(db)).await;
        let row = whatsapp_row(db, event.id()).await;
        assert_eq!(row.status, "sent");
        let wamid = row.provider_message_id.unwrap();
        assert_eq!(meta_sends(&meta)[0]["type"], "text");

        // Then Meta's status webhook says it failed: outside the window.
        let srv = spawn_server(db).await;
        let failed = meta_change(
            serde_json::json!({"statuses": [{"id": wamid, "status": "failed",
            "timestamp": (now_ms() / 1000).to_string(), "recipient_id": "6281200000005",
            "errors": [{"code": 131047, "title": "Re-engagement message",
                "message": "Re-engagement message"}]}]}),
        );
        assert!(post_meta(&srv, meta_id, failed).await.is_success());
        // The delivery is not failed: it goes again, as the template.
        eventually("the message sent again as a template", || async {
            meta_sends(&meta).len() == 2 && whatsapp_row(db, event.id()).await.status == "sent"
        })
        .await;
        assert_eq!(meta_sends(&meta)[1]["type"], "template");
        let row = whatsapp_row(db, event.id()).await;
        assert_ne!(row.provider_message_id.as_deref(), Some(wamid.as_str()));
        assert!(
            !storage::window::is_open(db, domain::AccountId(meta_id), BUDI_PHONE, now_ms())
                .await
                .unwrap()
        );
        srv.stop().await;
    }
);
