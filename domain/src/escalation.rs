//! Escalation until acknowledged: which policy an event falls under, what a
//! step says, and which replies acknowledge.
//!
//! A policy is master data: ordered steps, each a delay (after the previous
//! step, or after the event for the first), a target (a user, a role in a
//! work zone, a WhatsApp group) and channels. The event's own routing goes
//! out first; while nobody has acknowledged, each step adds its messages when
//! its time comes. The timers are rows in the database (see the server's
//! `dispatcher::escalation`); this module only decides.

use crate::{Channel, Locale, NotificationType, Priority, Role};
use serde::{Deserialize, Serialize};

/// How an alert was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckChannel {
    /// The inbox's button.
    InApp,
    /// The signed link in a WhatsApp, SMS or email message.
    Link,
    /// A WhatsApp reply.
    Whatsapp,
    /// A key pressed during a phone call.
    Voice,
}

impl AckChannel {
    pub const ALL: [AckChannel; 4] = [
        AckChannel::InApp,
        AckChannel::Link,
        AckChannel::Whatsapp,
        AckChannel::Voice,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AckChannel::InApp => "in_app",
            AckChannel::Link => "link",
            AckChannel::Whatsapp => "whatsapp",
            AckChannel::Voice => "voice",
        }
    }

    pub fn parse(s: &str) -> Option<AckChannel> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (AckChannel::InApp, Locale::Id) => "aplikasi",
            (AckChannel::InApp, Locale::En) => "the app",
            (AckChannel::Link, Locale::Id) => "tautan",
            (AckChannel::Link, Locale::En) => "link",
            (AckChannel::Whatsapp, _) => "WhatsApp",
            (AckChannel::Voice, Locale::Id) => "telepon",
            (AckChannel::Voice, Locale::En) => "phone call",
        }
    }
}

/// Who a step reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepTarget {
    User {
        user_id: i64,
    },
    /// Everyone active with this role in `zone`, or in the event's work zone
    /// when `zone` is `None` (everyone with the role when the event has none).
    /// People of the role without a work zone cover every zone, so they are
    /// always among them.
    Role {
        role: Role,
        zone: Option<String>,
    },
    Group {
        group_id: i64,
    },
}

/// The channels a step may use for a person. A group target is reached by
/// WhatsApp group, whatever the step's channels say.
pub const STEP_CHANNELS: [Channel; 5] = [
    Channel::InApp,
    Channel::Whatsapp,
    Channel::Sms,
    Channel::Email,
    Channel::Voice,
];

/// Longest wait a step may have: a week.
pub const MAX_DELAY_MINUTES: i64 = 7 * 24 * 60;

/// Most steps a policy may have.
pub const MAX_STEPS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub delay_minutes: i64,
    pub target: StepTarget,
    pub channels: Vec<Channel>,
}

/// A step's problem, named for the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("step {0}: the delay must be between 0 and {MAX_DELAY_MINUTES} minutes")]
    Delay(usize),
    #[error("step {0}: choose at least one channel")]
    NoChannel(usize),
    #[error("step {0}: {1} cannot be used in a step")]
    Channel(usize, &'static str),
    #[error("a policy has at most {MAX_STEPS} steps")]
    TooMany,
    #[error("a policy needs at least one step")]
    None,
}

/// Checks a policy's steps as the admin page saves them (steps numbered
/// from 1 in the messages).
pub fn check_steps(steps: &[Step]) -> Result<(), StepError> {
    if steps.is_empty() {
        return Err(StepError::None);
    }
    if steps.len() > MAX_STEPS {
        return Err(StepError::TooMany);
    }
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        if !(0..=MAX_DELAY_MINUTES).contains(&s.delay_minutes) {
            return Err(StepError::Delay(n));
        }
        if matches!(s.target, StepTarget::Group { .. }) {
            continue;
        }
        if s.channels.is_empty() {
            return Err(StepError::NoChannel(n));
        }
        if let Some(c) = s.channels.iter().find(|c| !STEP_CHANNELS.contains(c)) {
            return Err(StepError::Channel(n, c.as_str()));
        }
    }
    Ok(())
}

/// What routing needs to know of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFacts {
    pub id: i64,
    /// `None`: every notification type.
    pub kind: Option<NotificationType>,
    pub min_priority: Priority,
    pub enabled: bool,
    /// When its first step comes, in minutes after the event (`None`: it
    /// has no steps).
    pub first_delay_minutes: Option<i64>,
}

/// The policy an event falls under: an enabled one whose priority it
/// reaches, one naming its type before one for every type, the oldest first.
pub fn select(
    policies: &[PolicyFacts],
    kind: NotificationType,
    priority: Priority,
) -> Option<&PolicyFacts> {
    policies
        .iter()
        .filter(|p| p.enabled && priority >= p.min_priority && p.kind.is_none_or(|k| k == kind))
        .min_by_key(|p| (p.kind.is_none(), p.id))
}

