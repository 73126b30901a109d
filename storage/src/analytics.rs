//! SQL for the analytics rollups: recomputing days from the delivery log, and
//! reading reports from the rollups.

use crate::db::Db;
use crate::error::internal;
use crate::Error;
use crate::{in_tx, on_db};
use domain::views::analytics::{median_bucket, AccountTries, Report, Volume, LATENCY_BUCKETS};
use domain::{DeliveryStatus, TryOutcome};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
const WIB_MS: i64 = 7 * 3_600_000;

/// The WIB day number of an instant.
pub fn day_of(ms: i64) -> i64 {
    (ms + WIB_MS).div_euclid(DAY_MS)
}

/// The first instant of WIB day `day`.
pub fn day_start(day: i64) -> i64 {
    day * DAY_MS - WIB_MS
}

/// Where retention cuts when it keeps `days` days before today: the start
/// of a WIB day, so no day is left half pruned (the start-up refresh of
/// the rollups begins at the oldest day still in the log, and must find it
/// whole; the older days' rollups are kept as they are).
pub fn retention_cutoff(now: i64, days: i64) -> i64 {
    day_start(day_of(now) - days)
}

/// `CASE WHEN ms <= 1000 THEN 1 … END`: the latency bucket of `expr` (ms).
fn bucket_case(expr: &str) -> String {
    let mut sql = String::from("CASE");
    for b in LATENCY_BUCKETS.iter().take(LATENCY_BUCKETS.len() - 1) {
        sql.push_str(&format!(" WHEN {expr} <= {} THEN {b}", b * 1000));
    }
    sql.push_str(&format!(" ELSE {} END", i64::MAX));
    sql
}

