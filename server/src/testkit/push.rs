//! A web push service on loopback, doing what a browser vendor's push service
//! and the browser between them do with a push:
//!
//! - the push service's checks: `POST /push/{id}` for a live subscription
//!   (else 410 Gone), `TTL` present, `Content-Encoding: aes128gcm`, and the
//!   VAPID `Authorization` (RFC 8292): an ES256 JWT that `k` verifies, `aud`
//!   its own origin, `exp` in the future and at most 24 hours ahead, `sub`
//!   set, and `k` the key the subscription was made with (403 otherwise);
//!   an accepted push answers 201 Created with a `Location`;
//! - the browser's part: decrypting the body (RFC 8291) with the
//!   subscription's private key and auth secret, which only the fake knows.
//!
//! A test makes subscriptions (`subscribe`, or `POST /subscribe` from a page
//! standing in for `PushManager.subscribe`), scripts answers per subscription
//! (`answer`), and reads what arrived decrypted (`received`, `GET /messages`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

struct FakeSubscription {
    secret: web_push_native::p256::SecretKey,
    auth: [u8; 16],
    /// The `applicationServerKey` it was made with (base64url).
    server_key: String,
}

/// A push as the browser would get it.
#[derive(Debug, Clone, Serialize)]
pub struct Arrived {
    pub subscription: String,
    pub plaintext: String,
    pub ttl: String,
    pub urgency: String,
    /// The VAPID claims it came with.
    pub claims: Value,
}

#[derive(Default)]
struct Inner {
    base: String,
    subs: Mutex<HashMap<String, FakeSubscription>>,
    arrived: Mutex<Vec<Arrived>>,
    /// Refusals, oldest first, of every push that was not accepted.
    refused: Mutex<Vec<(u16, String)>>,
    /// Scripted HTTP statuses per subscription (then 201 again).
    script: Mutex<HashMap<String, VecDeque<u16>>>,
    next: AtomicU64,
}