/// Whether a reply acknowledges: its first word is one of the words people
/// answer with ("ok", "siap", "terima", "ack", "1", …), in any case, with
/// punctuation or an emoji after it. Anything else ("nanti", "?") does not.
pub fn is_acknowledgement(text: &str) -> bool {
    const WORDS: [&str; 13] = [
        "ok", "oke", "okay", "okey", "ack", "siap", "terima", "diterima", "ya", "y", "1", "noted",
        "roger",
    ];
    let first = text
        .trim_start()
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '!' | ':' | ';'))
        .next()
        .unwrap_or("")
        .to_lowercase();
    let word = first.trim_end_matches(|c: char| !c.is_alphanumeric());
    WORDS.contains(&word) || (word.is_empty() && first.starts_with('👍'))
}

/// The line under a message that can be acknowledged: how to, in the
/// recipient's language. `link` is the recipient's signed link.
pub fn ack_line(locale: Locale, link: &str, whatsapp: bool) -> String {
    match (locale, whatsapp) {
        (Locale::Id, true) => format!("Balas *OK* untuk konfirmasi, atau buka: {link}"),
        (Locale::Id, false) => format!("Konfirmasi: {link}"),
        (Locale::En, true) => format!("Reply *OK* to acknowledge, or open: {link}"),
        (Locale::En, false) => format!("Acknowledge: {link}"),
    }
}

/// The acknowledgement line of a group message: replies come from members'
/// own numbers, so no link (links are personal).
pub fn group_ack_line(locale: Locale) -> &'static str {
    match locale {
        Locale::Id => "Balas *OK* untuk konfirmasi.",
        Locale::En => "Reply *OK* to acknowledge.",
    }
}

/// "Eskalasi tahap 2": an escalated message's title.
pub fn step_title(locale: Locale, step: usize) -> String {
    match locale {
        Locale::Id => format!("Eskalasi tahap {step}"),
        Locale::En => format!("Escalation step {step}"),
    }
}

/// What a phone call says: the message without formatting, links or emoji
/// (text-to-speech would spell them out), then how to acknowledge.
pub fn voice_script(locale: Locale, plain: &str) -> String {
    let spoken: Vec<&str> = plain
        .split_whitespace()
        .filter(|w| !w.contains("://") && w.chars().any(char::is_alphanumeric))
        .collect();
    let prompt = match locale {
        Locale::Id => "Tekan 1 untuk konfirmasi.",
        Locale::En => "Press 1 to acknowledge.",
    };
    format!("{} {prompt}", spoken.join(" "))
}

/// A step's WhatsApp text: a header that says it is escalating and for how
/// long nobody answered, then the original message.
pub fn step_message(locale: Locale, step: usize, open_minutes: i64, original: &str) -> String {
    let header = match locale {
        Locale::Id => format!(
            "🚨 *ESKALASI tahap {step}*: belum ada yang mengonfirmasi selama {open_minutes} menit."
        ),
        Locale::En => format!(
            "🚨 *ESCALATION step {step}*: nobody has acknowledged for {open_minutes} minutes."
        ),
    };
    format!("{header}\n\n{original}")
}

