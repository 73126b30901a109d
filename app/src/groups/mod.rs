//! WhatsApp groups master data: the group chats the dispatcher posts to, their
//! members and the routing rules that send notification types to them.

pub mod page;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use domain::GroupCategory;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A group as the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub chat_id: String,
    pub phone_number: Option<String>,
    pub category: GroupCategory,
    /// `None`: every work zone.
    pub work_zone: Option<String>,
    pub work_zone_name: Option<String>,
    pub active: bool,
    pub member_count: i64,
    pub rule_count: i64,
}

impl GroupView {
    /// Case-insensitive match on name, description or chat id.
    pub fn matches(&self, query: &str) -> bool {
        let q = query.trim().to_lowercase();
        q.is_empty()
            || self.name.to_lowercase().contains(&q)
            || self.description.to_lowercase().contains(&q)
            || self.chat_id.to_lowercase().contains(&q)
    }
}

#[server(endpoint = "groups/list")]
pub async fn list_groups() -> Result<Vec<GroupView>, AppError> {
    crate::auth::session::require_area(crate::auth::Area::Groups)?;
    store::list(&crate::state::app_state()?.db).await
}
