//! Message templates with `{variable}` placeholders.
//!
//! A template is parsed once into text and variable segments. Saving checks every
//! variable against [`KNOWN_VARIABLES`], so a typo such as `{custmer_name}` is
//! refused when an admin saves it, not discovered when a technician receives a
//! message with a hole in it. Rendering with a missing value is an error that
//! names every missing variable: the dispatcher checks an event against the
//! templates it routes to at ingestion, and refuses it there.
//!
//! `{{` and `}}` stand for literal braces.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// WhatsApp refuses text messages longer than this (Meta: 4,096 characters).
pub const WHATSAPP_MAX_CHARS: usize = 4096;

/// Every variable a template may use, with what it holds. The ingestion API
/// fills them from an event's `data`; a few (`priority`, `work_zone`,
/// `recipient_name`, `type`) are filled by the dispatcher itself.
pub const KNOWN_VARIABLES: &[(&str, &str)] = &[
    ("ticket_id", "Nomor tiket"),
    ("customer_name", "Nama pelanggan"),
    ("customer_phone", "Telepon pelanggan"),
    ("customer_id", "ID pelanggan"),
    ("location", "Lokasi / ODP"),
    ("address", "Alamat"),
    ("issue_type", "Jenis gangguan"),
    ("ticket_url", "Tautan tiket"),
    ("status", "Status tiket"),
    ("old_status", "Status sebelumnya"),
    ("technician_name", "Nama teknisi"),
    ("technician_phone", "Telepon teknisi"),
    ("sla_deadline", "Batas SLA"),
    ("remaining_time", "Sisa waktu SLA"),
    ("total", "Jumlah tiket"),
    ("completed", "Tiket selesai"),
    ("in_progress", "Tiket dalam proses"),
    ("open", "Tiket terbuka"),
    ("sla_breached", "Pelanggaran SLA"),
    ("date", "Tanggal"),
    ("period", "Periode laporan"),
    ("amount", "Jumlah (Rp)"),
    ("invoice_id", "Nomor tagihan"),
    ("due_date", "Jatuh tempo"),
    ("package", "Paket layanan"),
    ("title", "Judul"),
    ("message", "Pesan"),
    ("metric", "Indikator KPI"),
    ("value", "Nilai"),
    ("threshold", "Ambang batas"),
    ("affected_customers", "Pelanggan terdampak"),
    ("estimated_recovery", "Perkiraan pulih"),
    ("code", "Kode verifikasi"),
    ("minutes", "Menit"),
    ("link", "Tautan buat kata sandi (diisi sistem)"),
    ("hours", "Jam berlakunya tautan"),
    ("priority", "Prioritas (diisi sistem)"),
    ("work_zone", "Zona kerja (diisi sistem)"),
    ("recipient_name", "Nama penerima (diisi sistem)"),
    ("type", "Jenis notifikasi (diisi sistem)"),
];

/// The values a message's templates are filled with: the event's `data`,
/// and the variables the system fills (`priority`, `type` and
/// `recipient_name` always; `work_zone` when the data has none), worded in
/// `locale`. The same at ingestion (text templates) and at send time (Meta's
/// templates).
pub fn message_values(
    data: &BTreeMap<String, String>,
    kind: crate::NotificationType,
    priority: crate::Priority,
    zone_name: Option<&str>,
    recipient_name: &str,
    locale: crate::Locale,
) -> BTreeMap<String, String> {
    let mut v = data.clone();
    v.insert("priority".into(), priority.label(locale).into());
    v.insert("type".into(), kind.label(locale).into());
    v.insert("recipient_name".into(), recipient_name.into());
    v.entry("work_zone".into())
        .or_insert_with(|| zone_name.unwrap_or("-").to_owned());
    v
}

pub fn is_known_variable(name: &str) -> bool {
    KNOWN_VARIABLES.iter().any(|(known, _)| *known == name)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    Text(String),
    Var(String),
}

/// Why a template cannot be saved or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TemplateError {
    #[error("template is empty")]
    Empty,
    #[error("unclosed '{{' at character {0}; write '{{{{' for a literal brace")]
    Unclosed(usize),
    #[error("stray '}}' at character {0}; write '}}}}' for a literal brace")]
    StrayClose(usize),
    #[error("'{{{0}}}' is not a valid variable name (use lowercase letters, digits and _)")]
    BadName(String),
    #[error("unknown variable(s): {}", .0.join(", "))]
    UnknownVariables(Vec<String>),
    #[error("missing value(s) for: {}", .0.join(", "))]
    MissingValues(Vec<String>),
}

