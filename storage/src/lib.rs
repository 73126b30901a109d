//! The server's core, below the pages and the host: everything that keeps
//! state. No Leptos, no HTTP.
//!
//! - [`db`]: the SQLite / PostgreSQL pool, migrations, SQLite's write gate
//!   and its direct writer for the hot transactions;
//! - [`outbox`]: events and their deliveries, written before any send
//!   ([`outbox::write`]), claimed, recorded and moved on by provider
//!   callbacks ([`outbox::dispatch`]);
//! - [`feed`]: this instance's live feed of committed changes (and, on
//!   PostgreSQL, the other instances');
//! - [`pace`]: one send pace per provider account for all instances on
//!   PostgreSQL;
//! - [`window`]: Meta's 24-hour customer-service windows;
//! - [`meta_templates`]: Meta's approved templates and the admins' mappings;
//! - [`error`]: what can go wrong in storage, as kinds; the words are chosen
//!   by whoever shows them;
//! - the capabilities' stores, one module each, reading and writing the
//!   types of `domain::views`: [`settings`] (a person's own settings and
//!   phone codes), [`push`] (web push devices), [`groups`], [`deliveries`]
//!   (the log), [`escalation`] (policies), [`alerts`] (acknowledgements),
//!   [`analytics`] (rollups), [`reports`] (schedules and runs), [`digests`],
//!   [`inbox`], [`templates`], [`providers`] (accounts, sealed credentials),
//!   [`users`] (the ticketing system's sync), [`retention`], [`secrets`],
//!   [`keys`] (the server's signing keys: acknowledgement links, VAPID);
//! - [`sessions`]: sign-in's session rows and password check;
//! - [`seed`]: reference data every install needs, and the demo data.
//!
//! The crates above: `app` (pages and server functions) and `server` (the
//! Axum host, the dispatcher, providers) use this; `domain` is below it.

pub mod alerts;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod db;
pub mod deliveries;
pub mod digests;
pub mod error;
pub mod escalation;
pub mod fallback;
pub mod feed;
pub mod groups;
pub mod inbox;
pub mod keys;
pub mod meta_templates;
pub mod outbox;
pub mod pace;
pub mod password_resets;
pub mod providers;
pub mod push;
pub mod reports;
pub mod retention;
pub mod routing;
pub mod secrets;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod templates;
pub mod users;
pub mod window;
pub mod zones;

pub use db::Db;
pub use error::Error;

/// Milliseconds since the Unix epoch (UTC), the unit of every timestamp in
/// both databases.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
