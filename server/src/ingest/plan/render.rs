//! The plan's deliveries as rows to write: each message rendered for its
//! channel and the recipient's language from the templates (WhatsApp
//! formatted and escaped, SMS made to fit, email with its footer), plus the
//! inbox items, digest lines and the alert. No I/O.

use super::load::{Facts, Reference, UserRow};
use super::{Prepared, SkippedRoute};
use crate::ingest::request::{EventRequest, FieldProblem};
use chrono::{DateTime, Utc};
use domain::escalation;
use domain::routing::{self, Planned, Target};
use domain::template::{fit_whatsapp, Escape, Template};
use domain::views::templates::in_effect;
use domain::{Channel, DeliveryStatus, GroupId, Locale, UserId};
use std::collections::BTreeMap;
use storage::keys::ack_links::{new_ack_key, LinkKey};
use storage::outbox::{NewAlert, NewDelivery, NewDigestItem, NewInboxItem};

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
    let zone = event
        .work_zone
        .as_ref()
        .map(|z| reference.zones.get(z).cloned().unwrap_or_else(|| z.clone()));
    domain::template::message_values(
        &event.data,
        event.kind,
        event.priority,
        zone.as_deref(),
        recipient_name,
        locale,
    )
}

/// The message for types without a template: the type as a bold title and the
/// event's data as lines. Since every type has a default template this is
/// only the escalation alert's summary and a safety net.
fn generic(event: &EventRequest, locale: Locale, bold: bool) -> String {
    let title = event.kind.label(locale);
    let escape = if bold { Escape::WhatsApp } else { Escape::None };
    let mut out = if bold {
        format!("*{title}*")
    } else {
        title.to_owned()
    };
    out.push_str(&format!(" ({})", event.priority.label(locale)));
    for (k, v) in &event.data {
        out.push_str(&format!("\n{k}: {}", escape.apply(v)));
    }
    out
}

/// How a template's text is written.
#[derive(Clone, Copy)]
enum Style {
    /// WhatsApp's `*bold*` kept, values escaped (WhatsApp, SMS before it is
    /// made to fit).
    WhatsApp,
    /// No formatting (in-app, email, push).
    Plain,
}

pub(super) struct Renderer<'a> {
    event: &'a EventRequest,
    reference: &'a Reference,
    problems: BTreeMap<String, String>,
}

impl<'a> Renderer<'a> {
    /// The template for `channel`: a group rule's own, else the type's
    /// template [`in_effect`] for the channel and the reader's language.
    fn template(
        &self,
        template_id: Option<i64>,
        channel: Channel,
        locale: Locale,
    ) -> Option<(String, &'a Template, Option<&'a Template>)> {
        let reference: &'a Reference = self.reference;
        if let Some(id) = template_id {
            if let Some(t) = reference.by_id.get(&id) {
                return Some((format!("template #{id}"), t, None));
            }
        }
        let key = self.event.kind.as_str();
        in_effect(channel, locale, |c, l| {
            let k = (key.to_owned(), c.as_str().to_owned(), l.as_str().to_owned());
            reference.by_key.get(&k).map(|(id, t)| {
                let label = format!("template #{id} ({key}/{}/{})", c.as_str(), l.as_str());
                (label, t, reference.subjects.get(&k))
            })
        })
    }

    /// The text for `channel` in `locale`, with the email subject its
    /// template may set. A missing required variable is noted in
    /// `problems` (the event is refused) and gives an empty text.
    fn text(
        &mut self,
        template_id: Option<i64>,
        channel: Channel,
        locale: Locale,
        name: &str,
        style: Style,
    ) -> (String, Option<String>) {
        let values = values_for(self.event, self.reference, locale, name);
        let Some((label, t, subject)) = self.template(template_id, channel, locale) else {
            return match style {
                Style::WhatsApp => (fit_whatsapp(&generic(self.event, locale, true)), None),
                Style::Plain => (generic(self.event, locale, false), None),
            };
        };
        let body = match style {
            Style::WhatsApp => t
                .render(&values, Escape::WhatsApp)
                .map(|b| fit_whatsapp(&b)),
            Style::Plain => t.render_plain(&values),
        };
        let subject_text = subject.map(|s| s.render_plain(&values)).transpose();
        match (body, subject_text) {
            (Ok(body), Ok(subject)) => (body, subject),
            _ => {
                let mut missing = t.missing(&values);
                missing.extend(subject.map(|s| s.missing(&values)).unwrap_or_default());
                for var in missing {
                    self.problems
                        .insert(format!("data.{var}"), format!("required by {label}"));
                }
                (String::new(), None)
            }
        }
    }

