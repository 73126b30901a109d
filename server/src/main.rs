//! `server`: runs the app.
//!
//! - `server create-api-key NAME`: makes an API key for the ticketing system
//!   and prints it once;
//! - `server provider-add --kind K --name N --credentials JSON [--base-url U]
//!   [--order N] [--rate PER_MINUTE] [--price RUPIAH] [--timeout-ms MS]`:
//!   adds a provider account;
//! - `server provider-list`: lists accounts (never their credentials);
//! - `server meta-templates-sync ACCOUNT_ID`: syncs a Meta account's message
//!   templates now (they are synced at start and every six hours too);
//! - `server backup FILE`: a consistent copy of the live SQLite database;
//! - `server user-add --name N --email E --role R [--zone Z] [--phone P]
//!   [--locale id|en] [--time-zone TZ]`: adds a person (the users page's
//!   rules) and prints their one-time set-password link;
//! - `server user-list`: lists people;
//! - `server user-reset-password EMAIL`: a new set-password link, printed
//!   and sent (WhatsApp and email) when the server runs.

use leptos::prelude::*;
use server::config::Config;
use server::dispatcher::DispatcherConfig;
use server::{open_database, start, StartOptions};
use storage::db::Db;
use storage::seed;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None => run().await,
        Some("create-api-key") => create_api_key(args.get(1).cloned()).await,
        Some("provider-add") => provider_add(&args[1..]).await,
        Some("provider-list") => provider_list().await,
        Some("meta-templates-sync") => meta_templates_sync(args.get(1)).await,
        Some("backup") => backup(args.get(1)).await,
        Some("user-add") => user_add(&args[1..]).await,
        Some("user-list") => user_list().await,
        Some("user-reset-password") => user_reset_password(args.get(1)).await,
        Some(other) => Err(format!(
            "unknown command '{other}'; usage: server [create-api-key NAME | provider-add … | provider-list | meta-templates-sync ACCOUNT_ID | backup FILE | user-add … | user-list | user-reset-password EMAIL]"
        )),
    };
    if let Err(e) = result {
        tracing::error!("{e}");
        std::process::exit(1);
    }
}

async fn create_api_key(name: Option<String>) -> Result<(), String> {
    let name = name.ok_or("usage: server create-api-key NAME")?;
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    let (id, key) = server::api_keys::create(&db, &storage::audit::Actor::cli(), &name)
        .await
        .map_err(|e| e.to_string())?;
    println!("API key #{id} for '{name}' (shown once):\n{key}");
    db.close().await;
    Ok(())
}

async fn provider_add(args: &[String]) -> Result<(), String> {
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

async fn user_add(args: &[String]) -> Result<(), String> {
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

async fn user_reset_password(email: Option<&String>) -> Result<(), String> {
    let email = email.ok_or("usage: server user-reset-password EMAIL")?;
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

async fn meta_templates_sync(id: Option<&String>) -> Result<(), String> {
    let id: i64 = id
        .and_then(|i| i.parse().ok())
        .ok_or("usage: server meta-templates-sync ACCOUNT_ID (see provider-list)")?;
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

async fn backup(file: Option<&String>) -> Result<(), String> {
    let file = file.ok_or("usage: server backup FILE (a new file; the server may keep running)")?;
    let config = Config::from_env()?;
    if storage::db::Backend::of_url(&config.database_url)? != storage::db::Backend::Sqlite {
        return Err(storage::db::BackupError::NotSqlite.to_string());
    }
    let db = open_database(&config).await?;
    let made = db.backup_to(std::path::Path::new(file)).await;
    db.close().await;
    made.map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let key = match &config.secret_key {
        Some(_) => "SECRET_KEY".to_owned(),
        None => config.secret_key_file.display().to_string(),
    };
    println!(
        "backup written to {file} ({bytes} bytes). Its stored secrets are sealed: keep the secret key ({key}) too, apart from it"
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
            callback_retention: (config.callback_retention_days > 0)
                .then(|| std::time::Duration::from_secs(config.callback_retention_days * 86_400)),
            retention_days: (config.retention_days > 0).then_some(config.retention_days as i64),
            audit_retention: (config.audit_retention_days > 0)
                .then(|| std::time::Duration::from_secs(config.audit_retention_days * 86_400)),
            keys,
        },
    )
    .await?;
    shutdown_signal().await;
    running.stop().await;
    db.close().await;
    Ok(())
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
