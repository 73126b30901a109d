//! WebSocket benchmark: holds N live sockets open on a running server and
//! measures how long a delivery status change takes to reach every one.
//!
//!   cargo run --release -p server --bin wsbench -- [--connections N]
//!       [--rate CHANGES_PER_S] [--seconds S] [--client-threads T]
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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--client") {
        // The clients stand for separate browsers: their runtime's threads
        // are the load generator's choice (`--client-threads`), not the
        // server's.
        let threads: usize = args.get(5).and_then(|t| t.parse().ok()).unwrap_or(1).max(1);
        runtime(threads).block_on(clients(&args))
    } else {
        runtime(0).block_on(serve(&args))
    };
    if let Err(e) = result {
        eprintln!("wsbench: {e}");
        std::process::exit(1);
    }
}

/// A runtime with `threads` workers; 0 for the server's own configuration
/// (one worker per core, as `main.rs` runs it).
fn runtime(threads: usize) -> tokio::runtime::Runtime {
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if threads > 1 {
        builder.worker_threads(threads);
    }
    builder.enable_all().build().expect("a runtime")
}

async fn serve(args: &[String]) -> Result<(), String> {
    let connections: usize = flag(args, "--connections", 10_000)?;
    let rate: u64 = flag(args, "--rate", 20)?;
    let seconds: u64 = flag(args, "--seconds", 10)?;
    let client_threads: usize = flag(args, "--client-threads", 1)?;
    let dir = std::env::temp_dir().join(format!("notif-wsbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = format!("sqlite:{}", dir.join("ws.db").display());
    let db = storage::db::Db::connect(&url, 8)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    storage::seed::ensure_reference_data(&db)
        .await
        .map_err(|e| e.to_string())?;
    storage::seed::ensure_demo_data(&db)
        .await
        .map_err(|e| e.to_string())?;
    let manager: domain::UserId = storage::on_db!(&db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE email = 'manager@demo.id'"
    )
    .fetch_one(pool)
    .await)
    .map_err(|e| e.to_string())?;
    let token = storage::sessions::create_session(&db, manager, storage::now_ms())
        .await
        .map_err(|e| e.to_string())?;
    let running = server::testkit::start_on_loopback(db.clone(), None).await?;
    println!("wsbench: {connections} sockets, {rate} status changes/s for {seconds} s");

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "--client".to_owned(),
            running.addr.to_string(),
            token,
            connections.to_string(),
            (seconds + 3).to_string(),
            client_threads.to_string(),
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
        running.live.sockets()
    );

    let every = Duration::from_micros(1_000_000 / rate.max(1));
    let mut tick = tokio::time::interval(every);
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut published = 0u64;
    let mut server_rss = 0f64;
    while Instant::now() < end {
        tick.tick().await;
        running.feed.deliveries([DeliveryChange {
            id: domain::DeliveryId(now_us()),
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

/// The child: `--client ADDR TOKEN N SECONDS THREADS`.
async fn clients(args: &[String]) -> Result<(), String> {
    let [_, addr, token, n, seconds, _threads] = args else {
        return Err("usage: wsbench --client ADDR TOKEN N SECONDS THREADS".into());
    };
    let n: usize = n.parse().map_err(|_| "N")?;
    let seconds: u64 = seconds.parse().map_err(|_| "SECONDS")?;
    let cookie = format!("{}={token}", app::auth::session::COOKIE_NAME);
    let mut sockets = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_refusal = None;
    // Opened a few hundred at a time, as a fleet of browsers would arrive.
    let mut pending = futures_util::stream::iter(0..n)
        .map(|_| open(addr, &cookie))
        .buffer_unordered(256);
    while let Some(result) = pending.next().await {
        match result {
            Ok(socket) => sockets.push(socket),
            Err(e) => {
                failed += 1;
                first_refusal.get_or_insert(e);
            }
        }
    }
    drop(pending);
    println!("clients: {} connected, {failed} refused", sockets.len());
    if let Some(e) = first_refusal {
        eprintln!("wsbench: the first refusal: {e}");
    }
    let held = sockets.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|(mut tcp, mut buf)| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut alive = true;
                let end = tokio::time::sleep_until(deadline);
                tokio::pin!(end);
                'read: loop {
                    // Whole frames first (the handshake's read may hold some).
                    while let Some(frame) = next_frame(&buf) {
                        match frame.opcode {
                            OP_TEXT => {
                                if let Ok(ServerFrame::Deliveries { changes, .. }) =
                                    serde_json::from_slice(&buf[frame.payload.clone()])
                                {
                                    let now = now_us();
                                    latencies.extend(
                                        changes
                                            .iter()
                                            .map(|c| (c.id.0, (now - c.id.0) as f64 / 1000.0)),
                                    );
                                }
                            }
                            OP_CLOSE => {
                                alive = false;
                                break 'read;
                            }
                            _ => {}
                        }
                        buf.drain(..frame.payload.end);
                    }
                    tokio::select! {
                        _ = &mut end => break,
                        read = tcp.read_buf(&mut buf) => {
                            if !matches!(read, Ok(n) if n > 0) {
                                alive = false;
                                break;
                            }
                        }
                    }
                }
                (latencies, alive)
            })
        })
        .collect();
    let mut all = Vec::new();
    // Per change, when the last socket had it: the fan-out's length.
    let mut fan_out = std::collections::HashMap::<i64, f64>::new();
    let mut dropped = 0;
    for t in tasks {
        let (l, alive) = t.await.map_err(|e| e.to_string())?;
        for (id, ms) in l {
            all.push(ms);
            let last = fan_out.entry(id).or_default();
            *last = last.max(ms);
        }
        dropped += usize::from(!alive);
    }
    all.sort_by(f64::total_cmp);
    let mut fan_out: Vec<f64> = fan_out.into_values().collect();
    fan_out.sort_by(f64::total_cmp);
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
    println!(
        "clients: a change reached every socket in {:.1} ms (median change), {:.1} ms (slowest of {})",
        fan_out.get(fan_out.len() / 2).copied().unwrap_or(f64::NAN),
        fan_out.last().copied().unwrap_or(f64::NAN),
        fan_out.len()
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

/// Opens `/ws` the way a browser does, over a plain TCP stream: the clients
/// read frames themselves (below) so that the load generator, which shares
/// the machine's two cores with the server, spends as little of them as it
/// can. Returns the stream and whatever arrived after the handshake.
async fn open(addr: &str, cookie: &str) -> Result<(TcpStream, Vec<u8>), String> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    // Any 16 bytes in base64 will do as the key; the server only echoes a
    // digest of it.
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Cookie: {cookie}\r\n\r\n"
    );
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let mut buf = Vec::with_capacity(512);
    loop {
        if tcp.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
            return Err("closed during the handshake".into());
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 101") {
                let status = String::from_utf8_lossy(&buf[..end]);
                return Err(format!("refused: {}", status.lines().next().unwrap_or("")));
            }
            buf.drain(..end + 4);
            return Ok((tcp, buf));
        }
    }
}

