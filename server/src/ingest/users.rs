//! The user sync API: the ticketing system states its people by its own
//! ids, and then addresses events to them by those ids
//! (`recipients.external_ids`).
//!
//! - `PUT /api/v1/users/{external_id}`: creates (201) or updates (200) the
//!   person; the same body again changes nothing (200, `changed: false`).
//! - `DELETE /api/v1/users/{external_id}`: deactivates them (204): their
//!   sessions end, their queued messages fail with the reason, their
//!   history stays.
//! - `POST /api/v1/users:bulk`: up to 1,000 people at once (the first
//!   import), all or nothing, every bad row named (`users[3].phone`).
//!
//! A synced WhatsApp number is unverified until the person verifies it with
//! a code, unless the body says `"phone_verified": true`: the ticketing
//! system vouches that it verified the number itself (its own OTP), which
//! an ISP's system usually has, and a technician would otherwise get no
//! WhatsApp until they first sign in here. A changed number loses the
//! verification of the old one unless vouched for again.

use super::request::{external_id, problem, unknown_fields, work_zone, FieldProblem};
use super::{authorised_json, ApiError, Ingest};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{Locale, PhoneE164, Role};
use serde_json::{json, Value};
use std::sync::Arc;
use storage::users::{BulkError, SyncedUser, UpsertError, Upserted};

/// People per bulk request.
pub const MAX_BULK_USERS: usize = 1000;
/// A bulk request's body limit: 1,000 people of a few hundred bytes each.
pub const MAX_BULK_BYTES: usize = 1024 * 1024;

const FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "phone_verified",
    "role",
    "work_zone",
    "locale",
    "time_zone",
    "active",
];

/// The documented example body.
pub fn example() -> Value {
    json!({
        "name": "Rudi Teknisi",
        "email": "rudi@example.id",
        "phone": "0812-7777-0001",
        "phone_verified": false,
        "role": "technician",
        "work_zone": "karawang",
        "locale": "id",
        "time_zone": "Asia/Jakarta",
        "active": true
    })
}

/// Checks a body field by field; every problem is named at once.
pub fn parse(body: &Value) -> Result<SyncedUser, Vec<FieldProblem>> {
    let mut errors = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(vec![problem("body", "must be a JSON object")]);
    };
    unknown_fields(obj, "", FIELDS, &mut errors);
    let text = |field: &str, errors: &mut Vec<FieldProblem>| match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(_) => {
            errors.push(problem(field, "must be a non-empty string, or absent"));
            None
        }
    };
    let flag = |field: &str, default: bool, errors: &mut Vec<FieldProblem>| match obj.get(field) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(problem(field, "must be true or false"));
            default
        }
    };

    let name = text("name", &mut errors);
    match &name {
        None => errors.push(problem("name", "is required")),
        Some(n) if n.chars().count() > 100 => {
            errors.push(problem("name", "at most 100 characters"))
        }
        Some(_) => {}
    }
    let email = text("email", &mut errors).map(|e| e.to_lowercase());
    match &email {
        None => errors.push(problem("email", "is required")),
        Some(e) if !domain::email::plausible_address(e) || e.len() > 254 => {
            errors.push(problem("email", "is not an email address"))
        }
        Some(_) => {}
    }
    let phone = text("phone", &mut errors).and_then(|p| {
        PhoneE164::parse(&p)
            .map_err(|e| errors.push(problem("phone", e.to_string())))
            .ok()
    });
    let phone_verified = flag("phone_verified", false, &mut errors);
    if phone_verified && phone.is_none() && !errors.iter().any(|e| e.field == "phone") {
        errors.push(problem("phone_verified", "needs a phone"));
    }
    let role = match text("role", &mut errors) {
        None if !errors.iter().any(|e| e.field == "role") => {
            errors.push(problem("role", "is required"));
            None
        }
        None => None,
        // An API key makes no admins: a leaked key must not mint accounts
        // that manage providers, keys and people (admins are made here).
        Some(r) if r == Role::Admin.as_str() => {
            errors.push(problem(
                "role",
                "admins are made in this product, not by the sync",
            ));
            None
        }
        Some(r) => Role::parse(&r)
            .map_err(|e| errors.push(problem("role", e.to_string())))
            .ok(),
    };
    let zone = work_zone(obj.get("work_zone"), &mut errors);
    let locale = match text("locale", &mut errors) {
        None => Some(Locale::Id),
        Some(l) => Locale::parse(&l)
            .map_err(|e| errors.push(problem("locale", e.to_string())))
            .ok(),
    };
    let time_zone = text("time_zone", &mut errors).unwrap_or_else(|| "Asia/Jakarta".into());
    if domain::quiet::parse_time_zone(&time_zone).is_none() {
        errors.push(problem(
            "time_zone",
            "must be an IANA time zone, e.g. Asia/Jakarta",
        ));
    }
    let active = flag("active", true, &mut errors);
    match (name, email, role, locale, errors.is_empty()) {
        (Some(name), Some(email), Some(role), Some(locale), true) => Ok(SyncedUser {
            name,
            email,
            phone,
            phone_verified,
            role,
            work_zone: zone,
            locale,
            time_zone,
            active,
        }),
        _ => Err(errors),
    }
}

