//! The dispatcher: turns queued deliveries into provider calls.
//!
//! The delivery row is the outbox: ingestion writes it before anything is
//! sent. Workers claim due rows with a lease, send them, and record each
//! outcome fenced on the attempt they claimed. A worker that dies leaves its
//! rows `sending`; the rescuer returns them to the queue when the lease runs
//! out (on SQLite, which has a single instance, at once when it starts). Retries wait in
//! the row (`next_attempt_at`), never in memory, so a restart loses nothing.
//!
//! - `storage::outbox`: the SQL (claim, record, rescue), below this crate;
//! - [`worker`]: the claim loop, hand-over from ingestion, the result writer
//!   and the lease rescuer;
//! - [`attempt`]: one delivery's attempt: route → fail over (pacing) → send;
//! - [`backoff`]: when to try again;
//! - [`fallback`] (`storage::fallback`, all SQL): WhatsApp that did not
//!   arrive goes again as SMS;
//! - [`escalation`]: open alerts' next steps when their time comes.

pub mod attempt;
pub mod backoff;
pub mod escalation;
pub mod worker;

pub use storage::fallback;

pub use worker::{Dispatcher, DispatcherConfig};
