//! Data every installation needs (work zones, default templates, the sandbox
//! provider) and the optional demo data (people of every role, the seven
//! WhatsApp groups, their routing rules).
//!
//! All of it is idempotent: running it again never duplicates or overwrites
//! what an admin has changed.

use crate::now_ms;
use crate::providers::NewAccount;
use crate::Db;
use crate::Error;
use crate::{in_tx, on_db, on_db_write};
use domain::defaults::{TEMPLATES, WORK_ZONES};
use domain::providers::ProviderKind;
use domain::{GroupCategory, NotificationType, Priority, Role};

/// The password of every demo account (documented in the README).
pub const DEMO_PASSWORD: &str = "demo12345";

/// Work zones, default templates and the sandbox provider account.
pub async fn ensure_reference_data(db: &Db) -> Result<(), Error> {
    let now = now_ms();
    in_tx!(db, |tx| {
        for (code, name) in WORK_ZONES {
            sqlx::query(
                "INSERT INTO work_zones (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
            )
            .bind(code)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        for t in TEMPLATES {
            sqlx::query(
                "INSERT INTO message_templates (key, channel, locale, subject, body, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (key, channel, locale) DO NOTHING",
            )
            .bind(t.key)
            .bind(t.channel.as_str())
            .bind(t.locale.as_str())
            .bind(t.subject)
            .bind(t.body)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        // The sandbox sends nothing anywhere: it records what would have been sent,
        // so a fresh installation works with no credentials at all.
        let sandbox: Option<i64> =
            sqlx::query_scalar("SELECT id FROM provider_accounts WHERE name = 'Sandbox'")
                .fetch_optional(&mut *tx)
                .await?;
        if sandbox.is_none() {
            let account = NewAccount {
                failover_order: 1000,
                rate_limit_per_minute: 6000,
                timeout_ms: 1000,
                ..NewAccount::new("Sandbox", ProviderKind::Sandbox)
            };
            crate::providers::insert_account!(&mut *tx, &account, now);
        }
    });
    Ok(())
}

pub async fn user_count(db: &Db) -> Result<i64, Error> {
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?);
    Ok(n)
}

/// Creates a user with default notification settings (Indonesian,
/// Jakarta, active); returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_user(
    db: &Db,
    name: &str,
    email: &str,
    password_hash: &str,
    role: Role,
    work_zone: Option<&str>,
    phone: Option<&str>,
    phone_verified: bool,
) -> Result<domain::UserId, Error> {
    let now = now_ms();
    let email = email.to_lowercase();
    let person = crate::users::NewPerson {
        name,
        email: &email,
        password_hash,
        phone,
        phone_verified_at: phone_verified.then_some(now),
        role,
        work_zone,
        locale: domain::Locale::Id,
        time_zone: "Asia/Jakarta",
        active: true,
        external_id: None,
    };
    crate::users::insert(db, &person, now).await
}

struct DemoUser {
    name: &'static str,
    email: &'static str,
    role: Role,
    zone: Option<&'static str>,
    phone: &'static str,
}

const fn u(
    name: &'static str,
    email: &'static str,
    role: Role,
    zone: Option<&'static str>,
    phone: &'static str,
) -> DemoUser {
    DemoUser {
        name,
        email,
        role,
        zone,
        phone,
    }
}

const DEMO_USERS: &[DemoUser] = &[
    u(
        "Admin Utama",
        "admin@demo.id",
        Role::Admin,
        None,
        "+6281200000001",
    ),
    u(
        "Maya Manajer",
        "manager@demo.id",
        Role::Manager,
        None,
        "+6281200000002",
    ),
    u(
        "Sari Supervisor",
        "spv.karawang@demo.id",
        Role::Supervisor,
        Some("karawang"),
        "+6281200000003",
    ),
    u(
        "Rudi Supervisor",
        "spv.bekasi@demo.id",
        Role::Supervisor,
        Some("bekasi"),
        "+6281200000004",
    ),
    u(
        "Budi Teknisi",
        "tek.karawang1@demo.id",
        Role::Technician,
        Some("karawang"),
        "+6281200000005",
    ),
    u(
        "Joko Teknisi",
        "tek.karawang2@demo.id",
        Role::Technician,
        Some("karawang"),
        "+6281200000006",
    ),
    u(
        "Andi Teknisi",
        "tek.bekasi1@demo.id",
        Role::Technician,
        Some("bekasi"),
        "+6281200000007",
    ),
    u(
        "Dedi Teknisi",
        "tek.cikampek1@demo.id",
        Role::Technician,
        Some("cikampek"),
        "+6281200000008",
    ),
    u("Nina NOC", "noc@demo.id", Role::Noc, None, "+6281200000009"),
    u(
        "Citra CS",
        "cs@demo.id",
        Role::CustomerService,
        None,
        "+6281200000010",
    ),
];

