//! What a PostgreSQL run cost the database (`loadtest --database postgres://…`):
//! CPU of the PostgreSQL server's processes, CPU of this process (server,
//! load generator and fake gateway together), WAL written and the
//! `deliveries` table's row operations, each per delivery sent. From these
//! the README states where a database on its own machine becomes the limit.
//!
//! The CPU figures read `/proc`, so they need the database on this machine
//! (they are left out otherwise). The server's processes are its postmaster
//! (with the CPU of children it has reaped: backends that came and went)
//! and its living children.

use sqlx::PgPool;

/// The kernel's clock ticks per second for `/proc/*/stat` (USER_HZ, 100 on
/// every Linux build this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

pub struct Sample {
    wal_bytes: i64,
    inserts: i64,
    updates: i64,
    hot_updates: i64,
    /// CPU seconds of the database's processes, if readable.
    database_cpu: Option<f64>,
    own_cpu: Option<f64>,
}

/// Fields of `/proc/PID/stat` after the command name (which may hold
/// spaces): index 0 is field 3 (state).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn ticks(fields: &[String], from: usize, to: usize) -> Option<f64> {
    let mut sum = 0.0;
    for f in fields.get(from..=to)? {
        sum += f.parse::<f64>().ok()?;
    }
    Some(sum / TICKS_PER_SECOND)
}

/// CPU seconds of the PostgreSQL server whose backend is `backend`: read
/// until two readings agree, since a backend reaped during a reading (the
/// load's connections have just closed) would be missed or counted twice.
async fn database_cpu(backend: u32) -> Option<f64> {
    let mut last = read_database_cpu(backend)?;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let now = read_database_cpu(backend)?;
        if (now - last).abs() < 0.02 {
            return Some(now);
        }
        last = now;
    }
    None
}

fn read_database_cpu(backend: u32) -> Option<f64> {
    // Field 4 (index 1) is the parent: the postmaster.
    let postmaster: u32 = stat_fields(backend)?.get(1)?.parse().ok()?;
    // utime, stime, cutime, cstime are fields 14–17 (indexes 11–14).
    let mut cpu = ticks(&stat_fields(postmaster)?, 11, 14)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(f) = stat_fields(pid) {
            if f.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(postmaster) {
                cpu += ticks(&f, 11, 12).unwrap_or(0.0);
            }
        }
    }
    Some(cpu)
}

pub async fn sample(pool: &PgPool) -> Result<Sample, String> {
    let (wal_bytes, inserts, updates, hot_updates, backend): (i64, i64, i64, i64, i32) =
        sqlx::query_as(
            "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint,
                    COALESCE(SUM(n_tup_ins), 0)::bigint, COALESCE(SUM(n_tup_upd), 0)::bigint,
                    COALESCE(SUM(n_tup_hot_upd), 0)::bigint, pg_backend_pid()
             FROM pg_stat_user_tables WHERE relname IN ('deliveries', 'bare_deliveries')",
        )
        .fetch_one(pool)
        .await
        .map_err(|e| format!("reading the database's statistics: {e}"))?;
    Ok(Sample {
        wal_bytes,
        inserts,
        updates,
        hot_updates,
        database_cpu: database_cpu(backend as u32).await,
        own_cpu: stat_fields(std::process::id()).and_then(|f| ticks(&f, 11, 12)),
    })
}

/// Lines for the report: the run's cost per delivery sent.
pub fn report(before: &Sample, after: &Sample, sent: u64, secs: f64) -> Vec<String> {
    let per = |x: f64| x / sent.max(1) as f64;
    let mut lines = vec![format!(
        "WAL:                   {:.0} bytes per delivery ({:.1} MB/s)",
        per((after.wal_bytes - before.wal_bytes) as f64),
        (after.wal_bytes - before.wal_bytes) as f64 / secs / 1e6
    )];
    let updates = after.updates - before.updates;
    lines.push(format!(
        "deliveries rows:       {:.2} inserted, {:.2} updated ({:.0}% HOT) per delivery sent",
        per((after.inserts - before.inserts) as f64),
        per(updates as f64),
        100.0 * (after.hot_updates - before.hot_updates) as f64 / updates.max(1) as f64
    ));
    if let (Some(b), Some(a)) = (before.database_cpu, after.database_cpu) {
        let own = match (before.own_cpu, after.own_cpu) {
            (Some(b), Some(a)) => format!(
                "; this process {:.0} µs (server, load generator and fake gateway)",
                per(a - b) * 1e6
            ),
            _ => String::new(),
        };
        lines.push(format!(
            "CPU per delivery:      database {:.0} µs ({:.2} cores busy){own}",
            per(a - b) * 1e6,
            (a - b) / secs
        ));
    }
    lines
}
