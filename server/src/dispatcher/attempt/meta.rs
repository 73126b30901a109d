//! What a delivery becomes on a Meta (WhatsApp Cloud API) account: free
//! text inside the person's 24-hour customer service window, else the
//! type's approved template, or why neither can go.

use super::super::worker::Dispatcher;
use crate::providers;
use domain::meta_template::{MetaTemplate, Param};
use domain::PhoneE164;
use storage::now_ms;
use storage::outbox::Claimed;

impl Dispatcher {
    /// What `d` becomes on a Meta account: free text inside the person's
    /// 24-hour window (with a "Konfirmasi" button for an alert that fits
    /// one), else [`Self::meta_template`].
    pub(super) async fn meta_message(
        &self,
        d: &Claimed,
        account: &providers::Account,
        phone: &PhoneE164,
    ) -> Result<MetaMessage, MetaBlocked> {
        let open = storage::window::is_open(&self.db, account.id, phone.as_str(), now_ms())
            .await
            .map_err(|e| unreadable("the 24-hour window", &e))?;
        if !open {
            return self.meta_template(d, account).await;
        }
        let fits = d.message.chars().count() <= providers::meta::INTERACTIVE_MAX_CHARS;
        let ack = fits
            && storage::meta_templates::open_alert(&self.db, d.id.0)
                .await
                .map_err(|e| unreadable("the delivery's alert", &e))?;
        Ok(MetaMessage::Text { ack })
    }

    /// The type's approved template for `d` on a Meta account, filled from
    /// its event (with the acknowledgement button for an open alert), or
    /// why there is none.
    pub(super) async fn meta_template(
        &self,
        d: &Claimed,
        account: &providers::Account,
    ) -> Result<MetaMessage, MetaBlocked> {
        let facts = storage::meta_templates::facts(&self.db, d.id.0)
            .await
            .map_err(|e| unreadable("the delivery's event", &e))?
            .ok_or_else(|| {
                MetaBlocked::Closed("its event is gone, so no template can be filled".into())
            })?;
        let found = storage::meta_templates::for_type(
            &self.db,
            account.id,
            &facts.notification_type,
            &facts.locale,
        )
        .await
        .map_err(|e| unreadable("Meta's templates", &e))?;
        let Some((template, mapping)) = found else {
            return Err(MetaBlocked::Closed(format!(
                "no approved Meta template for \"{}\" in language \"{}\"",
                facts.notification_type, facts.locale
            )));
        };
        let params = template.fill(&mapping, &facts.values).map_err(|missing| {
            MetaBlocked::Closed(format!(
                "Meta template \"{}\" ({}) has no value for {}",
                template.name,
                template.language,
                missing.join(", ")
            ))
        })?;
        let ack = if facts.alert {
            template.quick_reply
        } else {
            None
        };
        Ok(MetaMessage::Template {
            template,
            params,
            ack,
        })
    }
}

/// Why a message only Meta could carry was not sent (followed by why no
/// template could go instead).
pub const WINDOW_CLOSED: &str = "Meta: outside the 24-hour customer service window \
     (the person has not written to the business number in the last 24 hours), \
     no WhatsApp gateway account to send it instead";

/// What a delivery goes out as through a Meta account.
pub(super) enum MetaMessage {
    /// Inside the window; `ack`: with the acknowledgement button.
    Text { ack: bool },
    Template {
        template: MetaTemplate,
        params: Vec<Param>,
        ack: Option<u32>,
    },
}

impl MetaMessage {
    /// What Meta bills for it: the template's category, `service` for
    /// free text.
    pub(super) fn cost(&self, account: &providers::Account) -> i64 {
        let category = match self {
            MetaMessage::Template { template, .. } => template.category.as_str(),
            MetaMessage::Text { .. } => "service",
        };
        domain::meta_template::price(&account.template_prices, category, account.price_rupiah)
    }

    pub(super) fn body<'a>(&'a self, text: &'a str) -> providers::meta::Body<'a> {
        use providers::meta::Body;
        match self {
            MetaMessage::Text { ack: false } => Body::Text(text),
            MetaMessage::Text { ack: true } => Body::TextWithAck(text),
            MetaMessage::Template {
                template,
                params,
                ack,
            } => Body::Template {
                template,
                params,
                ack: *ack,
            },
        }
    }
}

/// Why a Meta account is passed over for a delivery.
pub(super) enum MetaBlocked {
    /// Outside the window with no template to send: the reason.
    Closed(String),
    /// The database could not say (another account may still send it).
    Unreadable(String),
}

fn unreadable(what: &str, e: &dyn std::fmt::Display) -> MetaBlocked {
    MetaBlocked::Unreadable(format!("cannot read {what}: {e}"))
}
