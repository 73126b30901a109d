//! The live socket (`/ws`) against a running server: sign-in checks, the inbox
//! stream and its replay after a reconnect, delivery statuses by role, bad
//! frames, protocol pings, a frame sent with the upgrade request, and two
//! instances sharing one PostgreSQL database.

mod support;

use app::live::ServerFrame;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use server::testkit::fakes::{Fake, Kind};
use server::DEMO_API_KEY;
use std::sync::atomic::Ordering;
use std::time::Duration;
use storage::db::Db;
use storage::store_test;
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn session(db: &Db, email: &str) -> String {
    let id = user_id(db, email).await;
    storage::sessions::create_session(db, id, storage::now_ms())
        .await
        .unwrap()
}

async fn open(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    query: &str,
) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{addr}/ws{query}")
        .into_client_request()
        .unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            "cookie",
            format!("{}={token}", app::auth::session::COOKIE_NAME)
                .parse()
                .unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

/// A socket signed in as `email`, and the hello it opened with.
async fn signed_in(addr: std::net::SocketAddr, db: &Db, email: &str) -> (Socket, ServerFrame) {
    let mut ws = open(addr, Some(&session(db, email).await), "")
        .await
        .unwrap();
    let hello = next(&mut ws).await;
    assert!(matches!(hello, ServerFrame::Hello { .. }), "{hello:?}");
    (ws, hello)
}

fn refused_with(result: Result<Socket, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("the socket was accepted"),
    }
}

