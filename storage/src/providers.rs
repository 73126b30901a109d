//! Provider accounts' SQL. Credentials are stored sealed
//! (`crate::secrets`) and opened here only to merge an edit into them;
//! what leaves is the names of the fields that are set.

use crate::audit::{audit_saved, Actor};
use crate::db::Db;
use crate::outbox::{insert_event, NewDelivery, NewEvent};
use crate::secrets::{credential_fields, fields_set, Keyring};
use crate::Error;
use crate::{in_tx, on_db};
use domain::providers::{Credentials, ProviderKind};
use domain::views::providers::{ProviderView, ValidProvider, ValidTest};
use domain::words::FieldError;
use domain::words::{Missing, Words};
use domain::{AccountId, Channel, DeliveryId, UserId};
use serde_json::{Map, Value};

#[derive(sqlx::FromRow)]
struct Row {
    id: AccountId,
    name: String,
    kind: String,
    channel: String,
    base_url: Option<String>,
    credentials: String,
    enabled: bool,
    failover_order: i64,
    rate_limit_per_minute: i64,
    price_rupiah: i64,
    timeout_ms: i64,
    paused_until: Option<i64>,
    template_prices: String,
}

/// A provider account as written: the one INSERT of `provider_accounts`
/// (the page's save, the seed, the tests and tools).
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub kind: ProviderKind,
    /// The kind's own, but the sandbox may stand in on any channel.
    pub channel: Channel,
    pub base_url: Option<&'a str>,
    /// As stored: [`save`] seals them; plain JSON (the seed, tests) is sealed
    /// at the next start (`secrets::reseal`).
    pub credentials: &'a str,
    pub enabled: bool,
    pub failover_order: i64,
    pub rate_limit_per_minute: i64,
    pub price_rupiah: i64,
    pub timeout_ms: i64,
    /// JSON: Meta's price per message category.
    pub template_prices: &'a str,
}

impl<'a> NewAccount<'a> {
    /// An enabled account of `kind` on its channel, first in failover order,
    /// 600 a minute, free, a 10 s timeout, no credentials.
    pub fn new(name: &'a str, kind: ProviderKind) -> Self {
        NewAccount {
            name,
            kind,
            channel: kind.channel(),
            base_url: None,
            credentials: "{}",
            enabled: true,
            failover_order: 1,
            rate_limit_per_minute: 600,
            price_rupiah: 0,
            timeout_ms: 10_000,
            template_prices: "{}",
        }
    }
}

/// Inserts `$a` (a [`NewAccount`]) through `$exec` (a pool or `&mut *tx`);
/// evaluates to the new id. A macro, so each backend gets its own typed
/// statement.
macro_rules! insert_account {
    ($exec:expr, $a:expr, $now:expr) => {{
        let a: &$crate::providers::NewAccount = $a;
        let id: domain::AccountId = sqlx::query_scalar(
            "INSERT INTO provider_accounts (name, kind, channel, base_url, credentials, enabled,
                 failover_order, rate_limit_per_minute, price_rupiah, timeout_ms, created_at,
                 updated_at, template_prices)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
        )
        .bind(a.name)
        .bind(a.kind.as_str())
        .bind(a.channel.as_str())
        .bind(a.base_url)
        .bind(a.credentials)
        .bind(a.enabled)
        .bind(a.failover_order)
        .bind(a.rate_limit_per_minute)
        .bind(a.price_rupiah)
        .bind(a.timeout_ms)
        .bind($now)
        .bind(a.template_prices)
        .fetch_one($exec)
        .await?;
        id
    }};
}

pub(crate) use insert_account;

/// Writes `a` as given (no checks: the page's [`save`] checks); answers its
/// id.
pub async fn insert(db: &Db, a: &NewAccount<'_>, now: i64) -> Result<AccountId, Error> {
    Ok(crate::on_db_write!(db, |pool| insert_account!(
        pool, a, now
    )))
}

