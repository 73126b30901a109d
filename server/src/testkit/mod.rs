//! Test support shared by the integration tests and the load generator:
//! provider fakes that speak each gateway's real protocol on loopback.
//! Not used by the running app.

pub mod fakes;
