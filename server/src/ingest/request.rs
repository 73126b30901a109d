//! The event a ticketing system posts, checked field by field.
//!
//! The body is read as loose JSON and every field is checked, so a bad request
//! gets every problem at once, each named by its JSON path (`priority`,
//! `recipients.customer.phone`, `data.ticket_id`), instead of serde's first.

use domain::{NotificationType, PhoneE164, Priority};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const MAX_RECIPIENTS: usize = 1000;
pub const MAX_IDEMPOTENCY_KEY: usize = 200;
pub const MAX_VALUE_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

pub(crate) fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub phone: Option<PhoneE164>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRequest {
    pub kind: NotificationType,
    pub priority: Priority,
    pub work_zone: Option<String>,
    pub user_ids: Vec<i64>,
    /// People named by the ticketing system's own ids (`PUT /api/v1/users/{id}`).
    pub external_ids: Vec<String>,
    pub customer: Option<Customer>,
    /// Template variables, every value as text.
    pub data: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
    /// The recipients object as posted (kept with the event).
    pub recipients_json: Value,
}

const TOP_FIELDS: &[&str] = &[
    "type",
    "priority",
    "work_zone",
    "recipients",
    "data",
    "idempotency_key",
];

/// Names every key of `obj` that is not `expected`, as `{path}{key}`, with
/// the fields it could have been.
pub(crate) fn unknown_fields(
    obj: &Map<String, Value>,
    path: &str,
    expected: &[&str],
    errors: &mut Vec<FieldProblem>,
) {
    for key in obj.keys() {
        if !expected.contains(&key.as_str()) {
            errors.push(problem(
                format!("{path}{key}"),
                format!("unknown field; expected: {}", expected.join(", ")),
            ));
        }
    }
}

/// The longest id a ticketing system may give a person.
pub const MAX_EXTERNAL_ID: usize = 100;

/// A ticketing system's user id as this API takes it (in a path and in
/// `recipients.external_ids`): 1 to 100 visible characters, no slash.
pub fn external_id(id: &str) -> Result<&str, &'static str> {
    if id.is_empty() || id.chars().count() > MAX_EXTERNAL_ID {
        return Err("must be 1 to 100 characters");
    }
    if id
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '/')
    {
        return Err("must not hold spaces, control characters or '/'");
    }
    Ok(id)
}

/// An optional `work_zone`: a code, lower-cased (existence is checked
/// against the zones later).
pub fn work_zone(value: Option<&Value>, errors: &mut Vec<FieldProblem>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_lowercase()),
        Some(_) => {
            errors.push(problem(
                "work_zone",
                "must be a non-empty string (a work zone code), or absent",
            ));
            None
        }
    }
}

/// Checks a parsed body. `header_key` is an `Idempotency-Key` header, used when
/// the body has none.
pub fn parse(body: &Value, header_key: Option<&str>) -> Result<EventRequest, Vec<FieldProblem>> {
    let mut errors = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(vec![problem("body", "must be a JSON object")]);
    };
    unknown_fields(obj, "", TOP_FIELDS, &mut errors);

    let kind = match obj.get("type") {
        Some(Value::String(s)) => NotificationType::parse(s)
            .map_err(|e| errors.push(problem("type", e.to_string())))
            .ok(),
        Some(_) => {
            errors.push(problem("type", "must be a string"));
            None
        }
        None => {
            errors.push(problem("type", "is required"));
            None
        }
    };
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => Some(Priority::Medium),
        Some(Value::String(s)) => Priority::parse(s)
            .map_err(|e| errors.push(problem("priority", e.to_string())))
            .ok(),
        Some(_) => {
            errors.push(problem("priority", "must be a string"));
            None
        }
    };
    let work_zone = work_zone(obj.get("work_zone"), &mut errors);

    let recipients_json = obj
        .get("recipients")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let Recipients {
        user_ids,
        external_ids,
        customer,
    } = recipients(&recipients_json, &mut errors);
    let data = data(obj.get("data"), &mut errors);

    let idempotency_key = match obj.get("idempotency_key") {
        None | Some(Value::Null) => header_key.map(str::to_owned),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(problem("idempotency_key", "must be a string"));
            None
        }
    };
    if let Some(k) = &idempotency_key {
        if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY {
            errors.push(problem(
                "idempotency_key",
                format!("must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
            ));
        }
    }

    match (kind, priority, errors.is_empty()) {
        (Some(kind), Some(priority), true) => Ok(EventRequest {
            kind,
            priority,
            work_zone,
            user_ids,
            external_ids,
            customer,
            data,
            idempotency_key,
            recipients_json,
        }),
        _ => Err(errors),
    }
}

