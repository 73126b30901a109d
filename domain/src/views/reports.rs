//! Scheduled reports (daily summary, weekly report): the schedules as
//! admins and managers edit them on `/reports`. The server's
//! `reports` module fires them; `domain::schedule` says when and what they
//! say.
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::reports`, the page and server functions `app::reports`.

use crate::quiet::{format_hhmm, parse_hhmm, parse_time_zone};
use crate::schedule::{Cadence, Weekday, When};
use crate::words::FieldError;
use crate::Role;
use crate::Words;
use serde::{Deserialize, Serialize};

/// A schedule as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub id: i64,
    pub name: String,
    /// `None`: daily; `Some(0)` = Monday … `Some(6)` = Sunday.
    pub weekday: Option<u8>,
    /// Minutes after local midnight.
    pub minute_of_day: u16,
    pub time_zone: String,
    /// The WhatsApp group it goes to: (id, name).
    pub group: Option<(i64, String)>,
    /// Everyone active of this role gets it by email and in the app.
    pub email_role: Option<Role>,
    pub enabled: bool,
    /// The next run, in the schedule's zone (`07-12-2026 07:00 WIB`).
    pub next_run: Option<String>,
    pub last_run: Option<String>,
}

impl ScheduleView {
    pub fn when(&self) -> When {
        when_of(self.weekday, self.minute_of_day, &self.time_zone)
    }
}

/// A schedule's columns as the domain reads them: no weekday (or none
/// valid) is daily.
pub fn when_of(weekday: Option<u8>, minute_of_day: u16, time_zone: &str) -> When {
    When {
        cadence: match weekday.and_then(|d| Weekday::try_from(d).ok()) {
            Some(d) => Cadence::Weekly(d),
            None => Cadence::Daily,
        },
        minute_of_day,
        time_zone: time_zone.to_owned(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedules {
    pub list: Vec<ScheduleView>,
    /// WhatsApp groups a report may go to: (id, name).
    pub groups: Vec<(i64, String)>,
}

/// The schedule form (create when `id` is `None`), as its inputs hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleForm {
    pub id: Option<i64>,
    pub name: String,
    /// Empty: daily; "0" (Monday) … "6" (Sunday): weekly on that day.
    pub weekday: String,
    /// `HH:MM`.
    pub time: String,
    pub time_zone: String,
    pub group_id: Option<i64>,
    /// Empty: nobody by email.
    pub email_role: String,
    pub enabled: bool,
}

impl Default for ScheduleForm {
    fn default() -> Self {
        ScheduleForm {
            id: None,
            name: String::new(),
            weekday: String::new(),
            time: "07:00".into(),
            time_zone: "Asia/Jakarta".into(),
            group_id: None,
            email_role: Role::Manager.as_str().into(),
            enabled: true,
        }
    }
}

impl From<&ScheduleView> for ScheduleForm {
    fn from(s: &ScheduleView) -> Self {
        ScheduleForm {
            id: Some(s.id),
            name: s.name.clone(),
            weekday: s.weekday.map(|d| d.to_string()).unwrap_or_default(),
            time: format_hhmm(s.minute_of_day),
            time_zone: s.time_zone.clone(),
            group_id: s.group.as_ref().map(|g| g.0),
            email_role: s.email_role.map(|r| r.as_str().into()).unwrap_or_default(),
            enabled: s.enabled,
        }
    }
}

/// A form that passed [`ScheduleForm::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSchedule {
    pub id: Option<i64>,
    pub name: String,
    pub weekday: Option<u8>,
    pub minute_of_day: u16,
    pub time_zone: String,
    pub group_id: Option<i64>,
    pub email_role: Option<Role>,
    pub enabled: bool,
}

impl ValidSchedule {
    pub fn when(&self) -> When {
        when_of(self.weekday, self.minute_of_day, &self.time_zone)
    }

    /// The kind its event and messages carry.
    pub fn kind(&self) -> &'static str {
        if self.weekday.is_some() {
            "weekly_report"
        } else {
            "daily_summary"
        }
    }
}

