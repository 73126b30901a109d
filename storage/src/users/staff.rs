//! The users page's stores: people by this product's own ids: the list,
//! one person, create, edit, (de)activation, the CSV import, and the
//! lookup by email of the command line.

use super::{subject, NewPerson, NO_PASSWORD};
use crate::audit::{audit, Actor};
use crate::db::Db;
use crate::{in_tx, on_db, Error};
use domain::phone::PhoneE164;
use domain::views::users::{UserRow, ValidUser};
use domain::words::FieldError;
use domain::{Locale, Role, UserId, Words};

/// The users page's row: everything but the password, which only says
/// whether one is set.
const ROW: &str = "SELECT id, name, email, phone, phone_verified_at IS NOT NULL AS phone_verified,
        role, work_zone, locale, time_zone, active, external_id,
        password_hash NOT LIKE '!%' AS has_password
     FROM users";

#[derive(sqlx::FromRow)]
struct Row {
    id: UserId,
    name: String,
    email: String,
    phone: Option<String>,
    phone_verified: bool,
    role: String,
    work_zone: Option<String>,
    locale: String,
    time_zone: String,
    active: bool,
    external_id: Option<String>,
    has_password: bool,
}

impl Row {
    fn view(self) -> Result<UserRow, Error> {
        Ok(UserRow {
            id: self.id,
            name: self.name,
            email: self.email,
            phone: self.phone,
            phone_verified: self.phone_verified,
            role: Role::parse(&self.role).map_err(|e| crate::error::internal("users.role", &e))?,
            work_zone: self.work_zone,
            locale: Locale::parse(&self.locale).unwrap_or(Locale::Id),
            time_zone: self.time_zone,
            active: self.active,
            external_id: self.external_id,
            has_password: self.has_password,
        })
    }
}

/// Everyone, by name (an ISP's staff: hundreds, a few thousand at most;
/// the page filters them as the admin types).
pub async fn list(db: &Db) -> Result<Vec<UserRow>, Error> {
    let sql = format!("{ROW} ORDER BY name, id");
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(Row::view).collect()
}

pub async fn get(db: &Db, id: UserId) -> Result<UserRow, Error> {
    let sql = format!("{ROW} WHERE id = $1");
    let row: Option<Row> = on_db!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.ok_or(Error::NotFound(domain::words::Missing::User))?
        .view()
}

