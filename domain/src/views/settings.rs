//! A user's own notification settings: channel switches, type switches per
//! channel, quiet hours, the WhatsApp number and its verification, and group
//! notifications.
//!
//! The form is validated by [`SettingsForm::validate`] twice with the same
//! code: in the browser as the user types, and on the server before anything is
//! written (the server never trusts the browser's verdict).
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::settings`, the page and server functions
//! `app::settings`.

use crate::preferences::{TypeGroup, SWITCHABLE_CHANNELS};
use crate::quiet::{format_hhmm, parse_hhmm, QuietHours};
use crate::words::FieldError;
use crate::{Channel, PhoneE164, Words};
use serde::{Deserialize, Serialize};

/// One switch of the type × channel grid: `group` is a [`TypeGroup`] key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeSwitch {
    pub group: String,
    pub channel: Channel,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MySettings {
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub whatsapp_enabled: bool,
    pub quiet_hours_enabled: bool,
    /// Minutes after local midnight.
    pub quiet_start_minute: i64,
    pub quiet_end_minute: i64,
    pub quiet_time_zone: String,
    pub critical_bypass_quiet: bool,
    pub receive_group_notifications: bool,
    /// Low-priority notifications as one daily digest at this local time
    /// (minutes after midnight, in the quiet-hours time zone).
    pub digest_enabled: bool,
    pub digest_minute: i64,
    /// Every group × switchable channel, in [`TypeGroup::ALL`] order.
    pub type_switches: Vec<TypeSwitch>,
    /// Names of the WhatsApp groups the user belongs to.
    pub groups: Vec<String>,
    /// A code was sent and can still be entered (until this instant).
    pub code_expires_at: Option<i64>,
}

impl MySettings {
    /// The form as it stands before the user changes anything.
    pub fn to_form(&self) -> SettingsForm {
        SettingsForm {
            phone: self.phone.clone().unwrap_or_default(),
            email_enabled: self.email_enabled,
            push_enabled: self.push_enabled,
            whatsapp_enabled: self.whatsapp_enabled,
            quiet_hours_enabled: self.quiet_hours_enabled,
            quiet_start: format_hhmm(self.quiet_start_minute as u16),
            quiet_end: format_hhmm(self.quiet_end_minute as u16),
            quiet_time_zone: self.quiet_time_zone.clone(),
            critical_bypass_quiet: self.critical_bypass_quiet,
            receive_group_notifications: self.receive_group_notifications,
            digest_enabled: self.digest_enabled,
            digest_time: format_hhmm(self.digest_minute.clamp(0, 1439) as u16),
            type_switches: self.type_switches.clone(),
        }
    }
}

/// What the settings page submits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    /// Empty: no number.
    pub phone: String,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub whatsapp_enabled: bool,
    pub quiet_hours_enabled: bool,
    /// `HH:MM`, as `<input type="time">` gives it.
    pub quiet_start: String,
    pub quiet_end: String,
    pub quiet_time_zone: String,
    pub critical_bypass_quiet: bool,
    pub receive_group_notifications: bool,
    pub digest_enabled: bool,
    /// `HH:MM`: when the digest comes.
    pub digest_time: String,
    pub type_switches: Vec<TypeSwitch>,
}

/// A form that passed [`SettingsForm::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSettings {
    pub phone: Option<PhoneE164>,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub whatsapp_enabled: bool,
    pub quiet: QuietHours,
    pub receive_group_notifications: bool,
    /// Whether the person takes a digest, and its local time (kept when
    /// switched off, for switching on again).
    pub digest_enabled: bool,
    pub digest_minute: u16,
    pub type_switches: Vec<(TypeGroup, Channel, bool)>,
}

