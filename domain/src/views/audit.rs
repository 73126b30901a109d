//! The audit trail: who changed what, when, with the record before and
//! after. Every admin change is written in the same transaction as the
//! change itself (`storage::audit`), so the trail cannot miss a change that
//! happened nor show one that did not. Secrets never enter it: a provider
//! account is recorded with the names of its credential fields only.
//!
//! Here: the plain data the audit page and the server share, the actions
//! and their names, and the filter's checks. The SQL is `storage::audit`,
//! the page `app::audit`.

use crate::time::parse_wib_date;
use crate::words::FieldError;
use crate::{Locale, Words};
use serde::{Deserialize, Serialize};

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// Who, as they were named then ("Admin Demo <admin@demo.id>", "CLI",
    /// or the client's address for a failed sign-in).
    pub actor: String,
    pub actor_id: Option<crate::UserId>,
    /// One of [`ACTIONS`].
    pub action: String,
    /// What it was done to ("outage / whatsapp / id", "karawang", …).
    pub subject: String,
    /// JSON of the record before and after (none before a creation, none
    /// after a deletion).
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Every action the trail records: code, Indonesian, English. The code's
/// part before the dot is its area (the page's filter).
pub const ACTIONS: &[(&str, &str, &str)] = &[
    ("template.save", "Template disimpan", "Template saved"),
    (
        "template.reset",
        "Template dikembalikan ke bawaan",
        "Template reset to default",
    ),
    ("zone.create", "Zona ditambah", "Zone added"),
    ("zone.update", "Zona diubah", "Zone changed"),
    ("zone.delete", "Zona dihapus", "Zone deleted"),
    ("api_key.create", "Kunci API dibuat", "API key created"),
    ("api_key.revoke", "Kunci API dicabut", "API key revoked"),
    ("user.create", "Pengguna ditambah", "User added"),
    ("user.update", "Pengguna diubah", "User changed"),
    (
        "user.deactivate",
        "Pengguna dinonaktifkan",
        "User deactivated",
    ),
    ("user.activate", "Pengguna diaktifkan", "User activated"),
    ("user.import", "Daftar pengguna diimpor", "Users imported"),
    ("group.create", "Grup ditambah", "Group added"),
    ("group.update", "Grup diubah", "Group changed"),
    ("group.delete", "Grup dihapus", "Group deleted"),
    (
        "group.members",
        "Anggota grup diubah",
        "Group members changed",
    ),
    ("rule.create", "Aturan grup ditambah", "Group rule added"),
    ("rule.delete", "Aturan grup dihapus", "Group rule deleted"),
    (
        "escalation.create",
        "Kebijakan eskalasi ditambah",
        "Escalation policy added",
    ),
    (
        "escalation.update",
        "Kebijakan eskalasi diubah",
        "Escalation policy changed",
    ),
    (
        "escalation.delete",
        "Kebijakan eskalasi dihapus",
        "Escalation policy deleted",
    ),
    (
        "provider.create",
        "Akun penyedia ditambah",
        "Provider account added",
    ),
    (
        "provider.update",
        "Akun penyedia diubah",
        "Provider account changed",
    ),
    (
        "report.create",
        "Jadwal laporan ditambah",
        "Report schedule added",
    ),
    (
        "report.update",
        "Jadwal laporan diubah",
        "Report schedule changed",
    ),
    (
        "report.delete",
        "Jadwal laporan dihapus",
        "Report schedule deleted",
    ),
    ("auth.sign_in_failed", "Gagal masuk", "Failed sign-in"),
];

/// The areas of [`ACTIONS`], for the filter: code, Indonesian, English.
pub const AREAS: &[(&str, &str, &str)] = &[
    ("template", "Template pesan", "Message templates"),
    ("zone", "Zona kerja", "Work zones"),
    ("api_key", "Kunci API", "API keys"),
    ("user", "Pengguna", "Users"),
    ("group", "Grup WhatsApp", "WhatsApp groups"),
    ("rule", "Aturan grup", "Group rules"),
    ("escalation", "Eskalasi", "Escalation"),
    ("provider", "Penyedia", "Providers"),
    ("report", "Laporan terjadwal", "Scheduled reports"),
    ("auth", "Masuk", "Sign-in"),
];

/// The action's name in `locale` (its code if unknown: an older build's).
pub fn action_label(action: &str, locale: Locale) -> String {
    ACTIONS
        .iter()
        .find(|(code, _, _)| *code == action)
        .map(|(_, id, en)| if locale == Locale::En { *en } else { *id })
        .unwrap_or(action)
        .to_owned()
}

