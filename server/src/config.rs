//! Configuration from the environment, checked once at start.

use std::net::SocketAddr;

#[derive(Clone)]
pub struct Config {
    /// `sqlite:…` (default) or `postgres://…`.
    pub database_url: String,
    pub max_db_connections: u32,
    /// Seed demo people, groups and rules on start (`DEMO_DATA=1`).
    pub demo_data: bool,
    /// Mark the session cookie `Secure` (`SECURE_COOKIES=1`, behind HTTPS).
    pub secure_cookies: bool,
    /// The first admin, created when the database has no users yet.
    pub admin_email: String,
    pub admin_password: Option<String>,
    /// Overrides LEPTOS_SITE_ADDR when set (`BIND_ADDR`).
    pub bind_addr: Option<SocketAddr>,
    /// Run the dispatcher in this process (`DISPATCHER=0` turns it off).
    pub dispatcher: bool,
    /// How long a claimed delivery stays leased (`DISPATCH_LEASE_MS`); must
    /// exceed the longest provider timeout.
    pub lease_ms: i64,
    /// How often the analytics rollups of the last two days are recomputed
    /// (`ANALYTICS_REFRESH_MS`, default 10 s; 0 turns it off).
    pub analytics_refresh_ms: u64,
    /// `PUBLIC_URL`: where users reach the app (emails link to its settings).
    pub public_url: String,
    /// High/critical WhatsApp not delivered after this many seconds also goes
    /// as SMS (`SMS_FALLBACK_AFTER_SECS`, default 600).
    pub sms_fallback_after_secs: i64,
    /// `PUSH_ALLOW_LOOPBACK=1`: web push may call plain-HTTP endpoints on
    /// this machine (development and browser tests; off in production).
    pub push_loopback: bool,
    /// How many days the providers' callbacks are kept
    /// (`CALLBACK_RETENTION_DAYS`, default 30; 0 keeps them for ever).
    pub callback_retention_days: u64,
}

// Written by hand so the admin password can never end up in a log line.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &storage::db::redact_url(&self.database_url))
            .field("max_db_connections", &self.max_db_connections)
            .field("demo_data", &self.demo_data)
            .field("secure_cookies", &self.secure_cookies)
            .field("admin_email", &self.admin_email)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("bind_addr", &self.bind_addr)
            .field("dispatcher", &self.dispatcher)
            .field("lease_ms", &self.lease_ms)
            .field("analytics_refresh_ms", &self.analytics_refresh_ms)
            .field("public_url", &self.public_url)
            .field("sms_fallback_after_secs", &self.sms_fallback_after_secs)
            .field("push_loopback", &self.push_loopback)
            .field("callback_retention_days", &self.callback_retention_days)
            .finish()
    }
}

fn flag(name: &str) -> bool {
    matches!(std::env::var(name).as_deref(), Ok("1" | "true" | "yes"))
}

/// The fewest characters a password may have (NIST SP 800-63B asks at
/// least 8 where, as here, guessing is throttled; 10 leaves a margin).
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a password chosen for an account is refused.
pub fn check_password(p: &str) -> Result<(), String> {
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let database_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "sqlite:data/notifikasi.db".to_owned());
        storage::db::Backend::of_url(&database_url)?;
        let max_db_connections = match std::env::var("DB_MAX_CONNECTIONS") {
            Ok(v) => v
                .parse()
                .map_err(|_| format!("DB_MAX_CONNECTIONS must be a number, got {v:?}"))?,
            Err(_) => 10,
        };
        let bind_addr = match std::env::var("BIND_ADDR") {
            Ok(v) => Some(
                v.parse()
                    .map_err(|_| format!("BIND_ADDR must be host:port, got {v:?}"))?,
            ),
            Err(_) => None,
        };
        let lease_ms = match std::env::var("DISPATCH_LEASE_MS") {
            Ok(v) => v
                .parse()
                .ok()
                .filter(|ms: &i64| *ms >= 1000)
                .ok_or_else(|| format!("DISPATCH_LEASE_MS must be at least 1000, got {v:?}"))?,
            Err(_) => 60_000,
        };
        let analytics_refresh_ms = match std::env::var("ANALYTICS_REFRESH_MS") {
            Ok(v) => v
                .parse()
                .map_err(|_| format!("ANALYTICS_REFRESH_MS must be a number, got {v:?}"))?,
            Err(_) => 10_000,
        };
        let public_url = std::env::var("PUBLIC_URL")
            .unwrap_or_else(|_| crate::dispatcher::worker::DEFAULT_PUBLIC_URL.to_owned());
        if !public_url.starts_with("http://") && !public_url.starts_with("https://") {
            return Err(format!(
                "PUBLIC_URL must start with http:// or https://, got {public_url:?}"
            ));
        }
        let sms_fallback_after_secs = match std::env::var("SMS_FALLBACK_AFTER_SECS") {
            Ok(v) => v.parse().ok().filter(|s: &i64| *s >= 1).ok_or_else(|| {
                format!(
                    "SMS_FALLBACK_AFTER_SECS must be a number of seconds (1 or more), got {v:?}"
                )
            })?,
            Err(_) => 600,
        };
        let admin_password = std::env::var("ADMIN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty());
        if let Some(p) = &admin_password {
            check_password(p).map_err(|e| format!("ADMIN_PASSWORD: {e}"))?;
        }
        let callback_retention_days = match std::env::var("CALLBACK_RETENTION_DAYS") {
            Ok(v) => v
                .parse::<u64>()
                .ok()
                .filter(|d| *d <= 36_500)
                .ok_or_else(|| {
                    format!("CALLBACK_RETENTION_DAYS must be a number of days, got '{v}'")
                })?,
            Err(_) => 30,
        };
        // Behind https the cookie must never travel over plain HTTP.
        let secure_cookies = flag("SECURE_COOKIES") || public_url.starts_with("https://");
        Ok(Config {
            callback_retention_days,
            admin_password,
            analytics_refresh_ms,
            sms_fallback_after_secs,
            public_url,
            database_url,
            max_db_connections,
            demo_data: flag("DEMO_DATA"),
            push_loopback: flag("PUSH_ALLOW_LOOPBACK"),
            secure_cookies,
            admin_email: std::env::var("ADMIN_EMAIL")
                .unwrap_or_else(|_| "admin@localhost".to_owned()),
            bind_addr,
            lease_ms,
            dispatcher: !matches!(
                std::env::var("DISPATCHER").as_deref(),
                Ok("0" | "false" | "no")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("rahasia1").is_err());
        assert!(check_password("rahasia-panjang").is_ok());
        // Characters, not bytes.
        assert!(check_password("ééééééééé").is_err());
    }
}
