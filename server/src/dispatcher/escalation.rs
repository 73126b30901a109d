//! Escalation steps: an open alert whose timer (`alerts.next_step_at`) has
//! come gets its policy's next step, written by `storage::alerts::take_step`
//! in one transaction fenced on the step number, so a restart loses no step
//! and two instances sweeping at once take each step once.
//!
//! A step reaches its target on its channels whatever the people's own
//! switches and quiet hours say (the policy is the on-call arrangement); a
//! person without a verified number is skipped for WhatsApp, SMS and voice.
//! Every message carries the person's signed acknowledgement link.

use domain::escalation::{self, Step, StepTarget};
use domain::template::fit_whatsapp;
use domain::{
    routing, Channel, DeliveryStatus, GroupId, Locale, NotificationType, Priority, UserId,
};
use storage::alerts::{self as store, DueAlert as Due, StepPerson as Person, StepWrite};
use storage::db::Db;
use storage::keys::ack_links::LinkKey;
use storage::outbox::{NewDelivery, NewInboxItem};

/// Alerts handled per sweep; the next sweep takes the rest.
const BATCH: i64 = 100;

/// What a sweep needs besides the database.
pub struct StepLinks<'a> {
    pub public_url: &'a str,
    pub settings_url: &'a str,
    pub key: &'a LinkKey,
}

/// What a sweep did: how many messages it queued and whose inbox changed.
#[derive(Debug, Default)]
pub struct Swept {
    pub messages: usize,
    pub inbox_users: Vec<UserId>,
    /// (alert id, step number) of each step taken.
    pub steps: Vec<(i64, i64)>,
}

/// Takes every step due at `now`.
pub async fn sweep(db: &Db, now: i64, links: &StepLinks<'_>) -> Result<Swept, storage::Error> {
    let due = store::due_steps(db, now, BATCH).await?;
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

/// What every message of one step shares: the alert, which step, how long
/// it has been open, the links.
struct StepText<'a> {
    alert: &'a Due,
    step_no: usize,
    open_minutes: i64,
    now: i64,
    max_attempts: i64,
    links: &'a StepLinks<'a>,
}

impl StepText<'_> {
    fn queued(
        &self,
        channel: Channel,
        recipient: String,
        subject: Option<String>,
        message: String,
    ) -> NewDelivery {
        NewDelivery::queued(
            channel,
            recipient,
            subject,
            message,
            self.now,
            self.max_attempts,
        )
    }

    fn kind_label(&self, locale: Locale) -> &'static str {
        NotificationType::parse(&self.alert.notification_type)
            .map(|k| k.label(locale))
            .unwrap_or("Notifikasi")
    }

    fn message(&self, locale: Locale) -> String {
        escalation::step_message(locale, self.step_no, self.open_minutes, &self.alert.message)
    }
}

/// The step's messages, inbox items and the people it asks.
async fn compose(
    db: &Db,
    alert: &Due,
    step: &Step,
    now: i64,
    links: &StepLinks<'_>,
) -> Result<(Vec<NewDelivery>, Vec<NewInboxItem>, Vec<UserId>), storage::Error> {
    let priority = Priority::parse(&alert.priority).unwrap_or(Priority::Critical);
    let text = StepText {
        alert,
        step_no: alert.next_step as usize + 1,
        open_minutes: (now - alert.created_at) / 60_000,
        now,
        max_attempts: i64::from(routing::max_attempts(priority)),
        links,
    };
    let mut deliveries = Vec::new();
    let mut inbox = Vec::new();
    let people = match &step.target {
        StepTarget::Group { group_id } => {
            let group = store::group_chat(db, GroupId(*group_id)).await?;
            if let Some((chat_id, true)) = group {
                let message = format!(
                    "{}\n\n{}",
                    text.message(Locale::Id),
                    escalation::group_ack_line(Locale::Id)
                );
                deliveries.push(NewDelivery {
                    group_id: Some(GroupId(*group_id)),
                    ..text.queued(
                        Channel::WhatsappGroup,
                        chat_id,
                        None,
                        fit_whatsapp(&message),
                    )
                });
            }
            // Members are asked through the group; they may acknowledge by
            // a reply from their own number.
            store::step_people(db, alert, &step.target).await?
        }
        target => {
            let people = store::step_people(db, alert, target).await?;
            for p in &people {
                person_messages(p, &step.channels, &text, &mut deliveries, &mut inbox);
            }
            people
        }
    };
    let mut recipients: Vec<UserId> = people.iter().map(|p| p.id).collect();
    recipients.sort_unstable();
    recipients.dedup();
    Ok((deliveries, inbox, recipients))
}

/// One person's messages of a step, on each of its channels they can be
/// reached on, in their language, each with their acknowledgement link.
fn person_messages(
    p: &Person,
    channels: &[Channel],
    step: &StepText<'_>,
    deliveries: &mut Vec<NewDelivery>,
    inbox: &mut Vec<NewInboxItem>,
) {
    let locale = Locale::parse(&p.locale).unwrap_or_default();
    let links = step.links;
    let link = links
        .key
        .link(links.public_url, &step.alert.ack_key, p.id, step.now);
    let text = step.message(locale);
    let title = escalation::step_title(locale, step.step_no);
    let phone = p.phone.clone().filter(|_| p.phone_verified_at.is_some());
    for &channel in channels {
        let mine = |d: NewDelivery| NewDelivery {
            user_id: Some(p.id),
            ..d
        };
        let to_phone = |message: String| {
            phone
                .as_ref()
                .map(|phone| mine(step.queued(channel, phone.clone(), None, message)))
        };
        match channel {
            Channel::InApp => {
                let plain = domain::sms::plain(&text);
                let recipient = format!("user:{}", p.id);
                deliveries.push(NewDelivery {
                    status: DeliveryStatus::Delivered,
                    next_attempt_at: None,
                    ..mine(step.queued(channel, recipient, None, plain.clone()))
                });
                inbox.push(NewInboxItem {
                    user_id: p.id,
                    title: format!("{title} · {}", step.kind_label(locale)),
                    body: plain,
                    link: None,
                });
            }
            Channel::Whatsapp => deliveries.extend(to_phone(fit_whatsapp(&format!(
                "{text}\n\n{}",
                escalation::ack_line(locale, &link, true)
            )))),
            Channel::Sms => deliveries.extend(to_phone(domain::sms::from_whatsapp_with_tail(
                &text,
                &escalation::ack_line(locale, &link, false),
            ))),
            Channel::Voice => deliveries.extend(to_phone(domain::sms::plain(&text))),
            Channel::Email if !p.email.is_empty() => {
                let body = domain::email::plain_body(
                    &format!(
                        "{}\n\n{}",
                        domain::sms::plain(&text),
                        escalation::ack_line(locale, &link, false)
                    ),
                    &domain::email::footer(locale, links.settings_url),
                );
                let subject = format!("[{title}] {}", step.kind_label(locale));
                deliveries.push(mine(step.queued(
                    channel,
                    p.email.clone(),
                    Some(subject),
                    body,
                )));
            }
            _ => {}
        }
    }
}
