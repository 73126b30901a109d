//! Digests of low-priority notifications: the SQL of the lines that wait for
//! a person's digest and of a digest written exactly once. The server's
//! `digests` module sends them; `domain::digest` says what waits and what a
//! digest says; the settings page switches them on.

#[cfg(feature = "ssr")]
pub mod store;
