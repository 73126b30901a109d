//! A user's own notification settings: channel switches, type switches per
//! channel, quiet hours, the WhatsApp number and its verification, and group
//! notifications.
//!
//! The form is validated by [`SettingsForm::validate`] twice with the same
//! code: in the browser as the user types, and on the server before anything is
//! written (the server never trusts the browser's verdict).
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::settings`, the SQL `storage::settings`.

pub mod page;
#[cfg(feature = "ssr")]
use storage::settings as store;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use domain::Locale;
#[cfg(feature = "ssr")]
use domain::Words;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

pub use domain::views::settings::*;

/// The path and query of a `Referer`, for sending the browser back to the
/// page it came from; never another site's address.
#[cfg(any(feature = "ssr", test))]
fn same_site_path(referer: &str) -> Option<String> {
    let rest = referer.split_once("://").map_or(referer, |(_, r)| r);
    let path = &rest[rest.find('/')?..];
    let path = path.trim_end_matches('?');
    (!path.starts_with("//") && !path.is_empty()).then(|| path.to_owned())
}

#[server(endpoint = "settings/get")]
pub async fn get_my_settings() -> Result<MySettings, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    Ok(store::load(&state.db, user.id, crate::time::now_ms()).await?)
}

/// Validates and saves the whole form in one transaction; a changed number
/// loses its verification.
#[server(endpoint = "settings/save", input = Json)]
pub async fn save_my_settings(form: SettingsForm) -> Result<MySettings, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    let db = state.db;
    let now = crate::time::now_ms();
    store::save(&db, user.id, &valid, now).await?;
    Ok(store::load(&db, user.id, now).await?)
}

/// Switches the language of the user's pages and messages. Posted by a plain
/// form in the top bar: the browser follows the redirect back to the page it
/// was on, which the server then renders in the new language.
#[server(endpoint = "settings/locale")]
pub async fn set_locale(locale: String) -> Result<(), AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let locale = Locale::parse(&locale)
        .map_err(|e| AppError::invalid("locale", Words::same(e.to_string())))?;
    store::set_locale(&state.db, user.id, locale, crate::time::now_ms()).await?;
    let back = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.headers.get(http::header::REFERER).cloned())
        .and_then(|v| v.to_str().ok().and_then(same_site_path))
        .unwrap_or_else(|| "/".into());
    leptos_axum::redirect(&back);
    Ok(())
}

/// Sends a one-time code over WhatsApp to the saved, unverified number.
#[server(endpoint = "settings/send-code")]
pub async fn send_phone_code() -> Result<CodeSent, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let sent = store::send_code(&state.db, user.id, user.locale, crate::time::now_ms()).await?;
    state.wake.notify_one();
    state.feed.added();
    Ok(sent)
}

/// Checks a code against the latest one sent to the saved number.
#[server(endpoint = "settings/verify-code")]
pub async fn verify_phone_code(code: String) -> Result<(), AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let code = domain::verification::normalise_code(&code)
        .map_err(|e| AppError::invalid("code", Words::of(|l| e.message(l))))?;
    Ok(store::verify_code(&state.db, user.id, &code, crate::time::now_ms()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locale_switch_sends_the_browser_back_to_a_path_of_this_site() {
        assert_eq!(
            same_site_path("http://127.0.0.1:3000/settings?").as_deref(),
            Some("/settings")
        );
        assert_eq!(
            same_site_path("https://notif.example/deliveries?status=failed").as_deref(),
            Some("/deliveries?status=failed")
        );
        assert_eq!(same_site_path("https://notif.example").as_deref(), None);
        assert_eq!(
            same_site_path("https://x.example//evil.example/").as_deref(),
            None
        );
    }
}
