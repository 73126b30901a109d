//! `server`: runs the app, and the operator's commands (`server --help`;
//! the commands and their flags are `server::cli`, the environment
//! variables `server::config::ENV`).

use clap::Parser;
use leptos::prelude::*;
use server::cli::{Cli, Command};
use server::config::Config;
use server::dispatcher::DispatcherConfig;
use server::{open_database, start, StartOptions};
use storage::db::Db;
use storage::seed;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    // Before anything else: --help, --version and a wrong command or flag
    // answer at once (status 2 for the latter), with no database opened.
    let cli = Cli::parse();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    match server::config::log_json() {
        // One object per line, with the request's span (its id, client,
        // method and path) on every line logged while serving it.
        Ok(true) => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .init(),
        Ok(false) => tracing_subscriber::fmt().with_env_filter(filter).init(),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => run().await,
        Command::Migrate => migrate().await,
        Command::CreateApiKey { name } => create_api_key(name).await,
        Command::ApiKeyList => api_key_list().await,
        Command::RevokeApiKey { id } => revoke_api_key(id).await,
        Command::ProviderAdd(args) => provider_add(&args).await,
        Command::ProviderList => provider_list().await,
        Command::ProviderEnable { id } => provider_switch(id, true).await,
        Command::ProviderDisable { id } => provider_switch(id, false).await,
        Command::MetaTemplatesSync { account_id } => meta_templates_sync(account_id).await,
        Command::Backup { file } => backup(&file).await,
        Command::Prune => prune().await,
        Command::UserAdd(args) => user_add(&args).await,
        Command::UserList => user_list().await,
        Command::UserResetPassword { email } => user_reset_password(&email).await,
    };
    if let Err(e) = result {
        tracing::error!("{e}");
        std::process::exit(1);
    }
}

async fn migrate() -> Result<(), String> {
    let config = Config::from_env()?;
    // Opening migrates (and seeds the reference data).
    let db = open_database(&config).await?;
    db.close().await;
    println!(
        "{}: migrations applied",
        storage::db::redact_url(&config.database_url)
    );
    Ok(())
}

async fn api_key_list() -> Result<(), String> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let listed = storage::api_keys::list(&db).await;
    db.close().await;
    let keys = listed.map_err(|e| e.to_string())?;
    println!(
        "{:>4}  {:<24} {:<12} {:<20} {:<20} state",
        "id", "name", "starts", "created (WIB)", "last used (WIB)"
    );
    let when = |ms: Option<i64>| ms.map_or_else(|| "-".to_owned(), domain::time::format_wib);
    for k in keys {
        println!(
            "{:>4}  {:<24} {:<12} {:<20} {:<20} {}",
            k.id,
            k.name,
            format!("{}…", k.prefix),
            when(Some(k.created_at)),
            when(k.last_used_at),
            if k.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            }
        );
    }
    Ok(())
}

async fn revoke_api_key(id: i64) -> Result<(), String> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let revoked =
        storage::api_keys::revoke(&db, &storage::audit::Actor::cli(), id, storage::now_ms()).await;
    db.close().await;
    revoked.map_err(|e| format!("cannot revoke key #{id}: {e}"))?;
    // Running instances forget it within their cache's 30 s (the page's
    // revoke also tells them at once over the live feed).
    println!("API key #{id} revoked");
    Ok(())
}

async fn provider_switch(id: i64, enabled: bool) -> Result<(), String> {
    let config = Config::from_env()?;
    let keys = config.keyring()?;
    let db = open_database(&config).await?;
    let switched = async {
        let accounts = storage::providers::list(&db, storage::now_ms())
            .await
            .map_err(|e| e.to_string())?;
        let account = accounts
            .into_iter()
            .find(|a| a.id.0 == id)
            .ok_or_else(|| format!("no provider account #{id} (see provider-list)"))?;
        let form = domain::views::providers::ProviderForm {
            enabled,
            ..account.edit_form()
        };
        let valid = form.validate().map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message.get(domain::Locale::En)))
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        storage::providers::save(
            &db,
            &storage::audit::Actor::cli(),
            &keys,
            &valid,
            storage::now_ms(),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok::<_, String>(account.name)
    }
    .await;
    db.close().await;
    let name = switched?;
    println!(
        "provider account #{id} '{name}' {}",
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}

async fn prune() -> Result<(), String> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let pruned = async {
        let history = match config.history_retention_days() {
            Some(days) => server::prune_history_now(&db, days).await?,
            None => Default::default(),
        };
        let callbacks = match config.callback_retention() {
            Some(keep) => server::prune_callbacks_now(&db, keep).await?,
            None => 0,
        };
        let audit = match config.audit_retention() {
            Some(keep) => server::prune_audit_now(&db, keep).await?,
            None => 0,
        };
        Ok::<_, storage::Error>((history, callbacks, audit))
    }
    .await;
    db.close().await;
    let (history, callbacks, audit) = pruned.map_err(|e| e.to_string())?;
    println!(
        "pruned: {} deliveries, {} events, {} provider callbacks, {} audit entries",
        history.deliveries, history.events, callbacks, audit
    );
    Ok(())
}

