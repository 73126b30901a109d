//! Who is signed in, as the pages and the server share it. The sessions
//! are `storage::sessions`; sign-in and the roles' areas `app::auth`.

use crate::words::{FieldError, Words};
use crate::{Locale, Role};
use serde::{Deserialize, Serialize};

/// The signed-in person, as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: crate::UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub work_zone: Option<String>,
    /// The language of the pages and of the messages sent to this user.
    pub locale: Locale,
}

/// The fewest characters a password may have, the first admin's too (NIST
/// SP 800-63B asks at least 8 where, as here, guessing is throttled; 10
/// leaves a margin).
pub const MIN_PASSWORD_CHARS: usize = 10;

/// One of the signed-in person's sessions, as the settings page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Names the session to end it; the start of its token's hash, never
    /// the token (which only the browser holding it has).
    pub handle: String,
    /// "Chrome di Android", from the browser that signed in.
    pub device: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The browser asking.
    pub current: bool,
}

/// The settings page's change of one's own password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub repeat: String,
}

impl PasswordChange {
    /// Every field's problem (the current password is checked by the server).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.current.is_empty() {
            errors.push(FieldError::new(
                "current",
                Words::new(
                    "Isi kata sandi Anda saat ini.",
                    "Enter your current password.",
                ),
            ));
        }
        if self.new.chars().count() < MIN_PASSWORD_CHARS {
            errors.push(FieldError::new(
                "new",
                Words::fill(
                    "Kata sandi baru minimal {} karakter.",
                    "The new password needs at least {} characters.",
                    &[&MIN_PASSWORD_CHARS],
                ),
            ));
        } else if self.new == self.current {
            errors.push(FieldError::new(
                "new",
                Words::new(
                    "Kata sandi baru harus berbeda dari yang sekarang.",
                    "The new password must differ from the current one.",
                ),
            ));
        }
        if self.repeat != self.new {
            errors.push(FieldError::new(
                "repeat",
                Words::new(
                    "Ulangan kata sandi baru tidak sama.",
                    "The repeated new password does not match.",
                ),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(current: &str, new: &str, repeat: &str) -> PasswordChange {
        PasswordChange {
            current: current.into(),
            new: new.into(),
            repeat: repeat.into(),
        }
    }

    fn fields(c: &PasswordChange) -> Vec<String> {
        c.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_password_change_names_each_bad_field() {
        assert!(change("lama-12345", "baru-123456", "baru-123456")
            .validate()
            .is_ok());
        assert_eq!(
            fields(&change("", "pendek", "lain")),
            ["current", "new", "repeat"]
        );
        assert_eq!(
            fields(&change("sama-123456", "sama-123456", "sama-123456")),
            ["new"]
        );
        // Ten characters, counted as characters, not bytes.
        assert!(change("x", "katasándi1", "katasándi1").validate().is_ok());
        assert_eq!(fields(&change("x", "katasándi", "katasándi")), ["new"]);
    }
}
