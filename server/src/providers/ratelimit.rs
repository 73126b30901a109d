//! Per-account send pacing. Gateways driving a linked phone get the number
//! banned when it sends too fast, so each account has a rate per minute, kept
//! here as a token bucket holding at most one second's worth of sends.
//!
//! The bucket lives in this process: with several instances on PostgreSQL each
//! paces itself, so an account's real rate is up to (instances × limit).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<i64, Bucket>>,
}

impl RateLimiter {
    /// Takes a token for `account` if one is free; otherwise how many
    /// milliseconds until one is.
    pub fn try_take(&self, account: i64, per_minute: i64, now: Instant) -> Result<(), u64> {
        if per_minute <= 0 {
            return Err(60_000); // a paused account
        }
        let rate_per_ms = per_minute as f64 / 60_000.0;
        let capacity = (per_minute as f64 / 60.0).max(1.0);
        let mut buckets = self.buckets.lock().expect("rate limiter poisoned");
        let b = buckets.entry(account).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64() * 1000.0;
        b.tokens = (b.tokens + elapsed * rate_per_ms).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate_per_ms).ceil() as u64)
        }
    }
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
}
