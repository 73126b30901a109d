//! From a checked event to the rows to write: loads the recipients' settings
//! and the group rules, runs the pure router, and renders every message.
//! Nothing here writes: [`storage::outbox::insert_event`] does, in one
//! transaction.

use super::request::{EventRequest, FieldProblem};
use app::alerts::token::{new_ack_key, LinkKey};
use app::error::AppError;
use chrono::{DateTime, Utc};
use domain::escalation::{self, PolicyFacts};
use domain::quiet::QuietHours;
use domain::routing::{self, CustomerFacts, EventFacts, Plan, RuleFacts, Target, UserFacts};
use domain::template::{fit_whatsapp, Escape, Template};
use domain::{Channel, DeliveryStatus, Locale, NotificationType, Priority, Role};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::db::Db;
use storage::on_db;
use storage::outbox::{NewAlert, NewDigestItem};
use storage::outbox::{NewDelivery, NewInboxItem};
use tokio::sync::RwLock;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    email: String,
    phone: Option<String>,
    phone_verified_at: Option<i64>,
    role: String,
    active: bool,
    locale: String,
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
    id: i64,
    group_id: i64,
    enabled: bool,
    min_priority: Option<String>,
    work_zone: Option<String>,
    template_id: Option<i64>,
    group_active: bool,
    group_work_zone: Option<String>,
    chat_id: String,
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

    pub async fn get(&self) -> Result<Arc<Reference>, AppError> {
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

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn load_users(db: &Db, ids: &[i64], admins: bool) -> Result<Vec<UserRow>, AppError> {
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

async fn load_disabled_types(db: &Db, ids: &[i64]) -> Result<Vec<(i64, String, String)>, AppError> {
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
async fn load_all_rules(db: &Db) -> Result<(Vec<RuleRow>, Vec<(i64, i64, bool)>), AppError> {
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
async fn load_policies(db: &Db) -> Result<Vec<PolicyFacts>, AppError> {
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

/// Where links in messages point, and the key that signs acknowledgement links.
pub struct Links {
    /// `PUBLIC_URL`.
    pub public_url: String,
    /// The settings page (every staff email's footer).
    pub settings_url: String,
    pub ack: LinkKey,
}

impl Links {
    pub fn new(public_url: &str, ack: LinkKey) -> Self {
        Links {
            public_url: public_url.trim_end_matches('/').to_owned(),
            settings_url: domain::email::settings_url(public_url),
            ack,
        }
    }
}

/// The variables every template may use beyond the event's own data.
fn values_for(
    event: &EventRequest,
    reference: &Reference,
    locale: Locale,
    recipient_name: &str,
) -> BTreeMap<String, String> {
    let mut v = event.data.clone();
    v.insert("priority".into(), event.priority.label(locale).into());
    v.insert("type".into(), event.kind.label(locale).into());
    v.insert("recipient_name".into(), recipient_name.into());
    let zone = event
        .work_zone
        .as_ref()
        .map(|z| reference.zones.get(z).cloned().unwrap_or_else(|| z.clone()));
    v.entry("work_zone".into())
        .or_insert_with(|| zone.unwrap_or_else(|| "-".into()));
    v
}

/// The message for types without a template: the type as a bold title and the
/// event's data as lines.
fn generic(event: &EventRequest, locale: Locale, bold: bool) -> String {
    let title = event.kind.label(locale);
    let mut out = if bold {
        format!("*{title}*")
    } else {
        title.to_owned()
    };
    out.push_str(&format!(" ({})", event.priority.label(locale)));
    for (k, v) in &event.data {
        out.push_str(&format!("\n{k}: {}", Escape::WhatsApp.apply(v)));
    }
    out
}

struct Renderer<'a> {
    event: &'a EventRequest,
    reference: &'a Reference,
    problems: BTreeMap<String, String>,
}

impl Renderer<'_> {
    fn template(
        &self,
        template_id: Option<i64>,
        channel: &str,
        locale: Locale,
    ) -> Option<(String, &Template)> {
        if let Some(id) = template_id {
            if let Some(t) = self.reference.by_id.get(&id) {
                return Some((format!("template #{id}"), t));
            }
        }
        let key = self.event.kind.as_str();
        [locale, Locale::Id].iter().find_map(|l| {
            self.reference
                .by_key
                .get(&(key.to_owned(), channel.to_owned(), l.as_str().to_owned()))
                .map(|(id, t)| {
                    (
                        format!("template #{id} ({key}/{channel}/{})", l.as_str()),
                        t,
                    )
                })
        })
    }

    /// WhatsApp text (formatted, escaped, within 4,096 characters).
    fn whatsapp(&mut self, template_id: Option<i64>, locale: Locale, name: &str) -> String {
        let values = values_for(self.event, self.reference, locale, name);
        match self.template(template_id, "whatsapp", locale) {
            Some((label, t)) => match t.render(&values, Escape::WhatsApp) {
                Ok(text) => fit_whatsapp(&text),
                Err(_) => {
                    for var in t.missing(&values) {
                        self.problems
                            .insert(format!("data.{var}"), format!("required by {label}"));
                    }
                    String::new()
                }
            },
            None => fit_whatsapp(&generic(self.event, locale, true)),
        }
    }

    /// Unformatted text (in-app, email, push, SMS).
    fn plain(&mut self, locale: Locale, name: &str) -> String {
        let values = values_for(self.event, self.reference, locale, name);
        let found = self
            .template(None, "in_app", locale)
            .or_else(|| self.template(None, "whatsapp", locale));
        match found {
            Some((label, t)) => match t.render_plain(&values) {
                Ok(text) => text,
                Err(_) => {
                    for var in t.missing(&values) {
                        self.problems
                            .insert(format!("data.{var}"), format!("required by {label}"));
                    }
                    String::new()
                }
            },
            None => generic(self.event, locale, false),
        }
    }
}

/// Routes and renders an event. `Err(problems)` names every template variable
/// the event's data lacks; nothing is written then.
pub async fn prepare(
    db: &Db,
    reference: &Reference,
    event: &EventRequest,
    now: DateTime<Utc>,
    links: &Links,
) -> Result<Result<Prepared, Vec<FieldProblem>>, AppError> {
    let settings_url = links.settings_url.as_str();
    let admins = routing::admins_get_in_app(event.kind);
    let users = load_users(db, &event.user_ids, admins).await?;
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
    let explicit: BTreeSet<i64> = event.user_ids.iter().copied().collect();
    let facts: Vec<UserFacts> = users
        .iter()
        .map(|u| UserFacts {
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
            disabled_types: disabled.remove(&u.id).unwrap_or_default(),
            quiet: QuietHours {
                enabled: u.quiet_hours_enabled,
                start_minute: u.quiet_start_minute.clamp(0, 1439) as u16,
                end_minute: u.quiet_end_minute.clamp(0, 1439) as u16,
                time_zone: u.quiet_time_zone.clone(),
                critical_bypass: u.critical_bypass_quiet,
            },
            in_app_only: admins && !explicit.contains(&u.id),
        })
        .collect();

    let no_rules = Vec::new();
    let rule_rows = reference
        .rules
        .get(event.kind.as_str())
        .unwrap_or(&no_rules);
    let rules: Vec<RuleFacts> = rule_rows
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
        .collect();
    let customer_facts = event.customer.as_ref().map(|c| CustomerFacts {
        has_phone: c.phone.is_some(),
        has_email: c.email.is_some(),
    });
    let facts_event = EventFacts {
        kind: event.kind,
        priority: event.priority,
        work_zone: event.work_zone.clone(),
    };
    let plan: Plan = routing::plan(&facts_event, &facts, customer_facts.as_ref(), &rules, now);

    // Group members who get an in-app copy may not be among the loaded users.
    let copy_ids: Vec<i64> = plan
        .deliveries
        .iter()
        .filter_map(|d| match d.target {
            Target::User(id) if !known.contains(&id) => Some(id),
            _ => None,
        })
        .collect();
    let extra = load_users(db, &copy_ids, false).await?;
    let by_id: HashMap<i64, &UserRow> = users
        .iter()
        .chain(extra.iter())
        .map(|u| (u.id, u))
        .collect();

    let mut r = Renderer {
        event,
        reference,
        problems: BTreeMap::new(),
    };
    let now_ms = now.timestamp_millis();
    // Under a policy, every message to a person says how to acknowledge.
    let policy = escalation::select(&reference.policies, event.kind, event.priority);
    let ack_key = policy.map(|_| new_ack_key());
    let ack_link = |user: i64| {
        ack_key
            .as_deref()
            .map(|k| links.ack.link(&links.public_url, k, user, now_ms))
    };
    let max_attempts = i64::from(routing::max_attempts(event.priority));
    let mut deliveries = Vec::with_capacity(plan.deliveries.len());
    let mut inbox = Vec::new();
    for p in &plan.deliveries {
        let (user_id, group_id, rule_id, recipient, message, locale) = match p.target {
            Target::User(id) => {
                let Some(u) = by_id.get(&id) else { continue };
                let locale = Locale::parse(&u.locale).unwrap_or_default();
                let link = ack_link(id);
                let (recipient, message) = match p.channel {
                    Channel::Whatsapp => {
                        let text = r.whatsapp(None, locale, &u.name);
                        let text = match &link {
                            Some(l) => fit_whatsapp(&format!(
                                "{text}\n\n{}",
                                escalation::ack_line(locale, l, true)
                            )),
                            None => text,
                        };
                        (u.phone.clone().unwrap_or_default(), text)
                    }
                    // The WhatsApp text without its formatting, cut to fit
                    // (around the acknowledgement link, if any).
                    Channel::Sms => {
                        let text = r.whatsapp(None, locale, &u.name);
                        let text = match &link {
                            Some(l) => domain::sms::from_whatsapp_with_tail(
                                &text,
                                &escalation::ack_line(locale, l, false),
                            ),
                            None => domain::sms::from_whatsapp(&text),
                        };
                        (u.phone.clone().unwrap_or_default(), text)
                    }
                    // Staff email says why it came and where to turn it off.
                    Channel::Email => {
                        let mut text = r.plain(locale, &u.name);
                        if let Some(l) = &link {
                            text = format!("{text}\n\n{}", escalation::ack_line(locale, l, false));
                        }
                        (
                            u.email.clone(),
                            domain::email::plain_body(
                                &text,
                                &domain::email::footer(locale, settings_url),
                            ),
                        )
                    }
                    _ => (format!("user:{id}"), r.plain(locale, &u.name)),
                };
                (Some(id), None, None, recipient, message, locale)
            }
            Target::Customer => {
                let c = event
                    .customer
                    .as_ref()
                    .expect("planned only with a customer");
                let name = c
                    .name
                    .clone()
                    .or_else(|| event.data.get("customer_name").cloned())
                    .unwrap_or_default();
                match p.channel {
                    Channel::Email => (
                        None,
                        None,
                        None,
                        c.email.clone().unwrap_or_default(),
                        r.plain(Locale::Id, &name),
                        Locale::Id,
                    ),
                    _ => (
                        None,
                        None,
                        None,
                        c.phone
                            .as_ref()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_default(),
                        r.whatsapp(None, Locale::Id, &name),
                        Locale::Id,
                    ),
                }
            }
            Target::Group { group_id, rule_id } => {
                let chat = rule_rows
                    .iter()
                    .find(|x| x.id == rule_id)
                    .map(|x| x.chat_id.clone())
                    .unwrap_or_default();
                (
                    None,
                    Some(group_id),
                    Some(rule_id),
                    chat,
                    r.whatsapp(p.template_id, Locale::Id, ""),
                    Locale::Id,
                )
            }
        };
        let (status, next_attempt_at) = match (p.channel, p.not_before) {
            (Channel::InApp, _) => (DeliveryStatus::Delivered, None),
            (_, Some(at)) => (DeliveryStatus::Deferred, Some(at.timestamp_millis())),
            (_, None) => (DeliveryStatus::Queued, Some(now_ms)),
        };
        if p.channel == Channel::InApp {
            if let Some(uid) = user_id {
                inbox.push(NewInboxItem {
                    user_id: uid,
                    title: event.kind.label(locale).to_owned(),
                    body: message.clone(),
                    link: event
                        .data
                        .get("ticket_url")
                        .cloned()
                        .filter(|u| u.starts_with("http")),
                });
            }
        }
        // An email's subject is a push notification's title too.
        let subject = matches!(p.channel, Channel::Email | Channel::Push).then(|| {
            domain::email::subject(
                event.kind.label(locale),
                event.priority,
                event.data.get("ticket_id").map(String::as_str),
                locale,
            )
        });
        deliveries.push(NewDelivery {
            user_id,
            group_id,
            rule_id,
            channel: p.channel,
            recipient,
            subject,
            message,
            status,
            next_attempt_at,
            max_attempts,
        });
    }
    if !r.problems.is_empty() {
        return Ok(Err(r
            .problems
            .into_iter()
            .map(|(field, message)| FieldProblem { field, message })
            .collect()));
    }
    let skipped = plan
        .skipped
        .iter()
        .map(|s| SkippedRoute {
            user_id: match s.target {
                Target::User(id) => Some(id),
                _ => None,
            },
            channel: s.channel,
            reason: s.reason.as_str(),
        })
        .collect();
    let alert = policy.zip(ack_key).map(|(policy, ack_key)| NewAlert {
        policy_id: policy.id,
        ack_key,
        message: generic(event, Locale::Id, true),
        first_step_after_ms: policy.first_delay_minutes.map(|m| m * 60_000),
    });
    // One digest line per person, however many channels waited for it.
    let mut digest: Vec<NewDigestItem> = Vec::new();
    for s in &plan.skipped {
        let (Target::User(id), routing::SkipReason::InDigest) = (s.target, s.reason) else {
            continue;
        };
        if digest.iter().any(|d| d.user_id == id) {
            continue;
        }
        let locale = by_id
            .get(&id)
            .and_then(|u| Locale::parse(&u.locale).ok())
            .unwrap_or_default();
        let field = |k: &str| event.data.get(k).map(String::as_str);
        digest.push(NewDigestItem {
            user_id: id,
            title: event.kind.label(locale).to_owned(),
            line: domain::digest::line(
                field("ticket_id"),
                field("customer_name").or(field("status")),
            ),
        });
    }
    Ok(Ok(Prepared {
        deliveries,
        inbox,
        skipped,
        alert,
        digest,
    }))
}
