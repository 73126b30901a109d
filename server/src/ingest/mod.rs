//! The ingestion API: `POST /api/v1/events` from the ticketing system, and
//! `POST /api/v1/ticket-figures`, its own daily counts for the reports.
//!
//! Authenticated by an API key (`Authorization: Bearer nk_…`). A valid event
//! is routed, rendered and written with all its deliveries in one transaction,
//! then the dispatcher is woken; the answer is 202 with the notification id.
//! A repeated idempotency key answers the first event's id and writes nothing.
//! Every refusal is JSON: `{"error", "message", "fields"?}`.

pub mod figures;
pub mod openapi;
pub mod plan;
pub mod request;
pub mod users;
pub mod writer;

use crate::api_keys::ApiKeyCache;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use plan::ReferenceCache;
use request::FieldProblem;
use serde_json::json;
use std::sync::Arc;
use storage::db::Db;
use storage::outbox::{Inserted, KeyedEvent, NewEvent};

/// Bodies above this are refused with 413: an event is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct Ingest {
    pub db: Db,
    pub reference: ReferenceCache,
    pub keys: ApiKeyCache,
    /// Writes events with group commit and wakes the dispatcher.
    pub writer: writer::EventWriter,
    /// Where messages link to (settings, acknowledgement links).
    pub links: plan::Links,
}

pub fn router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/api/v1/events", post(post_event))
        .route("/api/v1/ticket-figures", post(post_ticket_figures))
        .route(
            "/api/v1/users/{external_id}",
            put(users::put_user).delete(users::delete_user),
        )
        // The first import of a whole staff: a larger body, its own limit.
        .route(
            "/api/v1/users:bulk",
            post(users::post_bulk).layer(DefaultBodyLimit::max(users::MAX_BULK_BYTES)),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ingest)
}

/// A refusal as the API answers it.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Vec<FieldProblem>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: vec![],
        }
    }

    fn invalid(fields: Vec<FieldProblem>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message: format!("{} field(s) are invalid; nothing was stored", fields.len()),
            fields,
        }
    }
}

impl From<storage::Error> for ApiError {
    /// The API speaks English; the error's kind picks the status.
    fn from(e: storage::Error) -> Self {
        use storage::Error as E;
        let (status, code) = match &e {
            // A unique index refused a row: data that exists, not our failure.
            E::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            E::Invalid(fields) => {
                return ApiError::invalid(
                    fields
                        .iter()
                        .map(|f| request::problem(&f.field, &f.message.en))
                        .collect(),
                )
            }
            E::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            // Storage refuses work for now: nothing was stored, try again.
            E::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            // Internal errors were logged with their reference when created.
            E::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        // (storage::Error reads in English.)
        ApiError::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        metrics::counter!(crate::metrics::API_REFUSALS, "reason" => self.code).increment(1);
        let mut body = json!({"error": self.code, "message": self.message});
        if !self.fields.is_empty() {
            body["fields"] = json!(self.fields);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            crate::retry_after(response.headers_mut());
        }
        response
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// The caller's API key id, or the refusal (401).
async fn authorised(ingest: &Ingest, headers: &HeaderMap) -> Result<i64, ApiError> {
    let key = bearer(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing 'Authorization: Bearer <API key>'",
        )
    })?;
    ingest.keys.verify(key).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown or revoked API key",
        )
    })
}

/// The caller's API key id and its JSON body, or the refusal: no or a bad
/// key (401), a body too large (413) or not JSON (415, 400).
async fn authorised_json(
    ingest: &Ingest,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(i64, serde_json::Value), ApiError> {
    let key_id = authorised(ingest, headers).await?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the body is too large (events: {MAX_BODY_BYTES} bytes; a bulk import: {} bytes)",
                    users::MAX_BULK_BYTES
                ),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text())
        }
    })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ));
    }
    let value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    Ok((key_id, value))
}