const OP_TEXT: u8 = 1;
const OP_CLOSE: u8 = 8;

/// One whole frame at the start of a buffer.
#[derive(Debug, PartialEq)]
struct Frame {
    opcode: u8,
    payload: std::ops::Range<usize>,
}

/// The first whole frame in `buf`, if it has arrived (RFC 6455 section 5.2;
/// a server's frames are never masked, and ours never fragmented).
fn next_frame(buf: &[u8]) -> Option<Frame> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, head) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    (buf.len() >= head + len).then_some(Frame {
        opcode: b0 & 0x0f,
        payload: head..head + len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => out.push(n as u8),
            n if n <= 0xffff => {
                out.push(126);
                out.extend((n as u16).to_be_bytes());
            }
            n => {
                out.push(127);
                out.extend((n as u64).to_be_bytes());
            }
        }
        out.extend(payload);
        out
    }

    #[test]
    fn frames_are_found_whole_or_not_at_all() {
        for size in [0, 5, 125, 126, 300, 70_000] {
            let payload = vec![b'x'; size];
            let bytes = frame(OP_TEXT, &payload);
            for cut in [1, bytes.len() / 2, bytes.len() - 1] {
                assert_eq!(next_frame(&bytes[..cut]), None, "size {size}, cut {cut}");
            }
            let mut two = bytes.clone();
            two.extend(frame(OP_CLOSE, b"bye"));
            let f = next_frame(&two).unwrap();
            assert_eq!((f.opcode, &two[f.payload.clone()]), (OP_TEXT, &payload[..]));
            let rest = &two[f.payload.end..];
            let g = next_frame(rest).unwrap();
            assert_eq!(
                (g.opcode, &rest[g.payload.clone()]),
                (OP_CLOSE, &b"bye"[..])
            );
        }
    }
}
