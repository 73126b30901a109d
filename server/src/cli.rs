//! The command line (clap): `server --help` lists the commands and every
//! environment variable (`config::ENV`, the one place they are described);
//! each command has its own `--help`; an unknown command or flag is
//! refused (exit status 2), never ignored.
//!
//! `provider-add` and `user-add` fill the pages' forms and are checked by
//! the same rules (`ProviderForm::validate`, `UserForm::validate`), so what
//! a page refuses is refused here too, with the same reason (in English),
//! naming the flag.

use app::providers::{ProviderForm, ValidProvider};
use app::users::{UserForm, ValidUser};
use clap::{Args, Parser, Subcommand};
use domain::providers::ProviderKind;
use domain::Locale;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "Notifikasi ISP: the ticketing system's events to WhatsApp and the other channels.",
    long_about = "Notifikasi ISP: the ticketing system's events to WhatsApp and the other channels.\n\nWithout a command it runs the app (pages, API, dispatcher) on the database DATABASE_URL names (SQLite by default). Settings come from environment variables; `server --help` lists them.",
    after_help = "Settings are environment variables: `server --help` lists them.",
    after_long_help = crate::config::env_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the app: pages, API and dispatcher (the default).
    Run,
    /// Applies the database's migrations and exits (`run` applies them too).
    Migrate,
    /// Makes an API key for the ticketing system and prints it once.
    CreateApiKey {
        /// What the key is for, e.g. "Tiket".
        name: String,
    },
    /// Lists the API keys (name, first characters, last use; never a key).
    ApiKeyList,
    /// Revokes an API key: every instance refuses it at once.
    RevokeApiKey {
        /// The key's number, from api-key-list.
        id: i64,
    },
    /// Adds a provider account (the providers page's rules).
    ProviderAdd(ProviderArgs),
    /// Lists the provider accounts (never their credentials).
    ProviderList,
    /// Switches a provider account on.
    ProviderEnable {
        /// The account's number, from provider-list.
        id: i64,
    },
    /// Switches a provider account off: nothing more is sent through it.
    ProviderDisable {
        /// The account's number, from provider-list.
        id: i64,
    },
    /// Syncs a Meta account's message templates now (also done at start
    /// and every six hours).
    MetaTemplatesSync {
        /// The account's number, from provider-list.
        account_id: i64,
    },
    /// Writes a consistent copy of the live SQLite database (the server may
    /// keep running).
    Backup {
        /// A new file.
        file: PathBuf,
    },
    /// Deletes now what is past retention: the delivery log and events
    /// (RETENTION_DAYS), the providers' callbacks (CALLBACK_RETENTION_DAYS)
    /// and the audit trail (AUDIT_RETENTION_DAYS).
    Prune,
    /// Adds a person (the users page's rules) and prints their one-time
    /// set-password link.
    UserAdd(UserArgs),
    /// Lists people.
    UserList,
    /// Makes a new set-password link, printed and sent (WhatsApp and email)
    /// when the server runs.
    UserResetPassword {
        /// The person's email.
        email: String,
    },
}

/// `provider-add`'s flags.
#[derive(Debug, Args, Default)]
pub struct ProviderArgs {
    /// fonnte, wablas, woowa, meta, smtp, zenziva, twilio, twilio_voice,
    /// webpush or sandbox.
    #[arg(long)]
    pub kind: String,
    /// The account's name, shown in the log.
    #[arg(long)]
    pub name: String,
    /// The credentials as a JSON object, e.g. '{"token": "…"}'.
    #[arg(long, default_value = "")]
    pub credentials: String,
    /// The gateway's address (empty: the kind's public endpoint).
    #[arg(long, default_value = "")]
    pub base_url: String,
    /// The sandbox's channel (the others send on their own).
    #[arg(long)]
    pub channel: Option<String>,
    /// Failover order: lower is tried first.
    #[arg(long)]
    pub order: Option<i64>,
    /// Sends per minute at most.
    #[arg(long, value_name = "PER_MINUTE")]
    pub rate: Option<i64>,
    /// Rupiah per message.
    #[arg(long, value_name = "RUPIAH")]
    pub price: Option<i64>,
    /// How long a send may take.
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<i64>,
    /// Meta: rupiah per template category, e.g. utility=356,marketing=586.
    #[arg(long)]
    pub template_prices: Option<String>,
}

