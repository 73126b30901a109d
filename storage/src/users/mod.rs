//! People synced from the ticketing system by its own ids
//! (`users.external_id`): the upsert of `PUT /api/v1/users/{id}`, the
//! deactivation of its `DELETE`, and the lookup events use to address
//! people by those ids. The users page's stores, by this product's own
//! ids, are `staff`; the macros here serve both.

use crate::audit::{audit, Actor};
use crate::db::Db;
use crate::{in_tx, on_db, Error};
use domain::phone::PhoneE164;
use domain::{Locale, Role, UserId};
use std::collections::HashMap;

/// What deactivation ends: the person's sessions, and the deliveries
/// still waiting to be sent to them. A macro, so each backend's
/// transaction gets its own typed statements (as `in_tx!` compiles them).
macro_rules! stop {
    ($tx:ident, $user_id:expr, $now:expr) => {{
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind($user_id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "UPDATE deliveries SET status = 'failed', error = 'recipient deactivated',
                 updated_at = $2
             WHERE user_id = $1 AND status IN ('queued', 'deferred')",
        )
        .bind($user_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Whether zone code `$zone` may be person `$person`'s (`None`: someone
/// new), read in the transaction `$tx`: an active zone, or the inactive one
/// they are already in (an inactive zone is offered for nothing new, but a
/// person left in one keeps it through an edit).
macro_rules! zone_allowed {
    ($tx:ident, $zone:expr, $person:expr) => {{
        let person: Option<UserId> = $person;
        let allowed: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM work_zones
             WHERE code = $1 AND (active OR code IN (SELECT work_zone FROM users WHERE id = $2))",
        )
        .bind($zone)
        .bind(person)
        .fetch_optional(&mut *$tx)
        .await?;
        allowed.is_some()
    }};
}

/// Person `$id` as the audit trail keeps them (never the password),
/// read in transaction `$tx`: `Option<String>`.
macro_rules! person_snapshot {
    ($tx:ident, $id:expr) => {{
        type Snap = (String, String, Option<String>, bool, String, Option<String>, String, String, bool);
        let row: Option<Snap> = sqlx::query_as(
            "SELECT name, email, phone, phone_verified_at IS NOT NULL, role, work_zone, locale,
                    time_zone, active FROM users WHERE id = $1",
        )
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        row.map(|(name, email, phone, verified, role, zone, locale, time_zone, active)| {
            serde_json::json!({
                "name": name, "email": email, "phone": phone, "phone_verified": verified,
                "role": role, "work_zone": zone, "locale": locale, "time_zone": time_zone,
                "active": active,
            })
            .to_string()
        })
    }};
}

/// The one audit entry of an import (beside each person's): how many rows,
/// how many people added and changed; in transaction `$tx`.
macro_rules! import_audited {
    ($tx:ident, $actor:expr, $rows:expr, $created:expr, $updated:expr, $now:expr) => {{
        let rows: usize = $rows;
        let summary = serde_json::json!({"rows": rows, "created": $created, "updated": $updated});
        audit!(
            $tx,
            $actor,
            "user.import",
            &format!("{rows} baris"),
            None::<String>,
            Some(summary.to_string()),
            $now
        );
    }};
}

/// How the trail names person `id`.
fn subject(id: UserId, email: &str) -> String {
    format!("#{id} {email}")
}

/// A person to add, from any side: the seed, the first admin, the sync.
pub struct NewPerson<'a> {
    pub name: &'a str,
    /// Lower case.
    pub email: &'a str,
    /// A PHC hash, or a `!…` marker for no password yet.
    pub password_hash: &'a str,
    pub phone: Option<&'a str>,
    pub phone_verified_at: Option<i64>,
    pub role: Role,
    pub work_zone: Option<&'a str>,
    pub locale: Locale,
    pub time_zone: &'a str,
    pub active: bool,
    pub external_id: Option<&'a str>,
}

/// Inserts `$p` (a [`NewPerson`]) with default notification settings in
/// the transaction `$tx`; evaluates to the new id. A macro, so each
/// backend's transaction gets its own typed statements.
macro_rules! insert_person {
    ($tx:ident, $p:expr, $now:expr) => {{
        let p: &NewPerson = $p;
        let id: UserId = sqlx::query_scalar(
            "INSERT INTO users (name, email, password_hash, phone, phone_verified_at, role,
                 work_zone, locale, time_zone, active, external_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(p.name)
        .bind(p.email)
        .bind(p.password_hash)
        .bind(p.phone)
        .bind(p.phone_verified_at)
        .bind(p.role.as_str())
        .bind(p.work_zone)
        .bind(p.locale.as_str())
        .bind(p.time_zone)
        .bind(p.active)
        .bind(p.external_id)
        .bind($now)
        .fetch_one(&mut *$tx)
        .await?;
        sqlx::query("INSERT INTO notification_settings (user_id, updated_at) VALUES ($1, $2)")
            .bind(id)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        id
    }};
}

/// Adds a person with default notification settings; answers the id. An
/// email someone has is [`Error::Conflict`].
pub async fn insert(db: &Db, p: &NewPerson<'_>, now: i64) -> Result<UserId, Error> {
    Ok(in_tx!(db, |tx| insert_person!(tx, p, now)))
}

/// A person as the ticketing system states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedUser {
    pub name: String,
    /// Lower case.
    pub email: String,
    pub phone: Option<PhoneE164>,
    /// The ticketing system vouches for the number (it verified it
    /// itself); otherwise a new or changed number is unverified until the
    /// person verifies it with a code.
    pub phone_verified: bool,
    pub role: Role,
    pub work_zone: Option<String>,
    pub locale: Locale,
    pub time_zone: String,
    pub active: bool,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created(UserId),
    Updated(UserId),
    /// The stored person already matched: nothing written.
    Unchanged(UserId),
}

impl Upserted {
    pub fn id(self) -> UserId {
        match self {
            Upserted::Created(id) | Upserted::Updated(id) | Upserted::Unchanged(id) => id,
        }
    }
}

/// Why an upsert was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertError {
    /// Another person has this email.
    EmailTaken,
    /// The work zone does not exist.
    UnknownZone,
    Storage(Error),
}

impl From<Error> for UpsertError {
    fn from(e: Error) -> Self {
        UpsertError::Storage(e)
    }
}

impl From<sqlx::Error> for UpsertError {
    fn from(e: sqlx::Error) -> Self {
        UpsertError::Storage(e.into())
    }
}

/// What an account synced before holds, to tell a change from a repeat.
#[derive(sqlx::FromRow)]
struct Stored {
    id: UserId,
    name: String,
    email: String,
    phone: Option<String>,
    phone_verified_at: Option<i64>,
    role: String,
    work_zone: Option<String>,
    locale: String,
    time_zone: String,
    active: bool,
}

impl Stored {
    fn matches(&self, u: &SyncedUser) -> bool {
        let phone = u.phone.as_ref().map(PhoneE164::as_str);
        self.name == u.name
            && self.email == u.email
            && self.phone.as_deref() == phone
            // Stating "verified" about a verified number is no change; not
            // stating it leaves a verified number verified.
            && (!u.phone_verified || self.phone_verified_at.is_some())
            && self.role == u.role.as_str()
            && self.work_zone == u.work_zone
            && self.locale == u.locale.as_str()
            && self.time_zone == u.time_zone
            && self.active == u.active
    }
}

/// A sign-in that matches no password: synced people set their own (a
/// set-password link), and until then nobody can sign in as them.
const NO_PASSWORD: &str = "!synced";

/// Creates or updates the person the ticketing system knows as
/// `external_id`, with default notification settings when new. A changed
/// number loses its verification unless the sync vouches for it; a person
/// made inactive loses their sessions and their queued deliveries.
pub async fn upsert(
    db: &Db,
    actor: &Actor,
    external_id: &str,
    u: &SyncedUser,
    now: i64,
) -> Result<Upserted, UpsertError> {
    // Two first syncs of one id at once: the loser of the unique index
    // finds the winner's row on its second pass.
    match upsert_once(db, actor, external_id, u, now).await {
        Err(UpsertError::Storage(Error::Conflict(_))) => {
            upsert_once(db, actor, external_id, u, now).await
        }
        other => other,
    }
}

/// One person's upsert inside the transaction `$tx`: evaluates to
/// `Result<Upserted, UpsertError>`. A macro, so each backend's transaction
/// gets its own typed statements; shared by [`upsert`] and [`upsert_all`].
macro_rules! upsert_in {
    ($tx:ident, $actor:expr, $external_id:expr, $u:expr, $now:expr) => {{
        let (actor, external_id, u, now): (&Actor, &str, &SyncedUser, i64) =
            ($actor, $external_id, $u, $now);
        let phone = u.phone.as_ref().map(PhoneE164::as_str);
        async {
            let stored: Option<Stored> = sqlx::query_as(
                "SELECT id, name, email, phone, phone_verified_at, role, work_zone, locale, time_zone, active
                 FROM users WHERE external_id = $1",
            )
            .bind(external_id)
            .fetch_optional(&mut *$tx)
            .await?;
            if let Some(zone) = &u.work_zone {
                if !zone_allowed!($tx, zone, stored.as_ref().map(|s| s.id)) {
                    return Err::<Upserted, UpsertError>(UpsertError::UnknownZone);
                }
            }
            let taken: Option<Option<String>> =
                sqlx::query_scalar("SELECT external_id FROM users WHERE email = $1")
                    .bind(&u.email)
                    .fetch_optional(&mut *$tx)
                    .await?;
            if matches!(&taken, Some(owner) if owner.as_deref() != Some(external_id)) {
                return Err(UpsertError::EmailTaken);
            }
            match stored {
                Some(s) if s.matches(u) => Ok(Upserted::Unchanged(s.id)),
                Some(s) => {
                    let verified_at = match (u.phone_verified, s.phone.as_deref() == phone) {
                        (true, _) => s.phone_verified_at.or(Some(now)),
                        (false, true) => s.phone_verified_at,
                        (false, false) => None,
                    };
                    let before = person_snapshot!($tx, s.id);
                    sqlx::query(
                        "UPDATE users SET name = $2, email = $3, phone = $4, phone_verified_at = $5,
                             role = $6, work_zone = $7, locale = $8, time_zone = $9, active = $10,
                             updated_at = $11
                         WHERE id = $1",
                    )
                    .bind(s.id)
                    .bind(&u.name)
                    .bind(&u.email)
                    .bind(phone)
                    .bind(verified_at)
                    .bind(u.role.as_str())
                    .bind(&u.work_zone)
                    .bind(u.locale.as_str())
                    .bind(&u.time_zone)
                    .bind(u.active)
                    .bind(now)
                    .execute(&mut *$tx)
                    .await?;
                    if s.active && !u.active {
                        stop!($tx, s.id, now);
                    }
                    let after = person_snapshot!($tx, s.id);
                    audit!($tx, actor, "user.update", &subject(s.id, &u.email), before, after, now);
                    Ok(Upserted::Updated(s.id))
                }
                None => {
                    let person = NewPerson {
                        name: &u.name,
                        email: &u.email,
                        password_hash: NO_PASSWORD,
                        phone,
                        phone_verified_at: (u.phone_verified && phone.is_some()).then_some(now),
                        role: u.role,
                        work_zone: u.work_zone.as_deref(),
                        locale: u.locale,
                        time_zone: &u.time_zone,
                        active: u.active,
                        external_id: Some(external_id),
                    };
                    let id = insert_person!($tx, &person, now);
                    let after = person_snapshot!($tx, id);
                    audit!($tx, actor, "user.create", &subject(id, &u.email), None::<String>, after, now);
                    Ok(Upserted::Created(id))
                }
            }
        }
        .await
    }};
}

async fn upsert_once(
    db: &Db,
    actor: &Actor,
    external_id: &str,
    u: &SyncedUser,
    now: i64,
) -> Result<Upserted, UpsertError> {
    Ok(in_tx!(db, |tx| upsert_in!(tx, actor, external_id, u, now)?))
}

/// Why [`upsert_all`] wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkError {
    /// The first row refused (its index) and why.
    Row(usize, UpsertError),
    Storage(Error),
}

