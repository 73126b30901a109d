//! Provider accounts: kind, endpoint, credentials (server-side only), failover
//! order, rate limit and price. Cached for a few seconds: the dispatcher reads
//! them for every message.

use app::db::Db;
use app::error::AppError;
use app::on_db;
use domain::Channel;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

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
        }
    }

    /// The channel its accounts send on.
    pub fn channel(self) -> Channel {
        match self {
            ProviderKind::Smtp => Channel::Email,
            ProviderKind::Zenziva | ProviderKind::Twilio => Channel::Sms,
            _ => Channel::Whatsapp,
        }
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Fonnte => Some("https://api.fonnte.com"),
            ProviderKind::Woowa => Some("https://notifapi.com"),
            ProviderKind::Meta => Some("https://graph.facebook.com"),
            ProviderKind::Zenziva => Some("https://console.zenziva.net/reguler/api"),
            ProviderKind::Twilio => Some("https://api.twilio.com"),
            // Wablas gives every customer their own server sub-domain.
            ProviderKind::Wablas | ProviderKind::Sandbox => None,
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
}

impl Credentials {
    /// What each provider cannot work without.
    pub fn check(&self, kind: ProviderKind) -> Result<(), String> {
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
                need(&self.from, "from")
                    .or(need(&self.messaging_service_sid, "messaging_service_sid"))
            }
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub kind: ProviderKind,
    pub channel: Channel,
    pub base_url: Option<String>,
    pub credentials: Credentials,
    pub failover_order: i64,
    pub rate_limit_per_minute: i64,
    pub price_rupiah: i64,
    pub timeout_ms: i64,
}

impl Account {
    /// The configured base URL, or the provider's public one, without a
    /// trailing slash.
    pub fn base(&self) -> Result<String, String> {
        self.base_url
            .as_deref()
            .filter(|u| !u.is_empty())
            .or(self.kind.default_base_url())
            .map(|u| u.trim_end_matches('/').to_owned())
            .ok_or_else(|| format!("account '{}' needs a base URL", self.name))
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    kind: String,
    channel: String,
    base_url: Option<String>,
    credentials: String,
    failover_order: i64,
    rate_limit_per_minute: i64,
    price_rupiah: i64,
    timeout_ms: i64,
}

/// Every enabled account, in failover order.
pub async fn load_enabled(db: &Db) -> Result<Vec<Account>, AppError> {
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, name, kind, channel, base_url, credentials, failover_order, rate_limit_per_minute,
                price_rupiah, timeout_ms
         FROM provider_accounts WHERE enabled = TRUE ORDER BY failover_order, id"
    )
    .fetch_all(pool)
    .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let kind = ProviderKind::parse(&r.kind);
            let channel = Channel::parse(&r.channel).ok();
            let credentials = serde_json::from_str(&r.credentials);
            match (kind, channel, credentials) {
                (Some(kind), Some(channel), Ok(credentials)) => Some(Account {
                    id: r.id,
                    name: r.name,
                    kind,
                    channel,
                    base_url: r.base_url,
                    credentials,
                    failover_order: r.failover_order,
                    rate_limit_per_minute: r.rate_limit_per_minute,
                    price_rupiah: r.price_rupiah,
                    timeout_ms: r.timeout_ms,
                }),
                _ => {
                    tracing::warn!(account = r.id, kind = %r.kind, "provider account skipped: unknown kind/channel or bad credentials JSON");
                    None
                }
            }
        })
        .collect())
}

/// Accounts, reloaded at most every `ttl`.
pub struct AccountCache {
    db: Db,
    ttl: Duration,
    cached: RwLock<Option<(Instant, Arc<Vec<Account>>)>>,
}

impl AccountCache {
    pub fn new(db: Db, ttl: Duration) -> Self {
        AccountCache {
            db,
            ttl,
            cached: RwLock::new(None),
        }
    }

    pub async fn all(&self) -> Result<Arc<Vec<Account>>, AppError> {
        if let Some((at, accounts)) = &*self.cached.read().await {
            if at.elapsed() < self.ttl {
                return Ok(accounts.clone());
            }
        }
        let fresh = Arc::new(load_enabled(&self.db).await?);
        *self.cached.write().await = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Accounts that carry `channel` (WhatsApp groups go through WhatsApp accounts).
    pub async fn for_channel(&self, channel: Channel) -> Result<Vec<Account>, AppError> {
        let wanted = if channel == Channel::WhatsappGroup {
            Channel::Whatsapp
        } else {
            channel
        };
        Ok(self
            .all()
            .await?
            .iter()
            .filter(|a| a.channel == wanted)
            .cloned()
            .collect())
    }

    pub async fn by_id(&self, id: i64) -> Result<Option<Account>, AppError> {
        Ok(self.all().await?.iter().find(|a| a.id == id).cloned())
    }

    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cached.try_write() {
            *c = None;
        }
    }
}