/// The names of the fields the trail's records hold, in the order the
/// page lists them: JSON key, Indonesian, English.
const FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Nama", "Name"),
    ("code", "Kode", "Code"),
    ("description", "Keterangan", "Description"),
    ("type", "Jenis notifikasi", "Notification type"),
    ("kind", "Jenis", "Kind"),
    ("min_priority", "Prioritas minimum", "Minimum priority"),
    ("enabled", "Menyala", "On"),
    ("delay_minutes", "Setelah (menit)", "After (minutes)"),
    ("target", "Sasaran", "Target"),
    ("user_id", "Orang (id)", "Person (id)"),
    ("email", "Email", "Email"),
    ("phone", "Nomor WhatsApp", "WhatsApp number"),
    ("phone_verified", "Nomor terverifikasi", "Number verified"),
    ("role", "Peran", "Role"),
    ("email_role", "Email ke peran", "Email to role"),
    ("work_zone", "Zona kerja", "Work zone"),
    ("zone", "Zona kerja", "Work zone"),
    ("group_id", "Grup", "Group"),
    ("category", "Kategori", "Category"),
    ("chat_id", "ID grup WhatsApp", "WhatsApp group id"),
    ("phone_number", "Nomor", "Number"),
    ("locale", "Bahasa", "Language"),
    ("time_zone", "Zona waktu", "Time zone"),
    ("weekday", "Hari", "Day"),
    ("minute_of_day", "Jam", "Time"),
    ("channel", "Kanal", "Channel"),
    ("channels", "Kanal", "Channels"),
    ("active", "Aktif", "Active"),
    ("prefix", "Awalan kunci", "Key prefix"),
    ("revoked", "Dicabut", "Revoked"),
    ("subject", "Subjek email", "Email subject"),
    ("body", "Isi pesan", "Message"),
    ("template", "Template", "Template"),
    ("members", "Anggota (id)", "Members (ids)"),
    ("steps", "Langkah", "Steps"),
    ("base_url", "Alamat API", "API address"),
    ("failover_order", "Urutan cadangan", "Failover order"),
    (
        "rate_limit_per_minute",
        "Batas kirim per menit",
        "Sends per minute",
    ),
    (
        "price_rupiah",
        "Harga per pesan (Rp)",
        "Price per message (Rp)",
    ),
    ("timeout_ms", "Batas tunggu (ms)", "Timeout (ms)"),
    (
        "template_prices",
        "Harga per template",
        "Prices per template",
    ),
    (
        "credentials_set",
        "Kredensial yang diisi",
        "Credentials set",
    ),
    ("rows", "Baris", "Rows"),
    ("created", "Baru", "Added"),
    ("updated", "Diubah", "Changed"),
];

/// A field's name in `locale` (its key if unknown: an older build's).
pub fn field_label(key: &str, locale: Locale) -> String {
    FIELDS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, id, en)| crate::words::pick(locale, id, en))
        .unwrap_or(key)
        .to_owned()
}

/// Where field `key` comes in [`FIELDS`] (unknown ones last).
fn field_rank(key: &str) -> usize {
    FIELDS
        .iter()
        .position(|(k, _, _)| *k == key)
        .unwrap_or(FIELDS.len())
}

/// One field of an entry as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    /// "—" for nothing (before a creation, after a deletion, an empty value).
    pub before: String,
    pub after: String,
}

/// What an entry's records say, field by field in plain words: every field
/// of a creation or a deletion, only the changed ones of an edit. `None`
/// when a record is not a JSON object (the page then shows it as it is).
pub fn changes(
    before: Option<&str>,
    after: Option<&str>,
    locale: Locale,
) -> Option<Vec<FieldChange>> {
    use serde_json::{Map, Value};
    let object = |json: Option<&str>| -> Option<Map<String, Value>> {
        match json {
            None => Some(Map::new()),
            Some(text) => match serde_json::from_str(text) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            },
        }
    };
    let (old, new) = (object(before)?, object(after)?);
    let mut keys: Vec<&String> = old.keys().collect();
    keys.extend(new.keys().filter(|k| !old.contains_key(*k)));
    keys.sort_by_key(|k| field_rank(k));
    let both = before.is_some() && after.is_some();
    Some(
        keys.into_iter()
            .filter(|k| !both || old.get(*k) != new.get(*k))
            .map(|k| FieldChange {
                field: field_label(k, locale),
                before: value_text(k, old.get(k), locale),
                after: value_text(k, new.get(k), locale),
            })
            .collect(),
    )
}

