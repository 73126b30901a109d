//! Test support shared by the integration tests and the load generator:
//! provider fakes that speak each gateway's real protocol on loopback.
//! Not used by the running app.

pub mod fakes;
pub mod push;

use crate::dispatcher::DispatcherConfig;
use std::time::Duration;

/// The secret key of every test server (several instances on one database
/// share it, as in production).
pub fn keys() -> storage::secrets::Keyring {
    storage::secrets::Keyring::new(&[0x5a; 32], &[])
}

/// The bearer token of the tests' `/metrics`.
pub const METRICS_TOKEN: &str = "metrics-token-of-the-tests";

/// The whole server on 127.0.0.1 (a free port) over `db`, as the tests and
/// the benchmarks run it: plain cookies, no analytics refresh task (timed
/// runs measure the delivery path), the dispatcher if given.
pub async fn start_on_loopback(
    db: storage::db::Db,
    dispatcher: Option<DispatcherConfig>,
) -> Result<crate::Running, String> {
    start_on_loopback_with(db, dispatcher, |_| {}).await
}

/// [`start_on_loopback`] with some options changed by `change`.
pub async fn start_on_loopback_with(
    db: storage::db::Db,
    dispatcher: Option<DispatcherConfig>,
    change: impl FnOnce(&mut crate::StartOptions),
) -> Result<crate::Running, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let shutdown_grace = dispatcher
        .as_ref()
        .map_or(Duration::from_secs(20), |d| d.shutdown_grace);
    let mut options = crate::StartOptions {
        leptos_options: leptos::config::LeptosOptions::builder()
            .output_name("notifikasi")
            .build(),
        secure_cookies: false,
        dispatcher,
        analytics_refresh: None,
        public_url: crate::dispatcher::worker::DEFAULT_PUBLIC_URL.to_owned(),
        // The tests' push service fake listens on loopback.
        push_loopback: true,
        callback_retention: None,
        retention_days: None,
        audit_retention: None,
        keys: keys(),
        metrics_token: Some(METRICS_TOKEN.to_owned()),
        trusted_proxies: Vec::new(),
        shutdown_grace,
    };
    change(&mut options);
    crate::start(db, listener, options).await
}
