//! A user's own notification settings: channel switches, quiet hours, phone.

pub mod page;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MySettings {
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub whatsapp_enabled: bool,
    pub quiet_hours_enabled: bool,
    /// Minutes after local midnight.
    pub quiet_start_minute: i64,
    pub quiet_end_minute: i64,
    pub quiet_time_zone: String,
    pub critical_bypass_quiet: bool,
    pub receive_group_notifications: bool,
    /// Names of the WhatsApp groups the user belongs to.
    pub groups: Vec<String>,
}

/// `22:00` for 1320.
pub fn hhmm(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[server(endpoint = "settings/get")]
pub async fn get_my_settings() -> Result<MySettings, AppError> {
    let user = crate::auth::session::require_area(crate::auth::Area::Settings)?;
    store::load(&crate::state::app_state()?.db, user.id).await
}
