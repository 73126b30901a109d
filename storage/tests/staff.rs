//! The users page's stores on both databases (`storage::users` by this
//! product's ids, `storage::password_resets`): a person is created with no
//! password, edited (a changed number loses its verification), refused a
//! taken email or an unknown zone, deactivated whole; a set-password link
//! is queued to WhatsApp and email in one transaction, works once and ends
//! every session; API keys are listed without the key and revoked.

use domain::views::users::{redact_reset_links, UserForm, ValidUser, RESET_TTL_MS};
use domain::{Role, UserId};
use storage::audit::Actor;
use storage::db::testing::count;
use storage::password_resets as resets;
use storage::{on_db, on_db_write, seed, sessions, store_test, users, Db, Error};

fn rudi() -> ValidUser {
    UserForm {
        name: "Rudi Teknisi".into(),
        email: "Rudi@Example.id".into(),
        phone: "0812-7777-0001".into(),
        work_zone: "karawang".into(),
        ..UserForm::default()
    }
    .validate()
    .unwrap()
}

/// The token of the link in the newest email to `to`.
async fn emailed_token(db: &Db, to: &str) -> String {
    let message: String = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT message FROM deliveries WHERE channel = 'email' AND recipient = $1
         ORDER BY id DESC LIMIT 1"
    )
    .bind(to)
    .fetch_one(pool)
    .await
    .unwrap());
    let at = message.find("token=").expect("a link in the email") + "token=".len();
    message[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

store_test!(
    a_person_is_created_edited_refused_and_deactivated_from_the_page,
    |db| {
        seed::ensure_reference_data(db).await.unwrap();
        let id = users::create(db, &Actor::cli(), &rudi(), 1).await.unwrap();
        let row = users::get(db, id).await.unwrap();
        assert_eq!(row.email, "rudi@example.id");
        assert_eq!(row.phone.as_deref(), Some("+6281277770001"));
        assert_eq!(
            (row.role, row.has_password, row.active),
            (Role::Technician, false, true)
        );
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM notification_settings").await,
            1,
            "default settings come with the person"
        );

        // A second person with Rudi's email (any case) and an unknown zone:
        // both named, nothing written.
        let twin = ValidUser {
            work_zone: Some("atlantis".into()),
            ..rudi()
        };
        match users::create(db, &Actor::cli(), &twin, 2).await {
            Err(Error::Invalid(errors)) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["email", "work_zone"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 1);

        // Routing reads people at each step: a supervisor step of an alert
        // in Bekasi reaches Rudi once he is a supervisor there, at once.
        let alert = storage::alerts::DueAlert {
            id: 1,
            event_id: 1,
            policy_id: None,
            ack_key: String::new(),
            message: String::new(),
            next_step: 0,
            created_at: 0,
            notification_type: "outage".into(),
            priority: "critical".into(),
            work_zone: Some("bekasi".into()),
        };
        let supervisors = domain::escalation::StepTarget::Role {
            role: Role::Supervisor,
            zone: None,
        };
        let reached = |people: Vec<storage::alerts::StepPerson>| people.iter().any(|p| p.id == id);
        assert!(!reached(
            storage::alerts::step_people(db, &alert, &supervisors)
                .await
                .unwrap()
        ));

        // A verified number stays verified through an edit that keeps it,
        // and loses it when the number changes.
        on_db_write!(db, |pool| {
            sqlx::query("UPDATE users SET phone_verified_at = 5")
                .execute(pool)
                .await
                .unwrap();
        });
        let moved = ValidUser {
            id: Some(id),
            work_zone: Some("bekasi".into()),
            role: Role::Supervisor,
            ..rudi()
        };
        users::update(db, &Actor::cli(), id, &moved, 6)
            .await
            .unwrap();
        assert!(reached(
            storage::alerts::step_people(db, &alert, &supervisors)
                .await
                .unwrap()
        ));
        let row = users::get(db, id).await.unwrap();
        assert_eq!(
            (row.work_zone.as_deref(), row.role, row.phone_verified),
            (Some("bekasi"), Role::Supervisor, true)
        );
        let new_number = ValidUser {
            phone: Some(domain::PhoneE164::parse("0813-1111-2222").unwrap()),
            ..moved.clone()
        };
        users::update(db, &Actor::cli(), id, &new_number, 7)
            .await
            .unwrap();
        assert!(!users::get(db, id).await.unwrap().phone_verified);
        assert!(matches!(
            users::update(db, &Actor::cli(), UserId(9_999), &new_number, 8).await,
            Err(Error::NotFound(_))
        ));

        // Deactivated: sessions end; reactivated: back, without them.
        sessions::create_session(db, id, 9).await.unwrap();
        users::set_active(db, &Actor::cli(), id, false, 10)
            .await
            .unwrap();
        assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 0);
        assert!(!users::get(db, id).await.unwrap().active);
        users::set_active(db, &Actor::cli(), id, true, 11)
            .await
            .unwrap();
        assert!(users::get(db, id).await.unwrap().active);
        assert_eq!(
            users::id_by_email(db, " RUDI@example.id").await.unwrap(),
            Some(id)
        );
        assert_eq!(users::list(db).await.unwrap().len(), 1);

        // The trail: each change with the person before and after (the
        // number's verification lost shows), never a password.
        let trail = storage::audit::list(
            db,
            &domain::views::audit::AuditFilter {
                area: "user".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "user.activate",
                "user.deactivate",
                "user.update",
                "user.update",
                "user.create"
            ]
        );
        let json = |s: &Option<String>| {
            serde_json::from_str::<serde_json::Value>(s.as_deref().unwrap()).unwrap()
        };
        let renumbered = &trail[2];
        assert_eq!(renumbered.subject, format!("#{id} rudi@example.id"));
        assert_eq!(json(&renumbered.before)["phone_verified"], true);
        assert_eq!(json(&renumbered.after)["phone"], "+6281311112222");
        assert_eq!(json(&renumbered.after)["phone_verified"], false);
        assert_eq!(json(&trail[3].after)["work_zone"], "bekasi");
        assert!(trail[4].before.is_none());
        assert!(!format!("{trail:?}").contains("password"));
    }
);