#[derive(Clone)]
pub struct PushService {
    pub base: String,
    inner: Arc<Inner>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl PushService {
    pub async fn start() -> PushService {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind push fake");
        Self::serve(listener)
    }

    /// Serves on `listener` (the end-to-end tests' fixed port).
    pub fn serve(listener: tokio::net::TcpListener) -> PushService {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let inner = Arc::new(Inner {
            base: base.clone(),
            next: AtomicU64::new(1),
            ..Inner::default()
        });
        let router = Router::new()
            .route("/push/{id}", post(push))
            .route("/subscribe", post(subscribe_route))
            .route("/messages", get(messages))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        PushService {
            base,
            inner,
            task: Arc::new(task),
        }
    }

    /// A new browser subscription made with `server_key`, in the shape of
    /// `PushSubscription.toJSON()`.
    pub fn subscribe(&self, server_key: &str) -> Value {
        make_subscription(&self.inner, server_key)
    }

    /// The next answers to pushes for the subscription at `endpoint`.
    pub fn answer(&self, endpoint: &str, statuses: &[u16]) {
        let id = endpoint.rsplit('/').next().unwrap_or_default().to_owned();
        self.inner
            .script
            .lock()
            .unwrap()
            .entry(id)
            .or_default()
            .extend(statuses);
    }

    pub fn received(&self) -> Vec<Arrived> {
        self.inner.arrived.lock().unwrap().clone()
    }

    pub fn refused(&self) -> Vec<(u16, String)> {
        self.inner.refused.lock().unwrap().clone()
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

fn make_subscription(inner: &Inner, server_key: &str) -> Value {
    let mut bytes = [0u8; 32];
    let secret = loop {
        getrandom::fill(&mut bytes).expect("random");
        if let Ok(k) = web_push_native::p256::SecretKey::from_slice(&bytes) {
            break k;
        }
    };
    let mut auth = [0u8; 16];
    getrandom::fill(&mut auth).expect("random");
    let public = {
        use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
        secret.public_key().to_encoded_point(false)
    };
    let id = format!("s{}", inner.next.fetch_add(1, Ordering::Relaxed));
    let json = json!({
        "endpoint": format!("{}/push/{id}", inner.base),
        "expirationTime": null,
        "keys": {
            "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
            "auth": URL_SAFE_NO_PAD.encode(auth),
        }
    });
    inner.subs.lock().unwrap().insert(
        id,
        FakeSubscription {
            secret,
            auth,
            server_key: server_key.to_owned(),
        },
    );
    json
}

async fn subscribe_route(State(inner): State<Arc<Inner>>, Json(body): Json<Value>) -> Response {
    match body["applicationServerKey"].as_str() {
        Some(key) if !key.is_empty() => Json(make_subscription(&inner, key)).into_response(),
        _ => (StatusCode::BAD_REQUEST, "applicationServerKey is required").into_response(),
    }
}

async fn messages(State(inner): State<Arc<Inner>>) -> Json<Vec<Arrived>> {
    Json(inner.arrived.lock().unwrap().clone())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Checks `vapid t=…, k=…` as a push service does; the claims, or why not.
fn check_vapid(
    authorization: &str,
    origin: &str,
    key: &str,
    now_s: i64,
) -> Result<Value, (u16, String)> {
    let unauthorized = |m: &str| (401, m.to_owned());
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or_else(|| unauthorized("Authorization must use the vapid scheme"))?;
    let mut token = None;
    let mut k = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => token = Some(v),
            Some(("k", v)) => k = Some(v),
            _ => {}
        }
    }
    let (token, k) = token
        .zip(k)
        .ok_or_else(|| unauthorized("vapid needs t= and k="))?;
    if k != key {
        return Err((
            403,
            "the VAPID key is not the one this subscription was made with".into(),
        ));
    }
    let verifying = URL_SAFE_NO_PAD
        .decode(k)
        .ok()
        .and_then(|b| VerifyingKey::from_sec1_bytes(&b).ok())
        .ok_or_else(|| unauthorized("k is not a P-256 public key"))?;
    let (signed, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| unauthorized("t is not a JWT"))?;
    let (header, claims) = signed
        .split_once('.')
        .ok_or_else(|| unauthorized("t is not a JWT"))?;
    let decode_json = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let header = decode_json(header).ok_or_else(|| unauthorized("bad JWT header"))?;
    if header["alg"] != "ES256" {
        return Err(unauthorized("the JWT must be ES256"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| unauthorized("bad JWT signature encoding"))?;
    verifying
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| unauthorized("the JWT signature does not verify"))?;
    let claims = decode_json(claims).ok_or_else(|| unauthorized("bad JWT claims"))?;
    if claims["aud"] != origin {
        return Err(unauthorized(&format!("aud must be {origin}")));
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if exp <= now_s || exp > now_s + 24 * 3600 {
        return Err(unauthorized("exp must be within the next 24 hours"));
    }
    if !claims["sub"]
        .as_str()
        .is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https:"))
    {
        return Err(unauthorized("sub must be a mailto: or https: contact"));
    }
    Ok(claims)
}

async fn push(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse = |status: u16, reason: String| {
        inner.refused.lock().unwrap().push((status, reason.clone()));
        (StatusCode::from_u16(status).unwrap(), reason).into_response()
    };
    let scripted = inner
        .script
        .lock()
        .unwrap()
        .get_mut(&id)
        .and_then(VecDeque::pop_front);
    if let Some(status) = scripted.filter(|s| *s != 201) {
        if matches!(status, 404 | 410) {
            inner.subs.lock().unwrap().remove(&id);
        }
        return refuse(status, format!("scripted {status}"));
    }
    let (secret, auth, server_key) = {
        let subs = inner.subs.lock().unwrap();
        match subs.get(&id) {
            Some(s) => (s.secret.clone(), s.auth, s.server_key.clone()),
            None => return refuse(410, "push subscription has unsubscribed or expired".into()),
        }
    };
    let ttl = header(&headers, "ttl").to_owned();
    if ttl.parse::<u64>().is_err() {
        return refuse(400, "TTL header is required".into());
    }
    if header(&headers, "content-encoding") != "aes128gcm" {
        return refuse(400, "Content-Encoding must be aes128gcm".into());
    }
    if body.len() > 4096 {
        return refuse(413, "payload larger than 4096 bytes".into());
    }
    let now_s = chrono::Utc::now().timestamp();
    let claims = match check_vapid(
        header(&headers, "authorization"),
        &inner.base,
        &server_key,
        now_s,
    ) {
        Ok(c) => c,
        Err((status, reason)) => return refuse(status, reason),
    };
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    let plaintext = match web_push_native::decrypt(body.to_vec(), &secret, &auth) {
        Ok(p) => p,
        Err(e) => return refuse(400, format!("cannot decrypt: {e}")),
    };
    let n = inner.next.fetch_add(1, Ordering::Relaxed);
    inner.arrived.lock().unwrap().push(Arrived {
        subscription: format!("{}/push/{id}", inner.base),
        plaintext: String::from_utf8_lossy(&plaintext).into_owned(),
        ttl,
        urgency: header(&headers, "urgency").to_owned(),
        claims,
    });
    (
        StatusCode::CREATED,
        [("location", format!("{}/message/m{n}", inner.base))],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    /// The fake decrypts as a browser does: RFC 8291's worked example
    /// (section 5 / appendix A), with the user agent's private key.
    #[test]
    fn the_fake_decrypts_the_rfc_8291_example() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let d = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
        let ua_private = web_push_native::p256::SecretKey::from_slice(&d(
            "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
        ))
        .unwrap();
        let auth = web_push_native::Auth::clone_from_slice(&d("BTBZMqHH6r4Tts7J_aSIgg"));
        let body = d(concat!(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml",
            "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT",
            "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        ));
        let plain = web_push_native::decrypt(body.clone(), &ua_private, &auth).unwrap();
        assert_eq!(plain, b"When I grow up, I want to be a watermelon");
        // One flipped bit of ciphertext and it does not decrypt.
        let mut bad = body;
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(web_push_native::decrypt(bad, &ua_private, &auth).is_err());
    }
}
