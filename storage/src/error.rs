//! What can go wrong in storage, as kinds a caller can act on. The words
//! are chosen where the error is shown (the pages in the user's language,
//! the API in English); the driver's own message, which may hold SQL or a
//! connection string, is logged here with a reference and goes no further.

use domain::words::{self, Clash, FieldError, Missing, Named, Words};
use domain::Locale;

/// Why a store did not do what it was asked: a refusal the caller can
/// show (the request's own fault), or a failure of the storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The data clashes with what exists: a unique index refused a row
    /// ([`Clash::Exists`], which the stores that expect one name more
    /// precisely), or a rule of the store's own.
    Conflict(Clash),
    /// What the request names does not exist; a foreign key naming nothing
    /// is [`Missing::Referenced`].
    NotFound(Missing),
    /// The input is wrong, field by field; nothing was written.
    Invalid(Vec<FieldError>),
    /// The database cannot take the work right now: the disk refuses
    /// writes (full, failing, read-only), the server is down or out of
    /// connections. Nothing was written; the same request may succeed in a
    /// few seconds ([`RETRY_AFTER_SECS`]). Logged with `reference`.
    Unavailable { reference: String },
    /// Anything else: a bug or a broken schema. Logged with `reference`.
    Internal { reference: String },
}

impl Error {
    /// One field's refusal.
    pub fn invalid(field: impl Into<String>, message: Words) -> Self {
        Error::Invalid(vec![FieldError::new(field, message)])
    }

    /// The message for one field in `locale`, if this refusal names it.
    pub fn field_in(&self, name: &str, locale: Locale) -> Option<String> {
        match self {
            Error::Invalid(errors) => FieldError::find(errors, name, locale),
            _ => None,
        }
    }

    /// [`Error::field_in`] in Indonesian, the pages' default.
    pub fn field(&self, name: &str) -> Option<String> {
        self.field_in(name, Locale::Id)
    }

    /// A unique index's refusal told as "`what` '`name`' is taken"; any
    /// other error as it is.
    pub fn taken(self, what: Named, name: &str) -> Self {
        match self {
            Error::Conflict(_) => Error::Conflict(Clash::Taken {
                what,
                name: name.to_owned(),
            }),
            other => other,
        }
    }
}

/// What a client is told to wait before trying again after
/// [`Error::Unavailable`] (the `Retry-After` of a 503).
pub const RETRY_AFTER_SECS: u32 = 5;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Conflict(clash) => f.write_str(&clash.message(Locale::En)),
            Error::NotFound(missing) => f.write_str(&missing.message(Locale::En)),
            Error::Invalid(errors) => {
                let fields: Vec<_> = errors.iter().map(|e| e.message.get(Locale::En)).collect();
                write!(f, "invalid: {}", fields.join("; "))
            }
            Error::Unavailable { reference } => {
                f.write_str(&words::unavailable_message(reference, Locale::En))
            }
            Error::Internal { reference } => {
                f.write_str(&words::internal_message(reference, Locale::En))
            }
        }
    }
}

impl std::error::Error for Error {}

/// A short random reference the logs and the user's screen share.
fn reference() -> String {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// Logs an internal failure with a reference the user can quote.
pub fn internal(context: &str, err: &dyn std::fmt::Display) -> Error {
    let reference = reference();
    tracing::error!(reference, "{context}: {err}");
    Error::Internal { reference }
}

/// Logs a failure of the storage itself (not of the request).
pub fn unavailable(context: &str, err: &dyn std::fmt::Display) -> Error {
    let reference = reference();
    tracing::warn!(reference, "{context}: {err}");
    Error::Unavailable { reference }
}

/// SQLite's primary result codes that say the storage, not the statement,
/// failed: busy/locked past the timeout, out of memory, read-only, I/O
/// error, disk full, cannot open, lock protocol.
fn sqlite_storage_failure(extended_code: i32) -> bool {
    matches!(extended_code & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14 | 15)
}

/// PostgreSQL SQLSTATEs that say the server cannot take work now:
/// connection exceptions (08), insufficient resources (53: disk full, out
/// of memory, too many connections), operator intervention (57P01–57P03:
/// shutting down, starting up), a read-only standby (25006), serialization
/// failures and deadlocks (40001, 40P01: the same request may pass).
fn postgres_storage_failure(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || sqlstate.starts_with("53")
        || matches!(
            sqlstate,
            "57P01" | "57P02" | "57P03" | "25006" | "40001" | "40P01"
        )
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    tracing::debug!("database: {db}");
                    Error::Conflict(Clash::Exists)
                }
                ErrorKind::ForeignKeyViolation => {
                    tracing::debug!("database: {db}");
                    Error::NotFound(Missing::Referenced)
                }
                _ => {
                    let code = db.code().unwrap_or_default();
                    let failing = match code.parse::<i32>() {
                        Ok(sqlite) => sqlite_storage_failure(sqlite),
                        Err(_) => postgres_storage_failure(&code),
                    };
                    if failing {
                        unavailable("database", &err)
                    } else {
                        internal("database", &err)
                    }
                }
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed
            | sqlx::Error::InvalidSavePointStatement => unavailable("database", &err),
            _ => internal("database", &err),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        match &err {
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Error::Conflict(Clash::Exists)
            }
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                Error::NotFound(Missing::Referenced)
            }
            rusqlite::Error::SqliteFailure(e, _) if sqlite_storage_failure(e.extended_code) => {
                unavailable("database", &err)
            }
            _ => internal("database", &err),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(e) => e.into(),
            other => internal("migration", &other),
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(err: tokio::task::JoinError) -> Self {
        internal("blocking task", &err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_failures_are_told_from_bugs_by_their_codes() {
        // SQLITE_IOERR_WRITE, SQLITE_FULL, SQLITE_READONLY, SQLITE_BUSY.
        for code in [778, 13, 8, 5] {
            assert!(sqlite_storage_failure(code), "{code}");
        }
        // SQLITE_ERROR (bad SQL), SQLITE_CONSTRAINT_CHECK, SQLITE_MISMATCH.
        for code in [1, 275, 20] {
            assert!(!sqlite_storage_failure(code), "{code}");
        }
        for state in ["08006", "53100", "57P01", "25006", "40001"] {
            assert!(postgres_storage_failure(state), "{state}");
        }
        for state in ["42601", "23514", "22P02"] {
            assert!(!postgres_storage_failure(state), "{state}");
        }
    }

    #[test]
    fn unreachable_databases_and_full_pools_are_unavailable_not_internal() {
        assert!(matches!(
            Error::from(sqlx::Error::PoolTimedOut),
            Error::Unavailable { .. }
        ));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(matches!(
            Error::from(sqlx::Error::Io(io)),
            Error::Unavailable { .. }
        ));
        assert!(matches!(
            Error::from(sqlx::Error::RowNotFound),
            Error::Internal { .. }
        ));
    }
}
