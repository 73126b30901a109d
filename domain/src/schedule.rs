//! Scheduled reports: when a daily or weekly schedule fires next, in its own
//! time zone, and which period a run reports on.

use crate::quiet::parse_time_zone;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How often a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cadence {
    Daily,
    /// On this day of the week.
    Weekly(Weekday),
}

/// When and where a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    pub cadence: Cadence,
    /// Minutes after local midnight.
    pub minute_of_day: u16,
    /// IANA name; an unknown one is Asia/Jakarta.
    pub time_zone: String,
}

impl When {
    fn tz(&self) -> Tz {
        parse_time_zone(&self.time_zone).unwrap_or(chrono_tz::Asia::Jakarta)
    }

    /// The local instant of `date` at the schedule's time (the first valid
    /// instant after a daylight-saving gap).
    fn at(&self, tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
        let time = NaiveTime::from_hms_opt(
            u32::from(self.minute_of_day / 60),
            u32::from(self.minute_of_day % 60),
            0,
        )?;
        let naive = date.and_time(time);
        let local = tz.from_local_datetime(&naive).earliest().or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })?;
        Some(local.with_timezone(&Utc))
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.tz();
        let mut date = after.with_timezone(&tz).date_naive();
        // At most eight days ahead: a weekly schedule's day comes within them.
        for _ in 0..9 {
            let day_fits = match self.cadence {
                Cadence::Daily => true,
                Cadence::Weekly(w) => date.weekday() == w,
            };
            if day_fits {
                if let Some(t) = self.at(tz, date).filter(|t| *t > after) {
                    return Some(t);
                }
            }
            date = date.checked_add_days(Days::new(1))?;
        }
        None
    }

    /// The local days a run at `run` reports on: the day before (daily), or
    /// the seven days before (weekly).
    pub fn period(&self, run: DateTime<Utc>) -> Option<Period> {
        let tz = self.tz();
        let today = run.with_timezone(&tz).date_naive();
        let days = match self.cadence {
            Cadence::Daily => 1,
            Cadence::Weekly(_) => 7,
        };
        let first = today.checked_sub_days(Days::new(days))?;
        let midnight = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        };
        Some(Period {
            from: midnight(first)?,
            to: midnight(today)?,
            first_day: first,
            last_day: today.pred_opt()?,
        })
    }
}

