//! The OpenAPI 3.1 description of the ingestion API. Built from the same
//! vocabularies the validator uses, so the documented enums cannot drift;
//! `tests/api.rs` posts the documented example and checks each documented
//! status code against the running server.

use domain::template::KNOWN_VARIABLES;
use domain::views::templates::documented_variables;
use domain::{NotificationType, Priority};
use serde_json::{json, Value};

pub fn example_request() -> Value {
    json!({
        "type": "ticket_assigned",
        "priority": "high",
        "work_zone": "karawang",
        "recipients": {"user_ids": [5]},
        "data": {
            "ticket_id": "TK-2026-0042",
            "customer_name": "Ibu Siti Aminah",
            "customer_phone": "0812-3456-7890",
            "address": "Perum Griya Asri Blok C2 No. 7, Karawang Barat",
            "location": "ODP-KRW-014",
            "issue_type": "LOS merah, internet mati",
            "sla_deadline": "25 Nov 2026 16:00 WIB",
            "ticket_url": "https://tiket.example.id/t/TK-2026-0042"
        },
        "idempotency_key": "TK-2026-0042/assigned/1"
    })
}

pub fn example_figures() -> Value {
    json!({
        "date": "2026-12-03",
        "work_zone": "karawang",
        "total": 15,
        "completed": 12,
        "in_progress": 2,
        "open": 1,
        "sla_breached": 1
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "examples": ["validation_failed"]},
            "message": {"type": "string"},
            "fields": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string", "examples": ["recipients.customer.phone"]}, "message": {"type": "string"}}
            }}
        }
    })
}

/// The variables the system fills itself: never needed in `data`.
const SYSTEM_FILLED: [&str; 4] = ["priority", "type", "recipient_name", "work_zone"];

/// For each type, what its shipped templates need in `data` (an event
/// without one is a 422 naming `data.<name>`) and what else they use when
/// present: one `if`/`then` per type, so a schema validator checks it too.
fn variables_by_type() -> Vec<Value> {
    NotificationType::ALL
        .iter()
        .map(|t| {
            let (required, all) = documented_variables(t.as_str());
            let in_data = |v: Vec<String>| -> Vec<String> {
                v.into_iter()
                    .filter(|v| !SYSTEM_FILLED.contains(&v.as_str()))
                    .collect()
            };
            let (required, all) = (in_data(required), in_data(all));
            let optional: Vec<&str> = all
                .iter()
                .filter(|v| !required.contains(v))
                .map(String::as_str)
                .collect();
            let list = |v: &[&str]| if v.is_empty() { "nothing".to_owned() } else { v.join(", ") };
            let needs: Vec<&str> = required.iter().map(String::as_str).collect();
            let mut then = json!({
                "description": format!(
                    "{}: data needs {}; the message also shows {} when given (with the shipped templates; an admin's own template may need others, and the 422 names them)",
                    t.as_str(), list(&needs), list(&optional)
                ),
                "properties": {"data": {"required": required}},
                "x-optional-variables": optional,
            });
            if !required.is_empty() {
                then["required"] = json!(["data"]);
            }
            json!({
                "if": {"properties": {"type": {"const": t.as_str()}}, "required": ["type"]},
                "then": then,
            })
        })
        .collect()
}

