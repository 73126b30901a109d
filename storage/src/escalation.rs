//! SQL of escalation policies and their steps.

use crate::audit::{audit, audit_saved, Actor};
use crate::db::Db;
use crate::Error;
use crate::{in_tx, on_db};
use domain::escalation::{Step, StepTarget};
use domain::views::escalation::{Choices, PolicyView, ValidPolicy};
use domain::words::FieldError;
use domain::words::{Missing, Named, Words};
use domain::{Channel, NotificationType, Priority, Role};

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: i64,
    name: String,
    notification_type: Option<String>,
    min_priority: String,
    enabled: bool,
    open_alerts: i64,
}

#[derive(sqlx::FromRow)]
struct StepRow {
    policy_id: i64,
    delay_minutes: i64,
    target_kind: String,
    target_user_id: Option<i64>,
    target_role: Option<String>,
    target_zone: Option<String>,
    target_group_id: Option<i64>,
    channels: String,
}

fn step_of(r: &StepRow) -> Option<Step> {
    let target = match r.target_kind.as_str() {
        "user" => StepTarget::User {
            user_id: r.target_user_id?,
        },
        "role" => StepTarget::Role {
            role: Role::parse(r.target_role.as_deref()?).ok()?,
            zone: r.target_zone.clone(),
        },
        "group" => StepTarget::Group {
            group_id: r.target_group_id?,
        },
        _ => return None,
    };
    Some(Step {
        delay_minutes: r.delay_minutes,
        target,
        channels: r
            .channels
            .split(',')
            .filter_map(|c| Channel::parse(c.trim()).ok())
            .collect(),
    })
}

const STEP_COLUMNS: &str =
    "policy_id, delay_minutes, target_kind, target_user_id, target_role, target_zone,
     target_group_id, channels";

/// A policy's steps, in order (what the escalation sweep takes).
pub async fn steps(db: &Db, policy_id: i64) -> Result<Vec<Step>, Error> {
    let sql = format!(
        "SELECT {STEP_COLUMNS} FROM escalation_steps WHERE policy_id = $1 ORDER BY position"
    );
    let rows: Vec<StepRow> = on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(policy_id)
        .fetch_all(pool)
        .await?);
    Ok(rows.iter().filter_map(step_of).collect())
}

pub async fn list(db: &Db) -> Result<Vec<PolicyView>, Error> {
    let policies: Vec<PolicyRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT p.id, p.name, p.notification_type, p.min_priority, p.enabled,
                (SELECT COUNT(*) FROM alerts a WHERE a.policy_id = p.id AND a.status = 'open') AS open_alerts
         FROM escalation_policies p ORDER BY p.name"
    )
    .fetch_all(pool)
    .await?
    });
    let steps: Vec<StepRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT policy_id, delay_minutes, target_kind, target_user_id, target_role, target_zone,
                target_group_id, channels
         FROM escalation_steps ORDER BY policy_id, position"
    )
    .fetch_all(pool)
    .await?
    });
    Ok(policies
        .into_iter()
        .map(|p| PolicyView {
            steps: steps
                .iter()
                .filter(|s| s.policy_id == p.id)
                .filter_map(step_of)
                .collect(),
            id: p.id,
            name: p.name,
            notification_type: p
                .notification_type
                .as_deref()
                .and_then(|t| NotificationType::parse(t).ok()),
            min_priority: Priority::parse(&p.min_priority).unwrap_or(Priority::Critical),
            enabled: p.enabled,
            open_alerts: p.open_alerts,
        })
        .collect())
}

pub async fn choices(db: &Db) -> Result<Choices, Error> {
    let users: Vec<(i64, String, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, name, role FROM users WHERE active = TRUE ORDER BY name"
    )
    .fetch_all(pool)
    .await?);
    let groups: Vec<(i64, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, name FROM whatsapp_groups ORDER BY name"
    )
    .fetch_all(pool)
    .await?);
    // An inactive zone is offered for nothing new, but a step that has one
    // keeps showing it.
    let zones: Vec<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT code, name FROM work_zones
         WHERE active OR code IN (SELECT target_zone FROM escalation_steps WHERE target_zone IS NOT NULL)
         ORDER BY name"
    )
    .fetch_all(pool)
    .await?
    });
    Ok(Choices {
        users: users
            .into_iter()
            .filter_map(|(id, name, role)| Some((id, name, Role::parse(&role).ok()?)))
            .collect(),
        groups,
        zones,
    })
}

/// Policy `$id` with its steps as the audit trail keeps it, read in `$tx`.
macro_rules! policy_snapshot {
    ($tx:ident, $id:expr) => {{
        let policy: Option<(String, Option<String>, String, bool)> = sqlx::query_as(
            "SELECT name, notification_type, min_priority, enabled FROM escalation_policies WHERE id = $1",
        )
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        type StepSnap = (i64, String, Option<i64>, Option<String>, Option<String>, Option<i64>, String);
        let steps: Vec<StepSnap> = sqlx::query_as(
            "SELECT delay_minutes, target_kind, target_user_id, target_role, target_zone,
                    target_group_id, channels
             FROM escalation_steps WHERE policy_id = $1 ORDER BY position",
        )
        .bind($id)
        .fetch_all(&mut *$tx)
        .await?;
        policy.map(|(name, kind, min, enabled)| {
            let steps: Vec<serde_json::Value> = steps
                .into_iter()
                .map(|(delay, target, user, role, zone, group, channels)| {
                    serde_json::json!({
                        "delay_minutes": delay, "target": target, "user_id": user, "role": role,
                        "zone": zone, "group_id": group, "channels": channels,
                    })
                })
                .collect();
            serde_json::json!({
                "name": name, "type": kind, "min_priority": min, "enabled": enabled, "steps": steps,
            })
            .to_string()
        })
    }};
}

