//! People synced by the ticketing system's ids, on both databases: the
//! upsert tells new, changed and repeated; deactivation fails what was
//! still queued for the person and ends their sessions.

use domain::{Channel, Locale, Role};
use storage::outbox::{insert_event, NewDelivery, NewEvent};
use storage::users::{deactivate, ids_by_external, upsert, SyncedUser, UpsertError, Upserted};
use storage::{on_db, store_test, Db};

fn rudi() -> SyncedUser {
    SyncedUser {
        name: "Rudi Teknisi".into(),
        email: "rudi@example.id".into(),
        phone: Some(domain::PhoneE164::parse("0812-7777-0001").unwrap()),
        phone_verified: false,
        role: Role::Technician,
        work_zone: None,
        locale: Locale::Id,
        time_zone: "Asia/Jakarta".into(),
        active: true,
    }
}

async fn status(db: &Db, delivery: i64) -> (String, Option<String>) {
    on_db!(db, |pool| sqlx::query_as(
        "SELECT status, error FROM deliveries WHERE id = $1"
    )
    .bind(delivery)
    .fetch_one(pool)
    .await
    .unwrap())
}

store_test!(
    a_synced_person_is_upserted_once_and_deactivated_whole,
    |db| {
        let id = match upsert(db, "TK-1", &rudi(), 1).await.unwrap() {
            Upserted::Created(id) => id,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            upsert(db, "TK-1", &rudi(), 2).await.unwrap(),
            Upserted::Unchanged(id)
        );
        let renamed = SyncedUser {
            name: "Rudi S.".into(),
            ..rudi()
        };
        assert_eq!(
            upsert(db, "TK-1", &renamed, 3).await.unwrap(),
            Upserted::Updated(id)
        );
        // Another id with Rudi's email: refused; an unknown zone too.
        assert_eq!(
            upsert(db, "TK-2", &rudi(), 4).await,
            Err(UpsertError::EmailTaken)
        );
        let elsewhere = SyncedUser {
            email: "lain@example.id".into(),
            work_zone: Some("atlantis".into()),
            ..rudi()
        };
        assert_eq!(
            upsert(db, "TK-2", &elsewhere, 4).await,
            Err(UpsertError::UnknownZone)
        );
        let found = ids_by_external(db, &["TK-1".into(), "TK-2".into()])
            .await
            .unwrap();
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            [("TK-1".to_owned(), id)]
        );

        // A message still queued for Rudi, and one sent: deactivation fails the
        // first with its reason and leaves the second as it was.
        let mut queued = NewDelivery::test_send(
            Channel::Whatsapp,
            "+6281277770001".into(),
            None,
            "Tiket TK-9".into(),
            5,
        );
        queued.user_id = Some(id);
        let event = insert_event(
            db,
            &NewEvent::test_send(serde_json::json!({})),
            &[queued],
            &[],
            5,
        )
        .await
        .unwrap()
        .id();
        let delivery: i64 = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM deliveries WHERE event_id = $1"
        )
        .bind(event)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(deactivate(db, "TK-1", 6).await.unwrap(), Some(id));
        assert_eq!(
            status(db, delivery).await,
            ("failed".into(), Some("recipient deactivated".into()))
        );
        let active: bool = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT active FROM users WHERE id = $1"
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap());
        assert!(!active);
        assert_eq!(deactivate(db, "TK-404", 7).await.unwrap(), None);
        // Back by a sync that says active.
        assert_eq!(
            upsert(db, "TK-1", &renamed, 8).await.unwrap(),
            Upserted::Updated(id)
        );
    }
);
