//! SQL for WhatsApp groups.

use crate::audit::{audit, audit_saved, Actor};
use crate::db::{value_rows, Db};
use crate::error::internal;
use crate::outbox::write_event;
use crate::outbox::{NewDelivery, NewEvent};
use crate::Error;
use crate::{in_tx, on_db};
use domain::views::groups::{
    GroupDetail, GroupReach, GroupView, MemberOption, RuleView, ValidGroup,
};
use domain::words::FieldError;
use domain::words::{Missing, Words};
use domain::{
    Channel, DeliveryId, GroupCategory, GroupId, NotificationType, Priority, Role, UserId,
};

fn group_not_found(id: GroupId) -> Error {
    Error::NotFound(Missing::Group(id))
}

/// Inside `in_tx!`: returns `NotFound` unless group `$id` exists.
macro_rules! ensure_group {
    ($tx:ident, $id:expr) => {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM whatsapp_groups WHERE id = $1")
                .bind($id)
                .fetch_optional(&mut *$tx)
                .await?;
        if exists.is_none() {
            return Err(group_not_found($id));
        }
    };
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: GroupId,
    name: String,
    description: String,
    chat_id: String,
    phone_number: Option<String>,
    category: String,
    work_zone: Option<String>,
    work_zone_name: Option<String>,
    active: bool,
    member_count: i64,
    rule_count: i64,
}

impl TryFrom<GroupRow> for GroupView {
    type Error = Error;
    fn try_from(r: GroupRow) -> Result<Self, Error> {
        Ok(GroupView {
            category: GroupCategory::parse(&r.category)
                .map_err(|e| internal("whatsapp_groups.category", &e))?,
            id: r.id,
            name: r.name,
            description: r.description,
            chat_id: r.chat_id,
            phone_number: r.phone_number,
            work_zone: r.work_zone,
            work_zone_name: r.work_zone_name,
            active: r.active,
            member_count: r.member_count,
            rule_count: r.rule_count,
        })
    }
}

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.description, g.chat_id, g.phone_number, g.category, g.work_zone,
                z.name AS work_zone_name, g.active,
                (SELECT COUNT(*) FROM whatsapp_group_members m WHERE m.group_id = g.id) AS member_count,
                (SELECT COUNT(*) FROM notification_group_rules r WHERE r.group_id = g.id) AS rule_count
         FROM whatsapp_groups g LEFT JOIN work_zones z ON z.code = g.work_zone";

/// Every group, by name, with its member and rule counts.
pub async fn list(db: &Db) -> Result<Vec<GroupView>, Error> {
    let sql = format!("{GROUP_SELECT} ORDER BY g.name");
    let rows: Vec<GroupRow> = on_db!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(GroupView::try_from).collect()
}

pub async fn work_zones(db: &Db) -> Result<Vec<(String, String)>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT code, name FROM work_zones ORDER BY name"
    )
    .fetch_all(pool)
    .await?))
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    notification_type: String,
    enabled: bool,
    min_priority: Option<String>,
    work_zone: Option<String>,
    template: Option<String>,
}