/// `text` with every acknowledgement link's token hidden (`…/ack/…`): the
/// delivery log shows messages to managers, and a link acknowledges in its
/// recipient's name.
pub fn redact_ack_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/ack/") {
        let (before, after) = rest.split_at(at + "/ack/".len());
        out.push_str(before);
        let token_end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '*' | '_' | '~' | ')' | '>'))
            .unwrap_or(after.len());
        if token_end > 0 {
            out.push('…');
        }
        rest = &after[token_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: i64, kind: Option<NotificationType>, min: Priority) -> PolicyFacts {
        PolicyFacts {
            id,
            kind,
            min_priority: min,
            enabled: true,
            first_delay_minutes: Some(5),
        }
    }

    #[test]
    fn a_policy_for_the_type_wins_over_one_for_every_type() {
        let all = [
            policy(1, None, Priority::High),
            policy(2, Some(NotificationType::Outage), Priority::Critical),
            policy(3, Some(NotificationType::Outage), Priority::High),
        ];
        assert_eq!(
            select(&all, NotificationType::Outage, Priority::Critical).map(|p| p.id),
            Some(2)
        );
        assert_eq!(
            select(&all, NotificationType::Outage, Priority::High).map(|p| p.id),
            Some(3)
        );
        assert_eq!(
            select(&all, NotificationType::SlaBreach, Priority::Critical).map(|p| p.id),
            Some(1)
        );
        assert_eq!(
            select(&all, NotificationType::SlaBreach, Priority::Medium).map(|p| p.id),
            None
        );
    }

    #[test]
    fn disabled_policies_and_lower_priorities_select_nothing() {
        let mut p = policy(1, Some(NotificationType::Outage), Priority::Critical);
        assert_eq!(
            select(&[p.clone()], NotificationType::Outage, Priority::High).map(|p| p.id),
            None
        );
        p.enabled = false;
        assert_eq!(
            select(&[p], NotificationType::Outage, Priority::Critical).map(|p| p.id),
            None
        );
        assert_eq!(
            select(&[], NotificationType::Outage, Priority::Critical).map(|p| p.id),
            None
        );
    }

    #[test]
    fn replies_that_acknowledge() {
        for yes in [
            "OK",
            "ok",
            " Ok!",
            "oke siap",
            "Siap, meluncur",
            "terima kasih",
            "ACK",
            "1",
            "y",
            "Ya.",
            "👍",
            "👍👍",
            "noted: on my way",
            "Diterima",
        ] {
            assert!(is_acknowledgement(yes), "{yes:?} should acknowledge");
        }
        for no in [
            "",
            "  ",
            "nanti",
            "?",
            "tidak",
            "no",
            "okra",
            "10",
            "bukan ok",
            "yes? what is this",
        ] {
            assert!(!is_acknowledgement(no), "{no:?} should not acknowledge");
        }
    }

    #[test]
    fn steps_are_checked() {
        let step = |delay, channels: Vec<Channel>| Step {
            delay_minutes: delay,
            target: StepTarget::Role {
                role: Role::Supervisor,
                zone: None,
            },
            channels,
        };
        assert_eq!(check_steps(&[]), Err(StepError::None));
        assert_eq!(check_steps(&[step(5, vec![Channel::Whatsapp])]), Ok(()));
        assert_eq!(
            check_steps(&[
                step(5, vec![Channel::Whatsapp]),
                step(-1, vec![Channel::Sms])
            ]),
            Err(StepError::Delay(2))
        );
        assert_eq!(
            check_steps(&[step(MAX_DELAY_MINUTES + 1, vec![Channel::Sms])]),
            Err(StepError::Delay(1))
        );
        assert_eq!(
            check_steps(&[step(5, vec![])]),
            Err(StepError::NoChannel(1))
        );
        assert_eq!(
            check_steps(&[step(5, vec![Channel::WhatsappGroup])]),
            Err(StepError::Channel(1, "whatsapp_group"))
        );
        let group = Step {
            delay_minutes: 0,
            target: StepTarget::Group { group_id: 3 },
            channels: vec![],
        };
        assert_eq!(check_steps(&[group]), Ok(()));
        assert_eq!(
            check_steps(&vec![step(1, vec![Channel::Sms]); MAX_STEPS + 1]),
            Err(StepError::TooMany)
        );
    }

    #[test]
    fn step_messages_say_how_long_and_keep_the_original() {
        let m = step_message(Locale::Id, 2, 15, "*Outage*\nlokasi: Karawang");
        assert!(
            m.starts_with("🚨 *ESKALASI tahap 2*: belum ada yang mengonfirmasi selama 15 menit.")
        );
        assert!(m.ends_with("\n\n*Outage*\nlokasi: Karawang"));
        assert!(step_message(Locale::En, 1, 5, "x").contains("ESCALATION step 1"));
        assert_eq!(
            ack_line(Locale::Id, "https://x/ack/t", true),
            "Balas *OK* untuk konfirmasi, atau buka: https://x/ack/t"
        );
        assert_eq!(ack_line(Locale::En, "L", false), "Acknowledge: L");
    }

    #[test]
    fn a_call_says_the_words_not_the_links_or_symbols() {
        assert_eq!(
            voice_script(
                Locale::Id,
                "ESKALASI tahap 1: gangguan di OLT Karawang 🚨\nBuka: https://x/ack/t ---"
            ),
            "ESKALASI tahap 1: gangguan di OLT Karawang Buka: Tekan 1 untuk konfirmasi."
        );
        assert!(voice_script(Locale::En, "x").ends_with("Press 1 to acknowledge."));
    }

    #[test]
    fn ack_channels_round_trip() {
        for c in AckChannel::ALL {
            assert_eq!(AckChannel::parse(c.as_str()), Some(c));
        }
        assert_eq!(AckChannel::parse("fax"), None);
    }

    #[test]
    fn acknowledgement_links_are_hidden_and_the_rest_kept() {
        let text = "Konfirmasi: https://notif.example/ack/k1.5.1800000000.c2ln\nbalas OK\n\
                    (https://notif.example/ack/k2.6.9.abc) /ack/";
        assert_eq!(
            redact_ack_links(text),
            "Konfirmasi: https://notif.example/ack/…\nbalas OK\n\
             (https://notif.example/ack/…) /ack/"
        );
        assert_eq!(redact_ack_links("tanpa tautan"), "tanpa tautan");
    }
}
