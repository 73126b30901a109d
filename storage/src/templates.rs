//! SQL for message templates.

use crate::audit::{audit, Actor};
use crate::db::Db;
use crate::now_ms;
use crate::Error;
use crate::{in_tx, on_db};
use domain::views::templates::{default_for, TemplateForm, TemplateView};
use domain::{Channel, Locale};
use serde_json::json;

/// The template's subject and body as the trail keeps them, if it exists.
macro_rules! current {
    ($tx:ident, $key:expr, $channel:expr, $locale:expr) => {{
        let row: Option<(Option<String>, String)> = sqlx::query_as(
            "SELECT subject, body FROM message_templates WHERE key = $1 AND channel = $2 AND locale = $3",
        )
        .bind($key)
        .bind($channel)
        .bind($locale)
        .fetch_optional(&mut *$tx)
        .await?;
        row.map(|(subject, body)| record(subject.as_deref(), &body))
    }};
}

/// Creates or replaces the template of (key, channel, locale) in `$tx`;
/// evaluates to its id.
macro_rules! put {
    ($tx:ident, $key:expr, $channel:expr, $locale:expr, $subject:expr, $body:expr, $now:expr) => {{
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO message_templates (key, channel, locale, subject, body, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key, channel, locale) DO UPDATE SET subject = excluded.subject,
                 body = excluded.body, updated_at = excluded.updated_at
             RETURNING id",
        )
        .bind($key)
        .bind($channel)
        .bind($locale)
        .bind($subject)
        .bind($body)
        .bind($now)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

/// The trail's record of a template's text.
fn record(subject: Option<&str>, body: &str) -> String {
    json!({"subject": subject, "body": body}).to_string()
}

pub async fn list(db: &Db) -> Result<Vec<TemplateView>, Error> {
    let rows: Vec<(i64, String, String, String, Option<String>, String)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, key, channel, locale, subject, body FROM message_templates ORDER BY key, channel, locale"
    )
    .fetch_all(pool)
    .await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, key, channel, locale, subject, body)| TemplateView {
            id,
            key,
            channel,
            locale,
            subject,
            body,
        })
        .collect())
}

/// Checks and stores a template (creating or replacing the one for its
/// key, channel and language); every problem is reported at once and nothing
/// is written if there is any.
pub async fn save(db: &Db, actor: &Actor, form: &TemplateForm) -> Result<i64, Error> {
    let t = form.validate().map_err(Error::Invalid)?;
    let now = now_ms();
    let subject = format!("{} / {} / {}", t.key, t.channel.as_str(), t.locale.as_str());
    let id = in_tx!(db, |tx| {
        let before = current!(tx, &t.key, t.channel.as_str(), t.locale.as_str());
        let id = put!(
            tx,
            &t.key,
            t.channel.as_str(),
            t.locale.as_str(),
            &t.subject,
            &t.body,
            now
        );
        let after = Some(record(t.subject.as_deref(), &t.body));
        if before != after {
            audit!(tx, actor, "template.save", &subject, before, after, now);
        }
        id
    });
    Ok(id)
}

/// Back to what ships: the default's text where (key, channel, locale) has
/// one, else no template of its own (the channel then uses the next one's,
/// `domain::views::templates::in_effect`).
pub async fn reset(
    db: &Db,
    actor: &Actor,
    key: &str,
    channel: Channel,
    locale: Locale,
) -> Result<(), Error> {
    let shipped = default_for(key, channel, locale);
    let now = now_ms();
    let subject = format!("{key} / {} / {}", channel.as_str(), locale.as_str());
    in_tx!(db, |tx| {
        let before = current!(tx, key, channel.as_str(), locale.as_str());
        let after = match shipped {
            Some(d) => {
                put!(
                    tx,
                    key,
                    channel.as_str(),
                    locale.as_str(),
                    d.subject,
                    d.body,
                    now
                );
                Some(record(d.subject, d.body))
            }
            None => {
                sqlx::query(
                    "DELETE FROM message_templates WHERE key = $1 AND channel = $2 AND locale = $3",
                )
                .bind(key)
                .bind(channel.as_str())
                .bind(locale.as_str())
                .execute(&mut *tx)
                .await?;
                None
            }
        };
        if before != after {
            audit!(tx, actor, "template.reset", &subject, before, after, now);
        }
    });
    Ok(())
}
