//! The Axum host.
//!
//! - [`ingest`]: `POST /api/v1/events`, validation, routing and rendering, the
//!   OpenAPI document;
//! - [`dispatcher`]: the outbox workers (claim, send with failover, record);
//! - [`providers`]: Fonnte, Wablas, Woowa, Meta Cloud API and the sandbox;
//! - [`webhooks`]: provider status callbacks and WhatsApp replies;
//! - [`reports`]: the scheduled daily and weekly reports;
//! - [`acks`]: the signed acknowledgement links' page;
//! - [`live`]: the browsers' WebSocket (`/ws`);
//! - [`http`]: the accept loop (HTTP/1.1 with upgrades, graceful shutdown);
//! - [`api_keys`]: keys for the ticketing system;
//! - [`config`]: the environment;
//! - [`start`]: wires it all into one running server (used by `main` and tests).

pub mod acks;
pub mod api_keys;
pub mod cli;
pub mod config;
pub mod digests;
pub mod dispatcher;
pub mod health;
pub mod http;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod origin;
pub mod providers;
pub mod push;
pub mod reports;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod webhooks;

use app::state::AppState;
use app::{shell, App};
use axum::{routing::get, Router};
use config::Config;
use dispatcher::{Dispatcher, DispatcherConfig};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use storage::db::Db;
use storage::feed::Feed;
use storage::seed;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

/// The key seeded with the demo data (documented in the README).
pub const DEMO_API_KEY: &str = "nk_demo_0123456789abcdef";