/// A group with every active user (members ticked) and its rules.
pub async fn detail(db: &Db, id: GroupId) -> Result<GroupDetail, Error> {
    let sql = format!("{GROUP_SELECT} WHERE g.id = $1");
    type UserRow = (UserId, String, String, Option<String>, bool);
    type Rows = (Option<GroupRow>, Vec<UserRow>, Vec<RuleRow>);
    let (group, users, rules): Rows = on_db!(db, |pool| {
        let group = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(pool)
            .await?;
        let users = sqlx::query_as(
                "SELECT u.id, u.name, u.role, u.work_zone,
                        EXISTS (SELECT 1 FROM whatsapp_group_members m WHERE m.group_id = $1 AND m.user_id = u.id)
                 FROM users u WHERE u.active = TRUE ORDER BY u.name",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
        let rules = sqlx::query_as(
                "SELECT r.id, r.notification_type, r.enabled, r.min_priority, r.work_zone, t.body AS template
                 FROM notification_group_rules r LEFT JOIN message_templates t ON t.id = r.template_id
                 WHERE r.group_id = $1 ORDER BY r.id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
        (group, users, rules)
    });
    let group: GroupView = group.ok_or_else(|| group_not_found(id))?.try_into()?;
    let members = users
        .into_iter()
        .map(|(user_id, name, role, work_zone, member)| {
            Ok(MemberOption {
                role: Role::parse(&role).map_err(|e| internal("users.role", &e))?,
                user_id,
                name,
                work_zone,
                member,
            })
        })
        .collect::<Result<_, Error>>()?;
    let rules = rules
        .into_iter()
        .map(|r| {
            Ok(RuleView {
                notification_type: NotificationType::parse(&r.notification_type)
                    .map_err(|e| internal("rules.notification_type", &e))?,
                min_priority: r
                    .min_priority
                    .as_deref()
                    .map(Priority::parse)
                    .transpose()
                    .map_err(|e| internal("rules.min_priority", &e))?,
                id: r.id,
                enabled: r.enabled,
                work_zone: r.work_zone,
                template: r.template.unwrap_or_default(),
            })
        })
        .collect::<Result<_, Error>>()?;
    // Active zones, and those the group or its rules already have.
    let work_zones = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT code, name FROM work_zones
         WHERE active
            OR code IN (SELECT work_zone FROM whatsapp_groups WHERE id = $1 AND work_zone IS NOT NULL)
            OR code IN (SELECT work_zone FROM notification_group_rules WHERE group_id = $1 AND work_zone IS NOT NULL)
         ORDER BY name"
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    });
    Ok(GroupDetail {
        group,
        members,
        rules,
        work_zones,
    })
}

/// A zone that does not exist, or is inactive and so offered for nothing new.
fn unknown_zone() -> Error {
    Error::invalid(
        "work_zone",
        Words::new(
            "Zona kerja tidak dikenal atau nonaktif.",
            "Unknown or inactive work zone.",
        ),
    )
}

/// Database refusals a form can cause, as field errors: told by the
/// driver's kind of violation, not by its message (which PostgreSQL writes
/// in the server's language).
fn refused(e: sqlx::Error) -> Error {
    use sqlx::error::ErrorKind;
    match e.as_database_error().map(|d| d.kind()) {
        Some(ErrorKind::UniqueViolation) => Error::Invalid(vec![FieldError::new(
            "name",
            Words::new(
                "Nama grup sudah dipakai grup lain.",
                "Another group already has this name.",
            ),
        )]),
        Some(ErrorKind::ForeignKeyViolation) => unknown_zone(),
        _ => Error::from(e),
    }
}

/// Group `$id` as the audit trail keeps it, read in `$tx`.
macro_rules! group_snapshot {
    ($tx:ident, $id:expr) => {{
        type Snap = (String, Option<String>, String, Option<String>, String, Option<String>, bool);
        let row: Option<Snap> = sqlx::query_as(
            "SELECT name, description, chat_id, phone_number, category, work_zone, active
             FROM whatsapp_groups WHERE id = $1",
        )
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        row.map(|(name, description, chat_id, phone, category, zone, active)| {
            serde_json::json!({
                "name": name, "description": description, "chat_id": chat_id,
                "phone_number": phone, "category": category, "work_zone": zone, "active": active,
            })
            .to_string()
        })
    }};
}

/// Rule `$id` as the audit trail keeps it (with its own template), read in
/// `$tx`.
macro_rules! rule_snapshot {
    ($tx:ident, $id:expr) => {{
        type Snap = (i64, String, Option<String>, Option<String>, Option<String>);
        let row: Option<Snap> = sqlx::query_as(
            "SELECT r.group_id, r.notification_type, r.min_priority, r.work_zone, t.body
             FROM notification_group_rules r LEFT JOIN message_templates t ON t.id = r.template_id
             WHERE r.id = $1",
        )
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        row.map(|(group, kind, min, zone, template)| {
            (
                group,
                serde_json::json!({
                    "type": kind, "min_priority": min, "work_zone": zone, "template": template,
                })
                .to_string(),
            )
        })
    }};
}

