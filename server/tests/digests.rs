//! Daily digests with a controllable clock: low-priority notifications of a
//! person who chose a digest wait (in-app still arrives at once), go out as
//! one WhatsApp message at their local time, exactly once however many
//! instances sweep, and the timer moves to the next day; on SQLite and
//! PostgreSQL.

mod support;

use serde_json::json;
use server::digests::run_due;
use storage::db::Db;
use storage::store_test;
use support::*;

const SETTINGS: &str = "http://localhost:3000/settings";

/// Switches budi's digest on at 17:00 through the settings store, as the
/// page does; returns his id and the digest's time.
async fn digest_at_five(db: &Db) -> (domain::UserId, i64) {
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let now = storage::now_ms();
    let mut form = storage::settings::load(db, budi, now)
        .await
        .unwrap()
        .to_form();
    form.digest_enabled = true;
    form.digest_time = "17:00".into();
    let valid = form.validate().unwrap();
    storage::settings::save(db, budi, &valid, now)
        .await
        .unwrap();
    let due: Option<i64> = storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT digest_next_at FROM notification_settings WHERE user_id = $1"
    )
    .bind(budi)
    .fetch_one(pool)
    .await
    .unwrap());
    (budi, due.expect("the digest is armed"))
}

fn assigned(user: domain::UserId, priority: &str, ticket: &str) -> serde_json::Value {
    json!({
        "type": "ticket_assigned", "priority": priority, "work_zone": "karawang",
        "recipients": {"user_ids": [user]},
        "data": {"ticket_id": ticket, "customer_name": "Ibu Sari", "customer_phone": "0812-3456-7890",
                 "address": "Jl. 1", "location": "ODP-1", "issue_type": "LOS", "sla_deadline": "16:00",
                 "ticket_url": "https://tiket.example/1"},
        "idempotency_key": format!("digest-{ticket}")
    })
}

async fn digest_events(db: &Db) -> Vec<i64> {
    storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM events WHERE notification_type = 'digest' ORDER BY id"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

store_test!(
    low_priority_waits_for_the_digest_which_goes_out_once_at_its_local_time,
    |db| {
        setup(db).await;
        let (budi, due) = digest_at_five(db).await;
        // 17:00 in Asia/Jakarta is 10:00 UTC.
        assert_eq!((due / 60_000) % (24 * 60), 10 * 60);

        let mut low = Vec::new();
        for ticket in ["TK-D1", "TK-D2"] {
            let storage::outbox::Inserted::Created(id) =
                ingest(db, assigned(budi, "low", ticket)).await.unwrap()
            else {
                panic!("duplicate")
            };
            low.push(id);
        }
        // In-app at once; WhatsApp waits for the digest.
        for id in &low {
            let channels: Vec<String> = deliveries(db, *id)
                .await
                .into_iter()
                .map(|r| r.channel)
                .collect();
            assert_eq!(channels, ["in_app"]);
        }
        // Medium priority is not held.
        let storage::outbox::Inserted::Created(medium) =
            ingest(db, assigned(budi, "medium", "TK-D3")).await.unwrap()
        else {
            panic!("duplicate")
        };
        assert!(deliveries(db, medium)
            .await
            .iter()
            .any(|r| r.channel == "whatsapp"));

        // Not before its time; at its time, from two instances at once, once.
        assert!(run_due(db, due - 1, SETTINGS).await.unwrap().is_empty());
        let stale = storage::digests::due(db, due).await.unwrap();
        assert_eq!(stale.len(), 1);
        let (a, b) = tokio::join!(run_due(db, due, SETTINGS), run_due(db, due, SETTINGS));
        let mut sent = a.unwrap();
        sent.extend(b.unwrap());
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(digest_events(db).await, sent);
        // An instance that read the timer before the digest went out sends nothing.
        assert_eq!(
            server::digests::send(db, &stale[0], due, SETTINGS)
                .await
                .unwrap(),
            None
        );
        let rows = deliveries(db, sent[0]).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let d = &rows[0];
        assert_eq!(
            (d.channel.as_str(), d.recipient.as_str(), d.user_id),
            ("whatsapp", "+6281200000005", Some(budi.0))
        );
        assert!(
            d.message.starts_with("🗂️ *Ringkasan notifikasi* (2)"),
            "{}",
            d.message
        );
        assert!(
            d.message.contains("*Tiket ditugaskan* — TK-D1 · Ibu Sari"),
            "{}",
            d.message
        );
        assert!(
            d.message.contains("TK-D2") && !d.message.contains("TK-D3"),
            "{}",
            d.message
        );

        // The timer moved to tomorrow; the lines are carried; nothing repeats.
        let next: Option<i64> = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT digest_next_at FROM notification_settings WHERE user_id = $1"
        )
        .bind(budi)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(next, Some(due + 24 * 3_600_000));
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM digest_items WHERE digest_event_id IS NULL"
            )
            .await,
            0
        );
        assert!(run_due(db, due + 1000, SETTINGS).await.unwrap().is_empty());
        // An empty day sends nothing but still moves on.
        assert!(run_due(db, due + 24 * 3_600_000, SETTINGS)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(digest_events(db).await.len(), 1);

        // Switched off: low priority goes out at once again.
        let now = storage::now_ms();
        let mut form = storage::settings::load(db, budi, now)
            .await
            .unwrap()
            .to_form();
        form.digest_enabled = false;
        storage::settings::save(db, budi, &form.validate().unwrap(), now)
            .await
            .unwrap();
        let kept: i64 = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT digest_minute FROM notification_settings WHERE user_id = $1"
        )
        .bind(budi)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(kept, 17 * 60, "the chosen time is kept for next time");
        let storage::outbox::Inserted::Created(after) =
            ingest(db, assigned(budi, "low", "TK-D4")).await.unwrap()
        else {
            panic!("duplicate")
        };
        assert!(deliveries(db, after)
            .await
            .iter()
            .any(|r| r.channel == "whatsapp"));
    }
);