async fn create_api_key(name: String) -> Result<(), String> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let (id, key) = server::api_keys::create(&db, &storage::audit::Actor::cli(), &name)
        .await
        .map_err(|e| e.to_string())?;
    println!("API key #{id} for '{name}' (shown once):\n{key}");
    db.close().await;
    Ok(())
}

async fn provider_add(args: &server::cli::ProviderArgs) -> Result<(), String> {
    // The page's form and rules: what the page refuses is refused here.
    let valid = server::cli::provider_add(args)?;
    let config = Config::from_env()?;
    let keys = config.keyring()?;
    let db = open_database(&config).await?;
    // The key must be the database's: a wrong one stops here (naming the
    // key it needs) instead of sealing the new account with it.
    storage::secrets::reseal(&db, &keys)
        .await
        .map_err(|e| format!("stored secrets: {e}"))?;
    let saved = storage::providers::save(
        &db,
        &storage::audit::Actor::cli(),
        &keys,
        &valid,
        storage::now_ms(),
    )
    .await;
    db.close().await;
    // (storage::Error reads in English.)
    let id = saved.map_err(|e| format!("cannot add the account: {e}"))?;
    println!(
        "provider account #{id} '{}' ({}) added",
        valid.name,
        valid.kind.as_str()
    );
    Ok(())
}

async fn provider_list() -> Result<(), String> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let listed = storage::providers::list(&db, storage::now_ms()).await;
    db.close().await;
    let accounts = listed.map_err(|e| e.to_string())?;
    println!(
        "{:>4}  {:<24} {:<8} {:<8} {:>5} {:>9} {:>8}  base URL",
        "id", "name", "kind", "enabled", "order", "per min", "Rp/msg"
    );
    for a in accounts {
        println!(
            "{:>4}  {:<24} {:<8} {:<8} {:>5} {:>9} {:>8}  {}",
            a.id.0,
            a.name,
            a.kind,
            a.enabled,
            a.failover_order,
            a.rate_limit_per_minute,
            a.price_rupiah,
            a.base_url.unwrap_or_default()
        );
    }
    Ok(())
}

async fn user_add(args: &server::cli::UserArgs) -> Result<(), String> {
    let valid = server::cli::user_add(args)?;
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let now = storage::now_ms();
    let made = async {
        let id = storage::users::create(&db, &storage::audit::Actor::cli(), &valid, now).await?;
        storage::password_resets::issue(&db, id, None, &config.public_url, now)
            .await
            .map(|issued| (id, issued))
    }
    .await;
    db.close().await;
    let (id, issued) = made.map_err(|e| format!("cannot add the person: {e}"))?;
    println!(
        "person #{id} {} <{}> ({}) added.\nTheir set-password link (works once, for 24 hours; also queued to their email{}):\n{}",
        valid.name,
        valid.email,
        valid.role.as_str(),
        issued.sent.whatsapp.as_deref().map_or_else(String::new, |p| format!(" and WhatsApp {p}")),
        issued.link
    );
    Ok(())
}

async fn user_list() -> Result<(), String> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let listed = storage::users::list(&db).await;
    db.close().await;
    let people = listed.map_err(|e| e.to_string())?;
    println!(
        "{:>5}  {:<24} {:<28} {:<16} {:<10} {:<16} {:<8} password",
        "id", "name", "email", "role", "zone", "phone", "active"
    );
    for u in people {
        println!(
            "{:>5}  {:<24} {:<28} {:<16} {:<10} {:<16} {:<8} {}",
            u.id.0,
            u.name,
            u.email,
            u.role.as_str(),
            u.work_zone.unwrap_or_default(),
            u.phone.unwrap_or_default(),
            u.active,
            if u.has_password { "set" } else { "not yet" }
        );
    }
    Ok(())
}

async fn user_reset_password(email: &str) -> Result<(), String> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let now = storage::now_ms();
    let issued = async {
        match storage::users::id_by_email(&db, email).await? {
            Some(id) => storage::password_resets::issue(&db, id, None, &config.public_url, now)
                .await
                .map(Some),
            None => Ok(None),
        }
    }
    .await;
    db.close().await;
    let issued = issued
        .map_err(|e| format!("cannot make a link: {e}"))?
        .ok_or_else(|| format!("nobody has the email '{email}' (see user-list)"))?;
    println!(
        "set-password link (works once, for 24 hours; also queued to {}):\n{}",
        issued.sent.email, issued.link
    );
    Ok(())
}

