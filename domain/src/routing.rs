//! Routing: who gets an event, on which channels, and when.
//!
//! A pure function of the event, the recipients' settings, the group rules and
//! the clock, so every decision is unit-tested without a database:
//!
//! 1. the channel set is the type's defaults widened by priority
//!    ([`channels_for`]);
//! 2. each personal channel is then filtered by the user's switches, type
//!    switches and contact details, and WhatsApp, push and SMS are deferred by
//!    quiet hours;
//! 3. when the set includes WhatsApp groups, every enabled rule for the type
//!    whose conditions match sends to its (active) group, and members who opted
//!    into group notifications get an in-app copy.
//!
//! Anything routed but not sent is returned as [`Skipped`] with a reason, so
//! the delivery log can say why nobody got a message.

use crate::kinds::{Channel, NotificationType, Priority, Role};
use crate::quiet::QuietHours;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The type's own channels, before priority widening.
pub fn default_channels(kind: NotificationType) -> &'static [Channel] {
    use Channel::*;
    use NotificationType::*;
    match kind {
        TicketAssigned => &[Whatsapp, InApp],
        TicketStatusChanged => &[InApp],
        SlaWarning | SlaBreach | Escalation => &[Whatsapp, WhatsappGroup, InApp],
        NewTicket => &[WhatsappGroup, InApp],
        CustomerRegistrationApproved | PaymentReceived | InvoiceReminder | ServiceUpdate => {
            &[Whatsapp, Email]
        }
        DailySummary | WeeklyReport => &[WhatsappGroup, Email],
        KpiAlert => &[WhatsappGroup, InApp, Email],
        SystemAlert | Outage | CriticalIncident => &[WhatsappGroup, InApp],
        NewRegistration | CustomerComplaint => &[WhatsappGroup, InApp],
    }
}

/// Channels every event of this priority uses, whatever its type.
pub fn priority_channels(priority: Priority) -> &'static [Channel] {
    use Channel::*;
    match priority {
        Priority::Low => &[InApp],
        Priority::Medium => &[InApp, Whatsapp],
        Priority::High => &[InApp, Whatsapp, WhatsappGroup, Push, Email],
        // "Everything": voice calls are not here; they are an escalation step
        // for critical alerts nobody acknowledged.
        Priority::Critical => &[InApp, Whatsapp, WhatsappGroup, Push, Email, Sms],
    }
}

pub fn channels_for(kind: NotificationType, priority: Priority) -> BTreeSet<Channel> {
    default_channels(kind)
        .iter()
        .chain(priority_channels(priority))
        .copied()
        .collect()
}

/// Attempts a delivery gets before it is recorded as failed.
pub fn max_attempts(priority: Priority) -> u32 {
    match priority {
        Priority::Low => 3,
        Priority::Medium => 5,
        Priority::High => 8,
        Priority::Critical => 12,
    }
}

/// Types that also reach every admin in the app ("system alert → NOC group +
/// in-app for admins").
pub fn admins_get_in_app(kind: NotificationType) -> bool {
    matches!(
        kind,
        NotificationType::SystemAlert
            | NotificationType::Outage
            | NotificationType::CriticalIncident
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub kind: NotificationType,
    pub priority: Priority,
    pub work_zone: Option<String>,
}

/// A signed-up user who may receive the event, with what routing needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    pub user_id: i64,
    pub role: Role,
    pub active: bool,
    pub has_verified_phone: bool,
    pub has_email: bool,
    pub whatsapp_enabled: bool,
    pub email_enabled: bool,
    pub push_enabled: bool,
    /// Subscribed to web push on at least one browser or device.
    pub has_push_device: bool,
    /// Takes low-priority notifications as one daily digest (`digest`).
    pub digest: bool,
    pub receive_group_notifications: bool,
    /// (type, channel) pairs the user switched off.
    pub disabled_types: BTreeSet<(NotificationType, Channel)>,
    pub quiet: QuietHours,
    /// Reached only in the app (admins added to system alerts).
    pub in_app_only: bool,
}

/// A customer named in the event (not a user of this app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFacts {
    pub has_phone: bool,
    pub has_email: bool,
}

/// A routing rule with its group's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFacts {
    pub rule_id: i64,
    pub group_id: i64,
    pub kind: NotificationType,
    pub enabled: bool,
    pub group_active: bool,
    pub group_work_zone: Option<String>,
    pub min_priority: Option<Priority>,
    pub rule_work_zone: Option<String>,
    pub template_id: Option<i64>,
    /// (user id, opted into group notifications) of the group's members.
    pub members: Vec<(i64, bool)>,
}

