//! The bare PostgreSQL pipeline (`loadtest --bare`): the least a durable
//! outbox on PostgreSQL must do, as the yardstick for the product's
//! dispatcher (issue #26). One process: an axum endpoint that writes each
//! event and its deliveries in one transaction, one worker that claims up to
//! 100 due rows with `FOR UPDATE SKIP LOCKED`, sends them to the same fake
//! Fonnte the product's run uses, and marks the batch's outcomes in one
//! `UPDATE … FROM unnest(…)`. No routing, templates, in-app rows, tries or
//! delivery-log indexes: what is left is the database's own cost.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::future::join_all;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const SCHEMA: &[&str] = &[
    "DROP TABLE IF EXISTS bare_deliveries",
    "DROP TABLE IF EXISTS bare_events",
    "CREATE TABLE bare_events (id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL,
         idempotency_key TEXT, kind TEXT NOT NULL, data TEXT NOT NULL, created_at BIGINT NOT NULL,
         UNIQUE (source, idempotency_key))",
    "CREATE TABLE bare_deliveries (id BIGSERIAL PRIMARY KEY,
         event_id BIGINT NOT NULL REFERENCES bare_events (id), recipient TEXT NOT NULL,
         message TEXT NOT NULL, status TEXT NOT NULL, attempts INT NOT NULL DEFAULT 0,
         next_attempt_at BIGINT, locked_by TEXT, lease_expires_at BIGINT,
         provider_message_id TEXT, sent_at BIGINT)",
    "CREATE INDEX bare_deliveries_due ON bare_deliveries (next_attempt_at) WHERE status = 'queued'",
    "CREATE INDEX bare_deliveries_event ON bare_deliveries (event_id)",
];

struct Bare {
    pool: PgPool,
    wake: Notify,
    /// The recipients' numbers, as Fonnte takes them.
    targets: Vec<String>,
    api_key: String,
}

/// Creates the bare tables afresh and serves the endpoint and the worker on
/// loopback; answers the endpoint's address and the pool (closing it stops
/// the worker).
pub async fn start(
    url: &str,
    fanout: usize,
    pool: u32,
    api_key: &str,
    gateway: String,
    token: &str,
) -> Result<(SocketAddr, PgPool), String> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(pool)
        .connect(url)
        .await
        .map_err(|e| e.to_string())?;
    for sql in SCHEMA {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    let bare = Arc::new(Bare {
        pool,
        wake: Notify::new(),
        targets: (0..fanout)
            .map(|i| format!("62812{:08}", 10_000_000 + i))
            .collect(),
        api_key: api_key.to_owned(),
    });
    let app = Router::new()
        .route("/api/v1/events", post(ingest))
        .with_state(bare.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let pool = bare.pool.clone();
    tokio::spawn(work(bare, gateway, token.to_owned()));
    Ok((addr, pool))
}

async fn ingest(
    State(bare): State<Arc<Bare>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(bare.api_key.as_str());
    if !authorised {
        return StatusCode::UNAUTHORIZED;
    }
    let ticket = body["data"]["ticket_id"].as_str().unwrap_or("?");
    let message = format!("*Tiket baru: {ticket}*\nPelanggan: Pelanggan\nAlamat: Jl. Contoh 1");
    match write(&bare, &body, &message).await {
        Ok(()) => {
            bare.wake.notify_one();
            StatusCode::ACCEPTED
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn write(bare: &Bare, body: &serde_json::Value, message: &str) -> Result<(), sqlx::Error> {
    let now = storage::now_ms();
    let mut tx = bare.pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO bare_events (source, idempotency_key, kind, data, created_at)
         VALUES ('loadtest', $1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(body["idempotency_key"].as_str())
    .bind(body["type"].as_str().unwrap_or(""))
    .bind(body["data"].to_string())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = id {
        let messages = vec![message; bare.targets.len()];
        sqlx::query(
            "INSERT INTO bare_deliveries (event_id, recipient, message, status, next_attempt_at)
             SELECT $1, r, m, 'queued', $2 FROM unnest($3::text[], $4::text[]) AS u(r, m)",
        )
        .bind(id)
        .bind(now)
        .bind(&bare.targets)
        .bind(&messages)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Claims, sends and marks in batches of up to 100 until the pool is closed.
async fn work(bare: Arc<Bare>, gateway: String, token: String) {
    let client = reqwest::Client::new();
    while !bare.pool.is_closed() {
        let now = storage::now_ms();
        let claimed: Vec<(i64, String, String)> = match sqlx::query_as(
            "UPDATE bare_deliveries SET status = 'sending', attempts = attempts + 1,
                 locked_by = 'bare', lease_expires_at = $1
             WHERE id IN (SELECT id FROM bare_deliveries WHERE status = 'queued'
                          AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT 100
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, recipient, message",
        )
        .bind(now + 60_000)
        .bind(now)
        .fetch_all(&bare.pool)
        .await
        {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("bare claim: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            let _ = tokio::time::timeout(Duration::from_millis(100), bare.wake.notified()).await;
            continue;
        }
        let sends = claimed.iter().map(|(id, target, message)| {
            let request = client
                .post(format!("{gateway}/send"))
                .header("Authorization", &token)
                .form(&[
                    ("target", target.as_str()),
                    ("message", message),
                    ("countryCode", "62"),
                ]);
            async move {
                let answer: Option<serde_json::Value> = match request.send().await {
                    Ok(r) => r.json().await.ok(),
                    Err(_) => None,
                };
                let message_id = answer.as_ref().and_then(|a| a["id"][0].as_i64());
                (*id, message_id.map(|m| m.to_string()))
            }
        });
        let results = join_all(sends).await;
        let (ids, message_ids): (Vec<i64>, Vec<Option<String>>) = results.into_iter().unzip();
        let marked = sqlx::query(
            "UPDATE bare_deliveries AS d SET status = CASE WHEN u.mid IS NULL THEN 'failed' ELSE 'sent' END,
                 provider_message_id = u.mid, sent_at = $1, locked_by = NULL, lease_expires_at = NULL
             FROM unnest($2::bigint[], $3::text[]) AS u(id, mid) WHERE d.id = u.id",
        )
        .bind(storage::now_ms())
        .bind(&ids)
        .bind(&message_ids)
        .execute(&bare.pool)
        .await;
        if let Err(e) = marked {
            eprintln!("bare mark: {e}");
        }
    }
}
