//! The in-app inbox.
//!
//! The SQL is `storage::inbox`.

pub mod page;
#[cfg(feature = "ssr")]
use storage::inbox as store;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use domain::words::{Clash, Missing};
use leptos::prelude::*;

pub use domain::live::InboxItem;

#[server(endpoint = "inbox/list")]
pub async fn my_notifications() -> Result<Vec<InboxItem>, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Inbox)?;
    Ok(store::list(&state.db, user.id, 100).await?)
}

/// Marks one item read; the user's other tabs and devices hear of it live.
#[server(endpoint = "inbox/read")]
pub async fn mark_read(id: i64) -> Result<(), AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Inbox)?;
    if store::mark_read(&state.db, user.id, id, crate::time::now_ms()).await? {
        state.feed.inbox([user.id]);
    }
    Ok(())
}

#[server(endpoint = "inbox/read-all")]
pub async fn mark_all_read() -> Result<(), AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Inbox)?;
    if store::mark_all_read(&state.db, user.id, crate::time::now_ms()).await? > 0 {
        state.feed.inbox([user.id]);
    }
    Ok(())
}

/// Acknowledges the alert of one of the user's notifications ("I'm on it"):
/// its escalation stops, and everyone it was sent to sees who took it.
#[server(endpoint = "inbox/acknowledge")]
pub async fn acknowledge(id: i64) -> Result<(), AppError> {
    use crate::alerts::AckOutcome;
    use storage::alerts;
    let (user, state) = crate::state::guard(crate::auth::Area::Inbox)?;
    let not_found = || AppError::NotFound(Missing::Alert);
    let alert_id = store::alert_of(&state.db, user.id, id)
        .await?
        .ok_or_else(not_found)?;
    let now = crate::time::now_ms();
    let channel = domain::escalation::AckChannel::InApp;
    match alerts::acknowledge_and_announce(&state.db, &state.feed, alert_id, user.id, channel, now)
        .await?
    {
        // (Someone else first: the page shows who.)
        AckOutcome::Acknowledged | AckOutcome::Already(_) => Ok(()),
        AckOutcome::NotRecipient => Err(AppError::Conflict(Clash::NotRecipient)),
        AckOutcome::NotFound => Err(not_found()),
    }
}
