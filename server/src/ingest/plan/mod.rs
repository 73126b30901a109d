//! From a checked event to the rows to write, in three stages:
//! [`load`] reads the facts (recipients and their settings, rules,
//! templates) and runs the pure router, [`render`] writes each message for
//! its channel and language, and [`prepare`] hands back the rows. Nothing
//! here writes: [`storage::outbox::insert_event`] does, in one transaction.

mod load;
mod render;

pub use load::{Reference, ReferenceCache, RuleRow};
pub use render::Links;

use super::request::{EventRequest, FieldProblem};
use chrono::{DateTime, Utc};
use domain::Channel;
use storage::db::Db;
use storage::outbox::{NewAlert, NewDelivery, NewDigestItem, NewInboxItem};

/// What ingestion will write, and what it routed nowhere.
pub struct Prepared {
    pub deliveries: Vec<NewDelivery>,
    pub inbox: Vec<NewInboxItem>,
    pub skipped: Vec<SkippedRoute>,
    /// Set when the event falls under an escalation policy.
    pub alert: Option<NewAlert>,
    /// Lines for the digests of people who take low priority that way.
    pub digest: Vec<NewDigestItem>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedRoute {
    pub user_id: Option<i64>,
    pub channel: Channel,
    pub reason: &'static str,
}

/// Routes and renders an event. `Err(problems)` names every recipient or
/// zone that does not exist, or every template variable the event's data
/// lacks; nothing is written then.
pub async fn prepare(
    db: &Db,
    reference: &Reference,
    event: &EventRequest,
    now: DateTime<Utc>,
    links: &Links,
) -> Result<Result<Prepared, Vec<FieldProblem>>, storage::Error> {
    let facts = match load::facts(db, reference, event, now).await? {
        Ok(facts) => facts,
        Err(problems) => return Ok(Err(problems)),
    };
    Ok(render::render(&facts, reference, event, now, links))
}
