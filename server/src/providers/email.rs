//! Email over SMTP with lettre.
//!
//! An account of kind `smtp` has `base_url` `smtp://host:port` (STARTTLS
//! required, or `"tls": "none"` in its credentials for a relay on a trusted
//! network) or `smtps://host:port` (implicit TLS), and credentials
//! `{"from": "Notifikasi <noreply@isp.example>", "username": …, "password": …}`
//! (and `ca_cert`, a PEM CA to trust, for a server with a private one).
//!
//! SMTP's verdicts map onto the dispatcher's classes: a 4xx reply is
//! temporary (back off and retry), a 5xx reply about the mailbox is final
//! for that recipient (failed, with the server's reply), a 5xx about
//! authentication or the sender is the account's problem (next account).

use super::{Account, FailureClass, SendResult};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::collections::HashMap;
use std::time::Duration;

/// One email as the dispatcher hands it over.
pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// The settings page, as `List-Unsubscribe` (staff; a customer has no
    /// settings here).
    pub unsubscribe: Option<&'a str>,
}

/// How the connection is protected.
#[derive(Debug, PartialEq, Eq)]
enum Security {
    StartTls,
    Implicit,
    Plain,
}

#[derive(Debug, PartialEq, Eq)]
struct Server {
    host: String,
    port: u16,
    security: Security,
}

fn server(account: &Account) -> Result<Server, String> {
    let url = account
        .base_url
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            format!(
                "account '{}' needs base_url smtp://host:port or smtps://host:port",
                account.name
            )
        })?;
    let (implicit, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("smtp://") {
        (false, rest)
    } else {
        return Err(format!(
            "account '{}': base_url must start with smtp:// or smtps://",
            account.name
        ));
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .map_err(|_| format!("account '{}': bad port '{port}'", account.name))?,
        ),
        None => (rest, if implicit { 465 } else { 587 }),
    };
    if host.is_empty() {
        return Err(format!("account '{}': base_url has no host", account.name));
    }
    let security = match (implicit, account.credentials.tls.as_deref()) {
        (true, None | Some("implicit")) => Security::Implicit,
        (false, None | Some("starttls")) => Security::StartTls,
        (false, Some("none")) => Security::Plain,
        (_, Some(other)) => {
            return Err(format!(
                "account '{}': tls must be starttls or none with smtp://, implicit with smtps:// (got '{other}')",
                account.name
            ))
        }
    };
    Ok(Server {
        host: host.to_owned(),
        port,
        security,
    })
}

fn transport(account: &Account) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let server = server(account)?;
    let tls = |host: &str| {
        let mut params = TlsParameters::builder(host.to_owned());
        if let Some(pem) = &account.credentials.ca_cert {
            let ca = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("account '{}': ca_cert: {e}", account.name))?;
            params = params.add_root_certificate(ca);
        }
        params.build().map_err(|e| e.to_string())
    };
    let security = match server.security {
        Security::StartTls => Tls::Required(tls(&server.host)?),
        Security::Implicit => Tls::Wrapper(tls(&server.host)?),
        Security::Plain => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host)
        .port(server.port)
        .tls(security)
        .timeout(Some(
            Duration::from_millis(account.timeout_ms.max(1) as u64),
        ));
    let c = &account.credentials;
    if let (Some(user), Some(password)) = (&c.username, &c.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The message as it goes on the wire: multipart plain + HTML, with
/// `List-Unsubscribe` pointing at the settings page.
fn message(account: &Account, email: &Email<'_>) -> Result<Message, SendResult> {
    let from: Mailbox = account
        .credentials
        .from
        .as_deref()
        .ok_or("the account has no from address")
        .and_then(|f| {
            f.parse()
                .map_err(|_| "the account's from address is invalid")
        })
        .map_err(|e| SendResult::failed(FailureClass::Account, e, None))?;
    let to: Mailbox = email.to.parse().map_err(|_| {
        SendResult::failed(
            FailureClass::Recipient,
            format!("invalid email address '{}'", email.to),
            None,
        )
    })?;
    // Our own Message-ID, kept as the delivery's provider message id.
    let mut random = [0u8; 16];
    getrandom::fill(&mut random)
        .map_err(|e| SendResult::failed(FailureClass::Transient, e.to_string(), None))?;
    let message_id = format!("<{}@{}>", hex::encode(random), from.email.domain());
    let mut builder = Message::builder()
        .message_id(Some(message_id))
        .from(from)
        .to(to)
        .subject(email.subject);
    if let Some(url) = email.unsubscribe {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>"),
        ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.to_owned(),
            email.html.to_owned(),
        ))
        .map_err(|e| SendResult::failed(FailureClass::Account, e.to_string(), None))
}

/// One pooled transport per account, so consecutive emails reuse an open,
/// authenticated connection instead of a new TCP + TLS + AUTH each time.
/// An edited account (address, login, TLS, timeout) gets a fresh one.
#[derive(Default)]
pub struct Mailers {
    by_account:
        std::sync::Mutex<HashMap<domain::AccountId, (u64, AsyncSmtpTransport<Tokio1Executor>)>>,
}

impl Mailers {
    fn get(&self, account: &Account) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let key = fingerprint(account);
        let mut map = self.by_account.lock().expect("mailers lock");
        if let Some((k, t)) = map.get(&account.id) {
            if *k == key {
                return Ok(t.clone());
            }
        }
        let t = transport(account)?;
        map.insert(account.id, (key, t.clone()));
        Ok(t)
    }
}