/// Whom an event names, as its `recipients` object lists them.
struct Recipients {
    user_ids: Vec<i64>,
    external_ids: Vec<String>,
    customer: Option<Customer>,
}

/// The `recipients` object: user ids, the ticketing system's ids and a
/// customer; each bad entry named.
fn recipients(recipients_json: &Value, errors: &mut Vec<FieldProblem>) -> Recipients {
    let mut user_ids = Vec::new();
    let mut external_ids = Vec::new();
    let mut customer = None;
    match recipients_json {
        Value::Object(r) => {
            unknown_fields(
                r,
                "recipients.",
                &["user_ids", "external_ids", "customer"],
                errors,
            );
            match r.get("user_ids") {
                None | Some(Value::Null) => {}
                Some(Value::Array(ids)) => {
                    if ids.len() > MAX_RECIPIENTS {
                        errors.push(problem(
                            "recipients.user_ids",
                            format!("at most {MAX_RECIPIENTS} users per event"),
                        ));
                    }
                    for (i, id) in ids.iter().enumerate() {
                        match id.as_i64() {
                            Some(id) if id > 0 => user_ids.push(id),
                            _ => errors.push(problem(
                                format!("recipients.user_ids[{i}]"),
                                "must be a positive integer user id",
                            )),
                        }
                    }
                }
                Some(_) => errors.push(problem(
                    "recipients.user_ids",
                    "must be an array of user ids",
                )),
            }
            match r.get("external_ids") {
                None | Some(Value::Null) => {}
                Some(Value::Array(ids)) => {
                    if ids.len() + user_ids.len() > MAX_RECIPIENTS {
                        errors.push(problem(
                            "recipients.external_ids",
                            format!("at most {MAX_RECIPIENTS} users per event"),
                        ));
                    }
                    for (i, id) in ids.iter().enumerate() {
                        match id.as_str().map(external_id) {
                            Some(Ok(id)) => external_ids.push(id.to_owned()),
                            Some(Err(e)) => {
                                errors.push(problem(format!("recipients.external_ids[{i}]"), e))
                            }
                            None => errors.push(problem(
                                format!("recipients.external_ids[{i}]"),
                                "must be a string (the ticketing system's user id)",
                            )),
                        }
                    }
                }
                Some(_) => errors.push(problem(
                    "recipients.external_ids",
                    "must be an array of the ticketing system's user ids",
                )),
            }
            match r.get("customer") {
                None | Some(Value::Null) => {}
                Some(Value::Object(c)) => customer = parse_customer(c, errors),
                Some(_) => errors.push(problem(
                    "recipients.customer",
                    "must be an object with phone, name, email",
                )),
            }
        }
        _ => errors.push(problem(
            "recipients",
            "must be an object with user_ids, external_ids and/or customer",
        )),
    }

    Recipients {
        user_ids,
        external_ids,
        customer,
    }
}

/// The `data` object: the templates' variables as text, each at most
/// [`MAX_VALUE_CHARS`].
fn data(value: Option<&Value>, errors: &mut Vec<FieldProblem>) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(d)) => {
            for (k, v) in d {
                let field = format!("data.{k}");
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => String::new(),
                    _ => {
                        errors.push(problem(field, "must be a string, number or boolean"));
                        continue;
                    }
                };
                if text.chars().count() > MAX_VALUE_CHARS {
                    errors.push(problem(
                        field,
                        format!("at most {MAX_VALUE_CHARS} characters"),
                    ));
                    continue;
                }
                data.insert(k.clone(), text);
            }
        }
        Some(_) => errors.push(problem("data", "must be an object of template variables")),
    }

    data
}