impl From<sqlx::Error> for BulkError {
    fn from(e: sqlx::Error) -> Self {
        BulkError::Storage(e.into())
    }
}

/// Upserts every row in one transaction: all or nothing. Each person
/// changed gets their audit entry, and the import one more when any did.
pub async fn upsert_all(
    db: &Db,
    actor: &Actor,
    rows: &[(String, SyncedUser)],
    now: i64,
) -> Result<Vec<Upserted>, BulkError> {
    let done = in_tx!(db, |tx| {
        let mut done = Vec::with_capacity(rows.len());
        for (i, (external_id, u)) in rows.iter().enumerate() {
            done.push(
                upsert_in!(tx, actor, external_id, u, now).map_err(|e| BulkError::Row(i, e))?,
            );
        }
        let count = |f: fn(&Upserted) -> bool| done.iter().filter(|u| f(u)).count();
        let (created, updated) = (
            count(|u| matches!(u, Upserted::Created(_))),
            count(|u| matches!(u, Upserted::Updated(_))),
        );
        if created + updated > 0 {
            import_audited!(tx, actor, rows.len(), created, updated, now);
        }
        done
    });
    Ok(done)
}

/// Deactivates the person known as `external_id`: no sign-in, no new
/// messages, their queued ones failed with the reason; their history is
/// kept. `None` when no such person exists; deactivating twice is no error.
pub async fn deactivate(
    db: &Db,
    actor: &Actor,
    external_id: &str,
    now: i64,
) -> Result<Option<UserId>, Error> {
    let id = in_tx!(db, |tx| {
        let found: Option<(UserId, bool, String)> =
            sqlx::query_as("SELECT id, active, email FROM users WHERE external_id = $1")
                .bind(external_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((id, true, email)) = &found {
            sqlx::query("UPDATE users SET active = FALSE, updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            stop!(tx, id, now);
            let state = |a: bool| Some(serde_json::json!({ "active": a }).to_string());
            audit!(
                tx,
                actor,
                "user.deactivate",
                &subject(*id, email),
                state(true),
                state(false),
                now
            );
        }
        found.map(|(id, _, _)| id)
    });
    Ok(id)
}

/// The ids of the people known by these external ids (unknown ones are
/// absent from the map).
pub async fn ids_by_external(
    db: &Db,
    external: &[String],
) -> Result<HashMap<String, UserId>, Error> {
    let found = people_by(db, "external_id", external).await?;
    Ok(found.into_iter().map(|(k, (id, _))| (k, id)).collect())
}

/// The people whose `column` (a name written here, never input: `email`,
/// `external_id`) is one of `keys`, by that key: their id and work zone.
async fn people_by(
    db: &Db,
    column: &'static str,
    keys: &[String],
) -> Result<HashMap<String, (UserId, Option<String>)>, Error> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT {column}, id, work_zone FROM users WHERE {column} IN ({})",
        crate::db::placeholders(1, keys.len())
    );
    let rows: Vec<(String, UserId, Option<String>)> = on_db!(db, |pool| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for k in keys {
            q = q.bind(k);
        }
        q.fetch_all(pool).await?
    });
    Ok(rows
        .into_iter()
        .map(|(key, id, zone)| (key, (id, zone)))
        .collect())
}