/// A value as people read it: words for the vocabularies' codes, yes/no,
/// a time for minutes of the day; a nested record as "field: value".
fn value_text(key: &str, value: Option<&serde_json::Value>, locale: Locale) -> String {
    use crate::{Channel, EventKind, GroupCategory, Priority, Role};
    use serde_json::Value;
    let none = || "—".to_owned();
    match value {
        None | Some(Value::Null) => none(),
        Some(Value::Bool(b)) => crate::words::pick(
            locale,
            if *b { "ya" } else { "tidak" },
            if *b { "yes" } else { "no" },
        )
        .to_owned(),
        Some(Value::String(s)) if s.is_empty() => none(),
        Some(Value::String(s)) => {
            let word = match key {
                "role" | "email_role" => Role::parse(s).ok().map(|r| r.label(locale)),
                "min_priority" => Priority::parse(s).ok().map(|p| p.label(locale)),
                "type" | "kind" => EventKind::parse(s).ok().map(|k| k.label(locale)),
                "channel" => Channel::parse(s).ok().map(|c| c.label(locale)),
                "category" => GroupCategory::parse(s).ok().map(|c| c.label(locale)),
                "locale" => Locale::parse(s).ok().map(|l| l.name(locale)),
                "target" => match s.as_str() {
                    "user" => Some(crate::words::pick(locale, "orang", "a person")),
                    "role" => Some(crate::words::pick(locale, "peran", "a role")),
                    "group" => Some(crate::words::pick(locale, "grup", "a group")),
                    _ => None,
                },
                "channels" => {
                    return s
                        .split(',')
                        .map(|c| Channel::parse(c.trim()).map_or(c, |c| c.label(locale)))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
                _ => None,
            };
            word.map_or_else(|| s.clone(), str::to_owned)
        }
        Some(Value::Number(n)) => match (key, n.as_i64()) {
            ("minute_of_day", Some(m)) => format!("{:02}:{:02}", m / 60, m % 60),
            ("weekday", Some(d)) => u8::try_from(d)
                .ok()
                .and_then(|d| crate::schedule::Weekday::try_from(d).ok())
                .map_or_else(
                    || n.to_string(),
                    |w| crate::schedule::weekday_name(w, locale).to_owned(),
                ),
            _ => n.to_string(),
        },
        Some(Value::Array(items)) if items.is_empty() => none(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(_) => format!("{}. {}", i + 1, value_text(key, Some(item), locale)),
                _ => value_text(key, Some(item), locale),
            })
            .collect::<Vec<_>>()
            .join(if items.iter().any(Value::is_object) {
                "\n"
            } else {
                ", "
            }),
        Some(Value::Object(fields)) => {
            let mut fields: Vec<_> = fields.iter().filter(|(_, v)| !v.is_null()).collect();
            fields.sort_by_key(|(k, _)| field_rank(k));
            fields
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        field_label(k, locale),
                        value_text(k, Some(v), locale)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// Entries per page.
pub const PAGE_SIZE: i64 = 50;

/// The page's filters, as typed; a field left out is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    /// An area of [`AREAS`], or empty for every one.
    pub area: String,
    /// Part of the actor's name or email.
    pub actor: String,
    /// WIB calendar dates, inclusive.
    pub from: String,
    pub to: String,
    /// Older than this entry (paging).
    pub before_id: Option<i64>,
}

/// A checked filter: what the SQL binds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedAudit {
    /// `action LIKE 'area.%'`
    pub area: Option<String>,
    /// lower-cased, for `LIKE '%…%'`
    pub actor: Option<String>,
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub before_id: Option<i64>,
}

impl AuditFilter {
    /// Checks every field; each bad one is named.
    pub fn resolve(&self) -> Result<ResolvedAudit, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut r = ResolvedAudit {
            before_id: self.before_id,
            ..Default::default()
        };
        let area = self.area.trim();
        if !area.is_empty() {
            if AREAS.iter().any(|(code, _, _)| *code == area) {
                r.area = Some(area.to_owned());
            } else {
                errors.push(FieldError::new(
                    "area",
                    Words::fill("bagian '{}' tidak dikenal", "unknown area '{}'", &[&area]),
                ));
            }
        }
        let actor = self.actor.trim().to_lowercase();
        if !actor.is_empty() {
            r.actor = Some(actor);
        }
        for (field, value) in [("from", &self.from), ("to", &self.to)] {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match parse_wib_date(value) {
                Some(ms) if field == "from" => r.from_ms = Some(ms),
                Some(ms) => r.until_ms = Some(ms + 86_400_000),
                None => errors.push(FieldError::new(field, crate::time::invalid_date_message())),
            }
        }
        if let (Some(from), Some(until)) = (r.from_ms, r.until_ms) {
            if until <= from {
                errors.push(FieldError::new(
                    "to",
                    crate::time::end_before_start_message(),
                ));
            }
        }
        if errors.is_empty() {
            Ok(r)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_belongs_to_an_area_and_has_both_names() {
        for (code, id, en) in ACTIONS {
            let area = code.split('.').next().unwrap();
            assert!(AREAS.iter().any(|(a, _, _)| *a == area), "{code}");
            assert!(!id.is_empty() && !en.is_empty());
        }
        assert_eq!(action_label("zone.delete", Locale::Id), "Zona dihapus");
        assert_eq!(action_label("zone.delete", Locale::En), "Zone deleted");
        assert_eq!(action_label("x.y", Locale::Id), "x.y");
    }

    #[test]
    fn a_record_reads_as_plain_words_and_an_edit_shows_only_what_changed() {
        let before = r#"{"name":"Rudi","role":"technician","work_zone":"karawang","active":true,"phone":null}"#;
        let after = r#"{"name":"Rudi","role":"supervisor","work_zone":"bekasi","active":false,"phone":null}"#;
        let edit = changes(Some(before), Some(after), Locale::Id).unwrap();
        let rows: Vec<(&str, &str, &str)> = edit
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("Peran", "Teknisi", "Supervisor"),
                ("Zona kerja", "karawang", "bekasi"),
                ("Aktif", "ya", "tidak"),
            ]
        );
        // A creation shows every field, nothing before.
        let created = changes(None, Some(before), Locale::En).unwrap();
        assert_eq!(created.len(), 5);
        assert!(created.iter().all(|c| c.before == "—"));
        assert_eq!(created[1].after, "—", "no number");
        assert_eq!(created[2].after, "Technician");

        // Nested steps, channels, times and days in words.
        let policy = r#"{"type":"sla_breach","min_priority":"high","steps":[{"delay_minutes":15,"target":"role","role":"supervisor","zone":null,"channels":"whatsapp,in_app"}]}"#;
        let read = changes(None, Some(policy), Locale::Id).unwrap();
        assert_eq!(read[0].after, "SLA terlampaui");
        assert_eq!(read[1].after, "Tinggi");
        assert_eq!(
            read[2].after,
            "1. Setelah (menit): 15, Sasaran: peran, Peran: Supervisor, Kanal: WhatsApp, Dalam aplikasi"
        );
        let schedule = r#"{"kind":"weekly_report","weekday":0,"minute_of_day":450}"#;
        let read = changes(None, Some(schedule), Locale::Id).unwrap();
        let values: Vec<&str> = read.iter().map(|c| c.after.as_str()).collect();
        assert_eq!(values, ["Laporan mingguan", "Senin", "07:30"]);
        // Not a record: the page shows it as it is.
        assert_eq!(changes(Some("[1]"), None, Locale::Id), None);
        assert_eq!(field_label("unknown_key", Locale::Id), "unknown_key");
    }

    #[test]
    fn a_filter_names_each_bad_field_and_resolves_dates_as_wib_days() {
        let bad = AuditFilter {
            area: "secrets".into(),
            from: "2026-12-40".into(),
            ..Default::default()
        };
        let fields: Vec<String> = bad
            .resolve()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["area", "from"]);
        let reversed = AuditFilter {
            from: "2026-12-07".into(),
            to: "2026-12-01".into(),
            ..Default::default()
        };
        assert_eq!(reversed.resolve().unwrap_err()[0].field, "to");
        let ok = AuditFilter {
            area: "zone".into(),
            actor: " Admin ".into(),
            from: "2026-12-07".into(),
            to: "2026-12-07".into(),
            before_id: Some(9),
        }
        .resolve()
        .unwrap();
        assert_eq!(ok.area.as_deref(), Some("zone"));
        assert_eq!(ok.actor.as_deref(), Some("admin"));
        assert_eq!(ok.until_ms.unwrap() - ok.from_ms.unwrap(), 86_400_000);
        assert_eq!(ok.before_id, Some(9));
    }
}
