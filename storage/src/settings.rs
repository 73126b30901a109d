//! SQL for notification settings and phone verification codes.

use crate::db::{value_rows, Db};
use crate::outbox::write_event;
use crate::outbox::{NewDelivery, NewEvent};
use crate::Error;
use crate::{in_tx, on_db, on_db_write};
use domain::preferences::{TypeGroup, SWITCHABLE_CHANNELS};
use domain::template::{Escape, Template};
use domain::verification::{self, CodeError, IssuedCode};
use domain::views::settings::{CodeSent, MySettings, TypeSwitch, ValidSettings};
use domain::words::{Clash, Missing, Words};
use domain::UserId;
use domain::{Channel, DeliveryStatus, Locale, PhoneE164, Priority, SystemMessage};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

#[derive(sqlx::FromRow)]
struct Row {
    phone: Option<String>,
    phone_verified_at: Option<i64>,
    email_enabled: bool,
    push_enabled: bool,
    whatsapp_enabled: bool,
    quiet_hours_enabled: bool,
    quiet_start_minute: i64,
    quiet_end_minute: i64,
    quiet_time_zone: String,
    critical_bypass_quiet: bool,
    receive_group_notifications: bool,
    digest_enabled: bool,
    digest_minute: i64,
}

pub async fn load(db: &Db, user_id: UserId, now: i64) -> Result<MySettings, Error> {
    type Rows = (Option<Row>, Vec<String>, Vec<(String, String)>, Option<i64>);
    let (row, groups, disabled, code_expires_at): Rows = on_db!(db, |pool| {
        let row = sqlx::query_as(
            "SELECT u.phone, u.phone_verified_at, s.email_enabled, s.push_enabled, s.whatsapp_enabled,
                    s.quiet_hours_enabled, s.quiet_start_minute, s.quiet_end_minute, s.quiet_time_zone,
                    s.critical_bypass_quiet, s.receive_group_notifications, s.digest_enabled,
                    s.digest_minute
             FROM users u JOIN notification_settings s ON s.user_id = u.id
             WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await?;
        let groups = sqlx::query_scalar(
            "SELECT g.name FROM whatsapp_group_members m JOIN whatsapp_groups g ON g.id = m.group_id
             WHERE m.user_id = $1 ORDER BY g.name",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await?;
        let disabled = sqlx::query_as(
            "SELECT notification_type, channel FROM notification_type_settings
             WHERE user_id = $1 AND enabled = FALSE",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await?;
        // A code still worth typing: for the saved number, unused, in time,
        // attempts left.
        let code = sqlx::query_scalar(
            "SELECT v.expires_at FROM phone_verifications v JOIN users u ON u.id = v.user_id
             WHERE v.user_id = $1 AND v.phone = u.phone AND u.phone_verified_at IS NULL
               AND v.consumed_at IS NULL AND v.expires_at > $2 AND v.attempts < $3
             ORDER BY v.id DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(now)
        .bind(verification::MAX_ATTEMPTS)
        .fetch_optional(pool)
        .await?;
        (row, groups, disabled, code)
    });
    let r = row.ok_or(Error::NotFound(Missing::Settings))?;
    let disabled: HashSet<(String, String)> = disabled.into_iter().collect();
    let type_switches = TypeGroup::ALL
        .iter()
        .flat_map(|g| SWITCHABLE_CHANNELS.iter().map(move |c| (*g, *c)))
        .map(|(g, c)| TypeSwitch {
            group: g.key().to_owned(),
            channel: c,
            enabled: !g
                .types()
                .iter()
                .any(|t| disabled.contains(&(t.as_str().to_owned(), c.as_str().to_owned()))),
        })
        .collect();
    Ok(MySettings {
        phone: r.phone,
        phone_verified: r.phone_verified_at.is_some(),
        email_enabled: r.email_enabled,
        push_enabled: r.push_enabled,
        whatsapp_enabled: r.whatsapp_enabled,
        quiet_hours_enabled: r.quiet_hours_enabled,
        quiet_start_minute: r.quiet_start_minute,
        quiet_end_minute: r.quiet_end_minute,
        quiet_time_zone: r.quiet_time_zone,
        critical_bypass_quiet: r.critical_bypass_quiet,
        receive_group_notifications: r.receive_group_notifications,
        digest_enabled: r.digest_enabled,
        digest_minute: r.digest_minute,
        type_switches,
        groups,
        code_expires_at,
    })
}

fn user_not_found() -> Error {
    Error::NotFound(Missing::User)
}

/// The language of the user's pages and messages.
pub async fn set_locale(db: &Db, user_id: UserId, locale: Locale, now: i64) -> Result<(), Error> {
    let changed = on_db_write!(db, |pool| sqlx::query(
        "UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(locale.as_str())
    .bind(now)
    .bind(user_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())?);
    if changed == 0 {
        return Err(user_not_found());
    }
    Ok(())
}

/// Saves everything or nothing. A number that changes loses its verification
/// (the old proof says nothing about the new number).
pub async fn save(db: &Db, user_id: UserId, v: &ValidSettings, now: i64) -> Result<(), Error> {
    let phone = v.phone.as_ref().map(PhoneE164::as_str);
    // Each switch covers every type of its group.
    let rows: Vec<(&'static str, Channel, bool)> = v
        .type_switches
        .iter()
        .flat_map(|(g, c, on)| g.types().iter().map(move |t| (t.as_str(), *c, *on)))
        .collect();
    in_tx!(db, |tx| {
        let current: Option<Option<String>> =
            sqlx::query_scalar("SELECT phone FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(current) = current else {
            return Err(user_not_found());
        };
        if current.as_deref() != phone {
            sqlx::query(
                "UPDATE users SET phone = $1, phone_verified_at = NULL, updated_at = $2 WHERE id = $3",
            )
            .bind(phone)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        // The digest's timer: the next digest time, kept as it is when the
        // time and zone did not change (a save just before a digest neither
        // skips nor repeats it). Before the upsert: it compares the old zone.
        sqlx::query(
            "UPDATE notification_settings SET digest_enabled = $2, digest_minute = $3,
                 digest_next_at = CASE WHEN $2 THEN
                     (CASE WHEN digest_enabled AND digest_minute = $3 AND quiet_time_zone = $4
                           AND digest_next_at IS NOT NULL THEN digest_next_at ELSE $5 END)
                 ELSE NULL END
             WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(v.digest_enabled)
        .bind(i64::from(v.digest_minute))
        .bind(&v.quiet.time_zone)
        .bind(
            domain::digest::next_at(v.digest_minute, &v.quiet.time_zone, now)
                .filter(|_| v.digest_enabled),
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO notification_settings (user_id, email_enabled, push_enabled, whatsapp_enabled,
                 quiet_hours_enabled, quiet_start_minute, quiet_end_minute, quiet_time_zone,
                 critical_bypass_quiet, receive_group_notifications, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (user_id) DO UPDATE SET
                 email_enabled = excluded.email_enabled, push_enabled = excluded.push_enabled,
                 whatsapp_enabled = excluded.whatsapp_enabled,
                 quiet_hours_enabled = excluded.quiet_hours_enabled,
                 quiet_start_minute = excluded.quiet_start_minute,
                 quiet_end_minute = excluded.quiet_end_minute,
                 quiet_time_zone = excluded.quiet_time_zone,
                 critical_bypass_quiet = excluded.critical_bypass_quiet,
                 receive_group_notifications = excluded.receive_group_notifications,
                 updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(v.email_enabled)
        .bind(v.push_enabled)
        .bind(v.whatsapp_enabled)
        .bind(v.quiet.enabled)
        .bind(i64::from(v.quiet.start_minute))
        .bind(i64::from(v.quiet.end_minute))
        .bind(&v.quiet.time_zone)
        .bind(v.quiet.critical_bypass)
        .bind(v.receive_group_notifications)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for chunk in rows.chunks(crate::outbox::INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO notification_type_settings (user_id, notification_type, channel, enabled)
                 VALUES {}
                 ON CONFLICT (user_id, notification_type, channel) DO UPDATE SET enabled = excluded.enabled",
                value_rows(chunk.len(), 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (t, c, on) in chunk {
                q = q.bind(user_id).bind(*t).bind(c.as_str()).bind(*on);
            }
            q.execute(&mut *tx).await?;
        }
    });
    Ok(())
}

fn code_hash(user_id: UserId, phone: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{user_id}:{phone}:{code}")))
}

/// Six random digits, uniformly (rejection sampling avoids the modulo bias).
fn random_code() -> Result<String, Error> {
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).map_err(|e| crate::error::internal("getrandom", &e))?;
        let n = u32::from_le_bytes(b);
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: i64,
    code_hash: String,
    created_at: i64,
    expires_at: i64,
    attempts: i64,
    consumed_at: Option<i64>,
}

impl CodeRow {
    fn issued(&self) -> IssuedCode {
        IssuedCode {
            created_at: self.created_at,
            expires_at: self.expires_at,
            attempts: self.attempts,
            consumed: self.consumed_at.is_some(),
        }
    }
}

const LATEST_CODE: &str = "SELECT id, code_hash, created_at, expires_at, attempts, consumed_at
     FROM phone_verifications WHERE user_id = $1 AND ($2 IS NULL OR phone = $2)
     ORDER BY id DESC LIMIT 1";

/// Writes the code and its WhatsApp message in one transaction: the message
/// goes out through the outbox like any other (retries, failover, log).
/// `user_id`'s code, in `locale` (the language of their messages).
pub async fn send_code(
    db: &Db,
    user_id: UserId,
    locale: Locale,
    now: i64,
) -> Result<CodeSent, Error> {
    let code = random_code()?;
    let refuse = |e: CodeError| Error::Conflict(Clash::Refused(Words::of(|l| e.message(l))));
    let sent = in_tx!(db, |tx| {
        let (phone, verified): (Option<String>, Option<i64>) =
            sqlx::query_as("SELECT phone, phone_verified_at FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        let Some(phone) = phone else {
            return Err(refuse(CodeError::NoPhone));
        };
        if verified.is_some() {
            return Err(refuse(CodeError::AlreadyVerified));
        }
        // The cooldown is per user, whichever number the last code went to.
        let latest: Option<CodeRow> = sqlx::query_as(LATEST_CODE)
            .bind(user_id)
            .bind(None::<String>)
            .fetch_optional(&mut *tx)
            .await?;
        // Whoever asks: this user's codes and this number's, for any user.
        let sent_last_day: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM phone_verifications
             WHERE created_at > $1 AND (user_id = $2 OR phone = $3)",
        )
        .bind(now - 24 * 3_600_000)
        .bind(user_id)
        .bind(&phone)
        .fetch_one(&mut *tx)
        .await?;
        verification::may_send(
            latest.as_ref().map(CodeRow::issued).as_ref(),
            sent_last_day,
            now,
        )
        .map_err(refuse)?;
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM message_templates
             WHERE key = 'phone_verification' AND channel = 'whatsapp' AND locale IN ($1, 'id')
             ORDER BY CASE WHEN locale = $1 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(locale.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let message = render_code_message(body.as_deref(), &code, locale)?;
        let expires_at = now + verification::CODE_TTL_MS;
        sqlx::query(
            "INSERT INTO phone_verifications (user_id, phone, code_hash, attempts, created_at, expires_at)
             VALUES ($1, $2, $3, 0, $4, $5)",
        )
        .bind(user_id)
        .bind(&phone)
        .bind(code_hash(user_id, &phone, &code))
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        let event = NewEvent::to_person(SystemMessage::PhoneVerification, user_id);
        let delivery = NewDelivery {
            user_id: Some(user_id),
            group_id: None,
            rule_id: None,
            channel: Channel::Whatsapp,
            recipient: phone.clone(),
            subject: None,
            message,
            // Asked for just now: quiet hours do not apply.
            status: DeliveryStatus::Queued,
            next_attempt_at: Some(now),
            max_attempts: i64::from(domain::routing::max_attempts(Priority::High)),
        };
        write_event(&mut *tx, &event, std::slice::from_ref(&delivery), &[], now).await?;
        CodeSent {
            masked_phone: mask_phone(&phone),
            expires_at,
        }
    });
    Ok(sent)
}

fn render_code_message(body: Option<&str>, code: &str, locale: Locale) -> Result<String, Error> {
    let fallback = domain::defaults::TEMPLATES
        .iter()
        .find(|t| t.key == "phone_verification" && t.locale == locale)
        .map(|t| t.body)
        .unwrap_or("{code}");
    let template = Template::parse(body.unwrap_or(fallback))
        .map_err(|e| crate::error::internal("phone_verification template", &e))?;
    let values = BTreeMap::from([
        ("code".to_owned(), code.to_owned()),
        (
            "minutes".to_owned(),
            (verification::CODE_TTL_MS / 60_000).to_string(),
        ),
    ]);
    template
        .render(&values, Escape::WhatsApp)
        .map_err(|e| crate::error::internal("phone_verification template", &e))
}

/// `+6281234567890` → `+62 812-****-7890`.
pub fn mask_phone(e164: &str) -> String {
    let digits = e164.trim_start_matches("+62");
    if digits.len() < 7 {
        return "+62 ****".into();
    }
    format!("+62 {}-****-{}", &digits[..3], &digits[digits.len() - 4..])
}

/// Checks a code. A wrong code still counts (committed before the error is
/// returned), so the attempt limit holds even across retries.
pub async fn verify_code(db: &Db, user_id: UserId, code: &str, now: i64) -> Result<(), Error> {
    let verdict: Result<(), CodeError> = in_tx!(db, |tx| {
        let (phone, verified): (Option<String>, Option<i64>) =
            sqlx::query_as("SELECT phone, phone_verified_at FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        match (phone, verified) {
            (None, _) => Err(CodeError::NoPhone),
            (Some(_), Some(_)) => Err(CodeError::AlreadyVerified),
            (Some(phone), None) => {
                let latest: Option<CodeRow> = sqlx::query_as(LATEST_CODE)
                    .bind(user_id)
                    .bind(Some(&phone))
                    .fetch_optional(&mut *tx)
                    .await?;
                match verification::may_attempt(latest.as_ref().map(CodeRow::issued).as_ref(), now)
                {
                    Err(e) => Err(e),
                    Ok(()) => {
                        let latest = latest.expect("may_attempt refuses no code");
                        // Counted with a guard, so concurrent guesses cannot
                        // exceed the limit.
                        let counted = sqlx::query(
                            "UPDATE phone_verifications SET attempts = attempts + 1
                             WHERE id = $1 AND attempts < $2 AND consumed_at IS NULL",
                        )
                        .bind(latest.id)
                        .bind(verification::MAX_ATTEMPTS)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if counted == 0 {
                            Err(CodeError::TooManyAttempts)
                        } else if code_hash(user_id, &phone, code) != latest.code_hash {
                            Err(verification::wrong(&latest.issued()))
                        } else {
                            sqlx::query(
                                "UPDATE phone_verifications SET consumed_at = $1 WHERE id = $2",
                            )
                            .bind(now)
                            .bind(latest.id)
                            .execute(&mut *tx)
                            .await?;
                            sqlx::query(
                                "UPDATE users SET phone_verified_at = $1, updated_at = $1 WHERE id = $2",
                            )
                            .bind(now)
                            .bind(user_id)
                            .execute(&mut *tx)
                            .await?;
                            Ok(())
                        }
                    }
                }
            }
        }
    });
    verdict.map_err(|e| Error::invalid("code", Words::of(|l| e.message(l))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_for_display() {
        assert_eq!(mask_phone("+6281234567890"), "+62 812-****-7890");
        assert_eq!(mask_phone("+62812"), "+62 ****");
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..50 {
            let c = random_code().unwrap();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
