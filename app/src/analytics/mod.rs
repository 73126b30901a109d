//! Delivery statistics (manager, admin), read from daily rollups that a
//! background task keeps current (see `migrations/*/0004_analytics.sql`), so a
//! report costs the same over a thousand deliveries or a million.
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::analytics`, the SQL `storage::analytics`.

pub mod chart;
pub mod page;
#[cfg(feature = "ssr")]
use storage::analytics as store;

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::views::analytics::*;

/// `95` → `≤ 2 menit`-style text for a median bucket.
pub fn describe_seconds(s: i64) -> String {
    use crate::i18n::{fill, tr};
    let (n, unit) = match s {
        i64::MAX => return tr("lebih dari 7 hari", "over 7 days").into(),
        s if s < 60 => (s, tr("detik", "s")),
        s if s < 3_600 => (s / 60, tr("menit", "min")),
        s if s < 86_400 => (s / 3_600, tr("jam", "h")),
        s if s < 2 * 86_400 => (1, tr("hari", "day")),
        s => (s / 86_400, tr("hari", "days")),
    };
    fill("≤ {} {}", &[&n, &unit])
}

/// The report for WIB dates `from` ..= `to`; empty dates mean the last seven
/// days up to today.
#[server(endpoint = "analytics/report")]
pub async fn analytics_report(from: String, to: String) -> Result<Report, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Analytics)?;
    let today = store::day_of(crate::time::now_ms());
    let day = |field: &str, s: &str, default: i64| {
        if s.trim().is_empty() {
            return Ok(default);
        }
        crate::time::parse_wib_date(s)
            .map(|ms| (ms + 7 * 3_600_000) / 86_400_000)
            .ok_or_else(|| AppError::invalid(field, crate::time::invalid_date_message()))
    };
    let last = day("to", &to, today)?;
    let first = day("from", &from, last - 6)?;
    if last < first {
        return Err(AppError::invalid(
            "to",
            crate::time::end_before_start_message(),
        ));
    }
    if last - first >= MAX_RANGE_DAYS {
        return Err(AppError::invalid(
            "to",
            domain::Words::new(
                "rentang paling panjang 366 hari",
                "a range is at most 366 days",
            ),
        ));
    }
    Ok(store::report(&state.db, first, last).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_described_in_the_largest_whole_unit() {
        assert_eq!(describe_seconds(5), "≤ 5 detik");
        assert_eq!(describe_seconds(120), "≤ 2 menit");
        assert_eq!(describe_seconds(7_200), "≤ 2 jam");
        assert_eq!(describe_seconds(604_800), "≤ 7 hari");
        assert_eq!(describe_seconds(i64::MAX), "lebih dari 7 hari");
        let owner = leptos::prelude::Owner::new();
        owner.with(|| {
            crate::i18n::provide_locale(domain::Locale::En);
            assert_eq!(describe_seconds(5), "≤ 5 s");
            assert_eq!(describe_seconds(90_000), "≤ 1 day");
            assert_eq!(describe_seconds(604_800), "≤ 7 days");
        });
    }
}