store_test!(
    a_set_password_link_is_queued_works_once_and_ends_every_session,
    |db| {
        seed::ensure_reference_data(db).await.unwrap();
        let id = users::create(db, &Actor::cli(), &rudi(), 1).await.unwrap();
        // Nobody can sign in before the link is used.
        assert_eq!(
            sessions::verify_credentials(db, "rudi@example.id", "!synced")
                .await
                .unwrap(),
            None
        );
        let issued = resets::issue(db, id, None, "https://notif.example/", 2)
            .await
            .unwrap();
        assert!(issued
            .link
            .starts_with("https://notif.example/set-password?token="));
        assert_eq!(issued.sent.email, "rudi@example.id");
        assert_eq!(issued.sent.whatsapp.as_deref(), Some("+62 812-****-0001"));
        // One event, a WhatsApp and an email delivery, queued; the link is in
        // the messages only, and only its hash is stored.
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM events WHERE notification_type = 'password_reset' AND data = '{}'").await,
            1
        );
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM deliveries WHERE notification_type = 'password_reset' AND status = 'queued'").await,
            2
        );
        let token = emailed_token(db, "rudi@example.id").await;
        assert!(issued.link.ends_with(&token));
        let whatsapp: String = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT message FROM deliveries WHERE channel = 'whatsapp'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert!(
            whatsapp.contains("Halo Rudi Teknisi") && whatsapp.contains(&issued.link),
            "{whatsapp}"
        );
        assert!(!redact_reset_links(&whatsapp).contains(&token));
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM password_resets WHERE token_hash LIKE '%-%'"
            )
            .await,
            0
        );

        let (name, _) = resets::lookup(db, &token, 3).await.unwrap().unwrap();
        assert_eq!(name, "Rudi Teknisi");
        // A session from before (say, a stolen one) ends with the new password.
        sessions::create_session(db, id, 3).await.unwrap();
        assert_eq!(
            resets::consume(db, &token, "kata-sandi-baru", 4)
                .await
                .unwrap(),
            id
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 0);
        assert_eq!(
            sessions::verify_credentials(db, "rudi@example.id", "kata-sandi-baru")
                .await
                .unwrap(),
            Some(id)
        );
        // Once only; and an expired link or an unknown token does nothing.
        assert!(matches!(
            resets::consume(db, &token, "lagi-kata-sandi", 5).await,
            Err(Error::Conflict(_))
        ));
        resets::issue(db, id, None, "http://h", 10).await.unwrap();
        let late = emailed_token(db, "rudi@example.id").await;
        assert!(resets::lookup(db, &late, 10 + RESET_TTL_MS)
            .await
            .unwrap()
            .is_none());
        assert!(matches!(
            resets::consume(db, &late, "terlambat-sekali", 10 + RESET_TTL_MS).await,
            Err(Error::Conflict(_))
        ));
        assert!(resets::lookup(db, "tebakan", 11).await.unwrap().is_none());
        assert_eq!(
            sessions::verify_credentials(db, "rudi@example.id", "kata-sandi-baru")
                .await
                .unwrap(),
            Some(id)
        );
        assert_eq!(
            resets::purge_expired(db, 10 + RESET_TTL_MS).await.unwrap(),
            2
        );

        // At most five links an hour per person.
        for at in 100..105 {
            resets::issue(db, id, None, "http://h", at).await.unwrap();
        }
        match resets::issue(db, id, None, "http://h", 106).await {
            Err(Error::Conflict(clash)) => assert!(
                clash
                    .message(domain::Locale::Id)
                    .contains("dalam satu jam terakhir"),
                "{clash:?}"
            ),
            other => panic!("{:?}", other.map(|i| i.sent)),
        }
        resets::issue(db, id, None, "http://h", 106 + 3_600_000)
            .await
            .unwrap();

        // An inactive person gets no link.
        users::set_active(db, &Actor::cli(), id, false, 20)
            .await
            .unwrap();
        assert!(matches!(
            resets::issue(db, id, None, "http://h", 21).await,
            Err(Error::Conflict(_))
        ));
    }
);

