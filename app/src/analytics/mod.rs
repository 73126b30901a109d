//! Delivery statistics (manager, admin), read from daily rollups that a
//! background task keeps current (see `migrations/*/0004_analytics.sql`), so a
//! report costs the same over a thousand deliveries or a million.

pub mod chart;
pub mod page;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use domain::DeliveryStatus;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Upper bounds (seconds) of the latency buckets; the last catches the rest.
pub const LATENCY_BUCKETS: &[i64] = &[
    1,
    2,
    5,
    10,
    20,
    30,
    60,
    120,
    300,
    600,
    1_200,
    1_800,
    3_600,
    7_200,
    21_600,
    43_200,
    86_400,
    604_800,
    i64::MAX,
];

/// The longest range one report covers.
pub const MAX_RANGE_DAYS: i64 = 366;

/// One count of the volume charts: `day` indexes [`Report::days`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub day: usize,
    pub key: String,
    pub deliveries: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Every day of the range (`2026-11-25`, WIB).
    pub days: Vec<String>,
    pub total: i64,
    pub by_status: Vec<(DeliveryStatus, i64)>,
    /// Sent (or better) out of those that finished one way or the other.
    pub success_rate: Option<f64>,
    /// Confirmed delivered or read out of those that finished.
    pub delivered_rate: Option<f64>,
    pub by_channel: Vec<Volume>,
    pub by_provider: Vec<Volume>,
    pub by_type: Vec<Volume>,
    pub failures: Vec<(String, i64)>,
    /// Median seconds from sent to delivered / to read (a bucket's upper bound).
    pub median_delivered_s: Option<i64>,
    pub median_read_s: Option<i64>,
    /// (month `2026-11`, provider, rupiah)
    pub cost: Vec<(String, String, i64)>,
    pub busiest_groups: Vec<(String, i64)>,
    /// Every account's tries by how they ended.
    pub tries: Vec<AccountTries>,
}

/// One provider account's tries in a report's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTries {
    /// `None`: an account deleted since.
    pub account: Option<String>,
    /// Per outcome, in `TryOutcome::ALL`'s order.
    pub counts: Vec<i64>,
}

/// The bucket holding the median of `(upper bound, count)` pairs sorted by
/// bound, or `None` with no counts.
pub fn median_bucket(buckets: &[(i64, i64)]) -> Option<i64> {
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let half = (total + 1) / 2;
    let mut seen = 0;
    for (bound, n) in buckets {
        seen += n;
        if seen >= half {
            return Some(*bound);
        }
    }
    None
}

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
    store::report(&state.db, first, last).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_bucket_is_where_half_the_counts_are_reached() {
        assert_eq!(median_bucket(&[]), None);
        assert_eq!(median_bucket(&[(1, 0), (2, 0)]), None);
        assert_eq!(median_bucket(&[(1, 1), (2, 1), (5, 1)]), Some(2));
        assert_eq!(median_bucket(&[(1, 10), (2, 1), (5, 1)]), Some(1));
        assert_eq!(median_bucket(&[(1, 1), (60, 1)]), Some(1));
        assert_eq!(median_bucket(&[(1, 1), (60, 2)]), Some(60));
    }

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
