//! One's own account, on the settings page: changing the password and the
//! sessions (the browsers signed in), each of which can be ended. The rows
//! and the password check are `storage::sessions`.

pub mod page;

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::views::auth::{PasswordChange, SessionView};

/// The signed-in person's live sessions, this browser's first.
#[server(endpoint = "account/sessions")]
pub async fn my_sessions() -> Result<Vec<SessionView>, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let here = this_session()?;
    Ok(storage::sessions::list_for(&state.db, user.id, &here, crate::time::now_ms()).await?)
}

/// Ends one of one's own sessions (another browser); its live socket closes.
#[server(endpoint = "account/end-session")]
pub async fn end_session(handle: String) -> Result<(), AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    if !storage::sessions::end_session(&state.db, user.id, &handle).await? {
        return Err(AppError::NotFound(domain::words::Missing::Session));
    }
    state.feed.signed_out(user.id);
    Ok(())
}

/// Signs out every other browser; answers how many sessions ended.
#[server(endpoint = "account/end-others")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let n = storage::sessions::end_other_sessions(&state.db, user.id, &this_session()?).await?;
    state.feed.signed_out(user.id);
    Ok(n)
}

/// Changes one's own password, the current one required; every other
/// session ends (whoever knew the old one is signed out). Wrong current
/// passwords count toward sign-in's back-off, so a borrowed session cannot
/// be used to guess the password.
#[server(endpoint = "account/password", input = leptos::server_fn::codec::Json)]
pub async fn change_password(change: PasswordChange) -> Result<(), AppError> {
    use crate::auth::throttle::{ClientAddr, Throttle};
    use crate::time::now_ms;
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    change.validate().map_err(AppError::Validation)?;
    let here = this_session()?;
    let client = ClientAddr::of_request();
    let throttle = Throttle::global();
    throttle
        .check(&user.email, client, now_ms())
        .map_err(AppError::TooManyAttempts)?;
    if !storage::sessions::password_matches(&state.db, user.id, &change.current).await? {
        throttle.failed(&user.email, client, now_ms());
        return Err(AppError::Validation(vec![domain::words::FieldError::new(
            "current",
            domain::Words::new(
                "Kata sandi saat ini salah.",
                "The current password is wrong.",
            ),
        )]));
    }
    throttle.succeeded(&user.email);
    storage::sessions::set_password(&state.db, user.id, &change.new, &here, now_ms()).await?;
    state.feed.signed_out(user.id);
    tracing::info!(user = %user.id, "password changed; other sessions ended");
    Ok(())
}

/// The hash this browser's session is stored under.
#[cfg(feature = "ssr")]
fn this_session() -> Result<String, AppError> {
    crate::auth::session::session_info()
        .map(|s| s.token_hash)
        .ok_or(AppError::Unauthenticated)
}
