//! The command line's forms: `server provider-add` and `server user-add`
//! flags read into the pages' forms and checked by the same rules
//! (`ProviderForm::validate`, `UserForm::validate`), so what a page refuses
//! is refused here too, with the same reason (in English).

use app::providers::{ProviderForm, ValidProvider};
use app::users::{UserForm, ValidUser};
use domain::providers::ProviderKind;
use domain::Locale;
use std::collections::HashMap;

/// Each flag and the form field it fills (an error names the field).
const FLAGS: [(&str, &str); 10] = [
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

/// `--flag value` pairs, each flag one of `known` (flag, form field);
/// an unknown or valueless flag is refused.
fn read_flags<'a>(
    args: &[String],
    known: &[(&'a str, &str)],
) -> Result<HashMap<&'a str, String>, String> {
    let mut flags = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .and_then(|n| known.iter().find(|(f, _)| *f == n))
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = known.iter().map(|(f, _)| *f).collect();
                format!("unknown flag '{flag}' (known: --{})", names.join(", --"))
            })?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        flags.insert(name, value.clone());
    }
    Ok(flags)
}

/// A form's refusal, each line naming the flag that fills the field.
fn refusal(errors: &[domain::words::FieldError], known: &[(&str, &str)]) -> String {
    errors
        .iter()
        .map(|e| {
            let flag = known
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
pub fn provider_add(args: &[String]) -> Result<ValidProvider, String> {
    let flags = read_flags(args, &FLAGS)?;
    let get = |k: &str| flags.get(k).cloned().unwrap_or_default();
    let num = |k: &str, default: i64| -> Result<i64, String> {
        flags.get(k).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("--{k} must be a number, got '{v}'"))
        })
    };
    let kind = get("kind");
    // The kind's own channel; only the sandbox chooses. The page has no
    // such field for the others, but a flag written by hand deserves an
    // answer.
    let own = ProviderKind::parse(&kind).map(|k| (k, k.channel().as_str()));
    let channel = match (flags.get("channel"), own) {
        (Some(c), Some((k, own))) if k != ProviderKind::Sandbox && c != own => {
            return Err(format!(
                "--channel: a {kind} account sends on {own}, not {c}"
            ));
        }
        (Some(c), _) => c.clone(),
        (None, own) => own.map_or_else(String::new, |(_, c)| c.to_owned()),
    };
    let defaults = ProviderForm::default();
    let form = ProviderForm {
        id: None,
        name: get("name"),
        channel,
        kind,
        base_url: get("base-url"),
        credentials: get("credentials"),
        enabled: true,
        failover_order: num("order", defaults.failover_order)?,
        rate_limit_per_minute: num("rate", defaults.rate_limit_per_minute)?,
        price_rupiah: num("price", defaults.price_rupiah)?,
        timeout_ms: num("timeout-ms", defaults.timeout_ms)?,
        template_prices: prices(flags.get("template-prices").map(String::as_str))?,
    };
    form.validate().map_err(|errors| refusal(&errors, &FLAGS))
}

/// `user-add`'s flags and the users page's fields they fill.
const USER_FLAGS: [(&str, &str); 7] = [
    ("name", "name"),
    ("email", "email"),
    ("phone", "phone"),
    ("role", "role"),
    ("zone", "work_zone"),
    ("locale", "locale"),
    ("time-zone", "time_zone"),
];

/// `user-add`'s flags as a checked person (the users page's rules).
pub fn user_add(args: &[String]) -> Result<ValidUser, String> {
    let flags = read_flags(args, &USER_FLAGS)?;
    let defaults = UserForm::default();
    let get = |k: &str, default: &str| flags.get(k).cloned().unwrap_or_else(|| default.to_owned());
    let form = UserForm {
        id: None,
        name: get("name", ""),
        email: get("email", ""),
        phone: get("phone", ""),
        // No default role here: an admin made by mistake is worse than a
        // question.
        role: get("role", ""),
        work_zone: get("zone", ""),
        locale: get("locale", &defaults.locale),
        time_zone: get("time-zone", &defaults.time_zone),
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

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn the_command_line_checks_a_person_as_the_users_page_does() {
        let ok = user_add(&args(&[
            "--name",
            "Rudi",
            "--email",
            "Rudi@Example.ID",
            "--role",
            "admin",
            "--phone",
            "0812-7777-0001",
        ]))
        .unwrap();
        assert_eq!(ok.email, "rudi@example.id");
        assert_eq!(ok.role, domain::Role::Admin);
        assert_eq!(ok.phone.unwrap().as_str(), "+6281277770001");
        let err = user_add(&args(&[
            "--name", "Rudi", "--email", "x", "--zone", "karawang",
        ]))
        .unwrap_err();
        assert!(err.contains("--email: Not an email address"), "{err}");
        assert!(err.contains("--role: Choose a role."), "{err}");
        let err = user_add(&args(&["--password", "x"])).unwrap_err();
        assert!(err.contains("unknown flag '--password'"), "{err}");
    }

    #[test]
    fn the_command_line_checks_an_account_as_the_page_does() {
        let ok = provider_add(&args(&[
            "--kind",
            "meta",
            "--name",
            "Meta",
            "--base-url",
            "https://graph.facebook.com/v21.0/",
            "--template-prices",
            "utility=356, service=0",
        ]))
        .unwrap();
        // The version pasted with the address is Meta's path, not its base.
        assert_eq!(ok.base_url.as_deref(), Some("https://graph.facebook.com"));
        assert_eq!(ok.template_prices.get("utility"), Some(&356));

        let err = provider_add(&args(&[
            "--kind",
            "smtp",
            "--name",
            "",
            "--base-url",
            "https://mail",
            "--rate",
            "0",
        ]))
        .unwrap_err();
        for flag in [
            "--name:",
            "--base-url: An SMTP address starts with smtp://",
            "--rate:",
        ] {
            assert!(err.contains(flag), "{flag} in {err}");
        }
        let err = provider_add(&args(&["--kind", "fonnte", "--rate-limit", "5"])).unwrap_err();
        assert!(err.contains("unknown flag '--rate-limit'"), "{err}");
        let err = provider_add(&args(&[
            "--kind",
            "fonnte",
            "--name",
            "F",
            "--channel",
            "sms",
        ]))
        .unwrap_err();
        assert!(err.contains("sends on whatsapp"), "{err}");
        let err = provider_add(&args(&["--kind", "wablas", "--name", "W"])).unwrap_err();
        assert!(err.contains("--base-url"), "{err}");
    }
}