/// A bulk body checked row by row: every problem of every row, each named
/// `users[i].field`, including a row repeating an earlier row's id or
/// email.
pub fn parse_bulk(body: &Value) -> Result<Vec<(String, SyncedUser)>, Vec<FieldProblem>> {
    let rows = match body.as_object().map(|o| (o.get("users"), o.len())) {
        Some((Some(Value::Array(rows)), 1)) => rows,
        _ => {
            return Err(vec![problem(
                "body",
                "must be {\"users\": [ {\"external_id\": …, \"name\": …}, … ]}",
            )])
        }
    };
    if rows.is_empty() || rows.len() > MAX_BULK_USERS {
        return Err(vec![problem(
            "users",
            format!("1 to {MAX_BULK_USERS} people per request"),
        )]);
    }
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    let mut seen_ids = std::collections::HashMap::new();
    let mut seen_emails = std::collections::HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let name = |field: &str| format!("users[{i}].{field}");
        let mut fields = row.as_object().cloned().unwrap_or_default();
        let id = match fields.remove("external_id") {
            Some(Value::String(id)) => match external_id(&id) {
                Ok(_) => Some(id),
                Err(e) => {
                    errors.push(problem(name("external_id"), e));
                    None
                }
            },
            _ => {
                errors.push(problem(name("external_id"), "is required (a string)"));
                None
            }
        };
        if let Some(id) = &id {
            if let Some(first) = seen_ids.insert(id.clone(), i) {
                errors.push(problem(
                    name("external_id"),
                    format!("repeats users[{first}]"),
                ));
            }
        }
        match parse(&Value::Object(fields)) {
            Ok(user) => {
                if let Some(first) = seen_emails.insert(user.email.clone(), i) {
                    errors.push(problem(name("email"), format!("repeats users[{first}]")));
                }
                if let Some(id) = id {
                    out.push((id, user));
                }
            }
            Err(problems) => errors.extend(problems.into_iter().map(|p| FieldProblem {
                field: if p.field == "body" {
                    format!("users[{i}]")
                } else {
                    name(&p.field)
                },
                message: p.message,
            })),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub(super) async fn post_bulk(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (key, value) = authorised_json(&ingest, &headers, body).await?;
    let rows = parse_bulk(&value).map_err(ApiError::invalid)?;
    // What the database knows is checked for every row before writing, so
    // a refusal names them all (the transaction below stops at the first).
    let (checks, active) = storage::users::sync_check(&ingest.db, &rows).await?;
    let mut problems = Vec::new();
    for (i, ((_, u), check)) in rows.iter().zip(&checks).enumerate() {
        if check.zone_refused {
            problems.push(problem(
                format!("users[{i}].work_zone"),
                zone_refusal(u, &active),
            ));
        }
        if check.email_taken {
            problems.push(problem(format!("users[{i}].email"), EMAIL_TAKEN));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let actor = storage::api_keys::actor(&ingest.db, key).await?;
    let done = storage::users::upsert_all(&ingest.db, &actor, &rows, storage::now_ms())
        .await
        .map_err(|e| match e {
            BulkError::Row(i, e) => refused(&format!("users[{i}]."), &rows[i].1, e),
            BulkError::Storage(e) => e.into(),
        })?;
    let count = |f: fn(&Upserted) -> bool| done.iter().filter(|u| f(u)).count();
    let body = json!({
        "created": count(|u| matches!(u, Upserted::Created(_))),
        "updated": count(|u| matches!(u, Upserted::Updated(_))),
        "unchanged": count(|u| matches!(u, Upserted::Unchanged(_))),
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

const EMAIL_TAKEN: &str = "already belongs to another person";

/// Why `u`'s zone is refused, naming the active ones when known.
fn zone_refusal(u: &SyncedUser, active: &[String]) -> String {
    let zone = u.work_zone.as_deref().unwrap_or_default();
    let mut message = format!(
        "unknown or inactive work zone {zone:?} (a person already in an inactive zone keeps it)"
    );
    if !active.is_empty() {
        message.push_str(&format!("; active: {}", active.join(", ")));
    }
    message
}

/// What the write refused for `u`, its fields named under `path`.
fn refused(path: &str, u: &SyncedUser, e: UpsertError) -> ApiError {
    match e {
        UpsertError::EmailTaken => {
            ApiError::invalid(vec![problem(format!("{path}email"), EMAIL_TAKEN)])
        }
        UpsertError::UnknownZone => ApiError::invalid(vec![problem(
            format!("{path}work_zone"),
            zone_refusal(u, &[]),
        )]),
        UpsertError::Storage(e) => e.into(),
    }
}

fn checked_id(id: &str) -> Result<&str, ApiError> {
    external_id(id).map_err(|e| ApiError::invalid(vec![problem("external_id", e)]))
}

pub(super) async fn put_user(
    State(ingest): State<Arc<Ingest>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (key, value) = authorised_json(&ingest, &headers, body).await?;
    let id = checked_id(&id)?;
    let user = parse(&value).map_err(ApiError::invalid)?;
    let now = storage::now_ms();
    let actor = storage::api_keys::actor(&ingest.db, key).await?;
    let outcome = storage::users::upsert(&ingest.db, &actor, id, &user, now)
        .await
        .map_err(|e| refused("", &user, e))?;
    let (status, changed) = match outcome {
        Upserted::Created(_) => (StatusCode::CREATED, true),
        Upserted::Updated(_) => (StatusCode::OK, true),
        Upserted::Unchanged(_) => (StatusCode::OK, false),
    };
    if changed {
        // The planner reads people on every event: nothing cached to drop.
        tracing::info!(
            external_id = id,
            user = %outcome.id(),
            ?status,
            "user synced"
        );
    }
    let body = json!({"id": outcome.id(), "external_id": id, "changed": changed});
    Ok((status, Json(body)).into_response())
}

pub(super) async fn delete_user(
    State(ingest): State<Arc<Ingest>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = super::authorised(&ingest, &headers).await?;
    let id = checked_id(&id)?;
    let actor = storage::api_keys::actor(&ingest.db, key).await?;
    match storage::users::deactivate(&ingest.db, &actor, id, storage::now_ms()).await? {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no user with external id {id:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_checked_field_by_field() {
        let u = parse(&example()).unwrap();
        assert_eq!(u.phone.unwrap().as_str(), "+6281277770001");
        assert_eq!(
            (u.role, u.locale, u.active),
            (Role::Technician, Locale::Id, true)
        );
        assert_eq!(u.work_zone.as_deref(), Some("karawang"));

        let bad = json!({"name": "", "email": "bukan-email", "phone": "0812-77x7",
            "role": "boss", "locale": "fr", "time_zone": "Mars/Olympus", "active": "ya",
            "extra": 1});
        let fields: Vec<String> = parse(&bad)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        for f in [
            "extra",
            "name",
            "email",
            "phone",
            "role",
            "locale",
            "time_zone",
            "active",
        ] {
            assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
        }
        // Defaults: Indonesian, Jakarta, active, unverified.
        let admin = json!({"name": "A", "email": "a@b.id", "role": "admin"});
        assert!(parse(&admin).unwrap_err()[0].message.contains("admins"));
        let minimal = json!({"name": "Sari", "email": "SARI@Example.id", "role": "noc"});
        let u = parse(&minimal).unwrap();
        assert_eq!(u.email, "sari@example.id");
        assert_eq!(
            (u.locale, u.time_zone.as_str(), u.active, u.phone_verified),
            (Locale::Id, "Asia/Jakarta", true, false)
        );
        assert!(parse(
            &json!({"name": "A", "email": "a@b.id", "role": "noc", "phone_verified": true})
        )
        .unwrap_err()
        .iter()
        .any(|p| p.field == "phone_verified"));
    }

    #[test]
    fn external_ids_are_short_visible_text() {
        assert!(external_id("TK-USR-0042").is_ok());
        assert!(external_id("").is_err());
        assert!(external_id("a/b").is_err());
        assert!(external_id("a b").is_err());
        assert!(external_id(&"x".repeat(101)).is_err());
    }
}