/// What the transport is built from.
fn fingerprint(account: &Account) -> u64 {
    use std::hash::{Hash, Hasher};
    let c = &account.credentials;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        &account.base_url,
        account.timeout_ms,
        &c.username,
        &c.password,
        &c.tls,
        &c.ca_cert,
    )
        .hash(&mut h);
    h.finish()
}

pub async fn send(mailers: &Mailers, account: &Account, email: &Email<'_>) -> SendResult {
    let transport = match mailers.get(account) {
        Ok(t) => t,
        Err(e) => return SendResult::failed(FailureClass::Account, e, None),
    };
    let message = match message(account, email) {
        Ok(m) => m,
        Err(failed) => return failed,
    };
    let message_id = message
        .headers()
        .get_raw("Message-ID")
        .map(|id| id.trim_matches(|c| c == '<' || c == '>').to_owned());
    match transport.send(message).await {
        Ok(reply) => SendResult::Accepted {
            message_id,
            reference: None,
            response: super::clip(&format!(
                "{} {}",
                reply.code(),
                reply.message().collect::<Vec<_>>().join(" ")
            )),
        },
        Err(e) => classify(&e),
    }
}

/// SMTP errors as the dispatcher's failure classes.
fn classify(e: &lettre::transport::smtp::Error) -> SendResult {
    let text = e.to_string();
    let class = if e.is_transient() {
        FailureClass::Transient
    } else if let Some(code) = e.status().filter(|_| e.is_permanent()) {
        permanent(&code.to_string())
    } else if e.is_timeout() {
        FailureClass::Unknown
    } else if text.starts_with("Connection error") {
        // Refused or unreachable before a word was exchanged: safe to try
        // the next account.
        FailureClass::Transient
    } else if e.is_tls() || e.is_client() || e.is_response() {
        FailureClass::Account
    } else {
        FailureClass::Unknown
    };
    SendResult::failed(class, format!("SMTP: {text}"), Some(super::clip(&text)))
}

/// A 5xx reply: whose problem it is (RFC 5321 section 4.2.3, RFC 4954).
fn permanent(code: &str) -> FailureClass {
    match code {
        // Authentication required / failed / too weak / encryption required.
        "530" | "534" | "535" | "538" => FailureClass::Account,
        // The sender was refused (policy on the account's from address).
        "553" | "555" => FailureClass::Account,
        // Mailbox unavailable, user not local, over quota, transaction failed.
        _ => FailureClass::Recipient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::accounts::{Credentials as Stored, ProviderKind};
    use domain::Channel;

    fn account(url: &str, tls: Option<&str>) -> Account {
        Account {
            id: domain::AccountId(1),
            name: "mail".into(),
            kind: ProviderKind::Smtp,
            channel: Channel::Email,
            base_url: Some(url.into()),
            credentials: Stored {
                tls: tls.map(str::to_owned),
                from: Some("Notifikasi <noreply@isp.example>".into()),
                ..Stored::default()
            },
            failover_order: 0,
            rate_limit_per_minute: 60,
            price_rupiah: 0,
            timeout_ms: 5000,
            enabled: true,
            paused_until: None,
            template_prices: Default::default(),
        }
    }

    #[test]
    fn the_url_chooses_the_protection() {
        let s = |url, tls| server(&account(url, tls));
        assert_eq!(
            s("smtp://mail.isp.example:587", None).unwrap(),
            Server {
                host: "mail.isp.example".into(),
                port: 587,
                security: Security::StartTls
            }
        );
        assert_eq!(
            s("smtps://mail.isp.example", None).unwrap().port,
            465,
            "implicit TLS defaults to 465"
        );
        assert_eq!(
            s("smtps://mail.isp.example", None).unwrap().security,
            Security::Implicit
        );
        assert_eq!(
            s("smtp://127.0.0.1:2525", Some("none")).unwrap().security,
            Security::Plain
        );
        assert!(s("smtps://h:465", Some("none")).is_err(), "no plain smtps");
        assert!(s("http://h", None).unwrap_err().contains("smtp://"));
        assert!(s("smtp://h:port", None).unwrap_err().contains("bad port"));
    }

    #[test]
    fn replies_are_classed_by_whose_problem_they_are() {
        assert_eq!(permanent("550"), FailureClass::Recipient);
        assert_eq!(permanent("552"), FailureClass::Recipient);
        assert_eq!(permanent("535"), FailureClass::Account);
        assert_eq!(permanent("553"), FailureClass::Account);
    }

    #[test]
    fn a_bad_recipient_address_fails_before_any_connection() {
        let a = account("smtp://127.0.0.1:1", Some("none"));
        let email = Email {
            to: "not an address",
            subject: "s",
            text: "t",
            html: "<p>t</p>",
            unsubscribe: Some("http://localhost/settings"),
        };
        match message(&a, &email) {
            Err(SendResult::Failed { class, error, .. }) => {
                assert_eq!(class, FailureClass::Recipient);
                assert!(error.contains("invalid email address"), "{error}");
            }
            other => panic!("expected a recipient failure, got {:?}", other.map(|_| ())),
        }
    }
}
