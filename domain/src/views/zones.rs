//! Work zones as admins manage them (Karawang, Bekasi, Cikampek, …): the
//! code the API and the data use, which never changes, and the name people
//! read, which may. A zone in use is deactivated, not deleted.
//!
//! Here: the plain data the page and the server share. The SQL is
//! `storage::zones`, the page and server functions `app::zones`.

use crate::words::{fill, pick, FieldError, Words};
use crate::Locale;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneView {
    pub code: String,
    pub name: String,
    pub active: bool,
    pub people: i64,
    pub groups: i64,
    pub rules: i64,
    /// Escalation steps aimed at the zone.
    pub steps: i64,
}

impl ZoneView {
    pub fn in_use(&self) -> bool {
        self.people + self.groups + self.rules + self.steps > 0
    }

    /// "3 orang, 1 grup" (what uses it, nothing said of what does not), or
    /// "tidak ada".
    pub fn use_summary(&self, locale: Locale) -> String {
        let t = |id, en| pick(locale, id, en);
        let parts: Vec<String> = [
            (self.people, t("orang", "people")),
            (self.groups, t("grup", "groups")),
            (self.rules, t("aturan grup", "group rules")),
            (self.steps, t("langkah eskalasi", "escalation steps")),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            return t("tidak ada", "nothing").to_owned();
        }
        parts.join(", ")
    }

    /// "Zona ini dipakai oleh 3 orang, 1 grup: nonaktifkan saja, …"
    pub fn use_words(&self, locale: Locale) -> String {
        fill(
            pick(
                locale,
                "Zona ini dipakai oleh {}: nonaktifkan saja, jangan dihapus.",
                "This zone is used by {}: deactivate it instead of deleting it.",
            ),
            &[&self.use_summary(locale)],
        )
    }
}

/// The zone form: a new zone (`new`) or an existing one's name and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneForm {
    pub new: bool,
    pub code: String,
    pub name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidZone {
    pub code: String,
    pub name: String,
    pub active: bool,
}

impl ZoneForm {
    /// A code is 2–32 lower-case letters, digits, `-` or `_` (it goes in
    /// API bodies); a name 1–60 characters.
    pub fn validate(&self) -> Result<ValidZone, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = self.code.trim().to_owned();
        let code_ok = (2..=32).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if self.new && !code_ok {
            errors.push(FieldError::new(
                "code",
                Words::new(
                    "Kode 2–32 huruf kecil, angka, - atau _ (mis. karawang-timur).",
                    "A code is 2–32 lower-case letters, digits, - or _ (e.g. karawang-timur).",
                ),
            ));
        }
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 60 {
            errors.push(FieldError::new(
                "name",
                Words::new(
                    "Nama zona 1–60 karakter.",
                    "A zone name is 1–60 characters.",
                ),
            ));
        }
        if errors.is_empty() {
            Ok(ValidZone {
                code,
                name,
                active: self.active,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_api_words_and_names_are_short() {
        let f = |code: &str, name: &str| ZoneForm {
            new: true,
            code: code.into(),
            name: name.into(),
            active: true,
        };
        assert!(f("karawang-timur", "Karawang Timur").validate().is_ok());
        for bad in ["K", "Karawang", "kara wang", "karawang/2", ""] {
            assert!(f(bad, "X").validate().is_err(), "{bad}");
        }
        assert!(f("bekasi", " ").validate().is_err());
        // An existing zone's code is not checked again (it never changes).
        assert!(ZoneForm {
            new: false,
            ..f("Legacy Code", "Lama")
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn a_zone_in_use_says_by_what() {
        let z = ZoneView {
            code: "karawang".into(),
            name: "Karawang".into(),
            active: true,
            people: 3,
            groups: 1,
            rules: 0,
            steps: 0,
        };
        assert!(z.in_use());
        assert_eq!(z.use_summary(Locale::En), "3 people, 1 groups");
        assert_eq!(
            ZoneView {
                people: 0,
                groups: 0,
                ..z.clone()
            }
            .use_summary(Locale::Id),
            "tidak ada"
        );
        assert_eq!(
            z.use_words(Locale::Id),
            "Zona ini dipakai oleh 3 orang, 1 grup: nonaktifkan saja, jangan dihapus."
        );
    }
}