async fn post_event(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (key_id, value) = authorised_json(&ingest, &headers, body).await?;
    let header_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let event = request::parse(&value, header_key).map_err(ApiError::invalid)?;

    let source = source_of(key_id);
    let now = chrono::Utc::now();
    let same = KeyedEvent {
        notification_type: domain::EventKind::from(event.kind).as_str().to_owned(),
        priority: event.priority.as_str().to_owned(),
        work_zone: event.work_zone.clone(),
        recipients: event.recipients_json.to_string(),
        data: serde_json::to_string(&event.data).unwrap_or_else(|_| "{}".into()),
    };
    // The key is looked up only when the write finds it taken, or when
    // planning refuses the event: a retry of an accepted event must not be
    // refused for data a template gained since. (One read fewer per new
    // event; a repeat is rare and plans in vain.)
    let reference = ingest.reference.get().await?;
    let prepared = match plan::prepare(&ingest.db, &reference, &event, now, &ingest.links).await? {
        Ok(prepared) => prepared,
        Err(problems) => {
            if let Some(k) = &event.idempotency_key {
                if let Some(id) = repeated(&ingest.db, &source, k, &same).await? {
                    return Ok(accepted(id, true, None));
                }
            }
            return Err(ApiError::invalid(problems));
        }
    };
    let new_event = NewEvent {
        source,
        idempotency_key: event.idempotency_key.clone(),
        kind: event.kind.into(),
        priority: event.priority,
        work_zone: event.work_zone.clone(),
        recipients: same.recipients.clone(),
        data: same.data.clone(),
        alert: prepared.alert,
        digest: prepared.digest,
    };
    let (deliveries, skipped) = (prepared.deliveries.len(), prepared.skipped);
    let channels: Vec<domain::Channel> = prepared.deliveries.iter().map(|d| d.channel).collect();
    match ingest
        .writer
        .write(new_event, prepared.deliveries, prepared.inbox)
        .await?
    {
        Inserted::Created(id) => {
            for channel in channels {
                metrics::counter!(crate::metrics::DELIVERIES_CREATED, "channel" => channel.as_str())
                    .increment(1);
            }
            Ok(accepted(id, false, Some((deliveries, &skipped))))
        }
        // Another request with this key was written first, meanwhile.
        Inserted::Duplicate(_) => {
            let key = event.idempotency_key.as_deref().unwrap_or_default();
            match repeated(&ingest.db, &source_of(key_id), key, &same).await? {
                Some(id) => Ok(accepted(id, true, None)),
                None => Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the event of this idempotency key vanished",
                )),
            }
        }
    }
}

fn source_of(key_id: i64) -> String {
    format!("api:{key_id}")
}

/// The event an idempotency key was first used for, if the request repeats
/// it; a key reused for another event is refused (409): answering it as a
/// duplicate would silently drop the new one.
async fn repeated(
    db: &Db,
    source: &str,
    key: &str,
    same: &KeyedEvent,
) -> Result<Option<i64>, ApiError> {
    let Some((id, event)) = storage::outbox::keyed_event(db, source, key).await? else {
        return Ok(None);
    };
    if &event != same {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            format!(
                "idempotency key '{key}' was used for another event (#{id}); \
                 use a new key for a new event"
            ),
        ));
    }
    Ok(Some(id))
}

fn accepted(id: i64, duplicate: bool, routed: Option<(usize, &[plan::SkippedRoute])>) -> Response {
    let outcome = if duplicate { "duplicate" } else { "new" };
    metrics::counter!(crate::metrics::EVENTS, "outcome" => outcome).increment(1);
    let mut body = json!({"notification_id": id, "duplicate": duplicate});
    if let Some((deliveries, skipped)) = routed {
        body["deliveries"] = json!(deliveries);
        body["skipped"] = json!(skipped);
    }
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// One day's ticket figures (for all zones or one): stored, replacing an
/// earlier post for the same day and zone; the scheduled reports read them.
async fn post_ticket_figures(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (key_id, value) = authorised_json(&ingest, &headers, body).await?;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let posted = figures::parse(&value, today).map_err(ApiError::invalid)?;
    if let Some(zone) = &posted.work_zone {
        if let Some(problem) = ingest.reference.get().await?.unknown_zone(zone) {
            return Err(ApiError::invalid(vec![problem]));
        }
    }
    let replaced = storage::reports::post_ticket_figures(
        &ingest.db,
        posted.date,
        posted.work_zone.as_deref().unwrap_or(""),
        &posted.figures,
        &source_of(key_id),
        storage::now_ms(),
    )
    .await?;
    let body = json!({
        "date": posted.date.format("%Y-%m-%d").to_string(),
        "work_zone": posted.work_zone,
        "replaced": replaced,
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::words::FieldError;
    use domain::words::{Clash, Missing, Named};
    use domain::Words;

    /// Errors carry no reader's language; the API tells them in English.
    #[test]
    fn the_api_tells_every_kind_of_refusal_in_english_with_its_status() {
        let cases = [
            (
                storage::Error::NotFound(Missing::Group(domain::GroupId(3))),
                StatusCode::NOT_FOUND,
                "Not found: group #3",
            ),
            (
                storage::Error::Conflict(Clash::Taken {
                    what: Named::Schedule,
                    name: "Harian".into(),
                }),
                StatusCode::CONFLICT,
                "The schedule name 'Harian' is taken.",
            ),
        ];
        for (e, status, message) in cases {
            let api = ApiError::from(e);
            assert_eq!((api.status, api.message.as_str()), (status, message));
        }
        let invalid = ApiError::from(storage::Error::Invalid(vec![FieldError::new(
            "work_zone",
            Words::new("Zona kerja tidak dikenal.", "Unknown work zone."),
        )]));
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(invalid.fields[0].message, "Unknown work zone.");
    }
}
