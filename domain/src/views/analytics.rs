//! Delivery statistics (manager, admin), read from daily rollups that a
//! background task keeps current (see `migrations/*/0004_analytics.sql`), so a
//! report costs the same over a thousand deliveries or a million.
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::analytics`, the page and server functions
//! `app::analytics`.

use crate::DeliveryStatus;
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
}
