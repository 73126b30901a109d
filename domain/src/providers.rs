//! Provider kinds and their credentials' rules: which channel each kind
//! sends on, its public endpoint, and what it cannot work without. Pure, so
//! the admin page checks a form as the server does; the credentials' values
//! themselves never leave the server.

use crate::kinds::Channel;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Sandbox,
    Fonnte,
    Wablas,
    Woowa,
    Meta,
    /// Email over SMTP (`providers::email`).
    Smtp,
    /// SMS (`providers::sms`).
    Zenziva,
    Twilio,
    /// Voice calls (`providers::voice`): Twilio Programmable Voice.
    TwilioVoice,
    /// Web push (`providers::webpush`): each browser's own push service, so
    /// the account holds only the contact the push services are told.
    WebPush,
}

impl ProviderKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sandbox" => ProviderKind::Sandbox,
            "fonnte" => ProviderKind::Fonnte,
            "wablas" => ProviderKind::Wablas,
            "woowa" => ProviderKind::Woowa,
            "meta" => ProviderKind::Meta,
            "smtp" => ProviderKind::Smtp,
            "zenziva" => ProviderKind::Zenziva,
            "twilio" => ProviderKind::Twilio,
            "twilio_voice" => ProviderKind::TwilioVoice,
            "webpush" => ProviderKind::WebPush,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Sandbox => "sandbox",
            ProviderKind::Fonnte => "fonnte",
            ProviderKind::Wablas => "wablas",
            ProviderKind::Woowa => "woowa",
            ProviderKind::Meta => "meta",
            ProviderKind::Smtp => "smtp",
            ProviderKind::Zenziva => "zenziva",
            ProviderKind::Twilio => "twilio",
            ProviderKind::TwilioVoice => "twilio_voice",
            ProviderKind::WebPush => "webpush",
        }
    }

    /// The channel its accounts send on.
    pub fn channel(self) -> Channel {
        match self {
            ProviderKind::Smtp => Channel::Email,
            ProviderKind::Zenziva | ProviderKind::Twilio => Channel::Sms,
            ProviderKind::TwilioVoice => Channel::Voice,
            ProviderKind::WebPush => Channel::Push,
            _ => Channel::Whatsapp,
        }
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Fonnte => Some("https://api.fonnte.com"),
            ProviderKind::Woowa => Some("https://notifapi.com"),
            ProviderKind::Meta => Some("https://graph.facebook.com"),
            ProviderKind::Zenziva => Some("https://console.zenziva.net/reguler/api"),
            ProviderKind::Twilio | ProviderKind::TwilioVoice => Some("https://api.twilio.com"),
            // Wablas gives every customer their own server sub-domain.
            ProviderKind::Wablas | ProviderKind::Sandbox => None,
            // Every subscription names its own push service.
            ProviderKind::WebPush => None,
            // The mail server is always the customer's own.
            ProviderKind::Smtp => None,
        }
    }
}

/// Credentials as stored (JSON). `Debug` prints no values.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Fonnte device token, Wablas token.
    pub token: Option<String>,
    /// Wablas secret key (sent as `token.secret`).
    pub secret: Option<String>,
    /// Woowa API key.
    pub key: Option<String>,
    /// Meta access token.
    pub access_token: Option<String>,
    pub phone_number_id: Option<String>,
    /// Meta: the WhatsApp Business Account the number belongs to; its
    /// message templates are synced from it.
    pub waba_id: Option<String>,
    pub api_version: Option<String>,
    /// Meta app secret: verifies X-Hub-Signature-256.
    pub app_secret: Option<String>,
    /// Meta's GET handshake token.
    pub verify_token: Option<String>,
    /// Shared secret in the callback URL of gateways that sign nothing.
    pub webhook_token: Option<String>,
    /// SMTP: the sender (`Name <address>`), the login, and `tls`
    /// (`starttls`, the default with smtp://; `none` for a trusted relay).
    pub from: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: Option<String>,
    /// SMTP: a PEM certificate authority trusted besides the public ones (a
    /// mail server with a private CA).
    pub ca_cert: Option<String>,
    /// Zenziva's API keys.
    pub userkey: Option<String>,
    pub passkey: Option<String>,
    /// Twilio: the account and its auth token (which also signs its
    /// callbacks); the sender is `from` or a messaging service.
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub messaging_service_sid: Option<String>,
    /// Web push: the VAPID `sub` claim, how a push service reaches whoever
    /// runs this server (`mailto:…` or `https://…`, RFC 8292).
    pub subject: Option<String>,
}

