//! Message templates with `{variable}` placeholders.
//!
//! A template is parsed once into text and variable segments. Saving checks every
//! variable against [`KNOWN_VARIABLES`], so a typo such as `{custmer_name}` is
//! refused when an admin saves it, not discovered when a technician receives a
//! message with a hole in it. Rendering with a missing value is an error that
//! names every missing variable: the dispatcher checks an event against the
//! templates it routes to at ingestion, and refuses it there.
//!
//! `{{` and `}}` stand for literal braces. `{name?}` is an optional variable:
//! when the event has no value for it (or a blank one, or "-", which is how
//! systems write "none", and what `work_zone` is without a zone) the line that
//! holds it is left out, so "*Alamat:* {address?}" disappears instead of
//! showing an empty label, and the event is not refused for lacking it.

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

/// A realistic value for every known variable, for previews and test sends:
/// what an FTTH ticket in Karawang would carry.
pub const SAMPLES: &[(&str, &str)] = &[
    ("ticket_id", "TKT-2026-0042"),
    ("customer_name", "Ibu Sari Wulandari"),
    ("customer_phone", "0812-3456-7890"),
    ("customer_id", "PLG-0193"),
    ("location", "ODP-KRW-FAB/012"),
    ("address", "Perum Griya Asri Blok C2 No. 7, Karawang Barat"),
    ("issue_type", "FTTH LOS merah"),
    ("ticket_url", "https://tiket.example.id/t/TKT-2026-0042"),
    ("status", "Dikerjakan"),
    ("old_status", "Ditugaskan"),
    ("technician_name", "Budi Santoso"),
    ("technician_phone", "0813-1111-2222"),
    ("sla_deadline", "7 Des 2026 14.00"),
    ("remaining_time", "45 menit"),
    ("total", "38"),
    ("completed", "29"),
    ("in_progress", "6"),
    ("open", "3"),
    ("sla_breached", "1"),
    ("date", "7 Des 2026"),
    ("period", "30 Nov – 6 Des 2026"),
    ("amount", "Rp 350.000"),
    ("invoice_id", "INV-2026-12-0193"),
    ("due_date", "10 Des 2026"),
    ("package", "Home 50 Mbps"),
    ("title", "Pemeliharaan OLT Karawang"),
    (
        "message",
        "Layanan di Karawang Barat terganggu mulai 13.10.",
    ),
    ("metric", "Tiket selesai dalam SLA"),
    ("value", "82%"),
    ("threshold", "90%"),
    ("affected_customers", "214"),
    ("estimated_recovery", "16.30 WIB"),
    ("code", "482913"),
    ("minutes", "10"),
    (
        "link",
        "https://notifikasi.example.id/set-password?token=contoh",
    ),
    ("hours", "24"),
    ("priority", "Tinggi"),
    ("work_zone", "Karawang"),
    ("recipient_name", "Budi Santoso"),
    ("type", "Tiket ditugaskan"),
];

/// [`SAMPLES`] as template values.
pub fn sample_values() -> BTreeMap<String, String> {
    SAMPLES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The templates a channel's text may come from, its own first: a channel
/// with no template of its own uses the next one's, and every channel ends at
/// WhatsApp's (SMS and the group messages are WhatsApp's text; email, push
/// and the inbox show it without its formatting).
pub fn template_channels(channel: crate::Channel) -> &'static [crate::Channel] {
    use crate::Channel::*;
    match channel {
        Sms => &[Sms, Whatsapp],
        Email => &[Email, InApp, Whatsapp],
        Push => &[Push, InApp, Whatsapp],
        InApp => &[InApp, Whatsapp],
        Whatsapp | WhatsappGroup | Voice => &[Whatsapp],
    }
}

pub fn is_known_variable(name: &str) -> bool {
    KNOWN_VARIABLES.iter().any(|(known, _)| *known == name)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    Text(String),
    Var(String),
    /// `{name?}`: the line is left out when the value is missing or blank.
    Opt(String),
}