impl SettingsForm {
    /// Every problem at once, each naming its field.
    pub fn validate(&self) -> Result<ValidSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let phone = if self.phone.trim().is_empty() {
            // Cleared while WhatsApp is on, the person would silently stop
            // getting WhatsApp: say so, and let them choose.
            if self.whatsapp_enabled {
                errors.push(FieldError::new(
                    "phone",
                    Words::new(
                        "Isi nomor WhatsApp, atau matikan WhatsApp: tanpa nomor tidak ada pesan WhatsApp yang sampai.",
                        "Enter a WhatsApp number, or switch WhatsApp off: without one no WhatsApp message reaches you.",
                    ),
                ));
            }
            None
        } else {
            match PhoneE164::parse(&self.phone) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(FieldError::new("phone", Words::of(|l| e.message(l))));
                    None
                }
            }
        };
        let mut minute = |field: &str, value: &str| match parse_hhmm(value) {
            Ok(m) => m,
            Err(e) => {
                errors.push(FieldError::new(field, Words::of(|l| e.message(l))));
                0
            }
        };
        let start_minute = minute("quiet_start", &self.quiet_start);
        let end_minute = minute("quiet_end", &self.quiet_end);
        let digest_minute = minute("digest_time", &self.digest_time);
        let quiet = QuietHours {
            enabled: self.quiet_hours_enabled,
            start_minute,
            end_minute,
            time_zone: self.quiet_time_zone.clone(),
            critical_bypass: self.critical_bypass_quiet,
        };
        if !errors.iter().any(|e| e.field.starts_with("quiet_")) {
            if let Err(e) = quiet.validate() {
                let field = match e {
                    crate::quiet::QuietHoursError::UnknownTimeZone(_) => "quiet_time_zone",
                    _ => "quiet_end",
                };
                errors.push(FieldError::new(field, Words::of(|l| e.message(l))));
            }
        }
        let mut type_switches = Vec::with_capacity(self.type_switches.len());
        for s in &self.type_switches {
            match TypeGroup::parse(&s.group) {
                Some(g) if SWITCHABLE_CHANNELS.contains(&s.channel) => {
                    type_switches.push((g, s.channel, s.enabled))
                }
                _ => errors.push(FieldError::new(
                    "type_switches",
                    Words::fill(
                        "Jenis '{}' lewat {} tidak dapat diatur.",
                        "'{}' over {} cannot be switched.",
                        &[&s.group, &s.channel],
                    ),
                )),
            }
        }
        if errors.is_empty() {
            Ok(ValidSettings {
                phone,
                email_enabled: self.email_enabled,
                push_enabled: self.push_enabled,
                whatsapp_enabled: self.whatsapp_enabled,
                quiet,
                receive_group_notifications: self.receive_group_notifications,
                digest_enabled: self.digest_enabled,
                digest_minute,
                type_switches,
            })
        } else {
            Err(errors)
        }
    }
}

/// Where a verification code went, for the page to say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSent {
    /// `+62 812-****-7890`: enough to recognise, not to harvest.
    pub masked_phone: String,
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SettingsForm {
        SettingsForm {
            phone: "0812-3456-7890".into(),
            email_enabled: true,
            push_enabled: false,
            whatsapp_enabled: true,
            quiet_hours_enabled: true,
            quiet_start: "22:00".into(),
            quiet_end: "06:00".into(),
            quiet_time_zone: "Asia/Jakarta".into(),
            critical_bypass_quiet: true,
            receive_group_notifications: true,
            digest_enabled: false,
            digest_time: "17:00".into(),
            type_switches: vec![TypeSwitch {
                group: "sla".into(),
                channel: Channel::Whatsapp,
                enabled: false,
            }],
        }
    }

    #[test]
    fn a_good_form_is_normalised() {
        let v = form().validate().unwrap();
        assert_eq!(v.phone.unwrap().as_str(), "+6281234567890");
        assert_eq!((v.quiet.start_minute, v.quiet.end_minute), (1320, 360));
        assert_eq!(
            v.type_switches,
            vec![(TypeGroup::Sla, Channel::Whatsapp, false)]
        );
        // No number: fine with WhatsApp off, named on the number while on.
        let no_phone = SettingsForm {
            phone: "  ".into(),
            whatsapp_enabled: false,
            ..form()
        };
        assert_eq!(no_phone.validate().unwrap().phone, None);
        let cleared = SettingsForm {
            phone: String::new(),
            ..form()
        };
        let errors = cleared.validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "phone");
        assert!(errors[0]
            .message
            .get(crate::Locale::Id)
            .contains("matikan WhatsApp"));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let bad = SettingsForm {
            phone: "0812-abc".into(),
            quiet_start: "25:00".into(),
            type_switches: vec![TypeSwitch {
                group: "sla".into(),
                channel: Channel::InApp,
                enabled: false,
            }],
            ..form()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["phone", "quiet_start", "type_switches"]);
        assert!(
            errors[0].message.id.contains("'a'"),
            "{:?}",
            errors[0].message
        );
    }

    #[test]
    fn a_digest_keeps_its_time_and_a_bad_time_is_named() {
        let on = SettingsForm {
            digest_enabled: true,
            digest_time: "07:30".into(),
            ..form()
        };
        let v = on.validate().unwrap();
        assert_eq!((v.digest_enabled, v.digest_minute), (true, 7 * 60 + 30));
        let bad = SettingsForm {
            digest_time: "7 pagi".into(),
            ..on
        };
        let errors = bad.validate().unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["digest_time"]
        );
    }

    #[test]
    fn an_empty_quiet_window_is_refused_only_when_enabled() {
        let same = SettingsForm {
            quiet_end: "22:00".into(),
            ..form()
        };
        let errors = same.validate().unwrap_err();
        assert_eq!(errors[0].field, "quiet_end");
        assert!(errors[0].message.en.contains("differ"));
        let off = SettingsForm {
            quiet_hours_enabled: false,
            ..same
        };
        assert!(off.validate().is_ok());
    }

    #[test]
    fn unknown_time_zones_are_refused() {
        let bad = SettingsForm {
            quiet_time_zone: "Mars/Olympus".into(),
            ..form()
        };
        assert_eq!(bad.validate().unwrap_err()[0].field, "quiet_time_zone");
    }
}
