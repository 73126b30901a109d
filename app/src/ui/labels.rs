//! The names the pages give each vocabulary's words, in the page's
//! language: one place, every word (the matches are exhaustive, so a new
//! word cannot go unnamed). Words the server also names outside a page
//! (roles, statuses, priorities: in refusals, messages, the API) are the
//! vocabulary's own `label(locale)` in `domain`; here they get the page's
//! locale.

use crate::i18n::{self, tr};
use domain::{Channel, DeliveryStatus, GroupCategory, Role, TryOutcome};

/// A delivery's status.
pub fn status_label(s: DeliveryStatus) -> &'static str {
    s.label(i18n::locale())
}

/// A provider account's name, or that it was deleted since (its rows keep
/// a null account).
pub fn account_label(name: Option<String>) -> String {
    name.unwrap_or_else(|| tr("(akun dihapus)", "(deleted account)").into())
}

/// How one account's try at a delivery ended.
pub fn try_label(o: TryOutcome) -> &'static str {
    o.label(i18n::locale())
}

/// A channel.
pub fn channel_label(c: Channel) -> &'static str {
    c.label(i18n::locale())
}

/// A notification type's label, or the wire name for system messages.
pub fn type_label(t: &str) -> String {
    match domain::EventKind::parse(t) {
        Ok(kind) => kind.label(i18n::locale()).to_owned(),
        Err(_) => t.to_owned(),
    }
}

/// A WhatsApp group's category.
pub fn category_label(c: GroupCategory) -> &'static str {
    c.label(i18n::locale())
}

/// "Tinggi" / "High" for the stored wire name; an unknown name as it is.
pub fn priority_label(wire: &str) -> String {
    domain::Priority::parse(wire).map_or_else(
        |_| wire.to_owned(),
        |p| p.label(crate::i18n::locale()).to_owned(),
    )
}

/// A person's role.
pub fn role_label(r: Role) -> &'static str {
    r.label(i18n::locale())
}

/// A Meta template's status, as Meta writes it.
pub fn meta_status_label(status: &str) -> &'static str {
    match status {
        "APPROVED" => tr("Disetujui", "Approved"),
        "PENDING" | "IN_APPEAL" => tr("Menunggu persetujuan", "Awaiting approval"),
        "REJECTED" => tr("Ditolak", "Rejected"),
        "PAUSED" => tr("Dijeda Meta", "Paused by Meta"),
        "DISABLED" => tr("Dinonaktifkan Meta", "Disabled by Meta"),
        _ => tr("Status lain", "Other status"),
    }
}

/// What Meta bills a message as: a template's category (Meta writes it in
/// capitals, prices are keyed in lower case) or `service` (free text in
/// the window).
pub fn meta_category_label(category: &str) -> &'static str {
    match category.to_ascii_lowercase().as_str() {
        "utility" => tr("Utilitas", "Utility"),
        "marketing" => tr("Pemasaran", "Marketing"),
        "authentication" => tr("Autentikasi", "Authentication"),
        "service" => tr(
            "Layanan (teks dalam jendela 24 jam)",
            "Service (text inside the 24-hour window)",
        ),
        _ => tr("Lainnya", "Other"),
    }
}
