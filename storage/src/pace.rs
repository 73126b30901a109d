//! One pace per provider account for every instance sharing a PostgreSQL
//! database (SQLite has one process, which paces in memory).
//!
//! The row in `account_pace` is a GCRA ("generic cell rate algorithm")
//! clock: `tat` is the theoretical arrival time of the next send the rate
//! allows. A lease takes up to `want` sends at once and moves `tat` on by
//! one interval per send granted, in one statement whose arithmetic runs on
//! the locked row, so two instances never take the same sends. Leasing a few
//! at a time keeps this off the path of most sends; see the dispatcher's
//! `RateLimiter` for how long a lease may be kept.

use crate::error::Error;
use sqlx::PgPool;

/// An account's rate as GCRA's two numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Milliseconds between two sends at the steady rate.
    pub interval_ms: f64,
    /// How many sends may go out at once: one second's worth, at least one.
    pub burst: f64,
}

impl Rate {
    /// `None` for a limit of zero or less (the account is held).
    pub fn per_minute(limit: i64) -> Option<Rate> {
        (limit > 0).then(|| Rate {
            interval_ms: 60_000.0 / limit as f64,
            burst: (limit as f64 / 60.0).max(1.0),
        })
    }

    /// How far ahead of now `tat` may run: (burst − 1) intervals.
    fn tolerance_ms(&self) -> f64 {
        (self.burst - 1.0) * self.interval_ms
    }
}

/// What a lease got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lease {
    /// This many sends (at least one), now.
    Granted(u64),
    /// None: the next is free in this many milliseconds.
    Wait(u64),
}

/// Takes up to `want` sends of `account`'s pace at `rate`, for this instance.
pub async fn lease(pool: &PgPool, account: i64, rate: Rate, want: u64) -> Result<Lease, Error> {
    let want = want.max(1) as i64;
    // $2 interval, $3 tolerance, $4 want. `granted` is how many sends fit
    // between max(tat, now) and now + tolerance; a first lease starts
    // from an empty clock. The small epsilon keeps 9.999… from losing a send.
    let (granted, tat, at): (i64, f64, f64) = sqlx::query_as(
        "INSERT INTO account_pace AS p (account_id, tat, granted, at)
         SELECT $1, c.now + g.n * $2, g.n, c.now
         FROM (SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS now) c,
              (SELECT LEAST($4, floor($3 / $2 + 1e-9)::bigint + 1) AS n) g
         ON CONFLICT (account_id) DO UPDATE SET
             granted = LEAST($4, GREATEST(0,
                 floor((EXCLUDED.at + $3 - GREATEST(p.tat, EXCLUDED.at)) / $2 + 1e-9)::bigint + 1)),
             tat = GREATEST(p.tat, EXCLUDED.at) + $2 * LEAST($4, GREATEST(0,
                 floor((EXCLUDED.at + $3 - GREATEST(p.tat, EXCLUDED.at)) / $2 + 1e-9)::bigint + 1)),
             at = EXCLUDED.at
         RETURNING granted, tat, at",
    )
    .bind(account)
    .bind(rate.interval_ms)
    .bind(rate.tolerance_ms())
    .bind(want)
    .fetch_one(pool)
    .await?;
    Ok(if granted > 0 {
        Lease::Granted(granted as u64)
    } else {
        // Nothing granted: `tat` stood, more than the tolerance ahead.
        Lease::Wait((tat - rate.tolerance_ms() - at).ceil().max(1.0) as u64)
    })
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::db::testing::TestDb;
    use crate::db::Db;

    #[test]
    fn a_rate_is_an_interval_and_a_second_worth_of_burst() {
        let r = Rate::per_minute(600).unwrap();
        assert_eq!((r.interval_ms, r.burst), (100.0, 10.0));
        assert_eq!(r.tolerance_ms(), 900.0);
        // Slower than one a second: bursts of one.
        let slow = Rate::per_minute(20).unwrap();
        assert_eq!((slow.interval_ms, slow.burst), (3000.0, 1.0));
        assert_eq!(Rate::per_minute(0), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_share_one_burst_and_then_the_steady_rate() {
        let Some(t) = TestDb::postgres().await else {
            return;
        };
        let Db::Postgres(pool) = &t.db else {
            unreachable!()
        };
        let id = crate::db::testing::provider_account(&t.db, "fonnte").await;
        let rate = Rate::per_minute(300).unwrap(); // 5 a second, bursts of 5
        let start = std::time::Instant::now();
        let count = |l: &Lease| match l {
            Lease::Granted(n) => *n,
            Lease::Wait(_) => 0,
        };

        // Two instances asking at once get the one burst between them.
        let (a, b) = tokio::join!(lease(pool, id, rate, 3), lease(pool, id, rate, 3));
        let mut got = [a.unwrap(), b.unwrap()];
        got.sort_by_key(count);
        assert_eq!(got, [Lease::Granted(2), Lease::Granted(3)]);

        // The burst is spent: the next send is at most one interval away
        // (unless this machine took that long to ask).
        let next = lease(pool, id, rate, 1).await.unwrap();
        let wait = match next {
            Lease::Wait(ms) => {
                assert!(ms <= 200, "{ms}");
                ms
            }
            Lease::Granted(_) => {
                assert!(start.elapsed().as_millis() >= 200);
                0
            }
        };
        tokio::time::sleep(std::time::Duration::from_millis(wait + 5)).await;
        let last = lease(pool, id, rate, 50).await.unwrap();
        assert!(count(&last) >= 1, "{last:?}");
        // Never more than the burst and the steady rate since the start.
        let total = 5 + count(&next) + count(&last);
        let allowed = 5 + start.elapsed().as_millis() as u64 / 200;
        assert!(total <= allowed, "{total} sends granted, {allowed} allowed");
        t.close().await;
    }
}