pub fn document() -> Value {
    let types: Vec<&str> = NotificationType::ALL.iter().map(|t| t.as_str()).collect();
    let priorities: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
    // Admins are made in the product, never by the sync.
    let roles: Vec<&str> = domain::Role::ALL
        .iter()
        .filter(|r| **r != domain::Role::Admin)
        .map(|r| r.as_str())
        .collect();
    let variables: serde_json::Map<String, Value> = KNOWN_VARIABLES
        .iter()
        .map(|(k, d)| {
            (
                k.to_string(),
                json!({"type": ["string", "number", "boolean"], "description": d}),
            )
        })
        .collect();
    let by_type = variables_by_type();
    let count = |description: &str| json!({"type": "integer", "minimum": 0, "maximum": super::figures::MAX_COUNT, "description": description});
    let err = |description: &str| json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Notifikasi ISP — ingestion API",
            "version": "1",
            "description": "Events from the ticketing system. Each is routed to users, groups and customers by type, priority, work zone and the users' own settings, and delivered over WhatsApp and the other channels."
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/events": {
                "post": {
                    "operationId": "postEvent",
                    "summary": "Take in one event",
                    "parameters": [{
                        "name": "Idempotency-Key", "in": "header", "required": false,
                        "schema": {"type": "string", "maxLength": super::request::MAX_IDEMPOTENCY_KEY},
                        "description": "Used when the body has no idempotency_key."
                    }],
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Event"},
                        "example": example_request()
                    }}},
                    "responses": {
                        "202": {"description": "Accepted (or a repeat of an accepted idempotency key: duplicate=true, nothing sent twice)",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                        "400": err("Malformed JSON"),
                        "401": err("Missing, unknown or revoked API key"),
                        "409": err("idempotency_key_reused: the key was used for another event (type, priority, work zone, recipients or data differ); nothing was stored"),
                        "413": err("Body larger than 64 KiB"),
                        "415": err("Content-Type is not application/json"),
                        "422": err("Invalid fields, each named; nothing was stored"),
                        "500": err("Internal error, with a reference to quote")
                    }
                }
            },
            "/api/v1/ticket-figures": {
                "post": {
                    "operationId": "postTicketFigures",
                    "summary": "Store one day's ticket figures, for all zones or one",
                    "description": "The scheduled reports (daily summary, weekly report) show these instead of the counts derived from events. A later post for the same day and zone replaces the earlier one.",
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/TicketFigures"},
                        "example": example_figures()
                    }}},
                    "responses": {
                        "200": {"description": "Stored",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FiguresStored"}}}},
                        "400": err("Malformed JSON"),
                        "401": err("Missing, unknown or revoked API key"),
                        "413": err("Body larger than 64 KiB"),
                        "415": err("Content-Type is not application/json"),
                        "422": err("Invalid fields, each named; nothing was stored"),
                        "500": err("Internal error, with a reference to quote")
                    }
                }
            },
            "/api/v1/users:bulk": {
                "post": {
                    "operationId": "postUsersBulk",
                    "summary": "Create or update up to 1,000 people at once",
                    "description": "For the first import. All or nothing: a refusal names every bad row's field (users[3].phone, users[20].work_zone, a repeated external id or email) and stores nothing.",
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": {"type": "object", "additionalProperties": false, "required": ["users"],
                            "properties": {"users": {"type": "array", "minItems": 1, "maxItems": super::users::MAX_BULK_USERS,
                                "items": {"allOf": [{"$ref": "#/components/schemas/User"}],
                                          "required": ["external_id"],
                                          "properties": {"external_id": {"type": "string", "minLength": 1, "maxLength": super::request::MAX_EXTERNAL_ID}}}}}},
                        "example": {"users": [{"external_id": "TK-USR-0042", "name": "Rudi Teknisi", "email": "rudi@example.id", "phone": "0812-7777-0001", "role": "technician", "work_zone": "karawang"}]}
                    }}},
                    "responses": {
                        "200": {"description": "Stored: how many were created, updated and already as stated",
                                "content": {"application/json": {"schema": {"type": "object",
                                    "required": ["created", "updated", "unchanged"],
                                    "properties": {"created": {"type": "integer"}, "updated": {"type": "integer"}, "unchanged": {"type": "integer"}}}}}},
                        "400": err("Malformed JSON"),
                        "401": err("Missing, unknown or revoked API key"),
                        "413": err("Body larger than 1 MiB"),
                        "415": err("Content-Type is not application/json"),
                        "422": err("Invalid rows, each field named; nothing was stored"),
                        "500": err("Internal error, with a reference to quote")
                    }
                }
            },
            "/api/v1/users/{external_id}": {
                "parameters": [{"name": "external_id", "in": "path", "required": true,
                    "description": "The ticketing system's own id for the person (1 to 100 visible characters, no '/')",
                    "schema": {"type": "string", "minLength": 1, "maxLength": super::request::MAX_EXTERNAL_ID}}],
                "put": {
                    "operationId": "putUser",
                    "summary": "Create or update a person by the ticketing system's id",
                    "description": "Idempotent: the same body again changes nothing (200, changed false). Events then name the person in recipients.external_ids. A new or changed phone is unverified (WhatsApp waits for the person's one-time code) unless phone_verified says the ticketing system verified it. Setting active false is the same as DELETE.",
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/User"},
                        "example": super::users::example()
                    }}},
                    "responses": {
                        "200": {"description": "Updated, or unchanged",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserSynced"}}}},
                        "201": {"description": "Created",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserSynced"}}}},
                        "400": err("Malformed JSON"),
                        "401": err("Missing, unknown or revoked API key"),
                        "413": err("Body larger than 64 KiB"),
                        "415": err("Content-Type is not application/json"),
                        "422": err("Invalid fields (an unknown role or zone, an email of another person, a phone that is no Indonesian mobile number), each named; nothing was stored"),
                        "500": err("Internal error, with a reference to quote")
                    }
                },
                "delete": {
                    "operationId": "deleteUser",
                    "summary": "Deactivate a person",
                    "description": "Their sessions end and their queued messages fail with the reason 'recipient deactivated'; nothing new is sent to them; their history is kept. A PUT with active true brings them back.",
                    "responses": {
                        "204": {"description": "Deactivated (or already inactive)"},
                        "401": err("Missing, unknown or revoked API key"),
                        "404": err("No person with this external id"),
                        "422": err("The external id is not valid"),
                        "500": err("Internal error, with a reference to quote")
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "An API key (nk_…) made with `server create-api-key NAME`."}},
            "schemas": {
                "Event": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["type"],
                    "allOf": by_type,
                    "properties": {
                        "type": {"type": "string", "enum": types},
                        "priority": {"type": "string", "enum": priorities, "default": "medium"},
                        "work_zone": {"type": "string", "description": "A work zone code, e.g. karawang"},
                        "recipients": {
                            "type": "object", "additionalProperties": false,
                            "properties": {
                                "user_ids": {"type": "array", "maxItems": super::request::MAX_RECIPIENTS, "items": {"type": "integer", "minimum": 1}},
                                "external_ids": {"type": "array", "maxItems": super::request::MAX_RECIPIENTS,
                                    "description": "People by the ticketing system's ids (PUT /api/v1/users/{external_id}); an unknown id is a 422 naming it",
                                    "items": {"type": "string", "minLength": 1, "maxLength": super::request::MAX_EXTERNAL_ID}},
                                "customer": {"type": "object", "additionalProperties": false, "properties": {
                                    "phone": {"type": "string", "description": "Indonesian mobile number in any common form (08…, +62…, 62…)"},
                                    "name": {"type": "string"},
                                    "email": {"type": "string", "format": "email"}
                                }}
                            }
                        },
                        "data": {"type": "object", "description": "Template variables", "properties": variables,
                                 "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
                        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": super::request::MAX_IDEMPOTENCY_KEY}
                    }
                },
                "Accepted": {
                    "type": "object", "required": ["notification_id", "duplicate"],
                    "properties": {
                        "notification_id": {"type": "integer"},
                        "duplicate": {"type": "boolean"},
                        "deliveries": {"type": "integer", "description": "Deliveries written (absent for duplicates)"},
                        "skipped": {"type": "array", "items": {"type": "object", "properties": {
                            "user_id": {"type": ["integer", "null"]}, "channel": {"type": "string"}, "reason": {"type": "string"}
                        }}}
                    }
                },
                "TicketFigures": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["date", "total", "completed", "in_progress", "open", "sla_breached"],
                    "properties": {
                        "date": {"type": "string", "format": "date", "description": "The local day counted (not after tomorrow)"},
                        "work_zone": {"type": ["string", "null"], "description": "A work zone code; absent: the whole operator"},
                        "total": count("Tickets worked on that day (opened, in progress or finished)"),
                        "completed": count("Finished that day (at most total)"),
                        "in_progress": count("In progress at the day's end"),
                        "open": count("Open, not yet taken, at the day's end"),
                        "sla_breached": count("Past their SLA deadline that day (at most total)")
                    }
                },
                "FiguresStored": {
                    "type": "object", "required": ["date", "work_zone", "replaced"],
                    "properties": {
                        "date": {"type": "string", "format": "date"},
                        "work_zone": {"type": ["string", "null"]},
                        "replaced": {"type": "boolean", "description": "An earlier post for this day and zone was replaced"}
                    }
                },
                "User": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "email", "role"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 100},
                        "email": {"type": "string", "format": "email", "description": "Unique per person"},
                        "phone": {"type": ["string", "null"], "description": "Indonesian mobile number in any common form (08…, +62…, 62…)"},
                        "phone_verified": {"type": "boolean", "default": false, "description": "The ticketing system verified this number itself; otherwise WhatsApp waits for the person's one-time code"},
                        "role": {"type": "string", "enum": roles},
                        "work_zone": {"type": ["string", "null"], "description": "A work zone code, e.g. karawang"},
                        "locale": {"type": "string", "enum": ["id", "en"], "default": "id"},
                        "time_zone": {"type": "string", "default": "Asia/Jakarta", "description": "IANA time zone (quiet hours)"},
                        "active": {"type": "boolean", "default": true}
                    }
                },
                "UserSynced": {
                    "type": "object", "required": ["id", "external_id", "changed"],
                    "properties": {
                        "id": {"type": "integer", "description": "This product's id for the person"},
                        "external_id": {"type": "string"},
                        "changed": {"type": "boolean", "description": "false: the stored person already matched"}
                    }
                },
                "Error": error_schema()
            }
        }
    })
}
