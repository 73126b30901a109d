//! Texts in both of the product's languages, and the kinds of refusal the
//! server answers with.
//!
//! An error is made where something goes wrong, often where no one's
//! language is known (a background task, the English API, a store). So it
//! carries what happened, as a kind and its fields, or as [`Words`] in both
//! languages; the one language is chosen where it is shown (the page, in
//! the reader's locale; the API, in English).

use crate::{Locale, Role};
use serde::{Deserialize, Serialize};
use std::fmt::Display;

/// A problem with one input field, shown next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: Words,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: Words) -> Self {
        FieldError {
            field: field.into(),
            message,
        }
    }

    /// The message for `field` among `errors`, if any, in `locale`.
    pub fn find(errors: &[FieldError], field: &str, locale: Locale) -> Option<String> {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.get(locale).to_owned())
    }
}

/// `id` or `en`, as `locale` says.
pub const fn pick(locale: Locale, id: &'static str, en: &'static str) -> &'static str {
    match locale {
        Locale::Id => id,
        Locale::En => en,
    }
}

/// `template` with each `{}` replaced by the next of `args`, so a sentence
/// with values can be translated whole (word order differs between the two).
pub fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16 * args.len());
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        match args.next() {
            Some(a) => out.push_str(&a.to_string()),
            None => out.push_str("{}"),
        }
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// One text in Bahasa Indonesia and in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Words {
    pub id: String,
    pub en: String,
}

impl Words {
    pub fn new(id: impl Into<String>, en: impl Into<String>) -> Self {
        Words {
            id: id.into(),
            en: en.into(),
        }
    }

    /// Both languages of a message that is written per locale.
    pub fn of(message: impl Fn(Locale) -> String) -> Self {
        Words {
            id: message(Locale::Id),
            en: message(Locale::En),
        }
    }

    /// [`fill`] in both languages with the same values.
    pub fn fill(id: &str, en: &str, args: &[&dyn Display]) -> Self {
        Words {
            id: fill(id, args),
            en: fill(en, args),
        }
    }

    /// A text that has no translation (a value, a library's own message).
    pub fn same(text: impl Into<String>) -> Self {
        let text = text.into();
        Words {
            id: text.clone(),
            en: text,
        }
    }

    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::Id => &self.id,
            Locale::En => &self.en,
        }
    }
}

/// What a request named that does not exist (a 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Missing {
    Delivery(crate::DeliveryId),
    Group(crate::GroupId),
    Rule(i64),
    ProviderAccount(crate::AccountId),
    Schedule(i64),
    Policy(i64),
    Alert,
    Device,
    User,
    Settings,
    /// One of one's own sessions (it ended already).
    Session,
    /// The page's address names nothing (not a number where one belongs).
    Page,
    /// A row the request refers to (a foreign key named nothing).
    Referenced,
    ApiKey(i64),
    Zone,
}

impl Missing {
    /// "Not found: …" in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        let t = |id, en| pick(locale, id, en);
        let (what, id): (&str, Option<i64>) = match self {
            Missing::Delivery(id) => (t("pengiriman", "delivery"), Some(id.0)),
            Missing::Group(id) => (t("grup", "group"), Some(id.0)),
            Missing::Rule(id) => (t("aturan", "rule"), Some(*id)),
            Missing::ProviderAccount(id) => (t("akun penyedia", "provider account"), Some(id.0)),
            Missing::Schedule(id) => (t("jadwal laporan", "report schedule"), Some(*id)),
            Missing::Policy(id) => (t("kebijakan eskalasi", "escalation policy"), Some(*id)),
            Missing::Alert => (t("peringatan", "alert"), None),
            Missing::Device => (t("perangkat", "device"), None),
            Missing::User => (t("pengguna", "user"), None),
            Missing::Settings => (t("pengaturan notifikasi", "notification settings"), None),
            Missing::Session => (t("sesi masuk ini", "this session"), None),
            Missing::Page => (t("halaman ini", "this page"), None),
            Missing::Referenced => (t("data yang dirujuk", "the data referred to"), None),
            Missing::ApiKey(id) => (t("kunci API", "API key"), Some(*id)),
            Missing::Zone => (t("zona kerja", "work zone"), None),
        };
        let what = match id {
            Some(id) => format!("{what} #{id}"),
            None => what.to_owned(),
        };
        fill(t("Tidak ditemukan: {}", "Not found: {}"), &[&what])
    }
}

/// Why a request clashes with what is stored (a 409).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Clash {
    /// A unique index refused the row.
    Exists,
    /// A name that must be unique is another record's.
    Taken { what: Named, name: String },
    /// Only a failed delivery can be retried; this one's status word.
    NotRetryable { status: String },
    /// A person has this many push devices already.
    TooManyDevices { max: usize },
    /// The alert was not sent to the person acknowledging it.
    NotRecipient,
    /// A rule of the domain said no, in its own words (a phone code sent
    /// too often, …).
    Refused(Words),
}

