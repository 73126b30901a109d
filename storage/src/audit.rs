//! The audit trail's SQL: [`audit!`] writes an entry inside the caller's
//! transaction (so the change and its entry commit together or not at all),
//! [`list`] reads the page. See `domain::views::audit`.

use crate::db::Db;
use crate::{on_db, on_db_write, Error};
use domain::views::audit::{AuditEntry, AuditFilter, PAGE_SIZE};
use domain::UserId;
use serde::Serialize;

/// Who makes a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<UserId>,
    /// As the trail shows it: "Name <email>", "CLI", an address.
    pub name: String,
}

impl Actor {
    /// A signed-in person.
    pub fn person(id: UserId, name: &str, email: &str) -> Self {
        Actor {
            id: Some(id),
            name: format!("{name} <{email}>"),
        }
    }

    /// The product itself (the demo data it seeds).
    pub fn system() -> Self {
        Actor {
            id: None,
            name: "Sistem".into(),
        }
    }

    /// The ticketing system, by the API key it called with ("API: Tiket
    /// (nk_AbCdEfG…)"): the key's name and first characters, never the key.
    pub fn api_key(name: &str, prefix: &str) -> Self {
        Actor {
            id: None,
            name: format!("API: {name} ({prefix}…)"),
        }
    }

    /// The server's command line (an operator on the machine).
    pub fn cli() -> Self {
        Actor {
            id: None,
            name: "CLI".into(),
        }
    }
}

/// A record as the trail keeps it: JSON, or nothing.
pub fn snapshot<T: Serialize>(record: Option<&T>) -> Option<String> {
    record.and_then(|r| serde_json::to_string(r).ok())
}

/// Writes an entry in transaction `$tx`: `audit!(tx, actor, "zone.update",
/// subject, before, after, now)`, before and after being `Option<String>`
/// (see [`snapshot`]).
macro_rules! audit {
    ($tx:ident, $actor:expr, $action:expr, $subject:expr, $before:expr, $after:expr, $now:expr) => {{
        let actor: &$crate::audit::Actor = $actor;
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor, action, subject, before, after)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($now)
        .bind(actor.id.map(|u| u.0))
        .bind(&actor.name)
        .bind($action)
        .bind($subject)
        .bind($before)
        .bind($after)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use audit;

/// After a save that may have created or changed record `$subject` of
/// `$area` (a literal: "group", "report", …), in transaction `$tx`: writes
/// `$area.create` when there was nothing before, `$area.update` when the
/// record changed, and nothing when it is the same.
macro_rules! audit_saved {
    ($tx:ident, $actor:expr, $area:literal, $subject:expr, $before:expr, $after:expr, $now:expr) => {{
        let (before, after): (Option<String>, Option<String>) = ($before, $after);
        if before != after {
            let action = if before.is_none() {
                concat!($area, ".create")
            } else {
                concat!($area, ".update")
            };
            $crate::audit::audit!($tx, $actor, action, $subject, before, after, $now);
        }
    }};
}
pub(crate) use audit_saved;

/// An entry on its own, for what changes nothing else (a failed sign-in).
pub async fn record(
    db: &Db,
    actor: &Actor,
    action: &str,
    subject: &str,
    now: i64,
) -> Result<(), Error> {
    on_db_write!(db, |pool| sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, action, subject) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(now)
    .bind(actor.id.map(|u| u.0))
    .bind(&actor.name)
    .bind(action)
    .bind(subject)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}

type Row = (
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// One page of the trail, newest first, after the filter's checks.
pub async fn list(db: &Db, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error> {
    let f = filter.resolve().map_err(Error::Invalid)?;
    let area = f.area.map(|a| format!("{a}.%"));
    let actor = f.actor.map(|a| format!("%{a}%"));
    let rows: Vec<Row> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, at, actor, actor_id, action, subject, before, after FROM audit_log
         WHERE ($1 IS NULL OR action LIKE $1)
           AND ($2 IS NULL OR LOWER(actor) LIKE $2)
           AND ($3 IS NULL OR at >= $3)
           AND ($4 IS NULL OR at < $4)
           AND ($5 IS NULL OR id < $5)
         ORDER BY id DESC LIMIT $6"
    )
    .bind(&area)
    .bind(&actor)
    .bind(f.from_ms)
    .bind(f.until_ms)
    .bind(f.before_id)
    .bind(PAGE_SIZE)
    .fetch_all(pool)
    .await?);
    Ok(rows
        .into_iter()
        .map(
            |(id, at, actor, actor_id, action, subject, before, after)| AuditEntry {
                id,
                at,
                actor,
                actor_id: actor_id.map(UserId),
                action,
                subject,
                before,
                after,
            },
        )
        .collect())
}
