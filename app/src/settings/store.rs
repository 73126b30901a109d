//! SQL for notification settings.

use super::MySettings;
use crate::db::Db;
use crate::error::AppError;
use crate::on_db;

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
}

pub async fn load(db: &Db, user_id: i64) -> Result<MySettings, AppError> {
    let (row, groups): (Option<Row>, Vec<String>) = on_db!(db, |pool| {
        let row = sqlx::query_as(
            "SELECT u.phone, u.phone_verified_at, s.email_enabled, s.push_enabled, s.whatsapp_enabled,
                    s.quiet_hours_enabled, s.quiet_start_minute, s.quiet_end_minute, s.quiet_time_zone,
                    s.critical_bypass_quiet, s.receive_group_notifications
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
        (row, groups)
    });
    let r = row.ok_or_else(|| AppError::NotFound("pengaturan notifikasi".into()))?;
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
        groups,
    })
}
