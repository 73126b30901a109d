//! Message templates: listed and saved by admins. Saving checks the syntax and
//! every `{variable}` against the known ones, with the same domain code the
//! browser uses for its live preview.
//!
//! Here: the server functions; the page is [`page`]. The types they share are
//! `domain::views::templates`, the SQL `storage::templates`.

#[cfg(feature = "ssr")]
use storage::templates as store;

use crate::error::AppError;
use leptos::prelude::*;

pub mod page;

pub use domain::views::templates::*;

#[server(endpoint = "templates/list")]
pub async fn list_templates() -> Result<Vec<TemplateView>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Templates)?;
    Ok(store::list(&state.db).await?)
}

/// Creates or replaces the template for (key, channel, locale).
#[server(endpoint = "templates/save", input = leptos::server_fn::codec::Json)]
pub async fn save_template(form: TemplateForm) -> Result<i64, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Templates)?;
    let id = store::save(&state.db, &crate::state::actor(&me), &form).await?;
    tracing::info!(template = id, key = %form.key, channel = %form.channel, by = %me.id, "template saved");
    Ok(id)
}

/// Back to the shipped text (or to the next channel's template where the
/// channel ships none).
#[server(endpoint = "templates/reset")]
pub async fn reset_template(key: String, channel: String, locale: String) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Templates)?;
    let form = TemplateForm {
        key: key.clone(),
        channel: channel.clone(),
        locale: locale.clone(),
        subject: String::new(),
        body: "-".into(),
    };
    let valid = form.validate().map_err(AppError::Validation)?;
    store::reset(
        &state.db,
        &crate::state::actor(&me),
        &valid.key,
        valid.channel,
        valid.locale,
    )
    .await?;
    tracing::info!(%key, %channel, %locale, by = %me.id, "template reset to default");
    Ok(())
}