    /// WhatsApp text (formatted, escaped, within 4,096 characters).
    fn whatsapp(&mut self, template_id: Option<i64>, locale: Locale, name: &str) -> String {
        self.text(
            template_id,
            Channel::Whatsapp,
            locale,
            name,
            Style::WhatsApp,
        )
        .0
    }

    /// An SMS's text before it is made to fit: WhatsApp's text unless SMS
    /// has its own template (`domain::sms` drops the formatting either way).
    fn sms(&mut self, locale: Locale, name: &str) -> String {
        self.text(None, Channel::Sms, locale, name, Style::WhatsApp)
            .0
    }

    /// Unformatted text (in-app, email, push) and an email's own subject.
    fn plain(&mut self, channel: Channel, locale: Locale, name: &str) -> (String, Option<String>) {
        self.text(None, channel, locale, name, Style::Plain)
    }
}

/// A planned delivery with its recipient and message.
struct Addressed {
    user_id: Option<UserId>,
    group_id: Option<GroupId>,
    rule_id: Option<i64>,
    recipient: String,
    message: String,
    /// The email template's own subject, if it has one.
    subject: Option<String>,
    locale: Locale,
}

impl Addressed {
    fn to(recipient: String, message: String) -> Self {
        Addressed {
            user_id: None,
            group_id: None,
            rule_id: None,
            recipient,
            message,
            subject: None,
            locale: Locale::Id,
        }
    }
}

/// Renders every planned delivery. `Err(problems)` names every template
/// variable the event's data lacks.
pub(super) fn render(
    facts: &Facts<'_>,
    reference: &Reference,
    event: &EventRequest,
    now: DateTime<Utc>,
    links: &Links,
) -> Result<Prepared, Vec<FieldProblem>> {
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
            .map(|k| links.ack.link(&links.public_url, k, UserId(user), now_ms))
    };
    let max_attempts = i64::from(routing::max_attempts(event.priority));
    let mut deliveries = Vec::with_capacity(facts.plan.deliveries.len());
    let mut inbox = Vec::new();
    for p in &facts.plan.deliveries {
        let a = match p.target {
            Target::User(id) => {
                let Some(u) = facts.users.get(&id) else {
                    continue;
                };
                to_user(&mut r, p.channel, u, ack_link(id), &links.settings_url)
            }
            Target::Customer => to_customer(&mut r, p.channel, event),
            Target::Group { group_id, rule_id } => to_group(&mut r, p, facts, group_id, rule_id),
        };
        let (status, next_attempt_at) = match (p.channel, p.not_before) {
            (Channel::InApp, _) => (DeliveryStatus::Delivered, None),
            (_, Some(at)) => (DeliveryStatus::Deferred, Some(at.timestamp_millis())),
            (_, None) => (DeliveryStatus::Queued, Some(now_ms)),
        };
        if let (Channel::InApp, Some(user_id)) = (p.channel, a.user_id) {
            inbox.push(NewInboxItem {
                user_id,
                title: event.kind.label(a.locale).to_owned(),
                body: a.message.clone(),
                link: event
                    .data
                    .get("ticket_url")
                    .cloned()
                    .filter(|u| u.starts_with("http")),
            });
        }
        // An email's subject is a push notification's title too.
        let subject = matches!(p.channel, Channel::Email | Channel::Push).then(|| {
            a.subject.clone().unwrap_or_else(|| {
                domain::email::subject(
                    event.kind.label(a.locale),
                    event.priority,
                    event.data.get("ticket_id").map(String::as_str),
                    a.locale,
                )
            })
        });
        deliveries.push(NewDelivery {
            user_id: a.user_id,
            group_id: a.group_id,
            rule_id: a.rule_id,
            channel: p.channel,
            recipient: a.recipient,
            subject,
            message: a.message,
            status,
            next_attempt_at,
            max_attempts,
        });
    }
    if !r.problems.is_empty() {
        return Err(r
            .problems
            .into_iter()
            .map(|(field, message)| FieldProblem { field, message })
            .collect());
    }
    let skipped = facts
        .plan
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
    Ok(Prepared {
        deliveries,
        inbox,
        skipped,
        alert,
        digest: digest_lines(facts, event),
    })
}