/// Marks, while rendering, a line to leave out. Never in a template's text
/// (parsing drops it) nor in a value (`Escape::apply` turns control
/// characters into spaces).
const DROP: char = '\u{0}';

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
                    let name = name.trim();
                    let (name, optional) = match name.strip_suffix('?') {
                        Some(n) => (n.trim_end().to_owned(), true),
                        None => (name.to_owned(), false),
                    };
                    if !valid_name(&name) {
                        return Err(TemplateError::BadName(name));
                    }
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    segments.push(if optional {
                        Segment::Opt(name)
                    } else {
                        Segment::Var(name)
                    });
                    i += end + 2;
                }
                '}' => return Err(TemplateError::StrayClose(i)),
                DROP => i += 1,
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

    /// The distinct variables used, optional or not, sorted.
    pub fn variables(&self) -> BTreeSet<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Var(v) | Segment::Opt(v) => Some(v.as_str()),
                Segment::Text(_) => None,
            })
            .collect()
    }

    /// The variables an event must carry: those used without `?`.
    pub fn required(&self) -> BTreeSet<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Var(v) => Some(v.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Required variables that `values` lacks (an empty value counts as
    /// present: "no address" is a legitimate answer).
    pub fn missing(&self, values: &BTreeMap<String, String>) -> Vec<String> {
        self.required()
            .into_iter()
            .filter(|v| !values.contains_key(*v))
            .map(str::to_owned)
            .collect()
    }

    /// Writes every segment through `text` and `value`, then leaves out the
    /// lines whose optional variable had no value.
    fn fill(
        &self,
        values: &BTreeMap<String, String>,
        text: impl Fn(&str, &mut String),
        value: impl Fn(&str, Option<&String>, &mut String),
    ) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => text(t, &mut out),
                Segment::Var(name) => value(name, values.get(name), &mut out),
                Segment::Opt(name) => match values.get(name) {
                    Some(v) if !matches!(v.trim(), "" | "-") => value(name, Some(v), &mut out),
                    _ => out.push(DROP),
                },
            }
        }
        if out.contains(DROP) {
            // Leaving lines out may leave blank lines in a row, or at the end
            // (a section whose every line went): one blank line at most.
            let mut kept: Vec<&str> = Vec::new();
            for line in out.split('\n').filter(|line| !line.contains(DROP)) {
                let blank = line.trim().is_empty();
                if blank && kept.last().is_none_or(|l| l.trim().is_empty()) {
                    continue;
                }
                kept.push(line);
            }
            while kept.last().is_some_and(|l| l.trim().is_empty()) {
                kept.pop();
            }
            out = kept.join("\n");
        }
        out
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
        self.fill(
            values,
            |t, out| out.push_str(t),
            |name, value, out| match value {
                Some(value) => out.push_str(&escape.apply(value)),
                None if placeholder.is_empty() => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
                None => out.push_str(placeholder),
            },
        )
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
        Ok(self.fill(
            values,
            |t, out| out.extend(t.chars().filter(|c| !matches!(c, '*' | '_' | '~' | '`'))),
            |_, value, out| out.push_str(value.map_or("", |v| v.as_str())),
        ))
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

