//! The outbox: every message is a row here before any provider sees it.
//!
//! - [`write`]: an event with its deliveries, inbox items, alert and digest
//!   lines in one transaction (ingestion's group commit, and the app's own
//!   messages: phone codes, test sends, retries);
//! - [`dispatch`]: the dispatcher's side: claiming due rows under a lease,
//!   recording outcomes fenced on the attempt, rescuing expired leases;
//! - [`callbacks`]: provider status callbacks applied monotonically, held
//!   until their send is recorded, kept for audit.

pub mod callbacks;
pub mod dispatch;
pub mod write;

pub use callbacks::*;
pub use dispatch::*;
pub use write::*;