struct DemoGroup {
    name: &'static str,
    description: &'static str,
    chat_id: &'static str,
    category: GroupCategory,
    zone: Option<&'static str>,
    /// Members: users of this role (and of the group's zone, if it has one).
    members: Role,
    rules: &'static [(NotificationType, Option<Priority>)],
}

const DEMO_GROUPS: &[DemoGroup] = &[
    DemoGroup {
        name: "Teknisi Karawang",
        description: "Teknisi lapangan zona Karawang",
        chat_id: "120363000000000001@g.us",
        category: GroupCategory::Technicians,
        zone: Some("karawang"),
        members: Role::Technician,
        rules: &[(NotificationType::NewTicket, None)],
    },
    DemoGroup {
        name: "Teknisi Bekasi",
        description: "Teknisi lapangan zona Bekasi",
        chat_id: "120363000000000002@g.us",
        category: GroupCategory::Technicians,
        zone: Some("bekasi"),
        members: Role::Technician,
        rules: &[(NotificationType::NewTicket, None)],
    },
    DemoGroup {
        name: "Teknisi Cikampek",
        description: "Teknisi lapangan zona Cikampek",
        chat_id: "120363000000000003@g.us",
        category: GroupCategory::Technicians,
        zone: Some("cikampek"),
        members: Role::Technician,
        rules: &[(NotificationType::NewTicket, None)],
    },
    DemoGroup {
        name: "Supervisor Team",
        description: "Semua supervisor, semua zona",
        chat_id: "120363000000000004@g.us",
        category: GroupCategory::Supervisors,
        zone: None,
        members: Role::Supervisor,
        rules: &[
            (NotificationType::SlaWarning, None),
            (NotificationType::SlaBreach, None),
            (NotificationType::Escalation, None),
        ],
    },
    DemoGroup {
        name: "NOC Team",
        description: "Network Operation Center",
        chat_id: "120363000000000005@g.us",
        category: GroupCategory::Noc,
        zone: None,
        members: Role::Noc,
        rules: &[
            (NotificationType::SystemAlert, None),
            (NotificationType::Outage, None),
            (NotificationType::CriticalIncident, None),
        ],
    },
    DemoGroup {
        name: "Management",
        description: "Manajemen: laporan harian dan mingguan",
        chat_id: "120363000000000006@g.us",
        category: GroupCategory::Managers,
        zone: None,
        members: Role::Manager,
        rules: &[
            (NotificationType::DailySummary, None),
            (NotificationType::WeeklyReport, None),
            (NotificationType::KpiAlert, None),
            (NotificationType::CriticalIncident, Some(Priority::Critical)),
        ],
    },
    DemoGroup {
        name: "Customer Service",
        description: "Tim layanan pelanggan, semua zona",
        chat_id: "120363000000000007@g.us",
        category: GroupCategory::CustomerService,
        zone: None,
        members: Role::CustomerService,
        rules: &[
            (NotificationType::NewRegistration, None),
            (NotificationType::CustomerComplaint, None),
            (NotificationType::Outage, Some(Priority::High)),
        ],
    },
];