/// The records whose names are unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Named {
    Schedule,
    Policy,
}

impl Clash {
    pub fn message(&self, locale: Locale) -> String {
        let t = |id, en| pick(locale, id, en);
        match self {
            Clash::Exists => t("Data itu sudah ada.", "That already exists.").into(),
            Clash::Taken { what, name } => {
                let what = match what {
                    Named::Schedule => t("Nama jadwal", "The schedule name"),
                    Named::Policy => t("Nama kebijakan", "The policy name"),
                };
                fill(
                    t("{} '{}' sudah dipakai.", "{} '{}' is taken."),
                    &[&what, name],
                )
            }
            Clash::NotRetryable { status } => fill(
                t(
                    "Hanya pengiriman yang gagal yang dapat diulang (status: {}).",
                    "Only a failed delivery can be retried (status: {}).",
                ),
                &[&crate::DeliveryStatus::parse(status)
                    .map(|s| s.label(locale).to_owned())
                    .unwrap_or_else(|_| status.clone())],
            ),
            Clash::TooManyDevices { max } => fill(
                t(
                    "Paling banyak {} perangkat: hapus satu dulu.",
                    "At most {} devices: remove one first.",
                ),
                &[max],
            ),
            Clash::NotRecipient => t(
                "Peringatan ini tidak dikirim kepada Anda.",
                "This alert was not sent to you.",
            )
            .into(),
            Clash::Refused(words) => words.get(locale).to_owned(),
        }
    }
}

/// Storage refused a write (a full disk, a lost database): nothing was
/// saved, and trying again shortly may work. `reference` is in the logs.
pub fn unavailable_message(reference: &str, locale: Locale) -> String {
    fill(
        pick(
            locale,
            "Server sedang tidak dapat menyimpan data (ref {}). Tidak ada yang tersimpan; coba lagi beberapa detik lagi.",
            "The server cannot save data right now (ref {}). Nothing was saved; try again in a few seconds.",
        ),
        &[&reference],
    )
}

/// A failure on the server; `reference` is in the logs.
pub fn internal_message(reference: &str, locale: Locale) -> String {
    fill(
        pick(
            locale,
            "Terjadi kesalahan di server (ref {}). Coba lagi nanti.",
            "Something went wrong on the server (ref {}). Please try again later.",
        ),
        &[&reference],
    )
}

/// The roles that may do what was refused, by name.
pub fn roles_message(roles: &[Role], locale: Locale) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.label(locale)).collect();
    fill(
        pick(
            locale,
            "Anda tidak berhak membuka ini (perlu peran: {}).",
            "You may not open this (it needs the role: {}).",
        ),
        &[&names.join(", ")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_placeholders_in_order_and_keeps_extra_ones() {
        assert_eq!(fill("{} dari {} grup", &[&3, &"10"]), "3 dari 10 grup");
        assert_eq!(fill("{} of {}", &[&1]), "1 of {}");
        assert_eq!(fill("tanpa nilai", &[&1]), "tanpa nilai");
        assert_eq!(fill("{}{}", &[&"a", &"b"]), "ab");
    }

    #[test]
    fn words_carry_both_languages_and_are_chosen_when_read() {
        let w = Words::fill("grup #{}", "group #{}", &[&7]);
        assert_eq!(w.get(Locale::Id), "grup #7");
        assert_eq!(w.get(Locale::En), "group #7");
        let of = Words::of(|l| pick(l, "ya", "yes").to_owned());
        assert_eq!((of.id.as_str(), of.en.as_str()), ("ya", "yes"));
    }

    #[test]
    fn refusals_are_told_in_the_readers_language() {
        assert_eq!(
            Missing::Group(crate::GroupId(3)).message(Locale::En),
            "Not found: group #3"
        );
        assert_eq!(
            Missing::Group(crate::GroupId(3)).message(Locale::Id),
            "Tidak ditemukan: grup #3"
        );
        let taken = Clash::Taken {
            what: Named::Policy,
            name: "Gangguan".into(),
        };
        assert_eq!(
            taken.message(Locale::En),
            "The policy name 'Gangguan' is taken."
        );
        let retry = Clash::NotRetryable {
            status: "delivered".into(),
        };
        assert_eq!(
            retry.message(Locale::Id),
            "Hanya pengiriman yang gagal yang dapat diulang (status: Diterima)."
        );
        assert_eq!(
            roles_message(&[Role::Admin, Role::Manager], Locale::En),
            "You may not open this (it needs the role: Admin, Manager)."
        );
    }
}
