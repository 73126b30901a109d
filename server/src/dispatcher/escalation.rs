//! Escalation steps: an open alert whose timer (`alerts.next_step_at`) has
//! come gets its policy's next step, written by `storage::alerts::take_step`
//! in one transaction fenced on the step number, so a restart loses no step
//! and two instances sweeping at once take each step once.
//!
//! A step reaches its target on its channels whatever the people's own
//! switches and quiet hours say (the policy is the on-call arrangement); a
//! person without a verified number is skipped for WhatsApp, SMS and voice.
//! Every message carries the person's signed acknowledgement link.

use app::alerts::token::LinkKey;
use app::error::AppError;
use domain::escalation::{self, Step, StepTarget};
use domain::template::fit_whatsapp;
use domain::{routing, Channel, DeliveryStatus, Locale, NotificationType, Priority};
use storage::alerts::{self as store, StepWrite};
use storage::db::Db;
use storage::on_db;
use storage::outbox::{NewDelivery, NewInboxItem};

/// Alerts handled per sweep; the next sweep takes the rest.
const BATCH: i64 = 100;

/// What a sweep needs besides the database.
pub struct StepLinks<'a> {
    pub public_url: &'a str,
    pub settings_url: &'a str,
    pub key: &'a LinkKey,
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    event_id: i64,
    policy_id: Option<i64>,
    ack_key: String,
    message: String,
    next_step: i64,
    created_at: i64,
    notification_type: String,
    priority: String,
    work_zone: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Person {
    id: i64,
    email: String,
    phone: Option<String>,
    phone_verified_at: Option<i64>,
    locale: String,
}

/// What a sweep did: how many messages it queued and whose inbox changed.
#[derive(Debug, Default)]
pub struct Swept {
    pub messages: usize,
    pub inbox_users: Vec<i64>,
    /// (alert id, step number) of each step taken.
    pub steps: Vec<(i64, i64)>,
}