/// Seeds the demo people, groups, members and rules, once: if any group
/// exists already, nothing is touched.
pub async fn ensure_demo_data(db: &Db) -> Result<bool, Error> {
    let groups: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM whatsapp_groups"
    )
    .fetch_one(pool)
    .await?);
    if groups > 0 {
        return Ok(false);
    }
    // One hash serves every demo account: they share the documented password.
    let hash = tokio::task::spawn_blocking(|| password_auth::generate_hash(DEMO_PASSWORD)).await?;
    let mut users: Vec<(domain::UserId, Role, Option<&str>)> = Vec::new();
    for d in DEMO_USERS {
        let existing: Option<domain::UserId> = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM users WHERE email = $1"
        )
        .bind(d.email)
        .fetch_optional(pool)
        .await?);
        let id = match existing {
            Some(id) => id,
            None => {
                insert_user(
                    db,
                    d.name,
                    d.email,
                    &hash,
                    d.role,
                    d.zone,
                    Some(d.phone),
                    true,
                )
                .await?
            }
        };
        users.push((id, d.role, d.zone));
    }
    let now = now_ms();
    in_tx!(db, |tx| {
        for g in DEMO_GROUPS {
            let group_id: i64 = sqlx::query_scalar(
                "INSERT INTO whatsapp_groups (name, description, chat_id, category, work_zone,
                     active, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6) RETURNING id",
            )
            .bind(g.name)
            .bind(g.description)
            .bind(g.chat_id)
            .bind(g.category.as_str())
            .bind(g.zone)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for (user_id, role, zone) in &users {
                if *role == g.members && (g.zone.is_none() || g.zone == *zone) {
                    sqlx::query(
                        "INSERT INTO whatsapp_group_members (group_id, user_id, added_at) VALUES ($1, $2, $3)",
                    )
                    .bind(group_id)
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for (notification_type, min_priority) in g.rules {
                sqlx::query(
                    "INSERT INTO notification_group_rules (group_id, notification_type, enabled,
                         min_priority, work_zone, created_at, updated_at)
                     VALUES ($1, $2, TRUE, $3, $4, $5, $5)",
                )
                .bind(group_id)
                .bind(notification_type.as_str())
                .bind(min_priority.map(|p| p.as_str()))
                .bind(g.zone)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
    });
    demo_policy(db, now).await?;
    demo_reports(db, now).await?;
    demo_push_account(db, now).await?;
    Ok(true)
}

/// Web push: no credentials beyond a contact the browsers' push services are
/// told (RFC 8292's `sub`); the key pair is the server's own (`server_keys`).
async fn demo_push_account(db: &Db, now: i64) -> Result<(), Error> {
    let exists: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM provider_accounts WHERE name = 'Web Push'"
    )
    .fetch_optional(pool)
    .await?);
    if exists.is_none() {
        let account = NewAccount {
            credentials: r#"{"subject": "mailto:noc@demo.id"}"#,
            rate_limit_per_minute: 6000,
            ..NewAccount::new("Web Push", ProviderKind::WebPush)
        };
        crate::providers::insert(db, &account, now).await?;
    }
    Ok(())
}

/// The daily summary at 07:00 WIB and the weekly report on Monday at 07:00,
/// to the Management group and by email to the managers.
async fn demo_reports(db: &Db, now: i64) -> Result<(), Error> {
    let management: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM whatsapp_groups WHERE category = 'managers' ORDER BY id LIMIT 1"
    )
    .fetch_optional(pool)
    .await?);
    for (name, kind, weekday) in [
        ("Laporan harian", "daily_summary", None),
        ("Laporan mingguan", "weekly_report", Some(0i64)),
    ] {
        on_db_write!(db, |pool| sqlx::query(
            "INSERT INTO report_schedules (name, kind, weekday, minute_of_day, time_zone, group_id,
                 email_role, enabled, created_at, updated_at)
             VALUES ($1, $2, $3, 420, 'Asia/Jakarta', $4, 'manager', TRUE, $5, $5)"
        )
        .bind(name)
        .bind(kind)
        .bind(weekday)
        .bind(management)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())?);
    }
    Ok(())
}

/// Critical alerts climb until someone acknowledges: the zone's
/// supervisors after 5 minutes, the NOC group after 10 more, the managers
/// after 15 more.
async fn demo_policy(db: &Db, now: i64) -> Result<(), Error> {
    use domain::escalation::{Step, StepTarget};
    use domain::Channel::{Email, InApp, Sms, Whatsapp};
    let noc: Option<i64> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM whatsapp_groups WHERE category = 'noc' ORDER BY id LIMIT 1"
    )
    .fetch_optional(pool)
    .await?);
    let role = |delay_minutes, role, channels| Step {
        delay_minutes,
        target: StepTarget::Role { role, zone: None },
        channels,
    };
    let mut steps = vec![role(5, Role::Supervisor, vec![Whatsapp, Sms, InApp])];
    if let Some(group_id) = noc {
        steps.push(Step {
            delay_minutes: 10,
            target: StepTarget::Group { group_id },
            channels: vec![],
        });
    }
    steps.push(role(15, Role::Manager, vec![Whatsapp, Email, InApp]));
    let policy = domain::views::escalation::ValidPolicy {
        id: None,
        name: "Insiden kritis".into(),
        notification_type: None,
        min_priority: domain::Priority::Critical,
        enabled: true,
        steps,
    };
    crate::escalation::save(db, &crate::audit::Actor::system(), &policy, now).await?;
    Ok(())
}
