//! Load generator: starts the server in this process on a fresh database,
//! wired to a fake Fonnte on loopback, ingests events over HTTP and reports
//! events/s, deliveries/s and the latency from posting an event to the
//! provider receiving its message.
//!
//!   cargo run --release -p tools --bin loadtest -- [--events N] [--fanout F]
//!       [--rate R] [--concurrency C] [--database URL] [--pool N] [--email]
//!       [--bare] [--instances N]
//!
//! `--bare` (PostgreSQL only) runs the same load against the bare pipeline
//! of [`bare`] instead of the product: the yardstick of issue #26.
//! `--instances 2` (PostgreSQL only) starts two servers, each with its own
//! pool, ingestion writer and dispatcher, on the one database, and posts to
//! them in turn; every message must still reach the gateway exactly once.
//! On PostgreSQL the run also reports its cost per delivery ([`cost`]).
//!
//! `--rate 0` (default) posts as fast as `--concurrency` allows (throughput);
//! `--rate 1000` offers 1,000 events/s open-loop (latency). The default
//! database is a new SQLite file in a temporary directory.

mod bare;
mod cost;

use server::dispatcher::DispatcherConfig;
use server::testkit::fakes::{Fake, Kind, FONNTE_TOKEN};
use server::DEMO_API_KEY;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::db::Db;
use storage::on_db_write;
use storage::seed;

struct Args {
    events: usize,
    fanout: usize,
    rate: u64,
    concurrency: usize,
    database: Option<String>,
    bare: bool,
    /// Database connections (the server's `MAX_DB_CONNECTIONS`).
    pool: u32,
    /// Leave the technicians' email on: with no email account enabled, each
    /// event adds a delivery per recipient that fails at once.
    email: bool,
    /// Servers on the one database (PostgreSQL only).
    instances: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        events: 10_000,
        fanout: 5,
        rate: 0,
        concurrency: 64,
        database: None,
        bare: false,
        pool: 8,
        email: false,
        instances: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--events" => a.events = value()?.parse().map_err(|e| format!("--events: {e}"))?,
            "--fanout" => a.fanout = value()?.parse().map_err(|e| format!("--fanout: {e}"))?,
            "--rate" => a.rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--concurrency" => a.concurrency = value()?.parse().map_err(|e| format!("--concurrency: {e}"))?,
            "--database" => a.database = Some(value()?),
            "--bare" => a.bare = true,
            "--pool" => a.pool = value()?.parse().map_err(|e| format!("--pool: {e}"))?,
            "--email" => a.email = true,
            "--instances" => a.instances = value()?.parse().map_err(|e| format!("--instances: {e}"))?,
            "-h" | "--help" => return Err("usage: loadtest [--events N] [--fanout F] [--rate R] [--concurrency C] [--database URL] [--bare] [--pool N] [--email] [--instances N]".into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.fanout == 0 || a.events == 0 || a.concurrency == 0 || a.instances == 0 {
        return Err("--events, --fanout, --concurrency and --instances must be positive".into());
    }
    let postgres = a
        .database
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"));
    if a.bare && !postgres {
        return Err("--bare needs --database postgres://…".into());
    }
    if a.instances > 1 && (a.bare || !postgres) {
        return Err("--instances needs --database postgres://… (and not --bare)".into());
    }
    Ok(a)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("loadtest: {e}");
        std::process::exit(1);
    }
}

/// Measurements the fake provider takes as messages arrive.
#[derive(Default)]
struct Clock {
    /// Event number → when it was posted.
    started: Mutex<HashMap<u64, Instant>>,
    /// Event number → messages received for it (each recipient's once).
    received: Mutex<HashMap<u64, u32>>,
    latencies_ms: Mutex<Vec<f64>>,
    first_last: Mutex<(Option<Instant>, Option<Instant>)>,
}

impl Clock {
    /// The fake calls this with each message; the ticket id (`LT-<n>`) names the event.
    fn arrived(&self, text: &str) {
        let now = Instant::now();
        let n = text
            .split("LT-")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|d| d.parse::<u64>().ok());
        if let Some(n) = n {
            *self.received.lock().unwrap().entry(n).or_default() += 1;
        }
        if let Some(t0) = n.and_then(|n| self.started.lock().unwrap().get(&n).copied()) {
            self.latencies_ms
                .lock()
                .unwrap()
                .push(now.duration_since(t0).as_secs_f64() * 1000.0);
        }
        let mut fl = self.first_last.lock().unwrap();
        fl.0.get_or_insert(now);
        fl.1 = Some(now);
    }
}

/// The product under load: `instances` servers, each with its dispatcher,
/// on `url`, one fake Fonnte account at `gateway`, `fanout` technicians to
/// address.
struct Product {
    db: Db,
    running: Vec<(Db, server::Running)>,
    users: Vec<i64>,
}