impl TemplateError {
    /// The reason in `locale`, for the person editing the template.
    pub fn message(&self, locale: crate::Locale) -> String {
        use TemplateError::*;
        match (self, locale) {
            (_, crate::Locale::En) => self.to_string(),
            (Empty, _) => "Template kosong.".into(),
            (Unclosed(at), _) => {
                format!(
                    "'{{' di karakter {at} tidak ditutup; tulis '{{{{' untuk kurung kurawal biasa."
                )
            }
            (StrayClose(at), _) => {
                format!("'}}' di karakter {at} tanpa pasangan; tulis '}}}}' untuk kurung kurawal biasa.")
            }
            (BadName(name), _) => format!(
                "'{{{name}}}' bukan nama variabel yang sah (pakai huruf kecil, angka dan _)."
            ),
            (UnknownVariables(names), _) => {
                format!("Variabel tidak dikenal: {}.", names.join(", "))
            }
            (MissingValues(names), _) => format!("Nilai belum ada untuk: {}.", names.join(", ")),
        }
    }
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

impl Template {
    /// Parses the syntax only; variables may be anything well-formed.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if source.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut segments = Vec::new();
        let mut text = String::new();
        let chars: Vec<char> = source.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    text.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    text.push('}');
                    i += 2;
                }
                '{' => {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '}')
                        .ok_or(TemplateError::Unclosed(i))?;
                    let name: String = chars[i + 1..i + 1 + end].iter().collect();
                    let name = name.trim().to_owned();
                    if !valid_name(&name) {
                        return Err(TemplateError::BadName(name));
                    }
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    segments.push(Segment::Var(name));
                    i += end + 2;
                }
                '}' => return Err(TemplateError::StrayClose(i)),
                c => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        Ok(Template { segments })
    }

    /// Parses and checks every variable against [`KNOWN_VARIABLES`]: what an
    /// admin's save goes through.
    pub fn parse_checked(source: &str) -> Result<Self, TemplateError> {
        let template = Self::parse(source)?;
        let unknown: Vec<String> = template
            .variables()
            .into_iter()
            .filter(|v| !is_known_variable(v))
            .map(str::to_owned)
            .collect();
        if unknown.is_empty() {
            Ok(template)
        } else {
            Err(TemplateError::UnknownVariables(unknown))
        }
    }

    /// The distinct variables used, sorted.
    pub fn variables(&self) -> BTreeSet<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Var(v) => Some(v.as_str()),
                Segment::Text(_) => None,
            })
            .collect()
    }

    /// Variables this template needs that `values` lacks (an empty value counts
    /// as present: "no address" is a legitimate answer).
    pub fn missing(&self, values: &BTreeMap<String, String>) -> Vec<String> {
        self.variables()
            .into_iter()
            .filter(|v| !values.contains_key(*v))
            .map(str::to_owned)
            .collect()
    }

    /// Fills every variable. Fails, naming them all, if any value is missing.
    pub fn render(
        &self,
        values: &BTreeMap<String, String>,
        escape: Escape,
    ) -> Result<String, TemplateError> {
        let missing = self.missing(values);
        if !missing.is_empty() {
            return Err(TemplateError::MissingValues(missing));
        }
        Ok(self.render_lenient(values, escape, ""))
    }

    /// Fills what it can and writes `placeholder` for the rest: for the live
    /// preview in the browser, where sample data may be partial. A placeholder
    /// of `""` writes `{name}` back, so the author sees the gap.
    pub fn render_lenient(
        &self,
        values: &BTreeMap<String, String>,
        escape: Escape,
        placeholder: &str,
    ) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Var(name) => match values.get(name) {
                    Some(value) => out.push_str(&escape.apply(value)),
                    None if placeholder.is_empty() => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                    None => out.push_str(placeholder),
                },
            }
        }
        out
    }
}

