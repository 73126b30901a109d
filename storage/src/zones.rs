//! Work zones as admins manage them: create, rename, deactivate and
//! reactivate; delete only a zone nothing refers to. Codes are what the
//! API uses (`work_zone: "karawang"`) and never change; names are what
//! people read.

use crate::audit::{audit, Actor};
use crate::db::Db;
use crate::{in_tx, on_db, Error};
use domain::views::zones::{ValidZone, ZoneView};
use domain::words::{Clash, Words};
use serde_json::json;

/// Every zone, with how many people, groups, rules and escalation steps
/// use it.
pub async fn list(db: &Db) -> Result<Vec<ZoneView>, Error> {
    let rows: Vec<(String, String, bool, i64, i64, i64, i64)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT z.code, z.name, z.active,
                (SELECT COUNT(*) FROM users u WHERE u.work_zone = z.code),
                (SELECT COUNT(*) FROM whatsapp_groups g WHERE g.work_zone = z.code),
                (SELECT COUNT(*) FROM notification_group_rules r WHERE r.work_zone = z.code),
                (SELECT COUNT(*) FROM escalation_steps s WHERE s.target_zone = z.code)
             FROM work_zones z ORDER BY z.name",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(code, name, active, people, groups, rules, steps)| ZoneView {
                code,
                name,
                active,
                people,
                groups,
                rules,
                steps,
            },
        )
        .collect())
}

/// Adds a zone; a code in use is named on its field.
pub async fn create(db: &Db, actor: &Actor, z: &ValidZone, now: i64) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let taken: Option<String> =
            sqlx::query_scalar("SELECT code FROM work_zones WHERE code = $1")
                .bind(&z.code)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(Error::invalid(
                "code",
                Words::new(
                    "Kode ini sudah dipakai zona lain.",
                    "Another zone has this code.",
                ),
            ));
        }
        sqlx::query(
            "INSERT INTO work_zones (code, name, active, updated_at) VALUES ($1, $2, TRUE, $3)",
        )
        .bind(&z.code)
        .bind(&z.name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let after = json!({"code": z.code, "name": z.name, "active": true}).to_string();
        audit!(
            tx,
            actor,
            "zone.create",
            &z.code,
            None::<String>,
            Some(after),
            now
        );
    });
    Ok(())
}

/// Renames zone `code` and switches it on or off. An inactive zone keeps
/// its people, groups and rules but is offered for nothing new.
pub async fn update(db: &Db, actor: &Actor, z: &ValidZone, now: i64) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let before: Option<(String, bool)> =
            sqlx::query_as("SELECT name, active FROM work_zones WHERE code = $1")
                .bind(&z.code)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((name, active)) = before else {
            return Err(Error::NotFound(domain::words::Missing::Zone));
        };
        sqlx::query(
            "UPDATE work_zones SET name = $2, active = $3, updated_at = $4 WHERE code = $1",
        )
        .bind(&z.code)
        .bind(&z.name)
        .bind(z.active)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let before = json!({"code": z.code, "name": name, "active": active}).to_string();
        let after = json!({"code": z.code, "name": z.name, "active": z.active}).to_string();
        audit!(
            tx,
            actor,
            "zone.update",
            &z.code,
            Some(before),
            Some(after),
            now
        );
    });
    Ok(())
}

/// Deletes zone `code` if nothing refers to it; otherwise says what does
/// (deactivate it instead).
pub async fn delete(db: &Db, actor: &Actor, code: &str, now: i64) -> Result<(), Error> {
    let zones = list(db).await?;
    let Some(z) = zones.iter().find(|z| z.code == code) else {
        return Err(Error::NotFound(domain::words::Missing::Zone));
    };
    if z.in_use() {
        return Err(Error::Conflict(Clash::Refused(Words::of(|l| {
            z.use_words(l)
        }))));
    }
    // A reference added since the count is refused by the foreign keys.
    let before = json!({"code": z.code, "name": z.name, "active": z.active}).to_string();
    in_tx!(db, |tx| {
        let n = sqlx::query("DELETE FROM work_zones WHERE code = $1")
            .bind(code)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound(domain::words::Missing::Zone));
        }
        audit!(
            tx,
            actor,
            "zone.delete",
            code,
            Some(before),
            None::<String>,
            now
        );
    });
    Ok(())
}

/// The zones offered for something new (a person's zone): the active ones,
/// by name.
pub async fn choices(db: &Db) -> Result<Vec<(String, String)>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT code, name FROM work_zones WHERE active ORDER BY name"
    )
    .fetch_all(pool)
    .await?))
}
