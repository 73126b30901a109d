//! Staff accounts as admins manage them: the users page's list, its
//! editor's form and the checks it passes, and the one-time set-password
//! link an admin sends instead of ever seeing or setting a password.
//!
//! Here: the plain data the page and the server share. The SQL is
//! `storage::users` and `storage::password_resets`, the page and server
//! functions `app::users`.

use crate::words::{FieldError, Words};
use crate::{Locale, PhoneE164, Role, UserId};
use serde::{Deserialize, Serialize};

/// How long a set-password link works: a day, as the issue of a new
/// person's first link and a forgotten password's both need.
pub const RESET_TTL_MS: i64 = 24 * 3_600_000;

/// Set-password links per person and hour: enough for a lost message and
/// a retry, too few to flood someone's WhatsApp (or a provider's bill).
pub const MAX_LINKS_PER_HOUR: i64 = 5;

/// A person as the users page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: UserId,
    pub name: String,
    pub email: String,
    /// E.164.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub role: Role,
    pub work_zone: Option<String>,
    pub locale: Locale,
    pub time_zone: String,
    pub active: bool,
    /// The ticketing system's id of a synced person.
    pub external_id: Option<String>,
    /// Has set a password (a new person has not until they use their link).
    pub has_password: bool,
}

/// The users page's filters; empty strings match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFilter {
    /// Part of the name, email, number or external id, any case.
    pub text: String,
    pub role: String,
    /// A zone code, or `-` for people without a zone.
    pub zone: String,
    /// `yes` / `no`.
    pub active: String,
    /// `yes` / `no`: the WhatsApp number is verified.
    pub verified: String,
}

impl UserFilter {
    pub fn matches(&self, u: &UserRow) -> bool {
        let q = self.text.trim().to_lowercase();
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let text = q.is_empty()
            || u.name.to_lowercase().contains(&q)
            || u.email.contains(&q)
            || u.external_id.as_deref().is_some_and(|x| x.to_lowercase().contains(&q))
            // "0812…" finds "+62812…": compare the digits after the 0/62.
            || (digits.len() >= 4
                && u.phone.as_deref().is_some_and(|p| {
                    p.contains(digits.trim_start_matches("62").trim_start_matches('0'))
                }));
        let flag = |want: &str, have: bool| match want {
            "yes" => have,
            "no" => !have,
            _ => true,
        };
        text && (self.role.is_empty() || self.role == u.role.as_str())
            && match self.zone.as_str() {
                "" => true,
                "-" => u.work_zone.is_none(),
                z => u.work_zone.as_deref() == Some(z),
            }
            && flag(&self.active, u.active)
            && flag(&self.verified, u.phone_verified)
    }
}

/// The user editor's form (create when `id` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserForm {
    pub id: Option<UserId>,
    pub name: String,
    pub email: String,
    /// Any Indonesian form; empty: none.
    pub phone: String,
    pub role: String,
    /// Empty: no zone.
    pub work_zone: String,
    pub locale: String,
    pub time_zone: String,
    pub active: bool,
}

impl Default for UserForm {
    fn default() -> Self {
        UserForm {
            id: None,
            name: String::new(),
            email: String::new(),
            phone: String::new(),
            role: Role::Technician.as_str().into(),
            work_zone: String::new(),
            locale: Locale::Id.as_str().into(),
            time_zone: "Asia/Jakarta".into(),
            active: true,
        }
    }
}

impl From<&UserRow> for UserForm {
    fn from(u: &UserRow) -> Self {
        UserForm {
            id: Some(u.id),
            name: u.name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone().unwrap_or_default(),
            role: u.role.as_str().into(),
            work_zone: u.work_zone.clone().unwrap_or_default(),
            locale: u.locale.as_str().into(),
            time_zone: u.time_zone.clone(),
            active: u.active,
        }
    }
}

/// A form that passed [`UserForm::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidUser {
    pub id: Option<UserId>,
    pub name: String,
    /// Lower case.
    pub email: String,
    pub phone: Option<PhoneE164>,
    pub role: Role,
    pub work_zone: Option<String>,
    pub locale: Locale,
    pub time_zone: String,
    pub active: bool,
}

impl UserForm {
    /// Every field's problem at once, in both languages; run in the browser
    /// on submit and again on the server. Whether the email is free and
    /// the zone exists only the server can say.
    pub fn validate(&self) -> Result<ValidUser, Vec<FieldError>> {
        let t = |id: &str, en: &str| Words::new(id, en);
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push(FieldError::new(
                "name",
                t("Nama wajib diisi.", "A name is required."),
            ));
        } else if name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                t(
                    "Nama paling panjang 100 karakter.",
                    "A name is at most 100 characters.",
                ),
            ));
        }
        let email = self.email.trim().to_lowercase();
        if email.is_empty() {
            errors.push(FieldError::new(
                "email",
                t("Email wajib diisi.", "An email address is required."),
            ));
        } else if !crate::email::plausible_address(&email) || email.len() > 254 {
            errors.push(FieldError::new(
                "email",
                t(
                    "Bukan alamat email (mis. rudi@contoh.id).",
                    "Not an email address (e.g. rudi@example.id).",
                ),
            ));
        }
        let phone = match self.phone.trim() {
            "" => None,
            p => PhoneE164::parse(p)
                .map_err(|e| errors.push(FieldError::new("phone", Words::of(|l| e.message(l)))))
                .ok(),
        };
        let role = Role::parse(&self.role)
            .map_err(|_| errors.push(FieldError::new("role", t("Pilih peran.", "Choose a role."))))
            .ok();
        let locale = Locale::parse(&self.locale)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "locale",
                    t("Pilih bahasa.", "Choose a language."),
                ))
            })
            .ok();
        let time_zone = self.time_zone.trim().to_owned();
        if crate::quiet::parse_time_zone(&time_zone).is_none() {
            errors.push(FieldError::new(
                "time_zone",
                t(
                    "Zona waktu tidak dikenal (mis. Asia/Jakarta).",
                    "Unknown time zone (e.g. Asia/Jakarta).",
                ),
            ));
        }
        match (role, locale, errors.is_empty()) {
            (Some(role), Some(locale), true) => Ok(ValidUser {
                id: self.id,
                name,
                email,
                phone,
                role,
                work_zone: Some(self.work_zone.trim().to_owned()).filter(|z| !z.is_empty()),
                locale,
                time_zone,
                active: self.active,
            }),
            _ => Err(errors),
        }
    }
}

