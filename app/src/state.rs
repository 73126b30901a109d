//! The one state value of the Axum host. leptos_axum provides it as context to
//! every render and server function; read it only through [`app_state`].

use crate::error::AppError;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::use_context;
use storage::db::Db;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// Seals and opens the secrets stored in it (`storage::secrets`).
    pub keys: storage::secrets::Keyring,
    /// Where users reach the app (`PUBLIC_URL`): set-password links start
    /// with it.
    pub public_url: String,
    /// Add `Secure` to the session cookie (behind HTTPS).
    pub secure_cookies: bool,
    /// Wakes this instance's dispatcher after a server function wrote to the
    /// outbox (a phone code, a test send), so the message leaves at once
    /// instead of at the next poll.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
    /// This instance's live updates (what server functions change is pushed
    /// to the browsers through it).
    pub feed: crate::live::feed::Feed,
    /// Bumped when an admin saves a provider account, so this instance's
    /// dispatcher reloads its accounts before the next send (a test send
    /// right after adding an account uses it).
    pub providers_changed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The VAPID key browsers subscribe to push with (its public half).
    pub vapid: storage::keys::vapid::VapidKey,
    /// Push endpoints may be plain HTTP on this machine (tests only).
    pub push_loopback: bool,
    /// Syncs a Meta account's templates (the host's; `None` where no host
    /// runs, as in page-only tests).
    pub meta_sync: Option<crate::meta_templates::SyncHook>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state, from a server function or an SSR render.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| crate::error::internal("context", &"AppState was not provided"))
}

/// How every server function of a page's area starts: the signed-in user,
/// refused unless their role may use `area`, and the state.
pub fn guard(area: crate::auth::Area) -> Result<(crate::auth::CurrentUser, AppState), AppError> {
    let user = crate::auth::session::require_area(area)?;
    Ok((user, app_state()?))
}

/// The signed-in user as the audit trail names them.
pub fn actor(user: &crate::auth::CurrentUser) -> storage::audit::Actor {
    storage::audit::Actor::person(user.id, &user.name, &user.email)
}
