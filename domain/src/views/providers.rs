//! Provider accounts, for admins: every channel's accounts (WhatsApp
//! gateways, SMTP, SMS) with their failover order, pace and price, and a test
//! send per channel. Credentials are write-only: the pages learn which
//! fields are set, never their values.
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::providers`, the page and server functions
//! `app::providers`.

use crate::providers::{Credentials, ProviderKind};
use crate::words::FieldError;
use crate::Channel;
use crate::Words;
use serde::{Deserialize, Serialize};

/// An account as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    pub id: crate::AccountId,
    pub name: String,
    pub kind: String,
    pub channel: Channel,
    pub base_url: Option<String>,
    pub enabled: bool,
    pub failover_order: i64,
    pub rate_limit_per_minute: i64,
    pub price_rupiah: i64,
    pub timeout_ms: i64,
    /// Names of the credential fields that hold a value.
    pub credentials_set: Vec<String>,
    /// Held by a gateway's "too many requests" until then (ms), if it still is.
    pub paused_until: Option<i64>,
    /// Meta: the price per message category (rupiah).
    pub template_prices: std::collections::BTreeMap<String, i64>,
}

impl ProviderView {
    /// The form that edits this account as it is: its credentials left
    /// out, which keeps the stored ones (the page's "Ubah", the command
    /// line's enable and disable).
    pub fn edit_form(&self) -> ProviderForm {
        ProviderForm {
            id: Some(self.id),
            name: self.name.clone(),
            kind: self.kind.clone(),
            channel: self.channel.as_str().into(),
            base_url: self.base_url.clone().unwrap_or_default(),
            credentials: String::new(),
            enabled: self.enabled,
            failover_order: self.failover_order,
            rate_limit_per_minute: self.rate_limit_per_minute,
            price_rupiah: self.price_rupiah,
            timeout_ms: self.timeout_ms,
            template_prices: self.template_prices.clone(),
        }
    }
}

/// The account form (create when `id` is `None`). `Debug` hides the
/// credentials.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderForm {
    pub id: Option<crate::AccountId>,
    pub name: String,
    pub kind: String,
    /// Only the sandbox chooses; the others send on their own channel.
    pub channel: String,
    /// Empty: the kind's public endpoint.
    pub base_url: String,
    /// A JSON object of credential fields to set; `null` clears one, a field
    /// left out keeps its stored value. Empty: no change.
    pub credentials: String,
    pub enabled: bool,
    pub failover_order: i64,
    pub rate_limit_per_minute: i64,
    pub price_rupiah: i64,
    pub timeout_ms: i64,
    /// Meta: the price per message category (rupiah); a category left out
    /// costs `price_rupiah`.
    pub template_prices: std::collections::BTreeMap<String, i64>,
}

impl Default for ProviderForm {
    fn default() -> Self {
        ProviderForm {
            id: None,
            name: String::new(),
            kind: "fonnte".into(),
            channel: "whatsapp".into(),
            base_url: String::new(),
            credentials: String::new(),
            enabled: true,
            failover_order: 10,
            rate_limit_per_minute: 20,
            price_rupiah: 0,
            timeout_ms: 10_000,
            template_prices: Default::default(),
        }
    }
}

/// A form that passed [`ProviderForm::validate`]. `Debug` names the
/// credential fields, never their values.
#[derive(Clone, PartialEq)]
pub struct ValidProvider {
    pub id: Option<crate::AccountId>,
    pub name: String,
    pub kind: ProviderKind,
    pub channel: Channel,
    pub base_url: Option<String>,
    /// The fields to change (`null`: clear).
    pub credentials: serde_json::Map<String, serde_json::Value>,
    pub enabled: bool,
    pub failover_order: i64,
    pub rate_limit_per_minute: i64,
    pub price_rupiah: i64,
    pub timeout_ms: i64,
    pub template_prices: std::collections::BTreeMap<String, i64>,
}

impl std::fmt::Debug for ProviderForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderForm")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("base_url", &self.base_url)
            .field(
                "credentials",
                &format!("<{} bytes hidden>", self.credentials.len()),
            )
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ValidProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidProvider")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Channels an account can serve.
pub const ACCOUNT_CHANNELS: [Channel; 5] = [
    Channel::Whatsapp,
    Channel::Email,
    Channel::Sms,
    Channel::Voice,
    Channel::Push,
];

impl ProviderForm {
    /// Checked in the browser and again on the server. Whether the stored
    /// and the new credentials together are complete is the server's check
    /// (only it knows what is stored).
    pub fn validate(&self) -> Result<ValidProvider, Vec<FieldError>> {
        let t = |id: &str, en: &str| Words::new(id, en);
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                t(
                    "Nama akun wajib diisi (paling panjang 100 karakter).",
                    "The account needs a name (at most 100 characters).",
                ),
            ));
        }
        let kind = ProviderKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                t("Pilih jenis penyedia.", "Choose the provider kind."),
            ));
        }
        let channel = match kind {
            Some(ProviderKind::Sandbox) => match Channel::parse(&self.channel) {
                Ok(c) if ACCOUNT_CHANNELS.contains(&c) => Some(c),
                _ => {
                    errors.push(FieldError::new(
                        "channel",
                        t(
                            "Sandbox: pilih kanal WhatsApp, email, SMS, telepon atau push.",
                            "Sandbox: choose WhatsApp, email, SMS, voice or push.",
                        ),
                    ));
                    None
                }
            },
            Some(k) => Some(k.channel()),
            None => None,
        };
        let base_url = base_url(kind, &self.base_url, &mut errors);
        let credentials = credentials(&self.credentials, &mut errors);
        self.check_figures(&mut errors);
        match (kind, channel, errors.is_empty()) {
            (Some(kind), Some(channel), true) => Ok(ValidProvider {
                id: self.id,
                name,
                kind,
                channel,
                base_url: (!base_url.is_empty()).then_some(base_url),
                credentials,
                enabled: self.enabled,
                failover_order: self.failover_order,
                rate_limit_per_minute: self.rate_limit_per_minute,
                price_rupiah: self.price_rupiah,
                timeout_ms: self.timeout_ms,
                // Only Meta bills by category.
                template_prices: if kind == ProviderKind::Meta {
                    self.template_prices.clone()
                } else {
                    Default::default()
                },
            }),
            _ => Err(errors),
        }
    }

    /// The pace, price, timeout, order and Meta's category prices within
    /// their ranges.
    fn check_figures(&self, errors: &mut Vec<FieldError>) {
        let t = |id: &str, en: &str| Words::new(id, en);
        let ranges = [
            (
                "rate_limit_per_minute",
                self.rate_limit_per_minute,
                1,
                100_000,
            ),
            ("price_rupiah", self.price_rupiah, 0, 1_000_000),
            ("timeout_ms", self.timeout_ms, 100, 120_000),
            ("failover_order", self.failover_order, -1000, 1000),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                errors.push(FieldError::new(
                    field,
                    Words::fill(
                        "Isi antara {} dan {}.",
                        "Enter a value from {} to {}.",
                        &[&min, &max],
                    ),
                ));
            }
        }
        for (category, price) in &self.template_prices {
            if !crate::meta_template::PRICE_CATEGORIES.contains(&category.as_str()) {
                errors.push(FieldError::new(
                    "template_prices",
                    Words::fill(
                        "Kategori harga tidak dikenal: {} (utility, marketing, authentication, service).",
                        "Unknown price category: {} (utility, marketing, authentication, service).",
                        &[category],
                    ),
                ));
            } else if !(0..=1_000_000).contains(price) {
                errors.push(FieldError::new(
                    "template_prices",
                    t(
                        "Harga per kategori antara 0 dan 1000000.",
                        "A category's price is from 0 to 1000000.",
                    ),
                ));
            }
        }
    }
}

/// The account's server address, normalised for its kind; refused when the
/// kind needs one and it is missing, or it is not https (http only to this
/// machine) or carries a user name.
fn base_url(kind: Option<ProviderKind>, given: &str, errors: &mut Vec<FieldError>) -> String {
    let t = |id: &str, en: &str| Words::new(id, en);
    let base_url = match kind {
        Some(k) => k.normalise_base_url(given),
        None => given.trim().trim_end_matches('/').to_owned(),
    };
    if let Some(k) = kind {
        if base_url.is_empty() && k.needs_base_url() {
            errors.push(FieldError::new(
                "base_url",
                t(
                    "Jenis ini perlu alamat server (Wablas: https://<server>.wablas.com; SMTP: smtp://host:587 atau smtps://host:465).",
                    "This kind needs a server address (Wablas: https://<server>.wablas.com; SMTP: smtp://host:587 or smtps://host:465).",
                ),
            ));
        } else if !base_url.is_empty() && !k.base_url_ok(&base_url) {
            errors.push(FieldError::new(
                "base_url",
                match k {
                    ProviderKind::Smtp => t(
                        "Alamat SMTP diawali smtp:// atau smtps://.",
                        "An SMTP address starts with smtp:// or smtps://.",
                    ),
                    _ => t(
                        "Alamat diawali https:// (http:// hanya ke mesin ini, mis. http://127.0.0.1:8080), tanpa nama pengguna.",
                        "The address starts with https:// (http:// only to this machine, e.g. http://127.0.0.1:8080), without a user name.",
                    ),
                },
            ));
        }
    }
    base_url
}

/// The credentials' JSON object as typed; names the account kinds do not
/// know, and values that are not text, are refused here, not stored.
fn credentials(
    text: &str,
    errors: &mut Vec<FieldError>,
) -> serde_json::Map<String, serde_json::Value> {
    let t = |id: &str, en: &str| Words::new(id, en);
    match text.trim() {
        "" => serde_json::Map::new(),
        text => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => {
                // Unknown names are refused here, not silently stored.
                let set: serde_json::Map<_, _> = map
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if let Err(e) =
                    serde_json::from_value::<Credentials>(serde_json::Value::Object(set))
                {
                    errors.push(FieldError::new(
                        "credentials",
                        Words::fill(
                            "Isian kredensial tidak dikenal atau bukan teks: {}",
                            "Unknown or non-text credential field: {}",
                            &[&e],
                        ),
                    ));
                }
                map
            }
            _ => {
                errors.push(FieldError::new(
                    "credentials",
                    t(
                        "Kredensial ditulis sebagai objek JSON, mis. {\"token\": \"…\"}.",
                        "Credentials are a JSON object, e.g. {\"token\": \"…\"}.",
                    ),
                ));
                serde_json::Map::new()
            }
        },
    }
}

/// A test send: one message on one channel to one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTest {
    pub channel: String,
    /// A phone number (WhatsApp, SMS) or an email address.
    pub recipient: String,
    pub message: String,
}

/// A test that passed [`ChannelTest::validate`]: the recipient normalised,
/// the text as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTest {
    pub channel: Channel,
    pub recipient: String,
    /// In both languages: the sender's is chosen when it is queued.
    pub subject: Option<Words>,
    pub message: String,
}

impl ChannelTest {
    pub fn validate(&self) -> Result<ValidTest, Vec<FieldError>> {
        let t = |id: &str, en: &str| Words::new(id, en);
        let mut errors = Vec::new();
        let channel = Channel::parse(&self.channel)
            .ok()
            .filter(|c| ACCOUNT_CHANNELS.contains(c));
        if channel.is_none() {
            errors.push(FieldError::new(
                "channel",
                t(
                    "Pilih WhatsApp, email, SMS, telepon atau push.",
                    "Choose WhatsApp, email, SMS, voice or push.",
                ),
            ));
        }
        let text = match crate::views::deliveries::check_test_message(&self.message) {
            Ok(text) => text,
            Err(e) => {
                errors.push(e);
                ""
            }
        };
        let recipient = self.recipient.trim();
        let recipient = match channel {
            Some(Channel::Email) => {
                if crate::email::plausible_address(recipient) {
                    Some(recipient.to_owned())
                } else {
                    errors.push(FieldError::new(
                        "recipient",
                        t(
                            "Tulis alamat email, mis. nama@contoh.id.",
                            "Enter an email address, e.g. name@example.com.",
                        ),
                    ));
                    None
                }
            }
            // A test push goes to the sender's own devices.
            Some(Channel::Push) => Some(String::new()),
            Some(_) => match crate::PhoneE164::parse(recipient) {
                Ok(p) => Some(p.as_str().to_owned()),
                Err(e) => {
                    errors.push(FieldError::new("recipient", Words::of(|l| e.message(l))));
                    None
                }
            },
            None => None,
        };
        match (channel, recipient, errors.is_empty()) {
            (Some(channel), Some(recipient), true) => Ok(ValidTest {
                channel,
                recipient,
                subject: matches!(channel, Channel::Email | Channel::Push)
                    .then(|| t("Uji kirim Notifikasi ISP", "ISP Notifications test send")),
                message: match channel {
                    Channel::Sms => crate::sms::from_whatsapp(text),
                    // Read aloud, or shown as a notification: no formatting.
                    Channel::Voice | Channel::Push => crate::sms::plain(text),
                    _ => text.to_owned(),
                },
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> ProviderForm {
        ProviderForm {
            name: "Akun".into(),
            kind: kind.into(),
            ..ProviderForm::default()
        }
    }

    fn fields(r: Result<ValidProvider, Vec<FieldError>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn meta_prices_by_category_are_checked_and_kept_for_meta_only() {
        let priced = |kind: &str, prices: &[(&str, i64)]| ProviderForm {
            template_prices: prices.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            ..form(kind)
        };
        let ok = priced("meta", &[("utility", 356), ("service", 0)])
            .validate()
            .unwrap();
        assert_eq!(ok.template_prices.get("utility"), Some(&356));
        assert_eq!(
            fields(priced("meta", &[("promo", 5), ("marketing", -1)]).validate()),
            ["template_prices", "template_prices"]
        );
        // A gateway bills per message: a category price means nothing there.
        let gateway = priced("fonnte", &[("utility", 356)]).validate().unwrap();
        assert!(gateway.template_prices.is_empty());
    }

    #[test]
    fn debug_output_never_shows_a_credential_value() {
        let f = ProviderForm {
            credentials: r#"{"token": "rahasia-token-123"}"#.into(),
            ..form("fonnte")
        };
        let valid = f.validate().unwrap();
        for shown in [format!("{f:?}"), format!("{valid:?}")] {
            assert!(!shown.contains("rahasia"), "{shown}");
        }
        assert!(format!("{valid:?}").contains("token"), "the field is named");
    }

    #[test]
    fn a_form_is_checked_field_by_field() {
        let ok = form("zenziva").validate().unwrap();
        assert_eq!((ok.kind, ok.channel), (ProviderKind::Zenziva, Channel::Sms));
        let bad = ProviderForm {
            name: " ".into(),
            kind: "telegram".into(),
            credentials: "[1]".into(),
            rate_limit_per_minute: 0,
            ..ProviderForm::default()
        };
        assert_eq!(
            fields(bad.validate()),
            ["name", "kind", "credentials", "rate_limit_per_minute"]
        );
        assert_eq!(fields(form("smtp").validate()), ["base_url"]);
        let smtp = ProviderForm {
            base_url: "https://mail".into(),
            ..form("smtp")
        };
        assert_eq!(fields(smtp.validate()), ["base_url"]);
    }

    #[test]
    fn credentials_are_a_json_object_of_known_fields() {
        let unknown = ProviderForm {
            credentials: r#"{"tokn": "x"}"#.into(),
            ..form("fonnte")
        };
        assert_eq!(fields(unknown.validate()), ["credentials"]);
        let clear = ProviderForm {
            credentials: r#"{"token": "x", "webhook_token": null}"#.into(),
            ..form("fonnte")
        };
        let v = clear.validate().unwrap();
        assert!(
            v.credentials["webhook_token"].is_null(),
            "null clears a field"
        );
    }

    #[test]
    fn only_the_sandbox_chooses_its_channel() {
        let sandbox = ProviderForm {
            channel: "sms".into(),
            ..form("sandbox")
        };
        assert_eq!(sandbox.validate().unwrap().channel, Channel::Sms);
        let fonnte = ProviderForm {
            channel: "sms".into(),
            ..form("fonnte")
        };
        assert_eq!(fonnte.validate().unwrap().channel, Channel::Whatsapp);
        let in_app = ProviderForm {
            channel: "in_app".into(),
            ..form("sandbox")
        };
        assert_eq!(fields(in_app.validate()), ["channel"]);
        let push = ProviderForm {
            channel: "push".into(),
            ..form("sandbox")
        };
        assert_eq!(push.validate().unwrap().channel, Channel::Push);
    }

    #[test]
    fn a_test_push_needs_no_recipient_and_drops_the_formatting() {
        let push = ChannelTest {
            channel: "push".into(),
            recipient: String::new(),
            message: "*Uji* kirim".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(
            (push.recipient.as_str(), push.message.as_str()),
            ("", "Uji kirim")
        );
        assert!(push.subject.is_some());
    }

    #[test]
    fn a_test_send_normalises_its_recipient_and_fits_an_sms() {
        let sms = ChannelTest {
            channel: "sms".into(),
            recipient: "0812-3456-7890".into(),
            message: "*Uji* “kirim” ✅".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(sms.recipient, "+6281234567890");
        assert_eq!(sms.message, "Uji \"kirim\"");
        let email = ChannelTest {
            channel: "email".into(),
            recipient: "bukan-email".into(),
            message: "x".into(),
        };
        assert_eq!(
            email
                .validate()
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>(),
            ["recipient"]
        );
    }
}
