//! SQL for message templates.

use crate::db::Db;
use crate::now_ms;
use crate::Error;
use crate::{on_db, on_db_write};
use domain::template::Template;
use domain::views::templates::TemplateView;
use domain::words::FieldError;
use domain::{Channel, Locale, NotificationType, Words};

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

/// Keys that are not notification types but still have templates.
const SYSTEM_KEYS: &[&str] = &["phone_verification", "password_reset"];

/// Checks and stores a template; every problem is reported at once and
/// nothing is written if there is any.
pub async fn save(
    db: &Db,
    key: &str,
    channel: &str,
    locale: &str,
    subject: Option<&str>,
    body: &str,
) -> Result<i64, Error> {
    let mut errors = Vec::new();
    if NotificationType::parse(key).is_err() && !SYSTEM_KEYS.contains(&key) {
        errors.push(FieldError::new(
            "key",
            Words::fill(
                "kunci template '{}' tidak dikenal",
                "unknown template key '{}'",
                &[&key],
            ),
        ));
    }
    if let Err(e) = Channel::parse(channel) {
        errors.push(FieldError::new("channel", Words::same(e.to_string())));
    }
    if let Err(e) = Locale::parse(locale) {
        errors.push(FieldError::new("locale", Words::same(e.to_string())));
    }
    if let Err(e) = Template::parse_checked(body) {
        errors.push(FieldError::new("body", Words::of(|l| e.message(l))));
    }
    if let Some(s) = subject {
        if let Err(e) = Template::parse_checked(s) {
            errors.push(FieldError::new("subject", Words::of(|l| e.message(l))));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let id: i64 = on_db_write!(db, |pool| {
        sqlx::query_scalar(
        "INSERT INTO message_templates (key, channel, locale, subject, body, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key, channel, locale) DO UPDATE SET subject = excluded.subject, body = excluded.body,
             updated_at = excluded.updated_at
         RETURNING id"
    )
    .bind(key)
    .bind(channel)
    .bind(locale)
    .bind(subject)
    .bind(body)
    .bind(now_ms())
    .fetch_one(pool)
    .await?
    });
    Ok(id)
}
