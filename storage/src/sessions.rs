//! Sign-in's storage: session rows keyed by the SHA-256 of a random token
//! (the browser holds only the token, in a cookie the `app` crate sets),
//! and the password check against the users' Argon2 hashes.

use crate::db::Db;
use crate::error::internal;
use crate::Error;
use crate::{in_tx, on_db, on_db_write};
use base64::Engine;
use domain::time::Millis;
use domain::views::auth::{CurrentUser, SessionView};
use domain::Role;
use domain::UserId;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// A session lasts a working week without use; each use within the last half
/// of that pushes it forward.
pub const SESSION_TTL_MS: Millis = 7 * 24 * 3_600_000;
/// However often it is used, a session ends this long after sign-in: a
/// stolen cookie (a shared phone, a lost laptop) does not live forever.
pub const SESSION_MAX_MS: Millis = 30 * 24 * 3_600_000;
/// "Last seen" moves in steps this long: a write per request would cost
/// more than the list of sessions is worth.
pub const LAST_SEEN_STEP_MS: Millis = 5 * 60_000;
/// Hex characters of a token's hash that name its session on the page.
const HANDLE_CHARS: usize = 16;
/// Ends a person's (`$1`) sessions but one (`$2`): signing out elsewhere,
/// and a new password.
const END_OTHERS: &str = "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2";

/// A live session: whose it is, and the hash it is stored under.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub user: CurrentUser,
    pub token_hash: String,
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| internal("random", &e))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: UserId,
    name: String,
    email: String,
    role: String,
    work_zone: Option<String>,
    locale: String,
    created_at: i64,
    expires_at: i64,
    last_seen_at: Option<i64>,
}

/// Looks a token up; expired sessions and deactivated users find nothing.
pub async fn resolve(db: &Db, token: &str, now: Millis) -> Result<Option<SessionInfo>, Error> {
    let token_hash = hash_token(token);
    let row: Option<SessionRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, u.work_zone, u.locale, s.created_at, s.expires_at,
                s.last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.created_at > $3 AND u.active = TRUE"
    )
    .bind(&token_hash)
    .bind(now)
    .bind(now - SESSION_MAX_MS)
    .fetch_optional(pool)
    .await?
    });
    let Some(row) = row else { return Ok(None) };
    // Extended in the second half of its life, never past its maximum.
    let extended = (now + SESSION_TTL_MS).min(row.created_at + SESSION_MAX_MS);
    let extend = row.expires_at - now < SESSION_TTL_MS / 2 && extended > row.expires_at;
    let seen = row.last_seen_at.unwrap_or(row.created_at);
    if extend || now - seen >= LAST_SEEN_STEP_MS {
        on_db_write!(db, |pool| sqlx::query(
            "UPDATE sessions SET expires_at = $1, last_seen_at = $2 WHERE token_hash = $3"
        )
        .bind(extended.max(row.expires_at))
        .bind(now)
        .bind(&token_hash)
        .execute(pool)
        .await
        .map(|_| ())?);
    }
    let role = Role::parse(&row.role).map_err(|e| internal("users.role", &e))?;
    Ok(Some(SessionInfo {
        user: CurrentUser {
            id: row.id,
            name: row.name,
            email: row.email,
            role,
            work_zone: row.work_zone,
            locale: domain::Locale::parse(&row.locale).unwrap_or_default(),
        },
        token_hash,
    }))
}

/// Verified against when the email is unknown, so a wrong email costs as much
/// time as a wrong password and response times do not reveal who has an account.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password_auth::generate_hash("not-a-real-password"))
}

/// Checks an email and password; the user's id if they match an active account.
pub async fn verify_credentials(
    db: &Db,
    email: &str,
    password: &str,
) -> Result<Option<UserId>, Error> {
    let row: Option<(UserId, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE email = $1 AND active = TRUE"
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(pool)
    .await?);
    let (id, hash) = match row {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let ok = verify_hash(password, hash).await?;
    Ok(id.filter(|_| ok))
}

/// Whether `password` matches `hash`. No account (`None`), or one without a
/// password yet (people synced by the ticketing system, `!…`), is hashed
/// against the dummy all the same, so the answer takes as long and says
/// nothing of which it was. Argon2 is deliberately slow and large: off the
/// async workers, and a bounded number at a time.
async fn verify_hash(password: &str, hash: Option<String>) -> Result<bool, Error> {
    let usable = hash.filter(|h| !h.starts_with('!'));
    let known = usable.is_some();
    let hash = usable.unwrap_or_else(|| dummy_hash().to_owned());
    let password = password.to_owned();
    let ok = argon2(move || password_auth::verify_password(password, &hash).is_ok()).await?;
    Ok(known && ok)
}

/// Runs Argon2 `work` on the blocking pool, at most [`hashing_slots`] at a
/// time.
pub(crate) async fn argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| internal("hashing slots", &e))?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// Opens a session for `user_id`; returns the token for the cookie.
pub async fn create_session(db: &Db, user_id: UserId, now: Millis) -> Result<String, Error> {
    open_session(db, user_id, "", now).await
}