/// Every account's row, in failover order.
async fn rows(db: &Db) -> Result<Vec<Row>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT id, name, kind, channel, base_url, credentials, enabled, failover_order,
                rate_limit_per_minute, price_rupiah, timeout_ms, paused_until, template_prices
         FROM provider_accounts ORDER BY failover_order, id"
    )
    .fetch_all(pool)
    .await?))
}

/// Every account, in failover order per channel; a pause shown while it
/// holds at `now`.
pub async fn list(db: &Db, now: i64) -> Result<Vec<ProviderView>, Error> {
    let mut rows = rows(db).await?;
    rows.sort_by(|a, b| {
        (&a.channel, a.failover_order, a.id).cmp(&(&b.channel, b.failover_order, b.id))
    });
    Ok(rows
        .into_iter()
        .map(|r| ProviderView {
            credentials_set: credential_fields(&r.credentials),
            channel: Channel::parse(&r.channel).unwrap_or(Channel::Whatsapp),
            id: r.id,
            name: r.name,
            kind: r.kind,
            base_url: r.base_url,
            enabled: r.enabled,
            failover_order: r.failover_order,
            rate_limit_per_minute: r.rate_limit_per_minute,
            price_rupiah: r.price_rupiah,
            timeout_ms: r.timeout_ms,
            paused_until: r.paused_until.filter(|&until| until > now),
            template_prices: serde_json::from_str(&r.template_prices).unwrap_or_default(),
        })
        .collect())
}

/// Stored credentials (opened) with an edit applied: a value replaces,
/// `null` clears.
fn merge(mut map: Map<String, Value>, edit: &Map<String, Value>) -> Map<String, Value> {
    for (k, v) in edit {
        if v.is_null() {
            map.remove(k);
        } else {
            map.insert(k.clone(), v.clone());
        }
    }
    map
}

/// The sent secrets an edit must give again because it moves the account
/// to another endpoint ([`domain::providers::secrets_to_reenter`]).
fn reenter(
    kind: &str,
    base_url: Option<&str>,
    stored: &Map<String, Value>,
    edit: &ValidProvider,
    after: &Credentials,
) -> Vec<&'static str> {
    use domain::providers::{secrets_to_reenter, Endpoint, ProviderKind};
    let stored_credentials =
        serde_json::from_value::<Credentials>(Value::Object(stored.clone())).unwrap_or_default();
    // A kind this version does not know (never written by it) counts as
    // the sandbox, which has no endpoint: any other is a change.
    let kind = ProviderKind::parse(kind).unwrap_or(ProviderKind::Sandbox);
    let before = Endpoint::new(kind, base_url, &stored_credentials);
    let after = Endpoint::new(edit.kind, edit.base_url.as_deref(), after);
    let set: Vec<&str> = fields_set(stored).collect();
    let edited: Vec<&str> = edit.credentials.keys().map(String::as_str).collect();
    secrets_to_reenter(&before, &after, &set, &edited)
}

fn not_found(id: AccountId) -> Error {
    Error::NotFound(Missing::ProviderAccount(id))
}

/// Account `$id` as the audit trail keeps it: every setting, and of its
/// credentials only the names of the fields set (never a value).
macro_rules! account_snapshot {
    ($tx:ident, $id:expr, $keys:expr) => {{
        type Snap = (String, String, String, Option<String>, bool, i64, i64, i64, i64, String, String);
        let row: Option<Snap> = sqlx::query_as(
            "SELECT name, kind, channel, base_url, enabled, failover_order, rate_limit_per_minute,
                    price_rupiah, timeout_ms, template_prices, credentials
             FROM provider_accounts WHERE id = $1",
        )
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        match row {
            None => None,
            Some((name, kind, channel, base_url, enabled, order, rate, price, timeout, prices, sealed)) => {
                let opened = $keys
                    .open_credentials(&sealed)
                    .map_err(|e| crate::error::internal("provider credentials", &e))?;
                let set: Vec<&str> = fields_set(&opened).collect();
                Some(
                    serde_json::json!({
                        "name": name, "kind": kind, "channel": channel, "base_url": base_url,
                        "enabled": enabled, "failover_order": order, "rate_limit_per_minute": rate,
                        "price_rupiah": price, "timeout_ms": timeout, "template_prices": prices,
                        "credentials_set": set,
                    })
                    .to_string(),
                )
            }
        }
    }};
}

