//! Prometheus metrics at `/metrics`, for an operator's dashboards and alerts
//! (`docs/grafana-dashboard.json` draws them).
//!
//! The code records into the `metrics` facade where things happen (a send,
//! an event accepted, a callback, a socket); this module owns the names, the
//! histogram buckets and the route. The outbox's backlog and the database
//! pool are read when scraped. The route answers only with
//! `METRICS_TOKEN` as a bearer token (404 without one configured): the
//! figures tell an outsider how busy the ISP is and which gateways it uses.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use storage::db::Db;

/// Deliveries written by ingestion, by `channel`.
pub const DELIVERIES_CREATED: &str = "notifikasi_deliveries_created_total";
/// Attempts' outcomes, by `channel` and `outcome` (sent, failed, retry,
/// postponed).
pub const ATTEMPTS: &str = "notifikasi_delivery_attempts_total";
/// Deliveries in the outbox now, by `channel` and `state` (due, sending).
pub const OUTBOX: &str = "notifikasi_outbox_deliveries";
/// How long the oldest due delivery has waited past its due time (0: none).
pub const OUTBOX_OLDEST_DUE: &str = "notifikasi_outbox_oldest_due_seconds";
/// One account's tries, by `provider`, `account` and `outcome`.
pub const SENDS: &str = "notifikasi_provider_sends_total";
/// How long one provider call took, by `provider`.
pub const SEND_SECONDS: &str = "notifikasi_provider_send_seconds";
/// From an event's delivery being written to a provider taking it, by `channel`.
pub const POST_TO_PROVIDER_SECONDS: &str = "notifikasi_post_to_provider_seconds";
/// Providers' callbacks, by `provider` and `verdict`.
pub const CALLBACKS: &str = "notifikasi_webhook_callbacks_total";
/// Live sockets open on this instance.
pub const WEBSOCKETS: &str = "notifikasi_websockets_open";
/// Events posted to the API and accepted, by `outcome` (new, duplicate).
pub const EVENTS: &str = "notifikasi_events_total";
/// API requests refused, by `reason` (the API's error code).
pub const API_REFUSALS: &str = "notifikasi_api_refusals_total";
/// Database connections of this instance's pool, by `state` (idle, busy).
pub const DB_CONNECTIONS: &str = "notifikasi_db_connections";
/// The SQLite writer's queue: from a transaction asked for to its start
/// (named in `storage`, which records it).
pub const SQLITE_WRITE_WAIT: &str = storage::db::WRITE_WAIT_METRIC;

/// Buckets of every `_seconds` histogram: a provider call takes 50 ms to a
/// few seconds; post → provider is milliseconds when all is well and
/// minutes when the outbox is stuck.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. Several servers in one
/// process (the tests) share it, as they would share a port's scrape.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder already installed keeps recording; ours then
        // renders nothing, which the route's test would show.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics stays empty");
        }
        handle
    })
}

#[derive(Clone)]
pub struct Metrics {
    pub db: Db,
    /// `METRICS_TOKEN`; `None`: the route answers 404.
    pub token: Option<String>,
}

pub fn router(m: Metrics) -> Router {
    handle();
    Router::new().route("/metrics", get(scrape)).with_state(m)
}

/// Keeps the histograms' memory bounded between scrapes (the exporter
/// drains them only when told).
pub async fn upkeep(shutdown: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => handle().run_upkeep(),
        }
    }
}

async fn scrape(State(m): State<Metrics>, headers: HeaderMap) -> Response {
    let Some(token) = &m.token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !crate::same_secret(given, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "send Authorization: Bearer <METRICS_TOKEN>",
        )
            .into_response();
    }
    read_database(&m.db).await;
    let handle = handle();
    handle.run_upkeep();
    (
        [
            (header::CONTENT_TYPE, "text/plain; version=0.0.4"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        handle.render(),
    )
        .into_response()
}

/// The gauges read at scrape: the outbox's backlog and the pool.
async fn read_database(db: &Db) {
    let now = storage::now_ms();
    match storage::outbox::backlog(db, now).await {
        Ok(lines) => {
            // Every channel and state is set, to 0 when absent: a gauge
            // left at its last value would show a drained queue as stuck.
            for channel in domain::Channel::ALL {
                for state in ["due", "sending"] {
                    let count = lines
                        .iter()
                        .find(|l| l.channel == channel.as_str() && l.state == state)
                        .map_or(0, |l| l.count);
                    metrics::gauge!(OUTBOX, "channel" => channel.as_str(), "state" => state)
                        .set(count as f64);
                }
            }
            let oldest_due = lines
                .iter()
                .filter(|l| l.state == "due")
                .map(|l| l.oldest)
                .min()
                .map_or(0, |at| (now - at).max(0));
            metrics::gauge!(OUTBOX_OLDEST_DUE).set(oldest_due as f64 / 1000.0);
        }
        Err(e) => tracing::warn!("metrics: outbox backlog: {e}"),
    }
    let (size, idle) = db.pool_use();
    metrics::gauge!(DB_CONNECTIONS, "state" => "idle").set(idle as f64);
    metrics::gauge!(DB_CONNECTIONS, "state" => "busy")
        .set((size as usize).saturating_sub(idle) as f64);
}

/// A callback's outcome as a short label, from the first words of what
/// `webhooks` kept ("delivery 7 -> read" is `applied`). A callback of
/// several parts ("no change (sent …); delivery 7 -> delivered") is named
/// by the part that did most, in the order below.
pub fn verdict_of(outcome: &str) -> &'static str {
    const KNOWN: &[(&str, &str)] = &[
        ("error", "error"),
        ("delivery ", "applied"),
        ("alert ", "acknowledgement"),
        ("held", "held"),
        ("no change", "unchanged"),
        ("rejected", "rejected"),
        ("ignored", "ignored"),
    ];
    KNOWN
        .iter()
        .find(|(prefix, _)| outcome.split("; ").any(|part| part.starts_with(prefix)))
        .map_or("other", |(_, label)| label)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_callbacks_outcome_becomes_a_short_label() {
        use super::verdict_of;
        assert_eq!(verdict_of("delivery 7 -> read"), "applied");
        assert_eq!(
            verdict_of("no change (read is a duplicate or out of order)"),
            "unchanged"
        );
        assert_eq!(verdict_of("held: no send recorded yet"), "held");
        assert_eq!(
            verdict_of("alert 3 acknowledged by user 2"),
            "acknowledgement"
        );
        assert_eq!(verdict_of("error: database is locked"), "error");
        assert_eq!(verdict_of("something new"), "other");
        assert_eq!(
            verdict_of("no change (sent is a duplicate or out of order); delivery 7 -> delivered"),
            "applied"
        );
    }
}
