//! SQL for message templates.

use crate::db::Db;
use crate::now_ms;
use crate::Error;
use crate::{on_db, on_db_write};
use domain::views::templates::{default_for, TemplateForm, TemplateView};
use domain::{Channel, Locale};

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
pub async fn save(db: &Db, form: &TemplateForm) -> Result<i64, Error> {
    let t = form.validate().map_err(Error::Invalid)?;
    let id: i64 = on_db_write!(db, |pool| {
        sqlx::query_scalar(
        "INSERT INTO message_templates (key, channel, locale, subject, body, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key, channel, locale) DO UPDATE SET subject = excluded.subject, body = excluded.body,
             updated_at = excluded.updated_at
         RETURNING id"
    )
    .bind(&t.key)
    .bind(t.channel.as_str())
    .bind(t.locale.as_str())
    .bind(&t.subject)
    .bind(&t.body)
    .bind(now_ms())
    .fetch_one(pool)
    .await?
    });
    Ok(id)
}

/// Back to what ships: the default's text where (key, channel, locale) has
/// one, else no template of its own (the channel then uses the next one's,
/// `domain::views::templates::in_effect`).
pub async fn reset(db: &Db, key: &str, channel: Channel, locale: Locale) -> Result<(), Error> {
    match default_for(key, channel, locale) {
        Some(d) => {
            let form = TemplateForm {
                key: key.to_owned(),
                channel: channel.as_str().to_owned(),
                locale: locale.as_str().to_owned(),
                subject: d.subject.unwrap_or_default().to_owned(),
                body: d.body.to_owned(),
            };
            save(db, &form).await?;
        }
        None => {
            on_db_write!(db, |pool| {
                sqlx::query(
                    "DELETE FROM message_templates WHERE key = $1 AND channel = $2 AND locale = $3",
                )
                .bind(key)
                .bind(channel.as_str())
                .bind(locale.as_str())
                .execute(pool)
                .await?;
            });
        }
    }
    Ok(())
}
