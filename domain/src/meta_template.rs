//! Meta's message templates: what a business-initiated WhatsApp message
//! through the Cloud API must be outside the 24-hour window. A template is
//! written and approved in Meta's WhatsApp Manager; the product syncs them,
//! maps each notification type to one per language, and fills its
//! parameters from the event's variables.
//!
//! By default the template for a type is the one **named like the type**
//! (`ticket_assigned`) in the recipient's language, and each named
//! parameter (`{{customer_name}}`) takes the variable of the same name. An
//! admin may pick another template and say which variable fills which
//! parameter (positional templates, `{{1}}`, need that).

use crate::template::is_known_variable;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A template as Meta lists it, reduced to what sending needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaTemplate {
    pub name: String,
    /// Meta's language code: `id`, `en`, `en_US`.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`.
    pub status: String,
    /// `UTILITY`, `MARKETING`, `AUTHENTICATION`.
    pub category: String,
    /// `{{name}}` parameters (Meta's `parameter_format: NAMED`) rather than
    /// `{{1}}`.
    pub named: bool,
    /// The body's text, parameters in braces.
    pub body: String,
    /// The body's parameters in order of first use: names, or `1`, `2`, ….
    pub params: Vec<String>,
    /// The index of the first quick-reply button, if the template has one
    /// (critical alerts put the acknowledgement behind it).
    pub quick_reply: Option<u32>,
}

/// What Meta bills, per message, by category: its template categories,
/// and `service` for free text inside the window (free since July 2025,
/// but a price may be set).
pub const PRICE_CATEGORIES: [&str; 4] = ["utility", "marketing", "authentication", "service"];

/// An account's price per category in rupiah (`utility` → 356); a category
/// without one costs the account's price per message.
pub type Prices = BTreeMap<String, i64>;

/// The price of one message of `category` (Meta writes it in capitals).
/// A refused template sync in plain words, from the reason the host wrote
/// (`Meta error {code}: …`, `HTTP {status}: …`, `cannot reach Meta: …`).
/// The pages show this; Meta's own answer is kept for the detail.
pub fn sync_refusal(reason: &str) -> crate::Words {
    use crate::Words;
    let code = reason
        .strip_prefix("Meta error ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|c| c.trim().parse::<i64>().ok());
    let status = reason
        .strip_prefix("HTTP ")
        .and_then(|rest| rest.split([' ', ':']).next())
        .and_then(|s| s.parse::<u16>().ok());
    match (code, status) {
        (Some(190), _) | (_, Some(401)) => Words::new(
            "Token akses Meta tidak berlaku atau sudah kedaluwarsa: masukkan token baru di kredensial akun.",
            "Meta's access token is invalid or expired: enter a new one in the account's credentials.",
        ),
        (Some(100), _) | (_, Some(404)) => Words::new(
            "Meta tidak mengenal ID Akun WhatsApp Business ini: periksa \"waba_id\" di kredensial akun.",
            "Meta does not know this WhatsApp Business Account id: check \"waba_id\" in the account's credentials.",
        ),
        (Some(10 | 200..=299), _) | (_, Some(403)) => Words::new(
            "Token ini tidak berizin membaca templat akun tersebut (izin whatsapp_business_management).",
            "This token may not read that account's templates (whatsapp_business_management permission).",
        ),
        (Some(4 | 80007 | 130429), _) | (_, Some(429)) => Words::new(
            "Meta membatasi permintaan untuk sementara: coba lagi beberapa menit lagi.",
            "Meta is limiting requests for now: try again in a few minutes.",
        ),
        (_, Some(500..=599)) => Words::new(
            "Server Meta sedang bermasalah: coba lagi nanti.",
            "Meta's servers are having trouble: try again later.",
        ),
        _ if reason.starts_with("cannot reach Meta") || reason.starts_with("bad base URL") => {
            Words::new(
                "Meta tidak dapat dihubungi: periksa jaringan server dan alamat server akun.",
                "Meta could not be reached: check the server's network and the account's server address.",
            )
        }
        _ if reason.contains("waba_id") => Words::new(
            "Isi \"waba_id\" (ID Akun WhatsApp Business) di kredensial akun ini.",
            "Set \"waba_id\" (the WhatsApp Business Account id) in this account's credentials.",
        ),
        _ => Words::new(
            "Meta menolak sinkronisasi templat.",
            "Meta refused the template sync.",
        ),
    }
}

pub fn price(prices: &Prices, category: &str, otherwise: i64) -> i64 {
    prices
        .get(&category.to_ascii_lowercase())
        .copied()
        .unwrap_or(otherwise)
}

/// A parameter's value as Meta takes it (`parameter_name` only for named
/// templates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: Option<String>,
    pub text: String,
}

impl MetaTemplate {
    pub fn approved(&self) -> bool {
        self.status.eq_ignore_ascii_case("APPROVED")
    }

    /// The parameters filled from `values`, each through `mapping`
    /// (parameter → variable; a named parameter defaults to the variable
    /// of its own name). Errors name every parameter left without a value.
    pub fn fill(
        &self,
        mapping: &BTreeMap<String, String>,
        values: &BTreeMap<String, String>,
    ) -> Result<Vec<Param>, Vec<String>> {
        let mut missing = Vec::new();
        let mut out = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let var = mapping
                .get(p)
                .map(String::as_str)
                .or(self.named.then_some(p.as_str()));
            match var
                .and_then(|v| values.get(v))
                .filter(|v| !v.trim().is_empty())
            {
                Some(v) => out.push(Param {
                    name: self.named.then(|| p.clone()),
                    text: param_text(v),
                }),
                None => missing.push(p.clone()),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(missing)
        }
    }
}

