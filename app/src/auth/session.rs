//! Server side of sign-in: password checks, session rows, the cookie, and the
//! middleware that resolves the cookie into a [`CurrentUser`] for each request.

use super::{Area, CurrentUser};
use crate::error::AppError;
use crate::state::{app_state, AppState};
use crate::time::{now_ms, Millis};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use domain::Role;
use http::header::{COOKIE, SET_COOKIE};
use http::HeaderValue;
use leptos::prelude::{expect_context, use_context};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use storage::db::Db;
use storage::{in_tx, on_db, on_db_write};

pub const COOKIE_NAME: &str = "notifikasi_session";
/// A session lasts a working week without use; each use within the last half
/// of that pushes it forward.
pub const SESSION_TTL_MS: Millis = 7 * 24 * 3_600_000;
/// However often it is used, a session ends this long after sign-in: a
/// stolen cookie (a shared phone, a lost laptop) does not live forever.
pub const SESSION_MAX_MS: Millis = 30 * 24 * 3_600_000;

/// What the middleware found for this request.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub user: CurrentUser,
    pub token_hash: String,
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| crate::error::internal("random", &e))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The session token from a `Cookie` header, if any.
pub fn token_from_headers(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

fn cookie(value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie is ASCII")
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    name: String,
    email: String,
    role: String,
    work_zone: Option<String>,
    locale: String,
    created_at: i64,
    expires_at: i64,
}

/// Looks a token up; expired sessions and deactivated users find nothing.
pub async fn resolve(db: &Db, token: &str, now: Millis) -> Result<Option<SessionInfo>, AppError> {
    let token_hash = hash_token(token);
    let row: Option<SessionRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, u.work_zone, u.locale, s.created_at, s.expires_at
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
    if row.expires_at - now < SESSION_TTL_MS / 2 && extended > row.expires_at {
        on_db_write!(db, |pool| sqlx::query(
            "UPDATE sessions SET expires_at = $1 WHERE token_hash = $2"
        )
        .bind(extended)
        .bind(&token_hash)
        .execute(pool)
        .await
        .map(|_| ())?);
    }
    let role = Role::parse(&row.role).map_err(|e| crate::error::internal("users.role", &e))?;
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

/// Axum middleware: puts `Option<SessionInfo>` into the request's extensions.
pub async fn session_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let info = match token_from_headers(request.headers()) {
        Some(token) => resolve(&state.db, &token, now_ms()).await.unwrap_or(None),
        None => None,
    };
    request.extensions_mut().insert(info);
    next.run(request).await
}

/// The session of the request being served (SSR render or server function).
pub fn session_info() -> Option<SessionInfo> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Option<SessionInfo>>().cloned())
        .flatten()
}

pub fn require_user() -> Result<CurrentUser, AppError> {
    session_info()
        .map(|s| s.user)
        .ok_or(AppError::Unauthenticated)
}

/// The signed-in user, if their role may use `area`.
pub fn require_area(area: Area) -> Result<CurrentUser, AppError> {
    let user = require_user()?;
    if area.allows(user.role) {
        Ok(user)
    } else {
        Err(area.refusal())
    }
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
) -> Result<Option<i64>, AppError> {
    let row: Option<(i64, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE email = $1 AND active = TRUE"
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(pool)
    .await?);
    let (id, hash) = match row {
        Some((id, hash)) if !hash.starts_with('!') => (Some(id), hash),
        // No account, or one without a password yet (people synced by the
        // ticketing system): hashed against the dummy all the same, so
        // the answer takes as long and says nothing of which it was.
        _ => (None, dummy_hash().to_owned()),
    };
    let password = password.to_owned();
    // Argon2 is deliberately slow and large: off the async workers, and a
    // bounded number at a time.
    let _slot = super::throttle::hashing_slots()
        .acquire()
        .await
        .map_err(|e| crate::error::internal("hashing slots", &e))?;
    let ok = tokio::task::spawn_blocking(move || {
        password_auth::verify_password(password, &hash).is_ok()
    })
    .await?;
    Ok(id.filter(|_| ok))
}

/// Opens a session for `user_id`; returns the token for the cookie.
pub async fn create_session(db: &Db, user_id: i64, now: Millis) -> Result<String, AppError> {
    let token = new_token()?;
    in_tx!(db, |tx| {
        // Housekeeping on the way in: expired sessions are useless.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash_token(&token))
            .bind(user_id)
            .bind(now)
            .bind(now + SESSION_TTL_MS)
            .execute(&mut *tx)
            .await?;
    });
    Ok(token)
}

/// Forgets every session that ended by `now` (idle or past its absolute
/// lifetime: `expires_at` never passes it); answers how many. Run hourly, so
/// the table does not keep what no one can use.
pub async fn purge_expired(db: &Db, now: Millis) -> Result<u64, AppError> {
    let n = on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM sessions WHERE expires_at <= $1"
    )
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())?);
    Ok(n)
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<(), AppError> {
    on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}

/// The `login` server function's work: validate, verify, open a session, set the
/// cookie. A new token every time, so a planted cookie is never promoted.
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if email.trim().is_empty() {
        errors.push(crate::error::FieldError::new(
            "email",
            domain::Words::new("Email wajib diisi.", "The email is required."),
        ));
    }
    if password.is_empty() {
        errors.push(crate::error::FieldError::new(
            "password",
            domain::Words::new("Kata sandi wajib diisi.", "The password is required."),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let state = app_state()?;
    let client = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<super::throttle::ClientAddr>().copied())
        .map(|c| c.0);
    let throttle = super::throttle::Throttle::global();
    // Refused before any hashing: a guesser costs the server nothing.
    throttle
        .check(&email, client, now_ms())
        .map_err(AppError::TooManyAttempts)?;
    let Some(user_id) = verify_credentials(&state.db, &email, &password).await? else {
        throttle.failed(&email, client, now_ms());
        return Err(AppError::InvalidCredentials);
    };
    throttle.succeeded(&email);
    let token = create_session(&state.db, user_id, now_ms()).await?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(
        SET_COOKIE,
        cookie(&token, SESSION_TTL_MS / 1000, state.secure_cookies),
    );
    Ok(())
}

pub async fn logout() -> Result<(), AppError> {
    let state = app_state()?;
    if let Some(info) = session_info() {
        delete_session(&state.db, &info.token_hash).await?;
        // The live socket of this browser closes now, not at its next check.
        state.feed.signed_out(info.user.id);
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(SET_COOKIE, cookie("", 0, state.secure_cookies));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_token_is_read_from_among_other_cookies() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; notifikasi_session=abc; b=2"),
        );
        assert_eq!(token_from_headers(&headers).as_deref(), Some("abc"));
        headers.insert(COOKIE, HeaderValue::from_static("notifikasi_session="));
        assert_eq!(token_from_headers(&headers), None);
    }

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
