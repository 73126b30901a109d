//! One error type for every server function.
//!
//! What the browser may see is spelled out here; anything internal (a database
//! error, a panic in a blocking task) is logged on the server with a reference
//! and reaches the browser only as [`AppError::Internal`] with that reference, so
//! SQL text and connection strings never leave the server.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A problem with one input field, shown next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The message for `field` among `errors`, if any.
    pub fn find(errors: &[FieldError], field: &str) -> Option<String> {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    }
}

/// Shown to people by [`AppError::message`]; `Display` is the same text in
/// Bahasa Indonesia (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    Unauthenticated,
    InvalidCredentials,
    /// The roles that may (comma-separated).
    Forbidden(String),
    /// What was not found, already in the user's language.
    NotFound(String),
    Validation(Vec<FieldError>),
    /// The whole message, already in the user's language.
    Conflict(String),
    /// The storage cannot take the work right now (disk refusing writes,
    /// database down): nothing was saved; the same request may pass in a
    /// few seconds. The reference logged with the failure.
    Unavailable(String),
    /// The reference logged with the internal error.
    Internal(String),
    Transport(String),
}

impl AppError {
    /// A conflict (a unique index refused the row) told as "`what` 'name'
    /// is taken", in the page's language; `what` is (Indonesian, English).
    pub fn or_taken(self, what: (&'static str, &'static str), name: &str) -> AppError {
        match self {
            AppError::Conflict(_) => AppError::Conflict(format!(
                "{} '{name}' {}",
                crate::i18n::tr(what.0, what.1),
                crate::i18n::tr("sudah dipakai.", "is taken.")
            )),
            other => other,
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message_in(domain::Locale::Id))
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// What the page shows, in the page's language. Details composed by the
    /// server already come in the signed-in user's language (see
    /// `crate::i18n::locale`).
    pub fn message(&self) -> String {
        self.message_in(crate::i18n::locale())
    }

    pub fn message_in(&self, locale: domain::Locale) -> String {
        use crate::i18n::fill;
        let tr = |id, en| crate::i18n::pick(locale, id, en);
        match self {
            AppError::Unauthenticated => tr(
                "Silakan masuk terlebih dahulu (sesi tidak ada atau telah berakhir).",
                "Please sign in first (no session, or it has expired).",
            )
            .into(),
            AppError::InvalidCredentials => {
                tr("Email atau kata sandi salah.", "Wrong email or password.").into()
            }
            AppError::Forbidden(roles) => fill(
                tr(
                    "Anda tidak berhak membuka ini (perlu peran: {}).",
                    "You may not open this (it needs the role: {}).",
                ),
                &[roles],
            ),
            AppError::NotFound(what) => fill(tr("Tidak ditemukan: {}", "Not found: {}"), &[what]),
            AppError::Validation(errors) => fill(
                tr("Periksa isian: {}", "Check the form: {}"),
                &[&errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")],
            ),
            AppError::Conflict(message) => message.clone(),
            AppError::Unavailable(reference) => fill(
                tr(
                    "Server sedang tidak dapat menyimpan data (ref {}). Tidak ada yang tersimpan; coba lagi beberapa detik lagi.",
                    "The server cannot save data right now (ref {}). Nothing was saved; try again in a few seconds.",
                ),
                &[reference],
            ),
            AppError::Internal(reference) => fill(
                tr(
                    "Terjadi kesalahan di server (ref {}). Coba lagi nanti.",
                    "Something went wrong on the server (ref {}). Please try again later.",
                ),
                &[reference],
            ),
            AppError::Transport(detail) => fill(
                tr(
                    "Gagal menghubungi server: {}",
                    "Could not reach the server: {}",
                ),
                &[detail],
            ),
        }
    }

    /// The HTTP status a server function answers this error with (they all
    /// leave the handler as 500; the server maps them, see the server's
    /// `error_status`).
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Validation(_) => 422,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }

    /// The message for one field, if this is a validation error naming it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation(errors) => FieldError::find(errors, name),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // A form field that does not deserialise (e.g. a missing field in a
            // hand-made POST) is the caller's mistake, not ours.
            ServerFnErrorErr::Args(msg) => AppError::invalid("form", msg),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::AppError;

    /// Logs an internal failure with a short reference the user can quote.
    pub fn internal(context: &str, err: &dyn std::fmt::Display) -> AppError {
        storage::error::internal(context, err).into()
    }

    impl From<storage::Error> for AppError {
        /// A unique index refusing a row is a conflict with data that
        /// exists (the stores that expect one name it; see
        /// [`AppError::or_taken`]); a foreign key naming nothing is a
        /// reference to something gone.
        fn from(err: storage::Error) -> Self {
            match err {
                storage::Error::Conflict => AppError::Conflict(
                    crate::i18n::tr("Data itu sudah ada.", "That already exists.").into(),
                ),
                storage::Error::Missing => AppError::NotFound(
                    crate::i18n::tr("data yang dirujuk", "the data referred to").into(),
                ),
                storage::Error::Unavailable { reference } => AppError::Unavailable(reference),
                storage::Error::Internal { reference } => AppError::Internal(reference),
            }
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            storage::Error::from(err).into()
        }
    }

    impl From<sqlx::migrate::MigrateError> for AppError {
        fn from(err: sqlx::migrate::MigrateError) -> Self {
            storage::Error::from(err).into()
        }
    }

    impl From<tokio::task::JoinError> for AppError {
        fn from(err: tokio::task::JoinError) -> Self {
            internal("blocking task", &err)
        }
    }
}

#[cfg(feature = "ssr")]
pub use server::internal;
