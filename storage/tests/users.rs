//! People synced by the ticketing system's ids, on both databases: the
//! upsert tells new, changed and repeated; deactivation fails what was
//! still queued for the person and ends their sessions.

use domain::{Channel, Locale, Role};
use storage::audit::{self, Actor};
use storage::outbox::{insert_event, NewDelivery, NewEvent};
use storage::users::{deactivate, ids_by_external, upsert, SyncedUser, UpsertError, Upserted};
use storage::{on_db, store_test, Db};

/// The ticketing system's key, as the trail names it.
fn api() -> Actor {
    Actor::api_key("Tiket", "nk_AbCdEfG")
}

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
        let id = match upsert(db, &api(), "TK-1", &rudi(), 1).await.unwrap() {
            Upserted::Created(id) => id,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            upsert(db, &api(), "TK-1", &rudi(), 2).await.unwrap(),
            Upserted::Unchanged(id)
        );
        let renamed = SyncedUser {
            name: "Rudi S.".into(),
            ..rudi()
        };
        assert_eq!(
            upsert(db, &api(), "TK-1", &renamed, 3).await.unwrap(),
            Upserted::Updated(id)
        );
        // Another id with Rudi's email: refused; an unknown zone too.
        assert_eq!(
            upsert(db, &api(), "TK-2", &rudi(), 4).await,
            Err(UpsertError::EmailTaken)
        );
        let elsewhere = SyncedUser {
            email: "lain@example.id".into(),
            work_zone: Some("atlantis".into()),
            ..rudi()
        };
        assert_eq!(
            upsert(db, &api(), "TK-2", &elsewhere, 4).await,
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
        assert_eq!(deactivate(db, &api(), "TK-1", 6).await.unwrap(), Some(id));
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
        assert_eq!(deactivate(db, &api(), "TK-404", 7).await.unwrap(), None);
        // Back by a sync that says active.
        assert_eq!(
            upsert(db, &api(), "TK-1", &renamed, 8).await.unwrap(),
            Upserted::Updated(id)
        );

        // Each change is in the trail under the key's name, the repeat and
        // the refusals are not.
        let trail = audit::list(db, &Default::default()).await.unwrap();
        let seen: Vec<(&str, &str)> = trail
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect();
        let by = "API: Tiket (nk_AbCdEfG…)";
        assert_eq!(
            seen,
            [
                ("user.update", by),
                ("user.deactivate", by),
                ("user.update", by),
                ("user.create", by)
            ]
        );
        let field = |json: &Option<String>, key: &str| {
            serde_json::from_str::<serde_json::Value>(json.as_deref().unwrap()).unwrap()[key]
                .clone()
        };
        assert_eq!(field(&trail[2].before, "name"), "Rudi Teknisi");
        assert_eq!(field(&trail[2].after, "name"), "Rudi S.");
        assert_eq!(field(&trail[0].before, "active"), false);
        assert_eq!(field(&trail[0].after, "active"), true);
        assert_eq!(trail[3].subject, format!("#{id} rudi@example.id"));
    }
);

store_test!(
    an_inactive_zone_takes_nobody_new_but_keeps_who_is_in_it,
    |db| {
        use domain::views::zones::ValidZone;
        storage::seed::ensure_reference_data(db).await.unwrap();
        let in_bekasi = SyncedUser {
            work_zone: Some("bekasi".into()),
            ..rudi()
        };
        let id = upsert(db, &api(), "TK-1", &in_bekasi, 1)
            .await
            .unwrap()
            .id();
        let bekasi = ValidZone {
            code: "bekasi".into(),
            name: "Bekasi".into(),
            active: false,
        };
        storage::zones::update(db, &Actor::cli(), &bekasi, 2)
            .await
            .unwrap();
        // Rudi stays in Bekasi through a sync that changes something else.
        let renamed = SyncedUser {
            name: "Rudi S.".into(),
            ..in_bekasi.clone()
        };
        assert_eq!(
            upsert(db, &api(), "TK-1", &renamed, 3).await.unwrap(),
            Upserted::Updated(id)
        );
        // Nobody new goes there, by the sync or by the page.
        let sari = SyncedUser {
            name: "Sari".into(),
            email: "sari@example.id".into(),
            ..in_bekasi.clone()
        };
        assert_eq!(
            upsert(db, &api(), "TK-2", &sari, 4).await,
            Err(UpsertError::UnknownZone)
        );
        let page_person = domain::views::users::ValidUser {
            id: None,
            name: "Ani".into(),
            email: "ani@example.id".into(),
            phone: None,
            role: Role::Technician,
            work_zone: Some("bekasi".into()),
            locale: Locale::Id,
            time_zone: "Asia/Jakarta".into(),
            active: true,
        };
        match storage::users::create(db, &Actor::cli(), &page_person, 5).await {
            Err(storage::Error::Invalid(e)) => assert_eq!(e[0].field, "work_zone"),
            other => panic!("{other:?}"),
        }
        // The import's plan says the same, row by row.
        let rudi_row = domain::views::users::ValidUser {
            name: "Rudi S.".into(),
            email: "rudi@example.id".into(),
            ..page_person.clone()
        };
        let plan = storage::users::import_plan(db, &[&rudi_row, &page_person])
            .await
            .unwrap();
        assert_eq!(
            plan.iter()
                .map(|p| (p.existing, p.zone_refused))
                .collect::<Vec<_>>(),
            [(Some(id), false), (None, true)]
        );
    }
);