async fn meta_templates_sync(id: i64) -> Result<(), String> {
    let config = Config::from_env()?;
    let keys = config.keyring()?;
    let db = open_database(&config).await?;
    let accounts =
        server::providers::AccountCache::new(db.clone(), keys, std::time::Duration::ZERO);
    let http = server::providers::http_client();
    let result = server::providers::meta_sync::sync_id(&db, &http, &accounts, id).await;
    db.close().await;
    let n = result.map_err(|reason| format!("Meta refused the sync: {reason}"))?;
    println!("account #{id}: {n} templates synced");
    Ok(())
}

async fn backup(file: &std::path::Path) -> Result<(), String> {
    let config = Config::from_env()?;
    if storage::db::Backend::of_url(&config.database_url)? != storage::db::Backend::Sqlite {
        return Err(storage::db::BackupError::NotSqlite.to_string());
    }
    let db = open_database(&config).await?;
    let made = db.backup_to(file).await;
    db.close().await;
    made.map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let key = match &config.secret_key {
        Some(_) => "SECRET_KEY".to_owned(),
        None => config.secret_key_file.display().to_string(),
    };
    println!(
        "backup written to {} ({bytes} bytes). Its stored secrets are sealed: keep the secret key ({key}) too, apart from it",
        file.display()
    );
    Ok(())
}

async fn run() -> Result<(), String> {
    let config = Config::from_env()?;
    tracing::info!(?config, "starting");

    // cargo-leptos passes the site settings through LEPTOS_* variables; a binary
    // started by hand gets the same values as [[workspace.metadata.leptos]].
    let mut leptos_options = if std::env::var("LEPTOS_OUTPUT_NAME").is_ok() {
        get_configuration(None)
            .map_err(|e| format!("leptos configuration: {e}"))?
            .leptos_options
    } else {
        LeptosOptions::builder()
            .output_name("notifikasi")
            .site_root("target/site")
            .site_pkg_dir("pkg")
            .build()
    };
    // A release build names the site's files by their hashes, listed
    // beside the binary (whether cargo-leptos, a service manager or a
    // container started it).
    leptos_options.hash_files |= hashes_beside_binary();
    if let Some(addr) = config.bind_addr {
        leptos_options.site_addr = addr;
    }
    let addr = leptos_options.site_addr;
    // Read before the database is touched: a missing or wrong key stops
    // the start at once.
    let keys = config.keyring()?;
    tracing::info!(key = keys.current_id(), "secret key loaded");

    let db = open_database(&config).await?;
    ensure_first_admin(&db, &config).await?;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{addr}");
    let dispatcher = config.dispatcher.then(|| DispatcherConfig {
        lease_ms: config.lease_ms,
        shutdown_grace: config.shutdown_grace,
        sms_fallback: server::dispatcher::fallback::FallbackConfig {
            after_ms: config.sms_fallback_after_secs * 1000,
        },
        ..DispatcherConfig::default()
    });
    let running = start(
        db.clone(),
        listener,
        StartOptions {
            leptos_options,
            secure_cookies: config.secure_cookies,
            dispatcher,
            analytics_refresh: (config.analytics_refresh_ms > 0)
                .then(|| std::time::Duration::from_millis(config.analytics_refresh_ms)),
            public_url: config.public_url.clone(),
            push_loopback: config.push_loopback,
            callback_retention: config.callback_retention(),
            retention_days: config.history_retention_days(),
            audit_retention: config.audit_retention(),
            keys,
            metrics_token: config.metrics_token.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            shutdown_grace: config.shutdown_grace,
        },
    )
    .await?;
    shutdown_signal().await;
    running.stop().await;
    db.close().await;
    Ok(())
}

/// Whether cargo-leptos wrote the site files' hashes (`hash.txt`) beside
/// this binary, as a release build does; Leptos reads them from there.
fn hashes_beside_binary() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("hash.txt")))
        .is_some_and(|hashes| hashes.exists())
}

/// With no users at all, creates the first admin. Its password comes from
/// ADMIN_PASSWORD or is generated and printed once to the console (never to
/// the log).
async fn ensure_first_admin(db: &Db, config: &Config) -> Result<(), String> {
    if seed::user_count(db).await.map_err(|e| e.to_string())? > 0 {
        return Ok(());
    }
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), false),
        None => {
            let mut bytes = [0u8; 12];
            getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
            use base64::Engine;
            (
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
                true,
            )
        }
    };
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || password_auth::generate_hash(to_hash.as_str()))
        .await
        .map_err(|e| e.to_string())?;
    seed::insert_user(
        db,
        "Administrator",
        &config.admin_email,
        &hash,
        domain::Role::Admin,
        None,
        None,
        false,
    )
    .await
    .map_err(|e| e.to_string())?;
    if generated {
        eprintln!(
            "\n  First admin created: {} / password: {password}\n  (shown once; set ADMIN_PASSWORD before the first start to choose it)\n",
            config.admin_email
        );
    }
    tracing::info!(email = %config.admin_email, "first admin created");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