/// The email is another person's, or the zone is unknown: each named on
/// its field, in the transaction `$tx`.
macro_rules! check_unique {
    ($tx:ident, $u:expr, $id:expr) => {{
        let (u, id): (&ValidUser, Option<UserId>) = ($u, $id);
        let mut errors = Vec::new();
        let holder: Option<UserId> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(&u.email)
            .fetch_optional(&mut *$tx)
            .await?;
        if holder.is_some() && holder != id {
            errors.push(FieldError::new(
                "email",
                Words::new(
                    "Email ini sudah dipakai orang lain.",
                    "Someone else has this email.",
                ),
            ));
        }
        if let Some(zone) = &u.work_zone {
            if !zone_allowed!($tx, zone, id) {
                errors.push(FieldError::new(
                    "work_zone",
                    Words::new(
                        "Zona kerja tidak dikenal atau nonaktif.",
                        "Unknown or inactive work zone.",
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
    }};
}

/// Adds a person from the users page, with no password yet (they set
/// their own with the link sent next) and default notification settings.
pub async fn create(db: &Db, actor: &Actor, u: &ValidUser, now: i64) -> Result<UserId, Error> {
    let id = in_tx!(db, |tx| {
        check_unique!(tx, u, None);
        create_audited!(tx, actor, u, now)
    });
    Ok(id)
}

/// Saves the users page's edit of person `id`. A changed number is
/// unverified until its owner verifies it; made inactive, the person loses
/// their sessions and queued messages. Routing reads people at each event,
/// so a new zone or role takes effect with the next one.
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: UserId,
    u: &ValidUser,
    now: i64,
) -> Result<(), Error> {
    in_tx!(db, |tx| {
        // Who is edited first: an unknown person is not found, whatever
        // the form says.
        let exists: Option<UserId> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::NotFound(domain::words::Missing::User));
        }
        check_unique!(tx, u, Some(id));
        update_audited!(tx, actor, id, u, now);
    });
    Ok(())
}

/// Replaces person `$id`'s details with `$u` in the transaction `$tx`; a
/// changed number loses its verification, and made inactive the person
/// loses their sessions and queued messages. Evaluates to whether the
/// person exists.
macro_rules! update_person {
    ($tx:ident, $id:expr, $u:expr, $now:expr) => {{
        let (id, u, now): (UserId, &ValidUser, i64) = ($id, $u, $now);
        let before: Option<(Option<String>, bool)> =
            sqlx::query_as("SELECT phone, active FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *$tx)
                .await?;
        match before {
            None => false,
            Some((phone, was_active)) => {
                let new_phone = u.phone.as_ref().map(PhoneE164::as_str);
                sqlx::query(
                    "UPDATE users SET name = $2, email = $3, phone = $4,
                         phone_verified_at = CASE WHEN $5 THEN phone_verified_at ELSE NULL END,
                         role = $6, work_zone = $7, locale = $8, time_zone = $9, active = $10,
                         updated_at = $11
                     WHERE id = $1",
                )
                .bind(id)
                .bind(&u.name)
                .bind(&u.email)
                .bind(new_phone)
                .bind(phone.as_deref() == new_phone)
                .bind(u.role.as_str())
                .bind(&u.work_zone)
                .bind(u.locale.as_str())
                .bind(&u.time_zone)
                .bind(u.active)
                .bind(now)
                .execute(&mut *$tx)
                .await?;
                if was_active && !u.active {
                    stop!($tx, id, now);
                }
                true
            }
        }
    }};
}
use update_person;

/// Adds page-made person `$u` in `$tx` with their audit entry (the page's
/// create and the import's new rows); evaluates to their id.
macro_rules! create_audited {
    ($tx:ident, $actor:expr, $u:expr, $now:expr) => {{
        let (u, now): (&ValidUser, i64) = ($u, $now);
        let person = new_person(u);
        let id: UserId = insert_person!($tx, &person, now);
        let after = person_snapshot!($tx, id);
        let subject = subject(id, &u.email);
        audit!(
            $tx,
            $actor,
            "user.create",
            &subject,
            None::<String>,
            after,
            now
        );
        id
    }};
}
use create_audited;

/// [`update_person!`] with its audit entry, written only when the person
/// changed (the page's edit and the import's existing rows).
macro_rules! update_audited {
    ($tx:ident, $actor:expr, $id:expr, $u:expr, $now:expr) => {{
        let (id, u, now): (UserId, &ValidUser, i64) = ($id, $u, $now);
        let before = person_snapshot!($tx, id);
        update_person!($tx, id, u, now);
        let after = person_snapshot!($tx, id);
        if before != after {
            let subject = subject(id, &u.email);
            audit!($tx, $actor, "user.update", &subject, before, after, now);
        }
    }};
}
use update_audited;

/// What one imported row would do, without writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPlan {
    /// The person with the row's email, who would be updated; `None`: a
    /// new person.
    pub existing: Option<UserId>,
    /// The row's zone does not exist, or is inactive and not the person's
    /// own already (as [`zone_allowed!`] decides on saving).
    pub zone_refused: bool,
}

/// What each imported row would do, in their order.
pub async fn import_plan(db: &Db, rows: &[&ValidUser]) -> Result<Vec<RowPlan>, Error> {
    let emails: Vec<String> = rows.iter().map(|u| u.email.clone()).collect();
    let holders = super::people_by(db, "email", &emails).await?;
    let active = super::active_zones(db).await?;
    Ok(rows
        .iter()
        .map(|u| {
            let holder = holders.get(&u.email);
            RowPlan {
                existing: holder.map(|(id, _)| *id),
                zone_refused: super::zone_refused(u.work_zone.as_ref(), &active, holder),
            }
        })
        .collect())
}

/// Saves every imported row in one transaction, all or none: a person
/// with the row's email is updated, anyone else created with no password
/// yet. Answers each row's id and whether it was created. A zone that does
/// not exist (or no longer) refuses the whole import.
pub async fn import(
    db: &Db,
    actor: &Actor,
    rows: &[ValidUser],
    now: i64,
) -> Result<Vec<(UserId, bool)>, Error> {
    let done = in_tx!(db, |tx| {
        let mut done = Vec::with_capacity(rows.len());
        for u in rows {
            let holder: Option<UserId> =
                sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                    .bind(&u.email)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(zone) = &u.work_zone {
                if !zone_allowed!(tx, zone, holder) {
                    return Err(Error::invalid(
                        "csv",
                        Words::fill(
                            "Zona '{}' tidak ada atau nonaktif: periksa lagi sebelum menyimpan.",
                            "Zone '{}' does not exist or is inactive: check again before saving.",
                            &[zone],
                        ),
                    ));
                }
            }
            match holder {
                Some(id) => {
                    update_audited!(tx, actor, id, u, now);
                    done.push((id, false));
                }
                None => done.push((create_audited!(tx, actor, u, now), true)),
            }
        }
        let created = done.iter().filter(|(_, c)| *c).count();
        import_audited!(tx, actor, rows.len(), created, rows.len() - created, now);
        done
    });
    Ok(done)
}

/// A page-made person as a row to insert: no password until their link.
fn new_person(u: &ValidUser) -> NewPerson<'_> {
    NewPerson {
        name: &u.name,
        email: &u.email,
        password_hash: NO_PASSWORD,
        phone: u.phone.as_ref().map(PhoneE164::as_str),
        phone_verified_at: None,
        role: u.role,
        work_zone: u.work_zone.as_deref(),
        locale: u.locale,
        time_zone: &u.time_zone,
        active: u.active,
        external_id: None,
    }
}

/// Deactivates (sessions end, queued messages fail with the reason,
/// history stays) or reactivates person `id`.
pub async fn set_active(
    db: &Db,
    actor: &Actor,
    id: UserId,
    active: bool,
    now: i64,
) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let was: Option<(bool, String)> =
            sqlx::query_as("SELECT active, email FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((was, email)) = was else {
            return Err(Error::NotFound(domain::words::Missing::User));
        };
        sqlx::query("UPDATE users SET active = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(active)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if was && !active {
            stop!(tx, id, now);
        }
        if was != active {
            let action = if active {
                "user.activate"
            } else {
                "user.deactivate"
            };
            let state = |a: bool| Some(serde_json::json!({ "active": a }).to_string());
            audit!(
                tx,
                actor,
                action,
                &subject(id, &email),
                state(was),
                state(active),
                now
            );
        }
    });
    Ok(())
}

/// The person with this email (the command line names people by it).
pub async fn id_by_email(db: &Db, email: &str) -> Result<Option<UserId>, Error> {
    let email = email.trim().to_lowercase();
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(pool)
            .await?
    }))
}
