//! Liveness and readiness, for a load balancer or an orchestrator.
//!
//! - `/healthz`: the process answers (liveness; nothing else is checked,
//!   so a restart is not ordered for a database outage it cannot fix).
//! - `/readyz`: this instance can do its work: the database takes a write
//!   through the path every write takes, every migration this build knows
//!   is applied, and the dispatcher (where one runs) has claimed from the
//!   database or started sends within the last minute. 200 with each
//!   check's state, or 503 naming what failed; never cached.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use storage::db::Db;

/// A dispatcher silent for longer than this is stalled (it claims at least
/// every poll interval, half a second, when idle).
pub const STALLED_AFTER_MS: i64 = 60_000;

#[derive(Clone)]
pub struct Health {
    pub db: Db,
    /// The dispatcher's last beat (`None`: this instance runs none).
    pub heartbeat: Option<Arc<AtomicI64>>,
    /// When this instance started (ms): a dispatcher gets a minute for its
    /// first beat.
    pub started_at: i64,
}

pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(health)
}

/// A dispatcher's state from its last beat.
pub fn dispatcher_state(last_beat: i64, started_at: i64, now: i64) -> Result<(), String> {
    let since = if last_beat == 0 {
        started_at
    } else {
        last_beat
    };
    let silent = now - since;
    if silent > STALLED_AFTER_MS {
        Err(format!("stalled: no claim or send for {} s", silent / 1000))
    } else {
        Ok(())
    }
}

async fn readyz(State(h): State<Health>) -> Response {
    let now = storage::now_ms();
    let database =
        h.db.check_writes(now)
            .await
            .map_err(|e| format!("refuses writes: {e}"));
    let migrations = match h.db.schema_current().await {
        Ok(true) => Ok(()),
        Ok(false) => Err("migrations pending".to_owned()),
        Err(e) => Err(format!("cannot be read: {e}")),
    };
    let dispatcher = h
        .heartbeat
        .as_ref()
        .map(|beat| dispatcher_state(beat.load(Ordering::Relaxed), h.started_at, now));
    let word = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.clone(),
    };
    let ready =
        database.is_ok() && migrations.is_ok() && dispatcher.as_ref().is_none_or(Result::is_ok);
    let body = json!({
        "ready": ready,
        "database": word(&database),
        "migrations": word(&migrations),
        "dispatcher": dispatcher.as_ref().map_or_else(|| "off".to_owned(), word),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_dispatcher_is_stalled_after_a_minute() {
        let start = 1_000_000;
        assert!(
            dispatcher_state(0, start, start + 5_000).is_ok(),
            "starting"
        );
        assert!(dispatcher_state(0, start, start + 61_000).is_err());
        assert!(dispatcher_state(start + 60_000, start, start + 90_000).is_ok());
        let stalled = dispatcher_state(start, start, start + 125_000).unwrap_err();
        assert!(stalled.contains("125 s"), "{stalled}");
    }
}