/// The next server frame (bounded wait).
async fn next(ws: &mut Socket) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket is open")
            .expect("a frame");
        match msg {
            Message::Text(text) => return serde_json::from_str(&text).expect("a known frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The close frame the server ends a socket with (bounded wait).
async fn closed_with(ws: &mut Socket) -> tungstenite::protocol::CloseFrame {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => return frame.expect("a close frame"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Frames up to and including the first that `stop` accepts.
async fn until(ws: &mut Socket, stop: impl Fn(&ServerFrame) -> bool) -> Vec<ServerFrame> {
    let mut seen = Vec::new();
    loop {
        let frame = next(ws).await;
        let done = stop(&frame);
        seen.push(frame);
        if done {
            return seen;
        }
    }
}

async fn post(base: &str, body: serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(DEMO_API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
}

fn in_app_only(user: domain::UserId, key: &str, ticket: &str) -> serde_json::Value {
    json!({"type": "ticket_status_changed", "priority": "low", "recipients": {"user_ids": [user]},
           "data": {"ticket_id": ticket, "status": "on_progress"}, "idempotency_key": key})
}

store_test!(the_inbox_streams_live_and_replays_after_a_reconnect, |db| {
    setup_with_api_key(db).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let tech = user_id(db, "tek.karawang1@demo.id").await;
    let token = session(db, "tek.karawang1@demo.id").await;

    // Refused before the upgrade: no cookie, an unknown one, another site, a bad resume id.
    assert_eq!(refused_with(open(srv.addr, None, "").await), 401);
    assert_eq!(refused_with(open(srv.addr, Some("forged"), "").await), 401);
    assert_eq!(
        refused_with(open(srv.addr, Some(&token), "?after=abc").await),
        400
    );
    let mut cross = format!("ws://{}/ws", srv.addr)
        .into_client_request()
        .unwrap();
    cross
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    cross.headers_mut().insert(
        "cookie",
        format!("{}={token}", app::auth::session::COOKIE_NAME)
            .parse()
            .unwrap(),
    );
    match tokio_tungstenite::connect_async(cross).await {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 403),
        other => panic!("cross-site socket: {:?}", other.map(|_| ())),
    }

    let mut ws = open(srv.addr, Some(&token), "").await.unwrap();
    let ServerFrame::Hello {
        unread, deliveries, ..
    } = next(&mut ws).await
    else {
        panic!("hello first")
    };
    assert!(!deliveries, "a technician does not see the delivery log");

    post(&base, in_app_only(tech, "live-1", "TK-L1")).await;
    let frames = until(&mut ws, |f| matches!(f, ServerFrame::Unread { .. })).await;
    let first = match &frames[..] {
        [ServerFrame::Notification { item }, ServerFrame::Unread { count }] => {
            assert!(item.body.contains("TK-L1"), "{}", item.body);
            assert_eq!(*count, unread + 1);
            item.id
        }
        other => panic!("expected the item then the count, got {other:?}"),
    };

    // Disconnected while two more arrive: the resumed socket replays both, in order.
    drop(ws);
    post(&base, in_app_only(tech, "live-2", "TK-L2")).await;
    post(&base, in_app_only(tech, "live-3", "TK-L3")).await;
    eventually("both stored", || async {
        storage::inbox::last_id(db, tech).await.unwrap() > first + 1
    })
    .await;
    let mut ws = open(srv.addr, Some(&token), &format!("?after={first}"))
        .await
        .unwrap();
    match next(&mut ws).await {
        ServerFrame::Hello {
            unread: now, last, ..
        } => {
            assert_eq!(now, unread + 3, "the count includes what is replayed");
            assert_eq!(last, first, "the stream resumes where asked");
        }
        other => panic!("hello first, got {other:?}"),
    }
    let mut replayed = Vec::new();
    while replayed.len() < 2 {
        // (An Unread for these items may come between: their own batch can
        // reach this socket after it caught up.)
        if let ServerFrame::Notification { item } = next(&mut ws).await {
            replayed.push(item.body);
        }
    }
    assert!(replayed[0].contains("TK-L2") && replayed[1].contains("TK-L3"));

    // A socket that saw no notification learns where its stream starts, so
    // its reconnect resumes from there.
    let (_fresh, hello) = signed_in(srv.addr, db, "tek.karawang1@demo.id").await;
    let newest = storage::inbox::last_id(db, tech).await.unwrap();
    assert!(
        matches!(hello, ServerFrame::Hello { last, .. } if last == newest),
        "{hello:?}"
    );

    // Reading everything in another tab reaches this socket.
    let res = reqwest::Client::new()
        .post(format!("{base}/api/inbox/read-all"))
        .header(
            "cookie",
            format!("{}={token}", app::auth::session::COOKIE_NAME),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    until(&mut ws, |f| *f == ServerFrame::Unread { count: 0 }).await;

    // A malformed frame closes that socket with the reason; others go on.
    let mut other = open(srv.addr, Some(&token), "").await.unwrap();
    assert!(matches!(next(&mut other).await, ServerFrame::Hello { .. }));
    ws.send(Message::text("{\"type\":\"shout\"}"))
        .await
        .unwrap();
    let close = closed_with(&mut ws).await;
    assert_eq!(close.code, CloseCode::Unsupported);
    assert!(
        close.reason.starts_with("malformed frame"),
        "{}",
        close.reason
    );
    other
        .send(Message::text("{\"type\":\"ping\"}"))
        .await
        .unwrap();
    // (The read-all's Unread may reach this socket first: it was opened
    // before that batch went out.)
    let seen = until(&mut other, |f| *f == ServerFrame::Pong).await;
    assert!(
        seen.iter()
            .all(|f| matches!(f, ServerFrame::Pong | ServerFrame::Unread { count: 0 })),
        "{seen:?}"
    );

    // A protocol ping gets its pong; a frame over 4 KiB closes the socket.
    other
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = loop {
        match tokio::time::timeout(Duration::from_secs(10), other.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Pong(payload))) => break payload,
            Some(Ok(_)) => continue,
            got => panic!("expected a pong, got {got:?}"),
        }
    };
    assert_eq!(&pong[..], b"are you there");
    other.send(Message::text("x".repeat(5000))).await.unwrap();
    assert_eq!(closed_with(&mut other).await.code, CloseCode::Size);

    // A client may send its first frame in the same write as the upgrade
    // request: the server reads it once the socket is its own.
    let mut tcp = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let ping = br#"{"type":"ping"}"#;
    let mut bytes = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Cookie: {}={token}\r\n\r\n",
        srv.addr,
        app::auth::session::COOKIE_NAME
    )
    .into_bytes();
    // A masked text frame (RFC 6455 5.2), mask key zero.
    bytes.extend([0x81, 0x80 | ping.len() as u8, 0, 0, 0, 0]);
    bytes.extend(ping);
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &bytes)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let read_until_pong = async {
        loop {
            let mut chunk = [0u8; 4096];
            let n = tokio::io::AsyncReadExt::read(&mut tcp, &mut chunk)
                .await
                .unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
            seen.extend(&chunk[..n]);
            if seen.windows(15).any(|w| w == br#"{"type":"pong"}"#) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_until_pong)
        .await
        .expect("a pong within 10 s");
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.starts_with("HTTP/1.1 101"), "{seen}");
    let hello = seen.find(r#""type":"hello""#).expect("a hello");
    assert!(hello < seen.find(r#""type":"pong""#).unwrap(), "{seen}");

    // A signed-out session is refused from then on.
    storage::sessions::delete_session(db, &hex_sha256(&token))
        .await
        .unwrap();
    assert_eq!(refused_with(open(srv.addr, Some(&token), "").await), 401);
    srv.stop().await;
});

store_test!(signing_out_closes_that_browsers_socket_at_once, |db| {
    setup_with_api_key(db).await;
    let srv = spawn_server(db).await;
    let email = "tek.karawang1@demo.id";
    let phone = session(db, email).await;
    let laptop = session(db, email).await;
    let mut on_phone = open(srv.addr, Some(&phone), "").await.unwrap();
    let mut on_laptop = open(srv.addr, Some(&laptop), "").await.unwrap();
    for ws in [&mut on_phone, &mut on_laptop] {
        assert!(matches!(next(ws).await, ServerFrame::Hello { .. }));
    }
    // Sign out on the phone, through the page's own server function.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("http://{}/api/auth/logout", srv.addr))
        .header(
            "cookie",
            format!("{}={phone}", app::auth::session::COOKIE_NAME),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    // The phone's socket closes within seconds, not at the next minute's
    // session check; the laptop's session lives on.
    let started = std::time::Instant::now();
    let frame = closed_with(&mut on_phone).await;
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    on_laptop
        .send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next(&mut on_laptop).await, ServerFrame::Pong);
    srv.stop().await;
});

fn hex_sha256(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

store_test!(delivery_statuses_reach_the_roles_that_see_the_log, |db| {
    setup_with_api_key(db).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    add_account(db, &fonnte, Kind::Fonnte, 1, 10_000, 0, 5_000).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let tech = user_id(db, "tek.karawang1@demo.id").await;

    let (mut manager, hello) = signed_in(srv.addr, db, "manager@demo.id").await;
    assert!(matches!(
        hello,
        ServerFrame::Hello {
            deliveries: true,
            ..
        }
    ));
    let (mut technician, hello) = signed_in(srv.addr, db, "tek.karawang1@demo.id").await;
    assert!(matches!(
        hello,
        ServerFrame::Hello {
            deliveries: false,
            ..
        }
    ));

    post(&base, assignment(tech, "status-1")).await;
    let frames = until(&mut manager, |f| {
        matches!(f, ServerFrame::Deliveries { changes, .. }
            if changes.iter().any(|c| c.status == domain::DeliveryStatus::Sent))
    })
    .await;
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, ServerFrame::Deliveries { added: true, .. })),
        "new rows announced: {frames:?}"
    );
    let sent = match frames.last() {
        Some(ServerFrame::Deliveries { changes, .. }) => changes[0].id,
        _ => unreachable!(),
    };
    let row: String = storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT status FROM deliveries WHERE id = $1"
    )
    .bind(sent)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(row, "sent");

    // The technician got the assignment in the inbox, and no delivery frames
    // (they would have come first: a socket's frames keep their order).
    post(&base, in_app_only(tech, "status-2", "TK-S2")).await;
    let frames = until(
        &mut technician,
        |f| matches!(f, ServerFrame::Notification { item } if item.body.contains("TK-S2")),
    )
    .await;
    assert!(
        !frames
            .iter()
            .any(|f| matches!(f, ServerFrame::Deliveries { .. })),
        "{frames:?}"
    );
    srv.stop().await;
});

/// Two instances on one PostgreSQL database: each claims part of the work,
/// nothing is sent twice, and what one instance does reaches a socket on the
/// other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_the_updates() {
    let Some(t) = storage::db::testing::TestDb::postgres().await else {
        return;
    };
    let db = &t.db;
    setup_with_api_key(db).await;
    let fonnte = Fake::start(Kind::Fonnte).await;
    fonnte.set_delay(Some(Duration::from_millis(5)));
    add_account(db, &fonnte, Kind::Fonnte, 1, 100_000, 0, 5_000).await;
    let other_db = Db::connect(&storage::db::testing::url_of(db).await, 5)
        .await
        .unwrap();
    let a = spawn_server(db).await;
    let b = spawn_server(&other_db).await;
    let tech = user_id(db, "tek.karawang1@demo.id").await;

    // A socket on B hears of an event ingested by A, and of its sends.
    let (mut on_b, _) = signed_in(b.addr, db, "tek.karawang1@demo.id").await;
    let (mut manager_on_b, _) = signed_in(b.addr, db, "manager@demo.id").await;
    post(
        &format!("http://{}", a.addr),
        in_app_only(tech, "two-first", "TK-A0"),
    )
    .await;
    let frames = until(&mut on_b, |f| matches!(f, ServerFrame::Notification { .. })).await;
    assert!(
        matches!(frames.last(), Some(ServerFrame::Notification { item }) if item.body.contains("TK-A0"))
    );

    // Events to both: every WhatsApp message leaves exactly once.
    let events = 120;
    for i in 0..events {
        let srv = if i % 2 == 0 { &a } else { &b };
        let mut body = assignment(tech, &format!("two-{i}"));
        body["data"]["ticket_id"] = json!(format!("TW-{i:04}"));
        post(&format!("http://{}", srv.addr), body).await;
    }
    eventually("every message sent", || async {
        let open: i64 = storage::on_db!(db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE channel = 'whatsapp' AND status NOT IN ('sent','delivered','read','failed')"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        open == 0 && fonnte.count() >= events
    })
    .await;
    let received = fonnte.received();
    let mut tickets: Vec<String> = received
        .iter()
        .filter_map(|r| r.form_field("message"))
        .filter_map(|m| m.split("TW-").nth(1).map(|t| t[..4].to_owned()))
        .collect();
    assert_eq!(tickets.len() as u64, events, "one request per message");
    tickets.sort();
    tickets.dedup();
    assert_eq!(tickets.len() as u64, events, "no message sent twice");
    let (by_a, by_b) = (
        a.claimed.load(Ordering::Relaxed),
        b.claimed.load(Ordering::Relaxed),
    );
    assert!(
        by_a > 0 && by_b > 0,
        "both instances worked: A {by_a}, B {by_b}"
    );
    assert_eq!(by_a + by_b, events, "each message claimed once");

    // The manager on B saw sends that A made (B's own feed alone cannot say
    // which; the total proves some came from A's notifications).
    let mut seen = std::collections::HashSet::new();
    while (seen.len() as u64) < events {
        if let ServerFrame::Deliveries { changes, .. } = next(&mut manager_on_b).await {
            seen.extend(
                changes
                    .iter()
                    .filter(|c| c.status == domain::DeliveryStatus::Sent)
                    .map(|c| c.id),
            );
        }
    }
    a.stop().await;
    b.stop().await;
    other_db.close().await;
    t.close().await;
}

/// Posts `body` with API key `key`; answers the status.
async fn post_with(base: &str, key: &str, body: serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

// A revoke announced on the feed empties every instance's key cache: the
// key, verified (and cached for 30 s) a moment before, is refused within
// `eventually`'s 10 s — here on one instance, below across two.
store_test!(a_revoked_api_key_is_refused_at_once, |db| {
    setup_with_api_key(db).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let tech = user_id(db, "tek.karawang1@demo.id").await;
    let cli = storage::audit::Actor::cli();
    let (id, key) = storage::api_keys::create(db, &cli, "lama").await.unwrap();
    let event = |n: u32| in_app_only(tech, &format!("revoke-{n}"), "TK-R");
    assert_eq!(post_with(&base, &key, event(1)).await, 202);
    storage::api_keys::revoke(db, &cli, id, storage::now_ms())
        .await
        .unwrap();
    srv.feed.key_revoked();
    let mut n = 1;
    eventually("the revoked key is refused", || {
        n += 1;
        let (base, key, body) = (base.clone(), key.clone(), event(n));
        async move { post_with(&base, &key, body).await == 401 }
    })
    .await;
    // The demo key, never revoked, still works after the cache was emptied.
    post(&base, in_app_only(tech, "revoke-demo", "TK-R")).await;
    srv.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_instance_is_refused_by_the_other_at_once() {
    let Some(t) = storage::db::testing::TestDb::postgres().await else {
        return;
    };
    let db = &t.db;
    setup_with_api_key(db).await;
    let other_db = Db::connect(&storage::db::testing::url_of(db).await, 5)
        .await
        .unwrap();
    let a = spawn_server(db).await;
    let b = spawn_server(&other_db).await;
    let on_b = format!("http://{}", b.addr);
    let tech = user_id(db, "tek.karawang1@demo.id").await;
    let cli = storage::audit::Actor::cli();
    let (id, key) = storage::api_keys::create(db, &cli, "lama").await.unwrap();
    let event = |n: u32| in_app_only(tech, &format!("revoke-b-{n}"), "TK-RB");
    assert_eq!(
        post_with(&on_b, &key, event(1)).await,
        202,
        "B has verified it"
    );
    storage::api_keys::revoke(db, &cli, id, storage::now_ms())
        .await
        .unwrap();
    a.feed.key_revoked();
    let mut n = 1;
    eventually("B refuses the key A revoked", || {
        n += 1;
        let (base, key, body) = (on_b.clone(), key.clone(), event(n));
        async move { post_with(&base, &key, body).await == 401 }
    })
    .await;
    a.stop().await;
    b.stop().await;
}
