//! Provider accounts, for admins: every channel's accounts (WhatsApp
//! gateways, SMTP, SMS) with their failover order, pace and price, and a test
//! send per channel. Credentials are write-only: the pages learn which
//! fields are set, never their values.
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::providers`, the SQL `storage::providers`.

pub mod page;
#[cfg(feature = "ssr")]
use storage::providers as store;

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::views::providers::*;
use domain::{AccountId, DeliveryId};

#[server(endpoint = "providers/list")]
pub async fn list_providers() -> Result<Vec<ProviderView>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Providers)?;
    Ok(store::list(&state.db, crate::time::now_ms()).await?)
}

/// Creates or updates an account; answers its id.
#[server(endpoint = "providers/save", input = leptos::server_fn::codec::Json)]
pub async fn save_provider(form: ProviderForm) -> Result<AccountId, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Providers)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    let id = store::save(
        &state.db,
        &crate::state::actor(&me),
        &state.keys,
        &valid,
        crate::time::now_ms(),
    )
    .await?;
    state
        .providers_changed
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(id)
}

/// Sends a test message on a channel through its enabled accounts, via the
/// outbox like every message; answers the delivery's id.
#[server(endpoint = "providers/test-send", input = leptos::server_fn::codec::Json)]
pub async fn test_channel(test: ChannelTest) -> Result<DeliveryId, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Providers)?;
    let valid = test.validate().map_err(AppError::Validation)?;
    let id = store::test_send(
        &state.db,
        &valid,
        user.id,
        user.locale,
        crate::time::now_ms(),
    )
    .await?;
    state.wake.notify_one();
    state.feed.added();
    Ok(id)
}