/// Creates or updates an account. The merged credentials must be complete
/// for the kind, and an account moved to another endpoint must be given its
/// secrets again; otherwise nothing is written. Credentials are sealed with
/// `keys`.
pub async fn save(
    db: &Db,
    actor: &Actor,
    keys: &Keyring,
    p: &ValidProvider,
    now: i64,
) -> Result<AccountId, Error> {
    let id = in_tx!(db, |tx| {
        let before = match p.id {
            Some(id) => account_snapshot!(tx, id, keys),
            None => None,
        };
        let stored: Option<(String, Option<String>, String)> = match p.id {
            Some(id) => Some(
                sqlx::query_as(
                    "SELECT kind, base_url, credentials FROM provider_accounts WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| not_found(id))?,
            ),
            None => None,
        };
        let opened = match &stored {
            Some((_, _, sealed)) => keys
                .open_credentials(sealed)
                .map_err(|e| crate::error::internal("provider credentials", &e))?,
            None => Map::new(),
        };
        let merged = merge(opened.clone(), &p.credentials);
        let complete = serde_json::from_value::<Credentials>(Value::Object(merged.clone()))
            .map_err(|e| e.to_string())
            .and_then(|c| c.check(p.kind).map(|()| c));
        let credentials_now = match complete {
            Ok(c) => c,
            Err(e) => {
                return Err(Error::Invalid(vec![FieldError::new(
                    "credentials",
                    Words::same(e),
                )]))
            }
        };
        if let Some((kind, base_url, _)) = &stored {
            let reenter = reenter(kind, base_url.as_deref(), &opened, p, &credentials_now);
            if !reenter.is_empty() {
                let fields = reenter.join(", ");
                return Err(Error::Invalid(vec![FieldError::new(
                    "credentials",
                    Words::fill(
                        "Alamat, jenis atau TLS akun ini berubah: masukkan lagi {} (rahasia yang tersimpan tidak dikirim ke alamat baru).",
                        "This account's address, kind or TLS changed: enter {} again (stored secrets are not sent to a new address).",
                        &[&fields],
                    ),
                )]));
            }
        }
        let credentials = keys.seal_credentials(&merged);
        let prices = serde_json::to_string(&p.template_prices)
            .map_err(|e| crate::error::internal("template prices", &e))?;
        let id: AccountId = match p.id {
            Some(id) => {
                sqlx::query(
                    "UPDATE provider_accounts SET name = $2, kind = $3, channel = $4, base_url = $5,
                         credentials = $6, enabled = $7, failover_order = $8, rate_limit_per_minute = $9,
                         price_rupiah = $10, timeout_ms = $11, updated_at = $12, template_prices = $13
                     WHERE id = $1",
                )
                .bind(id)
                .bind(&p.name)
                .bind(p.kind.as_str())
                .bind(p.channel.as_str())
                .bind(&p.base_url)
                .bind(&credentials)
                .bind(p.enabled)
                .bind(p.failover_order)
                .bind(p.rate_limit_per_minute)
                .bind(p.price_rupiah)
                .bind(p.timeout_ms)
                .bind(now)
                .bind(&prices)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                let account = NewAccount {
                    channel: p.channel,
                    base_url: p.base_url.as_deref(),
                    credentials: &credentials,
                    enabled: p.enabled,
                    failover_order: p.failover_order,
                    rate_limit_per_minute: p.rate_limit_per_minute,
                    price_rupiah: p.price_rupiah,
                    timeout_ms: p.timeout_ms,
                    template_prices: &prices,
                    ..NewAccount::new(&p.name, p.kind)
                };
                insert_account!(&mut *tx, &account, now)
            }
        };
        let after = account_snapshot!(tx, id, keys);
        audit_saved!(
            tx,
            actor,
            "provider",
            &format!("#{id} {}", p.name),
            before,
            after,
            now
        );
        id
    });
    Ok(id)
}

/// Queues one test message on a channel; answers the delivery's id.
/// The subject (email, push) is in the sender's `locale`.
pub async fn test_send(
    db: &Db,
    t: &ValidTest,
    by_user: UserId,
    locale: domain::Locale,
    now: i64,
) -> Result<DeliveryId, Error> {
    let event = NewEvent::test_send(
        serde_json::json!({ "channel": t.channel.as_str(), "by_user": by_user }),
    );
    let mut delivery = NewDelivery::test_send(
        t.channel,
        t.recipient.clone(),
        t.subject.as_ref().map(|s| s.get(locale).to_owned()),
        t.message.clone(),
        now,
    );
    // A test push goes to every device of whoever sent it.
    if t.channel == domain::Channel::Push {
        delivery.user_id = Some(by_user);
        delivery.recipient = format!("user:{by_user}");
    }
    let event_id = insert_event(db, &event, std::slice::from_ref(&delivery), &[], now)
        .await?
        .id();
    let id: DeliveryId = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM deliveries WHERE event_id = $1"
    )
    .bind(event_id)
    .fetch_one(pool)
    .await?);
    Ok(id)
}