/// A webhook token is the only secret of an unsigned gateway callback (it
/// rides in the URL): long enough not to be guessed.
pub const MIN_WEBHOOK_TOKEN_CHARS: usize = 32;

impl Credentials {
    /// What each provider cannot work without.
    pub fn check(&self, kind: ProviderKind) -> Result<(), String> {
        if let Some(t) = self.webhook_token.as_deref().filter(|t| !t.is_empty()) {
            if t.chars().count() < MIN_WEBHOOK_TOKEN_CHARS {
                return Err(format!(
                    "\"webhook_token\" needs at least {MIN_WEBHOOK_TOKEN_CHARS} characters (a random string, e.g. from openssl rand -hex 16)"
                ));
            }
        }
        let need = |field: &Option<String>, name: &str| match field.as_deref() {
            Some(v) if !v.is_empty() => Ok(()),
            _ => Err(format!("{} credentials need \"{name}\"", kind.as_str())),
        };
        match kind {
            ProviderKind::Sandbox => Ok(()),
            ProviderKind::Fonnte => need(&self.token, "token"),
            ProviderKind::Wablas => need(&self.token, "token"),
            ProviderKind::Woowa => need(&self.key, "key"),
            ProviderKind::Meta => need(&self.access_token, "access_token")
                .and(need(&self.phone_number_id, "phone_number_id")),
            ProviderKind::Smtp => {
                need(&self.from, "from")?;
                if self.username.is_some() != self.password.is_some() {
                    return Err(
                        "smtp credentials need both \"username\" and \"password\", or neither"
                            .into(),
                    );
                }
                Ok(())
            }
            ProviderKind::Zenziva => {
                need(&self.userkey, "userkey").and(need(&self.passkey, "passkey"))
            }
            ProviderKind::Twilio => {
                need(&self.account_sid, "account_sid")?;
                need(&self.auth_token, "auth_token")?;
                if need(&self.from, "from").is_err()
                    && need(&self.messaging_service_sid, "messaging_service_sid").is_err()
                {
                    return Err(
                        "twilio credentials need \"from\" or \"messaging_service_sid\"".into(),
                    );
                }
                Ok(())
            }
            // A call needs a number to call from.
            ProviderKind::TwilioVoice => need(&self.account_sid, "account_sid")
                .and(need(&self.auth_token, "auth_token"))
                .and(need(&self.from, "from")),
            ProviderKind::WebPush => {
                need(&self.subject, "subject")?;
                let s = self.subject.as_deref().unwrap_or_default();
                let ok = s.strip_prefix("mailto:").is_some_and(|a| a.contains('@'))
                    || s.strip_prefix("https://").is_some_and(|h| !h.is_empty());
                if ok {
                    Ok(())
                } else {
                    Err("webpush \"subject\" must be mailto:address or an https URL".into())
                }
            }
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 10] = [
        ProviderKind::Sandbox,
        ProviderKind::Fonnte,
        ProviderKind::Wablas,
        ProviderKind::Woowa,
        ProviderKind::Meta,
        ProviderKind::Smtp,
        ProviderKind::Zenziva,
        ProviderKind::Twilio,
        ProviderKind::TwilioVoice,
        ProviderKind::WebPush,
    ];

    /// The credential fields the kind reads (the form's hint).
    pub fn credential_fields(self) -> &'static [&'static str] {
        match self {
            ProviderKind::Sandbox => &[],
            ProviderKind::Fonnte => &["token", "webhook_token"],
            ProviderKind::Wablas => &["token", "secret", "webhook_token"],
            ProviderKind::Woowa => &["key"],
            ProviderKind::Meta => &[
                "access_token",
                "phone_number_id",
                "waba_id",
                "api_version",
                "app_secret",
                "verify_token",
            ],
            ProviderKind::Smtp => &["from", "username", "password", "tls", "ca_cert"],
            ProviderKind::Zenziva => &["userkey", "passkey"],
            ProviderKind::Twilio => &["account_sid", "auth_token", "from", "messaging_service_sid"],
            ProviderKind::TwilioVoice => &["account_sid", "auth_token", "from"],
            ProviderKind::WebPush => &["subject"],
        }
    }

