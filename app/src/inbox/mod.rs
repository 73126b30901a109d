//! The in-app inbox.

pub mod page;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub id: i64,
    pub notification_type: String,
    pub priority: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

#[server(endpoint = "inbox/list")]
pub async fn my_notifications() -> Result<Vec<InboxItem>, AppError> {
    let user = crate::auth::session::require_area(crate::auth::Area::Inbox)?;
    store::list(&crate::state::app_state()?.db, user.id, 100).await
}

/// Marks one item read; the user's other tabs and devices hear of it live.
#[server(endpoint = "inbox/read")]
pub async fn mark_read(id: i64) -> Result<(), AppError> {
    let user = crate::auth::session::require_area(crate::auth::Area::Inbox)?;
    let state = crate::state::app_state()?;
    if store::mark_read(&state.db, user.id, id, crate::time::now_ms()).await? {
        state.feed.inbox([user.id]);
    }
    Ok(())
}

#[server(endpoint = "inbox/read-all")]
pub async fn mark_all_read() -> Result<(), AppError> {
    let user = crate::auth::session::require_area(crate::auth::Area::Inbox)?;
    let state = crate::state::app_state()?;
    if store::mark_all_read(&state.db, user.id, crate::time::now_ms()).await? > 0 {
        state.feed.inbox([user.id]);
    }
    Ok(())
}
