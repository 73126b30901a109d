//! Store tests: the same assertions against SQLite and PostgreSQL.

use app::auth::session;
use app::db::{seed, Db};
use app::error::AppError;
use app::{on_db, store_test};
use domain::Role;

async fn count(db: &Db, sql: &'static str) -> i64 {
    on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap())
}

async fn demo(db: &Db) {
    seed::ensure_reference_data(db).await.unwrap();
    assert!(seed::ensure_demo_data(db).await.unwrap());
}

store_test!(
    reference_data_is_seeded_once_and_never_overwrites_edits,
    |db| {
        seed::ensure_reference_data(db).await.unwrap();
        let templates = count(db, "SELECT COUNT(*) FROM message_templates").await;
        assert_eq!(templates, domain::defaults::TEMPLATES.len() as i64);
        assert_eq!(count(db, "SELECT COUNT(*) FROM work_zones").await, 3);

        on_db!(db, |pool| {
            sqlx::query(
        "UPDATE message_templates SET body = 'diubah {ticket_id}' WHERE key = 'ticket_assigned' AND locale = 'id'"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap()
        });
        seed::ensure_reference_data(db).await.unwrap();
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM message_templates").await,
            templates
        );
        let body: String = on_db!(db, |pool| {
            sqlx::query_scalar(
        "SELECT body FROM message_templates WHERE key = 'ticket_assigned' AND channel = 'whatsapp' AND locale = 'id'"
    )
    .fetch_one(pool)
    .await
    .unwrap()
        });
        assert_eq!(body, "diubah {ticket_id}");
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM provider_accounts WHERE kind = 'sandbox'"
            )
            .await,
            1
        );
    }
);

store_test!(
    demo_data_has_the_seven_groups_with_zone_members_and_rules,
    |db| {
        demo(db).await;
        let groups = app::groups::store::list(db).await.unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Customer Service",
                "Management",
                "NOC Team",
                "Supervisor Team",
                "Teknisi Bekasi",
                "Teknisi Cikampek",
                "Teknisi Karawang"
            ]
        );
        let karawang = groups
            .iter()
            .find(|g| g.name == "Teknisi Karawang")
            .unwrap();
        assert_eq!(karawang.work_zone.as_deref(), Some("karawang"));
        assert_eq!(karawang.member_count, 2, "the two Karawang technicians");
        assert_eq!(karawang.rule_count, 1);
        let supervisors = groups.iter().find(|g| g.name == "Supervisor Team").unwrap();
        assert_eq!(supervisors.work_zone, None, "all zones");
        assert_eq!(supervisors.member_count, 2);

        // A second start does not duplicate anything.
        assert!(!seed::ensure_demo_data(db).await.unwrap());
        assert_eq!(count(db, "SELECT COUNT(*) FROM whatsapp_groups").await, 7);
        assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 10);
        let roles = count(db, "SELECT COUNT(DISTINCT role) FROM users").await;
        assert_eq!(roles, Role::ALL.len() as i64, "a user of every role");
    }
);

store_test!(new_users_get_default_settings, |db| {
    seed::ensure_reference_data(db).await.unwrap();
    let id = seed::insert_user(
        db,
        "Budi",
        "Budi@Example.ID",
        "x",
        Role::Technician,
        Some("bekasi"),
        Some("+6281234567890"),
        false,
    )
    .await
    .unwrap();
    let s = app::settings::store::load(db, id).await.unwrap();
    assert!(s.whatsapp_enabled && s.email_enabled && !s.push_enabled);
    assert!(!s.quiet_hours_enabled);
    assert_eq!(
        (s.quiet_start_minute, s.quiet_end_minute),
        (22 * 60, 6 * 60)
    );
    assert_eq!(s.quiet_time_zone, "Asia/Jakarta");
    assert!(s.critical_bypass_quiet && s.receive_group_notifications);
    assert!(!s.phone_verified);
    let email: String = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT email FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(email, "budi@example.id", "emails are stored lower-case");
});

store_test!(invalid_rows_are_refused_and_nothing_is_half_written, |db| {
    seed::ensure_reference_data(db).await.unwrap();
    // An unknown role violates the CHECK; the settings row of the same
    // transaction must not survive either.
    let bad = on_db!(db, |pool| sqlx::query(
        "INSERT INTO users (name, email, password_hash, role, created_at, updated_at)
         VALUES ('x', 'x@y.z', 'h', 'superuser', 0, 0)"
    )
    .execute(pool)
    .await
    .map(|_| ()));
    assert!(bad.is_err());
    seed::insert_user(db, "A", "a@b.c", "h", Role::Noc, None, None, false)
        .await
        .unwrap();
    let dup = seed::insert_user(db, "A2", "A@B.C", "h", Role::Noc, None, None, false).await;
    assert!(
        matches!(dup, Err(AppError::Internal(_))),
        "duplicate email refused: {dup:?}"
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM notification_settings").await,
        1
    );
});

