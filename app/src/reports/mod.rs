//! Scheduled reports (daily summary, weekly report): the schedules' SQL.
//! The server's `reports` module fires them; `domain::schedule` says when
//! and what they say.

#[cfg(feature = "ssr")]
pub mod store;
