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
    /// How many days of the delivery log and its events are kept
    /// (`RETENTION_DAYS`, default 365; 0 keeps them for ever; at least 30).
    pub retention_days: u64,
    /// How many days of the audit trail are kept (`AUDIT_RETENTION_DAYS`,
    /// default 730; 0 keeps it for ever; at least 90).
    pub audit_retention_days: u64,
    /// `SECRET_KEY`: the key stored secrets are sealed with (64 hex digits).
    pub secret_key: Option<String>,
    /// `SECRET_KEY_FILE`: a file holding it; by default `secret.key` beside
    /// an SQLite database (`data/secret.key` for PostgreSQL), made on first
    /// start.
    pub secret_key_file: std::path::PathBuf,
    /// `SECRET_KEY_PREVIOUS`: keys secrets may still be sealed with
    /// (comma-separated), during a rotation.
    pub secret_key_previous: Vec<String>,
    /// `METRICS_TOKEN`: the bearer token `/metrics` asks for (unset: the
    /// route answers 404).
    pub metrics_token: Option<String>,
    /// `TRUSTED_PROXIES`: the reverse proxies whose `X-Forwarded-For` names
    /// the client (addresses or networks; none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `SHUTDOWN_GRACE_SECS`: how long a stop waits for sends and requests
    /// in flight.
    pub shutdown_grace: std::time::Duration,
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
            .field("retention_days", &self.retention_days)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("secret_key_file", &self.secret_key_file)
            .field("secret_key_previous", &self.secret_key_previous.len())
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("trusted_proxies", &self.trusted_proxies)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

/// Every environment variable the server reads: name, default, meaning.
/// The one place they are described: `server --help` prints them, and
/// tests check that `Config::from_env` reads no other and that the
/// README's Configuration table names each.
pub const ENV: &[(&str, &str, &str)] = &[
    (
        "DATABASE_URL",
        "sqlite:data/notifikasi.db",
        "sqlite:… (embedded) or postgres://… (several instances)",
    ),
    ("DB_MAX_CONNECTIONS", "10", "the database pool's size"),
    (
        "BIND_ADDR",
        "127.0.0.1:3000",
        "the address to listen on (or LEPTOS_SITE_ADDR)",
    ),
    (
        "PUBLIC_URL",
        "http://localhost:3000",
        "where users reach the app: links in messages and emails",
    ),
    (
        "DEMO_DATA",
        "off",
        "1: seed demo people, groups, rules and an API key",
    ),
    (
        "ADMIN_EMAIL",
        "admin@localhost",
        "the first admin of an empty database",
    ),
    (
        "ADMIN_PASSWORD",
        "generated, printed once",
        "the first admin's password (10 characters or more)",
    ),
    (
        "SECRET_KEY",
        "unset",
        "the key stored secrets are sealed with: 64 hex digits",
    ),
    (
        "SECRET_KEY_FILE",
        "secret.key beside the SQLite database",
        "a file holding the key when SECRET_KEY is unset; made on first start",
    ),
    (
        "SECRET_KEY_PREVIOUS",
        "unset",
        "older keys, comma-separated, still opened during a rotation",
    ),
    (
        "SECURE_COOKIES",
        "on when PUBLIC_URL is https",
        "1: mark the session cookie Secure",
    ),
    (
        "DISPATCHER",
        "on",
        "0: this instance sends nothing (API and pages only)",
    ),
    (
        "DISPATCH_LEASE_MS",
        "60000",
        "how long a claimed delivery stays leased (over the longest provider timeout)",
    ),
    (
        "ANALYTICS_REFRESH_MS",
        "10000",
        "how often the recent days' analytics are recomputed; 0: never",
    ),
    (
        "SMS_FALLBACK_AFTER_SECS",
        "600",
        "a high or critical WhatsApp message undelivered this long also goes as SMS",
    ),
    (
        "RETENTION_DAYS",
        "365",
        "days of the delivery log and events kept; 0: for ever, else at least 30",
    ),
    (
        "CALLBACK_RETENTION_DAYS",
        "30",
        "days of the providers' callbacks kept; 0: for ever",
    ),
    (
        "AUDIT_RETENTION_DAYS",
        "730",
        "days of the audit trail kept; 0: for ever, else at least 90",
    ),
    (
        "PUSH_ALLOW_LOOPBACK",
        "off",
        "1: web push may call plain-HTTP endpoints on this machine (development only)",
    ),
    (
        "METRICS_TOKEN",
        "unset: /metrics answers 404",
        "the bearer token Prometheus sends to /metrics (16 characters or more)",
    ),
    (
        "TRUSTED_PROXIES",
        "none",
        "reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client",
    ),
    (
        "SHUTDOWN_GRACE_SECS",
        "20",
        "on SIGTERM, how long sends and requests in flight may finish",
    ),
    (
        "LOG_FORMAT",
        "text",
        "json: one JSON object per log line, with the request's id and client",
    ),
    ("RUST_LOG", "info,sqlx=warn", "the log filter"),
];