/// Opens, migrates and seeds the database.
pub async fn open_database(config: &Config) -> Result<Db, String> {
    if config.database_url.starts_with("sqlite:") {
        ensure_sqlite_dir(&config.database_url)?;
    }
    let db = Db::connect(&config.database_url, config.max_db_connections)
        .await
        .map_err(|e| {
            format!(
                "cannot open {}: {e}",
                storage::db::redact_url(&config.database_url)
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
        api_keys::insert(&db, "Demo ticketing system", DEMO_API_KEY, None)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!("demo data seeded (demo accounts and API key are listed in the README)");
    }
    Ok(db)
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

/// A server that is running.
pub struct Running {
    pub addr: SocketAddr,
    pub db: Db,
    pub shutdown: CancellationToken,
    pub server: tokio::task::JoinHandle<()>,
    pub dispatcher: Option<tokio::task::JoinHandle<()>>,
    /// Deliveries this instance's dispatcher has claimed (0 without one).
    pub claimed: Arc<std::sync::atomic::AtomicU64>,
    /// This instance's live feed.
    pub feed: Feed,
    /// This instance's live sockets.
    pub live: Arc<live::Live>,
}

impl Running {
    /// Stops accepting, lets in-flight sends finish, and waits.
    pub async fn stop(self) {
        self.shutdown.cancel();
        if let Some(d) = self.dispatcher {
            let _ = d.await;
        }
        let _ = self.server.await;
    }
}

pub struct StartOptions {
    pub leptos_options: LeptosOptions,
    pub secure_cookies: bool,
    /// `None`: no dispatcher in this process (API only).
    pub dispatcher: Option<DispatcherConfig>,
    /// How often to recompute the recent days' analytics rollups; `None`: never.
    pub analytics_refresh: Option<Duration>,
    /// Where the app is reached from outside: emails link to its settings.
    pub public_url: String,
    /// How long the webhooks' callbacks are kept (`None`: for ever).
    pub callback_retention: Option<Duration>,
    /// How many days of the delivery log and its events are kept (`None`:
    /// for ever); pruned where the dispatcher runs.
    pub retention_days: Option<i64>,
    /// How long the audit trail is kept (`None`: for ever).
    pub audit_retention: Option<Duration>,
    /// Push endpoints may be plain HTTP on this machine (`PUSH_ALLOW_LOOPBACK`:
    /// development and tests only; never in production, where a user could
    /// make the server call its own local services).
    pub push_loopback: bool,
    /// Seals the secrets stored in the database (`Config::keyring`).
    pub keys: storage::secrets::Keyring,
    /// `/metrics` answers with this bearer token only (`None`: 404).
    pub metrics_token: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed (`http::client_behind`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a stop waits for requests and sends in flight.
    pub shutdown_grace: Duration,
}

/// Binds `listener` and serves the pages, the API and the webhooks, with the
/// dispatcher running beside them.
pub async fn start(
    db: Db,
    listener: tokio::net::TcpListener,
    options: StartOptions,
) -> Result<Running, String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let keys = options.keys.clone();
    let (link_key, vapid) = open_storage(&db, &keys, options.dispatcher.is_some()).await?;
    let wake = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let feed = Feed::new();
    tokio::spawn(feed.clone().run(db.clone(), shutdown.clone()));

    let dispatcher = options
        .dispatcher
        .map(|cfg| DispatcherConfig {
            public_url: options.public_url.clone(),
            push_loopback: options.push_loopback,
            ..cfg
        })
        .map(|cfg| {
            Dispatcher::new(db.clone(), keys.clone(), wake.clone(), feed.clone(), cfg)
                .with_keys(link_key.clone(), vapid.clone())
        });
    let accounts = match &dispatcher {
        Some(d) => d.accounts.clone(),
        None => Arc::new(providers::AccountCache::new(
            db.clone(),
            keys.clone(),
            Duration::from_secs(5),
        )),
    };
    let provider_http = dispatcher
        .as_ref()
        .map_or_else(providers::http_client, |d| d.http.clone());
    let state = AppState {
        leptos_options: options.leptos_options,
        db: db.clone(),
        keys: keys.clone(),
        public_url: options.public_url.clone(),
        secure_cookies: options.secure_cookies,
        wake: wake.clone(),
        feed: feed.clone(),
        providers_changed: accounts.changed.clone(),
        vapid,
        push_loopback: options.push_loopback,
        meta_sync: Some(providers::meta_sync::hook(
            db.clone(),
            provider_http.clone(),
            accounts.clone(),
        )),
    };
    let ingest = Arc::new(ingest::Ingest {
        db: db.clone(),
        reference: ingest::plan::ReferenceCache::new(db.clone(), Duration::from_secs(2)),
        keys: api_keys::ApiKeyCache::new(db.clone(), Duration::from_secs(30)),
        writer: ingest::writer::EventWriter::spawn(
            db.clone(),
            wake.clone(),
            feed.clone(),
            dispatcher.as_ref().map(Dispatcher::handoff),
        ),
        links: ingest::plan::Links::new(&options.public_url, link_key.clone()),
    });
    tokio::spawn({
        let (ingest, feed, shutdown) = (ingest.clone(), feed.clone(), shutdown.clone());
        async move { ingest.keys.forget_on_revoke(&feed, shutdown).await }
    });
    let hooks = Arc::new(webhooks::Webhooks {
        db: db.clone(),
        accounts: accounts.clone(),
        feed: feed.clone(),
        public_url: options.public_url.trim_end_matches('/').to_owned(),
        refusals: webhooks::RefusalLog::default(),
        wake: wake.clone(),
    });
    let site = origin::SameSite::new(&options.public_url);
    let live = live::Live::start(db.clone(), feed.clone(), shutdown.clone(), site.clone());
    let router = pages(state, site.clone())
        .merge(live::router(live.clone()))
        .merge(ingest::router(ingest))
        .merge(webhooks::router(hooks))
        .merge(health::router(health::Health {
            db: db.clone(),
            heartbeat: dispatcher.as_ref().map(|d| d.heartbeat.clone()),
            started_at: storage::now_ms(),
        }))
        .merge(metrics::router(metrics::Metrics {
            db: db.clone(),
            token: options.metrics_token.clone(),
        }))
        .merge(acks::router(Arc::new(acks::Acks {
            db: db.clone(),
            feed: feed.clone(),
            key: link_key,
        })))
        .layer(axum::middleware::from_fn_with_state(
            site,
            origin::security_headers,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span));

    housekeeping(
        &db,
        &feed,
        &wake,
        &options.public_url,
        Housekeeping {
            analytics_refresh: options.analytics_refresh,
            callback_retention: options.callback_retention,
            retention_days: options.retention_days,
            audit_retention: options.audit_retention,
        },
        dispatcher
            .is_some()
            .then(|| (provider_http, accounts.clone())),
        &shutdown,
    );
    let claimed = dispatcher
        .as_ref()
        .map(|d| d.claimed.clone())
        .unwrap_or_default();
    let dispatcher_task = dispatcher.map(|d| {
        let stop = shutdown.clone();
        tokio::spawn(d.run(stop))
    });
    tokio::spawn(metrics::upkeep(shutdown.clone()));
    let server = tokio::spawn(http::serve(
        listener,
        router,
        http::Serving {
            proxies: Arc::new(options.trusted_proxies),
            grace: options.shutdown_grace,
        },
        shutdown.clone(),
    ));
    Ok(Running {
        addr,
        db,
        shutdown,
        server,
        dispatcher: dispatcher_task,
        claimed,
        feed,
        live,
    })
}

/// Before anything is served: stored secrets sealed with the current key,
/// the acknowledgement link and VAPID keys loaded (made at first start),
/// and, on SQLite, the deliveries the last run left `sending` requeued.
async fn open_storage(
    db: &Db,
    keys: &storage::secrets::Keyring,
    dispatcher_runs: bool,
) -> Result<
    (
        storage::keys::ack_links::LinkKey,
        storage::keys::vapid::VapidKey,
    ),
    String,
> {
    // Secrets written in plain text by an older version, or sealed with a
    // previous key, are sealed with the current one before anything reads
    // them; a key this instance lacks stops it here, saying which.
    match storage::secrets::reseal(db, keys).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            rows = n,
            key = keys.current_id(),
            "sealed stored secrets with the current secret key"
        ),
        Err(e) => return Err(format!("stored secrets: {e}")),
    }
    let link_key = storage::keys::ack_links::LinkKey::load_or_create(db, keys, storage::now_ms())
        .await
        .map_err(|e| format!("acknowledgement link key: {e}"))?;
    let vapid = storage::keys::vapid::VapidKey::load_or_create(db, keys, storage::now_ms())
        .await
        .map_err(|e| format!("VAPID key: {e}"))?;
    // SQLite runs one instance: whatever it left `sending` died with its
    // last run. Requeued before anything here can claim or hand over a row,
    // so no row of this run is mistaken for one of the last.
    if dispatcher_runs && matches!(db, Db::Sqlite(..)) {
        match storage::outbox::rescue_all_at_start(db, storage::now_ms()).await {
            Ok(n) if n > 0 => tracing::warn!(
                rows = n,
                "requeued deliveries interrupted by the last shutdown"
            ),
            Ok(_) => {}
            Err(e) => return Err(format!("requeueing interrupted deliveries: {e}")),
        }
    }
    Ok((link_key, vapid))
}

/// The background tasks' settings ([`StartOptions`]).
struct Housekeeping {
    analytics_refresh: Option<Duration>,
    callback_retention: Option<Duration>,
    retention_days: Option<i64>,
    audit_retention: Option<Duration>,
}

/// Starts the periodic tasks: analytics rollups, pruning, session purge,
/// and, where a dispatcher runs (`dispatching`: its provider client and
/// accounts), reports, Meta's template sync and the history's retention.
fn housekeeping(
    db: &Db,
    feed: &Feed,
    wake: &Arc<Notify>,
    public_url: &str,
    h: Housekeeping,
    dispatching: Option<(reqwest::Client, Arc<providers::AccountCache>)>,
    shutdown: &CancellationToken,
) {
    if let Some(every) = h.analytics_refresh {
        tokio::spawn(refresh_analytics(
            db.clone(),
            feed.clone(),
            every,
            shutdown.clone(),
        ));
    }
    if let Some(keep) = h.callback_retention {
        let db = db.clone();
        tokio::spawn(periodically(
            Duration::ZERO,
            HOUR,
            shutdown.clone(),
            move || prune_callbacks(db.clone(), keep),
        ));
    }
    if let Some(keep) = h.audit_retention {
        let db = db.clone();
        tokio::spawn(periodically(
            Duration::from_secs(60),
            6 * HOUR,
            shutdown.clone(),
            move || prune_audit(db.clone(), keep),
        ));
    }
    {
        let db = db.clone();
        tokio::spawn(periodically(
            Duration::ZERO,
            HOUR,
            shutdown.clone(),
            move || purge_sessions(db.clone()),
        ));
    }
    // Reports are written, Meta's templates synced and old history pruned
    // by whichever instance runs a dispatcher.
    if let (Some(days), true) = (h.retention_days, dispatching.is_some()) {
        let db = db.clone();
        tokio::spawn(periodically(
            Duration::from_secs(60),
            6 * HOUR,
            shutdown.clone(),
            move || prune_history(db.clone(), days),
        ));
    }
    if let Some((provider_http, accounts)) = dispatching {
        tokio::spawn(providers::meta_sync::run(
            db.clone(),
            provider_http,
            accounts,
            providers::meta_sync::SYNC_EVERY,
            shutdown.clone(),
        ));
        tokio::spawn(reports::run(
            db.clone(),
            feed.clone(),
            wake.clone(),
            domain::email::settings_url(public_url),
            shutdown.clone(),
        ));
    }
}

/// Runs `job` after `first`, then every `period`, until shutdown: the
/// housekeeping tasks (each logs its own outcome).
async fn periodically<F, Fut>(
    first: Duration,
    period: Duration,
    shutdown: CancellationToken,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => job().await,
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// Forgets ended sessions and expired set-password links at start and
/// every hour (any instance may).
async fn purge_sessions(db: Db) {
    match storage::sessions::purge_expired(&db, storage::now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "ended sessions purged"),
        Err(e) => tracing::warn!("purging ended sessions: {e}"),
    }
    match storage::password_resets::purge_expired(&db, storage::now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "expired set-password links purged"),
        Err(e) => tracing::warn!("purging set-password links: {e}"),
    }
}