/// `user-add`'s flags.
#[derive(Debug, Args, Default)]
pub struct UserArgs {
    #[arg(long, default_value = "")]
    pub name: String,
    #[arg(long, default_value = "")]
    pub email: String,
    /// An Indonesian mobile number in any form.
    #[arg(long, default_value = "")]
    pub phone: String,
    /// admin, manager, supervisor, technician, noc or customer_service (no
    /// default: an admin made by mistake is worse than a question).
    #[arg(long, default_value = "")]
    pub role: String,
    /// A work zone's code.
    #[arg(long, default_value = "")]
    pub zone: String,
    /// id or en.
    #[arg(long)]
    pub locale: Option<String>,
    /// An IANA time zone (default Asia/Jakarta).
    #[arg(long)]
    pub time_zone: Option<String>,
}

/// Which flag fills each form field (a refusal names the flag).
const PROVIDER_FLAGS: [(&str, &str); 10] = [
    ("kind", "kind"),
    ("name", "name"),
    ("credentials", "credentials"),
    ("base-url", "base_url"),
    ("channel", "channel"),
    ("order", "failover_order"),
    ("rate", "rate_limit_per_minute"),
    ("price", "price_rupiah"),
    ("timeout-ms", "timeout_ms"),
    ("template-prices", "template_prices"),
];

const USER_FLAGS: [(&str, &str); 7] = [
    ("name", "name"),
    ("email", "email"),
    ("phone", "phone"),
    ("role", "role"),
    ("zone", "work_zone"),
    ("locale", "locale"),
    ("time-zone", "time_zone"),
];