/// Whether logs are written as JSON (`LOG_FORMAT`), read before the rest
/// of the configuration so that its errors are logged in the chosen form.
pub fn log_json() -> Result<bool, String> {
    match std::env::var("LOG_FORMAT").as_deref() {
        Err(_) | Ok("" | "text") => Ok(false),
        Ok("json") => Ok(true),
        Ok(other) => Err(format!("LOG_FORMAT must be text or json, got {other:?}")),
    }
}

/// `TRUSTED_PROXIES`: addresses (`10.0.0.5`) and networks (`10.0.0.0/8`),
/// comma-separated.
pub fn parse_proxies(v: &str) -> Result<Vec<ipnet::IpNet>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("TRUSTED_PROXIES: {p:?} is neither an address nor a network like 10.0.0.0/8")
                })
        })
        .collect()
}

/// [`ENV`] as `server --help` prints it.
pub fn env_help() -> String {
    let width = ENV.iter().map(|(name, _, _)| name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment variables:\n");
    for (name, default, meaning) in ENV {
        text.push_str(&format!(
            "  {name:<width$}  {meaning} [default: {default}]\n"
        ));
    }
    text
}

/// How many days environment variable `name` keeps something: 0 (for
/// ever) or `min` to 36,500; `default` when unset.
fn days_var(name: &str, min: u64, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse::<u64>()
            .ok()
            .filter(|d| *d == 0 || (min..=36_500).contains(d))
            .ok_or_else(|| {
                format!("{name} must be 0 (keep for ever) or {min} to 36500 days, got '{v}'")
            }),
        Err(_) => Ok(default),
    }
}

fn flag(name: &str) -> bool {
    matches!(std::env::var(name).as_deref(), Ok("1" | "true" | "yes"))
}

