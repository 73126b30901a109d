//! Message templates: listed and saved by admins. Saving checks the syntax and
//! every `{variable}` against the known ones, with the same domain code the
//! browser uses for its live preview.
//!
//! Here: the plain data its page and the server share — which keys and
//! channels have templates, which template is in effect for a channel
//! (the renderer's own rule, [`in_effect`]) and the form's checks. The SQL
//! is `storage::templates`, the page and server functions `app::templates`.

use crate::defaults::{DefaultTemplate, TEMPLATES};
use crate::template::{template_channels, Template, TemplateError};
use crate::words::FieldError;
use crate::{Channel, Locale, NotificationType, SystemMessage, Words};
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

/// System messages that are worded by a template (the others are built
/// in code).
pub const SYSTEM_KEYS: &[SystemMessage] = &[
    SystemMessage::PhoneVerification,
    SystemMessage::PasswordReset,
];

/// Every key a template may have, with its name in `locale`: the 18 types,
/// then the system's own messages.
pub fn keys(locale: Locale) -> Vec<(&'static str, &'static str)> {
    NotificationType::ALL
        .iter()
        .map(|t| (t.as_str(), t.label(locale)))
        .chain(SYSTEM_KEYS.iter().map(|s| (s.as_str(), s.label(locale))))
        .collect()
}

pub fn is_key(key: &str) -> bool {
    NotificationType::parse(key).is_ok() || SYSTEM_KEYS.iter().any(|s| s.as_str() == key)
}

/// The channels a template may be written for, in the page's order.
pub const CHANNELS: [Channel; 5] = [
    Channel::Whatsapp,
    Channel::Sms,
    Channel::Email,
    Channel::InApp,
    Channel::Push,
];

/// The shipped default for exactly (key, channel, locale), if there is one.
pub fn default_for(
    key: &str,
    channel: Channel,
    locale: Locale,
) -> Option<&'static DefaultTemplate> {
    TEMPLATES
        .iter()
        .find(|t| t.key == key && t.channel == channel && t.locale == locale)
}

/// The variables messages of `key` carry, as its shipped WhatsApp text in
/// Indonesian uses them: those it needs (an event without one is refused,
/// naming it) and every one it uses, sorted. The page's chips and the API
/// document both say this; an admin's own template may use others.
pub fn documented_variables(key: &str) -> (Vec<String>, Vec<String>) {
    default_for(key, Channel::Whatsapp, Locale::Id)
        .and_then(|d| crate::template::Template::parse(d.body).ok())
        .map(|t| {
            let owned = |set: std::collections::BTreeSet<&str>| {
                set.into_iter().map(str::to_owned).collect::<Vec<_>>()
            };
            (owned(t.required()), owned(t.variables()))
        })
        .unwrap_or_default()
}

/// Which template words a `channel` message in `locale`: the reader's
/// language first, then Indonesian; within each, the channel's own template
/// and then those of [`template_channels`]. `find` answers whether
/// (channel, locale) has one. The dispatcher and the page both ask this, so
/// the page says truthfully which text goes out.
pub fn in_effect<T>(
    channel: Channel,
    locale: Locale,
    mut find: impl FnMut(Channel, Locale) -> Option<T>,
) -> Option<T> {
    [locale, Locale::Id]
        .into_iter()
        .find_map(|l| template_channels(channel).iter().find_map(|&c| find(c, l)))
}

/// An admin's edit of one template, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateForm {
    pub key: String,
    pub channel: String,
    pub locale: String,
    /// Email only; blank means the usual subject (type, priority, ticket).
    pub subject: String,
    pub body: String,
}

/// A form that passed [`TemplateForm::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTemplate {
    pub key: String,
    pub channel: Channel,
    pub locale: Locale,
    pub subject: Option<String>,
    pub body: String,
}