/// Saves a policy and replaces its steps, in one transaction. A person,
/// group or zone that does not exist is a validation error naming the step;
/// a taken name is a conflict.
pub async fn save(db: &Db, actor: &Actor, p: &ValidPolicy, now: i64) -> Result<i64, Error> {
    // The unique index on the name decides (two saves at once included).
    write(db, actor, p, now)
        .await
        .map_err(|e| e.taken(Named::Policy, &p.name))
}

async fn write(db: &Db, actor: &Actor, p: &ValidPolicy, now: i64) -> Result<i64, Error> {
    // Ok(id), or Err(the step naming something that does not exist).
    let saved: Result<i64, usize> = in_tx!(db, |tx| {
        let before = match p.id {
            Some(id) => policy_snapshot!(tx, id),
            None => None,
        };
        let mut missing = None;
        for (i, s) in p.steps.iter().enumerate() {
            let exists: Option<i64> = match &s.target {
                StepTarget::User { user_id } => {
                    sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&mut *tx)
                        .await?
                }
                StepTarget::Group { group_id } => {
                    sqlx::query_scalar("SELECT id FROM whatsapp_groups WHERE id = $1")
                        .bind(group_id)
                        .fetch_optional(&mut *tx)
                        .await?
                }
                // Active, or already this policy's (kept through an edit).
                StepTarget::Role { zone: Some(z), .. } => {
                    sqlx::query_scalar(
                        "SELECT CAST(1 AS BIGINT) FROM work_zones WHERE code = $1
                         AND (active OR code IN (SELECT target_zone FROM escalation_steps
                                                 WHERE policy_id = $2 AND target_zone IS NOT NULL))",
                    )
                    .bind(z)
                    .bind(p.id.unwrap_or(0))
                    .fetch_optional(&mut *tx)
                    .await?
                }
                StepTarget::Role { zone: None, .. } => Some(1),
            };
            if exists.is_none() {
                missing = Some(i + 1);
                break;
            }
        }
        match missing {
            Some(n) => Err(n),
            None => {
                let id: i64 = match p.id {
                Some(id) => {
                    let updated: Option<i64> = sqlx::query_scalar(
                        "UPDATE escalation_policies SET name = $2, notification_type = $3, min_priority = $4,
                             enabled = $5, updated_at = $6
                         WHERE id = $1 RETURNING id",
                    )
                    .bind(id)
                    .bind(&p.name)
                    .bind(p.notification_type.map(|t| t.as_str()))
                    .bind(p.min_priority.as_str())
                    .bind(p.enabled)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    updated.ok_or(Error::NotFound(Missing::Policy(id)))?
                }
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO escalation_policies (name, notification_type, min_priority, enabled,
                             created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                    )
                    .bind(&p.name)
                    .bind(p.notification_type.map(|t| t.as_str()))
                    .bind(p.min_priority.as_str())
                    .bind(p.enabled)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
                sqlx::query("DELETE FROM escalation_steps WHERE policy_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                for (position, s) in p.steps.iter().enumerate() {
                    let (kind, user, role, zone, group) = match &s.target {
                        StepTarget::User { user_id } => ("user", Some(*user_id), None, None, None),
                        StepTarget::Role { role, zone } => {
                            ("role", None, Some(role.as_str()), zone.clone(), None)
                        }
                        StepTarget::Group { group_id } => {
                            ("group", None, None, None, Some(*group_id))
                        }
                    };
                    let channels: Vec<&str> = s.channels.iter().map(|c| c.as_str()).collect();
                    sqlx::query(
                    "INSERT INTO escalation_steps (policy_id, position, delay_minutes, target_kind,
                         target_user_id, target_role, target_zone, target_group_id, channels)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(id)
                .bind(position as i64)
                .bind(s.delay_minutes)
                .bind(kind)
                .bind(user)
                .bind(role)
                .bind(zone)
                .bind(group)
                .bind(channels.join(","))
                .execute(&mut *tx)
                .await?;
                }
                let after = policy_snapshot!(tx, id);
                audit_saved!(
                    tx,
                    actor,
                    "escalation",
                    &format!("#{id} {}", p.name),
                    before,
                    after,
                    now
                );
                Ok(id)
            }
        }
    });
    let n = match saved {
        Ok(id) => return Ok(id),
        Err(n) => n,
    };
    Err(Error::Invalid(vec![FieldError::new(
        format!("steps[{n}]"),
        Words::new(
            "orang, grup atau zona yang dipilih tidak ada (atau zonanya nonaktif)",
            "the person, group or zone chosen does not exist (or the zone is inactive)",
        ),
    )]))
}

pub async fn delete(db: &Db, actor: &Actor, id: i64, now: i64) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let Some(before) = policy_snapshot!(tx, id) else {
            return Err(Error::NotFound(Missing::Policy(id)));
        };
        sqlx::query("DELETE FROM escalation_policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit!(
            tx,
            actor,
            "escalation.delete",
            &format!("#{id}"),
            Some(before),
            None::<String>,
            now
        );
    });
    Ok(())
}