impl ScheduleForm {
    /// Checked in the browser and again on the server (which also checks
    /// that the group exists and the name is free).
    pub fn validate(&self) -> Result<ValidSchedule, Vec<FieldError>> {
        let t = |id: &str, en: &str| Words::new(id, en);
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                t(
                    "Nama jadwal wajib diisi (paling panjang 100 karakter).",
                    "The schedule needs a name (at most 100 characters).",
                ),
            ));
        }
        let weekday = match self.weekday.trim() {
            "" => None,
            d => match d.parse::<u8>() {
                Ok(d) if d <= 6 => Some(d),
                _ => {
                    errors.push(FieldError::new(
                        "weekday",
                        t("Pilih hari dalam minggu.", "Choose a day of the week."),
                    ));
                    None
                }
            },
        };
        let minute_of_day = parse_hhmm(&self.time).unwrap_or_else(|e| {
            errors.push(FieldError::new("time", Words::of(|l| e.message(l))));
            0
        });
        let time_zone = self.time_zone.trim().to_owned();
        if parse_time_zone(&time_zone).is_none() {
            errors.push(FieldError::new(
                "time_zone",
                Words::of(|l| {
                    crate::quiet::QuietHoursError::UnknownTimeZone(time_zone.clone()).message(l)
                }),
            ));
        }
        let email_role = match self.email_role.as_str() {
            "" => None,
            r => match Role::parse(r) {
                Ok(r) => Some(r),
                Err(_) => {
                    errors.push(FieldError::new(
                        "email_role",
                        t("Pilih peran penerima.", "Choose the recipients' role."),
                    ));
                    None
                }
            },
        };
        if self.group_id.is_none() && self.email_role.is_empty() {
            // A report nobody receives would run for nothing.
            errors.push(FieldError::new(
                "audience",
                t(
                    "Pilih grup WhatsApp, peran penerima email, atau keduanya.",
                    "Choose a WhatsApp group, a role to email, or both.",
                ),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidSchedule {
            id: self.id,
            name,
            weekday,
            minute_of_day,
            time_zone,
            group_id: self.group_id,
            email_role,
            enabled: self.enabled,
        })
    }
}

/// What a schedule's next run would send, with the figures so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPreview {
    /// When it runs next, in its zone.
    pub next_run: String,
    /// The days it reports on.
    pub period: String,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_form_becomes_a_schedule_and_back() {
        let form = ScheduleForm {
            name: "  Laporan mingguan ".into(),
            weekday: "0".into(),
            time: "07:30".into(),
            group_id: Some(3),
            ..ScheduleForm::default()
        };
        let v = form.validate().unwrap();
        assert_eq!(v.name, "Laporan mingguan");
        assert_eq!(v.when().cadence, Cadence::Weekly(Weekday::Mon));
        assert_eq!(v.minute_of_day, 450);
        assert_eq!(v.kind(), "weekly_report");
        assert_eq!(v.email_role, Some(Role::Manager));
        let view = ScheduleView {
            id: 9,
            name: v.name.clone(),
            weekday: v.weekday,
            minute_of_day: v.minute_of_day,
            time_zone: v.time_zone.clone(),
            group: Some((3, "Manajemen".into())),
            email_role: v.email_role,
            enabled: true,
            next_run: None,
            last_run: None,
        };
        let again = ScheduleForm::from(&view);
        assert_eq!(again.id, Some(9));
        assert_eq!(again.validate().unwrap().when(), v.when());
        let daily = ScheduleForm {
            name: "x".into(),
            ..ScheduleForm::default()
        };
        assert_eq!(daily.validate().unwrap().kind(), "daily_summary");
    }

    #[test]
    fn each_problem_is_named() {
        let form = ScheduleForm {
            name: " ".into(),
            weekday: "7".into(),
            time: "7 pagi".into(),
            time_zone: "Asia/Bandung".into(),
            group_id: None,
            email_role: "".into(),
            ..ScheduleForm::default()
        };
        let errors = form.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "weekday", "time", "time_zone", "audience"]);
        assert_eq!(errors[3].message.en, "unknown time zone 'Asia/Bandung'");
        let bad_role = ScheduleForm {
            name: "x".into(),
            email_role: "boss".into(),
            ..ScheduleForm::default()
        };
        assert_eq!(bad_role.validate().unwrap_err()[0].field, "email_role");
    }
}
