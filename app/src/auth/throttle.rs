//! Sign-in back-off and the Argon2 bound.
//!
//! Every sign-in attempt runs Argon2 (19 MiB, tens of milliseconds), so
//! unthrottled it is both a password-guessing oracle and a way to exhaust
//! the server's memory. Failures are counted per account and per client
//! address; past a few, further attempts are refused before any hashing
//! with 429 and `Retry-After`, for a time that doubles with each failure.
//! The hashing itself runs at most [`hashing_slots`] at a time.
//!
//! The counts live in this process: with several instances each counts its
//! own (an attacker spreading attempts over N instances gets N times the
//! tries, still bounded).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};

/// The client's address as the socket gave it, put into each request's
/// extensions by the server's accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address of the request being served (a server function's).
    pub fn of_request() -> Option<IpAddr> {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<ClientAddr>().copied())
            .map(|c| c.0)
    }
}

/// Failures counted within this window; an older first failure starts a
/// new count.
const WINDOW_MS: i64 = 15 * 60_000;
/// Failures allowed per account within the window before back-off.
pub const ACCOUNT_FREE: u32 = 5;
/// Failures allowed per client address (one office may share an address).
pub const CLIENT_FREE: u32 = 20;
/// The first back-off; each further failure doubles it up to [`MAX_LOCK_MS`].
const FIRST_LOCK_MS: i64 = 30_000;
const MAX_LOCK_MS: i64 = 15 * 60_000;
/// Entries kept at most; expired ones are dropped when it is reached.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    first_at: i64,
    locked_until: i64,
}

/// Failed sign-ins per account and per client.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Throttle {
    /// The process's one throttle.
    pub fn global() -> &'static Throttle {
        static T: OnceLock<Throttle> = OnceLock::new();
        T.get_or_init(Throttle::default)
    }

    /// `Err(seconds to wait)` while `email` or `client` is held back.
    pub fn check(&self, email: &str, client: Option<IpAddr>, now: i64) -> Result<(), u64> {
        let entries = self.entries.lock().expect("throttle poisoned");
        let until = keys(email, client)
            .filter_map(|k| entries.get(&k))
            .map(|e| e.locked_until)
            .max()
            .unwrap_or(0);
        if until > now {
            Err(((until - now) as u64).div_ceil(1000))
        } else {
            Ok(())
        }
    }

    /// Counts a failed attempt; past the free ones, holds the account or
    /// the client back.
    pub fn failed(&self, email: &str, client: Option<IpAddr>, now: i64) {
        let mut entries = self.entries.lock().expect("throttle poisoned");
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.locked_until > now || now - e.first_at < WINDOW_MS);
        }
        for key in keys(email, client) {
            let free = match key {
                Key::Account(_) => ACCOUNT_FREE,
                Key::Client(_) => CLIENT_FREE,
            };
            let e = entries.entry(key).or_insert(Entry {
                failures: 0,
                first_at: now,
                locked_until: 0,
            });
            if now - e.first_at >= WINDOW_MS && e.locked_until <= now {
                *e = Entry {
                    failures: 0,
                    first_at: now,
                    locked_until: 0,
                };
            }
            e.failures += 1;
            if e.failures >= free {
                let doublings = (e.failures - free).min(10);
                let lock = (FIRST_LOCK_MS << doublings).min(MAX_LOCK_MS);
                e.locked_until = now + lock;
            }
        }
    }

    /// A right password clears the account's count (not the client's: one
    /// valid account must not launder guesses at others).
    pub fn succeeded(&self, email: &str) {
        self.entries
            .lock()
            .expect("throttle poisoned")
            .remove(&Key::Account(normalise(email)));
    }
}

fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

fn keys(email: &str, client: Option<IpAddr>) -> impl Iterator<Item = Key> {
    std::iter::once(Key::Account(normalise(email))).chain(client.map(Key::Client))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7)));

    #[test]
    fn an_account_is_held_back_after_its_free_failures_for_a_doubling_time() {
        let t = Throttle::default();
        for i in 0..ACCOUNT_FREE - 1 {
            t.failed("Budi@Demo.id", IP, i as i64);
            assert_eq!(t.check("budi@demo.id", IP, i as i64), Ok(()));
        }
        t.failed("budi@demo.id", IP, 10);
        assert_eq!(t.check("budi@demo.id", None, 10), Err(30));
        // Another account from elsewhere is not affected.
        assert_eq!(t.check("sari@demo.id", None, 10), Ok(()));
        // After the wait one more try; failing doubles the wait.
        assert_eq!(t.check("budi@demo.id", None, 30_010), Ok(()));
        t.failed("budi@demo.id", None, 30_010);
        assert_eq!(t.check("budi@demo.id", None, 30_010), Err(60));
        // A right password clears the account.
        t.succeeded("budi@demo.id");
        assert_eq!(t.check("budi@demo.id", None, 30_011), Ok(()));
    }

    #[test]
    fn a_client_guessing_many_accounts_is_held_back() {
        let t = Throttle::default();
        for i in 0..CLIENT_FREE {
            t.failed(&format!("user{i}@demo.id"), IP, 1);
        }
        assert_eq!(t.check("someone@demo.id", IP, 2), Err(30));
        assert_eq!(t.check("someone@demo.id", None, 2), Ok(()));
    }

    #[test]
    fn failures_older_than_the_window_start_a_new_count() {
        let t = Throttle::default();
        for _ in 0..ACCOUNT_FREE - 1 {
            t.failed("budi@demo.id", None, 0);
        }
        t.failed("budi@demo.id", None, WINDOW_MS + 1);
        assert_eq!(t.check("budi@demo.id", None, WINDOW_MS + 1), Ok(()));
    }

    #[test]
    fn the_wait_is_capped() {
        let t = Throttle::default();
        for _ in 0..40 {
            t.failed("budi@demo.id", None, 0);
        }
        assert_eq!(
            t.check("budi@demo.id", None, 0),
            Err(MAX_LOCK_MS as u64 / 1000)
        );
    }
}
