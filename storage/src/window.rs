//! What people's WhatsApp messages to the business tell: Meta's 24-hour
//! customer-service window, per business account and number (free text
//! reaches a person only within a day of their last message;
//! `whatsapp_windows`, fed by Meta's webhook), and which messages were
//! handled already (`inbound_messages`: webhooks come twice).

use crate::error::Error;
use crate::{on_db, on_db_write, Db};
use domain::{AccountId, DeliveryId};

/// How long after a person's last message free text may be sent.
pub const WINDOW_MS: i64 = 24 * 3_600_000;

/// Notes a message from `phone` to `account` at `at` (ms); an older one
/// (a late or repeated webhook) changes nothing.
pub async fn record_inbound(db: &Db, account: i64, phone: &str, at: i64) -> Result<(), Error> {
    on_db_write!(db, |pool| {
        sqlx::query(
            "INSERT INTO whatsapp_windows (account_id, phone, last_inbound_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, phone) DO UPDATE SET last_inbound_at =
                 CASE WHEN excluded.last_inbound_at > whatsapp_windows.last_inbound_at
                      THEN excluded.last_inbound_at ELSE whatsapp_windows.last_inbound_at END",
        )
        .bind(account)
        .bind(phone)
        .bind(at)
        .execute(pool)
        .await
        .map(drop)?
    });
    Ok(())
}

/// Notes message `message_id` from `provider` as handled; false when it
/// was already (a webhook delivered twice).
pub async fn first_time(
    db: &Db,
    provider: &str,
    message_id: &str,
    now: i64,
) -> Result<bool, Error> {
    let added = on_db_write!(db, |pool| {
        sqlx::query(
            "INSERT INTO inbound_messages (provider, message_id, received_at) VALUES ($1, $2, $3)
             ON CONFLICT (provider, message_id) DO NOTHING",
        )
        .bind(provider)
        .bind(message_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())?
    });
    Ok(added == 1)
}

/// Forgets `phone`'s window on `account`: Meta answered that it is closed
/// (131047) though our record said open (a message we never heard of, a
/// clock apart), so the next message to it goes as a template.
pub async fn forget(db: &Db, account: AccountId, phone: &str) -> Result<(), Error> {
    let account = account.0;
    on_db_write!(db, |pool| {
        sqlx::query("DELETE FROM whatsapp_windows WHERE account_id = $1 AND phone = $2")
            .bind(account)
            .bind(phone)
            .execute(pool)
            .await
            .map(drop)?
    });
    Ok(())
}

/// Meta reported later that free text it had accepted (`message_id`)
/// failed as outside the window (131047): the window is forgotten and the
/// delivery queued again at once, so its next attempt goes as the type's
/// template (or through a gateway). Answers the delivery, if one was sent
/// as that message and not yet delivered or failed.
pub async fn resend_outside_window(
    db: &Db,
    account: AccountId,
    message_id: &str,
    error: &str,
    now: i64,
) -> Result<Option<DeliveryId>, Error> {
    let row: Option<(DeliveryId, String)> = on_db_write!(db, |pool| {
        sqlx::query_as(
            "UPDATE deliveries SET status = 'queued', next_attempt_at = $4, error = $3,
                 updated_at = $4, lease_expires_at = NULL, locked_by = NULL
             WHERE provider = 'meta' AND provider_message_id = $1 AND provider_account_id = $2
               AND status = 'sent'
             RETURNING id, recipient",
        )
        .bind(message_id)
        .bind(account)
        .bind(error)
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    let Some((id, phone)) = row else {
        return Ok(None);
    };
    forget(db, account, &phone).await?;
    Ok(Some(id))
}

/// Whether `phone` wrote to `account` within the window before `now`.
pub async fn is_open(db: &Db, account: AccountId, phone: &str, now: i64) -> Result<bool, Error> {
    let account = account.0;
    let last: Option<i64> = on_db!(db, |pool| {
        sqlx::query_scalar(
            "SELECT last_inbound_at FROM whatsapp_windows WHERE account_id = $1 AND phone = $2",
        )
        .bind(account)
        .bind(phone)
        .fetch_optional(pool)
        .await?
    });
    Ok(last.is_some_and(|at| at > now - WINDOW_MS))
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::store_test;

    store_test!(a_window_is_open_for_a_day_after_the_last_message, |db| {
        let meta = crate::db::testing::provider_account(db, "meta").await;
        let budi = "+6281200000005";
        let t0 = 1_800_000_000_000;
        assert!(
            !is_open(db, AccountId(meta), budi, t0).await.unwrap(),
            "never wrote"
        );
        record_inbound(db, meta, budi, t0).await.unwrap();
        assert!(is_open(db, AccountId(meta), budi, t0 + WINDOW_MS - 1)
            .await
            .unwrap());
        assert!(!is_open(db, AccountId(meta), budi, t0 + WINDOW_MS)
            .await
            .unwrap());
        // A late webhook of an older message does not shorten it.
        record_inbound(db, meta, budi, t0 + 1000).await.unwrap();
        record_inbound(db, meta, budi, t0 - 5000).await.unwrap();
        assert!(is_open(db, AccountId(meta), budi, t0 + WINDOW_MS)
            .await
            .unwrap());
        // Another number, or the same number on another account: closed.
        assert!(!is_open(db, AccountId(meta), "+6281200000006", t0)
            .await
            .unwrap());
        assert!(!is_open(db, AccountId(meta + 1), budi, t0).await.unwrap());
        // Meta said it is closed: it is, until he writes again.
        forget(db, AccountId(meta), budi).await.unwrap();
        assert!(!is_open(db, AccountId(meta), budi, t0 + 1).await.unwrap());
        record_inbound(db, meta, budi, t0 + 2).await.unwrap();
        assert!(is_open(db, AccountId(meta), budi, t0 + 3).await.unwrap());
    });

    store_test!(a_message_is_handled_once_per_provider, |db| {
        assert!(first_time(db, "meta", "wamid.1", 1).await.unwrap());
        assert!(!first_time(db, "meta", "wamid.1", 2).await.unwrap());
        assert!(first_time(db, "fonnte", "wamid.1", 3).await.unwrap());
    });
}
