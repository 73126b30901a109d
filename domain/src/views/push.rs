//! Web push: the browsers and devices a person turned push notifications on
//! in (their subscriptions), the server's VAPID public key they subscribe
//! with, and the settings page's part that manages them. The server's
//! `providers::webpush` sends; `public/sw.js` shows what arrives.
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::push`, the page and server functions `app::push`.

use serde::{Deserialize, Serialize};

/// One of a person's devices, as their settings page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct PushDevice {
    pub id: i64,
    /// "Chrome di Android" (`crate::push::device_label`).
    pub device: String,
    /// Lets the page tell which row is the browser it runs in.
    pub endpoint: String,
    pub created_at: i64,
    pub last_success_at: Option<i64>,
    /// The last push service refusal, if the last push to it failed.
    pub last_error: Option<String>,
}

/// What the settings page needs to offer push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushOverview {
    /// The server's VAPID public key (base64url); `None` when no push account
    /// is enabled, so there is nothing to subscribe to.
    pub public_key: Option<String>,
    pub devices: Vec<PushDevice>,
}

/// A browser's `PushSubscription.toJSON()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserSubscription {
    pub endpoint: String,
    pub keys: BrowserKeys,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserKeys {
    pub p256dh: String,
    pub auth: String,
}
