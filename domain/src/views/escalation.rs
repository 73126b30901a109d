//! Escalation policies, for admins: which notifications stay open until
//! acknowledged, and whom each step reaches when nobody has (see
//! `domain::escalation` for the rules and the server's
//! `dispatcher::escalation` for the timers).
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::escalation`, the page and server functions
//! `app::escalation`.

use crate::escalation::{check_steps, Step, StepError, StepTarget};
use crate::words::FieldError;
use crate::Words;
use crate::{Channel, Locale, NotificationType, Priority, Role};
use serde::{Deserialize, Serialize};

/// A policy as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub id: i64,
    pub name: String,
    /// `None`: every type.
    pub notification_type: Option<NotificationType>,
    pub min_priority: Priority,
    pub enabled: bool,
    pub steps: Vec<Step>,
    /// Alerts of this policy still open.
    pub open_alerts: i64,
}

/// What a step may name: people, groups and zones by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    /// (id, name, role)
    pub users: Vec<(i64, String, Role)>,
    /// (id, name)
    pub groups: Vec<(i64, String)>,
    /// (code, name)
    pub zones: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    pub list: Vec<PolicyView>,
    pub choices: Choices,
}

/// One step of the form, as the inputs hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepForm {
    pub delay_minutes: i64,
    /// "user", "role" or "group".
    pub target: String,
    pub user_id: Option<i64>,
    pub role: String,
    /// Empty: the event's work zone.
    pub zone: String,
    pub group_id: Option<i64>,
    pub channels: Vec<Channel>,
}

impl Default for StepForm {
    fn default() -> Self {
        StepForm {
            delay_minutes: 5,
            target: "role".into(),
            user_id: None,
            role: Role::Supervisor.as_str().into(),
            zone: String::new(),
            group_id: None,
            channels: vec![Channel::Whatsapp, Channel::InApp],
        }
    }
}

impl From<&Step> for StepForm {
    fn from(s: &Step) -> Self {
        let base = StepForm {
            delay_minutes: s.delay_minutes,
            channels: s.channels.clone(),
            ..StepForm::default()
        };
        match &s.target {
            StepTarget::User { user_id } => StepForm {
                target: "user".into(),
                user_id: Some(*user_id),
                ..base
            },
            StepTarget::Role { role, zone } => StepForm {
                target: "role".into(),
                role: role.as_str().into(),
                zone: zone.clone().unwrap_or_default(),
                ..base
            },
            StepTarget::Group { group_id } => StepForm {
                target: "group".into(),
                group_id: Some(*group_id),
                ..base
            },
        }
    }
}

/// The policy form (create when `id` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyForm {
    pub id: Option<i64>,
    pub name: String,
    /// Empty: every type.
    pub notification_type: String,
    pub min_priority: String,
    pub enabled: bool,
    pub steps: Vec<StepForm>,
}

impl Default for PolicyForm {
    fn default() -> Self {
        PolicyForm {
            id: None,
            name: String::new(),
            notification_type: String::new(),
            min_priority: Priority::Critical.as_str().into(),
            enabled: true,
            steps: vec![StepForm::default()],
        }
    }
}

impl From<&PolicyView> for PolicyForm {
    fn from(p: &PolicyView) -> Self {
        PolicyForm {
            id: Some(p.id),
            name: p.name.clone(),
            notification_type: p
                .notification_type
                .map(|t| t.as_str().into())
                .unwrap_or_default(),
            min_priority: p.min_priority.as_str().into(),
            enabled: p.enabled,
            steps: p.steps.iter().map(StepForm::from).collect(),
        }
    }
}

/// A form that passed [`PolicyForm::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPolicy {
    pub id: Option<i64>,
    pub name: String,
    pub notification_type: Option<NotificationType>,
    pub min_priority: Priority,
    pub enabled: bool,
    pub steps: Vec<Step>,
}