/// A piece of a message as a page shows it: text, or a link it may make
/// tappable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Splits `text` at its `http://` and `https://` addresses, so the inbox can
/// show them as links (a ticket URL must be tappable in the field). An
/// address ends at white space; a trailing `.`, `,`, `)` or similar stays
/// text, as in "buka https://x.id/t/1." Only these two schemes are links:
/// nothing else a value carries can become one.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let tail = &rest[at..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let link = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
        if at > 0 {
            out.push(Piece::Text(&rest[..at]));
        }
        if link.len() > "https://".len() {
            out.push(Piece::Link(link));
        } else {
            out.push(Piece::Text(link));
        }
        rest = &tail[link.len()..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
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

    #[test]
    fn every_known_variable_has_a_plain_sample() {
        for (name, _) in KNOWN_VARIABLES {
            let sample = SAMPLES.iter().find(|(k, _)| k == name);
            let (_, sample) = sample.unwrap_or_else(|| panic!("no sample for {name}"));
            // Samples go through WhatsApp escaping in previews: no markers.
            assert_eq!(Escape::WhatsApp.apply(sample), *sample, "{name}");
        }
        assert_eq!(SAMPLES.len(), KNOWN_VARIABLES.len());
    }

    #[test]
    fn a_line_with_an_optional_variable_goes_when_it_has_no_value() {
        let t = Template::parse(
            "*Tiket* {ticket_id}\n*Alamat:* {address?}\n*ODP:* {location ?}\nSelesai",
        )
        .unwrap();
        assert_eq!(
            t.required().into_iter().collect::<Vec<_>>(),
            vec!["ticket_id"]
        );
        let full = values(&[
            ("ticket_id", "T1"),
            ("address", "Jl. A"),
            ("location", "ODP-1"),
        ]);
        assert_eq!(
            t.render(&full, Escape::None).unwrap(),
            "*Tiket* T1\n*Alamat:* Jl. A\n*ODP:* ODP-1\nSelesai"
        );
        // Missing, blank and "-" all leave the line out; nothing is refused.
        let partial = values(&[("ticket_id", "T1"), ("location", "  ")]);
        let dash = values(&[("ticket_id", "T1"), ("address", "-"), ("location", "")]);
        assert_eq!(
            t.render(&dash, Escape::None).unwrap(),
            "*Tiket* T1\nSelesai"
        );
        assert_eq!(
            t.render(&partial, Escape::None).unwrap(),
            "*Tiket* T1\nSelesai"
        );
        assert_eq!(t.render_plain(&partial).unwrap(), "Tiket T1\nSelesai");
        assert_eq!(
            t.render_lenient(&values(&[]), Escape::None, ""),
            "*Tiket* {ticket_id}\nSelesai"
        );
        // A required variable is still required.
        assert_eq!(
            t.render(&values(&[]), Escape::None),
            Err(TemplateError::MissingValues(vec!["ticket_id".into()]))
        );
        // Unknown optional names are refused like any other.
        assert_eq!(
            Template::parse_checked("{adress?}"),
            Err(TemplateError::UnknownVariables(vec!["adress".into()]))
        );
        assert_eq!(
            Template::parse("{?}"),
            Err(TemplateError::BadName("".into()))
        );
    }

    #[test]
    fn every_type_has_a_default_that_needs_nothing_but_reads_well_without_data() {
        use crate::{Locale, NotificationType, Priority};
        for kind in NotificationType::ALL {
            for locale in [Locale::Id, Locale::En] {
                let default = crate::defaults::TEMPLATES
                    .iter()
                    .find(|t| {
                        t.key == kind.as_str()
                            && t.channel == crate::Channel::Whatsapp
                            && t.locale == locale
                    })
                    .unwrap_or_else(|| panic!("no default for {}", kind.as_str()));
                let t = Template::parse_checked(default.body).unwrap();
                let system = message_values(
                    &BTreeMap::new(),
                    *kind,
                    Priority::High,
                    Some("Karawang"),
                    "Budi",
                    locale,
                );
                let bare = t.render(&system, Escape::WhatsApp);
                // The three first types name what a technician cannot work
                // without; every other type accepts an event with no data.
                let strict = ["ticket_assigned", "sla_warning", "daily_summary"];
                if strict.contains(&kind.as_str()) {
                    continue;
                }
                let bare = bare.unwrap_or_else(|e| panic!("{}: {e}", kind.as_str()));
                assert!(!bare.contains("\n\n\n"), "{bare}");
                assert!(!bare.ends_with('\n'), "{bare}");
                assert!(!bare.contains(":* \n") && !bare.ends_with(":*"), "{bare}");
                assert!(!bare.contains("**"), "{bare}");
                // With every sample, every line is there and nothing is left
                // as a placeholder.
                let full = t.render(&sample_values(), Escape::WhatsApp).unwrap();
                assert!(!full.contains('{'), "{full}");
                assert!(
                    full.lines().count() > bare.lines().count(),
                    "{}",
                    kind.as_str()
                );
            }
        }
    }

    #[test]
    fn leaving_lines_out_leaves_no_run_of_blank_lines() {
        let t = Template::parse("A\n\n{address?}\n{location?}\n\nB: {ticket_url?}").unwrap();
        assert_eq!(t.render(&values(&[]), Escape::None).unwrap(), "A");
        assert_eq!(
            t.render(&values(&[("location", "L")]), Escape::None)
                .unwrap(),
            "A\n\nL"
        );
    }

    #[test]
    fn addresses_in_a_message_become_links_and_nothing_else_does() {
        use Piece::*;
        assert_eq!(
            pieces("Buka tiket: https://t.id/a_b?x=1.\nLagi (http://x.id/1), javascript:alert(1)"),
            vec![
                Text("Buka tiket: "),
                Link("https://t.id/a_b?x=1"),
                Text(".\nLagi ("),
                Link("http://x.id/1"),
                Text("), javascript:alert(1)"),
            ]
        );
        assert_eq!(pieces("tanpa tautan"), vec![Text("tanpa tautan")]);
        assert_eq!(
            pieces("https:// saja"),
            vec![Text("https://"), Text(" saja")]
        );
        assert_eq!(pieces(""), vec![]);
    }
}