/// Forgets the webhooks' callbacks older than `keep`, at start and every
/// hour (any instance may: the DELETE is the same from all).
async fn prune_callbacks(db: Db, keep: Duration) {
    match prune_callbacks_now(&db, keep).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "old provider callbacks pruned"),
        Err(e) => tracing::warn!("pruning provider callbacks: {e}"),
    }
}

/// Deletes the audit entries older than `keep`, a minute after start and
/// then every six hours (any instance may: the DELETE is the same from all).
async fn prune_audit(db: Db, keep: Duration) {
    match prune_audit_now(&db, keep).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "audit entries past retention pruned"),
        Err(e) => tracing::warn!("pruning the audit trail: {e}"),
    }
}

/// Deletes the delivery log and events older than `days` (whole WIB days),
/// a minute after start and then every six hours, in small batches.
async fn prune_history(db: Db, days: i64) {
    match prune_history_now(&db, days).await {
        Ok(p) if p == storage::retention::Pruned::default() => {}
        Ok(p) => tracing::info!(
            deliveries = p.deliveries,
            events = p.events,
            days,
            "pruned the delivery log and events past retention"
        ),
        Err(e) => tracing::warn!("pruning the delivery log: {e}"),
    }
}

/// Deletes now the providers' callbacks older than `keep` (the hourly task
/// above and `server prune`).
pub async fn prune_callbacks_now(db: &Db, keep: Duration) -> Result<u64, storage::Error> {
    storage::outbox::prune_callbacks(db, storage::now_ms() - keep.as_millis() as i64).await
}