/// Where a set-password link went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetSent {
    /// Masked (`+62 812-****-0001`): WhatsApp, when the person has a number.
    pub whatsapp: Option<String>,
    pub email: String,
}

/// The set-password page's form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPassword {
    pub token: String,
    pub new: String,
    pub repeat: String,
}

impl NewPassword {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.new.chars().count() < super::auth::MIN_PASSWORD_CHARS {
            errors.push(FieldError::new(
                "new",
                Words::fill(
                    "Kata sandi minimal {} karakter.",
                    "A password needs at least {} characters.",
                    &[&super::auth::MIN_PASSWORD_CHARS],
                ),
            ));
        }
        if self.repeat != self.new {
            errors.push(FieldError::new(
                "repeat",
                Words::new("Kedua kata sandi tidak sama.", "The two passwords differ."),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The path of a set-password link (the token after it).
pub const SET_PASSWORD_PATH: &str = "/set-password?token=";

/// A set-password link's token replaced, for the delivery log: the link
/// acts in its recipient's name, so the log's readers see that one was sent,
/// not the link itself.
pub fn redact_reset_links(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(SET_PASSWORD_PATH) {
        let end = at + SET_PASSWORD_PATH.len();
        out.push_str(&rest[..end]);
        out.push('…');
        rest = &rest[end..];
        let token_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
            .unwrap_or(rest.len());
        rest = &rest[token_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> UserRow {
        UserRow {
            id: UserId(7),
            name: "Rudi Teknisi".into(),
            email: "rudi@example.id".into(),
            phone: Some("+6281277770001".into()),
            phone_verified: false,
            role: Role::Technician,
            work_zone: Some("karawang".into()),
            locale: Locale::Id,
            time_zone: "Asia/Jakarta".into(),
            active: true,
            external_id: Some("EMP-042".into()),
            has_password: false,
        }
    }

    #[test]
    fn the_filter_finds_by_any_form_of_the_number_and_by_each_field() {
        let f = |text: &str| UserFilter {
            text: text.into(),
            ..UserFilter::default()
        };
        for q in ["rudi", "EXAMPLE.ID", "emp-042", "0812-7777", "62812777", ""] {
            assert!(f(q).matches(&row()), "{q}");
        }
        for q in ["budi", "0813"] {
            assert!(!f(q).matches(&row()), "{q}");
        }
        let by = |role: &str, zone: &str, active: &str, verified: &str| UserFilter {
            text: String::new(),
            role: role.into(),
            zone: zone.into(),
            active: active.into(),
            verified: verified.into(),
        };
        assert!(by("technician", "karawang", "yes", "no").matches(&row()));
        assert!(!by("noc", "", "", "").matches(&row()));
        assert!(!by("", "bekasi", "", "").matches(&row()));
        assert!(!by("", "-", "", "").matches(&row()));
        assert!(!by("", "", "no", "").matches(&row()));
        assert!(!by("", "", "", "yes").matches(&row()));
    }

    #[test]
    fn the_form_names_every_bad_field_in_both_languages() {
        let bad = UserForm {
            name: " ".into(),
            email: "rudi-at-example".into(),
            phone: "0812abc".into(),
            role: "boss".into(),
            time_zone: "Jakarta".into(),
            ..UserForm::default()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "phone", "role", "time_zone"]);
        assert_eq!(
            FieldError::find(&errors, "email", Locale::Id).unwrap(),
            "Bukan alamat email (mis. rudi@contoh.id)."
        );
        let good = UserForm {
            name: " Rudi ".into(),
            email: "Rudi@Example.ID".into(),
            phone: "0812-7777-0001".into(),
            work_zone: "karawang".into(),
            ..UserForm::default()
        }
        .validate()
        .unwrap();
        assert_eq!(good.name, "Rudi");
        assert_eq!(good.email, "rudi@example.id");
        assert_eq!(good.phone.unwrap().as_str(), "+6281277770001");
        assert_eq!(good.work_zone.as_deref(), Some("karawang"));
    }

    #[test]
    fn a_new_password_is_long_enough_and_repeated() {
        let p = |new: &str, repeat: &str| NewPassword {
            token: "t".into(),
            new: new.into(),
            repeat: repeat.into(),
        };
        assert!(p("rahasia-panjang", "rahasia-panjang").validate().is_ok());
        let e = p("pendek", "lain").validate().unwrap_err();
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn reset_links_are_redacted_up_to_their_token() {
        let m = "Atur kata sandi: https://notif.example/set-password?token=AbC_12-x9 (24 jam).\n\
                 Lagi: http://h/set-password?token=zz";
        assert_eq!(
            redact_reset_links(m),
            "Atur kata sandi: https://notif.example/set-password?token=… (24 jam).\n\
             Lagi: http://h/set-password?token=…"
        );
        assert_eq!(redact_reset_links("tanpa tautan"), "tanpa tautan");
    }
}
