//! The Leptos application: pages, components and server functions.
//!
//! The storage below them (database, outbox, live feed) is the `storage`
//! crate. Organised by capability; each folder holds the types the browser and the
//! server share, the server functions, the SQL (behind the `ssr` feature, so it
//! never reaches the WASM bundle) and the page:
//! - [`auth`]: sign-in, sessions, roles;
//! - [`settings`]: a user's own notification settings;
//! - [`push`]: a person's web push devices (subscriptions, VAPID key);
//! - [`groups`]: WhatsApp groups master data;
//! - [`deliveries`]: the delivery log;
//! - [`escalation`]: escalation policies (master data);
//! - [`alerts`]: notifications open until acknowledged (escalation);
//! - [`analytics`]: delivery statistics;
//! - [`reports`]: scheduled reports' schedules;
//! - [`inbox`]: the in-app notifications;
//! - [`live`]: live updates over the WebSocket (server feed, browser client);
//! - [`templates`]: message templates (checked on save);
//! - [`meta_templates`]: Meta's approved templates, synced, and which type
//!   goes out with which;
//! - [`i18n`]: the pages' language (Indonesian, or English by choice);
//! - [`ui`]: the components every page uses and the labels of every
//!   vocabulary;
//! - [`shell`]: the document, the router and the navigation.

pub mod account;
pub mod alerts;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod deliveries;
pub mod error;
pub mod escalation;
pub mod groups;
pub mod i18n;
pub mod inbox;
pub mod live;
pub mod meta_templates;
pub mod providers;
pub mod push;
pub mod reports;
pub mod settings;
pub mod shell;
#[cfg(feature = "ssr")]
pub mod state;
pub mod templates;
pub mod time;
pub mod ui;
pub mod users;
pub mod zones;

pub use error::AppError;
pub use shell::{shell, App};