impl Product {
    async fn start(a: &Args, url: &str, gateway: &str) -> Result<Self, String> {
        let db = Db::connect(url, a.pool).await.map_err(|e| e.to_string())?;
        db.migrate().await.map_err(|e| e.to_string())?;
        seed::ensure_reference_data(&db)
            .await
            .map_err(|e| e.to_string())?;
        server::api_keys::insert(&db, "loadtest", DEMO_API_KEY, None)
            .await
            .map_err(|e| e.to_string())?;

        // Recipients: technicians with verified numbers, WhatsApp on (email
        // off unless `--email`).
        let mut users = Vec::new();
        for i in 0..a.fanout {
            let email = format!("lt{i}-{}@load.test", std::process::id());
            let phone = format!("+62812{:08}", 10_000_000 + i);
            let id = seed::insert_user(
                &db,
                &format!("Teknisi {i}"),
                &email,
                "x",
                domain::Role::Technician,
                Some("karawang"),
                Some(&phone),
                true,
            )
            .await
            .map_err(|e| e.to_string())?;
            users.push(id.0);
        }
        if !a.email {
            for id in &users {
                on_db_write!(&db, |pool| sqlx::query(
                    "UPDATE notification_settings SET email_enabled = FALSE WHERE user_id = $1"
                )
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ()))
                .map_err(|e| e.to_string())?;
            }
        }

        let now = storage::now_ms();
        on_db_write!(&db, |pool| sqlx::query(
            "UPDATE provider_accounts SET enabled = FALSE"
        )
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(|e| e.to_string())?;
        let credentials = serde_json::json!({"token": FONNTE_TOKEN}).to_string();
        let account = storage::providers::NewAccount {
            base_url: Some(gateway),
            credentials: &credentials,
            rate_limit_per_minute: 100_000_000,
            price_rupiah: 350,
            ..storage::providers::NewAccount::new(
                "Fonnte (fake)",
                domain::providers::ProviderKind::Fonnte,
            )
        };
        storage::providers::insert(&db, &account, now)
            .await
            .map_err(|e| e.to_string())?;
        let mut running = Vec::new();
        for _ in 0..a.instances {
            // Each instance has a pool of its own, as separate processes would.
            let own = Db::connect(url, a.pool).await.map_err(|e| e.to_string())?;
            let started =
                server::testkit::start_on_loopback(own.clone(), Some(DispatcherConfig::default()))
                    .await?;
            running.push((own, started));
        }
        Ok(Product { db, running, users })
    }

    /// Stops each instance (in-flight sends finish) and closes the pools;
    /// answers how many deliveries each instance's dispatcher took, and how
    /// many of the run's WhatsApp deliveries were not sent in exactly one
    /// attempt (another program's rows may share the database: `logbench`
    /// reading under this load).
    async fn stop(self) -> Result<(Vec<u64>, i64), String> {
        let mut claimed = Vec::new();
        for (db, running) in self.running {
            claimed.push(running.claimed.load(Ordering::Relaxed));
            running.stop().await;
            db.close().await;
        }
        let irregular: i64 = storage::on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries
             WHERE channel = 'whatsapp' AND (status <> 'sent' OR attempts <> 1)
               AND event_id IN (SELECT id FROM events WHERE idempotency_key LIKE 'LT-%')"
        )
        .fetch_one(pool)
        .await)
        .map_err(|e| e.to_string())?;
        self.db.close().await;
        Ok((claimed, irregular))
    }
}

