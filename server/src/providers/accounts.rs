//! Provider accounts (kind, endpoint, opened credentials, failover order,
//! rate limit, price: `storage::providers::Account`), cached for a few
//! seconds: the dispatcher reads them for every message.

use domain::{AccountId, Channel};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::db::Db;
use storage::secrets::Keyring;
use tokio::sync::RwLock;

pub use domain::providers::{Credentials, ProviderKind};
pub use storage::providers::Account;

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
        let fresh = Arc::new(storage::providers::accounts(&self.db, &self.keys).await?);
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
