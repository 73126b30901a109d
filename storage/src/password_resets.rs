//! One-time set-password links. An admin never sees or sets a password:
//! a new person gets a link, and so does one who forgot theirs. The link
//! goes out through the outbox like any message (WhatsApp to the person's
//! number, and email), written in the same transaction as the token, so a
//! crash loses neither. Only the token's hash is stored; a link works once,
//! for a day, and using it ends every session of the person.

use crate::db::Db;
use crate::outbox::write::{write_event, NewDelivery, NewEvent};
use crate::sessions::{argon2, hash_token, new_token};
use crate::{in_tx, on_db, Error};
use domain::template::{Escape, Template};
use domain::views::users::{ResetSent, MAX_LINKS_PER_HOUR, RESET_TTL_MS, SET_PASSWORD_PATH};
use domain::words::{Clash, Words};
use domain::{Channel, Locale, Priority, SystemMessage, UserId};
use std::collections::BTreeMap;

/// What [`issue`] did: where the link went, and the link itself (the
/// command line prints it for the first admin, who may have no working
/// channel yet; the pages never show it).
pub struct Issued {
    pub sent: ResetSent,
    pub link: String,
}

/// The person's name, email and locale, when `token` is a link that still
/// works: the set-password page greets them by name before they type.
pub async fn lookup(db: &Db, token: &str, now: i64) -> Result<Option<(String, String)>, Error> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT u.name, u.email FROM password_resets r JOIN users u ON u.id = r.user_id
             WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND u.active",
        )
        .bind(hash_token(token))
        .bind(now)
        .fetch_optional(pool)
        .await?
    }))
}

/// Makes a link for person `user_id` and queues it to their WhatsApp
/// number (when they have one) and their email, at most
/// [`MAX_LINKS_PER_HOUR`] an hour. Links sent before stay valid until used
/// or expired: the newest may still be on its way.
pub async fn issue(
    db: &Db,
    user_id: UserId,
    by: Option<UserId>,
    public_url: &str,
    now: i64,
) -> Result<Issued, Error> {
    let token = new_token()?;
    let link = format!(
        "{}{SET_PASSWORD_PATH}{token}",
        public_url.trim_end_matches('/')
    );
    let issued = in_tx!(db, |tx| {
        let person: Option<(String, String, Option<String>, String, bool)> =
            sqlx::query_as("SELECT name, email, phone, locale, active FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((name, email, phone, locale, active)) = person else {
            return Err(Error::NotFound(domain::words::Missing::User));
        };
        if !active {
            return Err(Error::Conflict(Clash::Refused(Words::new(
                "Pengguna ini nonaktif: aktifkan dulu.",
                "This person is inactive: reactivate them first.",
            ))));
        }
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND created_at > $2",
        )
        .bind(user_id)
        .bind(now - 3_600_000)
        .fetch_one(&mut *tx)
        .await?;
        if recent >= MAX_LINKS_PER_HOUR {
            return Err(Error::Conflict(Clash::Refused(Words::fill(
                "Sudah {} tautan dikirim ke orang ini dalam satu jam terakhir: tunggu sebentar.",
                "{} links were sent to this person in the last hour: wait a while.",
                &[&MAX_LINKS_PER_HOUR],
            ))));
        }
        let locale = Locale::parse(&locale).unwrap_or(Locale::Id);
        let stored: Vec<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT channel, subject, body FROM message_templates
             WHERE key = 'password_reset' AND locale = $1",
        )
        .bind(locale.as_str())
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash_token(&token))
        .bind(user_id)
        .bind(by)
        .bind(now)
        .bind(now + RESET_TTL_MS)
        .execute(&mut *tx)
        .await?;
        let values = BTreeMap::from([
            ("recipient_name".to_owned(), name.clone()),
            ("link".to_owned(), link.clone()),
            ("hours".to_owned(), (RESET_TTL_MS / 3_600_000).to_string()),
        ]);
        let max_attempts = i64::from(domain::routing::max_attempts(Priority::High));
        let mut deliveries = Vec::new();
        if let Some(phone) = &phone {
            let (_, body) = wording(&stored, Channel::Whatsapp, locale);
            let message = render(body, &values, Escape::WhatsApp)?;
            deliveries.push(NewDelivery {
                user_id: Some(user_id),
                ..NewDelivery::queued(
                    Channel::Whatsapp,
                    phone.clone(),
                    None,
                    message,
                    now,
                    max_attempts,
                )
            });
        }
        let (subject, body) = wording(&stored, Channel::Email, locale);
        deliveries.push(NewDelivery {
            user_id: Some(user_id),
            ..NewDelivery::queued(
                Channel::Email,
                email.clone(),
                subject.map(str::to_owned),
                render(body, &values, Escape::None)?,
                now,
                max_attempts,
            )
        });
        let event = NewEvent::to_person(SystemMessage::PasswordReset, user_id);
        write_event(&mut *tx, &event, &deliveries, &[], now).await?;
        ResetSent {
            whatsapp: phone.as_deref().map(crate::settings::mask_phone),
            email,
        }
    });
    Ok(Issued { sent: issued, link })
}

/// A channel's subject and body: the admin's template if there is one,
/// else the default.
fn wording(
    stored: &[(String, Option<String>, String)],
    channel: Channel,
    locale: Locale,
) -> (Option<&str>, &str) {
    if let Some((_, subject, body)) = stored.iter().find(|(c, _, _)| c == channel.as_str()) {
        return (subject.as_deref(), body);
    }
    domain::defaults::TEMPLATES
        .iter()
        .find(|t| t.key == "password_reset" && t.channel == channel && t.locale == locale)
        .map_or((None, "{link}"), |t| (t.subject, t.body))
}

fn render(body: &str, values: &BTreeMap<String, String>, escape: Escape) -> Result<String, Error> {
    Template::parse(body)
        .and_then(|t| t.render(values, escape))
        .map_err(|e| crate::error::internal("password_reset template", &e))
}

/// Why a link did not set a password (or greets nobody).
pub fn dead_link() -> Error {
    Error::Conflict(Clash::Refused(Words::new(
        "Tautan ini sudah dipakai atau kedaluwarsa. Minta tautan baru kepada admin.",
        "This link was used already or has expired. Ask an admin for a new one.",
    )))
}

/// Sets the password of the link's person (checked by the caller), uses
/// up every link of theirs and ends all their sessions, in one
/// transaction; answers who it was.
pub async fn consume(db: &Db, token: &str, password: &str, now: i64) -> Result<UserId, Error> {
    let token_hash = hash_token(token);
    // The link is checked before the (slow, rationed) hash and again in
    // the transaction, where it is used up.
    if lookup(db, token, now).await?.is_none() {
        return Err(dead_link());
    }
    let password = password.to_owned();
    let hash = argon2(move || password_auth::generate_hash(password)).await?;
    let user_id = in_tx!(db, |tx| {
        let user_id: Option<UserId> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
             RETURNING user_id",
        )
        .bind(&token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else {
            return Err(dead_link());
        };
        let active: bool = sqlx::query_scalar(
            "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 RETURNING active",
        )
        .bind(user_id)
        .bind(&hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if !active {
            return Err(dead_link());
        }
        sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        user_id
    });
    Ok(user_id)
}

/// Forgets links that can no longer be used (run with the sessions' purge).
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, Error> {
    Ok(crate::on_db_write!(db, |pool| sqlx::query(
        "DELETE FROM password_resets WHERE expires_at <= $1"
    )
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())?))
}
