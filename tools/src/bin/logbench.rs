//! Read-side benchmark: the delivery log and analytics over a large log.
//!
//! ```sh
//! cargo run --release -p server --bin logbench -- --rows 1000000
//! cargo run --release -p server --bin logbench -- --rows 1000000 --database-url postgres://postgres@127.0.0.1/logbench
//! ```
//!
//! Fills a fresh database with `--rows` deliveries spread over 30 days (mixed
//! channels, providers, types, statuses, groups), then times the queries the
//! pages run: log pages (first, deep, filtered), a filtered page far back, the
//! analytics rollup of all days and an analytics report. Prints the median and
//! the worst of `--repeat` runs of each.

use domain::views::deliveries::{Cursor, DeliveryFilter};
use std::time::{Duration, Instant};
use storage::analytics;
use storage::db::Db;
use storage::deliveries as log;
use storage::seed;

struct Args {
    rows: i64,
    repeat: usize,
    database_url: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        rows: 1_000_000,
        repeat: 20,
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse().map_err(|_| "--rows: a number")?,
            "--repeat" => a.repeat = value()?.parse().map_err(|_| "--repeat: a number")?,
            "--database-url" => a.database_url = Some(value()?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

const DAY_MS: i64 = 86_400_000;

async fn fill(db: &Db, rows: i64, now: i64) -> Result<(), String> {
    // Generated inside the database: a recursive CTE both backends run.
    let sql = format!(
        "INSERT INTO deliveries (notification_type, priority, channel, provider, group_id, recipient, message,
             status, cost_rupiah, error, created_at, updated_at, sent_at, delivered_at)
         WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         SELECT
           CASE i % 4 WHEN 0 THEN 'ticket_assigned' WHEN 1 THEN 'new_ticket' WHEN 2 THEN 'sla_warning' ELSE 'daily_summary' END,
           CASE i % 3 WHEN 0 THEN 'medium' WHEN 1 THEN 'high' ELSE 'low' END,
           CASE i % 5 WHEN 0 THEN 'in_app' WHEN 1 THEN 'whatsapp_group' ELSE 'whatsapp' END,
           CASE i % 3 WHEN 0 THEN 'fonnte' WHEN 1 THEN 'wablas' ELSE 'sandbox' END,
           CASE WHEN i % 5 = 1 THEN 1 + i % 7 ELSE NULL END,
           '+62812' || (1000000 + i % 9000000),
           'Tiket TKT-' || i || ' ditugaskan kepada Anda',
           CASE i % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'read' WHEN 2 THEN 'sent' ELSE 'delivered' END,
           CASE i % 3 WHEN 0 THEN 150 WHEN 1 THEN 120 ELSE 0 END,
           CASE i % 10 WHEN 0 THEN 'nomor tidak terdaftar di WhatsApp' ELSE NULL END,
           {start} + i * {step}, {start} + i * {step}, {start} + i * {step}, {start} + i * {step} + 3000 + i % 20000
         FROM n",
        start = now - 30 * DAY_MS,
        step = (30 * DAY_MS) / rows.max(1),
    );
    match db {
        Db::Sqlite(pool, _) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .map(|_| ()),
        Db::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .map(|_| ()),
    }
    .map_err(|e| e.to_string())?;
    if let Db::Postgres(pool) = db {
        sqlx::query("ANALYZE deliveries")
            .execute(pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn time<F, Fut>(name: &str, repeat: usize, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut times: Vec<Duration> = Vec::with_capacity(repeat);
    let mut n = 0;
    for _ in 0..repeat {
        let t = Instant::now();
        n = f().await;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "{name:<44} median {:>8.2} ms   max {:>8.2} ms   ({n} rows)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let a = args()?;
    let dir = std::env::temp_dir().join(format!("logbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = a
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.join("log.db").display()));
    let db = Db::connect(&url, 4).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    seed::ensure_reference_data(&db)
        .await
        .map_err(|e| e.to_string())?;
    seed::ensure_demo_data(&db)
        .await
        .map_err(|e| e.to_string())?;
    let now = storage::now_ms();

    let t = Instant::now();
    fill(&db, a.rows, now).await?;
    println!(
        "filled {} deliveries in {:.1} s",
        a.rows,
        t.elapsed().as_secs_f64()
    );

    let all = DeliveryFilter::default()
        .resolve()
        .map_err(|e| storage::Error::Invalid(e).to_string())?;
    let failed = DeliveryFilter {
        status: "failed".into(),
        ..Default::default()
    }
    .resolve()
    .map_err(|e| storage::Error::Invalid(e).to_string())?;
    let combo = DeliveryFilter {
        channel: "whatsapp".into(),
        provider: "fonnte".into(),
        notification_type: "sla_warning".into(),
        ..Default::default()
    }
    .resolve()
    .map_err(|e| storage::Error::Invalid(e).to_string())?;
    let middle = Some(Cursor {
        created_at: now - 15 * DAY_MS,
        id: domain::DeliveryId(i64::MAX),
    });
    let r = a.repeat;
    time("log: first page", r, || async {
        log::page(&db, &all, None, 50).await.unwrap().items.len()
    })
    .await;
    time("log: page 15 days back (keyset)", r, || async {
        log::page(&db, &all, middle, 50).await.unwrap().items.len()
    })
    .await;
    time("log: status=failed, first page", r, || async {
        log::page(&db, &failed, None, 50).await.unwrap().items.len()
    })
    .await;
    time("log: status=failed, 15 days back", r, || async {
        log::page(&db, &failed, middle, 50)
            .await
            .unwrap()
            .items
            .len()
    })
    .await;
    time("log: channel+provider+type, first page", r, || async {
        log::page(&db, &combo, None, 50).await.unwrap().items.len()
    })
    .await;

    let t = Instant::now();
    analytics::refresh_all(&db, now)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "analytics: rollup of every day in {:.1} s (once at start; then today and yesterday every 10 s)",
        t.elapsed().as_secs_f64()
    );
    let today = analytics::day_of(now);
    time("analytics: refresh today + yesterday", r.min(5), || async {
        analytics::refresh_days(&db, today - 1, today)
            .await
            .unwrap();
        2
    })
    .await;
    time("analytics: report, last 30 days", r, || async {
        analytics::report(&db, today - 29, today)
            .await
            .unwrap()
            .total as usize
    })
    .await;
    time("analytics: report, last 7 days", r, || async {
        analytics::report(&db, today - 6, today)
            .await
            .unwrap()
            .total as usize
    })
    .await;

    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
