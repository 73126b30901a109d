//! Server side of sign-in: the cookie, and the middleware that resolves it
//! into a [`CurrentUser`] for each request. The rows and the password check
//! are `storage::sessions`.

use super::{Area, CurrentUser};
use crate::error::AppError;
use crate::state::{app_state, AppState};
use crate::time::now_ms;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{COOKIE, SET_COOKIE};
use http::HeaderValue;
use leptos::prelude::{expect_context, use_context};
pub use storage::sessions::SessionInfo;
use storage::sessions::{
    delete_session, open_session, resolve, verify_credentials, SESSION_TTL_MS,
};

pub const COOKIE_NAME: &str = "notifikasi_session";
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
    let client = super::throttle::ClientAddr::of_request();
    let throttle = super::throttle::Throttle::global();
    // Refused before any hashing: a guesser costs the server nothing.
    throttle
        .check(&email, client, now_ms())
        .map_err(AppError::TooManyAttempts)?;
    let Some(user_id) = verify_credentials(&state.db, &email, &password).await? else {
        throttle.failed(&email, client, now_ms());
        // Into the audit trail: the email tried and from where (the
        // throttle above bounds how many a guesser can write). Spawned, so
        // a client that hangs up at once is recorded all the same.
        let from = storage::audit::Actor {
            id: None,
            name: client.map_or_else(|| "?".into(), |a| a.to_string()),
        };
        let tried = email.trim().to_lowercase();
        let db = state.db.clone();
        tokio::spawn(async move {
            let recorded =
                storage::audit::record(&db, &from, "auth.sign_in_failed", &tried, now_ms()).await;
            if let Err(e) = recorded {
                tracing::warn!("failed sign-in not audited: {e}");
            }
        });
        return Err(AppError::InvalidCredentials);
    };
    throttle.succeeded(&email);
    // The browser's name for the list of one's sessions ("Chrome di Android").
    let device = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::USER_AGENT).cloned())
        .and_then(|ua| ua.to_str().ok().map(domain::push::device_label))
        .unwrap_or_default();
    let token = open_session(&state.db, user_id, &device, now_ms()).await?;
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
}
