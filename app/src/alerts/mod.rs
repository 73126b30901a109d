//! Alerts: notifications under an escalation policy, open until someone
//! acknowledges them (in the inbox, by a signed link, or by a WhatsApp reply).
//!
//! - [`token`] (server only): the signed acknowledgement links.
//!
//! The policies are master data ([`crate::escalation`]); the server's
//! dispatcher takes the steps.
//!
//! The SQL is `storage::alerts`.

#[cfg(feature = "ssr")]
pub mod token;

pub use domain::live::{AckOutcome, AlertView};
