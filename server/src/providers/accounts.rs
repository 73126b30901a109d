//! Provider accounts: kind, endpoint, credentials (server-side only), failover
//! order, rate limit and price. Cached for a few seconds: the dispatcher reads
//! them for every message.

use domain::{AccountId, Channel};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::db::Db;
use storage::on_db;
use storage::secrets::Keyring;
use tokio::sync::RwLock;

pub use domain::providers::{Credentials, ProviderKind};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub kind: ProviderKind,
    pub channel: Channel,
    pub base_url: Option<String>,
    pub credentials: Credentials,
    pub failover_order: i64,
    pub rate_limit_per_minute: i64,
    pub price_rupiah: i64,
    pub timeout_ms: i64,
    /// Disabled: sends nothing new, but its receipts and replies are still
    /// taken (messages it sent before go on being delivered and read).
    pub enabled: bool,
    /// A gateway's "too many requests" holds it until then (ms), on every
    /// instance (as loaded; the dispatcher also holds its own at once).
    pub paused_until: Option<i64>,
    /// Meta: the price per message category (rupiah).
    pub template_prices: domain::meta_template::Prices,
}

impl Account {
    /// The configured base URL, or the provider's public one, normalised
    /// (accounts saved before normalisation may still hold Wablas' `/api`).
    pub fn base(&self) -> Result<String, String> {
        self.base_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .or(self.kind.default_base_url())
            .map(|u| self.kind.normalise_base_url(u))
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
    enabled: bool,
    paused_until: Option<i64>,
    template_prices: String,
}

/// Every account, enabled or not, in failover order, its credentials
/// opened with `keys`.
pub async fn load_all(db: &Db, keys: &Keyring) -> Result<Vec<Account>, storage::Error> {
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, name, kind, channel, base_url, credentials, failover_order, rate_limit_per_minute,
                price_rupiah, timeout_ms, enabled, paused_until, template_prices
         FROM provider_accounts ORDER BY failover_order, id"
    )
    .fetch_all(pool)
    .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let kind = ProviderKind::parse(&r.kind);
            let channel = Channel::parse(&r.channel).ok();
            let credentials = keys
                .open_credentials(&r.credentials)
                .map_err(|e| e.to_string())
                .and_then(|map| {
                    serde_json::from_value::<Credentials>(serde_json::Value::Object(map))
                        .map_err(|e| e.to_string())
                });
            match (kind, channel, credentials) {
                (Some(kind), Some(channel), Ok(credentials)) => Some(Account {
                    id: AccountId(r.id),
                    name: r.name,
                    kind,
                    channel,
                    base_url: r.base_url,
                    credentials,
                    failover_order: r.failover_order,
                    rate_limit_per_minute: r.rate_limit_per_minute,
                    price_rupiah: r.price_rupiah,
                    timeout_ms: r.timeout_ms,
                    enabled: r.enabled,
                    paused_until: r.paused_until,
                    template_prices: serde_json::from_str(&r.template_prices)
                        .unwrap_or_default(),
                }),
                (_, _, Err(e)) => {
                    tracing::warn!(account = r.id, "provider account skipped: its credentials cannot be read: {e}");
                    None
                }
                _ => {
                    tracing::warn!(account = r.id, kind = %r.kind, "provider account skipped: unknown kind or channel");
                    None
                }
            }
        })
        .collect())
}

/// Holds an account until `until` (ms) for every instance; a later pause
/// already stored stands.
pub async fn pause(db: &Db, id: AccountId, until: i64) -> Result<(), storage::Error> {
    let id = id.0;
    storage::on_db_write!(db, |pool| {
        sqlx::query(
            "UPDATE provider_accounts SET paused_until = $1
             WHERE id = $2 AND (paused_until IS NULL OR paused_until < $1)",
        )
        .bind(until)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())?
    });
    Ok(())
}

/// Accounts, reloaded at most every `ttl`.
pub struct AccountCache {
    db: Db,
    keys: Keyring,
    ttl: Duration,
    /// Bumped by the admin page's saves (`AppState::providers_changed`): a
    /// change reloads at once instead of after `ttl`.
    pub changed: Arc<std::sync::atomic::AtomicU64>,
    cached: RwLock<Option<Loaded>>,
}

/// When the accounts were loaded, at which `changed` generation, and them.
type Loaded = (Instant, u64, Arc<Vec<Account>>);

impl AccountCache {
    pub fn new(db: Db, keys: Keyring, ttl: Duration) -> Self {
        AccountCache {
            db,
            keys,
            ttl,
            changed: Arc::default(),
            cached: RwLock::new(None),
        }
    }

    /// Every account, the disabled ones too (see [`Account::enabled`]).
    pub async fn all(&self) -> Result<Arc<Vec<Account>>, storage::Error> {
        let generation = self.changed.load(std::sync::atomic::Ordering::Relaxed);
        if let Some((at, seen, accounts)) = &*self.cached.read().await {
            if at.elapsed() < self.ttl && *seen == generation {
                return Ok(accounts.clone());
            }
        }
        let fresh = Arc::new(load_all(&self.db, &self.keys).await?);
        *self.cached.write().await = Some((Instant::now(), generation, fresh.clone()));
        Ok(fresh)
    }

    /// Enabled accounts that carry `channel` (WhatsApp groups go through
    /// WhatsApp accounts).
    pub async fn for_channel(&self, channel: Channel) -> Result<Vec<Account>, storage::Error> {
        let wanted = if channel == Channel::WhatsappGroup {
            Channel::Whatsapp
        } else {
            channel
        };
        Ok(self
            .all()
            .await?
            .iter()
            .filter(|a| a.enabled && a.channel == wanted)
            .cloned()
            .collect())
    }

    /// Any account, enabled or not (webhooks take a disabled one's receipts).
    pub async fn by_id(&self, id: AccountId) -> Result<Option<Account>, storage::Error> {
        Ok(self.all().await?.iter().find(|a| a.id == id).cloned())
    }

    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cached.try_write() {
            *c = None;
        }
    }
}