/// Deletes now the audit entries older than `keep`, in small batches.
pub async fn prune_audit_now(db: &Db, keep: Duration) -> Result<u64, storage::Error> {
    let before = storage::now_ms() - keep.as_millis() as i64;
    storage::retention::prune_audit_before(db, before, storage::retention::BATCH).await
}

/// Deletes now the delivery log and events older than `days` whole WIB
/// days, in small batches.
pub async fn prune_history_now(
    db: &Db,
    days: i64,
) -> Result<storage::retention::Pruned, storage::Error> {
    let before = storage::analytics::retention_cutoff(storage::now_ms(), days);
    storage::retention::prune_before(db, before, storage::retention::BATCH).await
}

/// Keeps the analytics rollups current: every day once at start, then today
/// and yesterday (where statuses still change) every `every`, and within
/// [`LIVE_ANALYTICS`] of delivery changes this instance hears of; when a
/// recompute changed the figures, the analytics pages are told to reload.
async fn refresh_analytics(db: Db, feed: Feed, every: Duration, shutdown: CancellationToken) {
    use storage::analytics::{day_of, refresh_all, refresh_days};
    use tokio::sync::broadcast::error::RecvError;
    let mut batches = feed.subscribe();
    if let Err(e) = refresh_all(&db, storage::now_ms()).await {
        tracing::warn!("analytics: {e}");
    }
    // What the pages loaded from now on show: reloads are asked for only
    // when the figures move away from it.
    let today = day_of(storage::now_ms());
    let mut shown = refresh_days(&db, today - 1, today).await.ok();
    let mut periodic = tokio::time::interval(every);
    periodic.reset();
    let mut soon = tokio::time::interval(LIVE_ANALYTICS);
    soon.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = false;
    loop {
        let refresh = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = periodic.tick() => true,
            _ = soon.tick(), if dirty => true,
            batch = batches.recv() => {
                match batch {
                    Ok(b) => dirty |= b.deliveries_frame.is_some() || b.resync,
                    Err(RecvError::Lagged(_)) => dirty = true,
                    Err(RecvError::Closed) => return,
                }
                false
            }
        };
        if refresh {
            let today = day_of(storage::now_ms());
            match refresh_days(&db, today - 1, today).await {
                Ok(figures) if shown != Some(figures) => {
                    feed.analytics();
                    shown = Some(figures);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("analytics: {e}"),
            }
            dirty = false;
        }
    }
}

