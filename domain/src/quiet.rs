//! Quiet hours: a daily window, in the user's own time zone, during which
//! intrusive channels (WhatsApp, push, SMS) hold their messages until the window
//! ends. Windows may cross midnight (22:00 → 06:00). Nothing is dropped: a
//! message inside the window is deferred to its end.

use chrono::{DateTime, Days, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub const DEFAULT_TIME_ZONE: &str = "Asia/Jakarta";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub enabled: bool,
    /// Minutes after local midnight, 0..1440.
    pub start_minute: u16,
    pub end_minute: u16,
    /// IANA name; an unknown one falls back to Asia/Jakarta.
    pub time_zone: String,
    /// Critical notifications come through anyway.
    pub critical_bypass: bool,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            enabled: false,
            start_minute: 22 * 60,
            end_minute: 6 * 60,
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
            critical_bypass: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("start and end must differ")]
    EmptyWindow,
    #[error("times must be between 00:00 and 23:59")]
    OutOfRange,
    #[error("unknown time zone '{0}'")]
    UnknownTimeZone(String),
}

impl QuietHoursError {
    pub fn message(&self, locale: crate::Locale) -> String {
        match (self, locale) {
            (_, crate::Locale::En) => self.to_string(),
            (QuietHoursError::EmptyWindow, _) => {
                "Jam mulai dan jam selesai tidak boleh sama.".into()
            }
            (QuietHoursError::OutOfRange, _) => "Jam harus antara 00:00 dan 23:59.".into(),
            (QuietHoursError::UnknownTimeZone(z), _) => format!("Zona waktu '{z}' tidak dikenal."),
        }
    }
}

/// `"22:00"` → 1320 minutes after midnight; what `<input type="time">` sends
/// (seconds, when a browser adds them, are ignored).
pub fn parse_hhmm(input: &str) -> Result<u16, QuietHoursError> {
    let mut parts = input.trim().split(':');
    let (Some(h), Some(m)) = (parts.next(), parts.next()) else {
        return Err(QuietHoursError::OutOfRange);
    };
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(QuietHoursError::OutOfRange);
    }
    let (h, m): (u16, u16) = (h.parse().unwrap_or(99), m.parse().unwrap_or(99));
    if h > 23 || m > 59 {
        return Err(QuietHoursError::OutOfRange);
    }
    Ok(h * 60 + m)
}

/// 1320 → `"22:00"`.
pub fn format_hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The zone for a name, if it is a real IANA zone.
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// Indonesia's three zones first, for pickers.
pub const INDONESIAN_TIME_ZONES: &[(&str, &str)] = &[
    ("Asia/Jakarta", "WIB (Asia/Jakarta)"),
    ("Asia/Makassar", "WITA (Asia/Makassar)"),
    ("Asia/Jayapura", "WIT (Asia/Jayapura)"),
];

impl QuietHours {
    /// What a settings form must pass before it is saved.
    pub fn validate(&self) -> Result<(), QuietHoursError> {
        if self.start_minute >= 1440 || self.end_minute >= 1440 {
            return Err(QuietHoursError::OutOfRange);
        }
        if self.enabled && self.start_minute == self.end_minute {
            return Err(QuietHoursError::EmptyWindow);
        }
        if parse_time_zone(&self.time_zone).is_none() {
            return Err(QuietHoursError::UnknownTimeZone(self.time_zone.clone()));
        }
        Ok(())
    }

    fn tz(&self) -> Tz {
        parse_time_zone(&self.time_zone).unwrap_or(chrono_tz::Asia::Jakarta)
    }

    fn contains_minute(&self, m: u16) -> bool {
        let (s, e) = (self.start_minute, self.end_minute);
        if s < e {
            s <= m && m < e
        } else {
            m >= s || m < e
        }
    }

