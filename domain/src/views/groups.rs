//! WhatsApp groups master data: the group chats the dispatcher posts to, their
//! members and the routing rules that send notification types to them.
//!
//! Here: the plain data its page and the server share, and the forms' checks.
//! The SQL is `storage::groups`, the page and server functions `app::groups`.

use crate::GroupCategory;
use crate::Words;
use serde::{Deserialize, Serialize};

/// A group as the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub id: crate::GroupId,
    pub name: String,
    pub description: String,
    pub chat_id: String,
    pub phone_number: Option<String>,
    pub category: GroupCategory,
    /// `None`: every work zone.
    pub work_zone: Option<String>,
    pub work_zone_name: Option<String>,
    pub active: bool,
    pub member_count: i64,
    pub rule_count: i64,
}

impl GroupView {
    /// Case-insensitive match on name, description or chat id.
    pub fn matches(&self, query: &str) -> bool {
        let q = query.trim().to_lowercase();
        q.is_empty()
            || self.name.to_lowercase().contains(&q)
            || self.description.to_lowercase().contains(&q)
            || self.chat_id.to_lowercase().contains(&q)
    }
}

/// The group editor's form (create when `id` is `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupForm {
    pub id: Option<crate::GroupId>,
    pub name: String,
    pub description: String,
    pub chat_id: String,
    /// Empty: none.
    pub phone_number: String,
    pub category: String,
    /// Empty: every work zone.
    pub work_zone: String,
    pub active: bool,
}

/// A form that passed [`GroupForm::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidGroup {
    pub id: Option<crate::GroupId>,
    pub name: String,
    pub description: String,
    pub chat_id: String,
    pub phone_number: Option<crate::PhoneE164>,
    pub category: GroupCategory,
    pub work_zone: Option<String>,
    pub active: bool,
}

impl GroupForm {
    /// Checked in the browser as the user submits and again on the server;
    /// messages in `locale`.
    pub fn validate(&self) -> Result<ValidGroup, Vec<crate::words::FieldError>> {
        use crate::words::FieldError;
        let t = |id: &str, en: &str| Words::new(id, en);
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push(FieldError::new(
                "name",
                t("Nama grup wajib diisi.", "The group needs a name."),
            ));
        } else if name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                t(
                    "Nama grup paling panjang 100 karakter.",
                    "A group name is at most 100 characters.",
                ),
            ));
        }
        let chat_id = self.chat_id.trim().to_owned();
        if chat_id.is_empty() {
            errors.push(FieldError::new(
                "chat_id",
                t(
                    "ID grup WhatsApp wajib diisi (mis. 120363025246125486@g.us).",
                    "The WhatsApp group id is required (e.g. 120363025246125486@g.us).",
                ),
            ));
        } else if chat_id.len() > 100 || chat_id.chars().any(char::is_whitespace) {
            errors.push(FieldError::new(
                "chat_id",
                t(
                    "ID grup tidak boleh berisi spasi dan paling panjang 100 karakter.",
                    "A group id has no spaces and is at most 100 characters.",
                ),
            ));
        }
        let phone_number = match self.phone_number.trim() {
            "" => None,
            p => match crate::PhoneE164::parse(p) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(FieldError::new("phone_number", Words::of(|l| e.message(l))));
                    None
                }
            },
        };
        let category = match GroupCategory::parse(&self.category) {
            Ok(c) => Some(c),
            Err(_) => {
                errors.push(FieldError::new(
                    "category",
                    t("Pilih kategori grup.", "Choose the group's category."),
                ));
                None
            }
        };
        if self.description.chars().count() > 500 {
            errors.push(FieldError::new(
                "description",
                t(
                    "Deskripsi paling panjang 500 karakter.",
                    "A description is at most 500 characters.",
                ),
            ));
        }
        match (errors.is_empty(), category) {
            (true, Some(category)) => Ok(ValidGroup {
                id: self.id,
                name,
                description: self.description.trim().to_owned(),
                chat_id,
                phone_number,
                category,
                work_zone: Some(self.work_zone.trim().to_owned()).filter(|z| !z.is_empty()),
                active: self.active,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberOption {
    pub user_id: crate::UserId,
    pub name: String,
    pub role: crate::Role,
    pub work_zone: Option<String>,
    pub member: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub id: i64,
    pub notification_type: crate::NotificationType,
    pub enabled: bool,
    pub min_priority: Option<crate::Priority>,
    pub work_zone: Option<String>,
    /// The rule's own template; empty: the type's default template.
    pub template: String,
}

/// A rule to add to a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleForm {
    pub group_id: crate::GroupId,
    pub notification_type: String,
    /// Empty: any priority.
    pub min_priority: String,
    /// Empty: any zone.
    pub work_zone: String,
    /// Empty: the type's default template.
    pub template: String,
}

/// A checked rule: type, minimum priority, work zone, own template.
pub type ValidRule = (
    crate::NotificationType,
    Option<crate::Priority>,
    Option<String>,
    Option<crate::template::Template>,
);

impl RuleForm {
    pub fn validate(&self) -> Result<ValidRule, Vec<crate::words::FieldError>> {
        use crate::words::FieldError;
        let mut errors = Vec::new();
        let kind = crate::NotificationType::parse(&self.notification_type)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "notification_type",
                    Words::new("Pilih jenis notifikasi.", "Choose a notification type."),
                ))
            })
            .ok();
        let priority = match self.min_priority.as_str() {
            "" => None,
            p => crate::Priority::parse(p)
                .map_err(|e| {
                    errors.push(FieldError::new("min_priority", Words::same(e.to_string())))
                })
                .ok(),
        };
        let template = match self.template.trim() {
            "" => None,
            t => crate::template::Template::parse_checked(t)
                .map_err(|e| errors.push(FieldError::new("template", Words::of(|l| e.message(l)))))
                .ok(),
        };
        let zone = Some(self.work_zone.trim().to_owned()).filter(|z| !z.is_empty());
        match (errors.is_empty(), kind) {
            (true, Some(kind)) => Ok((kind, priority, zone, template)),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub group: GroupView,
    pub members: Vec<MemberOption>,
    pub rules: Vec<RuleView>,
    pub work_zones: Vec<(String, String)>,
}

/// Which enabled WhatsApp accounts can post to the groups' chats (the
/// gateways' `…@g.us` ids), in failover order, and which cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupReach {
    pub reach: Vec<String>,
    pub cannot: Vec<String>,
}
