//! The facts an event is routed on, read from the database: the
//! recipients with their settings and switches, the group rules, the
//! templates, zones and escalation policies (cached, [`ReferenceCache`]);
//! then the pure router's plan.

use super::super::request::{EventRequest, FieldProblem};
use chrono::{DateTime, Utc};
use domain::escalation::PolicyFacts;
use domain::quiet::QuietHours;
use domain::routing::{self, CustomerFacts, EventFacts, Plan, RuleFacts, Target, UserFacts};
use domain::template::Template;
use domain::{Channel, NotificationType, Priority, Role};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::db::placeholders;
use storage::db::Db;
use storage::on_db;
use tokio::sync::RwLock;

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) email: String,
    pub(super) phone: Option<String>,
    phone_verified_at: Option<i64>,
    role: String,
    active: bool,
    pub(super) locale: String,
    email_enabled: bool,
    push_enabled: bool,
    has_push_device: bool,
    digest_enabled: bool,
    whatsapp_enabled: bool,
    receive_group_notifications: bool,
    quiet_hours_enabled: bool,
    quiet_start_minute: i64,
    quiet_end_minute: i64,
    quiet_time_zone: String,
    critical_bypass_quiet: bool,
}

#[derive(sqlx::FromRow, Clone)]
pub struct RuleRow {
    notification_type: String,
    pub(super) id: i64,
    group_id: i64,
    enabled: bool,
    min_priority: Option<String>,
    work_zone: Option<String>,
    template_id: Option<i64>,
    group_active: bool,
    group_work_zone: Option<String>,
    pub(super) chat_id: String,
}

/// Templates and work zones change rarely and are read for every event.
pub struct ReferenceCache {
    db: Db,
    ttl: Duration,
    cached: RwLock<Option<(Instant, Arc<Reference>)>>,
}

pub struct Reference {
    /// (key, channel, locale) → template, and id → template.
    pub by_key: HashMap<(String, String, String), (i64, Template)>,
    pub by_id: HashMap<i64, Template>,
    /// code → name
    pub zones: HashMap<String, String>,
    /// Group rules by notification type, with their group's state.
    pub rules: HashMap<String, Vec<RuleRow>>,
    /// group id → (member user id, opted into group notifications).
    pub members: HashMap<i64, Vec<(i64, bool)>>,
    /// Escalation policies.
    pub policies: Vec<PolicyFacts>,
}

impl Reference {
    /// The `work_zone` problem when `zone` is not a known zone code, naming
    /// the known ones.
    pub fn unknown_zone(&self, zone: &str) -> Option<FieldProblem> {
        if self.zones.contains_key(zone) {
            return None;
        }
        let mut codes: Vec<&str> = self.zones.keys().map(String::as_str).collect();
        codes.sort_unstable();
        Some(FieldProblem {
            field: "work_zone".into(),
            message: format!("unknown work zone '{zone}'; known: {}", codes.join(", ")),
        })
    }
}

impl ReferenceCache {
    pub fn new(db: Db, ttl: Duration) -> Self {
        ReferenceCache {
            db,
            ttl,
            cached: RwLock::new(None),
        }
    }

    pub async fn get(&self) -> Result<Arc<Reference>, storage::Error> {
        if let Some((at, r)) = &*self.cached.read().await {
            if at.elapsed() < self.ttl {
                return Ok(r.clone());
            }
        }
        let rows: Vec<(i64, String, String, String, String)> =
            on_db!(&self.db, |pool| sqlx::query_as(
                "SELECT id, key, channel, locale, body FROM message_templates"
            )
            .fetch_all(pool)
            .await?);
        let zones: Vec<(String, String)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT code, name FROM work_zones"
        )
        .fetch_all(pool)
        .await?);
        let mut by_key = HashMap::new();
        let mut by_id = HashMap::new();
        for (id, key, channel, locale, body) in rows {
            // Templates are checked on save; one that no longer parses is skipped
            // (and the generic message used) rather than blocking every event.
            match Template::parse(&body) {
                Ok(t) => {
                    by_id.insert(id, t.clone());
                    by_key.insert((key, channel, locale), (id, t));
                }
                Err(e) => tracing::warn!(template = id, "template does not parse: {e}"),
            }
        }
        let (rule_rows, member_rows) = load_all_rules(&self.db).await?;
        let mut rules: HashMap<String, Vec<RuleRow>> = HashMap::new();
        for r in rule_rows {
            rules
                .entry(r.notification_type.clone())
                .or_default()
                .push(r);
        }
        let mut members: HashMap<i64, Vec<(i64, bool)>> = HashMap::new();
        for (group, user, opted_in) in member_rows {
            members.entry(group).or_default().push((user, opted_in));
        }
        let fresh = Arc::new(Reference {
            by_key,
            by_id,
            zones: zones.into_iter().collect(),
            rules,
            members,
            policies: load_policies(&self.db).await?,
        });
        *self.cached.write().await = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cached.try_write() {
            *c = None;
        }
    }
}

async fn load_users(db: &Db, ids: &[i64], admins: bool) -> Result<Vec<UserRow>, storage::Error> {
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
                s.critical_bypass_quiet
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

async fn load_disabled_types(
    db: &Db,
    ids: &[i64],
) -> Result<Vec<(i64, String, String)>, storage::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT user_id, notification_type, channel FROM notification_type_settings
         WHERE enabled = FALSE AND user_id IN ({})",
        placeholders(1, ids.len())
    );
    let rows = on_db!(db, |pool| {
        let mut q = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(pool).await?
    });
    Ok(rows)
}

