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
    storage::users::upsert(db, &storage::audit::Actor::cli(), "TK-1", &rudi, 1)
        .await
        .unwrap();
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

async fn sari(db: &storage::Db, password: &str) -> domain::UserId {
    seed::ensure_reference_data(db).await.unwrap();
    seed::insert_user(
        db,
        "Sari",
        "sari@demo.id",
        &password_auth::generate_hash(password),
        Role::Supervisor,
        None,
        None,
        false,
    )
    .await
    .unwrap()
}

store_test!(a_person_lists_and_ends_their_own_sessions, |db| {
    let id = sari(db, "rahasia-123").await;
    let t0 = 1_800_000_000_000;
    let phone = session::open_session(db, id, "Chrome di Android", t0)
        .await
        .unwrap();
    let laptop = session::open_session(db, id, "Firefox di Windows", t0 + 1_000)
        .await
        .unwrap();
    let here = session::hash_token(&laptop);
    let listed = session::list_for(db, id, &here, t0 + 2_000).await.unwrap();
    let seen: Vec<(&str, bool)> = listed
        .iter()
        .map(|s| (s.device.as_str(), s.current))
        .collect();
    assert_eq!(
        seen,
        [("Firefox di Windows", true), ("Chrome di Android", false)],
        "this browser first"
    );
    assert!(listed.iter().all(|s| s.handle.len() == 16));
    assert!(!listed
        .iter()
        .any(|s| here.starts_with(&s.handle) && !s.current));

    // Someone else cannot end it by its handle, nor can a made-up handle.
    let other = seed::insert_user(
        db,
        "Joko",
        "joko@demo.id",
        "x",
        Role::Technician,
        None,
        None,
        false,
    )
    .await
    .unwrap();
    let phone_handle = listed[1].handle.clone();
    assert!(!session::end_session(db, other, &phone_handle)
        .await
        .unwrap());
    assert!(!session::end_session(db, id, "%").await.unwrap());
    assert!(session::resolve(db, &phone, t0 + 3_000)
        .await
        .unwrap()
        .is_some());

    assert!(session::end_session(db, id, &phone_handle).await.unwrap());
    assert!(session::resolve(db, &phone, t0 + 3_000)
        .await
        .unwrap()
        .is_none());
    assert!(session::resolve(db, &laptop, t0 + 3_000)
        .await
        .unwrap()
        .is_some());

    // Signing out everywhere else keeps this browser.
    let tablet = session::open_session(db, id, "Safari di iPad", t0 + 4_000)
        .await
        .unwrap();
    assert_eq!(session::end_other_sessions(db, id, &here).await.unwrap(), 1);
    assert!(session::resolve(db, &tablet, t0 + 5_000)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        session::list_for(db, id, &here, t0 + 5_000)
            .await
            .unwrap()
            .len(),
        1
    );
});

store_test!(last_seen_moves_in_steps_not_on_every_request, |db| {
    let id = sari(db, "rahasia-123").await;
    let t0 = 1_800_000_000_000;
    let token = session::open_session(db, id, "Chrome di Linux", t0)
        .await
        .unwrap();
    let here = session::hash_token(&token);
    let last_seen = |at| {
        let here = here.clone();
        async move { session::list_for(db, id, &here, at).await.unwrap()[0].last_seen_at }
    };
    session::resolve(db, &token, t0 + 60_000).await.unwrap();
    assert_eq!(
        last_seen(t0 + 60_000).await,
        t0,
        "a minute later: not written"
    );
    let later = t0 + session::LAST_SEEN_STEP_MS + 1;
    session::resolve(db, &token, later).await.unwrap();
    assert_eq!(last_seen(later).await, later);
});

store_test!(a_new_password_ends_every_other_session, |db| {
    let id = sari(db, "rahasia-123").await;
    let t0 = 1_800_000_000_000;
    let here = session::open_session(db, id, "Chrome di Android", t0)
        .await
        .unwrap();
    let elsewhere = session::open_session(db, id, "Firefox di Windows", t0)
        .await
        .unwrap();
    assert!(session::password_matches(db, id, "rahasia-123")
        .await
        .unwrap());
    assert!(!session::password_matches(db, id, "salah-12345")
        .await
        .unwrap());

    session::set_password(db, id, "baru-rahasia-1", &session::hash_token(&here), t0)
        .await
        .unwrap();
    assert!(session::resolve(db, &here, t0 + 1).await.unwrap().is_some());
    assert!(session::resolve(db, &elsewhere, t0 + 1)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        session::verify_credentials(db, "sari@demo.id", "rahasia-123")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        session::verify_credentials(db, "sari@demo.id", "baru-rahasia-1")
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 1);
});
