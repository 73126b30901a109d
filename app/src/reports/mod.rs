//! Scheduled reports (daily summary, weekly report): the schedules as
//! admins and managers edit them on `/reports`. The server's
//! `reports` module fires them; `domain::schedule` says when and what they
//! say.
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::reports`, the SQL `storage::reports`.

pub mod page;
#[cfg(feature = "ssr")]
use storage::reports as store;

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::views::reports::*;

#[server(endpoint = "reports/list")]
pub async fn list_schedules() -> Result<Schedules, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Reports)?;
    let db = &state.db;
    Ok(Schedules {
        list: store::list(db).await?,
        groups: store::groups(db).await?,
    })
}

/// Creates or updates a schedule; returns its id.
#[server(endpoint = "reports/save", input = leptos::server_fn::codec::Json)]
pub async fn save_schedule(form: ScheduleForm) -> Result<i64, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Reports)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    Ok(store::save(
        &state.db,
        &crate::state::actor(&me),
        &valid,
        crate::time::now_ms(),
    )
    .await?)
}

#[server(endpoint = "reports/delete")]
pub async fn delete_schedule(id: i64) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Reports)?;
    Ok(store::delete(
        &state.db,
        &crate::state::actor(&me),
        id,
        crate::time::now_ms(),
    )
    .await?)
}

/// The report the form's schedule would send at its next run, with the
/// figures of that period so far (nothing is saved or sent).
#[server(endpoint = "reports/preview", input = leptos::server_fn::codec::Json)]
pub async fn preview_report(form: ScheduleForm) -> Result<ReportPreview, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Reports)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    Ok(store::preview(&state.db, &valid.when(), crate::time::now_ms()).await?)
}