/// How soon after delivery changes the rollups are recomputed (at most this
/// often, so a busy dispatcher does not recompute them for every send).
const LIVE_ANALYTICS: Duration = Duration::from_secs(2);

/// The span of each request, on every line logged while serving it: its id
/// (also the response's `X-Request-Id`), the client's address, method and
/// path. Query strings stay out of the logs (webhook URLs carry their
/// secret there), and so do acknowledgement links' tokens (a token
/// acknowledges an alert).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .extensions()
        .get::<http::RequestId>()
        .and_then(|id| id.0.to_str().ok())
        .unwrap_or("-");
    let client = request
        .extensions()
        .get::<app::auth::throttle::ClientAddr>()
        .map(|c| c.0);
    tracing::info_span!(
        "request",
        id,
        client = client.map(tracing::field::display),
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
    )
}

fn loggable_path(path: &str) -> &str {
    if path.starts_with("/ack/") {
        "/ack/…"
    } else {
        path
    }
}

/// Compares secrets without revealing where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A 503's `Retry-After` (pages and the API alike): storage refused the
/// work and nothing was stored; the same request may pass by then.
pub(crate) fn retry_after(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        axum::http::header::RETRY_AFTER,
        storage::error::RETRY_AFTER_SECS.into(),
    );
}

/// What every render gets besides Leptos's own: the state, and the nonce
/// of the request's Content-Security-Policy (`origin::security_headers`)
/// in place of the one Leptos made, so the page's scripts carry the nonce
/// the header names.
fn render_context(state: AppState) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(state.clone());
        let nonce = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<origin::CspNonce>().cloned());
        if let Some(origin::CspNonce(nonce)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    }
}

/// The Leptos pages and server functions, behind the session middleware.
fn pages(state: AppState, site: origin::SameSite) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .route(
            "/deliveries/export.csv",
            get(app::deliveries::export::export_csv),
        )
        .route("/push/receipt", axum::routing::post(push::receipt))
        .leptos_routes_with_context(&state, routes, render_context(state.clone()), move || {
            shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(render_context(state.clone()), shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::auth::session::session_layer,
        ))
        // Outermost: a cross-site request is refused before the session
        // is even looked up.
        .layer(axum::middleware::from_fn_with_state(
            site,
            origin::refuse_cross_site,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    #[test]
    fn acknowledgement_tokens_stay_out_of_the_logs() {
        assert_eq!(super::loggable_path("/ack/0011.5.1800000000.sig"), "/ack/…");
        assert_eq!(super::loggable_path("/deliveries/7"), "/deliveries/7");
    }
}
