//! Escalation policies, for admins: which notifications stay open until
//! acknowledged, and whom each step reaches when nobody has (see
//! `domain::escalation` for the rules and the server's
//! `dispatcher::escalation` for the timers).
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::escalation`, the SQL `storage::escalation`.

pub mod page;
#[cfg(feature = "ssr")]
use storage::escalation as store;

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::views::escalation::*;

#[server(endpoint = "escalation/list")]
pub async fn list_policies() -> Result<Policies, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Escalation)?;
    let db = &state.db;
    Ok(Policies {
        list: store::list(db).await?,
        choices: store::choices(db).await?,
    })
}

/// Creates or updates a policy with all its steps; returns its id.
#[server(endpoint = "escalation/save", input = leptos::server_fn::codec::Json)]
pub async fn save_policy(form: PolicyForm) -> Result<i64, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Escalation)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    Ok(store::save(
        &state.db,
        &crate::state::actor(&me),
        &valid,
        crate::time::now_ms(),
    )
    .await?)
}

/// Deletes a policy. Its open alerts stay open (they can still be
/// acknowledged) but take no more steps.
#[server(endpoint = "escalation/delete")]
pub async fn delete_policy(id: i64) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Escalation)?;
    Ok(store::delete(
        &state.db,
        &crate::state::actor(&me),
        id,
        crate::time::now_ms(),
    )
    .await?)
}
