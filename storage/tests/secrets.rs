//! Secrets at rest on both databases: what an older version wrote in plain
//! text is sealed at start, a rotation re-seals under the new key, and a
//! key the database does not know changes nothing and says which it needs.

use storage::secrets::{reseal, server_key_label, Keyring, ResealError, SecretError};
use storage::{on_db, on_db_write, store_test, Db};

async fn stored(db: &Db) -> (String, String) {
    on_db!(db, |pool| {
        let credentials: String =
            sqlx::query_scalar("SELECT credentials FROM provider_accounts WHERE name = 'lama'")
                .fetch_one(pool)
                .await
                .unwrap();
        let key: String = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = 'vapid'")
            .fetch_one(pool)
            .await
            .unwrap();
        (credentials, key)
    })
}

store_test!(
    secrets_are_sealed_at_start_and_resealed_by_a_rotation,
    |db| {
        // As a version before sealing left them.
        let plain = storage::providers::NewAccount {
            credentials: r#"{"token": "rahasia-token"}"#,
            ..storage::providers::NewAccount::new("lama", domain::providers::ProviderKind::Fonnte)
        };
        storage::providers::insert(db, &plain, 0).await.unwrap();
        on_db_write!(db, |pool| {
            sqlx::query(
            "INSERT INTO server_keys (name, value, created_at) VALUES ('vapid', 'abcdef0123', 0)",
        )
        .execute(pool)
        .await
        .map(drop)
        .unwrap()
        });
        let old = Keyring::new(&[1; 32], &[]);
        assert_eq!(reseal(db, &old).await.unwrap(), 2);
        let (credentials, key) = stored(db).await;
        assert!(
            !credentials.contains("rahasia") && !key.contains("abcdef"),
            "{credentials} {key}"
        );
        assert_eq!(
            old.open_credentials(&credentials).unwrap()["token"],
            "rahasia-token"
        );
        assert_eq!(
            old.open(&server_key_label("vapid"), &key).unwrap(),
            "abcdef0123"
        );
        assert_eq!(reseal(db, &old).await.unwrap(), 0, "nothing left to seal");

        // Another key alone: refused, naming the key the rows need; unchanged.
        let new = Keyring::new(&[2; 32], &[]);
        match reseal(db, &new).await {
            Err(ResealError::Secret(SecretError::UnknownKey(id))) => {
                assert_eq!(id, old.current_id())
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(stored(db).await, (credentials.clone(), key.clone()));

        // The rotation: the new key with the old one as previous.
        let rotating = Keyring::new(&[2; 32], &[[1; 32]]);
        assert_eq!(reseal(db, &rotating).await.unwrap(), 2);
        let (credentials, key) = stored(db).await;
        assert_eq!(
            new.open_credentials(&credentials).unwrap()["token"],
            "rahasia-token"
        );
        assert_eq!(
            new.open(&server_key_label("vapid"), &key).unwrap(),
            "abcdef0123"
        );
        assert!(
            old.open_credentials(&credentials).is_err(),
            "the old key is done"
        );
    }
);

store_test!(a_server_key_is_made_once_and_stored_sealed, |db| {
    let keys = Keyring::new(&[3; 32], &[]);
    let first = storage::db::server_key(db, &keys, "ack_links", &[7; 32], 1)
        .await
        .unwrap();
    assert_eq!(first, [7; 32]);
    // A second instance offering its own fresh key reads the first one's.
    let again = storage::db::server_key(db, &keys, "ack_links", &[8; 32], 2)
        .await
        .unwrap();
    assert_eq!(again, [7; 32]);
    let raw: String = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM server_keys WHERE name = 'ack_links'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert!(storage::secrets::is_sealed(&raw));
    assert!(!raw.contains(&hex::encode([7u8; 32])));
});
