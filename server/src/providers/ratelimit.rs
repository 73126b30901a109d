//! Per-account send pacing. Gateways driving a linked phone get the number
//! banned when it sends too fast, so each account has a rate per minute that
//! holds however many instances send: a token bucket holding at most one
//! second's worth of sends.
//!
//! On SQLite the one process keeps the bucket in memory. On PostgreSQL the
//! instances share it in the database ([`storage::pace`]): an instance leases
//! at most a quarter of a second's worth at a time and keeps what it does not
//! use at once for no longer than a quarter second (or those sends' share of
//! the rate, if longer), so the cluster never runs ahead of the limit by more
//! than a quarter second's worth. It leases about what it used of its last
//! lease, twice that when it used it all ([`lease_size`]): a leased send
//! counts against the pace whether it is used or not, so leasing a quarter
//! second of a fast account's rate for a few sends would let two instances
//! use up the shared pace between them and hold each other back far below
//! the limit (seen in the load test: a third of the throughput, most sends
//! postponed and claimed again).

use domain::AccountId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::db::Db;
use storage::pace::{self, Rate};

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<i64, Bucket>>,
    /// Accounts a gateway told to wait, until when (ms since the epoch):
    /// held here at once, and in the database for the other instances.
    paused: Mutex<HashMap<i64, i64>>,
    /// Sends leased from the shared pace and not used yet (PostgreSQL).
    leases: Mutex<HashMap<i64, Leased>>,
    /// One lease at a time per account: the attempts that find none wait
    /// for it instead of each asking the database.
    leasing: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

/// What this instance holds of an account's shared pace, at the rate
/// (per minute) it was leased at: a changed limit asks again.
#[derive(Debug)]
enum Leased {
    /// Sends left, usable until then, of how many granted.
    Sends(i64, u64, Instant, u64),
    /// None: the pace's next send is free then.
    Wait(i64, Instant),
}

/// The pause after a "too many requests" that names no wait.
pub const DEFAULT_PAUSE_MS: i64 = 30_000;

impl RateLimiter {
    /// Holds `account` until `until_ms`.
    pub fn pause(&self, account: AccountId, until_ms: i64) {
        let account = account.0;
        let mut paused = self.paused.lock().expect("rate limiter poisoned");
        let until = paused.entry(account).or_insert(until_ms);
        *until = (*until).max(until_ms);
    }

    /// How many milliseconds `account` is still held at `now_ms`, by this
    /// instance's pause or by `stored` (another instance's, as loaded).
    pub fn paused_for(&self, account: AccountId, stored: Option<i64>, now_ms: i64) -> Option<u64> {
        let account = account.0;
        let here = self
            .paused
            .lock()
            .expect("rate limiter poisoned")
            .get(&account)
            .copied();
        let until = here.max(stored)?;
        (until > now_ms).then(|| (until - now_ms) as u64)
    }

    /// Takes a send of `account`'s pace if one is free; otherwise how many
    /// milliseconds until one is. Shared by all instances on PostgreSQL.
    pub async fn take(&self, db: &Db, account: AccountId, per_minute: i64) -> Result<(), u64> {
        let account = account.0;
        match db {
            Db::Sqlite(..) => self.try_take(account, per_minute, Instant::now()),
            Db::Postgres(pool) => {
                let Some(rate) = Rate::per_minute(per_minute) else {
                    return Err(60_000); // a paused account
                };
                if let Some(held) = self.held(account, per_minute) {
                    return held;
                }
                let turn = self
                    .leasing
                    .lock()
                    .expect("rate limiter poisoned")
                    .entry(account)
                    .or_default()
                    .clone();
                let _turn = turn.lock().await;
                // Another attempt may have leased while this one waited.
                if let Some(held) = self.held(account, per_minute) {
                    return held;
                }
                let want = {
                    let leases = self.leases.lock().expect("rate limiter poisoned");
                    lease_size(leases.get(&account), rate)
                };
                let now = Instant::now();
                let (leased, taken) = match pace::lease(pool, account, rate, want).await {
                    // One for this send; the rest kept for a while.
                    Ok(pace::Lease::Granted(n)) => (
                        Leased::Sends(per_minute, n - 1, now + keep_for(n, rate), n),
                        Ok(()),
                    ),
                    Ok(pace::Lease::Wait(ms)) => (
                        Leased::Wait(per_minute, now + Duration::from_millis(ms)),
                        Err(ms),
                    ),
                    Err(e) => {
                        tracing::warn!(account, "send pace not leased: {e}");
                        return Err(1000);
                    }
                };
                self.leases
                    .lock()
                    .expect("rate limiter poisoned")
                    .insert(account, leased);
                taken
            }
        }
    }

    /// What this instance's lease says about a send now: taken, a wait, or
    /// `None` when it holds nothing that answers (ask the database).
    fn held(&self, account: i64, per_minute: i64) -> Option<Result<(), u64>> {
        let now = Instant::now();
        let mut leases = self.leases.lock().expect("rate limiter poisoned");
        match leases.get_mut(&account)? {
            Leased::Sends(rate, left, until, _)
                if *rate == per_minute && *left > 0 && *until > now =>
            {
                *left -= 1;
                Some(Ok(()))
            }
            Leased::Wait(rate, until) if *rate == per_minute && *until > now => {
                Some(Err(until.duration_since(now).as_millis().max(1) as u64))
            }
            _ => None,
        }
    }