    /// Kinds with no public endpoint: the account must say where.
    pub fn needs_base_url(self) -> bool {
        matches!(self, ProviderKind::Wablas | ProviderKind::Smtp)
    }

    /// Whether its accounts can post to the WhatsApp group chats of the
    /// master data (`1203…@g.us`, the linked-phone gateways' ids). Meta's
    /// Cloud API cannot: its groups are its own, made through its Groups
    /// API, and it answers code 100 for these ids.
    pub fn reaches_gateway_groups(self) -> bool {
        matches!(
            self,
            ProviderKind::Fonnte
                | ProviderKind::Wablas
                | ProviderKind::Woowa
                | ProviderKind::Sandbox
        )
    }

    /// A base URL as the product joins paths to it: no spaces or trailing
    /// slash, and for Wablas without the `/api` (or `/api/v2`) its own
    /// documentation writes after the server (`https://{server}.wablas.com/api`),
    /// since the send path starts with it.
    ///
    /// Likewise the path each kind appends, when it was pasted with the
    /// address from a provider's example: Fonnte's `/send`, Woowa's
    /// `/send_message`, Meta's API version (`/v21.0`; the version is the
    /// credentials' `api_version`), Twilio's `/2010-04-01`.
    pub fn normalise_base_url(self, url: &str) -> String {
        let url = url.trim().trim_end_matches('/');
        let tails: &[&str] = match self {
            ProviderKind::Wablas => &["/api/v2/send-message", "/api/v2", "/api"],
            ProviderKind::Fonnte => &["/send"],
            ProviderKind::Woowa => &["/send_message_group_id", "/send_message"],
            ProviderKind::Twilio | ProviderKind::TwilioVoice => &["/2010-04-01"],
            _ => &[],
        };
        let mut url = tails
            .iter()
            .find_map(|tail| url.strip_suffix(tail))
            .unwrap_or(url)
            .trim_end_matches('/');
        if self == ProviderKind::Meta {
            if let Some((base, last)) = url.rsplit_once('/') {
                let version = last.strip_prefix('v').is_some_and(|v| {
                    !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.')
                });
                if version && base.contains("://") && !base.ends_with('/') {
                    url = base;
                }
            }
        }
        url.to_owned()
    }

    /// Whether `url` is the kind of address this kind talks to. The HTTP
    /// gateways get their token in every request, so only over `https`;
    /// plain `http` only to this machine (a local relay, the tests' fakes),
    /// where it never crosses a network. No user part: it hides the real
    /// host (`https://api.fonnte.com@evil.example`).
    pub fn base_url_ok(self, url: &str) -> bool {
        if self == ProviderKind::Smtp {
            return ["smtp://", "smtps://"]
                .iter()
                .any(|s| url.starts_with(s) && url.len() > s.len());
        }
        let (https, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            (None, None) => return false,
        };
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return false;
        }
        match crate::push::host_of(rest) {
            Ok(host) => https || crate::push::is_loopback_host(&host),
            Err(_) => false,
        }
    }
}

/// Where an account's secrets are sent: its kind, its address (the kind's
/// public one when none is set) and, for SMTP, how the connection is
/// protected and whom it trusts. When any of it changes, the stored
/// secrets are not carried over unasked: a stolen admin session could
/// otherwise point an account at its own host and receive them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub kind: ProviderKind,
    pub base_url: String,
    pub tls: Option<String>,
    pub ca_cert: Option<String>,
}