pub use domain::views::auth::MIN_PASSWORD_CHARS;

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
        let callback_retention_days = days_var("CALLBACK_RETENTION_DAYS", 1, 30)?;
        let retention_days = days_var("RETENTION_DAYS", 30, 365)?;
        let audit_retention_days = days_var("AUDIT_RETENTION_DAYS", 90, 730)?;
        let secret_key_file = match std::env::var("SECRET_KEY_FILE") {
            Ok(f) if !f.is_empty() => f.into(),
            _ => default_key_file(&database_url),
        };
        let secret_key_previous = std::env::var("SECRET_KEY_PREVIOUS")
            .unwrap_or_default()
            .split(',')
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        let metrics_token = std::env::var("METRICS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < 16)
        {
            return Err("METRICS_TOKEN needs 16 characters or more".into());
        }
        let trusted_proxies = parse_proxies(&std::env::var("TRUSTED_PROXIES").unwrap_or_default())?;
        let shutdown_grace = match std::env::var("SHUTDOWN_GRACE_SECS") {
            Ok(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=3600).contains(s))
                .map(std::time::Duration::from_secs)
                .ok_or_else(|| format!("SHUTDOWN_GRACE_SECS must be 1 to 3600, got {v:?}"))?,
            Err(_) => std::time::Duration::from_secs(20),
        };
        // Behind https the cookie must never travel over plain HTTP.
        let secure_cookies = flag("SECURE_COOKIES") || public_url.starts_with("https://");
        Ok(Config {
            metrics_token,
            trusted_proxies,
            shutdown_grace,
            retention_days,
            audit_retention_days,
            secret_key: std::env::var("SECRET_KEY").ok().filter(|k| !k.is_empty()),
            secret_key_file,
            secret_key_previous,
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

impl Config {
    /// How many whole days of the delivery log are kept (`None`: for ever).
    pub fn history_retention_days(&self) -> Option<i64> {
        (self.retention_days > 0).then_some(self.retention_days as i64)
    }

    /// How long the providers' callbacks are kept (`None`: for ever).
    pub fn callback_retention(&self) -> Option<std::time::Duration> {
        days(self.callback_retention_days)
    }

    /// How long the audit trail is kept (`None`: for ever).
    pub fn audit_retention(&self) -> Option<std::time::Duration> {
        days(self.audit_retention_days)
    }
}

/// `n` days, or `None` for 0 (kept for ever).
fn days(n: u64) -> Option<std::time::Duration> {
    (n > 0).then(|| std::time::Duration::from_secs(n * 86_400))
}

/// Beside an SQLite database (each database its own key), or
/// `data/secret.key` in the working directory.
fn default_key_file(database_url: &str) -> std::path::PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or(database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.starts_with(":memory:"));
    match file.and_then(|f| std::path::Path::new(f).parent()) {
        Some(dir) => dir.join("secret.key"),
        None => "data/secret.key".into(),
    }
}

impl Config {
    /// The keys stored secrets are sealed with: `SECRET_KEY`, else the key
    /// file, made (owner-only) with a fresh random key if it does not exist.
    /// Instances sharing a database must share the key.
    pub fn keyring(&self) -> Result<storage::secrets::Keyring, String> {
        use storage::secrets::{parse_key, Keyring};
        let current = match &self.secret_key {
            Some(k) => parse_key(k).map_err(|e| format!("SECRET_KEY: {e}"))?,
            None => read_or_make_key_file(&self.secret_key_file)?,
        };
        let previous = self
            .secret_key_previous
            .iter()
            .map(|k| parse_key(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("SECRET_KEY_PREVIOUS: {e}"))?;
        Ok(Keyring::new(&current, &previous))
    }
}

/// The key in `path`, or a fresh one written there. Written under another
/// name and linked into place, so two instances starting at once never read
/// a half-written file: one link wins, the other reads it.
fn read_or_make_key_file(path: &std::path::Path) -> Result<[u8; 32], String> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map_err(|e| format!("secret key file {}: {e}", path.display()))
            .and_then(|text| {
                storage::secrets::parse_key(&text)
                    .map_err(|e| format!("secret key file {}: {e}", path.display()))
            })
    };
    if path.exists() {
        return read(path);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let key = storage::secrets::random_key();
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        writeln!(f, "{}", hex::encode(key))?;
        f.sync_all()
    };
    let made = write().and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match made {
        Ok(()) => {
            tracing::warn!(file = %path.display(), "made a new secret key: keep it apart from the database's backups, and give every instance the same one");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(format!(
            "cannot write the secret key file {}: {e}",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_read_is_described_once_and_in_the_readme() {
        let names: Vec<&str> = ENV.iter().map(|(n, _, _)| *n).collect();
        // Read here (RUST_LOG is read by the log filter in main.rs).
        let source = include_str!("config.rs");
        let named_by = |call: &str| -> Vec<&str> {
            source
                .split(call)
                .skip(1)
                .filter_map(|s| s.split('"').next())
                .collect()
        };
        let read: std::collections::BTreeSet<&str> = ["env::var(\"", "flag(\"", "days_var(\""]
            .into_iter()
            .flat_map(named_by)
            .collect();
        for name in &read {
            assert!(names.contains(name), "{name} is read but not in ENV");
        }
        assert_eq!(read.len() + 1, names.len(), "ENV names only what is read");
        let readme = include_str!("../../README.md");
        let table = &readme[readme.find("## Configuration").unwrap()..];
        for name in &names {
            assert!(
                table.contains(&format!("`{name}`")),
                "{name} in the README's table"
            );
        }
        let help = env_help();
        assert!(help.contains("AUDIT_RETENTION_DAYS"));
        assert!(help.contains("[default: 730]"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("rahasia1").is_err());
        assert!(check_password("rahasia-panjang").is_ok());
        // Characters, not bytes.
        assert!(check_password("ééééééééé").is_err());
    }

    #[test]
    fn the_key_file_sits_beside_an_sqlite_database() {
        assert_eq!(
            default_key_file("sqlite:data/notifikasi.db"),
            std::path::Path::new("data/secret.key")
        );
        assert_eq!(
            default_key_file("sqlite:///srv/notif/db.sqlite?mode=rwc"),
            std::path::Path::new("/srv/notif/secret.key")
        );
        assert_eq!(
            default_key_file("postgres://u@h/db"),
            std::path::Path::new("data/secret.key")
        );
    }

    #[test]
    fn a_key_file_is_made_once_and_read_after() {
        let dir = std::env::temp_dir().join(format!("notif-key-{}", std::process::id()));
        let path = dir.join("secret.key");
        let first = read_or_make_key_file(&path).unwrap();
        assert_eq!(read_or_make_key_file(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner only: {mode:o}");
        }
        std::fs::write(&path, "bukan kunci").unwrap();
        assert!(read_or_make_key_file(&path).unwrap_err().contains("64 hex"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
