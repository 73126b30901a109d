//! Message templates: listed and saved by admins. Saving checks the syntax and
//! every `{variable}` against the known ones, with the same domain code the
//! browser uses for its live preview.
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::templates`, the page and server functions
//! `app::templates`.

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