store_test!(
    passwords_are_verified_and_inactive_users_cannot_sign_in,
    |db| {
        seed::ensure_reference_data(db).await.unwrap();
        let hash = password_auth::generate_hash("rahasia-123");
        let id = seed::insert_user(
            db,
            "Sari",
            "sari@demo.id",
            &hash,
            Role::Supervisor,
            None,
            None,
            false,
        )
        .await
        .unwrap();
        assert_eq!(
            session::verify_credentials(db, "sari@demo.id", "rahasia-123")
                .await
                .unwrap(),
            Some(id)
        );
        assert_eq!(
            session::verify_credentials(db, " SARI@demo.id ", "rahasia-123")
                .await
                .unwrap(),
            Some(id)
        );
        assert_eq!(
            session::verify_credentials(db, "sari@demo.id", "salah")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            session::verify_credentials(db, "nobody@demo.id", "rahasia-123")
                .await
                .unwrap(),
            None
        );
        on_db!(db, |pool| sqlx::query(
            "UPDATE users SET active = FALSE WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        assert_eq!(
            session::verify_credentials(db, "sari@demo.id", "rahasia-123")
                .await
                .unwrap(),
            None
        );
    }
);

store_test!(sessions_resolve_until_they_expire_or_are_deleted, |db| {
    seed::ensure_reference_data(db).await.unwrap();
    let id = seed::insert_user(
        db,
        "Nina",
        "nina@demo.id",
        "h",
        Role::Noc,
        None,
        None,
        false,
    )
    .await
    .unwrap();
    let t0 = 1_800_000_000_000;
    let token = session::create_session(db, id, t0).await.unwrap();
    let info = session::resolve(db, &token, t0 + 1000)
        .await
        .unwrap()
        .expect("valid session");
    assert_eq!(info.user.id, id);
    assert_eq!(info.user.role, Role::Noc);
    assert!(session::resolve(db, "not-a-token", t0)
        .await
        .unwrap()
        .is_none());
    // Past its expiry the session is gone.
    assert!(
        session::resolve(db, &token, t0 + session::SESSION_TTL_MS + 1)
            .await
            .unwrap()
            .is_none()
    );
    // Used in the second half of its life, it is extended.
    let late = t0 + session::SESSION_TTL_MS * 3 / 4;
    assert!(session::resolve(db, &token, late).await.unwrap().is_some());
    assert!(
        session::resolve(db, &token, t0 + session::SESSION_TTL_MS + 1)
            .await
            .unwrap()
            .is_some()
    );
    session::delete_session(db, &info.token_hash).await.unwrap();
    assert!(session::resolve(db, &token, t0 + 2000)
        .await
        .unwrap()
        .is_none());
    // Only a hash of the token is stored.
    let stored = count(db, "SELECT COUNT(*) FROM sessions").await;
    assert_eq!(stored, 0);
});

store_test!(templates_with_unknown_variables_are_refused_on_save, |db| {
    use app::templates::store::{list, save};
    seed::ensure_reference_data(db).await.unwrap();
    let before = list(db).await.unwrap();
    let err = save(
        db,
        "ticket_assigned",
        "whatsapp",
        "id",
        None,
        "*Tiket* {ticket_id} untuk {custmer_name}",
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.field("body").as_deref(),
        Some("unknown variable(s): custmer_name")
    );
    let err = save(db, "ticket_teleported", "pigeon", "fr", None, "{ticket_id")
        .await
        .unwrap_err();
    for field in ["key", "channel", "locale", "body"] {
        assert!(err.field(field).is_some(), "{field}: {err:?}");
    }
    assert_eq!(list(db).await.unwrap(), before, "nothing written");

    // A valid one replaces the template for its key, channel and locale.
    let id = save(
        db,
        "ticket_assigned",
        "whatsapp",
        "id",
        None,
        "*Tiket baru* {ticket_id} — {customer_name}",
    )
    .await
    .unwrap();
    let after = list(db).await.unwrap();
    assert_eq!(after.len(), before.len());
    let t = after.iter().find(|t| t.id == id).unwrap();
    assert_eq!(
        (t.key.as_str(), t.locale.as_str()),
        ("ticket_assigned", "id")
    );
    assert_eq!(t.body, "*Tiket baru* {ticket_id} — {customer_name}");
});