store_test!(
    api_keys_are_listed_without_the_key_and_revoked_for_good,
    |db| {
        use storage::api_keys;
        seed::ensure_reference_data(db).await.unwrap();
        let admin = users::create(
            db,
            &Actor::cli(),
            &ValidUser {
                role: Role::Admin,
                ..rudi()
            },
            1,
        )
        .await
        .unwrap();
        let (old, _) = api_keys::create(db, &Actor::cli(), "Sistem lama")
            .await
            .unwrap();
        let (id, key) = api_keys::create(db, &admin_actor(admin), "Sistem tiket")
            .await
            .unwrap();
        api_keys::touch(db, id).await.unwrap();
        api_keys::revoke(db, &Actor::cli(), old, 5).await.unwrap();
        let listed = api_keys::list(db).await.unwrap();
        // The live key first; its creator named; only the key's start kept.
        assert_eq!(
            listed
                .iter()
                .map(|k| (k.id, k.revoked_at))
                .collect::<Vec<_>>(),
            [(id, None), (old, Some(5))]
        );
        assert_eq!(listed[0].created_by.as_deref(), Some("Rudi Teknisi"));
        assert!(listed[0].last_used_at.is_some() && listed[1].last_used_at.is_none());
        assert_eq!(listed[0].prefix, key[..10]);
        assert!(listed.iter().all(|k| !format!("{k:?}").contains(&key)));
        // Revoked: the lookup refuses it; revoking again keeps the first time.
        api_keys::revoke(db, &Actor::cli(), id, 7).await.unwrap();
        api_keys::revoke(db, &Actor::cli(), id, 9).await.unwrap();
        assert_eq!(
            api_keys::find(db, &api_keys::hash(&key)).await.unwrap(),
            None
        );
        assert_eq!(api_keys::list(db).await.unwrap()[0].revoked_at, Some(7));
        assert!(matches!(
            api_keys::revoke(db, &Actor::cli(), 9_999, 10).await,
            Err(Error::NotFound(_))
        ));
        // The trail: who made and revoked which key (a second revoke adds
        // nothing), newest first, and never the key itself.
        let trail = storage::audit::list(
            db,
            &domain::views::audit::AuditFilter {
                area: "api_key".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let seen: Vec<(&str, &str, Option<domain::UserId>)> = trail
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str(), e.actor_id))
            .collect();
        assert_eq!(
            seen,
            [
                ("api_key.revoke", "CLI", None),
                ("api_key.revoke", "CLI", None),
                (
                    "api_key.create",
                    "Rudi Teknisi <rudi@example.id>",
                    Some(admin)
                ),
                ("api_key.create", "CLI", None),
            ]
        );
        assert!(
            trail[0].subject.starts_with("Sistem tiket ("),
            "{:?}",
            trail[0]
        );
        assert!(trail[0]
            .after
            .as_deref()
            .unwrap()
            .contains("\"revoked\":true"));
        assert!(!format!("{trail:?}").contains(&key));
    }
);

fn admin_actor(id: domain::UserId) -> Actor {
    Actor::person(id, "Rudi Teknisi", "rudi@example.id")
}

