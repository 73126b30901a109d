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
