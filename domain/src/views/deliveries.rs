//! The delivery log: one row per message per recipient per channel, with
//! filters, keyset pagination (newest first), a detail view, retry of a failed
//! delivery and CSV export of the filtered set.
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::deliveries`, the page and server functions
//! `app::deliveries`.

use crate::words::FieldError;
use crate::{Channel, DeliveryStatus, Words};
use serde::{Deserialize, Serialize};

/// A test send's text (a group's or a channel's), trimmed: written, and
/// within WhatsApp's 4,096 characters, the longest any channel here takes.
/// Checked in the browser and on the server.
pub fn check_test_message(message: &str) -> Result<&str, FieldError> {
    let t = |id: &str, en: &str| Words::new(id, en);
    let text = message.trim();
    if text.is_empty() {
        Err(FieldError::new(
            "message",
            t("Tulis pesan uji.", "Write a test message."),
        ))
    } else if text.encode_utf16().count() > crate::template::WHATSAPP_MAX_CHARS {
        Err(FieldError::new(
            "message",
            t(
                "Pesan melebihi 4.096 karakter.",
                "The message is over 4,096 characters.",
            ),
        ))
    } else {
        Ok(text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryListItem {
    pub id: crate::DeliveryId,
    pub created_at: i64,
    pub notification_type: String,
    pub channel: Channel,
    pub provider: Option<String>,
    pub recipient: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub error: Option<String>,
}

/// The filters as the URL carries them (`?status=failed&from=2026-11-01`):
/// text, so a shared link round-trips; [`DeliveryFilter::resolve`] checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryFilter {
    pub status: String,
    pub channel: String,
    pub provider: String,
    #[serde(rename = "type")]
    pub notification_type: String,
    pub group: String,
    pub user: String,
    /// WIB calendar dates, inclusive: `2026-11-25`.
    pub from: String,
    pub to: String,
}

/// A checked filter: what the SQL binds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<Channel>,
    pub provider: Option<String>,
    pub notification_type: Option<String>,
    pub group_id: Option<i64>,
    pub user_id: Option<i64>,
    /// `created_at >= from_ms`
    pub from_ms: Option<i64>,
    /// `created_at < until_ms` (the day after `to`, at 00:00 WIB)
    pub until_ms: Option<i64>,
}

impl DeliveryFilter {
    pub const FIELDS: [&'static str; 8] = [
        "status", "channel", "provider", "type", "group", "user", "from", "to",
    ];

    pub fn get(&self, field: &str) -> &str {
        match field {
            "status" => &self.status,
            "channel" => &self.channel,
            "provider" => &self.provider,
            "type" => &self.notification_type,
            "group" => &self.group,
            "user" => &self.user,
            "from" => &self.from,
            "to" => &self.to,
            _ => "",
        }
    }

    pub fn set(&mut self, field: &str, value: String) {
        match field {
            "status" => self.status = value,
            "channel" => self.channel = value,
            "provider" => self.provider = value,
            "type" => self.notification_type = value,
            "group" => self.group = value,
            "user" => self.user = value,
            "from" => self.from = value,
            "to" => self.to = value,
            _ => {}
        }
    }

    /// `status=failed&from=2026-11-01`, without empty fields.
    pub fn to_query(&self) -> String {
        Self::FIELDS
            .iter()
            .filter(|f| !self.get(f).is_empty())
            .map(|f| format!("{f}={}", encode_query_value(self.get(f))))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Checks every field; each bad one is named.
    pub fn resolve(&self) -> Result<Resolved, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut r = Resolved::default();
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(s) = text(&self.status) {
            match DeliveryStatus::parse(&s) {
                Ok(v) => r.status = Some(v),
                Err(e) => errors.push(FieldError::new("status", Words::same(e.to_string()))),
            }
        }
        if let Some(s) = text(&self.channel) {
            match Channel::parse(&s) {
                Ok(v) => r.channel = Some(v),
                Err(e) => errors.push(FieldError::new("channel", Words::same(e.to_string()))),
            }
        }
        r.provider = text(&self.provider);
        r.notification_type = text(&self.notification_type);
        for (field, value, slot) in [
            ("group", &self.group, &mut r.group_id),
            ("user", &self.user, &mut r.user_id),
        ] {
            if let Some(s) = text(value) {
                match s.parse::<i64>() {
                    Ok(v) => *slot = Some(v),
                    Err(_) => errors.push(FieldError::new(
                        field,
                        Words::new("harus berupa nomor id", "must be an id number"),
                    )),
                }
            }
        }
        if let Some(s) = text(&self.from) {
            match crate::time::parse_wib_date(&s) {
                Some(ms) => r.from_ms = Some(ms),
                None => errors.push(FieldError::new("from", crate::time::invalid_date_message())),
            }
        }
        if let Some(s) = text(&self.to) {
            match crate::time::parse_wib_date(&s) {
                Some(ms) => r.until_ms = Some(ms + 86_400_000),
                None => errors.push(FieldError::new("to", crate::time::invalid_date_message())),
            }
        }
        if let (Some(a), Some(b)) = (r.from_ms, r.until_ms) {
            if a >= b {
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

/// Percent-encodes what a query value must not carry raw.
pub fn encode_query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where the next page starts: the last row shown, as `created_at.id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub created_at: i64,
    pub id: crate::DeliveryId,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (a, b) = s.split_once('.')?;
        Some(Cursor {
            created_at: a.parse().ok()?,
            id: b.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryListItem>,
    /// Present when more rows follow.
    pub next: Option<String>,
}

pub const PAGE_SIZE: usize = 50;

/// What the filter selects offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOptions {
    pub providers: Vec<String>,
    pub groups: Vec<(i64, String)>,
    pub users: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub item: DeliveryListItem,
    pub event_id: Option<i64>,
    pub priority: String,
    pub user_name: Option<String>,
    pub group_name: Option<String>,
    /// Email only.
    pub subject: Option<String>,
    pub message: String,
    pub provider_message_id: Option<String>,
    pub provider_response: Option<String>,
    pub max_attempts: i64,
    pub cost_rupiah: i64,
    pub next_attempt_at: Option<i64>,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub retry_of: Option<crate::DeliveryId>,
    /// The retry made of this delivery, if any.
    pub retried_as: Option<crate::DeliveryId>,
    /// The WhatsApp delivery this SMS stands in for.
    pub fallback_of: Option<crate::DeliveryId>,
    /// The SMS sent because this WhatsApp delivery did not arrive.
    pub sms_fallback: Option<crate::DeliveryId>,
    /// The escalation step that sent it (`None`: the event's own routing).
    pub alert_step: Option<i64>,
    /// The event's alert, when it is under an escalation policy.
    pub alert: Option<crate::live::AlertView>,
    /// Every account's try, oldest first.
    pub tries: Vec<TryView>,
}

