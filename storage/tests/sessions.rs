//! Sign-in and sessions against both databases (`storage::sessions`).

use domain::Role;
use storage::db::testing::count;
use storage::seed;
use storage::sessions as session;
use storage::{on_db_write, store_test};

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
        on_db_write!(db, |pool| sqlx::query(
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
    // Used every few days, it still ends SESSION_MAX_MS after sign-in.
    let mut at = late;
    while at + session::SESSION_TTL_MS / 2 < t0 + session::SESSION_MAX_MS {
        at += session::SESSION_TTL_MS * 3 / 4;
        if at >= t0 + session::SESSION_MAX_MS {
            break;
        }
        assert!(
            session::resolve(db, &token, at).await.unwrap().is_some(),
            "used at {}",
            at - t0
        );
    }
    assert!(
        session::resolve(db, &token, t0 + session::SESSION_MAX_MS)
            .await
            .unwrap()
            .is_none(),
        "past its maximum"
    );
    session::delete_session(db, &info.token_hash).await.unwrap();
    assert!(session::resolve(db, &token, t0 + 2000)
        .await
        .unwrap()
        .is_none());
    // Only a hash of the token is stored.
    let stored = count(db, "SELECT COUNT(*) FROM sessions").await;
    assert_eq!(stored, 0);

    // The hourly purge forgets ended sessions, and only those.
    let idle = session::create_session(db, id, t0).await.unwrap();
    // (A sign-in purges too: this one comes while the first still holds.)
    let later = t0 + session::SESSION_TTL_MS - 1;
    let live = session::create_session(db, id, later).await.unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 2);
    assert_eq!(session::purge_expired(db, later + 1).await.unwrap(), 1);
    assert!(session::resolve(db, &live, later + 2)
        .await
        .unwrap()
        .is_some());
    assert!(session::resolve(db, &idle, later + 2)
        .await
        .unwrap()
        .is_none());
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 1);
});

store_test!(a_synced_person_without_a_password_cannot_sign_in, |db| {
    seed::ensure_reference_data(db).await.unwrap();
    let rudi = storage::users::SyncedUser {
        name: "Rudi".into(),
        email: "rudi@example.id".into(),
        phone: None,
        phone_verified: false,
        role: Role::Technician,
        work_zone: None,
        locale: domain::Locale::Id,
        time_zone: "Asia/Jakarta".into(),
        active: true,
    };
    storage::users::upsert(db, "TK-1", &rudi, 1).await.unwrap();
    for guess in ["", "!synced", "synced"] {
        assert_eq!(
            session::verify_credentials(db, "rudi@example.id", guess)
                .await
                .unwrap(),
            None,
            "{guess:?}"
        );
    }
});