/// Recomputes the rollups of one WIB day from the log. The aggregates are
/// read first, outside any write transaction (the log scan is the slow part);
/// only the few resulting rows are written, so the dispatcher's writers are
/// held up for a moment, not for the scan.
///
/// Returns a fingerprint of the figures: equal fingerprints, equal figures,
/// so the pages are told to reload only when something moved.
pub async fn refresh_day(db: &Db, day: i64) -> Result<u64, Error> {
    let (start, end) = (day * DAY_MS - WIB_MS, (day + 1) * DAY_MS - WIB_MS);
    let latency_sql = format!(
        "SELECT 'delivered', b, COUNT(*) FROM
             (SELECT {} AS b FROM deliveries
              WHERE created_at >= $1 AND created_at < $2 AND delivered_at IS NOT NULL AND sent_at IS NOT NULL) x
         GROUP BY b
         UNION ALL
         SELECT 'read', b, COUNT(*) FROM
             (SELECT {} AS b FROM deliveries
              WHERE created_at >= $1 AND created_at < $2 AND read_at IS NOT NULL AND sent_at IS NOT NULL) y
         GROUP BY b",
        bucket_case("(delivered_at - sent_at)"),
        bucket_case("(read_at - sent_at)")
    );
    type Stat = (String, String, String, String, i64, i64);
    type Aggregates = (
        Vec<Stat>,
        Vec<(String, i64, i64)>,
        Vec<(i64, i64)>,
        Vec<(String, i64)>,
        Vec<(i64, String, i64)>,
    );
    let (stats, latency, groups, failures, tries): Aggregates = on_db!(db, |pool| {
        let stats = sqlx::query_as(
            "SELECT channel, COALESCE(provider, ''), notification_type, status, COUNT(*),
                    CAST(COALESCE(SUM(cost_rupiah), 0) AS BIGINT)
             FROM deliveries WHERE created_at >= $1 AND created_at < $2
             GROUP BY channel, COALESCE(provider, ''), notification_type, status",
        )
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
        let latency = sqlx::query_as(sqlx::AssertSqlSafe(latency_sql.clone()))
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?;
        let groups = sqlx::query_as(
            "SELECT group_id, COUNT(*) FROM deliveries
             WHERE group_id IS NOT NULL AND created_at >= $1 AND created_at < $2
             GROUP BY group_id",
        )
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
        let failures = sqlx::query_as(
            "SELECT COALESCE(error, ''), COUNT(*) FROM deliveries
             WHERE status = 'failed' AND created_at >= $1 AND created_at < $2
             GROUP BY COALESCE(error, '')",
        )
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
        let tries = sqlx::query_as(
            "SELECT COALESCE(t.account_id, 0), t.outcome, COUNT(*) FROM delivery_tries t
             JOIN deliveries d ON d.id = t.delivery_id
             WHERE d.created_at >= $1 AND d.created_at < $2
             GROUP BY COALESCE(t.account_id, 0), t.outcome",
        )
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await?;
        (stats, latency, groups, failures, tries)
    });
    let fingerprint = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (day, &stats, &latency, &groups, &failures, &tries).hash(&mut h);
        h.finish()
    };
    in_tx!(db, |tx| {
        for table in [
            "delivery_stats_daily",
            "delivery_latency_daily",
            "group_stats_daily",
            "failure_stats_daily",
            "try_stats_daily",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE day = $1"
            )))
            .bind(day)
            .execute(&mut *tx)
            .await?;
        }
        for (channel, provider, kind, status, n, cost) in &stats {
            sqlx::query(
                "INSERT INTO delivery_stats_daily (day, channel, provider, notification_type, status, deliveries, cost_rupiah)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(day)
            .bind(channel)
            .bind(provider)
            .bind(kind)
            .bind(status)
            .bind(n)
            .bind(cost)
            .execute(&mut *tx)
            .await?;
        }
        for (kind, bucket, n) in &latency {
            sqlx::query(
                "INSERT INTO delivery_latency_daily (day, kind, bucket_seconds, deliveries) VALUES ($1, $2, $3, $4)",
            )
            .bind(day)
            .bind(kind)
            .bind(bucket)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
        for (group, n) in &groups {
            sqlx::query(
                "INSERT INTO group_stats_daily (day, group_id, deliveries) VALUES ($1, $2, $3)",
            )
            .bind(day)
            .bind(group)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
        for (reason, n) in &failures {
            sqlx::query(
                "INSERT INTO failure_stats_daily (day, reason, deliveries) VALUES ($1, $2, $3)",
            )
            .bind(day)
            .bind(reason)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
        for (account, outcome, n) in &tries {
            sqlx::query(
                "INSERT INTO try_stats_daily (day, account_id, outcome, tries) VALUES ($1, $2, $3, $4)",
            )
            .bind(day)
            .bind(account)
            .bind(outcome)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
    });
    Ok(fingerprint)
}

/// Recomputes every day from `first` to `last`, one transaction per day so
/// the dispatcher's writes are never held up for long. Returns the days'
/// combined fingerprint (see [`refresh_day`]).
pub async fn refresh_days(db: &Db, first: i64, last: i64) -> Result<u64, Error> {
    let mut combined = 0u64;
    for day in first..=last {
        combined = combined.rotate_left(17) ^ refresh_day(db, day).await?;
    }
    Ok(combined)
}

/// Every day the log holds (at start: the rollups may be missing or stale).
pub async fn refresh_all(db: &Db, now: i64) -> Result<(), Error> {
    let oldest: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT MIN(created_at) FROM deliveries"
    )
    .fetch_one(pool)
    .await?);
    match oldest {
        Some(oldest) => refresh_days(db, day_of(oldest), day_of(now))
            .await
            .map(drop),
        None => Ok(()),
    }
}