/// The days a report covers: `[from, to)` as UTC instants, and the first and
/// last local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl Period {
    /// "27-11-2026", or "23-11-2026 s.d. 29-11-2026" for several days.
    pub fn label(&self) -> String {
        let day = |d: NaiveDate| d.format("%d-%m-%Y").to_string();
        if self.first_day == self.last_day {
            day(self.first_day)
        } else {
            format!("{} s.d. {}", day(self.first_day), day(self.last_day))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn daily_7() -> When {
        When {
            cadence: Cadence::Daily,
            minute_of_day: 7 * 60,
            time_zone: "Asia/Jakarta".into(),
        }
    }

    #[test]
    fn a_daily_schedule_fires_at_seven_jakarta_time() {
        let w = daily_7();
        // 06:59 WIB → 07:00 WIB the same day (00:00 UTC).
        assert_eq!(
            w.next_after(utc("2026-11-27T23:59:00Z")),
            Some(utc("2026-11-28T00:00:00Z"))
        );
        // Exactly at the time: the next day's (strictly after).
        assert_eq!(
            w.next_after(utc("2026-11-28T00:00:00Z")),
            Some(utc("2026-11-29T00:00:00Z"))
        );
        // Late evening UTC is already tomorrow in Jakarta.
        assert_eq!(
            w.next_after(utc("2026-11-28T18:00:00Z")),
            Some(utc("2026-11-29T00:00:00Z"))
        );
    }

    #[test]
    fn a_weekly_schedule_fires_on_its_weekday() {
        let w = When {
            cadence: Cadence::Weekly(Weekday::Mon),
            ..daily_7()
        };
        // Saturday 28 Nov 2026 → Monday 30 Nov, 07:00 WIB.
        assert_eq!(
            w.next_after(utc("2026-11-28T03:00:00Z")),
            Some(utc("2026-11-30T00:00:00Z"))
        );
        // Monday after 07:00 → next Monday.
        assert_eq!(
            w.next_after(utc("2026-11-30T00:00:00Z")),
            Some(utc("2026-12-07T00:00:00Z"))
        );
    }

    #[test]
    fn other_time_zones_and_daylight_saving_are_followed() {
        let w = When {
            time_zone: "Asia/Makassar".into(),
            ..daily_7()
        };
        assert_eq!(
            w.next_after(utc("2026-11-28T00:00:00Z")),
            Some(utc("2026-11-28T23:00:00Z"))
        );
        // 02:30 does not exist in Amsterdam on 29 March 2026: 03:30 instead.
        let gap = When {
            cadence: Cadence::Daily,
            minute_of_day: 150,
            time_zone: "Europe/Amsterdam".into(),
        };
        assert_eq!(
            gap.next_after(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:30:00Z"))
        );
        // An unknown zone is Jakarta.
        let unknown = When {
            time_zone: "Mars/Olympus".into(),
            ..daily_7()
        };
        assert_eq!(
            unknown.next_after(utc("2026-11-27T23:59:00Z")),
            Some(utc("2026-11-28T00:00:00Z"))
        );
    }

    #[test]
    fn a_run_reports_on_the_day_or_week_before() {
        let p = daily_7().period(utc("2026-11-28T00:00:00Z")).unwrap();
        assert_eq!(
            (p.from, p.to),
            (utc("2026-11-26T17:00:00Z"), utc("2026-11-27T17:00:00Z"))
        );
        assert_eq!(p.first_day, NaiveDate::from_ymd_opt(2026, 11, 27).unwrap());
        assert_eq!(p.label(), "27-11-2026");
        let weekly = When {
            cadence: Cadence::Weekly(Weekday::Mon),
            ..daily_7()
        };
        let p = weekly.period(utc("2026-11-30T00:00:00Z")).unwrap();
        assert_eq!(
            (p.from, p.to),
            (utc("2026-11-22T17:00:00Z"), utc("2026-11-29T17:00:00Z"))
        );
        assert_eq!(p.first_day, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(p.label(), "23-11-2026 s.d. 29-11-2026");
    }
}

/// What a report says: ticket figures from the events the ticketing system
/// posted in the period, and the system's own delivery statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Tickets opened (`new_ticket` events).
    pub new_tickets: i64,
    /// Status changes to a finished status (completed, closed, resolved, selesai).
    pub completed: i64,
    /// Status changes to in progress (in_progress, on_progress, dikerjakan).
    pub in_progress: i64,
    pub sla_breaches: i64,
    pub outages: i64,
    /// Messages of the period: all, delivered or read, read, failed.
    pub messages: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    pub cost_rupiah: i64,
}

/// Whether a ticket status counts as finished / in progress for the report.
pub fn status_kind(status: &str) -> Option<bool> {
    match status.trim().to_lowercase().as_str() {
        "completed" | "complete" | "closed" | "resolved" | "done" | "selesai" => Some(true),
        "in_progress" | "on_progress" | "in progress" | "dikerjakan" | "proses" => Some(false),
        _ => None,
    }
}

/// The report's WhatsApp text (Indonesian, `*bold*`): the title and period,
/// the tickets, then the messages.
pub fn report_text(weekly: bool, period: &str, f: &Figures) -> String {
    let title = if weekly {
        "📈 *LAPORAN MINGGUAN*"
    } else {
        "📊 *LAPORAN HARIAN*"
    };
    let rate = |n: i64| {
        if f.messages == 0 {
            "-".to_owned()
        } else {
            format!("{:.1}%", n as f64 * 100.0 / f.messages as f64).replace('.', ",")
        }
    };
    format!(
        "{title} — {period}\n\n\
         *Tiket baru:* {}\n*Selesai:* {}\n*Dalam proses:* {}\n*Melewati SLA:* {}\n*Gangguan jaringan:* {}\n\n\
         *Notifikasi terkirim:* {}\n*Diterima:* {} ({})\n*Dibaca:* {} ({})\n*Gagal:* {}\n*Biaya:* Rp {}",
        f.new_tickets,
        f.completed,
        f.in_progress,
        f.sla_breaches,
        f.outages,
        f.messages,
        f.delivered,
        rate(f.delivered),
        f.read,
        rate(f.read),
        f.failed,
        crate::numbers::group_thousands(f.cost_rupiah, "."),
    )
}

#[cfg(test)]
mod report_tests {
    use super::*;

    #[test]
    fn a_report_lists_tickets_and_messages() {
        let f = Figures {
            new_tickets: 12,
            completed: 9,
            in_progress: 2,
            sla_breaches: 1,
            outages: 0,
            messages: 200,
            delivered: 190,
            read: 150,
            failed: 10,
            cost_rupiah: 31_500,
        };
        let t = report_text(false, "27-11-2026", &f);
        assert!(
            t.starts_with("📊 *LAPORAN HARIAN* — 27-11-2026\n\n*Tiket baru:* 12\n*Selesai:* 9"),
            "{t}"
        );
        assert!(
            t.contains("*Diterima:* 190 (95,0%)") && t.contains("*Dibaca:* 150 (75,0%)"),
            "{t}"
        );
        assert!(t.ends_with("*Gagal:* 10\n*Biaya:* Rp 31.500"), "{t}");
        assert!(report_text(true, "x", &Figures::default()).contains("*Diterima:* 0 (-)"));
    }

    #[test]
    fn ticket_statuses_are_read_in_both_languages() {
        assert_eq!(status_kind("Selesai"), Some(true));
        assert_eq!(status_kind("closed"), Some(true));
        assert_eq!(status_kind("on_progress"), Some(false));
        assert_eq!(status_kind("assigned"), None);
    }
}
