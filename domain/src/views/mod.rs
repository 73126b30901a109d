//! What the pages show and their forms send, by capability: plain data
//! the browser and the server share (serde), with the checks a form passes
//! before anything is saved, run in the browser as the user types and again
//! on the server. The stores (`storage`) read and write these; the pages
//! (`app`) show them.

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod deliveries;
pub mod escalation;
pub mod groups;
pub mod import;
pub mod providers;
pub mod push;
pub mod reports;
pub mod settings;
pub mod templates;
pub mod users;
pub mod zones;