    /// If `now` falls inside the window, the instant it ends; `None` otherwise
    /// (or when disabled, or `critical` and bypass is on).
    pub fn defer_until(&self, now: DateTime<Utc>, critical: bool) -> Option<DateTime<Utc>> {
        if !self.enabled
            || self.start_minute == self.end_minute
            || (critical && self.critical_bypass)
        {
            return None;
        }
        let tz = self.tz();
        let local = now.with_timezone(&tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        if !self.contains_minute(minute) {
            return None;
        }
        let end_time = NaiveTime::from_hms_opt(
            u32::from(self.end_minute / 60),
            u32::from(self.end_minute % 60),
            0,
        )?;
        // The window ends today if the end is still ahead, else tomorrow.
        let mut date = local.date_naive();
        if minute >= self.end_minute {
            date = date.checked_add_days(Days::new(1))?;
        }
        let naive_end = date.and_time(end_time);
        let end = match tz.from_local_datetime(&naive_end) {
            chrono::LocalResult::Single(t) => t,
            chrono::LocalResult::Ambiguous(early, _) => early,
            // A daylight-saving gap (not in Indonesia): the first valid instant after.
            chrono::LocalResult::None => tz
                .from_local_datetime(&(naive_end + chrono::Duration::hours(1)))
                .earliest()?,
        };
        Some(end.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn window(start: u16, end: u16, tz: &str) -> QuietHours {
        QuietHours {
            enabled: true,
            start_minute: start,
            end_minute: end,
            time_zone: tz.into(),
            critical_bypass: true,
        }
    }

    #[test]
    fn a_message_at_night_waits_until_the_window_crossing_midnight_ends() {
        let q = window(22 * 60, 6 * 60, "Asia/Jakarta");
        // 23:30 WIB = 16:30 UTC -> deferred to 06:00 WIB next day = 23:00 UTC.
        assert_eq!(
            q.defer_until(utc("2026-11-25T16:30:00Z"), false),
            Some(utc("2026-11-25T23:00:00Z"))
        );
        // 02:00 WIB (19:00 UTC the day before) -> 06:00 WIB the same local day.
        assert_eq!(
            q.defer_until(utc("2026-11-25T19:00:00Z"), false),
            Some(utc("2026-11-25T23:00:00Z"))
        );
        // Exactly 22:00 is inside, exactly 06:00 is outside.
        assert!(q.defer_until(utc("2026-11-25T15:00:00Z"), false).is_some());
        assert_eq!(q.defer_until(utc("2026-11-25T23:00:00Z"), false), None);
        // Midday is outside.
        assert_eq!(q.defer_until(utc("2026-11-25T05:00:00Z"), false), None);
    }

    #[test]
    fn a_same_day_window_defers_to_its_end() {
        let q = window(12 * 60, 13 * 60, "Asia/Jakarta");
        assert_eq!(
            q.defer_until(utc("2026-11-25T05:15:00Z"), false),
            Some(utc("2026-11-25T06:00:00Z"))
        );
        assert_eq!(q.defer_until(utc("2026-11-25T06:00:00Z"), false), None);
        assert_eq!(q.defer_until(utc("2026-11-25T04:59:00Z"), false), None);
    }

    #[test]
    fn the_users_own_time_zone_decides() {
        // 21:30 WIB is 22:30 WITA and 23:30 WIT.
        let now = utc("2026-11-25T14:30:00Z");
        assert_eq!(
            window(22 * 60, 6 * 60, "Asia/Jakarta").defer_until(now, false),
            None
        );
        assert_eq!(
            window(22 * 60, 6 * 60, "Asia/Makassar").defer_until(now, false),
            Some(utc("2026-11-25T22:00:00Z"))
        );
        assert_eq!(
            window(22 * 60, 6 * 60, "Asia/Jayapura").defer_until(now, false),
            Some(utc("2026-11-25T21:00:00Z"))
        );
    }

    #[test]
    fn critical_bypasses_only_when_allowed_and_disabled_windows_never_defer() {
        let mut q = window(22 * 60, 6 * 60, "Asia/Jakarta");
        let night = utc("2026-11-25T17:00:00Z");
        assert_eq!(q.defer_until(night, true), None);
        q.critical_bypass = false;
        assert!(q.defer_until(night, true).is_some());
        q.enabled = false;
        assert_eq!(q.defer_until(night, false), None);
    }

    #[test]
    fn an_unknown_zone_falls_back_to_jakarta_and_fails_validation() {
        let q = window(22 * 60, 6 * 60, "Mars/Olympus");
        assert_eq!(
            q.validate(),
            Err(QuietHoursError::UnknownTimeZone("Mars/Olympus".into()))
        );
        assert_eq!(
            q.defer_until(utc("2026-11-25T16:30:00Z"), false),
            Some(utc("2026-11-25T23:00:00Z"))
        );
    }

    #[test]
    fn empty_or_out_of_range_windows_are_rejected() {
        assert_eq!(
            window(360, 360, "Asia/Jakarta").validate(),
            Err(QuietHoursError::EmptyWindow)
        );
        assert_eq!(
            window(1440, 360, "Asia/Jakarta").validate(),
            Err(QuietHoursError::OutOfRange)
        );
        assert_eq!(window(1320, 360, "Asia/Jakarta").validate(), Ok(()));
    }

    #[test]
    fn times_parse_from_what_time_inputs_send() {
        assert_eq!(parse_hhmm("22:00"), Ok(1320));
        assert_eq!(parse_hhmm("06:30:00"), Ok(390));
        assert_eq!(parse_hhmm("00:00"), Ok(0));
        assert_eq!(parse_hhmm("23:59"), Ok(1439));
        for bad in ["24:00", "7:00", "12:60", "", "ab:cd", "12"] {
            assert_eq!(parse_hhmm(bad), Err(QuietHoursError::OutOfRange), "{bad}");
        }
        assert_eq!(format_hhmm(390), "06:30");
    }
}
