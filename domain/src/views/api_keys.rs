//! API keys for the ticketing system, as admins manage them: made on the
//! API keys page (the key shown once), named, revoked; when each was last
//! used. Only a hash of a key is ever stored.
//!
//! Here: the plain data the page and the server share. The SQL is
//! `storage::api_keys`, the page and server functions `app::api_keys`.

use crate::words::{FieldError, Words};
use serde::{Deserialize, Serialize};

/// A key as the page lists it: never the key, only its first characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    /// `nk_AbCdEfG`: enough to tell keys apart and find a leaked one.
    pub prefix: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    /// Noted at most every 30 seconds per instance (the lookup cache).
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just made: the only time the key itself is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub id: i64,
    pub name: String,
    pub key: String,
}

/// A key's name, trimmed: what the ticketing system is (1–100 characters).
pub fn check_key_name(name: &str) -> Result<String, Vec<FieldError>> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(vec![FieldError::new(
            "name",
            Words::new(
                "Beri nama 1–100 karakter (mis. \"Sistem tiket\").",
                "Give it a name of 1–100 characters (e.g. \"Ticketing system\").",
            ),
        )]);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_needs_a_short_name() {
        assert_eq!(check_key_name("  Sistem tiket ").unwrap(), "Sistem tiket");
        assert!(check_key_name(" ").is_err());
        assert!(check_key_name(&"x".repeat(101)).is_err());
    }
}