/// Meta refuses a parameter with a new line, a tab or more than four spaces
/// in a row (error 132018): they become single spaces; the rest is kept.
pub fn param_text(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parameters of a body text in order of first use: `{{name}}` or
/// `{{1}}`, each once.
pub fn body_params(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        let name = rest[..end].trim();
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok && !out.iter().any(|p| p == name) {
            out.push(name.to_owned());
        }
        rest = &rest[end + 2..];
    }
    out
}

/// Whether a template in Meta's `language` serves a recipient reading
/// `locale` (`id`, `en`): the same code, or a regional form of it (`en_US`).
pub fn serves(language: &str, locale: &str) -> bool {
    language == locale
        || language
            .strip_prefix(locale)
            .is_some_and(|rest| rest.starts_with('_'))
}

/// What an admin's mapping may say: the template's parameters to known
/// variables. Errors name each variable the product does not have.
pub fn check_mapping(mapping: &BTreeMap<String, String>) -> Result<(), Vec<String>> {
    let unknown: Vec<String> = mapping
        .values()
        .filter(|v| !is_known_variable(v))
        .cloned()
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn template(body: &str, named: bool) -> MetaTemplate {
        MetaTemplate {
            name: "ticket_assigned".into(),
            language: "id".into(),
            status: "APPROVED".into(),
            category: "UTILITY".into(),
            named,
            body: body.into(),
            params: body_params(body),
            quick_reply: None,
        }
    }

    #[test]
    fn body_parameters_are_read_in_order_once_each() {
        assert_eq!(
            body_params("Tiket *{{ticket_id}}* untuk {{customer_name}} ({{ticket_id}}) {{ bad-name }} {{unclosed"),
            vec!["ticket_id", "customer_name"]
        );
        assert_eq!(body_params("Halo {{1}}, jadwal {{2}}"), vec!["1", "2"]);
        assert!(body_params("Tanpa parameter").is_empty());
    }

    #[test]
    fn named_parameters_take_their_own_variable_unless_mapped() {
        let t = template("Tiket {{ticket_id}} di {{lokasi}}", true);
        let v = values(&[("ticket_id", "TKT-1"), ("location", "ODP-KRW-01\nTiang 3")]);
        // `lokasi` is no variable of ours: unmapped, it cannot be filled.
        assert_eq!(t.fill(&BTreeMap::new(), &v), Err(vec!["lokasi".to_owned()]));
        let mapping = values(&[("lokasi", "location")]);
        let params = t.fill(&mapping, &v).unwrap();
        assert_eq!(
            params,
            vec![
                Param {
                    name: Some("ticket_id".into()),
                    text: "TKT-1".into()
                },
                Param {
                    name: Some("lokasi".into()),
                    text: "ODP-KRW-01 Tiang 3".into()
                },
            ]
        );
    }

    #[test]
    fn positional_parameters_need_a_mapping_and_carry_no_name() {
        let t = template("Halo {{1}}, tiket {{2}}", false);
        let v = values(&[("recipient_name", "Budi"), ("ticket_id", "TKT-9")]);
        assert_eq!(
            t.fill(&BTreeMap::new(), &v),
            Err(vec!["1".to_owned(), "2".to_owned()])
        );
        let m = values(&[("1", "recipient_name"), ("2", "ticket_id")]);
        let p = t.fill(&m, &v).unwrap();
        assert_eq!(p[0].name, None);
        assert_eq!(p[1].text, "TKT-9");
        // An empty value is as good as none: Meta refuses empty parameters.
        let blank = values(&[("recipient_name", " "), ("ticket_id", "TKT-9")]);
        assert_eq!(t.fill(&m, &blank), Err(vec!["1".to_owned()]));
    }

    #[test]
    fn languages_match_by_code_or_region() {
        assert!(serves("id", "id"));
        assert!(serves("en_US", "en"));
        assert!(!serves("en_US", "id"));
        assert!(!serves("ind", "id"));
    }

    #[test]
    fn a_mapping_may_name_only_known_variables() {
        assert!(check_mapping(&values(&[("1", "ticket_id"), ("nama", "recipient_name")])).is_ok());
        assert_eq!(
            check_mapping(&values(&[("1", "ticket_id"), ("2", "tiket_id")])),
            Err(vec!["tiket_id".to_owned()])
        );
    }

    #[test]
    fn a_category_without_a_price_costs_the_accounts_price() {
        let prices: Prices = [("utility".to_owned(), 356)].into();
        assert_eq!(price(&prices, "UTILITY", 300), 356);
        assert_eq!(price(&prices, "MARKETING", 300), 300);
    }

    #[test]
    fn parameter_text_loses_new_lines_and_runs_of_spaces() {
        assert_eq!(param_text("a\n\tb     c "), "a b c");
    }

    #[test]
    fn a_refused_sync_is_named_in_plain_words() {
        use crate::Locale;
        let says = |reason: &str| sync_refusal(reason).get(Locale::Id).to_owned();
        assert!(says("Meta error 190: Error validating access token").contains("Token akses"));
        assert!(
            says("Meta error 100: Unsupported get request. (Object with ID '123')")
                .contains("waba_id")
        );
        assert!(says("Meta error 200: Permissions error").contains("izin"));
        assert!(says("Meta error 4: Application request limit reached").contains("membatasi"));
        assert!(says("HTTP 503 Service Unavailable: <html>").contains("bermasalah"));
        assert!(says("cannot reach Meta: error sending request").contains("tidak dapat dihubungi"));
        assert!(
            says("Meta account has no waba_id (WhatsApp Business Account id)").contains("waba_id")
        );
        assert_eq!(says("something new"), "Meta menolak sinkronisasi templat.");
        // No English from Meta inside the Indonesian sentence.
        assert!(!says("Meta error 190: Error validating access token").contains("Error"));
    }
}