/// A form's refusal, each line naming the flag that fills the field.
fn refusal(errors: &[domain::words::FieldError], flags: &[(&str, &str)]) -> String {
    errors
        .iter()
        .map(|e| {
            let flag = flags
                .iter()
                .find(|(_, f)| *f == e.field)
                .map_or_else(|| e.field.clone(), |(flag, _)| format!("--{flag}"));
            format!("{flag}: {}", e.message.get(Locale::En))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `provider-add`'s flags as a checked account; the error names every
/// flag that is wrong and why.
pub fn provider_add(a: &ProviderArgs) -> Result<ValidProvider, String> {
    // The kind's own channel; only the sandbox chooses. The page has no
    // such field for the others, but a flag written by hand deserves an
    // answer.
    let own = ProviderKind::parse(&a.kind).map(|k| (k, k.channel().as_str()));
    let channel = match (&a.channel, own) {
        (Some(c), Some((k, own))) if k != ProviderKind::Sandbox && c != own => {
            return Err(format!(
                "--channel: a {} account sends on {own}, not {c}",
                a.kind
            ));
        }
        (Some(c), _) => c.clone(),
        (None, own) => own.map_or_else(String::new, |(_, c)| c.to_owned()),
    };
    let defaults = ProviderForm::default();
    let form = ProviderForm {
        id: None,
        name: a.name.clone(),
        channel,
        kind: a.kind.clone(),
        base_url: a.base_url.clone(),
        credentials: a.credentials.clone(),
        enabled: true,
        failover_order: a.order.unwrap_or(defaults.failover_order),
        rate_limit_per_minute: a.rate.unwrap_or(defaults.rate_limit_per_minute),
        price_rupiah: a.price.unwrap_or(defaults.price_rupiah),
        timeout_ms: a.timeout_ms.unwrap_or(defaults.timeout_ms),
        template_prices: prices(a.template_prices.as_deref())?,
    };
    form.validate()
        .map_err(|errors| refusal(&errors, &PROVIDER_FLAGS))
}

/// `user-add`'s flags as a checked person (the users page's rules).
pub fn user_add(a: &UserArgs) -> Result<ValidUser, String> {
    let defaults = UserForm::default();
    let form = UserForm {
        id: None,
        name: a.name.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        role: a.role.clone(),
        work_zone: a.zone.clone(),
        locale: a.locale.clone().unwrap_or(defaults.locale),
        time_zone: a.time_zone.clone().unwrap_or(defaults.time_zone),
        active: true,
    };
    form.validate()
        .map_err(|errors| refusal(&errors, &USER_FLAGS))
}

/// `utility=356,marketing=586`.
fn prices(text: Option<&str>) -> Result<std::collections::BTreeMap<String, i64>, String> {
    let Some(text) = text else {
        return Ok(Default::default());
    };
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("--template-prices: '{pair}' is not category=rupiah"))?;
            let v = v
                .trim()
                .parse()
                .map_err(|_| format!("--template-prices: '{v}' is not a number"))?;
            Ok((k.trim().to_owned(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Command, String> {
        let mut all = vec!["server"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
            .map(|c| c.command.expect("a command"))
            .map_err(|e| e.to_string())
    }

    fn user(args: &[&str]) -> Result<ValidUser, String> {
        let mut all = vec!["user-add"];
        all.extend_from_slice(args);
        match parse(&all)? {
            Command::UserAdd(a) => user_add(&a),
            other => panic!("{other:?}"),
        }
    }

    fn provider(args: &[&str]) -> Result<ValidProvider, String> {
        let mut all = vec!["provider-add"];
        all.extend_from_slice(args);
        match parse(&all)? {
            Command::ProviderAdd(a) => provider_add(&a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_command_line_checks_a_person_as_the_users_page_does() {
        let ok = user(&[
            "--name",
            "Rudi",
            "--email",
            "Rudi@Example.ID",
            "--role",
            "admin",
            "--phone",
            "0812-7777-0001",
        ])
        .unwrap();
        assert_eq!(ok.email, "rudi@example.id");
        assert_eq!(ok.role, domain::Role::Admin);
        assert_eq!(ok.phone.unwrap().as_str(), "+6281277770001");
        let err = user(&["--name", "Rudi", "--email", "x", "--zone", "karawang"]).unwrap_err();
        assert!(err.contains("--email: Not an email address"), "{err}");
        assert!(err.contains("--role: Choose a role."), "{err}");
        let err = user(&["--password", "x"]).unwrap_err();
        assert!(err.contains("unexpected argument '--password'"), "{err}");
    }

    #[test]
    fn the_command_line_checks_an_account_as_the_page_does() {
        let ok = provider(&[
            "--kind",
            "meta",
            "--name",
            "Meta",
            "--base-url",
            "https://graph.facebook.com/v21.0/",
            "--template-prices",
            "utility=356, service=0",
        ])
        .unwrap();
        // The version pasted with the address is Meta's path, not its base.
        assert_eq!(ok.base_url.as_deref(), Some("https://graph.facebook.com"));
        assert_eq!(ok.template_prices.get("utility"), Some(&356));

        let err = provider(&[
            "--kind",
            "smtp",
            "--name",
            "",
            "--base-url",
            "https://mail",
            "--rate",
            "0",
        ])
        .unwrap_err();
        for flag in [
            "--name:",
            "--base-url: An SMTP address starts with smtp://",
            "--rate:",
        ] {
            assert!(err.contains(flag), "{flag} in {err}");
        }
        // A misspelt flag is refused, not ignored with the default kept.
        let err = provider(&["--kind", "fonnte", "--name", "F", "--rate-limit", "5"]).unwrap_err();
        assert!(err.contains("unexpected argument '--rate-limit'"), "{err}");
        assert!(
            err.contains("a similar argument exists: '--rate'"),
            "the right one suggested: {err}"
        );
        let err = provider(&["--kind", "fonnte", "--name", "F", "--rate", "lima"]).unwrap_err();
        assert!(err.contains("invalid value 'lima'"), "{err}");
        let err = provider(&["--kind", "fonnte", "--name", "F", "--channel", "sms"]).unwrap_err();
        assert!(err.contains("sends on whatsapp"), "{err}");
        let err = provider(&["--kind", "wablas", "--name", "W"]).unwrap_err();
        assert!(err.contains("--base-url"), "{err}");
    }

    #[test]
    fn unknown_commands_and_missing_arguments_are_refused() {
        assert!(parse(&["frobnicate"])
            .unwrap_err()
            .contains("unrecognized subcommand 'frobnicate'"));
        assert!(parse(&["backup"]).unwrap_err().contains("<FILE>"));
        assert!(parse(&["revoke-api-key", "x"])
            .unwrap_err()
            .contains("invalid value 'x'"));
        assert!(matches!(parse(&["prune"]), Ok(Command::Prune)));
        assert!(Cli::try_parse_from(["server"]).unwrap().command.is_none());
    }
}
