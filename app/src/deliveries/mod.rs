//! The delivery log: one row per message per recipient per channel.

pub mod page;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use domain::{Channel, DeliveryStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryListItem {
    pub id: i64,
    pub created_at: i64,
    pub notification_type: String,
    pub channel: Channel,
    pub provider: Option<String>,
    pub recipient: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub error: Option<String>,
}

/// The newest deliveries (filters and paging come with the delivery log issue).
#[server(endpoint = "deliveries/recent")]
pub async fn recent_deliveries() -> Result<Vec<DeliveryListItem>, AppError> {
    crate::auth::session::require_area(crate::auth::Area::Deliveries)?;
    store::recent(&crate::state::app_state()?.db, 50).await
}
