//! The facts an event is routed on, read from the database
//! (`storage::routing`): the recipients with their settings and switches,
//! the group rules, the templates, zones and escalation policies (cached,
//! [`ReferenceCache`]); then the pure router's plan.

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
use storage::db::Db;
use storage::routing as store;
pub use storage::routing::{RuleRow, UserRow};
use tokio::sync::RwLock;

/// Templates and work zones change rarely and are read for every event.
pub struct ReferenceCache {
    db: Db,
    ttl: Duration,
    cached: RwLock<Option<(Instant, Arc<Reference>)>>,
}

pub struct Reference {
    /// (key, channel, locale) → template, and id → template.
    pub by_key: HashMap<(String, String, String), (i64, Template)>,
    /// (key, channel, locale) → an email's own subject line.
    pub subjects: HashMap<(String, String, String), Template>,
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
        let rows = store::templates(&self.db).await?;
        let zones = store::zones(&self.db).await?;
        let mut by_key = HashMap::new();
        let mut by_id = HashMap::new();
        let mut subjects = HashMap::new();
        for (id, key, channel, locale, subject, body) in rows {
            // Templates are checked on save; one that no longer parses is skipped
            // (and the generic message used) rather than blocking every event.
            let subject = subject.filter(|s| !s.trim().is_empty());
            match (
                Template::parse(&body),
                subject.as_deref().map(Template::parse),
            ) {
                (Ok(t), subject) => {
                    let k = (key, channel, locale);
                    match subject {
                        Some(Ok(s)) => {
                            subjects.insert(k.clone(), s);
                        }
                        Some(Err(e)) => {
                            tracing::warn!(template = id, "subject does not parse: {e}")
                        }
                        None => {}
                    }
                    by_id.insert(id, t.clone());
                    by_key.insert(k, (id, t));
                }
                (Err(e), _) => tracing::warn!(template = id, "template does not parse: {e}"),
            }
        }
        let (rule_rows, member_rows) = store::rules_and_members(&self.db).await?;
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
            subjects,
            zones: zones.into_iter().collect(),
            rules,
            members,
            policies: store::policies(&self.db).await?,
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
                .filter_map(|e| by_external.get(e).map(|u| u.0)),
        )
        .collect();
    let users = store::users(db, &named, admins).await?;
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

    let explicit: BTreeSet<i64> = named.iter().copied().collect();
    let facts: Vec<UserFacts> = users
        .iter()
        .map(|u| {
            let in_app_only = admins && !explicit.contains(&u.id);
            user_facts(u, in_app_only)
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
    let extra = store::users(db, &copies, false).await?;
    let users = users.into_iter().chain(extra).map(|u| (u.id, u)).collect();
    Ok(Ok(Facts { plan, users, rules }))
}

fn user_facts(u: &UserRow, in_app_only: bool) -> UserFacts {
    // Words the schema no longer knows are skipped, not fatal.
    let disabled_types = u
        .disabled_types()
        .filter_map(|(kind, channel)| {
            Some((
                NotificationType::parse(kind).ok()?,
                Channel::parse(channel).ok()?,
            ))
        })
        .collect();
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
