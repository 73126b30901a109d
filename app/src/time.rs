//! Timestamps and WIB dates (`domain::time`), and the server's clock.

pub use domain::time::*;
#[cfg(feature = "ssr")]
pub use storage::now_ms;
