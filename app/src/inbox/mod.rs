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