impl RuleFacts {
    /// Does this rule send `event` to its group?
    pub fn matches(&self, event: &EventFacts) -> bool {
        let zone_ok = |zone: &Option<String>| zone.is_none() || *zone == event.work_zone;
        self.enabled
            && self.group_active
            && self.kind == event.kind
            && self.min_priority.is_none_or(|min| event.priority >= min)
            && zone_ok(&self.rule_work_zone)
            && zone_ok(&self.group_work_zone)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Target {
    User(i64),
    Customer,
    Group { group_id: i64, rule_id: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub target: Target,
    pub channel: Channel,
    /// Set when quiet hours hold the message back.
    pub not_before: Option<DateTime<Utc>>,
    /// A group rule's own template.
    pub template_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SkipReason {
    UserInactive,
    ChannelSwitchedOff,
    TypeSwitchedOff,
    NoVerifiedPhone,
    NoEmail,
    NoPushDevice,
    InAppOnly,
    /// Low priority, for a person who takes those as a daily digest.
    InDigest,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UserInactive => "user is inactive",
            SkipReason::ChannelSwitchedOff => "user switched this channel off",
            SkipReason::TypeSwitchedOff => {
                "user switched this notification type off for this channel"
            }
            SkipReason::NoVerifiedPhone => "user has no verified WhatsApp number",
            SkipReason::NoEmail => "no email address",
            SkipReason::NoPushDevice => "push is not turned on in any browser or device",
            SkipReason::InAppOnly => "recipient is reached in the app only",
            SkipReason::InDigest => "waits for the recipient's daily digest",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub target: Target,
    pub channel: Channel,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub deliveries: Vec<Planned>,
    pub skipped: Vec<Skipped>,
}

/// Channels a person can be reached on (groups are not people).
const PERSONAL: &[Channel] = &[
    Channel::InApp,
    Channel::Whatsapp,
    Channel::Email,
    Channel::Push,
    Channel::Sms,
];

fn user_channel(
    user: &UserFacts,
    event: &EventFacts,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, SkipReason> {
    if !user.active {
        return Err(SkipReason::UserInactive);
    }
    if channel == Channel::InApp {
        return Ok(None); // always on
    }
    if user.in_app_only {
        return Err(SkipReason::InAppOnly);
    }
    let (switch, contact, contact_reason) = match channel {
        Channel::Whatsapp | Channel::Sms => (
            user.whatsapp_enabled,
            user.has_verified_phone,
            SkipReason::NoVerifiedPhone,
        ),
        Channel::Email => (user.email_enabled, user.has_email, SkipReason::NoEmail),
        Channel::Push => (
            user.push_enabled,
            user.has_push_device,
            SkipReason::NoPushDevice,
        ),
        _ => (true, true, SkipReason::ChannelSwitchedOff),
    };
    // SMS is the emergency fallback of WhatsApp: it follows the WhatsApp switch
    // but ignores the type switches, since only critical events use it.
    if !switch && channel != Channel::Sms {
        return Err(SkipReason::ChannelSwitchedOff);
    }
    if channel != Channel::Sms && user.disabled_types.contains(&(event.kind, channel)) {
        return Err(SkipReason::TypeSwitchedOff);
    }
    if !contact {
        return Err(contact_reason);
    }
    if user.digest && crate::digest::collects(event.priority, channel) {
        return Err(SkipReason::InDigest);
    }
    let intrusive = matches!(channel, Channel::Whatsapp | Channel::Push | Channel::Sms);
    Ok(if intrusive {
        user.quiet
            .defer_until(now, event.priority == Priority::Critical)
    } else {
        None
    })
}

/// Plans every delivery of one event.
pub fn plan(
    event: &EventFacts,
    users: &[UserFacts],
    customer: Option<&CustomerFacts>,
    rules: &[RuleFacts],
    now: DateTime<Utc>,
) -> Plan {
    let channels = channels_for(event.kind, event.priority);
    let mut out = Plan::default();
    let mut seen: BTreeSet<(Target, Channel)> = BTreeSet::new();

    for user in users {
        let target = Target::User(user.user_id);
        for &channel in PERSONAL.iter().filter(|c| channels.contains(c)) {
            if !seen.insert((target, channel)) {
                continue; // the same user listed twice
            }
            match user_channel(user, event, channel, now) {
                Ok(not_before) => out.deliveries.push(Planned {
                    target,
                    channel,
                    not_before,
                    template_id: None,
                }),
                Err(reason) => out.skipped.push(Skipped {
                    target,
                    channel,
                    reason,
                }),
            }
        }
    }

    if let Some(c) = customer {
        for (channel, reachable, reason) in [
            (Channel::Whatsapp, c.has_phone, SkipReason::NoVerifiedPhone),
            (Channel::Email, c.has_email, SkipReason::NoEmail),
        ] {
            if channels.contains(&channel) {
                if reachable {
                    out.deliveries.push(Planned {
                        target: Target::Customer,
                        channel,
                        not_before: None,
                        template_id: None,
                    });
                } else if channel == Channel::Whatsapp {
                    out.skipped.push(Skipped {
                        target: Target::Customer,
                        channel,
                        reason,
                    });
                }
            }
        }
    }

    if channels.contains(&Channel::WhatsappGroup) {
        let mut copies: BTreeMap<i64, ()> = BTreeMap::new();
        for rule in rules.iter().filter(|r| r.matches(event)) {
            let target = Target::Group {
                group_id: rule.group_id,
                rule_id: rule.rule_id,
            };
            // Two rules for one group send one message.
            if seen.iter().any(
                |(t, _)| matches!(t, Target::Group { group_id, .. } if *group_id == rule.group_id),
            ) {
                continue;
            }
            seen.insert((target, Channel::WhatsappGroup));
            out.deliveries.push(Planned {
                target,
                channel: Channel::WhatsappGroup,
                not_before: None,
                template_id: rule.template_id,
            });
            for &(user_id, opted_in) in &rule.members {
                if opted_in {
                    copies.insert(user_id, ());
                }
            }
        }
        for user_id in copies.into_keys() {
            if seen.insert((Target::User(user_id), Channel::InApp)) {
                out.deliveries.push(Planned {
                    target: Target::User(user_id),
                    channel: Channel::InApp,
                    not_before: None,
                    template_id: None,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Channel::*;
    use NotificationType as T;

    fn now() -> DateTime<Utc> {
        // 10:00 WIB
        DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn night() -> DateTime<Utc> {
        // 23:00 WIB
        DateTime::parse_from_rfc3339("2026-11-25T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn user(id: i64) -> UserFacts {
        UserFacts {
            user_id: id,
            role: Role::Technician,
            active: true,
            has_verified_phone: true,
            has_email: true,
            whatsapp_enabled: true,
            email_enabled: true,
            push_enabled: true,
            has_push_device: true,
            digest: false,
            receive_group_notifications: true,
            disabled_types: BTreeSet::new(),
            quiet: QuietHours::default(),
            in_app_only: false,
        }
    }

    fn event(kind: NotificationType, priority: Priority, zone: Option<&str>) -> EventFacts {
        EventFacts {
            kind,
            priority,
            work_zone: zone.map(str::to_owned),
        }
    }

    fn rule(id: i64, group: i64, kind: NotificationType, zone: Option<&str>) -> RuleFacts {
        RuleFacts {
            rule_id: id,
            group_id: group,
            kind,
            enabled: true,
            group_active: true,
            group_work_zone: zone.map(str::to_owned),
            min_priority: None,
            rule_work_zone: zone.map(str::to_owned),
            template_id: None,
            members: vec![],
        }
    }

    fn channels_of(plan: &Plan, target: Target) -> Vec<Channel> {
        let mut v: Vec<Channel> = plan
            .deliveries
            .iter()
            .filter(|d| d.target == target)
            .map(|d| d.channel)
            .collect();
        v.sort();
        v
    }

    fn set(cs: &[Channel]) -> BTreeSet<Channel> {
        cs.iter().copied().collect()
    }

    #[test]
    fn defaults_follow_the_recommendation() {
        assert_eq!(
            channels_for(T::TicketAssigned, Priority::Low),
            set(&[Whatsapp, InApp])
        );
        assert_eq!(
            channels_for(T::SlaWarning, Priority::Low),
            set(&[Whatsapp, WhatsappGroup, InApp])
        );
        assert_eq!(
            channels_for(T::NewTicket, Priority::Low),
            set(&[WhatsappGroup, InApp])
        );
        assert_eq!(
            channels_for(T::CustomerRegistrationApproved, Priority::Low),
            set(&[Whatsapp, Email, InApp])
        );
        assert_eq!(
            channels_for(T::DailySummary, Priority::Low),
            set(&[WhatsappGroup, Email, InApp])
        );
        assert_eq!(
            channels_for(T::SystemAlert, Priority::Low),
            set(&[WhatsappGroup, InApp])
        );
    }

    #[test]
    fn priority_widens_the_channel_set_monotonically_for_every_type() {
        for kind in NotificationType::ALL {
            let mut previous = BTreeSet::new();
            for p in Priority::ALL {
                let cs = channels_for(*kind, *p);
                assert!(cs.is_superset(&previous), "{kind} {p}");
                assert!(
                    cs.contains(&InApp),
                    "in-app is part of every priority: {kind} {p}"
                );
                assert!(!cs.contains(&Voice), "voice is escalation-only: {kind} {p}");
                previous = cs;
            }
        }
        assert_eq!(
            channels_for(T::TicketStatusChanged, Priority::Low),
            set(&[InApp])
        );
        assert_eq!(
            channels_for(T::TicketStatusChanged, Priority::Medium),
            set(&[InApp, Whatsapp])
        );
        assert_eq!(
            channels_for(T::TicketStatusChanged, Priority::High),
            set(&[InApp, Whatsapp, WhatsappGroup, Push, Email])
        );
        assert_eq!(
            channels_for(T::TicketStatusChanged, Priority::Critical),
            set(&[InApp, Whatsapp, WhatsappGroup, Push, Email, Sms])
        );
    }

    #[test]
    fn higher_priorities_get_more_attempts() {
        let attempts: Vec<u32> = Priority::ALL.iter().map(|p| max_attempts(*p)).collect();
        assert!(attempts.windows(2).all(|w| w[0] < w[1]), "{attempts:?}");
    }

    #[test]
    fn a_ticket_assignment_reaches_the_technician_on_whatsapp_and_in_app() {
        let plan = plan(
            &event(T::TicketAssigned, Priority::Medium, Some("karawang")),
            &[user(1)],
            None,
            &[],
            now(),
        );
        assert_eq!(channels_of(&plan, Target::User(1)), vec![InApp, Whatsapp]);
        assert!(plan.skipped.is_empty());
        assert!(plan.deliveries.iter().all(|d| d.not_before.is_none()));
    }

    #[test]
    fn user_switches_remove_channels_with_a_reason() {
        let mut u = user(1);
        u.whatsapp_enabled = false;
        u.disabled_types.insert((T::TicketStatusChanged, Email));
        u.push_enabled = false;
        let plan = plan(
            &event(T::TicketStatusChanged, Priority::High, None),
            &[u],
            None,
            &[],
            now(),
        );
        assert_eq!(channels_of(&plan, Target::User(1)), vec![InApp]);
        let reasons: BTreeMap<Channel, SkipReason> =
            plan.skipped.iter().map(|s| (s.channel, s.reason)).collect();
        assert_eq!(reasons[&Whatsapp], SkipReason::ChannelSwitchedOff);
        assert_eq!(reasons[&Email], SkipReason::TypeSwitchedOff);
        assert_eq!(reasons[&Push], SkipReason::ChannelSwitchedOff);
    }

    #[test]
    fn a_digest_takes_low_priority_messages_but_not_in_app_or_higher_priorities() {
        let mut u = user(1);
        u.digest = true;
        let low = event(T::TicketAssigned, Priority::Low, Some("karawang"));
        let p = plan(&low, std::slice::from_ref(&u), None, &[], now());
        assert_eq!(channels_of(&p, Target::User(1)), vec![InApp]);
        assert_eq!(
            p.skipped
                .iter()
                .map(|s| (s.channel, s.reason))
                .collect::<Vec<_>>(),
            vec![(Whatsapp, SkipReason::InDigest)]
        );
        let medium = event(T::TicketAssigned, Priority::Medium, Some("karawang"));
        let p = plan(&medium, std::slice::from_ref(&u), None, &[], now());
        assert_eq!(channels_of(&p, Target::User(1)), vec![InApp, Whatsapp]);
        // A switched-off channel stays a switched-off channel.
        u.whatsapp_enabled = false;
        let p = plan(&low, &[u], None, &[], now());
        assert_eq!(p.skipped[0].reason, SkipReason::ChannelSwitchedOff);
    }

    #[test]
    fn push_needs_a_subscribed_device_but_its_switch_comes_first() {
        let mut u = user(1);
        u.has_push_device = false;
        let high = event(T::TicketStatusChanged, Priority::High, None);
        let p = plan(&high, std::slice::from_ref(&u), None, &[], now());
        assert!(!channels_of(&p, Target::User(1)).contains(&Push));
        let reason = |p: &Plan| {
            p.skipped
                .iter()
                .find(|s| s.channel == Push)
                .map(|s| s.reason)
        };
        assert_eq!(reason(&p), Some(SkipReason::NoPushDevice));
        u.push_enabled = false;
        let p = plan(&high, &[u], None, &[], now());
        assert_eq!(reason(&p), Some(SkipReason::ChannelSwitchedOff));
    }

    #[test]
    fn in_app_cannot_be_switched_off() {
        let mut u = user(1);
        u.disabled_types.insert((T::TicketAssigned, InApp));
        let plan = plan(
            &event(T::TicketAssigned, Priority::Low, None),
            &[u],
            None,
            &[],
            now(),
        );
        assert!(channels_of(&plan, Target::User(1)).contains(&InApp));
    }

    #[test]
    fn whatsapp_needs_a_verified_number_and_email_an_address() {
        let mut u = user(1);
        u.has_verified_phone = false;
        u.has_email = false;
        let plan = plan(
            &event(T::TicketAssigned, Priority::High, None),
            &[u],
            None,
            &[],
            now(),
        );
        assert_eq!(channels_of(&plan, Target::User(1)), vec![InApp, Push]);
        assert!(plan.skipped.contains(&Skipped {
            target: Target::User(1),
            channel: Whatsapp,
            reason: SkipReason::NoVerifiedPhone
        }));
        assert!(plan.skipped.contains(&Skipped {
            target: Target::User(1),
            channel: Email,
            reason: SkipReason::NoEmail
        }));
    }

    #[test]
    fn quiet_hours_defer_whatsapp_and_push_but_not_in_app_or_email() {
        let mut u = user(1);
        u.quiet.enabled = true; // 22:00-06:00 WIB
        let plan = plan(
            &event(T::TicketAssigned, Priority::High, None),
            &[u],
            None,
            &[],
            night(),
        );
        let morning = DateTime::parse_from_rfc3339("2026-11-25T23:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for d in &plan.deliveries {
            match d.channel {
                Whatsapp | Push => assert_eq!(d.not_before, Some(morning), "{:?}", d.channel),
                _ => assert_eq!(d.not_before, None, "{:?}", d.channel),
            }
        }
        assert_eq!(plan.deliveries.len(), 4, "deferred, never dropped");
    }

    #[test]
    fn critical_bypasses_quiet_hours_when_the_user_allows_it() {
        let mut u = user(1);
        u.quiet.enabled = true;
        let critical = event(T::CriticalIncident, Priority::Critical, None);
        let p = plan(&critical, std::slice::from_ref(&u), None, &[], night());
        assert!(p.deliveries.iter().all(|d| d.not_before.is_none()));
        assert!(channels_of(&p, Target::User(1)).contains(&Sms));
        u.quiet.critical_bypass = false;
        let p = plan(&critical, &[u], None, &[], night());
        assert!(p
            .deliveries
            .iter()
            .any(|d| d.channel == Whatsapp && d.not_before.is_some()));
    }

    #[test]
    fn inactive_users_get_nothing() {
        let mut u = user(1);
        u.active = false;
        let plan = plan(
            &event(T::TicketAssigned, Priority::Medium, None),
            &[u],
            None,
            &[],
            now(),
        );
        assert!(plan.deliveries.is_empty());
        assert!(plan
            .skipped
            .iter()
            .all(|s| s.reason == SkipReason::UserInactive));
    }

    #[test]
    fn admins_on_system_alerts_are_reached_in_app_only() {
        assert!(admins_get_in_app(T::SystemAlert) && !admins_get_in_app(T::TicketAssigned));
        let mut admin = user(9);
        admin.role = Role::Admin;
        admin.in_app_only = true;
        let plan = plan(
            &event(T::SystemAlert, Priority::High, None),
            &[admin],
            None,
            &[],
            now(),
        );
        assert_eq!(channels_of(&plan, Target::User(9)), vec![InApp]);
    }

    #[test]
    fn a_new_ticket_goes_to_the_technicians_group_of_its_zone_only() {
        let rules = [
            rule(1, 10, T::NewTicket, Some("karawang")),
            rule(2, 20, T::NewTicket, Some("bekasi")),
            rule(3, 30, T::SlaWarning, None),
        ];
        let plan = plan(
            &event(T::NewTicket, Priority::Low, Some("karawang")),
            &[],
            None,
            &rules,
            now(),
        );
        assert_eq!(
            plan.deliveries,
            vec![Planned {
                target: Target::Group {
                    group_id: 10,
                    rule_id: 1
                },
                channel: WhatsappGroup,
                not_before: None,
                template_id: None
            }]
        );
        // No zone on the event: zoned groups are not guessed.
        let plan2 = super::plan(
            &event(T::NewTicket, Priority::Low, None),
            &[],
            None,
            &rules,
            now(),
        );
        assert!(plan2.deliveries.is_empty());
    }

    #[test]
    fn rule_conditions_inactive_groups_and_disabled_rules_are_respected() {
        let mut min_high = rule(1, 10, T::SlaWarning, None);
        min_high.min_priority = Some(Priority::High);
        let mut inactive = rule(2, 20, T::SlaWarning, None);
        inactive.group_active = false;
        let mut disabled = rule(3, 30, T::SlaWarning, None);
        disabled.enabled = false;
        let mut templated = rule(4, 40, T::SlaWarning, None);
        templated.template_id = Some(77);
        let rules = [min_high, inactive, disabled, templated];
        let groups = |p: Priority| -> Vec<(i64, Option<i64>)> {
            plan(&event(T::SlaWarning, p, None), &[], None, &rules, now())
                .deliveries
                .iter()
                .filter_map(|d| match d.target {
                    Target::Group { group_id, .. } => Some((group_id, d.template_id)),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(groups(Priority::Medium), vec![(40, Some(77))]);
        assert_eq!(groups(Priority::High), vec![(10, None), (40, Some(77))]);
    }

    #[test]
    fn groups_are_only_used_where_the_channel_set_includes_them() {
        let rules = [rule(1, 10, T::TicketStatusChanged, None)];
        let low = plan(
            &event(T::TicketStatusChanged, Priority::Low, None),
            &[],
            None,
            &rules,
            now(),
        );
        assert!(low.deliveries.is_empty());
        let high = plan(
            &event(T::TicketStatusChanged, Priority::High, None),
            &[],
            None,
            &rules,
            now(),
        );
        assert_eq!(high.deliveries.len(), 1);
    }

    #[test]
    fn members_who_opted_in_get_an_in_app_copy_once() {
        let mut r1 = rule(1, 10, T::SlaWarning, None);
        r1.members = vec![(5, true), (6, false)];
        let mut r2 = rule(2, 20, T::SlaWarning, None);
        r2.members = vec![(5, true), (1, true)];
        let plan = plan(
            &event(T::SlaWarning, Priority::Medium, None),
            &[user(1)],
            None,
            &[r1, r2],
            now(),
        );
        assert_eq!(channels_of(&plan, Target::User(5)), vec![InApp]);
        assert_eq!(channels_of(&plan, Target::User(6)), Vec::<Channel>::new());
        // User 1 is an explicit recipient: one in-app, not two.
        assert_eq!(channels_of(&plan, Target::User(1)), vec![InApp, Whatsapp]);
    }

    #[test]
    fn one_group_matched_by_two_rules_gets_one_message() {
        let rules = [rule(1, 10, T::Outage, None), rule(2, 10, T::Outage, None)];
        let plan = plan(
            &event(T::Outage, Priority::High, None),
            &[],
            None,
            &rules,
            now(),
        );
        assert_eq!(plan.deliveries.len(), 1);
    }

    #[test]
    fn customers_are_reached_on_whatsapp_and_email_when_known() {
        let c = CustomerFacts {
            has_phone: true,
            has_email: false,
        };
        let plan = plan(
            &event(T::CustomerRegistrationApproved, Priority::Low, None),
            &[],
            Some(&c),
            &[],
            now(),
        );
        assert_eq!(channels_of(&plan, Target::Customer), vec![Whatsapp]);
        let c = CustomerFacts {
            has_phone: false,
            has_email: true,
        };
        let plan = super::plan(
            &event(T::CustomerRegistrationApproved, Priority::Low, None),
            &[],
            Some(&c),
            &[],
            now(),
        );
        assert_eq!(channels_of(&plan, Target::Customer), vec![Email]);
        assert_eq!(plan.skipped.len(), 1);
    }

    #[test]
    fn a_user_listed_twice_is_planned_once() {
        let plan = plan(
            &event(T::TicketAssigned, Priority::Medium, None),
            &[user(1), user(1)],
            None,
            &[],
            now(),
        );
        assert_eq!(plan.deliveries.len(), 2);
    }
}