impl Endpoint {
    pub fn new(kind: ProviderKind, base_url: Option<&str>, credentials: &Credentials) -> Endpoint {
        let base = base_url
            .filter(|u| !u.trim().is_empty())
            .or(kind.default_base_url())
            .unwrap_or("");
        Endpoint {
            kind,
            base_url: kind.normalise_base_url(base),
            tls: credentials.tls.clone().filter(|t| !t.is_empty()),
            ca_cert: credentials.ca_cert.clone().filter(|c| !c.is_empty()),
        }
    }
}

/// The credential fields sent to the endpoint (the ones a changed endpoint
/// would receive). The callbacks' own secrets (`webhook_token`,
/// `app_secret`, `verify_token`) are checked here, never sent out.
pub const SENT_SECRETS: [&str; 8] = [
    "token",
    "secret",
    "key",
    "access_token",
    "password",
    "userkey",
    "passkey",
    "auth_token",
];

/// The stored secrets that must be entered again: when the endpoint
/// changes, every sent secret with a stored value that the edit neither
/// sets nor clears (`stored_set`: the names of the stored fields with a
/// value; `edited`: the names the edit gives, `null` included).
pub fn secrets_to_reenter(
    before: &Endpoint,
    after: &Endpoint,
    stored_set: &[&str],
    edited: &[&str],
) -> Vec<&'static str> {
    if before == after {
        return Vec::new();
    }
    SENT_SECRETS
        .into_iter()
        .filter(|f| stored_set.contains(f) && !edited.contains(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wablas_base_urls_are_taken_as_wablas_documents_them() {
        let w = ProviderKind::Wablas;
        for url in [
            "https://solo.wablas.com",
            "https://solo.wablas.com/",
            " https://solo.wablas.com/api ",
            "https://solo.wablas.com/api/",
            "https://solo.wablas.com/api/v2",
        ] {
            assert_eq!(
                w.normalise_base_url(url),
                "https://solo.wablas.com",
                "{url}"
            );
        }
        for (kind, pasted, base) in [
            (
                ProviderKind::Fonnte,
                "https://api.fonnte.com/send",
                "https://api.fonnte.com",
            ),
            (
                ProviderKind::Woowa,
                "https://notifapi.com/send_message/",
                "https://notifapi.com",
            ),
            (
                ProviderKind::Meta,
                "https://graph.facebook.com/v21.0",
                "https://graph.facebook.com",
            ),
            (
                ProviderKind::Meta,
                "https://graph.facebook.com",
                "https://graph.facebook.com",
            ),
            (
                ProviderKind::Twilio,
                "https://api.twilio.com/2010-04-01",
                "https://api.twilio.com",
            ),
            (
                ProviderKind::Wablas,
                "https://solo.wablas.com/api/v2/send-message",
                "https://solo.wablas.com",
            ),
        ] {
            assert_eq!(kind.normalise_base_url(pasted), base, "{pasted}");
        }
        // A host named like a version stays (only a path segment is cut).
        assert_eq!(
            ProviderKind::Meta.normalise_base_url("http://v2"),
            "http://v2"
        );
        // Other kinds keep their path (Zenziva's is part of the address).
        assert_eq!(
            ProviderKind::Zenziva.normalise_base_url("https://console.zenziva.net/reguler/api/"),
            "https://console.zenziva.net/reguler/api"
        );
    }

    #[test]
    fn every_kind_round_trips_and_sends_on_its_channel() {
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ProviderKind::Twilio.channel(), Channel::Sms);
        assert_eq!(ProviderKind::Smtp.channel(), Channel::Email);
        assert_eq!(ProviderKind::Fonnte.channel(), Channel::Whatsapp);
        assert_eq!(ProviderKind::parse("telegram"), None);
    }

    #[test]
    fn credentials_say_what_is_missing_and_refuse_unknown_fields() {
        let c: Credentials =
            serde_json::from_str(r#"{"account_sid": "AC1", "auth_token": "t"}"#).unwrap();
        assert!(c.check(ProviderKind::Twilio).unwrap_err().contains("from"));
        let c: Credentials =
            serde_json::from_str(r#"{"account_sid": "AC1", "auth_token": "t", "from": "+1"}"#)
                .unwrap();
        assert!(c.check(ProviderKind::Twilio).is_ok());
        assert!(serde_json::from_str::<Credentials>(r#"{"tokn": "x"}"#).is_err());
        assert_eq!(format!("{c:?}"), "Credentials(***)");
        assert!(ProviderKind::Smtp.base_url_ok("smtps://mail.example"));
        assert!(!ProviderKind::Smtp.base_url_ok("https://mail.example"));
        assert!(!ProviderKind::Fonnte.base_url_ok("ftp://x"));
        assert!(ProviderKind::Fonnte.base_url_ok("https://gw.isp.example"));
        assert!(ProviderKind::Fonnte.base_url_ok("http://127.0.0.1:3010"));
        assert!(ProviderKind::Wablas.base_url_ok("http://localhost:8080"));
        assert!(ProviderKind::Meta.base_url_ok("http://[::1]:9"));
        for refused in [
            "http://gw.isp.example",
            "http://10.0.0.5:8080",
            "http://127.0.0.1:@10.0.0.5:8080",
            "https://api.fonnte.com@evil.example",
            "https://",
            "https://a b",
        ] {
            assert!(!ProviderKind::Fonnte.base_url_ok(refused), "{refused}");
        }
        let push = |s: &str| Credentials {
            subject: Some(s.into()),
            ..Credentials::default()
        };
        assert!(push("mailto:noc@isp.example")
            .check(ProviderKind::WebPush)
            .is_ok());
        assert!(push("https://isp.example")
            .check(ProviderKind::WebPush)
            .is_ok());
        assert!(push("noc@isp.example")
            .check(ProviderKind::WebPush)
            .unwrap_err()
            .contains("mailto:"));
        assert!(Credentials::default().check(ProviderKind::WebPush).is_err());
        let hook = |t: &str| Credentials {
            token: Some("device".into()),
            webhook_token: Some(t.into()),
            ..Credentials::default()
        };
        assert!(hook("pendek")
            .check(ProviderKind::Fonnte)
            .unwrap_err()
            .contains("32"));
        assert!(hook(&"a".repeat(32)).check(ProviderKind::Fonnte).is_ok());
        assert_eq!(ProviderKind::WebPush.channel(), Channel::Push);
    }

    #[test]
    fn a_changed_endpoint_asks_for_the_sent_secrets_again() {
        let smtp = |url: &str, tls: Option<&str>| {
            let c = Credentials {
                tls: tls.map(str::to_owned),
                ..Credentials::default()
            };
            Endpoint::new(ProviderKind::Smtp, Some(url), &c)
        };
        let fonnte =
            |url: Option<&str>| Endpoint::new(ProviderKind::Fonnte, url, &Credentials::default());
        let stored = ["token", "webhook_token"];
        // The public address written out, or a pasted send path: the same.
        assert!(secrets_to_reenter(
            &fonnte(None),
            &fonnte(Some("https://api.fonnte.com/send")),
            &stored,
            &[]
        )
        .is_empty());
        // Another host: the token again, the webhook token stays.
        assert_eq!(
            secrets_to_reenter(
                &fonnte(None),
                &fonnte(Some("https://evil.example")),
                &stored,
                &[]
            ),
            ["token"]
        );
        assert!(secrets_to_reenter(
            &fonnte(None),
            &fonnte(Some("https://evil.example")),
            &stored,
            &["token"]
        )
        .is_empty());
        let mail = ["password", "from"];
        assert_eq!(
            secrets_to_reenter(
                &smtp("smtp://mail.isp.example:587", None),
                &smtp("smtp://mail.isp.example:587", Some("none")),
                &mail,
                &[]
            ),
            ["password"]
        );
        let woowa = Endpoint::new(ProviderKind::Woowa, None, &Credentials::default());
        assert_eq!(
            secrets_to_reenter(&fonnte(None), &woowa, &["token"], &[]),
            ["token"]
        );
    }
}