    /// Takes a token for `account` if one is free; otherwise how many
    /// milliseconds until one is (this process's own bucket).
    pub fn try_take(&self, account: i64, per_minute: i64, now: Instant) -> Result<(), u64> {
        // The same rate and burst as the shared pace's.
        let Some(Rate {
            interval_ms,
            burst: capacity,
        }) = Rate::per_minute(per_minute)
        else {
            return Err(60_000); // a paused account
        };
        let mut buckets = self.buckets.lock().expect("rate limiter poisoned");
        let b = buckets.entry(account).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64() * 1000.0;
        b.tokens = (b.tokens + elapsed / interval_ms).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) * interval_ms).ceil() as u64)
        }
    }
}

/// The most one lease takes: a quarter second's worth of the rate, so a
/// busy account asks the database about four times a second per instance.
fn lease_cap(rate: Rate) -> u64 {
    (rate.burst / 4.0).ceil() as u64
}

/// How many sends to lease after `previous`: twice what was used of it (it
/// ran out or lapsed with that many used), between one and [`lease_cap`];
/// a first lease, or one after a wait, asks for a few.
fn lease_size(previous: Option<&Leased>, rate: Rate) -> u64 {
    let want = match previous {
        Some(Leased::Sends(_, left, _, granted)) => 2 * (granted - left),
        _ => FIRST_LEASE,
    };
    want.clamp(1, lease_cap(rate))
}

/// Sends asked for when there is no lease to go by.
const FIRST_LEASE: u64 = 16;

/// How long `n` leased sends may be kept: a quarter second, or their share
/// of the rate if that is longer (an account of 60 a minute keeps its one
/// send a second). At most a quarter second's worth is leased, so sends
/// kept that long put the cluster no further ahead of the limit.
fn keep_for(n: u64, rate: Rate) -> Duration {
    let share = Duration::from_secs_f64(n as f64 * rate.interval_ms / 1000.0);
    share.max(Duration::from_millis(250))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_account_sends_at_most_its_rate() {
        let rl = RateLimiter::default();
        let t0 = Instant::now();
        // 60 per minute: a burst of one, then one per second.
        assert_eq!(rl.try_take(1, 60, t0), Ok(()));
        let wait = rl.try_take(1, 60, t0).unwrap_err();
        assert!((990..=1000).contains(&wait), "{wait}");
        assert_eq!(rl.try_take(1, 60, t0 + Duration::from_millis(1000)), Ok(()));
        // Another account has its own bucket.
        assert_eq!(rl.try_take(2, 60, t0), Ok(()));
    }

    #[test]
    fn a_pause_holds_an_account_until_its_time_and_the_later_one_wins() {
        let rl = RateLimiter::default();
        assert_eq!(rl.paused_for(AccountId(1), None, 1_000), None);
        rl.pause(AccountId(1), 61_000);
        rl.pause(AccountId(1), 5_000); // an earlier end does not shorten it
        assert_eq!(rl.paused_for(AccountId(1), None, 1_000), Some(60_000));
        assert_eq!(rl.paused_for(AccountId(1), None, 61_000), None);
        // Another instance's pause, as stored, holds it here too.
        assert_eq!(rl.paused_for(AccountId(2), Some(3_000), 1_000), Some(2_000));
        assert_eq!(
            rl.paused_for(AccountId(1), Some(90_000), 1_000),
            Some(89_000)
        );
    }

    #[test]
    fn the_burst_is_one_seconds_worth() {
        let rl = RateLimiter::default();
        let t0 = Instant::now();
        let granted = (0..200)
            .filter(|_| rl.try_take(1, 6000, t0).is_ok())
            .count();
        assert_eq!(granted, 100);
        assert!(
            rl.try_take(1, 0, t0).is_err(),
            "a zero limit pauses the account"
        );
    }

    #[test]
    fn a_lease_asks_for_about_what_the_last_one_used() {
        // 6,000,000 a minute: 100,000 a second, a quarter second's 25,000.
        let rate = Rate::per_minute(6_000_000).unwrap();
        let t = Instant::now();
        assert_eq!(lease_size(None, rate), 16);
        // 30 of 1,000 used before it lapsed: 60 next time.
        let lapsed = Leased::Sends(6_000_000, 970, t, 1_000);
        assert_eq!(lease_size(Some(&lapsed), rate), 60);
        // All used: twice as many, up to the quarter second's worth.
        let spent = Leased::Sends(6_000_000, 0, t, 400);
        assert_eq!(lease_size(Some(&spent), rate), 800);
        let big = Leased::Sends(6_000_000, 0, t, 20_000);
        assert_eq!(lease_size(Some(&big), rate), 25_000);
        // None used: one.
        let idle = Leased::Sends(6_000_000, 16, t, 16);
        assert_eq!(lease_size(Some(&idle), rate), 1);
        // After a wait the account is at its limit: a few, as at first.
        let waited = Leased::Wait(6_000_000, t);
        assert_eq!(lease_size(Some(&waited), rate), 16);
        // A slow account never leases more than its quarter second's one.
        let slow = Rate::per_minute(60).unwrap();
        assert_eq!(lease_size(Some(&spent), slow), 1);
    }

    #[test]
    fn leased_sends_are_kept_a_quarter_second_or_their_share_of_the_rate() {
        let fast = Rate::per_minute(6_000_000).unwrap();
        assert_eq!(keep_for(100, fast), Duration::from_millis(250));
        assert_eq!(keep_for(25_000, fast), Duration::from_millis(250));
        let slow = Rate::per_minute(60).unwrap();
        assert_eq!(keep_for(1, slow), Duration::from_secs(1));
    }
}
