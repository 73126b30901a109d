//! The command line's provider account: `server provider-add` flags read
//! into the providers page's form and checked by the same rules
//! (`ProviderForm::validate`), so a base URL or credential the page refuses
//! is refused here too, with the same reason (in English).

use app::providers::{ProviderForm, ValidProvider};
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

/// The flag a form field is written with.
fn flag_of(field: &str) -> String {
    FLAGS
        .iter()
        .find(|(_, f)| *f == field)
        .map_or_else(|| field.to_owned(), |(flag, _)| format!("--{flag}"))
}

/// `provider-add`'s flags as a checked account; the error names every
/// flag that is wrong and why.
pub fn provider_add(args: &[String]) -> Result<ValidProvider, String> {
    let mut flags = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .filter(|n| FLAGS.iter().any(|(f, _)| f == n))
            .ok_or_else(|| {
                let known: Vec<&str> = FLAGS.iter().map(|(f, _)| *f).collect();
                format!("unknown flag '{flag}' (known: --{})", known.join(", --"))
            })?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        flags.insert(name, value.clone());
    }
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
    form.validate().map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("{}: {}", flag_of(&e.field), e.message.get(Locale::En)))
            .collect::<Vec<_>>()
            .join("\n")
    })
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
