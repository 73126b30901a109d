//! Helpers for the server's integration tests: demo data, provider accounts
//! pointing at the fakes, ingestion without HTTP, and stepping the dispatcher
//! by hand so tests never sleep on a poll interval.

#![allow(dead_code)]

use server::dispatcher::{Dispatcher, DispatcherConfig};
use server::ingest::{plan, request};
use server::testkit::fakes::{self, Fake, Kind};
use std::sync::Arc;
use std::time::Duration;
use storage::db::Db;
use storage::now_ms;
use storage::outbox::{self as store, Inserted, NewEvent};
use storage::seed;
use storage::{on_db, on_db_write};
use tokio::sync::Notify;

/// Demo data, with the sandbox switched off so only the fakes send.
pub async fn setup(db: &Db) {
    seed::ensure_reference_data(db).await.unwrap();
    seed::ensure_demo_data(db).await.unwrap();
    on_db_write!(db, |pool| sqlx::query(
        "UPDATE provider_accounts SET enabled = FALSE WHERE kind = 'sandbox'"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
}

pub async fn user_id(db: &Db, email: &str) -> domain::UserId {
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE email = $1"
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap())
}

pub fn credentials(kind: Kind) -> serde_json::Value {
    match kind {
        Kind::Fonnte => {
            serde_json::json!({"token": fakes::FONNTE_TOKEN, "webhook_token": "fonnte-hook-5f2c1a9e7b3d4c6a8e0f1b2d"})
        }
        Kind::Wablas => {
            serde_json::json!({"token": fakes::WABLAS_TOKEN, "secret": fakes::WABLAS_SECRET, "webhook_token": "wablas-hook-9a8b7c6d5e4f3a2b1c0d9e8f"})
        }
        Kind::Woowa => serde_json::json!({"key": fakes::WOOWA_KEY}),
        Kind::Meta => {
            serde_json::json!({"access_token": fakes::META_TOKEN, "phone_number_id": fakes::META_PHONE_ID,
                                         "waba_id": fakes::META_WABA_ID, "api_version": "v21.0", "app_secret": "meta-app-secret", "verify_token": "meta-verify"})
        }
        Kind::Zenziva => {
            serde_json::json!({"userkey": fakes::ZENZIVA_USERKEY, "passkey": fakes::ZENZIVA_PASSKEY})
        }
        Kind::Twilio | Kind::TwilioVoice => {
            serde_json::json!({"account_sid": fakes::TWILIO_SID, "auth_token": fakes::TWILIO_TOKEN, "from": "+15005550006"})
        }
    }
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Fonnte => "fonnte",
        Kind::Wablas => "wablas",
        Kind::Woowa => "woowa",
        Kind::Meta => "meta",
        Kind::Zenziva => "zenziva",
        Kind::Twilio => "twilio",
        Kind::TwilioVoice => "twilio_voice",
    }
}

/// Adds an account for `fake`; returns its id.
pub async fn add_account(
    db: &Db,
    fake: &Fake,
    kind: Kind,
    order: i64,
    per_minute: i64,
    price: i64,
    timeout_ms: i64,
) -> i64 {
    let name = format!("{} #{order}", kind_name(kind));
    let base_url = match kind {
        // Zenziva's path starts with the product ("reguler").
        Kind::Zenziva => format!("{}/reguler/api", fake.base),
        _ => fake.base.clone(),
    };
    let credentials = credentials(kind).to_string();
    let account = storage::providers::NewAccount {
        base_url: Some(&base_url),
        credentials: &credentials,
        failover_order: order,
        rate_limit_per_minute: per_minute,
        price_rupiah: price,
        timeout_ms,
        ..storage::providers::NewAccount::new(
            &name,
            server::providers::ProviderKind::parse(kind_name(kind)).unwrap(),
        )
    };
    storage::providers::insert(db, &account, now_ms())
        .await
        .unwrap()
        .0
}

/// Routes, renders and writes an event as the API would (source `test`).
pub async fn ingest(
    db: &Db,
    body: serde_json::Value,
) -> Result<Inserted, Vec<request::FieldProblem>> {
    let event = request::parse(&body, None)?;
    let cache = plan::ReferenceCache::new(db.clone(), Duration::ZERO);
    let reference = cache.get().await.unwrap();
    let prepared = plan::prepare(
        db,
        &reference,
        &event,
        chrono::Utc::now(),
        &plan::Links::new(
            "http://localhost:3000",
            storage::keys::ack_links::LinkKey::load_or_create(
                db,
                &server::testkit::keys(),
                now_ms(),
            )
            .await
            .unwrap(),
        ),
    )
    .await
    .unwrap()?;
    let new_event = NewEvent {
        source: "test".into(),
        idempotency_key: event.idempotency_key.clone(),
        kind: event.kind.into(),
        priority: event.priority,
        work_zone: event.work_zone.clone(),
        recipients: event.recipients_json.to_string(),
        data: serde_json::to_string(&event.data).unwrap(),
        alert: prepared.alert,
        digest: prepared.digest,
    };
    Ok(store::insert_event(
        db,
        &new_event,
        &prepared.deliveries,
        &prepared.inbox,
        now_ms(),
    )
    .await
    .unwrap())
}

pub fn dispatcher(db: &Db) -> Dispatcher {
    Dispatcher::new(
        db.clone(),
        server::testkit::keys(),
        Arc::new(Notify::new()),
        storage::feed::Feed::new(),
        DispatcherConfig {
            // The push service fake listens on loopback.
            push_loopback: true,
            ..DispatcherConfig::default()
        },
    )
}

