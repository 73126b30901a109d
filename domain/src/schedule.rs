//! Scheduled reports: when a daily or weekly schedule fires next, in its own
//! time zone, and which period a run reports on.

use crate::quiet::parse_time_zone;
/// Re-exported: the app's pages name weekdays without depending on chrono.
pub use chrono::Weekday;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
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

/// A weekday's name, Monday = 0 as `report_schedules.weekday` counts.
pub fn weekday_name(day: Weekday, locale: crate::Locale) -> &'static str {
    const ID: [&str; 7] = [
        "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
    ];
    const EN: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let i = day.num_days_from_monday() as usize;
    match locale {
        crate::Locale::Id => ID[i],
        crate::Locale::En => EN[i],
    }
}

/// An instant as people of that zone read it: `07-12-2026 07:00 WIB`.
pub fn local_label(at: DateTime<Utc>, time_zone: &str) -> String {
    let tz = parse_time_zone(time_zone).unwrap_or(chrono_tz::Asia::Jakarta);
    at.with_timezone(&tz)
        .format("%d-%m-%Y %H:%M %Z")
        .to_string()
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

    #[test]
    fn names_and_local_labels() {
        assert_eq!(weekday_name(Weekday::Mon, crate::Locale::Id), "Senin");
        assert_eq!(weekday_name(Weekday::Sun, crate::Locale::En), "Sunday");
        let t = utc("2026-12-07T00:00:00Z");
        assert_eq!(local_label(t, "Asia/Jakarta"), "07-12-2026 07:00 WIB");
        assert_eq!(local_label(t, "Asia/Jayapura"), "07-12-2026 09:00 WIT");
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
    /// The figures the ticketing system posted for the period's days, when
    /// it posted any: they replace the ticket lines counted from events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted: Option<Posted>,
}

/// One day's ticket figures as the ticketing system posts them, for all
/// zones or one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    /// Tickets worked on that day (opened, in progress or finished).
    pub total: i64,
    /// Finished that day.
    pub completed: i64,
    /// In progress at the day's end.
    pub in_progress: i64,
    /// Open, not yet taken, at the day's end.
    pub open: i64,
    /// Past their SLA deadline that day.
    pub sla_breached: i64,
}

impl DayFigures {
    /// Several days as one: flows add up, the states at the end are the
    /// last day's. `days` must be in date order.
    pub fn over(days: &[DayFigures]) -> DayFigures {
        let last = days.last().copied().unwrap_or_default();
        DayFigures {
            in_progress: last.in_progress,
            open: last.open,
            ..DayFigures::sum(days)
        }
    }

    /// Zones of one day as one (their end states add up too).
    pub fn sum(zones: &[DayFigures]) -> DayFigures {
        DayFigures {
            total: zones.iter().map(|d| d.total).sum(),
            completed: zones.iter().map(|d| d.completed).sum(),
            sla_breached: zones.iter().map(|d| d.sla_breached).sum(),
            in_progress: zones.iter().map(|d| d.in_progress).sum(),
            open: zones.iter().map(|d| d.open).sum(),
        }
    }
}

/// The posted figures over a report's period: all zones, and each zone that
/// was posted on its own (by name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub all: DayFigures,
    pub zones: Vec<(String, DayFigures)>,
}

