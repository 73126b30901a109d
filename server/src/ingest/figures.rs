//! The ticket figures a ticketing system posts for one day, checked field by
//! field like an event (every problem at once, each named).

use super::request::{problem, FieldProblem};
use chrono::{Days, NaiveDate};
use domain::schedule::DayFigures;
use serde_json::Value;

/// A count above this is a mistake, not an ISP's day.
pub const MAX_COUNT: i64 = 10_000_000;

pub const FIELDS: &[&str] = &[
    "date",
    "work_zone",
    "total",
    "completed",
    "in_progress",
    "open",
    "sla_breached",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedDay {
    pub date: NaiveDate,
    /// A work zone code; `None`: the whole operator.
    pub work_zone: Option<String>,
    pub figures: DayFigures,
}

/// Checks a body. `today` is the operator's local date: a day after
/// tomorrow has not happened anywhere in Indonesia yet.
pub fn parse(body: &Value, today: NaiveDate) -> Result<PostedDay, Vec<FieldProblem>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![problem("body", "must be a JSON object")]);
    };
    let mut errors = Vec::new();
    super::request::unknown_fields(obj, "", FIELDS, &mut errors);
    let latest = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let date = match obj.get("date") {
        Some(Value::String(s)) => match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            Ok(d) if d > latest => {
                errors.push(problem("date", format!("{d} is in the future")));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(problem("date", "must be a real date as YYYY-MM-DD"));
                None
            }
        },
        None => {
            errors.push(problem("date", "is required"));
            None
        }
        Some(_) => {
            errors.push(problem("date", "must be a string (YYYY-MM-DD)"));
            None
        }
    };
    let work_zone = super::request::work_zone(obj.get("work_zone"), &mut errors);
    let mut count = |field: &str| match obj.get(field) {
        Some(v) => match v.as_i64() {
            Some(n) if (0..=MAX_COUNT).contains(&n) => n,
            _ => {
                errors.push(problem(
                    field,
                    format!("must be a whole number from 0 to {MAX_COUNT}"),
                ));
                0
            }
        },
        None => {
            errors.push(problem(field, "is required"));
            0
        }
    };
    let figures = DayFigures {
        total: count("total"),
        completed: count("completed"),
        in_progress: count("in_progress"),
        open: count("open"),
        sla_breached: count("sla_breached"),
    };
    for (field, n) in [
        ("completed", figures.completed),
        ("sla_breached", figures.sla_breached),
    ] {
        if n > figures.total {
            errors.push(problem(field, "cannot be more than total"));
        }
    }
    match date {
        Some(date) if errors.is_empty() => Ok(PostedDay {
            date,
            work_zone,
            figures,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
    }

    #[test]
    fn a_day_of_one_zone_is_read() {
        let body = json!({"date": "2026-12-03", "work_zone": " Karawang ", "total": 15,
                          "completed": 12, "in_progress": 2, "open": 1, "sla_breached": 1});
        let p = parse(&body, today()).unwrap();
        assert_eq!(p.date, NaiveDate::from_ymd_opt(2026, 12, 3).unwrap());
        assert_eq!(p.work_zone.as_deref(), Some("karawang"));
        assert_eq!(
            p.figures,
            DayFigures {
                total: 15,
                completed: 12,
                in_progress: 2,
                open: 1,
                sla_breached: 1
            }
        );
        let all = json!({"date": "2026-12-05", "total": 0, "completed": 0, "in_progress": 0,
                         "open": 0, "sla_breached": 0});
        assert_eq!(parse(&all, today()).unwrap().work_zone, None);
    }

    #[test]
    fn every_problem_is_named() {
        let body = json!({"date": "2026-02-30", "work_zone": 4, "total": 3, "completed": -1,
                          "in_progress": 1.5, "sla_breached": 4, "zone": "x"});
        let errors = parse(&body, today()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "zone",
                "date",
                "work_zone",
                "completed",
                "in_progress",
                "open",
                "sla_breached"
            ]
        );
        assert_eq!(errors[6].message, "cannot be more than total");
        let future = json!({"date": "2026-12-06", "total": 0, "completed": 0, "in_progress": 0,
                            "open": 0, "sla_breached": 0});
        assert_eq!(
            parse(&future, today()).unwrap_err()[0].message,
            "2026-12-06 is in the future"
        );
        assert_eq!(parse(&json!([1]), today()).unwrap_err()[0].field, "body");
    }
}