impl Template {
    /// Renders for channels without WhatsApp formatting (in-app, email text,
    /// SMS): the template's own `*`, `_`, `~` and backtick markers are dropped,
    /// values go in as they are.
    pub fn render_plain(&self, values: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        let missing = self.missing(values);
        if !missing.is_empty() {
            return Err(TemplateError::MissingValues(missing));
        }
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => {
                    out.extend(t.chars().filter(|c| !matches!(c, '*' | '_' | '~' | '`')))
                }
                Segment::Var(name) => out.push_str(&values[name]),
            }
        }
        Ok(out)
    }
}

/// How values are made safe for the channel they go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Values go in as they are (in-app, where the UI escapes HTML itself).
    None,
    /// WhatsApp has no escape for `*bold*`, `_italic_`, `~strike~` or `` `code` ``,
    /// so these characters in a customer's name or address are swapped for their
    /// full-width look-alikes, which WhatsApp shows but does not interpret.
    /// Links are left alone: they must stay clickable.
    WhatsApp,
}

impl Escape {
    /// `value` made safe to put into a message: always one line of visible
    /// text (a line break, a control character or a bidirectional override
    /// in a value could forge a line such as "Buka tiket: https://evil…" or
    /// reverse what follows), then escaped for the channel.
    pub fn apply(self, value: &str) -> String {
        let value = one_line(value);
        match self {
            Escape::None => value,
            Escape::WhatsApp if value.starts_with("http://") || value.starts_with("https://") => {
                value
            }
            Escape::WhatsApp => value
                .chars()
                .map(|c| match c {
                    '*' => '\u{FF0A}',
                    '_' => '\u{FF3F}',
                    '~' => '\u{FF5E}',
                    '`' => '\u{FF40}',
                    other => other,
                })
                .collect(),
        }
    }
}

/// Line breaks, tabs and other control characters become one space;
/// bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069) are dropped.
fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.chars() {
        if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            continue;
        }
        if c.is_control() {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        out.push(c);
    }
    out
}

/// Cuts a message to WhatsApp's limit, ending in "…" when it had to cut.
/// Counts UTF-16 units, as WhatsApp clients do, so emoji count double.
pub fn fit_whatsapp(text: &str) -> String {
    fit_utf16(text, WHATSAPP_MAX_CHARS)
}