/// One account's try at a delivery, for its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct TryView {
    pub attempt: i64,
    /// The account's name (`None`: deleted since).
    pub account: Option<String>,
    pub provider: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub http_status: Option<i64>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub outcome: crate::TryOutcome,
    /// The provider's or the connection's own words, kept for this view.
    pub error: Option<String>,
    pub response: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_message_is_trimmed_written_and_within_whatsapps_limit() {
        assert_eq!(check_test_message("  uji  "), Ok("uji"));
        assert_eq!(check_test_message("  ").unwrap_err().field, "message");
        let long = "a".repeat(crate::template::WHATSAPP_MAX_CHARS + 1);
        assert!(check_test_message(&long).is_err());
        let full = "a".repeat(crate::template::WHATSAPP_MAX_CHARS);
        assert!(check_test_message(&full).is_ok());
    }

    #[test]
    fn filters_round_trip_through_the_query_string() {
        let f = DeliveryFilter {
            status: "failed".into(),
            provider: "fonnte utama".into(),
            from: "2026-11-01".into(),
            ..Default::default()
        };
        assert_eq!(
            f.to_query(),
            "status=failed&provider=fonnte%20utama&from=2026-11-01"
        );
        let r = f.resolve().unwrap();
        assert_eq!(r.status, Some(DeliveryStatus::Failed));
        assert_eq!(r.provider.as_deref(), Some("fonnte utama"));
        // 2026-11-01 00:00 WIB is 2026-10-31 17:00 UTC.
        assert_eq!(r.from_ms, Some(1_793_466_000_000));
        assert_eq!(r.until_ms, None);
    }

    #[test]
    fn bad_filters_name_each_field() {
        let f = DeliveryFilter {
            status: "lost".into(),
            group: "x".into(),
            from: "2026-13-01".into(),
            ..Default::default()
        };
        let errors = f.resolve().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["status", "group", "from"]);
        let backwards = DeliveryFilter {
            from: "2026-11-05".into(),
            to: "2026-11-04".into(),
            ..Default::default()
        };
        let errors = backwards.resolve().unwrap_err();
        assert!(FieldError::find(&errors, "to", crate::Locale::En).is_some());
    }

    #[test]
    fn the_to_date_includes_its_whole_day() {
        let f = DeliveryFilter {
            from: "2026-11-05".into(),
            to: "2026-11-05".into(),
            ..Default::default()
        };
        let r = f.resolve().unwrap();
        assert_eq!(r.until_ms.unwrap() - r.from_ms.unwrap(), 86_400_000);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            created_at: 1_795_627_800_000,
            id: crate::DeliveryId(42),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("abc"), None);
        assert_eq!(Cursor::decode("1.x"), None);
    }
}