store_test!(
    zones_are_added_renamed_switched_off_and_deleted_only_when_unused,
    |db| {
        use domain::views::zones::ValidZone;
        use storage::zones;
        seed::ensure_reference_data(db).await.unwrap();
        let zone = |code: &str, name: &str, active| ValidZone {
            code: code.into(),
            name: name.into(),
            active,
        };
        zones::create(
            db,
            &Actor::cli(),
            &zone("purwakarta", "Purwakarta", true),
            1,
        )
        .await
        .unwrap();
        assert!(matches!(
            zones::create(db, &Actor::cli(), &zone("purwakarta", "Lagi", true), 2).await,
            Err(Error::Invalid(e)) if e[0].field == "code"
        ));
        zones::update(
            db,
            &Actor::cli(),
            &zone("purwakarta", "Purwakarta Raya", false),
            3,
        )
        .await
        .unwrap();
        let listed = zones::list(db).await.unwrap();
        let p = listed.iter().find(|z| z.code == "purwakarta").unwrap();
        assert_eq!(
            (p.name.as_str(), p.active, p.in_use()),
            ("Purwakarta Raya", false, false)
        );
        // Offered for nothing new once inactive.
        assert!(!zones::choices(db)
            .await
            .unwrap()
            .iter()
            .any(|(c, _)| c == "purwakarta"));
        assert!(zones::choices(db)
            .await
            .unwrap()
            .iter()
            .any(|(c, _)| c == "karawang"));

        // A zone someone has is refused deletion, naming what uses it.
        users::create(db, &Actor::cli(), &rudi(), 4).await.unwrap();
        match zones::delete(db, &Actor::cli(), "karawang", 4).await {
            Err(Error::Conflict(clash)) => assert_eq!(
                clash.message(domain::Locale::Id),
                "Zona ini dipakai oleh 1 orang: nonaktifkan saja, jangan dihapus."
            ),
            other => panic!("{other:?}"),
        }
        zones::delete(db, &Actor::cli(), "purwakarta", 4)
            .await
            .unwrap();
        assert!(!zones::list(db)
            .await
            .unwrap()
            .iter()
            .any(|z| z.code == "purwakarta"));
        assert!(matches!(
            zones::delete(db, &Actor::cli(), "purwakarta", 4).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            zones::update(db, &Actor::cli(), &zone("atlantis", "X", true), 5).await,
            Err(Error::NotFound(_))
        ));
        // The trail holds the three changes that happened, with the record
        // before and after; the refused ones left nothing.
        let trail = storage::audit::list(
            db,
            &domain::views::audit::AuditFilter {
                area: "zone".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let json =
            |s: Option<&String>| s.map(|s| serde_json::from_str::<serde_json::Value>(s).unwrap());
        let seen: Vec<_> = trail
            .iter()
            .map(|e| {
                (
                    e.action.as_str(),
                    e.subject.as_str(),
                    json(e.before.as_ref()),
                    json(e.after.as_ref()),
                )
            })
            .collect();
        let (first, renamed) = (
            serde_json::json!({"code": "purwakarta", "name": "Purwakarta", "active": true}),
            serde_json::json!({"code": "purwakarta", "name": "Purwakarta Raya", "active": false}),
        );
        assert_eq!(
            seen,
            [
                ("zone.delete", "purwakarta", Some(renamed.clone()), None),
                (
                    "zone.update",
                    "purwakarta",
                    Some(first.clone()),
                    Some(renamed)
                ),
                ("zone.create", "purwakarta", None, Some(first)),
            ]
        );
        assert!(trail.iter().all(|e| e.at > 0 && e.actor == "CLI"));
    }
);

store_test!(
    an_import_saves_every_row_or_none_and_updates_people_by_email,
    |db| {
        seed::ensure_reference_data(db).await.unwrap();
        let rudi_id = users::create(db, &Actor::cli(), &rudi(), 1).await.unwrap();
        let person = |name: &str, email: &str, zone: Option<&str>| ValidUser {
            name: name.into(),
            email: email.into(),
            phone: None,
            work_zone: zone.map(str::to_owned),
            ..rudi()
        };
        let rows = [
            person("Rudi Baru", "rudi@example.id", Some("bekasi")),
            person("Sari", "sari@example.id", None),
        ];
        // The plan: Rudi exists, Sari is new; no zone is wrong.
        let refs: Vec<&ValidUser> = rows.iter().collect();
        let plan = users::import_plan(db, &refs).await.unwrap();
        assert_eq!(
            plan.iter()
                .map(|p| (p.existing, p.zone_refused))
                .collect::<Vec<_>>(),
            [(Some(rudi_id), false), (None, false)]
        );

        // A zone that is gone by the time of saving refuses everything.
        let late = [
            person("Ani", "ani@example.id", None),
            person("Budi", "budi@example.id", Some("atlantis")),
        ];
        assert!(matches!(
            users::import(db, &Actor::cli(), &late, 2).await,
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            users::id_by_email(db, "ani@example.id").await.unwrap(),
            None
        );

        let done = users::import(db, &Actor::cli(), &rows, 3).await.unwrap();
        assert_eq!(done[0], (rudi_id, false));
        assert!(done[1].1);
        let rudi = users::get(db, rudi_id).await.unwrap();
        assert_eq!(
            (rudi.name.as_str(), rudi.work_zone.as_deref(), rudi.phone),
            ("Rudi Baru", Some("bekasi"), None)
        );
        let sari = users::get(db, done[1].0).await.unwrap();
        assert!(!sari.has_password && sari.active);
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM notification_settings").await,
            2
        );
    }
);
