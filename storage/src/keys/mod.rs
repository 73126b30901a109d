//! The server's own signing keys, made by whichever instance starts first and
//! kept (sealed) in `server_keys` so every instance signs alike:
//!
//! - [`ack_links`]: HMAC key of the signed acknowledgement links in alerts;
//! - [`vapid`]: the P-256 key web push messages are signed with (RFC 8292).

pub mod ack_links;
pub mod vapid;
