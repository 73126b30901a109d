//! Alerts: notifications under an escalation policy, open until someone
//! acknowledges them (in the inbox, by a signed link, or by a WhatsApp reply).
//!
//! The signed acknowledgement links are `storage::keys::ack_links`.
//!
//! The policies are master data ([`crate::escalation`]); the server's
//! dispatcher takes the steps.
//!
//! The SQL is `storage::alerts`.

pub use domain::live::{AckOutcome, AlertView};