/// Takes every step due at `now`.
pub async fn sweep(db: &Db, now: i64, links: &StepLinks<'_>) -> Result<Swept, AppError> {
    let due: Vec<Due> = on_db!(db, |pool| sqlx::query_as(
        "SELECT a.id, a.event_id, a.policy_id, a.ack_key, a.message, a.next_step, a.created_at,
                e.notification_type, e.priority, e.work_zone
         FROM alerts a JOIN events e ON e.id = a.event_id
         WHERE a.status = 'open' AND a.next_step_at <= $1
         ORDER BY a.next_step_at LIMIT $2"
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(pool)
    .await?);
    let mut swept = Swept::default();
    for alert in due {
        let steps = match alert.policy_id {
            Some(policy) => storage::escalation::steps(db, policy).await?,
            None => Vec::new(),
        };
        let Some(step) = steps.get(alert.next_step as usize) else {
            store::stop_timer(db, alert.id, alert.next_step, now).await?;
            continue;
        };
        let next_step_at = steps
            .get(alert.next_step as usize + 1)
            .map(|s| now + s.delay_minutes * 60_000);
        let (deliveries, inbox, recipients) = compose(db, &alert, step, now, links).await?;
        let write = StepWrite {
            alert_id: alert.id,
            event_id: alert.event_id,
            kind: &alert.notification_type,
            priority: &alert.priority,
            step: alert.next_step,
            next_step_at,
            deliveries: &deliveries,
            inbox: &inbox,
            recipients: &recipients,
        };
        if store::take_step(db, &write, now).await? {
            tracing::info!(
                alert = alert.id,
                step = alert.next_step + 1,
                messages = deliveries.len(),
                "escalation step taken"
            );
            swept.steps.push((alert.id, alert.next_step + 1));
            swept.inbox_users.extend(inbox.iter().map(|i| i.user_id));
            swept.messages += deliveries.len();
        }
    }
    Ok(swept)
}

const PERSON: &str =
    "SELECT id, email, phone, phone_verified_at, locale FROM users WHERE active = TRUE";

/// The step's messages, inbox items and the people it asks.
async fn compose(
    db: &Db,
    alert: &Due,
    step: &Step,
    now: i64,
    links: &StepLinks<'_>,
) -> Result<(Vec<NewDelivery>, Vec<NewInboxItem>, Vec<i64>), AppError> {
    let priority = Priority::parse(&alert.priority).unwrap_or(Priority::Critical);
    let max_attempts = i64::from(routing::max_attempts(priority));
    let step_no = alert.next_step as usize + 1;
    let open_minutes = (now - alert.created_at) / 60_000;
    let queued = |channel, recipient: String, subject, message: String| {
        NewDelivery::queued(channel, recipient, subject, message, now, max_attempts)
    };
    let mut deliveries = Vec::new();
    let mut inbox = Vec::new();
    let mut recipients = Vec::new();
    let target = &step.target;
    let people: Vec<Person> = match target {
        StepTarget::User { user_id } => on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            format!("{PERSON} AND id = $1")
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await?),
        StepTarget::Role { role, zone } => {
            let zone = zone.clone().or_else(|| alert.work_zone.clone());
            on_db!(db, |pool| {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{PERSON} AND role = $1 AND ($2 IS NULL OR work_zone = $2 OR work_zone IS NULL) ORDER BY id"
            )))
            .bind(role.as_str())
            .bind(zone)
            .fetch_all(pool)
            .await?
            })
        }
        StepTarget::Group { group_id } => {
            let group: Option<(String, bool)> = on_db!(db, |pool| sqlx::query_as(
                "SELECT chat_id, active FROM whatsapp_groups WHERE id = $1"
            )
            .bind(group_id)
            .fetch_optional(pool)
            .await?);
            if let Some((chat_id, true)) = group {
                let text = format!(
                    "{}\n\n{}",
                    escalation::step_message(Locale::Id, step_no, open_minutes, &alert.message),
                    escalation::group_ack_line(Locale::Id)
                );
                deliveries.push(NewDelivery {
                    group_id: Some(*group_id),
                    ..queued(Channel::WhatsappGroup, chat_id, None, fit_whatsapp(&text))
                });
            }
            // Members may acknowledge (by a reply from their own number).
            on_db!(db, |pool| {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{PERSON} AND id IN (SELECT user_id FROM whatsapp_group_members WHERE group_id = $1)"
            )))
            .bind(group_id)
            .fetch_all(pool)
            .await?
            })
        }
    };
    let channels = &step.channels;
    let kind_label = |locale| {
        NotificationType::parse(&alert.notification_type)
            .map(|k| k.label(locale))
            .unwrap_or("Notifikasi")
    };
    for p in &people {
        recipients.push(p.id);
        if matches!(target, StepTarget::Group { .. }) {
            continue;
        }
        let locale = Locale::parse(&p.locale).unwrap_or_default();
        let link = links.key.link(links.public_url, &alert.ack_key, p.id, now);
        let text = escalation::step_message(locale, step_no, open_minutes, &alert.message);
        let phone = p.phone.clone().filter(|_| p.phone_verified_at.is_some());
        for &channel in channels {
            let mine = |d: NewDelivery| NewDelivery {
                user_id: Some(p.id),
                ..d
            };
            match channel {
                Channel::InApp => {
                    let plain = domain::sms::plain(&text);
                    deliveries.push(NewDelivery {
                        status: DeliveryStatus::Delivered,
                        next_attempt_at: None,
                        ..mine(queued(
                            channel,
                            format!("user:{}", p.id),
                            None,
                            plain.clone(),
                        ))
                    });
                    inbox.push(NewInboxItem {
                        user_id: p.id,
                        title: format!(
                            "{} · {}",
                            escalation::step_title(locale, step_no),
                            kind_label(locale)
                        ),
                        body: plain,
                        link: None,
                    });
                }
                Channel::Whatsapp => {
                    if let Some(phone) = &phone {
                        let message = fit_whatsapp(&format!(
                            "{text}\n\n{}",
                            escalation::ack_line(locale, &link, true)
                        ));
                        deliveries.push(mine(queued(channel, phone.clone(), None, message)));
                    }
                }
                Channel::Sms => {
                    if let Some(phone) = &phone {
                        let message = domain::sms::from_whatsapp_with_tail(
                            &text,
                            &escalation::ack_line(locale, &link, false),
                        );
                        deliveries.push(mine(queued(channel, phone.clone(), None, message)));
                    }
                }
                Channel::Voice => {
                    if let Some(phone) = &phone {
                        let message = domain::sms::plain(&text);
                        deliveries.push(mine(queued(channel, phone.clone(), None, message)));
                    }
                }
                Channel::Email if !p.email.is_empty() => {
                    let body = domain::email::plain_body(
                        &format!(
                            "{}\n\n{}",
                            domain::sms::plain(&text),
                            escalation::ack_line(locale, &link, false)
                        ),
                        &domain::email::footer(locale, links.settings_url),
                    );
                    let subject = format!(
                        "[{}] {}",
                        escalation::step_title(locale, step_no),
                        kind_label(locale)
                    );
                    deliveries.push(mine(queued(channel, p.email.clone(), Some(subject), body)));
                }
                _ => {}
            }
        }
    }
    recipients.sort_unstable();
    recipients.dedup();
    Ok((deliveries, inbox, recipients))
}
