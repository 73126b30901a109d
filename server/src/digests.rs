//! Daily digests of low-priority notifications: at each person's chosen local
//! time, what waited for them (`digest_items`, written with the events)
//! goes out as one message, by WhatsApp if they read it there, else by email.
//!
//! Exactly once, like scheduled reports: a digest moves the person's
//! `digest_next_at` on, fenced on the value it found, in the transaction
//! that writes the message and marks the lines it carries (its event also
//! carries the idempotency key `digest:{user}:{due}`). A digest missed while
//! nothing ran goes out once at start; lines never wait for more than one.

use domain::digest::{self, Item};
use domain::{Channel, EventKind, Locale, Priority, SystemMessage};
use storage::db::Db;
use storage::digests::{self as store, Digest, Due};
use storage::outbox::{NewDelivery, NewEvent};

/// Sends every digest due at `now`; returns the events written.
pub async fn run_due(db: &Db, now: i64, settings_url: &str) -> Result<Vec<i64>, storage::Error> {
    let mut written = Vec::new();
    for d in store::due(db, now).await? {
        if let Some(event) = send(db, &d, now, settings_url).await? {
            tracing::info!(user = %d.user_id, event, "digest sent");
            written.push(event);
        }
    }
    Ok(written)
}

/// Sends one person's digest as `due` found it; `None` if another instance
/// (or an earlier sweep) took it first, or nothing waited.
pub async fn send(
    db: &Db,
    d: &Due,
    now: i64,
    settings_url: &str,
) -> Result<Option<i64>, storage::Error> {
    let minute = d.digest_minute.clamp(0, 1439) as u16;
    // The next one comes after now, not after a missed one.
    let next = digest::next_at(minute, &d.time_zone, now.max(d.due));
    let waiting = store::waiting(db, d.user_id, d.due).await?;
    let locale = Locale::parse(&d.locale).unwrap_or_default();
    let items: Vec<Item> = waiting
        .iter()
        .map(|w| Item {
            at_ms: w.created_at,
            title: w.title.clone(),
            line: w.line.clone(),
        })
        .collect();
    let ids: Vec<i64> = waiting.iter().map(|w| w.id).collect();
    let text = digest::text(locale, &items, &d.time_zone);
    let channel = digest::channel(
        d.whatsapp_enabled,
        d.phone_verified && d.phone.is_some(),
        d.email_enabled,
        domain::email::plausible_address(&d.email),
    );
    let queued = |channel, recipient: String, subject, message: String| NewDelivery {
        user_id: Some(d.user_id),
        ..NewDelivery::queued(channel, recipient, subject, message, now, 5)
    };
    let deliveries: Vec<NewDelivery> = match channel {
        _ if items.is_empty() => Vec::new(),
        Some(Channel::Whatsapp) => vec![queued(
            Channel::Whatsapp,
            d.phone.clone().unwrap_or_default(),
            None,
            text,
        )],
        Some(Channel::Email) => {
            let subject = match locale {
                Locale::Id => format!("Ringkasan notifikasi ({})", items.len()),
                Locale::En => format!("Notification digest ({})", items.len()),
            };
            let body = domain::email::plain_body(
                &domain::sms::plain(&text),
                &domain::email::footer(locale, settings_url),
            );
            vec![queued(Channel::Email, d.email.clone(), Some(subject), body)]
        }
        // Nothing reaches them: the lines are marked carried (they are in
        // the inbox) so they do not pile up.
        _ => Vec::new(),
    };
    let event = NewEvent {
        source: "scheduler".into(),
        idempotency_key: Some(format!("digest:{}:{}", d.user_id, d.due)),
        kind: EventKind::System(SystemMessage::Digest),
        priority: Priority::Low,
        work_zone: None,
        recipients: serde_json::json!({ "user_ids": [d.user_id] }).to_string(),
        data: serde_json::json!({ "items": items.len() }).to_string(),
        alert: None,
        digest: Vec::new(),
    };
    store::take(
        db,
        &Digest {
            user_id: d.user_id,
            due: d.due,
            next,
            event: (!items.is_empty()).then_some(&event),
            deliveries: &deliveries,
            items: &ids,
        },
        now,
    )
    .await
}