/// An account as the dispatcher sends through it: credentials opened.
/// Never serialised: it holds secrets.
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

    /// The row as an account, or why it cannot be used (it is then skipped,
    /// with a warning, rather than stopping every send).
    fn open(r: Row, keys: &Keyring) -> Result<Account, String> {
        let kind =
            ProviderKind::parse(&r.kind).ok_or_else(|| format!("unknown kind {}", r.kind))?;
        let channel = Channel::parse(&r.channel).map_err(|e| e.to_string())?;
        let credentials = keys
            .open_credentials(&r.credentials)
            .map_err(|e| e.to_string())
            .and_then(|map| {
                serde_json::from_value::<Credentials>(Value::Object(map)).map_err(|e| e.to_string())
            })
            .map_err(|e| format!("its credentials cannot be read: {e}"))?;
        Ok(Account {
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
            enabled: r.enabled,
            paused_until: r.paused_until,
            template_prices: serde_json::from_str(&r.template_prices).unwrap_or_default(),
        })
    }
}

/// Every account, enabled or not, in failover order, its credentials
/// opened with `keys`; one that cannot be used is skipped with a warning.
pub async fn accounts(db: &Db, keys: &Keyring) -> Result<Vec<Account>, Error> {
    Ok(rows(db)
        .await?
        .into_iter()
        .filter_map(|r| {
            let id = r.id;
            Account::open(r, keys)
                .inspect_err(|e| tracing::warn!(account = %id, "provider account skipped: {e}"))
                .ok()
        })
        .collect())
}

/// Holds an account until `until` (ms) for every instance; a later pause
/// already stored stands.
pub async fn pause(db: &Db, id: AccountId, until: i64) -> Result<(), Error> {
    crate::on_db_write!(db, |pool| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_replaces_clears_and_keeps_fields() {
        let stored: Map<String, Value> =
            serde_json::from_str(r#"{"token": "old", "webhook_token": "hook", "secret": "s"}"#)
                .unwrap();
        let edit: Map<String, Value> =
            serde_json::from_str(r#"{"token": "new", "secret": null}"#).unwrap();
        let merged = merge(stored, &edit);
        assert_eq!(merged["token"], "new");
        assert_eq!(merged["webhook_token"], "hook");
        assert!(!merged.contains_key("secret"));
        assert_eq!(
            credential_fields(&Value::Object(merged).to_string()),
            ["token", "webhook_token"]
        );
    }
}