/// Posted rows of a period, `(day, zone, figures)` with `zone` empty for a
/// whole-operator row, in date order, as one [`Posted`]. A day with a
/// whole-operator row counts that row; a day without one counts the sum of
/// its zones. `zone_name` names a zone code. `None` when nothing was posted.
pub fn combine_posted(
    rows: &[(NaiveDate, String, DayFigures)],
    zone_name: impl Fn(&str) -> String,
) -> Option<Posted> {
    if rows.is_empty() {
        return None;
    }
    let mut days: Vec<NaiveDate> = rows.iter().map(|r| r.0).collect();
    days.dedup();
    let per_day: Vec<DayFigures> = days
        .iter()
        .map(|day| {
            let of_day = rows.iter().filter(|r| r.0 == *day);
            match of_day.clone().find(|r| r.1.is_empty()) {
                Some(whole) => whole.2,
                None => DayFigures::sum(&of_day.map(|r| r.2).collect::<Vec<_>>()),
            }
        })
        .collect();
    let mut codes: Vec<&str> = rows
        .iter()
        .map(|r| r.1.as_str())
        .filter(|z| !z.is_empty())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mut zones: Vec<(String, DayFigures)> = codes
        .into_iter()
        .map(|code| {
            let of_zone: Vec<DayFigures> =
                rows.iter().filter(|r| r.1 == code).map(|r| r.2).collect();
            (zone_name(code), DayFigures::over(&of_zone))
        })
        .collect();
    zones.sort_by(|a, b| a.0.cmp(&b.0));
    Some(Posted {
        all: DayFigures::over(&per_day),
        zones,
    })
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
    let tickets = match &f.posted {
        // What the ticketing system counted itself.
        Some(p) => {
            let a = p.all;
            let mut t = format!(
                "*Total tiket:* {}\n*Selesai:* {}\n*Dalam proses:* {}\n*Terbuka:* {}\n*Melewati SLA:* {}\n*Gangguan jaringan:* {}",
                a.total, a.completed, a.in_progress, a.open, a.sla_breached, f.outages
            );
            if !p.zones.is_empty() {
                t.push_str("\n\n_Per wilayah:_");
                for (zone, z) in &p.zones {
                    t.push_str(&format!(
                        "\n• {zone}: {}/{} selesai, {} terbuka, {} melewati SLA",
                        z.completed, z.total, z.open, z.sla_breached
                    ));
                }
            }
            t
        }
        // Counted from the events the ticketing system posted.
        None => format!(
            "*Tiket baru:* {}\n*Selesai:* {}\n*Dalam proses:* {}\n*Melewati SLA:* {}\n*Gangguan jaringan:* {}",
            f.new_tickets, f.completed, f.in_progress, f.sla_breaches, f.outages
        ),
    };
    format!(
        "{title} — {period}\n\n{tickets}\n\n\
         *Notifikasi terkirim:* {}\n*Diterima:* {} ({})\n*Dibaca:* {} ({})\n*Gagal:* {}\n*Biaya:* Rp {}",
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
            posted: None,
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

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn figs(total: i64, completed: i64, in_progress: i64, open: i64, sla: i64) -> DayFigures {
        DayFigures {
            total,
            completed,
            in_progress,
            open,
            sla_breached: sla,
        }
    }

    #[test]
    fn posted_days_add_up_and_end_states_are_the_last_days() {
        let name = |code: &str| code.to_uppercase();
        assert_eq!(combine_posted(&[], name), None);
        let rows = vec![
            // 23rd: zones only → their sum.
            (day(23), "bekasi".to_owned(), figs(5, 4, 1, 0, 0)),
            (day(23), "karawang".to_owned(), figs(10, 8, 1, 1, 1)),
            // 24th: a whole-operator row wins over its zones.
            (day(24), String::new(), figs(20, 15, 3, 2, 2)),
            (day(24), "karawang".to_owned(), figs(12, 9, 2, 1, 1)),
        ];
        let p = combine_posted(&rows, name).unwrap();
        assert_eq!(p.all, figs(35, 27, 3, 2, 3));
        assert_eq!(
            p.zones,
            vec![
                ("BEKASI".to_owned(), figs(5, 4, 1, 0, 0)),
                ("KARAWANG".to_owned(), figs(22, 17, 2, 1, 2)),
            ]
        );
    }

    #[test]
    fn posted_figures_replace_the_ticket_lines() {
        let f = Figures {
            outages: 1,
            new_tickets: 99,
            posted: Some(Posted {
                all: figs(40, 30, 6, 4, 2),
                zones: vec![("Karawang".into(), figs(15, 12, 2, 1, 1))],
            }),
            ..Figures::default()
        };
        let t = report_text(false, "03-12-2026", &f);
        assert!(
            t.contains("*Total tiket:* 40\n*Selesai:* 30\n*Dalam proses:* 6\n*Terbuka:* 4\n*Melewati SLA:* 2\n*Gangguan jaringan:* 1"),
            "{t}"
        );
        assert!(
            t.contains("_Per wilayah:_\n• Karawang: 12/15 selesai, 1 terbuka, 1 melewati SLA\n\n*Notifikasi terkirim:* 0"),
            "{t}"
        );
        assert!(!t.contains("Tiket baru"), "{t}");
    }

    #[test]
    fn ticket_statuses_are_read_in_both_languages() {
        assert_eq!(status_kind("Selesai"), Some(true));
        assert_eq!(status_kind("closed"), Some(true));
        assert_eq!(status_kind("on_progress"), Some(false));
        assert_eq!(status_kind("assigned"), None);
    }
}
