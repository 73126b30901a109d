//! The accept loop: each connection served by hyper as HTTP/1.1, with
//! upgrades, until shutdown; then the open requests finish.
//!
//! Not `axum::serve`: its protocol detection wraps each connection in a
//! private type, and the live sockets need the upgraded `TcpStream` itself,
//! so the fan-out can write frames into it directly (see `live::peer`).

use axum::http::{HeaderName, HeaderValue};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How connections are served ([`serve`]).
pub struct Serving {
    /// Reverse proxies whose `X-Forwarded-For` and `X-Request-Id` are
    /// believed (`TRUSTED_PROXIES`).
    pub proxies: Arc<Vec<IpNet>>,
    /// At shutdown, how long open requests may finish.
    pub grace: Duration,
}

/// The id of one request: in its log lines (the request span) and in the
/// response's `X-Request-Id`; a trusted proxy's own id is kept.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

pub async fn serve(
    listener: TcpListener,
    router: Router,
    serving: Serving,
    stop: CancellationToken,
) {
    let connections = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // That one connection failed before it was accepted.
                Err(e) if matches!(
                    e.kind(),
                    ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
                ) => continue,
                Err(e) => {
                    // Out of descriptors, say: wait for some to close
                    // instead of spinning on the error.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Small frames go out at once: without this, a live socket's second
        // frame in a row (a notification, then the unread count) waits for
        // the browser's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        let router = router.clone();
        let proxies = serving.proxies.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (req, id) = identify(req, peer.ip(), &proxies);
                let router = router.clone();
                async move {
                    let mut response = tower::ServiceExt::oneshot(router, req).await?;
                    response.headers_mut().insert(X_REQUEST_ID, id.0);
                    Ok::<_, std::convert::Infallible>(response)
                }
            },
        ));
        let stop = stop.clone();
        connections.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            tokio::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                tracing::debug!("connection: {e}");
            }
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(serving.grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            "shutdown: requests still open after the grace are cut"
        );
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Each request learns who sent it (sign-in back-off, logs) and its id.
fn identify(
    mut req: hyper::Request<hyper::body::Incoming>,
    peer: IpAddr,
    proxies: &[IpNet],
) -> (hyper::Request<hyper::body::Incoming>, RequestId) {
    let from_proxy = trusted(peer, proxies);
    let client = if from_proxy {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        client_behind(peer, &forwarded.join(","), proxies)
    } else {
        peer
    };
    let id = req
        .headers()
        .get(X_REQUEST_ID)
        .filter(|v| from_proxy && acceptable_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(new_request_id);
    let id = RequestId(id);
    req.extensions_mut()
        .insert(app::auth::throttle::ClientAddr(client));
    req.extensions_mut().insert(id.clone());
    (req, id)
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The client of a request that came through trusted proxies: walking
/// `X-Forwarded-For` from the right (each proxy appends the address it was
/// reached from), the first address that is not one of ours. Anything to
/// its left was written by the client itself and proves nothing.
pub fn client_behind(peer: IpAddr, forwarded: &str, proxies: &[IpNet]) -> IpAddr {
    let mut client = peer;
    for hop in forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(ip, proxies) {
                    break;
                }
            }
            // A malformed hop: the last good one is as far as we can trust.
            Err(_) => break,
        }
    }
    client
}

/// A proxy's request id is kept when short and plain (it is logged).
fn acceptable_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn new_request_id() -> HeaderValue {
    HeaderValue::from_str(&format!("{:016x}", fastrand::u64(..))).expect("hex digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &str) -> Vec<IpNet> {
        crate::config::parse_proxies(list).unwrap()
    }

    #[test]
    fn the_client_is_the_first_address_from_the_right_that_is_not_a_proxy() {
        let proxies = nets("10.0.0.0/8, 192.168.1.7");
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A client's own claim left of the real hop is ignored.
        assert_eq!(
            client_behind(peer, "1.2.3.4, 203.0.113.9, 192.168.1.7", &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_behind(peer, "203.0.113.9", &proxies),
            ip("203.0.113.9")
        );
        // Nothing forwarded, or only proxies: the nearest one.
        assert_eq!(client_behind(peer, "", &proxies), peer);
        assert_eq!(client_behind(peer, "10.1.1.1", &proxies), ip("10.1.1.1"));
        // A malformed hop stops the walk at the last good address.
        assert_eq!(
            client_behind(peer, "203.0.113.9, garbage, 10.1.1.1", &proxies),
            ip("10.1.1.1")
        );
        assert_eq!(
            client_behind(peer, "2001:db8::1", &proxies),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn a_proxys_request_id_is_kept_only_when_short_and_plain() {
        assert!(acceptable_id(b"a1b2-c3_d4.e5"));
        assert!(!acceptable_id(b""));
        assert!(!acceptable_id(b"has space"));
        assert!(!acceptable_id(b"line\nbreak"));
        assert!(!acceptable_id(&[b'a'; 65]));
        assert_eq!(new_request_id().len(), 16);
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        assert_eq!(nets("10.0.0.5").len(), 1);
        assert!(trusted("10.0.0.5".parse().unwrap(), &nets("10.0.0.5")));
        assert!(!trusted("10.0.0.6".parse().unwrap(), &nets("10.0.0.5")));
        assert!(trusted(
            "fd00::1".parse().unwrap(),
            &nets("fd00::/8, 127.0.0.1")
        ));
        assert!(crate::config::parse_proxies("10.0.0.0/33").is_err());
        assert!(crate::config::parse_proxies("proxy.local").is_err());
        assert!(nets(" , ").is_empty());
    }
}