pub async fn save(db: &Db, actor: &Actor, g: &ValidGroup, now: i64) -> Result<GroupId, Error> {
    // A zone must be active, unless the group already has it.
    if let Some(zone) = &g.work_zone {
        let offered: Option<String> = on_db!(db, |pool| {
            sqlx::query_scalar(
            "SELECT code FROM work_zones WHERE code = $1
             AND (active OR code IN (SELECT work_zone FROM whatsapp_groups WHERE id = $2 AND work_zone IS NOT NULL))"
        )
        .bind(zone)
        .bind(g.id.map_or(0, |id| id.0))
        .fetch_optional(pool)
        .await?
        });
        if offered.is_none() {
            return Err(unknown_zone());
        }
    }
    let phone = g.phone_number.as_ref().map(|p| p.as_str().to_owned());
    // One set of values for both statements; the update adds the id.
    let sql = match g.id {
        None => {
            "INSERT INTO whatsapp_groups (name, description, chat_id, phone_number, category, work_zone,
                 active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id"
        }
        Some(_) => {
            "UPDATE whatsapp_groups SET name = $1, description = $2, chat_id = $3, phone_number = $4,
                 category = $5, work_zone = $6, active = $7, updated_at = $8
             WHERE id = $9 RETURNING id"
        }
    };
    let id = in_tx!(db, |tx| {
        let before = match g.id {
            Some(id) => group_snapshot!(tx, id),
            None => None,
        };
        let mut q = sqlx::query_scalar(sql)
            .bind(&g.name)
            .bind(&g.description)
            .bind(&g.chat_id)
            .bind(&phone)
            .bind(g.category.as_str())
            .bind(&g.work_zone)
            .bind(g.active)
            .bind(now);
        if let Some(id) = g.id {
            q = q.bind(id);
        }
        let saved: Option<GroupId> = q.fetch_optional(&mut *tx).await.map_err(refused)?;
        let Some(id) = saved else {
            return Err(group_not_found(g.id.unwrap_or_default()));
        };
        let after = group_snapshot!(tx, id);
        audit_saved!(
            tx,
            actor,
            "group",
            &format!("#{id} {}", g.name),
            before,
            after,
            now
        );
        id
    });
    Ok(id)
}

pub async fn delete(db: &Db, actor: &Actor, id: GroupId, now: i64) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let Some(before) = group_snapshot!(tx, id) else {
            return Err(group_not_found(id));
        };
        // The rules' own templates go with them.
        sqlx::query(
            "DELETE FROM message_templates WHERE id IN
                 (SELECT template_id FROM notification_group_rules WHERE group_id = $1)
               AND key LIKE 'rule:%'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM whatsapp_groups WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit!(
            tx,
            actor,
            "group.delete",
            &format!("#{id}"),
            Some(before),
            None::<String>,
            now
        );
    });
    Ok(())
}

pub async fn set_members(
    db: &Db,
    actor: &Actor,
    group_id: GroupId,
    user_ids: &[UserId],
    now: i64,
) -> Result<(), Error> {
    let mut ids = user_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    in_tx!(db, |tx| {
        ensure_group!(tx, group_id);
        let before: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM whatsapp_group_members WHERE group_id = $1 ORDER BY user_id",
        )
        .bind(group_id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM whatsapp_group_members WHERE group_id = $1")
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        for chunk in ids.chunks(crate::outbox::INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO whatsapp_group_members (group_id, user_id, added_at) VALUES {}",
                value_rows(chunk.len(), 3)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(group_id).bind(*u).bind(now);
            }
            q.execute(&mut *tx)
                .await
                .map_err(|e| match e.as_database_error() {
                    Some(d) if d.is_foreign_key_violation() => Error::invalid(
                        "members",
                        Words::new("Pengguna tidak dikenal.", "Unknown user."),
                    ),
                    _ => Error::from(e),
                })?;
        }
        let after: Vec<i64> = ids.iter().map(|u| u.0).collect();
        if before != after {
            let ids = |v: &[i64]| Some(serde_json::json!({ "members": v }).to_string());
            audit!(
                tx,
                actor,
                "group.members",
                &format!("#{group_id}"),
                ids(&before),
                ids(&after),
                now
            );
        }
    });
    Ok(())
}