fn fit_utf16(text: &str, max_units: usize) -> String {
    if text.encode_utf16().count() <= max_units {
        return text.to_owned();
    }
    let budget = max_units - 1; // room for the ellipsis (one UTF-16 unit)
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = c.len_utf16();
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_value_cannot_forge_lines_or_reverse_text() {
        for escape in [Escape::None, Escape::WhatsApp] {
            assert_eq!(
                escape.apply("Budi\n\nBuka tiket: x\r\n"),
                "Budi Buka tiket: x "
            );
            assert_eq!(escape.apply("a\u{0}b\tc"), "a b c");
            assert_eq!(escape.apply("abc\u{202E}fed\u{2066}"), "abcfed");
        }
        assert_eq!(
            Escape::WhatsApp.apply("https://x.id/\n*y*"),
            "https://x.id/ *y*"
        );
    }

    #[test]
    fn variables_are_substituted() {
        let t = Template::parse("Tiket *{ticket_id}* untuk {customer_name}").unwrap();
        let out = t
            .render(
                &values(&[("ticket_id", "TK-1"), ("customer_name", "Budi")]),
                Escape::None,
            )
            .unwrap();
        assert_eq!(out, "Tiket *TK-1* untuk Budi");
    }

    #[test]
    fn errors_name_the_problem_in_either_language() {
        let unknown = Template::parse_checked("Halo {nama_pelanggan}").unwrap_err();
        assert_eq!(
            unknown.message(crate::Locale::Id),
            "Variabel tidak dikenal: nama_pelanggan."
        );
        assert_eq!(
            unknown.message(crate::Locale::En),
            "unknown variable(s): nama_pelanggan"
        );
        let unclosed = Template::parse("Tiket {ticket_id").unwrap_err();
        assert!(unclosed
            .message(crate::Locale::Id)
            .starts_with("'{' di karakter 6"));
    }

    #[test]
    fn doubled_braces_are_literal() {
        let t = Template::parse("{{ticket_id}} = {ticket_id}").unwrap();
        assert_eq!(
            t.variables().into_iter().collect::<Vec<_>>(),
            vec!["ticket_id"]
        );
        let out = t
            .render(&values(&[("ticket_id", "7")]), Escape::None)
            .unwrap();
        assert_eq!(out, "{ticket_id} = 7");
    }

    #[test]
    fn unknown_variables_are_refused_on_save_naming_each() {
        let err = Template::parse_checked("{ticket_id} {custmer_name} {foo}").unwrap_err();
        assert_eq!(
            err,
            TemplateError::UnknownVariables(vec!["custmer_name".into(), "foo".into()])
        );
        assert_eq!(err.to_string(), "unknown variable(s): custmer_name, foo");
    }

    #[test]
    fn malformed_templates_say_where() {
        assert_eq!(
            Template::parse("a {ticket_id"),
            Err(TemplateError::Unclosed(2))
        );
        assert_eq!(Template::parse("a } b"), Err(TemplateError::StrayClose(2)));
        assert_eq!(
            Template::parse("{Ticket Id}"),
            Err(TemplateError::BadName("Ticket Id".into()))
        );
        assert_eq!(Template::parse("  "), Err(TemplateError::Empty));
    }

    #[test]
    fn rendering_with_a_missing_value_fails_naming_all_missing() {
        let t = Template::parse("{ticket_id} {address} {location}").unwrap();
        let err = t
            .render(&values(&[("ticket_id", "1")]), Escape::None)
            .unwrap_err();
        assert_eq!(
            err,
            TemplateError::MissingValues(vec!["address".into(), "location".into()])
        );
    }

    #[test]
    fn an_empty_value_is_present() {
        let t = Template::parse("[{address}]").unwrap();
        assert_eq!(
            t.render(&values(&[("address", "")]), Escape::None).unwrap(),
            "[]"
        );
    }

    #[test]
    fn lenient_rendering_shows_gaps_for_previews() {
        let t = Template::parse("{ticket_id}/{address}").unwrap();
        let v = values(&[("ticket_id", "9")]);
        assert_eq!(t.render_lenient(&v, Escape::None, ""), "9/{address}");
        assert_eq!(t.render_lenient(&v, Escape::None, "-"), "9/-");
    }

    #[test]
    fn whatsapp_markers_in_values_are_neutralised_but_template_markup_kept() {
        let t = Template::parse("*Pelanggan:* {customer_name} {ticket_url}").unwrap();
        let out = t
            .render(
                &values(&[
                    ("customer_name", "*PT_Maju* ~Jaya~ `x`"),
                    ("ticket_url", "https://t.example/a_b*c"),
                ]),
                Escape::WhatsApp,
            )
            .unwrap();
        assert_eq!(
            out,
            "*Pelanggan:* \u{FF0A}PT\u{FF3F}Maju\u{FF0A} \u{FF5E}Jaya\u{FF5E} \u{FF40}x\u{FF40} https://t.example/a_b*c"
        );
    }

    #[test]
    fn messages_are_cut_to_whatsapps_limit() {
        let short = "halo";
        assert_eq!(fit_whatsapp(short), short);
        let exact = "a".repeat(WHATSAPP_MAX_CHARS);
        assert_eq!(fit_whatsapp(&exact), exact);
        let long = "a".repeat(WHATSAPP_MAX_CHARS + 10);
        let cut = fit_whatsapp(&long);
        assert_eq!(cut.encode_utf16().count(), WHATSAPP_MAX_CHARS);
        assert!(cut.ends_with('…'));
        // An emoji is two UTF-16 units and is never split.
        let emoji = "😀".repeat(3000);
        let cut = fit_whatsapp(&emoji);
        assert!(cut.encode_utf16().count() <= WHATSAPP_MAX_CHARS);
        assert!(cut.trim_end_matches('…').chars().all(|c| c == '😀'));
    }

    #[test]
    fn plain_rendering_drops_template_markup_but_keeps_values() {
        let t = Template::parse("*Tiket:* {ticket_id}").unwrap();
        assert_eq!(
            t.render_plain(&values(&[("ticket_id", "A*1_b")])).unwrap(),
            "Tiket: A*1_b"
        );
        assert!(t.render_plain(&values(&[])).is_err());
    }

    #[test]
    fn every_default_template_uses_only_known_variables() {
        for t in crate::defaults::TEMPLATES {
            Template::parse_checked(t.body).unwrap_or_else(|e| panic!("{}: {e}", t.key));
        }
    }
}
