//! The delivery log: one row per message per recipient per channel, with
//! filters, keyset pagination (newest first), a detail view, retry of a failed
//! delivery and CSV export of the filtered set.
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::deliveries`, the SQL `storage::deliveries`.

#[cfg(feature = "ssr")]
pub mod export;
pub mod page;
#[cfg(feature = "ssr")]
use storage::deliveries as store;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use domain::Words;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

pub use domain::views::deliveries::*;
use domain::DeliveryId;

#[server(endpoint = "deliveries/list", input = Json)]
pub async fn list_deliveries(
    filter: DeliveryFilter,
    after: Option<String>,
) -> Result<DeliveryPage, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Deliveries)?;
    let resolved = filter.resolve().map_err(AppError::Validation)?;
    let cursor = match after.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Cursor::decode(s).ok_or_else(|| {
            AppError::invalid(
                "after",
                Words::new("kursor tidak valid", "not a valid cursor"),
            )
        })?),
    };
    Ok(store::page(&state.db, &resolved, cursor, PAGE_SIZE).await?)
}

#[server(endpoint = "deliveries/options")]
pub async fn delivery_filter_options() -> Result<FilterOptions, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Deliveries)?;
    Ok(store::filter_options(&state.db).await?)
}

#[server(endpoint = "deliveries/get")]
pub async fn get_delivery(id: DeliveryId) -> Result<DeliveryDetail, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Deliveries)?;
    Ok(store::detail(&state.db, id).await?)
}

/// Queues a failed delivery again as a new row (admins only); the failed row
/// keeps its reason. Answers the new row's id; asking twice answers the same.
#[server(endpoint = "deliveries/retry")]
pub async fn retry_delivery(id: DeliveryId) -> Result<DeliveryId, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Retry)?;
    let new_id = store::retry(&state.db, id, crate::time::now_ms()).await?;
    state.wake.notify_one();
    state.feed.added();
    Ok(new_id)
}
