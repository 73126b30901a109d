//! Message templates: listed and saved by admins. Saving checks the syntax and
//! every `{variable}` against the known ones, with the same domain code the
//! browser uses for its live preview.

#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub id: i64,
    pub key: String,
    pub channel: String,
    pub locale: String,
    pub subject: Option<String>,
    pub body: String,
}

#[server(endpoint = "templates/list")]
pub async fn list_templates() -> Result<Vec<TemplateView>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Templates)?;
    store::list(&state.db).await
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
    store::save(
        &state.db,
        &key,
        &channel,
        &locale,
        subject.as_deref(),
        &body,
    )
    .await
}
