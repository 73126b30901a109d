//! Message templates: listed and saved by admins. Saving checks the syntax and
//! every `{variable}` against the known ones, with the same domain code the
//! browser uses for its live preview.
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::templates`, the SQL `storage::templates`.

#[cfg(feature = "ssr")]
use storage::templates as store;

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::views::templates::*;

#[server(endpoint = "templates/list")]
pub async fn list_templates() -> Result<Vec<TemplateView>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Templates)?;
    Ok(store::list(&state.db).await?)
}

/// Creates or replaces the template for (key, channel, locale).
#[server(endpoint = "templates/save")]
pub async fn save_template(
    key: String,
    channel: String,
    locale: String,
    subject: Option<String>,
    body: String,
) -> Result<i64, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Templates)?;
    Ok(store::save(
        &state.db,
        &key,
        &channel,
        &locale,
        subject.as_deref(),
        &body,
    )
    .await?)
}