fn parse_customer(c: &Map<String, Value>, errors: &mut Vec<FieldProblem>) -> Option<Customer> {
    let text = |key: &str, errors: &mut Vec<FieldProblem>| match c.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(_) => {
            errors.push(problem(
                format!("recipients.customer.{key}"),
                "must be a non-empty string",
            ));
            None
        }
    };
    unknown_fields(
        c,
        "recipients.customer.",
        &["phone", "name", "email"],
        errors,
    );
    let phone = text("phone", errors).and_then(|p| {
        PhoneE164::parse(&p)
            .map_err(|e| errors.push(problem("recipients.customer.phone", e.to_string())))
            .ok()
    });
    let email = text("email", errors).filter(|e| {
        let ok = domain::email::plausible_address(e);
        if !ok {
            errors.push(problem(
                "recipients.customer.email",
                "is not an email address",
            ));
        }
        ok
    });
    let name = text("name", errors);
    if phone.is_none()
        && email.is_none()
        && !errors
            .iter()
            .any(|e| e.field.starts_with("recipients.customer"))
    {
        errors.push(problem("recipients.customer", "needs a phone or an email"));
    }
    Some(Customer { phone, name, email })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: Vec<FieldProblem>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_complete_event_parses() {
        let body = json!({
            "type": "ticket_assigned", "priority": "high", "work_zone": "Karawang",
            "recipients": {"user_ids": [5, 6], "customer": {"phone": "0812-3456-7890", "name": "Bu Siti"}},
            "data": {"ticket_id": "TK-1", "total": 3, "urgent": true, "note": null},
            "idempotency_key": "tk-1"
        });
        let e = parse(&body, None).unwrap();
        assert_eq!(e.kind, NotificationType::TicketAssigned);
        assert_eq!(e.priority, Priority::High);
        assert_eq!(e.work_zone.as_deref(), Some("karawang"));
        assert_eq!(e.user_ids, vec![5, 6]);
        assert_eq!(
            e.customer.unwrap().phone.unwrap().as_str(),
            "+6281234567890"
        );
        assert_eq!(e.data["total"], "3");
        assert_eq!(e.data["urgent"], "true");
        assert_eq!(e.data["note"], "");
        assert_eq!(e.idempotency_key.as_deref(), Some("tk-1"));
    }

    #[test]
    fn priority_defaults_to_medium_and_the_header_key_is_used() {
        let e = parse(&json!({"type": "new_ticket"}), Some("hdr")).unwrap();
        assert_eq!(e.priority, Priority::Medium);
        assert_eq!(e.idempotency_key.as_deref(), Some("hdr"));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let body = json!({
            "type": "ticket_teleported", "priority": "urgent", "work_zone": 7,
            "recipients": {"user_ids": [1, "x", -2], "customer": {"phone": "021-555", "email": "nope"}, "group": 1},
            "data": {"ticket_id": {"nested": true}},
            "idempotency_key": "", "extra": 1
        });
        let mut got = fields(parse(&body, None).unwrap_err());
        got.sort();
        assert_eq!(
            got,
            vec![
                "data.ticket_id",
                "extra",
                "idempotency_key",
                "priority",
                "recipients.customer.email",
                "recipients.customer.phone",
                "recipients.group",
                "recipients.user_ids[1]",
                "recipients.user_ids[2]",
                "type",
                "work_zone",
            ]
        );
    }

    #[test]
    fn structural_mistakes_are_explained() {
        assert_eq!(
            fields(parse(&json!([1, 2]), None).unwrap_err()),
            vec!["body"]
        );
        assert_eq!(fields(parse(&json!({}), None).unwrap_err()), vec!["type"]);
        assert_eq!(
            fields(
                parse(
                    &json!({"type": "outage", "recipients": {"customer": {}}}),
                    None
                )
                .unwrap_err()
            ),
            vec!["recipients.customer"]
        );
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        assert_eq!(
            fields(parse(&json!({"type": "outage", "data": {"message": long}}), None).unwrap_err()),
            vec!["data.message"]
        );
    }

    #[test]
    fn phone_errors_carry_the_reason() {
        let errs = parse(&json!({"type": "payment_received", "recipients": {"customer": {"phone": "0812-3456-789a"}}}), None).unwrap_err();
        assert!(errs[0].message.contains("'a'"), "{errs:?}");
    }
}
