//! The Axum host. `main` only wires things together: configuration, the
//! database (migrated and seeded on start), the session middleware and the
//! Leptos routes.

mod config;

use app::db::{seed, Db};
use app::state::AppState;
use app::{shell, App};
use axum::{routing::get, Router};
use config::Config;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    if let Err(e) = run().await {
        tracing::error!("{e}");
        std::process::exit(1);
    }
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

    if config.database_url.starts_with("sqlite:") {
        ensure_sqlite_dir(&config.database_url)?;
    }
    let db = Db::connect(&config.database_url, config.max_db_connections)
        .await
        .map_err(|e| {
            format!(
                "cannot open {}: {e}",
                app::db::redact_url(&config.database_url)
            )
        })?;
    db.migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    seed::ensure_reference_data(&db)
        .await
        .map_err(|e| e.to_string())?;
    if config.demo_data
        && seed::ensure_demo_data(&db)
            .await
            .map_err(|e| e.to_string())?
    {
        tracing::info!("demo data seeded (demo accounts are listed in the README)");
    }
    ensure_first_admin(&db, &config).await?;

    let state = AppState {
        leptos_options: leptos_options.clone(),
        db: db.clone(),
        secure_cookies: config.secure_cookies,
    };
    let router = router(state);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{addr}");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    Ok(())
}

fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::auth::session::session_layer,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Creates the data directory of an SQLite file URL such as `sqlite:data/x.db`.
fn ensure_sqlite_dir(url: &str) -> Result<(), String> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
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