impl PolicyForm {
    /// Checked in the browser and again on the server (which also checks
    /// that the people and groups named exist).
    pub fn validate(&self) -> Result<ValidPolicy, Vec<FieldError>> {
        let t = |id: &str, en: &str| Words::new(id, en);
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                t(
                    "Nama kebijakan wajib diisi (paling panjang 100 karakter).",
                    "The policy needs a name (at most 100 characters).",
                ),
            ));
        }
        let notification_type = match self.notification_type.as_str() {
            "" => None,
            s => match NotificationType::parse(s) {
                Ok(k) => Some(k),
                Err(_) => {
                    errors.push(FieldError::new(
                        "notification_type",
                        t("Pilih jenis notifikasi.", "Choose the notification type."),
                    ));
                    None
                }
            },
        };
        let min_priority = Priority::parse(&self.min_priority).unwrap_or_else(|_| {
            errors.push(FieldError::new(
                "min_priority",
                t("Pilih prioritas minimum.", "Choose the minimum priority."),
            ));
            Priority::Critical
        });
        let mut steps = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let field = format!("steps[{}]", i + 1);
            let target = match s.target.as_str() {
                "user" => s.user_id.map(|user_id| StepTarget::User { user_id }),
                "role" => Role::parse(&s.role).ok().map(|role| StepTarget::Role {
                    role,
                    zone: Some(s.zone.trim().to_owned()).filter(|z| !z.is_empty()),
                }),
                "group" => s.group_id.map(|group_id| StepTarget::Group { group_id }),
                _ => None,
            };
            match target {
                Some(target) => steps.push(Step {
                    delay_minutes: s.delay_minutes,
                    target,
                    channels: s.channels.clone(),
                }),
                None => errors.push(FieldError::new(
                    field,
                    t(
                        "Pilih siapa yang dituju tahap ini.",
                        "Choose whom this step reaches.",
                    ),
                )),
            }
        }
        if steps.len() == self.steps.len() {
            if let Err(e) = check_steps(&steps) {
                let message = |locale| match (&e, locale) {
                    (StepError::Delay(n), Locale::Id) => format!(
                        "tahap {n}: jeda harus 0 sampai {} menit",
                        crate::escalation::MAX_DELAY_MINUTES
                    ),
                    (StepError::NoChannel(n), Locale::Id) => {
                        format!("tahap {n}: pilih paling sedikit satu kanal")
                    }
                    (StepError::Channel(n, c), Locale::Id) => {
                        format!("tahap {n}: kanal {c} tidak bisa dipakai")
                    }
                    (StepError::TooMany, Locale::Id) => {
                        format!("paling banyak {} tahap", crate::escalation::MAX_STEPS)
                    }
                    (StepError::None, Locale::Id) => "perlu paling sedikit satu tahap".into(),
                    (e, Locale::En) => e.to_string(),
                };
                errors.push(FieldError::new("steps", Words::of(message)));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidPolicy {
            id: self.id,
            name,
            notification_type,
            min_priority,
            enabled: self.enabled,
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_form_becomes_a_policy() {
        let form = PolicyForm {
            name: "  Insiden  ".into(),
            notification_type: "outage".into(),
            steps: vec![
                StepForm::default(),
                StepForm {
                    target: "group".into(),
                    group_id: Some(4),
                    channels: vec![],
                    ..StepForm::default()
                },
            ],
            ..PolicyForm::default()
        };
        let p = form.validate().unwrap();
        assert_eq!(p.name, "Insiden");
        assert_eq!(p.notification_type, Some(NotificationType::Outage));
        assert_eq!(
            p.steps[0].target,
            StepTarget::Role {
                role: Role::Supervisor,
                zone: None
            }
        );
        assert_eq!(p.steps[1].target, StepTarget::Group { group_id: 4 });
        // Back to the form and again: the same policy.
        let view = PolicyView {
            id: 1,
            name: p.name.clone(),
            notification_type: p.notification_type,
            min_priority: p.min_priority,
            enabled: p.enabled,
            steps: p.steps.clone(),
            open_alerts: 0,
        };
        assert_eq!(PolicyForm::from(&view).validate().unwrap().steps, p.steps);
    }

    #[test]
    fn each_problem_is_named() {
        let form = PolicyForm {
            name: " ".into(),
            notification_type: "fax".into(),
            min_priority: "urgent".into(),
            steps: vec![StepForm {
                target: "user".into(),
                user_id: None,
                ..StepForm::default()
            }],
            ..PolicyForm::default()
        };
        let errors = form.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "notification_type", "min_priority", "steps[1]"]
        );

        let no_channel = PolicyForm {
            name: "x".into(),
            steps: vec![StepForm {
                channels: vec![],
                ..StepForm::default()
            }],
            ..PolicyForm::default()
        };
        let errors = no_channel.validate().unwrap_err();
        assert_eq!(errors[0].field, "steps");
        assert_eq!(
            errors[0].message.id,
            "tahap 1: pilih paling sedikit satu kanal"
        );
        let none = PolicyForm {
            name: "x".into(),
            steps: vec![],
            ..PolicyForm::default()
        };
        assert_eq!(
            none.validate().unwrap_err()[0].message.en,
            "a policy needs at least one step"
        );
    }
}
