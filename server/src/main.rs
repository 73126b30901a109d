//! `server`: runs the app. `server create-api-key NAME` makes an API key for
//! the ticketing system and prints it once.

use app::db::{seed, Db};
use leptos::prelude::*;
use server::config::Config;
use server::dispatcher::DispatcherConfig;
use server::{open_database, start, StartOptions};
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
        Some(other) => Err(format!(
            "unknown command '{other}'; usage: server [create-api-key NAME]"
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
    let (id, key) = server::api_keys::create(&db, &name, None)
        .await
        .map_err(|e| e.to_string())?;
    println!("API key #{id} for '{name}' (shown once):\n{key}");
    db.close().await;
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

    let db = open_database(&config).await?;
    ensure_first_admin(&db, &config).await?;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{addr}");
    let dispatcher = config.dispatcher.then(|| DispatcherConfig {
        lease_ms: config.lease_ms,
        ..DispatcherConfig::default()
    });
    let running = start(
        db.clone(),
        listener,
        StartOptions {
            leptos_options,
            secure_cookies: config.secure_cookies,
            dispatcher,
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
