//! Push subscriptions' SQL: a person's devices, the subscriptions a push goes
//! to, and what each push service answered.

use crate::db::Db;
use crate::Error;
use crate::{in_tx, on_db, on_db_write};
use domain::views::push::PushDevice;
use domain::UserId;

/// A person may keep this many devices; the next one is refused with a
/// message asking to remove one (an old phone rarely unsubscribes itself).
pub const MAX_DEVICES: i64 = 20;

/// What a push is sent to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subscription {
    pub id: i64,
    pub endpoint: String,
    /// The browser's P-256 public key and auth secret, base64url.
    pub p256dh: String,
    pub auth: String,
}

pub enum Saved {
    Id(i64),
    TooMany,
    /// The endpoint is another person's device, and the request does not
    /// hold its keys: it is not the browser that made it.
    Taken,
}

/// Stores a browser's subscription for `user_id` and switches their push
/// channel on. The endpoint names the browser: subscribing again updates its
/// row instead of adding one. It moves to another person only with the
/// same `auth` secret, which only the browser that subscribed holds (one
/// shared browser, signed in by someone else); knowing an endpoint is not
/// enough to take someone's notifications.
pub async fn subscribe(
    db: &Db,
    user_id: domain::UserId,
    s: &Subscription,
    device: &str,
    now: i64,
) -> Result<Saved, Error> {
    let others: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM push_subscriptions WHERE user_id = $1 AND endpoint <> $2"
    )
    .bind(user_id)
    .bind(&s.endpoint)
    .fetch_one(pool)
    .await?);
    if others >= MAX_DEVICES {
        return Ok(Saved::TooMany);
    }
    // Turning push on in a browser means wanting push: the channel switch
    // goes on with it (it still turns push off everywhere).
    let id: Option<i64> = in_tx!(db, |tx| {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, device, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id,
                 p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, device = EXCLUDED.device,
                 created_at = EXCLUDED.created_at, last_success_at = NULL, last_error = NULL
             WHERE push_subscriptions.user_id = EXCLUDED.user_id
                OR push_subscriptions.auth = EXCLUDED.auth
             RETURNING id",
        )
        .bind(user_id)
        .bind(&s.endpoint)
        .bind(&s.p256dh)
        .bind(&s.auth)
        .bind(device)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if id.is_some() {
            sqlx::query("UPDATE notification_settings SET push_enabled = TRUE WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        id
    });
    Ok(id.map_or(Saved::Taken, Saved::Id))
}

/// A person's devices, newest first.
pub async fn devices(db: &Db, user_id: UserId) -> Result<Vec<PushDevice>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT id, device, endpoint, created_at, last_success_at, last_error
         FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?))
}

/// Removes one of `user_id`'s devices; false if it is not theirs (or gone).
pub async fn remove(db: &Db, user_id: UserId, id: i64) -> Result<bool, Error> {
    let n = on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2"
    )
    .bind(id)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(n > 0)
}

/// The subscriptions a push to `user_id` goes to.
pub async fn for_user(db: &Db, user_id: UserId) -> Result<Vec<Subscription>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1 ORDER BY id"
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?))
}

/// The recipient of a push delivery for some devices only (a follow-up for
/// the devices whose push service failed while another accepted).
pub fn devices_recipient(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("devices:{}", ids.join(","))
}

/// The devices a push delivery's recipient names, if it names any.
pub fn named_devices(recipient: &str) -> Option<Vec<i64>> {
    let ids = recipient.strip_prefix("devices:")?;
    Some(
        ids.split(',')
            .filter_map(|i| i.trim().parse().ok())
            .collect(),
    )
}

/// Queues the same push again, due at `at`, for `devices` only, as a follow-up
/// of `delivery` (`retry_of`): the devices that accepted are not pushed to
/// twice, and a second call for the same delivery (the worker ran it again
/// after a crash) adds nothing. Returns the new row's id.
pub async fn follow_up(
    db: &Db,
    delivery: domain::DeliveryId,
    devices: &[i64],
    now: i64,
    at: i64,
) -> Result<Option<domain::DeliveryId>, Error> {
    let id = on_db_write!(db, |pool| {
        sqlx::query_scalar(crate::deliveries::REQUEUE_SQL)
            .bind(delivery)
            .bind(devices_recipient(devices))
            .bind(at)
            .bind(now)
            .fetch_optional(pool)
            .await?
    });
    Ok(id)
}

/// What each device's push service said about one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceAnswer {
    Accepted,
    /// 404/410: the browser unsubscribed or the subscription expired.
    Gone,
    Failed(String),
}

/// Records one push's answers: accepted devices get `last_success_at`, failed
/// ones `last_error`, and gone ones are deleted.
pub async fn record(db: &Db, answers: &[(i64, DeviceAnswer)], now: i64) -> Result<(), Error> {
    for (id, answer) in answers {
        match answer {
            DeviceAnswer::Accepted => on_db_write!(db, |pool| {
                sqlx::query(
                "UPDATE push_subscriptions SET last_success_at = $2, last_error = NULL WHERE id = $1"
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())?
            }),
            DeviceAnswer::Gone => on_db_write!(db, |pool| sqlx::query(
                "DELETE FROM push_subscriptions WHERE id = $1"
            )
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())?),
            DeviceAnswer::Failed(e) => on_db_write!(db, |pool| sqlx::query(
                "UPDATE push_subscriptions SET last_error = $2 WHERE id = $1"
            )
            .bind(id)
            .bind(e)
            .execute(pool)
            .await
            .map(|_| ())?),
        }
    }
    Ok(())
}

/// Whether any enabled account sends push (else the page offers no switch).
pub async fn configured(db: &Db) -> Result<bool, Error> {
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM provider_accounts WHERE channel = 'push' AND enabled = TRUE"
    )
    .fetch_one(pool)
    .await?);
    Ok(n > 0)
}

/// The person a delivery is for, if it is a push (receipts check it).
pub async fn push_delivery_owner(db: &Db, delivery: i64) -> Result<Option<domain::UserId>, Error> {
    let owner: Option<Option<domain::UserId>> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT user_id FROM deliveries WHERE id = $1 AND channel = 'push'"
    )
    .bind(delivery)
    .fetch_optional(pool)
    .await?);
    Ok(owner.flatten())
}