/// Every rule with its group, and every active member: small tables, cached
/// with the templates (a change reaches routing within the cache's lifetime).
async fn load_all_rules(db: &Db) -> Result<(Vec<RuleRow>, Vec<(i64, i64, bool)>), storage::Error> {
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
async fn load_policies(db: &Db) -> Result<Vec<PolicyFacts>, storage::Error> {
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

/// What rendering needs: the plan, and everyone it names.
pub(super) struct Facts<'r> {
    pub(super) plan: Plan,
    /// The recipients: named, admins, and group members getting a copy.
    pub(super) users: HashMap<i64, UserRow>,
    /// The rules of the event's type (their groups' chat ids).
    pub(super) rules: &'r [RuleRow],
}

/// Loads the recipients and runs the router. `Err(problems)`: recipients or
/// a zone that do not exist.
pub(super) async fn facts<'r>(
    db: &Db,
    reference: &'r Reference,
    event: &EventRequest,
    now: DateTime<Utc>,
) -> Result<Result<Facts<'r>, Vec<FieldProblem>>, storage::Error> {
    let admins = routing::admins_get_in_app(event.kind);
    // People named by the ticketing system's ids join those named by ours.
    let by_external = storage::users::ids_by_external(db, &event.external_ids).await?;
    let named: Vec<i64> = event
        .user_ids
        .iter()
        .copied()
        .chain(
            event
                .external_ids
                .iter()
                .filter_map(|e| by_external.get(e).copied()),
        )
        .collect();
    let users = load_users(db, &named, admins).await?;
    let known: BTreeSet<i64> = users.iter().map(|u| u.id).collect();
    let mut problems: Vec<FieldProblem> = event
        .user_ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !known.contains(id))
        .map(|(i, id)| FieldProblem {
            field: format!("recipients.user_ids[{i}]"),
            message: format!("no user with id {id}"),
        })
        .collect();
    problems.extend(
        event
            .external_ids
            .iter()
            .enumerate()
            .filter(|(_, e)| !by_external.contains_key(*e))
            .map(|(i, e)| FieldProblem {
                field: format!("recipients.external_ids[{i}]"),
                message: format!("no user with external id {e:?} (sync them with PUT /api/v1/users/{{external_id}})"),
            }),
    );
    if let Some(zone) = &event.work_zone {
        if let Some(problem) = reference.unknown_zone(zone) {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }

    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let mut disabled: HashMap<i64, BTreeSet<(NotificationType, Channel)>> = HashMap::new();
    for (user, kind, channel) in load_disabled_types(db, &ids).await? {
        if let (Ok(k), Ok(c)) = (NotificationType::parse(&kind), Channel::parse(&channel)) {
            disabled.entry(user).or_default().insert((k, c));
        }
    }
    let explicit: BTreeSet<i64> = named.iter().copied().collect();
    let facts: Vec<UserFacts> = users
        .iter()
        .map(|u| {
            let in_app_only = admins && !explicit.contains(&u.id);
            user_facts(u, disabled.remove(&u.id).unwrap_or_default(), in_app_only)
        })
        .collect();
    let rules = reference
        .rules
        .get(event.kind.as_str())
        .map_or(&[][..], Vec::as_slice);
    let customer = event.customer.as_ref().map(|c| CustomerFacts {
        has_phone: c.phone.is_some(),
        has_email: c.email.is_some(),
    });
    let event_facts = EventFacts {
        kind: event.kind,
        priority: event.priority,
        work_zone: event.work_zone.clone(),
    };
    let rule_facts = rule_facts(event, reference, rules);
    let plan = routing::plan(&event_facts, &facts, customer.as_ref(), &rule_facts, now);

    // Group members who get an in-app copy may not be among the loaded users.
    let copies: Vec<i64> = plan
        .deliveries
        .iter()
        .filter_map(|d| match d.target {
            Target::User(id) if !known.contains(&id) => Some(id),
            _ => None,
        })
        .collect();
    let extra = load_users(db, &copies, false).await?;
    let users = users.into_iter().chain(extra).map(|u| (u.id, u)).collect();
    Ok(Ok(Facts { plan, users, rules }))
}

fn user_facts(
    u: &UserRow,
    disabled_types: BTreeSet<(NotificationType, Channel)>,
    in_app_only: bool,
) -> UserFacts {
    UserFacts {
        user_id: u.id,
        role: Role::parse(&u.role).unwrap_or(Role::Technician),
        active: u.active,
        has_verified_phone: u.phone.is_some() && u.phone_verified_at.is_some(),
        has_email: !u.email.is_empty(),
        whatsapp_enabled: u.whatsapp_enabled,
        email_enabled: u.email_enabled,
        push_enabled: u.push_enabled,
        has_push_device: u.has_push_device,
        digest: u.digest_enabled,
        receive_group_notifications: u.receive_group_notifications,
        disabled_types,
        quiet: QuietHours {
            enabled: u.quiet_hours_enabled,
            start_minute: u.quiet_start_minute.clamp(0, 1439) as u16,
            end_minute: u.quiet_end_minute.clamp(0, 1439) as u16,
            time_zone: u.quiet_time_zone.clone(),
            critical_bypass: u.critical_bypass_quiet,
        },
        in_app_only,
    }
}

fn rule_facts(event: &EventRequest, reference: &Reference, rules: &[RuleRow]) -> Vec<RuleFacts> {
    rules
        .iter()
        .map(|r| RuleFacts {
            rule_id: r.id,
            group_id: r.group_id,
            kind: event.kind,
            enabled: r.enabled,
            group_active: r.group_active,
            group_work_zone: r.group_work_zone.clone(),
            min_priority: r
                .min_priority
                .as_deref()
                .and_then(|p| Priority::parse(p).ok()),
            rule_work_zone: r.work_zone.clone(),
            template_id: r.template_id,
            members: reference
                .members
                .get(&r.group_id)
                .cloned()
                .unwrap_or_default(),
        })
        .collect()
}