async fn run() -> Result<(), String> {
    let a = args()?;
    let dir = std::env::temp_dir().join(format!("notif-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = a
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.join("load.db").display()));

    let clock = Arc::new(Clock::default());
    let on_accept = {
        let clock = clock.clone();
        Box::new(move |text: &str| clock.arrived(text))
    };
    let fake = Fake::start_with(Kind::Fonnte, true, Some(on_accept)).await;
    // On PostgreSQL, a connection of its own to read the run's cost.
    let probe = match &a.database {
        Some(u) if u.starts_with("postgres") => Some(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(u)
                .await
                .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    let (addrs, product, bare_pool, users) = if a.bare {
        let (addr, pool) = bare::start(
            &url,
            a.fanout,
            a.pool,
            DEMO_API_KEY,
            fake.base.clone(),
            FONNTE_TOKEN,
        )
        .await?;
        (
            vec![addr],
            None,
            Some(pool),
            (1..=a.fanout as i64).collect(),
        )
    } else {
        let product = Product::start(&a, &url, &fake.base).await?;
        let users = product.users.clone();
        let addrs = product.running.iter().map(|(_, r)| r.addr).collect();
        (addrs, Some(product), None, users)
    };
    let endpoints: Arc<Vec<String>> = Arc::new(
        addrs
            .iter()
            .map(|addr| format!("http://{addr}/api/v1/events"))
            .collect(),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let expected = (a.events * a.fanout) as u64;
    println!(
        "loadtest: {} events x {} recipients = {expected} WhatsApp deliveries{}, {}, database {}{}",
        a.events,
        a.fanout,
        if a.bare {
            " (bare pipeline)"
        } else {
            " (+ as many in-app)"
        },
        if a.rate == 0 {
            format!("as fast as {} connections allow", a.concurrency)
        } else {
            format!("offered at {} events/s", a.rate)
        },
        storage::db::redact_url(&url),
        if a.instances > 1 {
            format!(", {} instances", a.instances)
        } else {
            String::new()
        },
    );
    let before = match &probe {
        Some(p) => Some(cost::sample(p).await?),
        None => None,
    };

    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let users = Arc::new(users);
    let mut workers = Vec::new();
    for _ in 0..a.concurrency {
        let (client, endpoints, next, clock, users, failures) = (
            client.clone(),
            endpoints.clone(),
            next.clone(),
            clock.clone(),
            users.clone(),
            failures.clone(),
        );
        let (events, rate) = (a.events as u64, a.rate);
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= events {
                    break;
                }
                if rate > 0 {
                    // Open loop: event n is due at n / rate seconds, however slow the server.
                    tokio::time::sleep_until((t0 + Duration::from_secs_f64(n as f64 / rate as f64)).into()).await;
                }
                let body = serde_json::json!({
                    "type": "ticket_assigned", "priority": "high", "work_zone": "karawang",
                    "recipients": {"user_ids": &*users},
                    "data": {"ticket_id": format!("LT-{n}"), "customer_name": "Pelanggan", "customer_phone": "081234567890",
                             "address": "Jl. Contoh 1", "location": "ODP-1", "issue_type": "LOS", "sla_deadline": "16:00",
                             "ticket_url": "https://tiket.example/LT"},
                    "idempotency_key": format!("LT-{n}")
                });
                clock.started.lock().unwrap().insert(n, Instant::now());
                let endpoint = &endpoints[n as usize % endpoints.len()];
                let ok = client.post(endpoint).bearer_auth(DEMO_API_KEY).json(&body).send().await.is_ok_and(|r| r.status().as_u16() == 202);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let ingest_secs = t0.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(300);
    while fake.count() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total_secs = t0.elapsed().as_secs_f64();
    // Stopped before the cost is read: the closed connections' statistics
    // and CPU are then the server's to report.
    let (claimed, irregular) = match product {
        Some(product) => product.stop().await?,
        None => (Vec::new(), 0),
    };
    if let Some(pool) = bare_pool {
        pool.close().await;
    }
    let after = match &probe {
        Some(p) => Some(cost::sample(p).await?),
        None => None,
    };

    let mut l = clock.latencies_ms.lock().unwrap().clone();
    l.sort_by(|x, y| x.total_cmp(y));
    let (first, last) = *clock.first_last.lock().unwrap();
    let send_secs = match (first, last) {
        (Some(f), Some(l)) => l.duration_since(f).as_secs_f64().max(1e-9),
        _ => f64::NAN,
    };
    let failed = failures.load(Ordering::Relaxed);
    println!(
        "events accepted:       {} of {} ({failed} failed)",
        a.events as u64 - failed,
        a.events
    );
    println!(
        "ingestion:             {:.0} events/s ({ingest_secs:.2} s)",
        a.events as f64 / ingest_secs
    );
    println!("provider requests:     {} of {expected}", fake.count());
    println!(
        "deliveries/s:          {:.0} sustained (first to last provider request, {send_secs:.2} s); {:.0} end to end ({total_secs:.2} s)",
        fake.count() as f64 / send_secs,
        fake.count() as f64 / total_secs,
    );
    println!(
        "latency post→provider: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&l, 0.50),
        percentile(&l, 0.90),
        percentile(&l, 0.99),
        l.last().copied().unwrap_or(f64::NAN)
    );
    if claimed.len() > 1 {
        println!("taken per instance:    {claimed:?}");
    }
    if let (Some(b), Some(a)) = (&before, &after) {
        for line in cost::report(b, a, fake.count(), send_secs) {
            println!("{line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if fake.count() != expected {
        return Err(format!(
            "{} of {expected} deliveries reached the provider",
            fake.count()
        ));
    }
    // Exactly once: every delivery was sent in one attempt (a repeat would
    // be a second claim), and each event's message reached the gateway once
    // per recipient.
    if irregular > 0 {
        return Err(format!(
            "{irregular} WhatsApp deliveries were not sent in exactly one attempt"
        ));
    }
    let received = clock.received.lock().unwrap();
    let wrong = (0..a.events as u64)
        .filter(|n| received.get(n).copied().unwrap_or(0) != a.fanout as u32)
        .count();
    if wrong > 0 {
        return Err(format!(
            "{wrong} events did not reach the gateway exactly {} times",
            a.fanout
        ));
    }
    Ok(())
}
