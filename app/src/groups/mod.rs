//! WhatsApp groups master data: the group chats the dispatcher posts to, their
//! members and the routing rules that send notification types to them.
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::groups`, the SQL `storage::groups`.

pub mod editor;
pub mod page;
#[cfg(feature = "ssr")]
use storage::groups as store;

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::views::groups::*;
use domain::{DeliveryId, GroupId, UserId};

#[server(endpoint = "groups/list")]
pub async fn list_groups() -> Result<Vec<GroupView>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Groups)?;
    Ok(store::list(&state.db).await?)
}

#[server(endpoint = "groups/senders")]
pub async fn group_senders() -> Result<GroupReach, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Groups)?;
    Ok(store::senders(&state.db).await?)
}

/// The work zones: every one (the list's filter) or the active ones (a new
/// group's picker: an inactive zone is offered for nothing new).
#[server(endpoint = "groups/zones")]
pub async fn list_work_zones(active_only: bool) -> Result<Vec<(String, String)>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Groups)?;
    Ok(if active_only {
        storage::zones::choices(&state.db).await?
    } else {
        store::work_zones(&state.db).await?
    })
}

#[server(endpoint = "groups/get")]
pub async fn get_group(id: GroupId) -> Result<GroupDetail, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Groups)?;
    Ok(store::detail(&state.db, id).await?)
}

/// Creates or updates a group; answers its id.
#[server(endpoint = "groups/save", input = leptos::server_fn::codec::Json)]
pub async fn save_group(form: GroupForm) -> Result<GroupId, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Groups)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    Ok(store::save(
        &state.db,
        &crate::state::actor(&me),
        &valid,
        crate::time::now_ms(),
    )
    .await?)
}

/// Deletes a group with its members and rules; its past deliveries stay in
/// the log (without the link).
#[server(endpoint = "groups/delete")]
pub async fn delete_group(id: GroupId) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Groups)?;
    Ok(store::delete(
        &state.db,
        &crate::state::actor(&me),
        id,
        crate::time::now_ms(),
    )
    .await?)
}

/// Replaces the member list.
#[server(endpoint = "groups/members", input = leptos::server_fn::codec::Json)]
pub async fn set_members(group_id: GroupId, user_ids: Vec<UserId>) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Groups)?;
    Ok(store::set_members(
        &state.db,
        &crate::state::actor(&me),
        group_id,
        &user_ids,
        crate::time::now_ms(),
    )
    .await?)
}

#[server(endpoint = "groups/rules/add", input = leptos::server_fn::codec::Json)]
pub async fn add_rule(form: RuleForm) -> Result<i64, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Groups)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    Ok(store::add_rule(
        &state.db,
        &crate::state::actor(&me),
        form.group_id,
        valid,
        &form.template,
        crate::time::now_ms(),
    )
    .await?)
}

#[server(endpoint = "groups/rules/delete")]
pub async fn delete_rule(id: i64) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Groups)?;
    Ok(store::delete_rule(
        &state.db,
        &crate::state::actor(&me),
        id,
        crate::time::now_ms(),
    )
    .await?)
}

/// Sends `message` to the group through the configured WhatsApp provider
/// (the sandbox by default), via the outbox like every message; answers the
/// delivery's id, whose progress [`crate::deliveries::get_delivery`] shows.
#[server(endpoint = "groups/test-send")]
pub async fn test_send(group_id: GroupId, message: String) -> Result<DeliveryId, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Groups)?;
    let id = store::test_send(
        &state.db,
        group_id,
        user.id,
        &message,
        crate::time::now_ms(),
    )
    .await?;
    state.wake.notify_one();
    state.feed.added();
    Ok(id)
}