/// Adds a rule; a template of its own is stored as `rule:<id>` and checked
/// for unknown variables like every template.
pub async fn add_rule(
    db: &Db,
    actor: &Actor,
    group_id: GroupId,
    (kind, min_priority, work_zone, template): domain::views::groups::ValidRule,
    template_text: &str,
    now: i64,
) -> Result<i64, Error> {
    let id = in_tx!(db, |tx| {
        ensure_group!(tx, group_id);
        if let Some(z) = &work_zone {
            let known: Option<String> =
                sqlx::query_scalar("SELECT code FROM work_zones WHERE code = $1 AND active")
                    .bind(z)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_none() {
                return Err(unknown_zone());
            }
        }
        let rule_id: i64 = sqlx::query_scalar(
            "INSERT INTO notification_group_rules (group_id, notification_type, enabled, min_priority,
                 work_zone, created_at, updated_at)
             VALUES ($1, $2, TRUE, $3, $4, $5, $5) RETURNING id",
        )
        .bind(group_id)
        .bind(kind.as_str())
        .bind(min_priority.map(Priority::as_str))
        .bind(&work_zone)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if template.is_some() {
            let template_id: i64 = sqlx::query_scalar(
                "INSERT INTO message_templates (key, channel, locale, subject, body, updated_at)
                 VALUES ($1, 'whatsapp_group', 'id', NULL, $2, $3) RETURNING id",
            )
            .bind(format!("rule:{rule_id}"))
            .bind(template_text.trim())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("UPDATE notification_group_rules SET template_id = $1 WHERE id = $2")
                .bind(template_id)
                .bind(rule_id)
                .execute(&mut *tx)
                .await?;
        }
        let after = rule_snapshot!(tx, rule_id).map(|(_, r)| r);
        audit!(
            tx,
            actor,
            "rule.create",
            &format!("#{rule_id} (grup #{group_id})"),
            None::<String>,
            after,
            now
        );
        rule_id
    });
    Ok(id)
}

pub async fn delete_rule(db: &Db, actor: &Actor, id: i64, now: i64) -> Result<(), Error> {
    in_tx!(db, |tx| {
        let Some((group, before)) = rule_snapshot!(tx, id) else {
            return Err(Error::NotFound(Missing::Rule(id)));
        };
        let template: Option<Option<i64>> =
            sqlx::query_scalar("SELECT template_id FROM notification_group_rules WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM notification_group_rules WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(Some(t)) = template {
            sqlx::query("DELETE FROM message_templates WHERE id = $1 AND key LIKE 'rule:%'")
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        audit!(
            tx,
            actor,
            "rule.delete",
            &format!("#{id} (grup #{group})"),
            Some(before),
            None::<String>,
            now
        );
    });
    Ok(())
}

/// A test message to the group's chat, through the outbox.
pub async fn test_send(
    db: &Db,
    group_id: GroupId,
    by_user: UserId,
    message: &str,
    now: i64,
) -> Result<DeliveryId, Error> {
    let text = domain::views::deliveries::check_test_message(message)
        .map_err(|e| Error::Invalid(vec![e]))?;
    let id = in_tx!(db, |tx| {
        let chat: Option<(String, bool)> =
            sqlx::query_as("SELECT chat_id, active FROM whatsapp_groups WHERE id = $1")
                .bind(group_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((chat_id, _active)) = chat else {
            return Err(group_not_found(group_id));
        };
        let event =
            NewEvent::test_send(serde_json::json!({ "group_ids": [group_id], "by_user": by_user }));
        let delivery = NewDelivery {
            group_id: Some(group_id),
            ..NewDelivery::test_send(Channel::WhatsappGroup, chat_id, None, text.to_owned(), now)
        };
        let event_id = write_event(&mut *tx, &event, std::slice::from_ref(&delivery), &[], now)
            .await?
            .id();
        let id: DeliveryId = sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&mut *tx)
            .await?;
        id
    });
    Ok(id)
}

/// The enabled WhatsApp accounts split by whether their kind can post to a
/// gateway group chat (`ProviderKind::reaches_gateway_groups`), as the
/// dispatcher splits them.
pub async fn senders(db: &Db) -> Result<GroupReach, Error> {
    let rows: Vec<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT name, kind FROM provider_accounts WHERE enabled AND channel = 'whatsapp'
             ORDER BY failover_order, id",
        )
        .fetch_all(pool)
        .await?
    });
    let mut senders = GroupReach::default();
    for (name, kind) in rows {
        match domain::providers::ProviderKind::parse(&kind) {
            Some(k) if k.reaches_gateway_groups() => senders.reach.push(name),
            _ => senders.cannot.push(name),
        }
    }
    Ok(senders)
}