/// Claims everything due now, attempts it and records the outcomes; returns
/// how many were attempted.
pub async fn step(d: &Dispatcher) -> usize {
    step_at(d, now_ms()).await
}

pub async fn step_at(d: &Dispatcher, now: i64) -> usize {
    d.accounts.invalidate();
    let claimed = store::claim(&d.db, &d.worker_id, now, 60_000, 1000)
        .await
        .unwrap();
    let mut results = Vec::new();
    for c in &claimed {
        results.push(d.attempt(c).await);
    }
    store::record(&d.db, &results, now_ms()).await.unwrap();
    store::replay_early(&d.db, &store::sent_ids(&results))
        .await
        .unwrap();
    claimed.len()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub message: String,
    pub status: String,
    pub attempts: i64,
    pub provider: Option<String>,
    pub provider_account_id: Option<i64>,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub cost_rupiah: i64,
    pub next_attempt_at: Option<i64>,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
}

pub async fn deliveries(db: &Db, event_id: i64) -> Vec<Row> {
    on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, channel, recipient, message, status, attempts, provider, provider_account_id, provider_message_id,
                error, cost_rupiah, next_attempt_at, user_id, group_id
         FROM deliveries WHERE event_id = $1 ORDER BY id"
    )
    .bind(event_id)
    .fetch_all(pool)
    .await
    .unwrap()
    })
}

#[allow(unused_imports)] // (not every test binary counts rows)
pub use storage::db::testing::count;

/// The number of the demo technician the tests address (tek.karawang1).
pub const BUDI_PHONE: &str = "+6281200000005";

/// As if `phone` had just written to Meta account `account`: its 24-hour
/// window is open, so Meta may send free text to it.
pub async fn open_window(db: &Db, account: i64, phone: &str) {
    storage::window::record_inbound(db, account, phone, now_ms())
        .await
        .unwrap();
}

/// `sql`'s one number, with `$1` bound to `id`.
pub async fn count_where(db: &Db, sql: &'static str, id: i64) -> i64 {
    on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap())
}

/// A delivery's tries as kept: (attempt, account, HTTP status, outcome), in
/// the order tried.
pub async fn tries(db: &Db, delivery: i64) -> Vec<(i64, Option<i64>, Option<i64>, String)> {
    on_db!(db, |pool| sqlx::query_as(
        "SELECT attempt, account_id, http_status, outcome FROM delivery_tries
         WHERE delivery_id = $1 ORDER BY id"
    )
    .bind(delivery)
    .fetch_all(pool)
    .await
    .unwrap())
}

/// A ticket assignment to one technician: WhatsApp + in-app.
pub fn assignment(user_id: domain::UserId, key: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "ticket_assigned", "priority": "medium", "work_zone": "karawang",
        "recipients": {"user_ids": [user_id]},
        "data": {"ticket_id": "TK-1", "customer_name": "Ibu *Siti*", "customer_phone": "0812-3456-7890",
                 "address": "Jl. Tuparev 1", "location": "ODP-KRW-01", "issue_type": "LOS",
                 "sla_deadline": "16:00", "ticket_url": "https://tiket.example/TK-1"},
        "idempotency_key": key
    })
}

/// The whole server on 127.0.0.1:0 over `db`, dispatcher included.
pub async fn spawn_server(db: &Db) -> server::Running {
    let dispatcher = DispatcherConfig {
        poll: Duration::from_millis(50),
        ..DispatcherConfig::default()
    };
    server::testkit::start_on_loopback(db.clone(), Some(dispatcher))
        .await
        .unwrap()
}

/// [`setup`] plus the demo API key, for tests that post to the API.
pub async fn setup_with_api_key(db: &Db) {
    setup(db).await;
    server::api_keys::insert(db, "test", server::DEMO_API_KEY, None)
        .await
        .unwrap();
}

/// Waits (bounded) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Turns every provider account off (a test then adds the fakes it wants).
pub async fn disable_all_accounts(db: &Db) {
    on_db_write!(db, |pool| sqlx::query(
        "UPDATE provider_accounts SET enabled = FALSE"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
}

/// Makes a queued delivery due now (its backoff passed).
pub async fn make_due(db: &Db, id: i64) {
    on_db_write!(db, |pool| sqlx::query(
        "UPDATE deliveries SET next_attempt_at = 0 WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
}

/// The WhatsApp (personal) delivery of an event.
pub async fn whatsapp_row(db: &Db, event_id: i64) -> Row {
    deliveries(db, event_id)
        .await
        .into_iter()
        .find(|r| r.channel == "whatsapp")
        .expect("a WhatsApp delivery")
}

/// Meta's `X-Hub-Signature-256` of `body` under `secret`.
pub fn sign(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The messages a Meta fake was asked to send (not its template lists).
pub fn meta_sends(meta: &Fake) -> Vec<serde_json::Value> {
    meta.received()
        .iter()
        .filter(|r| r.path.ends_with("/messages"))
        .map(|r| r.json())
        .collect()
}

/// Meta's webhook envelope around a change's `value` (its `statuses` or
/// `messages`).
pub fn meta_change(value: serde_json::Value) -> String {
    let mut value = value;
    value["messaging_product"] = serde_json::json!("whatsapp");
    serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA",
        "changes": [{"field": "messages", "value": value}]}]})
    .to_string()
}

/// Posts `body` to Meta account `account`'s webhook on `srv`, signed with
/// the test accounts' app secret; answers the HTTP status.
pub async fn post_meta(srv: &server::Running, account: i64, body: String) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("http://{}/webhooks/meta/{account}", srv.addr))
        .header("x-hub-signature-256", sign("meta-app-secret", &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}