/// Opens a session for `user_id` in the browser `device` names; returns the
/// token for the cookie.
pub async fn open_session(
    db: &Db,
    user_id: UserId,
    device: &str,
    now: Millis,
) -> Result<String, Error> {
    let token = new_token()?;
    in_tx!(db, |tx| {
        // Housekeeping on the way in: expired sessions are useless.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, device, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $3)",
        )
            .bind(hash_token(&token))
            .bind(user_id)
            .bind(now)
            .bind(now + SESSION_TTL_MS)
            .bind(device)
            .execute(&mut *tx)
            .await?;
    });
    Ok(token)
}

/// Forgets every session that ended by `now` (idle or past its absolute
/// lifetime: `expires_at` never passes it); answers how many. Run hourly, so
/// the table does not keep what no one can use.
pub async fn purge_expired(db: &Db, now: Millis) -> Result<u64, Error> {
    let n = on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM sessions WHERE expires_at <= $1"
    )
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())?);
    Ok(n)
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<(), Error> {
    on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}

/// `user_id`'s live sessions, the latest seen first; `current` marks the
/// one stored under `current_hash`.
pub async fn list_for(
    db: &Db,
    user_id: UserId,
    current_hash: &str,
    now: Millis,
) -> Result<Vec<SessionView>, Error> {
    let rows: Vec<(String, String, i64, Option<i64>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT token_hash, device, created_at, last_seen_at FROM sessions
         WHERE user_id = $1 AND expires_at > $2 AND created_at > $3"
    )
    .bind(user_id)
    .bind(now)
    .bind(now - SESSION_MAX_MS)
    .fetch_all(pool)
    .await?);
    let mut sessions: Vec<SessionView> = rows
        .into_iter()
        .map(|(hash, device, created_at, last_seen_at)| SessionView {
            current: hash == current_hash,
            handle: hash[..HANDLE_CHARS.min(hash.len())].to_owned(),
            device,
            created_at,
            last_seen_at: last_seen_at.unwrap_or(created_at),
        })
        .collect();
    sessions.sort_by_key(|s| std::cmp::Reverse((s.current, s.last_seen_at)));
    Ok(sessions)
}

/// Ends `user_id`'s session named `handle` (never another person's);
/// whether there was one.
pub async fn end_session(db: &Db, user_id: UserId, handle: &str) -> Result<bool, Error> {
    if handle.len() != HANDLE_CHARS || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let pattern = format!("{}%", handle.to_ascii_lowercase());
    let n = on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND token_hash LIKE $2"
    )
    .bind(user_id)
    .bind(&pattern)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())?);
    Ok(n > 0)
}

/// Ends every session of `user_id` but the one stored under `keep_hash`;
/// answers how many ended.
pub async fn end_other_sessions(db: &Db, user_id: UserId, keep_hash: &str) -> Result<u64, Error> {
    let n = on_db_write!(db, |pool| sqlx::query(END_OTHERS)
        .bind(user_id)
        .bind(keep_hash)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())?);
    Ok(n)
}

/// Whether `password` is `user_id`'s (an active account with a password).
pub async fn password_matches(db: &Db, user_id: UserId, password: &str) -> Result<bool, Error> {
    let hash: Option<String> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE id = $1 AND active = TRUE"
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?);
    verify_hash(password, hash).await
}

/// Sets `user_id`'s password to `new` (checked by the caller) and ends
/// every other session, in one transaction: whoever knew the old password
/// is signed out wherever they were.
pub async fn set_password(
    db: &Db,
    user_id: UserId,
    new: &str,
    keep_hash: &str,
    now: Millis,
) -> Result<(), Error> {
    let new = new.to_owned();
    let hash = argon2(move || password_auth::generate_hash(new)).await?;
    in_tx!(db, |tx| {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $3 WHERE id = $2")
            .bind(&hash)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(END_OTHERS)
            .bind(user_id)
            .bind(keep_hash)
            .execute(&mut *tx)
            .await?;
    });
    Ok(())
}

/// How many Argon2 hashes run at once: twice the cores, so a burst of
/// sign-ins queues instead of taking a blocking thread (and 19 MiB) each.
pub fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static S: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    S.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(2 * cores)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_stored() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}
