//! WebSocket benchmark: holds N live sockets open on a running server and
//! measures how long a delivery status change takes to reach every one.
//!
//!   cargo run --release -p server --bin wsbench -- [--connections N]
//!       [--rate CHANGES_PER_S] [--seconds S]
//!
//! The server runs in this process on a fresh SQLite database with the demo
//! data; the clients run in a child process (each process may hold 20,000
//! descriptors here, and N sockets need N on each side). All clients sign in
//! as the demo manager, who may see delivery statuses. Changes are published
//! through the server's live feed exactly as the dispatcher and the webhooks
//! publish them after their commit; each change's id is the microsecond it
//! was published, so a client computes the latency from the frame alone.

use app::live::{DeliveryChange, ServerFrame};
use futures_util::StreamExt;
use server::{start, StartOptions};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as i64
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .ok_or(format!("{name} needs a value"))?
            .parse()
            .map_err(|_| format!("{name}: not a number")),
    }
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--client") {
        clients(&args).await
    } else {
        serve(&args).await
    };
    if let Err(e) = result {
        eprintln!("wsbench: {e}");
        std::process::exit(1);
    }
}

async fn serve(args: &[String]) -> Result<(), String> {
    let connections: usize = flag(args, "--connections", 10_000)?;
    let rate: u64 = flag(args, "--rate", 20)?;
    let seconds: u64 = flag(args, "--seconds", 10)?;
    let dir = std::env::temp_dir().join(format!("notif-wsbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = format!("sqlite:{}", dir.join("ws.db").display());
    let db = app::db::Db::connect(&url, 8)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    app::db::seed::ensure_reference_data(&db)
        .await
        .map_err(|e| e.to_string())?;
    app::db::seed::ensure_demo_data(&db)
        .await
        .map_err(|e| e.to_string())?;
    let manager: i64 = app::on_db!(&db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE email = 'manager@demo.id'"
    )
    .fetch_one(pool)
    .await)
    .map_err(|e| e.to_string())?;
    let token = app::auth::session::create_session(&db, manager, app::time::now_ms())
        .await
        .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let running = start(
        db.clone(),
        listener,
        StartOptions {
            leptos_options: leptos::config::LeptosOptions::builder()
                .output_name("notifikasi")
                .build(),
            secure_cookies: false,
            dispatcher: None,
            analytics_refresh: None,
        },
    )
    .await?;
    println!("wsbench: {connections} sockets, {rate} status changes/s for {seconds} s");

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "--client".to_owned(),
            format!("ws://{}/ws", running.addr),
            token,
            connections.to_string(),
            (seconds + 3).to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let opened = Instant::now();
    let ready = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the clients exited")?;
    println!(
        "{ready} in {:.1} s; server holds {} sockets",
        opened.elapsed().as_secs_f64(),
        running.feed.receivers()
    );

    let every = Duration::from_micros(1_000_000 / rate.max(1));
    let mut tick = tokio::time::interval(every);
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut published = 0u64;
    let mut server_rss = 0f64;
    while Instant::now() < end {
        tick.tick().await;
        running.feed.deliveries([DeliveryChange {
            id: now_us(),
            status: domain::DeliveryStatus::Delivered,
        }]);
        published += 1;
        if published.is_multiple_of(rate.max(1)) {
            server_rss = server_rss.max(rss_mib(std::process::id()));
        }
    }
    println!(
        "published {published} changes; server RSS {server_rss:.0} MiB (client process: see below)"
    );
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        println!("{line}");
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    if status.success() {
        Ok(())
    } else {
        Err(format!("the client process failed: {status}"))
    }
}

/// The child: `--client URL TOKEN N SECONDS`.
async fn clients(args: &[String]) -> Result<(), String> {
    let [_, url, token, n, seconds] = args else {
        return Err("usage: wsbench --client URL TOKEN N SECONDS".into());
    };
    let n: usize = n.parse().map_err(|_| "N")?;
    let seconds: u64 = seconds.parse().map_err(|_| "SECONDS")?;
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let mut sockets = Vec::with_capacity(n);
    let mut failed = 0usize;
    // Opened a few hundred at a time, as a fleet of browsers would arrive.
    let mut pending = futures_util::stream::iter(0..n)
        .map(|_| {
            let mut request = url.as_str().into_client_request().expect("a URL");
            request.headers_mut().insert(
                "cookie",
                format!("{}={token}", app::auth::session::COOKIE_NAME)
                    .parse()
                    .expect("a header"),
            );
            tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        })
        .buffer_unordered(256);
    while let Some(result) = pending.next().await {
        match result {
            Ok((ws, _)) => sockets.push(ws),
            Err(_) => failed += 1,
        }
    }
    println!("clients: {} connected, {failed} refused", sockets.len());
    let held = sockets.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut alive = true;
                loop {
                    let next = tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => break,
                        m = ws.next() => m,
                    };
                    let text = match next {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(_)) => continue,
                        _ => {
                            alive = false;
                            break;
                        }
                    };
                    if let Ok(ServerFrame::Deliveries { changes, .. }) = serde_json::from_str(&text)
                    {
                        let now = now_us();
                        latencies.extend(changes.iter().map(|c| (now - c.id) as f64 / 1000.0));
                    }
                }
                (latencies, alive)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut dropped = 0;
    for t in tasks {
        let (l, alive) = t.await.map_err(|e| e.to_string())?;
        all.extend(l);
        dropped += usize::from(!alive);
    }
    all.sort_by(f64::total_cmp);
    let p = |q: f64| {
        all.get(((all.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "clients: {} of {held} sockets held to the end; {} changes received; latency ms p50 {:.1}, p99 {:.1}, max {:.1}; client RSS {:.0} MiB",
        held - dropped,
        all.len(),
        p(0.5),
        p(0.99),
        all.last().copied().unwrap_or(f64::NAN),
        rss_mib(std::process::id())
    );
    // A failure, not a figure: CI runs this as a smoke test.
    if failed > 0 || dropped > 0 || all.is_empty() {
        return Err(format!(
            "{failed} sockets refused, {dropped} dropped, {} changes received",
            all.len()
        ));
    }
    Ok(())
}
