//! Digests: a person may take their low-priority notifications as one message
//! at a chosen local time instead of one by one. In-app notifications still
//! arrive at once (the inbox is where the detail is); what would have gone
//! out by WhatsApp, email or push waits for the digest. Pure: what waits, on
//! which channel the digest goes, and its text.

use crate::kinds::{Channel, Locale, Priority};
use crate::schedule::{Cadence, When};
use crate::template::WHATSAPP_MAX_CHARS;
use chrono::{TimeZone, Utc};

/// The first digest time after `now` (Unix ms) for a digest at `minute`
/// after local midnight in `time_zone`.
pub fn next_at(minute: u16, time_zone: &str, now: i64) -> Option<i64> {
    let when = When {
        cadence: Cadence::Daily,
        minute_of_day: minute,
        time_zone: time_zone.to_owned(),
    };
    let now = Utc.timestamp_millis_opt(now).single()?;
    when.next_after(now).map(|t| t.timestamp_millis())
}

/// Whether a delivery on `channel` of an event of `priority` waits for the
/// digest of a person who chose one.
pub fn collects(priority: Priority, channel: Channel) -> bool {
    priority == Priority::Low
        && matches!(channel, Channel::Whatsapp | Channel::Email | Channel::Push)
}

/// The channel a digest goes out on: WhatsApp where the person reads it,
/// else email; `None` if neither reaches them (the items are still in the
/// inbox).
pub fn channel(
    whatsapp: bool,
    verified_phone: bool,
    email: bool,
    has_email: bool,
) -> Option<Channel> {
    if whatsapp && verified_phone {
        Some(Channel::Whatsapp)
    } else if email && has_email {
        Some(Channel::Email)
    } else {
        None
    }
}

/// One notification in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// When it happened (Unix ms).
    pub at_ms: i64,
    /// The notification type's label.
    pub title: String,
    /// One line about it ("TK-1001 · Ibu Sari").
    pub line: String,
}

/// The line of an item: the ticket and the customer or status it names.
pub fn line(ticket_id: Option<&str>, detail: Option<&str>) -> String {
    let parts: Vec<&str> = [ticket_id, detail]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    parts.join(" · ")
}

/// The digest in WhatsApp formatting, its times in `time_zone`, within
/// WhatsApp's limit (UTF-16 units, as `template::fit_whatsapp` counts):
/// past it, the rest is counted, not listed.
pub fn text(locale: Locale, items: &[Item], time_zone: &str) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Jakarta);
    let (heading, more, footer) = match locale {
        Locale::Id => (
            "🗂️ *Ringkasan notifikasi*",
            "… dan {} lainnya",
            "Rincian ada di kotak masuk aplikasi.",
        ),
        Locale::En => (
            "🗂️ *Notification digest*",
            "… and {} more",
            "The details are in the app's inbox.",
        ),
    };
    let mut out = format!("{heading} ({})\n", items.len());
    // Room kept for the "and N more" line and the footer.
    let budget = WHATSAPP_MAX_CHARS - 120;
    let mut listed = 0;
    for item in items {
        let time = Utc
            .timestamp_millis_opt(item.at_ms)
            .single()
            .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
            .unwrap_or_default();
        let mut entry = format!("\n• {time} *{}*", item.title);
        if !item.line.is_empty() {
            entry.push_str(" — ");
            entry.push_str(&item.line);
        }
        if out.encode_utf16().count() + entry.encode_utf16().count() > budget {
            break;
        }
        out.push_str(&entry);
        listed += 1;
    }
    if listed < items.len() {
        out.push_str("\n\n");
        out.push_str(&more.replace("{}", &(items.len() - listed).to_string()));
    }
    out.push_str("\n\n");
    out.push_str(footer);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_low_priority_personal_messages_wait() {
        assert!(collects(Priority::Low, Channel::Whatsapp));
        assert!(collects(Priority::Low, Channel::Email));
        assert!(collects(Priority::Low, Channel::Push));
        assert!(!collects(Priority::Low, Channel::InApp));
        assert!(!collects(Priority::Low, Channel::WhatsappGroup));
        assert!(!collects(Priority::Medium, Channel::Whatsapp));
    }

    #[test]
    fn the_digest_goes_by_whatsapp_else_email() {
        assert_eq!(channel(true, true, true, true), Some(Channel::Whatsapp));
        assert_eq!(channel(true, false, true, true), Some(Channel::Email));
        assert_eq!(channel(false, true, true, true), Some(Channel::Email));
        assert_eq!(channel(false, true, false, true), None);
    }

    #[test]
    fn the_text_lists_items_in_local_time_and_counts_the_rest() {
        // 01:15 UTC is 08:15 WIB and 10:15 WIT.
        let at = Utc
            .with_ymd_and_hms(2026, 11, 28, 1, 15, 0)
            .unwrap()
            .timestamp_millis();
        let items = vec![
            Item {
                at_ms: at,
                title: "Tiket ditugaskan".into(),
                line: line(Some("TK-1"), Some("Ibu Sari")),
            },
            Item {
                at_ms: at + 60_000,
                title: "Status tiket berubah".into(),
                line: line(Some("TK-2"), None),
            },
        ];
        let t = text(Locale::Id, &items, "Asia/Jakarta");
        assert!(t.starts_with("🗂️ *Ringkasan notifikasi* (2)\n"), "{t}");
        assert!(
            t.contains("\n• 08:15 *Tiket ditugaskan* — TK-1 · Ibu Sari"),
            "{t}"
        );
        assert!(t.contains("\n• 08:16 *Status tiket berubah* — TK-2"), "{t}");
        assert!(t.ends_with("Rincian ada di kotak masuk aplikasi."));
        assert!(text(Locale::Id, &items, "Asia/Jayapura").contains("10:15"));

        let many: Vec<Item> = (0..400)
            .map(|i| Item {
                at_ms: at,
                title: "Tiket ditugaskan".into(),
                line: format!("TK-{i} · Pelanggan dengan nama yang panjang"),
            })
            .collect();
        let t = text(Locale::En, &many, "Asia/Jakarta");
        assert!(
            t.chars().count() <= WHATSAPP_MAX_CHARS,
            "{}",
            t.chars().count()
        );
        let listed = t.matches("\n• ").count();
        assert!(listed > 10 && listed < 400);
        assert!(t.contains(&format!("… and {} more", 400 - listed)), "{t}");
    }

    #[test]
    fn the_next_digest_is_the_next_local_time() {
        // 09:00 UTC is 16:00 WIB: 17:00 WIB (10:00 UTC) is the same day;
        // at 10:00 UTC exactly it is the next day.
        let at = |h| {
            Utc.with_ymd_and_hms(2026, 11, 28, h, 0, 0)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(next_at(17 * 60, "Asia/Jakarta", at(9)), Some(at(10)));
        assert_eq!(
            next_at(17 * 60, "Asia/Jakarta", at(10)),
            Some(at(10) + 24 * 3_600_000)
        );
        assert_eq!(next_at(17 * 60, "Asia/Jayapura", at(7)), Some(at(8)));
    }

    #[test]
    fn an_item_line_skips_what_is_missing() {
        assert_eq!(line(Some("TK-1"), Some(" selesai ")), "TK-1 · selesai");
        assert_eq!(line(None, Some("x")), "x");
        assert_eq!(line(Some(" "), None), "");
    }
}