/// The active zones' codes, by name.
async fn active_zones(db: &Db) -> Result<Vec<String>, Error> {
    Ok(crate::zones::choices(db)
        .await?
        .into_iter()
        .map(|(code, _)| code)
        .collect())
}

/// Whether `zone` would be refused for `person` (their id and current
/// zone; `None`: someone new) before writing, as [`zone_allowed!`] decides
/// on writing: neither active nor the person's own already.
fn zone_refused(
    zone: Option<&String>,
    active: &[String],
    person: Option<&(UserId, Option<String>)>,
) -> bool {
    zone.is_some_and(|z| {
        !active.contains(z) && person.is_none_or(|(_, own)| own.as_ref() != Some(z))
    })
}

/// What would refuse one row of a bulk sync, read before writing so that
/// a refusal names every bad row (the write itself stops at the first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCheck {
    /// Another person has the row's email.
    pub email_taken: bool,
    /// The zone does not exist, or is inactive and not the person's own
    /// already (as [`zone_allowed!`] decides on writing).
    pub zone_refused: bool,
}

/// [`SyncCheck`] of each row, in order; and the active zones' codes (the
/// refusal names them).
pub async fn sync_check(
    db: &Db,
    rows: &[(String, SyncedUser)],
) -> Result<(Vec<SyncCheck>, Vec<String>), Error> {
    let emails: Vec<String> = rows.iter().map(|(_, u)| u.email.clone()).collect();
    let external: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
    let by_email = people_by(db, "email", &emails).await?;
    let by_external = people_by(db, "external_id", &external).await?;
    let active = active_zones(db).await?;
    let checks = rows
        .iter()
        .map(|(external_id, u)| {
            let me = by_external.get(external_id);
            let holder = by_email.get(&u.email);
            SyncCheck {
                email_taken: holder.is_some_and(|(id, _)| me.is_none_or(|(mine, _)| mine != id)),
                zone_refused: zone_refused(u.work_zone.as_ref(), &active, me),
            }
        })
        .collect();
    Ok((checks, active))
}

// The users page's stores, after the macros above, which they use.
mod staff;
pub use staff::*;