/// Sums the rollups of days `first ..= last`.
pub async fn report(db: &Db, first: i64, last: i64) -> Result<Report, Error> {
    type StatRow = (i64, String, String, String, String, i64, i64);
    type Rollups = (
        Vec<StatRow>,
        Vec<(String, i64, i64)>,
        Vec<(String, i64)>,
        Vec<(String, i64)>,
        Vec<(Option<String>, String, i64)>,
    );
    let (stats, latency, groups, failures, tries): Rollups = on_db!(db, |pool| {
        let stats = sqlx::query_as(
            "SELECT day, channel, provider, notification_type, status, deliveries, cost_rupiah
             FROM delivery_stats_daily WHERE day >= $1 AND day <= $2",
        )
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await?;
        let latency = sqlx::query_as(
            "SELECT kind, bucket_seconds, CAST(SUM(deliveries) AS BIGINT) FROM delivery_latency_daily
             WHERE day >= $1 AND day <= $2 GROUP BY kind, bucket_seconds ORDER BY kind, bucket_seconds",
        )
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await?;
        let groups = sqlx::query_as(
            "SELECT g.name, CAST(SUM(s.deliveries) AS BIGINT) AS n FROM group_stats_daily s
             JOIN whatsapp_groups g ON g.id = s.group_id
             WHERE s.day >= $1 AND s.day <= $2 GROUP BY g.name ORDER BY n DESC, g.name LIMIT 10",
        )
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await?;
        let failures = sqlx::query_as(
            "SELECT reason, CAST(SUM(deliveries) AS BIGINT) AS n FROM failure_stats_daily
             WHERE day >= $1 AND day <= $2 GROUP BY reason ORDER BY n DESC, reason LIMIT 10",
        )
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await?;
        let tries = sqlx::query_as(
            "SELECT a.name, s.outcome, CAST(SUM(s.tries) AS BIGINT) FROM try_stats_daily s
             LEFT JOIN provider_accounts a ON a.id = s.account_id
             WHERE s.day >= $1 AND s.day <= $2 GROUP BY a.name, s.outcome ORDER BY a.name, s.outcome",
        )
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await?;
        (stats, latency, groups, failures, tries)
    });

    let days: Vec<String> = (first..=last)
        .map(|d| domain::time::wib_date(d * DAY_MS))
        .collect();
    let mut by_status: BTreeMap<DeliveryStatus, i64> = BTreeMap::new();
    let mut channel: BTreeMap<(usize, String), i64> = BTreeMap::new();
    let mut provider: BTreeMap<(usize, String), i64> = BTreeMap::new();
    let mut kind: BTreeMap<(usize, String), i64> = BTreeMap::new();
    let mut cost: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut total = 0;
    for (day, ch, prov, t, status, n, rupiah) in stats {
        let status =
            DeliveryStatus::parse(&status).map_err(|e| internal("delivery_stats_daily", &e))?;
        let i = (day - first) as usize;
        total += n;
        *by_status.entry(status).or_default() += n;
        *channel.entry((i, ch)).or_default() += n;
        let prov = if prov.is_empty() {
            "—".to_owned()
        } else {
            prov
        };
        *provider.entry((i, prov.clone())).or_default() += n;
        *kind.entry((i, t)).or_default() += n;
        if rupiah != 0 {
            *cost.entry((days[i][..7].to_owned(), prov)).or_default() += rupiah;
        }
    }
    let volumes = |m: BTreeMap<(usize, String), i64>| {
        m.into_iter()
            .map(|((day, key), deliveries)| Volume {
                day,
                key,
                deliveries,
            })
            .collect::<Vec<_>>()
    };
    let count = |s: &[DeliveryStatus]| {
        s.iter()
            .map(|s| by_status.get(s).copied().unwrap_or(0))
            .sum::<i64>()
    };
    let failed = count(&[DeliveryStatus::Failed]);
    let confirmed = count(&[DeliveryStatus::Delivered, DeliveryStatus::Read]);
    let sent = count(&[DeliveryStatus::Sent]) + confirmed;
    let finished = sent + failed;
    let rate = |n: i64| (finished > 0).then(|| n as f64 / finished as f64);
    let median = |which: &str| {
        let b: Vec<(i64, i64)> = latency
            .iter()
            .filter(|(k, _, _)| k == which)
            .map(|(_, b, n)| (*b, *n))
            .collect();
        median_bucket(&b)
    };
    Ok(Report {
        success_rate: rate(sent),
        delivered_rate: rate(confirmed),
        median_delivered_s: median("delivered"),
        median_read_s: median("read"),
        by_status: by_status.into_iter().collect(),
        by_channel: volumes(channel),
        by_provider: volumes(provider),
        by_type: volumes(kind),
        failures: failures
            .into_iter()
            .map(|(r, n)| {
                (
                    if r.is_empty() {
                        "(tanpa keterangan)".into()
                    } else {
                        r
                    },
                    n,
                )
            })
            .collect(),
        cost: cost.into_iter().map(|((m, p), r)| (m, p, r)).collect(),
        tries: tries_by_account(tries)?,
        busiest_groups: groups,
        days,
        total,
    })
}

/// The tries rollup as one row per account (`None`: deleted since), counts
/// in [`TryOutcome::ALL`]'s order.
fn tries_by_account(rows: Vec<(Option<String>, String, i64)>) -> Result<Vec<AccountTries>, Error> {
    let mut by: BTreeMap<Option<String>, Vec<i64>> = BTreeMap::new();
    for (account, outcome, n) in rows {
        let outcome = TryOutcome::parse(&outcome).map_err(|e| internal("try_stats_daily", &e))?;
        let i = TryOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(0);
        by.entry(account)
            .or_insert_with(|| vec![0; TryOutcome::ALL.len()])[i] += n;
    }
    Ok(by
        .into_iter()
        .map(|(account, counts)| AccountTries { account, counts })
        .collect())
}
