//! Alerts: notifications under an escalation policy, open until someone
//! acknowledges them (in the inbox, by a signed link, or by a WhatsApp reply).
//!
//! - [`store`] (server only): the SQL of acknowledging and of reading an
//!   alert's state;
//! - [`token`] (server only): the signed acknowledgement links.
//!
//! The policies are master data ([`crate::escalation`]); the server's
//! dispatcher takes the steps.

#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod token;

use domain::escalation::AckChannel;
use serde::{Deserialize, Serialize};

/// An alert as the inbox and the delivery log show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    pub open: bool,
    /// Steps taken so far (0: only the event's own messages went out).
    pub steps_taken: i64,
    /// When the next step is due, while one remains and nobody acknowledged.
    pub next_step_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub ack_channel: Option<AckChannel>,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckOutcome {
    /// This one closed the alert.
    Acknowledged,
    /// Someone had already; the alert as it stands.
    Already(AlertView),
    /// The user was not asked about this alert.
    NotRecipient,
    NotFound,
}