/// A staff member's message on `channel`, in their language, with the
/// acknowledgement `link` of an alert.
fn to_user(
    r: &mut Renderer<'_>,
    channel: Channel,
    u: &UserRow,
    link: Option<String>,
    settings_url: &str,
) -> Addressed {
    let locale = Locale::parse(&u.locale).unwrap_or_default();
    let mut subject = None;
    let (recipient, message) = match channel {
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
        // The WhatsApp text without its formatting, cut to fit (around the
        // acknowledgement link, if any).
        Channel::Sms => {
            let text = r.sms(locale, &u.name);
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
            let (mut text, own_subject) = r.plain(Channel::Email, locale, &u.name);
            subject = own_subject;
            if let Some(l) = &link {
                text = format!("{text}\n\n{}", escalation::ack_line(locale, l, false));
            }
            let footer = domain::email::footer(locale, settings_url);
            (u.email.clone(), domain::email::plain_body(&text, &footer))
        }
        _ => (
            format!("user:{}", u.id),
            r.plain(channel, locale, &u.name).0,
        ),
    };
    Addressed {
        user_id: Some(UserId(u.id)),
        locale,
        subject,
        ..Addressed::to(recipient, message)
    }
}

/// The event's customer: email, or WhatsApp (SMS) to their number, in
/// Indonesian.
fn to_customer(r: &mut Renderer<'_>, channel: Channel, event: &EventRequest) -> Addressed {
    let c = event
        .customer
        .as_ref()
        .expect("planned only with a customer");
    let name = c
        .name
        .clone()
        .or_else(|| event.data.get("customer_name").cloned())
        .unwrap_or_default();
    match channel {
        Channel::Email => {
            let (message, subject) = r.plain(Channel::Email, Locale::Id, &name);
            Addressed {
                subject,
                ..Addressed::to(c.email.clone().unwrap_or_default(), message)
            }
        }
        _ => Addressed::to(
            c.phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            r.whatsapp(None, Locale::Id, &name),
        ),
    }
}

/// A WhatsApp group's message, with its rule's own template if it has one.
fn to_group(
    r: &mut Renderer<'_>,
    p: &Planned,
    facts: &Facts<'_>,
    group_id: i64,
    rule_id: i64,
) -> Addressed {
    let chat = facts
        .rules
        .iter()
        .find(|x| x.id == rule_id)
        .map(|x| x.chat_id.clone())
        .unwrap_or_default();
    Addressed {
        group_id: Some(GroupId(group_id)),
        rule_id: Some(rule_id),
        ..Addressed::to(chat, r.whatsapp(p.template_id, Locale::Id, ""))
    }
}

/// One digest line per person, however many channels waited for it.
fn digest_lines(facts: &Facts<'_>, event: &EventRequest) -> Vec<NewDigestItem> {
    let mut digest: Vec<NewDigestItem> = Vec::new();
    for s in &facts.plan.skipped {
        let (Target::User(id), routing::SkipReason::InDigest) = (s.target, s.reason) else {
            continue;
        };
        if digest.iter().any(|d| d.user_id == UserId(id)) {
            continue;
        }
        let locale = facts
            .users
            .get(&id)
            .and_then(|u| Locale::parse(&u.locale).ok())
            .unwrap_or_default();
        let field = |k: &str| event.data.get(k).map(String::as_str);
        digest.push(NewDigestItem {
            user_id: UserId(id),
            title: event.kind.label(locale).to_owned(),
            line: domain::digest::line(
                field("ticket_id"),
                field("customer_name").or(field("status")),
            ),
        });
    }
    digest
}
