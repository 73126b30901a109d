//! Delivery statistics (manager, admin).

pub mod page;

use crate::error::AppError;
use leptos::prelude::*;

/// Deliveries per status.
#[server(endpoint = "analytics/status_counts")]
pub async fn status_counts() -> Result<Vec<(String, i64)>, AppError> {
    crate::auth::session::require_area(crate::auth::Area::Analytics)?;
    crate::deliveries::store::count_by_status(&crate::state::app_state()?.db).await
}