impl TemplateForm {
    /// Every problem at once, each on its field, in both languages.
    pub fn validate(&self) -> Result<ValidTemplate, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_key(&self.key) {
            errors.push(FieldError::new(
                "key",
                Words::fill(
                    "jenis notifikasi '{}' tidak dikenal",
                    "unknown notification type '{}'",
                    &[&self.key],
                ),
            ));
        }
        let channel = Channel::parse(&self.channel)
            .ok()
            .filter(|c| CHANNELS.contains(c));
        if channel.is_none() {
            errors.push(FieldError::new(
                "channel",
                Words::fill(
                    "saluran '{}' tidak memakai template",
                    "channel '{}' has no templates",
                    &[&self.channel],
                ),
            ));
        }
        let locale = Locale::parse(&self.locale).ok();
        if locale.is_none() {
            errors.push(FieldError::new(
                "locale",
                Words::fill(
                    "bahasa '{}' tidak dikenal",
                    "unknown language '{}'",
                    &[&self.locale],
                ),
            ));
        }
        if let Err(e) = Template::parse_checked(&self.body) {
            errors.push(FieldError::new("body", Words::of(|l| e.message(l))));
        }
        let subject = self.subject.trim();
        let subject = match (channel, subject.is_empty()) {
            (_, true) => None,
            (Some(Channel::Email), false) => {
                match Template::parse_checked(subject) {
                    Err(e) => errors.push(FieldError::new("subject", Words::of(|l| e.message(l)))),
                    Ok(_) if subject.contains('\n') => errors.push(FieldError::new(
                        "subject",
                        Words::new("subjek harus satu baris", "the subject must be one line"),
                    )),
                    Ok(_) => {}
                }
                Some(subject.to_owned())
            }
            (_, false) => {
                errors.push(FieldError::new(
                    "subject",
                    Words::new("hanya email yang punya subjek", "only email has a subject"),
                ));
                None
            }
        };
        match (channel, locale) {
            (Some(channel), Some(locale)) if errors.is_empty() => Ok(ValidTemplate {
                key: self.key.clone(),
                channel,
                locale,
                subject,
                body: self.body.clone(),
            }),
            _ => Err(errors),
        }
    }
}

/// The body's check alone, as the editor shows it while typing.
pub fn check_body(body: &str) -> Result<Template, TemplateError> {
    Template::parse_checked(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(channel: &str, subject: &str, body: &str) -> TemplateForm {
        TemplateForm {
            key: "outage".into(),
            channel: channel.into(),
            locale: "id".into(),
            subject: subject.into(),
            body: body.into(),
        }
    }

    #[test]
    fn a_form_names_every_bad_field() {
        let bad = TemplateForm {
            key: "outages".into(),
            channel: "voice".into(),
            locale: "jv".into(),
            subject: "x".into(),
            body: "Halo {nama}".into(),
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["key", "channel", "locale", "body", "subject"]);
        let e = form("email", "{ticket_id", "ok").validate().unwrap_err();
        assert_eq!(e[0].field, "subject");
        let e = form("whatsapp", "Subjek", "ok").validate().unwrap_err();
        assert_eq!(e[0].message.en, "only email has a subject");
    }

    #[test]
    fn a_good_form_is_typed_and_a_blank_subject_is_none() {
        let v = form("email", "  ", "*Gangguan* {location?}")
            .validate()
            .unwrap();
        assert_eq!(v.channel, Channel::Email);
        assert_eq!(v.subject, None);
        let v = form("email", " Gangguan di {work_zone} ", "x")
            .validate()
            .unwrap();
        assert_eq!(v.subject.as_deref(), Some("Gangguan di {work_zone}"));
    }

    #[test]
    fn the_template_in_effect_prefers_the_readers_language_then_the_channel() {
        let have = [
            (Channel::Whatsapp, Locale::Id),
            (Channel::Whatsapp, Locale::En),
            (Channel::InApp, Locale::Id),
        ];
        let find = |c, l| have.contains(&(c, l)).then_some((c, l));
        // English email: no English email or in-app, so English WhatsApp.
        assert_eq!(
            in_effect(Channel::Email, Locale::En, find),
            Some((Channel::Whatsapp, Locale::En))
        );
        // Indonesian push: the Indonesian in-app one.
        assert_eq!(
            in_effect(Channel::Push, Locale::Id, find),
            Some((Channel::InApp, Locale::Id))
        );
        assert_eq!(in_effect(Channel::Sms, Locale::Id, |_, _| None::<()>), None);
    }

    #[test]
    fn every_key_is_listed_once_and_every_type_has_whatsapp_defaults() {
        let keys = keys(Locale::Id);
        assert_eq!(keys.len(), NotificationType::ALL.len() + SYSTEM_KEYS.len());
        for (key, _) in &keys {
            assert!(is_key(key));
            for locale in [Locale::Id, Locale::En] {
                assert!(
                    default_for(key, Channel::Whatsapp, locale).is_some(),
                    "{key}"
                );
            }
        }
        assert!(!is_key("test_send"));
    }
}
