//! The facts an event is routed on, as stored: the recipients with their
//! settings and switches, the group rules and members, the templates, zones
//! and escalation policies. Ingestion (`server::ingest::plan`) caches the
//! small tables and turns the rows into `domain::routing`'s facts.

use crate::db::{placeholders, Db};
use crate::{on_db, Error};
use domain::escalation::PolicyFacts;
use domain::{NotificationType, Priority};

/// A recipient with their settings and whether they have a push device.
#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub phone_verified_at: Option<i64>,
    pub role: String,
    pub active: bool,
    pub locale: String,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub has_push_device: bool,
    pub digest_enabled: bool,
    pub whatsapp_enabled: bool,
    pub receive_group_notifications: bool,
    pub quiet_hours_enabled: bool,
    pub quiet_start_minute: i64,
    pub quiet_end_minute: i64,
    pub quiet_time_zone: String,
    pub critical_bypass_quiet: bool,
    /// The (type, channel) pairs the person switched off, as
    /// `"type channel,type channel"` (read in the same statement: one round
    /// trip per event instead of two).
    pub disabled_types: Option<String>,
}

impl UserRow {
    /// The (notification type, channel) pairs switched off.
    pub fn disabled_types(&self) -> impl Iterator<Item = (&str, &str)> {
        self.disabled_types
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|pair| pair.split_once(' '))
    }
}

/// A group rule with its group's state.
#[derive(sqlx::FromRow, Clone)]
pub struct RuleRow {
    pub notification_type: String,
    pub id: i64,
    pub group_id: i64,
    pub enabled: bool,
    pub min_priority: Option<String>,
    pub work_zone: Option<String>,
    pub template_id: Option<i64>,
    pub group_active: bool,
    pub group_work_zone: Option<String>,
    pub chat_id: String,
}

/// Every template: (id, key, channel, locale, body).
/// A template row as the renderer reads it.
pub type TemplateRow = (i64, String, String, String, Option<String>, String);

/// Every template: (id, key, channel, locale, subject, body).
pub async fn templates(db: &Db) -> Result<Vec<TemplateRow>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT id, key, channel, locale, subject, body FROM message_templates"
    )
    .fetch_all(pool)
    .await?))
}

/// Every work zone: (code, name).
pub async fn zones(db: &Db) -> Result<Vec<(String, String)>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT code, name FROM work_zones"
    )
    .fetch_all(pool)
    .await?))
}

pub async fn users(db: &Db, ids: &[i64], admins: bool) -> Result<Vec<UserRow>, Error> {
    if ids.is_empty() && !admins {
        return Ok(vec![]);
    }
    let mut cond = Vec::new();
    if !ids.is_empty() {
        cond.push(format!("u.id IN ({})", placeholders(1, ids.len())));
    }
    if admins {
        cond.push("(u.role = 'admin' AND u.active = TRUE)".to_owned());
    }
    let sql = format!(
        "SELECT u.id, u.name, u.email, u.phone, u.phone_verified_at, u.role, u.active, u.locale,
                s.email_enabled, s.push_enabled, s.whatsapp_enabled, s.receive_group_notifications,
                EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.user_id = u.id) AS has_push_device,
                s.digest_enabled,
                s.quiet_hours_enabled, s.quiet_start_minute, s.quiet_end_minute, s.quiet_time_zone,
                s.critical_bypass_quiet,
                (SELECT string_agg(t.notification_type || ' ' || t.channel, ',')
                 FROM notification_type_settings t
                 WHERE t.user_id = u.id AND t.enabled = FALSE) AS disabled_types
         FROM users u JOIN notification_settings s ON s.user_id = u.id
         WHERE {}",
        cond.join(" OR ")
    );
    let rows = on_db!(db, |pool| {
        let mut q = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(pool).await?
    });
    Ok(rows)
}

/// Every rule with its group, and every active member: small tables, cached
/// with the templates (a change reaches routing within the cache's lifetime).
pub async fn rules_and_members(db: &Db) -> Result<(Vec<RuleRow>, Vec<(i64, i64, bool)>), Error> {
    let rules: Vec<RuleRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT r.notification_type, r.id, r.group_id, r.enabled, r.min_priority, r.work_zone, r.template_id,
                g.active AS group_active, g.work_zone AS group_work_zone, g.chat_id
         FROM notification_group_rules r JOIN whatsapp_groups g ON g.id = r.group_id
         ORDER BY r.id"
    )
    .fetch_all(pool)
    .await?
    });
    let members: Vec<(i64, i64, bool)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT m.group_id, m.user_id, s.receive_group_notifications
         FROM whatsapp_group_members m
         JOIN users u ON u.id = m.user_id
         JOIN notification_settings s ON s.user_id = m.user_id
         WHERE u.active = TRUE"
    )
    .fetch_all(pool)
    .await?);
    Ok((rules, members))
}

/// Every escalation policy with its first step's delay.
pub async fn policies(db: &Db) -> Result<Vec<PolicyFacts>, Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        notification_type: Option<String>,
        min_priority: String,
        enabled: bool,
        first_delay: Option<i64>,
    }
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT p.id, p.notification_type, p.min_priority, p.enabled,
                    (SELECT s.delay_minutes FROM escalation_steps s WHERE s.policy_id = p.id
                     ORDER BY s.position LIMIT 1) AS first_delay
             FROM escalation_policies p ORDER BY p.id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let kind = match r.notification_type {
                Some(k) => Some(NotificationType::parse(&k).ok()?),
                None => None,
            };
            Some(PolicyFacts {
                id: r.id,
                kind,
                min_priority: Priority::parse(&r.min_priority).ok()?,
                enabled: r.enabled,
                first_delay_minutes: r.first_delay,
            })
        })
        .collect())
}
