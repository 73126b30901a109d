//! One error type for every server function.
//!
//! What the browser may see is spelled out here; anything internal (a database
//! error, a panic in a blocking task) is logged on the server with a reference
//! and reaches the browser only as [`AppError::Internal`] with that reference, so
//! SQL text and connection strings never leave the server.

pub use domain::words::FieldError;
use domain::words::{
    fill, internal_message, pick, roles_message, unavailable_message, Clash, Missing, Words,
};
use domain::{Locale, Role};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, as a kind and its fields: made wherever it happens
/// (often where no reader's language is known) and put into words where it
/// is shown, by [`AppError::message_in`] (the page: the reader's locale; the
/// API: English). `Display` is the Indonesian text, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    Unauthenticated,
    InvalidCredentials,
    /// The roles that may.
    Forbidden(Vec<Role>),
    NotFound(Missing),
    Validation(Vec<FieldError>),
    Conflict(Clash),
    /// Too many failed sign-ins: try again in this many seconds.
    TooManyAttempts(u64),
    /// The storage cannot take the work right now (disk refusing writes,
    /// database down): nothing was saved; the same request may pass in a
    /// few seconds. The reference logged with the failure.
    Unavailable(String),
    /// The reference logged with the internal error.
    Internal(String),
    /// The browser could not reach the server (the client's own words, for
    /// the console; the page says it in plain words).
    Transport(String),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message_in(Locale::Id))
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: Words) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// The whole message in `locale`.
    pub fn message_in(&self, locale: Locale) -> String {
        let tr = |id, en| pick(locale, id, en);
        match self {
            AppError::Unauthenticated => tr(
                "Silakan masuk terlebih dahulu (sesi tidak ada atau telah berakhir).",
                "Please sign in first (no session, or it has expired).",
            )
            .into(),
            AppError::InvalidCredentials => {
                tr("Email atau kata sandi salah.", "Wrong email or password.").into()
            }
            AppError::Forbidden(roles) => roles_message(roles, locale),
            AppError::TooManyAttempts(secs) => fill(
                tr(
                    "Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {} detik.",
                    "Too many failed sign-in attempts. Try again in {} seconds.",
                ),
                &[secs],
            ),
            AppError::NotFound(what) => what.message(locale),
            AppError::Validation(errors) => fill(
                tr("Periksa isian: {}", "Check the form: {}"),
                &[&errors
                    .iter()
                    .map(|e| e.message.get(locale))
                    .collect::<Vec<_>>()
                    .join("; ")],
            ),
            AppError::Conflict(clash) => clash.message(locale),
            AppError::Unavailable(reference) => unavailable_message(reference, locale),
            AppError::Internal(reference) => internal_message(reference, locale),
            // The browser's own words ("TypeError: Failed to fetch") stay
            // in the console; the reader is told what to do.
            AppError::Transport(_) => tr(
                "Gagal menghubungi server. Periksa koneksi internet Anda, lalu coba lagi.",
                "Could not reach the server. Check your connection, then try again.",
            )
            .into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Validation(_) => 422,
            AppError::TooManyAttempts(_) => 429,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }

    /// The message for one field in `locale`, if this is a validation error
    /// naming it.
    pub fn field_in(&self, name: &str, locale: Locale) -> Option<String> {
        match self {
            AppError::Validation(errors) => FieldError::find(errors, name, locale),
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
            ServerFnErrorErr::Args(msg) => AppError::invalid("form", Words::same(msg)),
            other => {
                leptos::logging::warn!("server function: {other}");
                AppError::Transport(other.to_string())
            }
        }
    }

    /// The error as a server function answers it. On the server this is the
    /// one place its HTTP status is set (401, 403, 404, 409, 422; 503 with
    /// `Retry-After` while storage refuses work); the browser's client reads
    /// any 4xx/5xx body as the error.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        server::set_status(self);
        serde_json::to_vec(self)
            .expect("an AppError is plain data")
            .into()
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::AppError;

    /// Gives the server function's answer the error's status, unless the
    /// request is a plain form post that leptos_axum sends back to its page
    /// (a 302, which must stay one for the browser to follow it).
    pub(super) fn set_status(e: &AppError) {
        use http::{header, HeaderValue, StatusCode};
        use leptos::prelude::use_context;
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        let form_post = use_context::<http::request::Parts>().is_some_and(|p| {
            let html = p
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
            html && p.headers.contains_key(header::REFERER)
        });
        if form_post {
            return;
        }
        if let Ok(status) = StatusCode::from_u16(e.status()) {
            response.set_status(status);
        }
        let retry_after = match e {
            AppError::Unavailable(_) => Some(u64::from(storage::error::RETRY_AFTER_SECS)),
            AppError::TooManyAttempts(secs) => Some(*secs),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }

    /// Logs an internal failure with a short reference the user can quote.
    pub fn internal(context: &str, err: &dyn std::fmt::Display) -> AppError {
        storage::error::internal(context, err).into()
    }

    impl From<storage::Error> for AppError {
        /// The same kinds, one for one.
        fn from(err: storage::Error) -> Self {
            match err {
                storage::Error::Conflict(clash) => AppError::Conflict(clash),
                storage::Error::NotFound(missing) => AppError::NotFound(missing),
                storage::Error::Invalid(errors) => AppError::Validation(errors),
                storage::Error::Unavailable { reference } => AppError::Unavailable(reference),
                storage::Error::Internal { reference } => AppError::Internal(reference),
            }
        }
    }
}

#[cfg(feature = "ssr")]
pub use server::internal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_server_is_told_in_the_readers_words_not_the_browsers() {
        let e = AppError::Transport(
            "error reaching server to call server function: TypeError: Failed to fetch".into(),
        );
        let id = e.message_in(Locale::Id);
        assert!(id.starts_with("Gagal menghubungi server."), "{id}");
        assert!(
            !id.contains("TypeError") && !id.contains("error reaching"),
            "{id}"
        );
        assert!(e
            .message_in(Locale::En)
            .starts_with("Could not reach the server."));
    }
}
