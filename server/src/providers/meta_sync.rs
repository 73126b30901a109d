//! Keeps each Meta account's templates as Meta lists them: at start, every
//! [`SYNC_EVERY`], and on demand (the providers page, `server
//! meta-templates-sync`). A refusal (wrong token or WABA id) is kept with
//! Meta's reason and changes no template.

use super::{meta, Account, AccountCache, ProviderKind};
use std::sync::Arc;
use std::time::Duration;
use storage::Db;
use tokio_util::sync::CancellationToken;

/// Templates change when someone edits them in Meta's manager and when Meta
/// approves or pauses one: a few times a day is enough; the page's button
/// is there for the minute after an edit.
pub const SYNC_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Lists `account`'s templates from Meta and stores them; answers how many.
pub async fn sync_account(
    db: &Db,
    http: &reqwest::Client,
    account: &Account,
) -> Result<usize, String> {
    let now = storage::now_ms();
    match meta::list_templates(http, account).await {
        Ok(templates) => {
            storage::meta_templates::replace(db, account.id, &templates, now)
                .await
                .map_err(|e| format!("storing the templates: {e}"))?;
            Ok(templates.len())
        }
        Err(reason) => {
            if let Err(e) = storage::meta_templates::refused(db, account.id, &reason, now).await {
                tracing::warn!(account = account.id.0, "sync refusal not stored: {e}");
            }
            Err(reason)
        }
    }
}

/// Syncs the account `id` (which must be a Meta account, enabled or not).
pub async fn sync_id(
    db: &Db,
    http: &reqwest::Client,
    accounts: &AccountCache,
    id: i64,
) -> Result<usize, String> {
    accounts.invalidate();
    let account = accounts
        .by_id(domain::AccountId(id))
        .await
        .map_err(|e| e.to_string())?
        .filter(|a| a.kind == ProviderKind::Meta)
        .ok_or_else(|| format!("no Meta account {id}"))?;
    sync_account(db, http, &account).await
}

/// Every enabled Meta account with a WABA id, now and every `every`.
pub async fn run(
    db: Db,
    http: reqwest::Client,
    accounts: Arc<AccountCache>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Ok(all) = accounts.all().await else {
            continue;
        };
        let metas = all.iter().filter(|a| {
            a.enabled
                && a.kind == ProviderKind::Meta
                && a.credentials
                    .waba_id
                    .as_deref()
                    .is_some_and(|w| !w.is_empty())
        });
        for account in metas {
            match sync_account(&db, &http, account).await {
                Ok(n) => {
                    tracing::info!(
                        account = account.id.0,
                        templates = n,
                        "Meta templates synced"
                    )
                }
                Err(reason) => {
                    tracing::warn!(
                        account = account.id.0,
                        "Meta template sync refused: {reason}"
                    )
                }
            }
        }
    }
}

/// The providers page's sync, as the app's hook.
pub fn hook(
    db: Db,
    http: reqwest::Client,
    accounts: Arc<AccountCache>,
) -> app::meta_templates::SyncHook {
    app::meta_templates::SyncHook(Arc::new(move |id| {
        let (db, http, accounts) = (db.clone(), http.clone(), accounts.clone());
        Box::pin(async move { sync_id(&db, &http, &accounts, id).await })
    }))
}
