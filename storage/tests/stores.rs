//! Store tests: the same assertions against SQLite and PostgreSQL.

use domain::providers::ProviderKind;
use domain::words::Clash;
use domain::Role;
use storage::db::testing::count;
use storage::db::Db;
use storage::seed;
use storage::Error;
use storage::{on_db, on_db_write, store_test};

async fn demo(db: &Db) {
    seed::ensure_reference_data(db).await.unwrap();
    assert!(seed::ensure_demo_data(db).await.unwrap());
}

store_test!(
    reference_data_is_seeded_once_and_never_overwrites_edits,
    |db| {
        seed::ensure_reference_data(db).await.unwrap();
        let templates = count(db, "SELECT COUNT(*) FROM message_templates").await;
        assert_eq!(templates, domain::defaults::TEMPLATES.len() as i64);
        assert_eq!(count(db, "SELECT COUNT(*) FROM work_zones").await, 3);

        on_db_write!(db, |pool| {
            sqlx::query(
        "UPDATE message_templates SET body = 'diubah {ticket_id}' WHERE key = 'ticket_assigned' AND locale = 'id'"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap()
        });
        seed::ensure_reference_data(db).await.unwrap();
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM message_templates").await,
            templates
        );
        let body: String = on_db!(db, |pool| {
            sqlx::query_scalar(
        "SELECT body FROM message_templates WHERE key = 'ticket_assigned' AND channel = 'whatsapp' AND locale = 'id'"
    )
    .fetch_one(pool)
    .await
    .unwrap()
        });
        assert_eq!(body, "diubah {ticket_id}");
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM provider_accounts WHERE kind = 'sandbox'"
            )
            .await,
            1
        );
    }
);

store_test!(
    demo_data_has_the_seven_groups_with_zone_members_and_rules,
    |db| {
        demo(db).await;
        let groups = storage::groups::list(db).await.unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Customer Service",
                "Management",
                "NOC Team",
                "Supervisor Team",
                "Teknisi Bekasi",
                "Teknisi Cikampek",
                "Teknisi Karawang"
            ]
        );
        let karawang = groups
            .iter()
            .find(|g| g.name == "Teknisi Karawang")
            .unwrap();
        assert_eq!(karawang.work_zone.as_deref(), Some("karawang"));
        assert_eq!(karawang.member_count, 2, "the two Karawang technicians");
        assert_eq!(karawang.rule_count, 1);
        let supervisors = groups.iter().find(|g| g.name == "Supervisor Team").unwrap();
        assert_eq!(supervisors.work_zone, None, "all zones");
        assert_eq!(supervisors.member_count, 2);

        // A second start does not duplicate anything.
        assert!(!seed::ensure_demo_data(db).await.unwrap());
        assert_eq!(count(db, "SELECT COUNT(*) FROM whatsapp_groups").await, 7);
        assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 10);
        let roles = count(db, "SELECT COUNT(DISTINCT role) FROM users").await;
        assert_eq!(roles, Role::ALL.len() as i64, "a user of every role");
    }
);

store_test!(new_users_get_default_settings, |db| {
    seed::ensure_reference_data(db).await.unwrap();
    let id = seed::insert_user(
        db,
        "Budi",
        "Budi@Example.ID",
        "x",
        Role::Technician,
        Some("bekasi"),
        Some("+6281234567890"),
        false,
    )
    .await
    .unwrap();
    let s = storage::settings::load(db, id, 0).await.unwrap();
    assert!(s.whatsapp_enabled && s.email_enabled && !s.push_enabled);
    assert!(!s.quiet_hours_enabled);
    assert_eq!(
        (s.quiet_start_minute, s.quiet_end_minute),
        (22 * 60, 6 * 60)
    );
    assert_eq!(s.quiet_time_zone, "Asia/Jakarta");
    assert!(s.critical_bypass_quiet && s.receive_group_notifications);
    assert!(!s.phone_verified);
    let email: String = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT email FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(email, "budi@example.id", "emails are stored lower-case");
});

store_test!(invalid_rows_are_refused_and_nothing_is_half_written, |db| {
    seed::ensure_reference_data(db).await.unwrap();
    // An unknown role violates the CHECK; the settings row of the same
    // transaction must not survive either.
    let bad = on_db_write!(db, |pool| sqlx::query(
        "INSERT INTO users (name, email, password_hash, role, created_at, updated_at)
         VALUES ('x', 'x@y.z', 'h', 'superuser', 0, 0)"
    )
    .execute(pool)
    .await
    .map(|_| ()));
    assert!(bad.is_err());
    seed::insert_user(db, "A", "a@b.c", "h", Role::Noc, None, None, false)
        .await
        .unwrap();
    let dup = seed::insert_user(db, "A2", "A@B.C", "h", Role::Noc, None, None, false).await;
    // The unique index refuses it: a conflict, not the server's failure.
    assert!(
        matches!(dup, Err(Error::Conflict(_))),
        "duplicate email refused: {dup:?}"
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM notification_settings").await,
        1
    );
});

fn template_form(
    key: &str,
    channel: &str,
    locale: &str,
    subject: &str,
    body: &str,
) -> domain::views::templates::TemplateForm {
    domain::views::templates::TemplateForm {
        key: key.into(),
        channel: channel.into(),
        locale: locale.into(),
        subject: subject.into(),
        body: body.into(),
    }
}

store_test!(templates_with_unknown_variables_are_refused_on_save, |db| {
    use storage::templates::{list, save};
    seed::ensure_reference_data(db).await.unwrap();
    let before = list(db).await.unwrap();
    let bad = template_form(
        "ticket_assigned",
        "whatsapp",
        "id",
        "",
        "*Tiket* {ticket_id} untuk {custmer_name}",
    );
    let err = save(db, &storage::audit::Actor::cli(), &bad)
        .await
        .unwrap_err();
    assert_eq!(
        err.field_in("body", domain::Locale::En).as_deref(),
        Some("unknown variable(s): custmer_name")
    );
    let err = save(
        db,
        &storage::audit::Actor::cli(),
        &template_form("ticket_teleported", "pigeon", "fr", "", "{ticket_id"),
    )
    .await
    .unwrap_err();
    for field in ["key", "channel", "locale", "body"] {
        assert!(err.field(field).is_some(), "{field}: {err:?}");
    }
    assert_eq!(list(db).await.unwrap(), before, "nothing written");

    // A valid one replaces the template for its key, channel and locale.
    let edit = template_form(
        "ticket_assigned",
        "whatsapp",
        "id",
        "",
        "*Tiket baru* {ticket_id} — {customer_name}",
    );
    let id = save(db, &storage::audit::Actor::cli(), &edit)
        .await
        .unwrap();
    let after = list(db).await.unwrap();
    assert_eq!(after.len(), before.len());
    let t = after.iter().find(|t| t.id == id).unwrap();
    assert_eq!(
        (t.key.as_str(), t.locale.as_str()),
        ("ticket_assigned", "id")
    );
    assert_eq!(t.body, "*Tiket baru* {ticket_id} — {customer_name}");
});

store_test!(a_reset_template_is_the_default_again_or_gone, |db| {
    use storage::templates::{list, reset, save};
    seed::ensure_reference_data(db).await.unwrap();
    let before = list(db).await.unwrap();
    // Every type ships WhatsApp defaults in both languages.
    for kind in domain::NotificationType::ALL {
        for locale in ["id", "en"] {
            assert!(
                before.iter().any(|t| t.key == kind.as_str()
                    && t.channel == "whatsapp"
                    && t.locale == locale),
                "{} {locale}",
                kind.as_str()
            );
        }
    }
    let outage = |list: &[domain::views::templates::TemplateView], channel: &str| {
        list.iter()
            .find(|t| t.key == "outage" && t.channel == channel && t.locale == "id")
            .cloned()
    };
    let shipped = outage(&before, "whatsapp").unwrap();
    save(
        db,
        &storage::audit::Actor::cli(),
        &template_form("outage", "whatsapp", "id", "", "*Gangguan* di {work_zone}"),
    )
    .await
    .unwrap();
    save(
        db,
        &storage::audit::Actor::cli(),
        &template_form(
            "outage",
            "email",
            "id",
            "Gangguan {work_zone}",
            "Gangguan di {work_zone}: {message?}",
        ),
    )
    .await
    .unwrap();
    let edited = list(db).await.unwrap();
    assert_eq!(
        outage(&edited, "whatsapp").unwrap().body,
        "*Gangguan* di {work_zone}"
    );
    assert_eq!(
        outage(&edited, "email").unwrap().subject.as_deref(),
        Some("Gangguan {work_zone}")
    );

    // WhatsApp has a default: its text comes back (same row).
    reset(
        db,
        &storage::audit::Actor::cli(),
        "outage",
        domain::Channel::Whatsapp,
        domain::Locale::Id,
    )
    .await
    .unwrap();
    // Email has none: the template goes and the channel uses the next one's.
    reset(
        db,
        &storage::audit::Actor::cli(),
        "outage",
        domain::Channel::Email,
        domain::Locale::Id,
    )
    .await
    .unwrap();
    // A reset of what is already the default changes nothing: no entry.
    reset(
        db,
        &storage::audit::Actor::cli(),
        "outage",
        domain::Channel::Whatsapp,
        domain::Locale::Id,
    )
    .await
    .unwrap();
    let after = list(db).await.unwrap();
    assert_eq!(outage(&after, "whatsapp"), Some(shipped));
    assert_eq!(outage(&after, "email"), None);
    assert_eq!(after, before);
    // The trail: two saves, two resets, each with its text before and after.
    let trail = storage::audit::list(
        db,
        &domain::views::audit::AuditFilter {
            area: "template".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let seen: Vec<(&str, &str, bool, bool)> = trail
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.subject.as_str(),
                e.before.is_some(),
                e.after.is_some(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("template.reset", "outage / email / id", true, false),
            ("template.reset", "outage / whatsapp / id", true, true),
            ("template.save", "outage / email / id", false, true),
            ("template.save", "outage / whatsapp / id", true, true),
        ]
    );
    assert!(trail[1]
        .before
        .as_deref()
        .unwrap()
        .contains("*Gangguan* di {work_zone}"));
});

// --- notification settings and phone verification ---------------------------

use domain::views::settings::{SettingsForm, TypeSwitch};
use domain::{Channel, Locale};
use storage::settings;

/// Who asks for a phone code (the signed-in user, on the page): their id
/// and the language of their messages.
#[derive(Debug, Clone)]
struct Person {
    id: domain::UserId,
    locale: Locale,
}

async fn technician(db: &Db, phone: Option<&str>) -> Person {
    seed::ensure_reference_data(db).await.unwrap();
    let id = seed::insert_user(
        db,
        "Budi",
        "budi@example.id",
        "x",
        Role::Technician,
        Some("bekasi"),
        phone,
        false,
    )
    .await
    .unwrap();
    Person {
        id,
        locale: Locale::Id,
    }
}

fn edited(form: SettingsForm) -> SettingsForm {
    let mut switches = form.type_switches.clone();
    for s in switches.iter_mut() {
        if s.group == "sla" && s.channel == Channel::Whatsapp {
            s.enabled = false;
        }
    }
    SettingsForm {
        phone: "0813 1111 2222".into(),
        push_enabled: true,
        quiet_hours_enabled: true,
        quiet_start: "21:30".into(),
        quiet_end: "05:45".into(),
        quiet_time_zone: "Asia/Makassar".into(),
        critical_bypass_quiet: false,
        receive_group_notifications: false,
        type_switches: switches,
        ..form
    }
}

store_test!(settings_are_saved_whole_and_read_back, |db| {
    let user = technician(db, Some("+6281234567890")).await;
    let before = settings::load(db, user.id, 0).await.unwrap();
    assert_eq!(before.type_switches.len(), 7 * 3);
    assert!(before.type_switches.iter().all(|s| s.enabled));
    let form = edited(before.to_form());
    let valid = form.validate().unwrap();
    settings::save(db, user.id, &valid, 1_000).await.unwrap();

    let after = settings::load(db, user.id, 1_000).await.unwrap();
    assert_eq!(
        after.to_form(),
        SettingsForm {
            phone: "+6281311112222".into(),
            ..form.clone()
        }
    );
    assert!(!after.phone_verified);
    let off: Vec<&TypeSwitch> = after.type_switches.iter().filter(|s| !s.enabled).collect();
    assert_eq!(off.len(), 1);
    assert_eq!(
        (off[0].group.as_str(), off[0].channel),
        ("sla", Channel::Whatsapp)
    );
    // The switch covers both SLA types, which is what routing reads.
    let rows = count(
        db,
        "SELECT COUNT(*) FROM notification_type_settings WHERE enabled = FALSE AND channel = 'whatsapp'
           AND notification_type IN ('sla_warning', 'sla_breach')",
    )
    .await;
    assert_eq!(rows, 2);

    // Switching back on flips the same rows.
    let again = SettingsForm {
        type_switches: before.type_switches.clone(),
        ..after.to_form()
    };
    settings::save(db, user.id, &again.validate().unwrap(), 2_000)
        .await
        .unwrap();
    let restored = settings::load(db, user.id, 2_000).await.unwrap();
    assert!(restored.type_switches.iter().all(|s| s.enabled));
});

store_test!(a_changed_number_loses_its_verification, |db| {
    let user = technician(db, Some("+6281234567890")).await;
    on_db_write!(db, |pool| sqlx::query(
        "UPDATE users SET phone_verified_at = 1 WHERE id = $1"
    )
    .bind(user.id)
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
    let same = settings::load(db, user.id, 0).await.unwrap();
    assert!(same.phone_verified);
    // Saving the same number in another spelling keeps the verification ...
    let form = SettingsForm {
        phone: "0812-3456-7890".into(),
        ..same.to_form()
    };
    settings::save(db, user.id, &form.validate().unwrap(), 1)
        .await
        .unwrap();
    assert!(settings::load(db, user.id, 1).await.unwrap().phone_verified);
    // ... another number does not.
    let form = SettingsForm {
        phone: "081399998888".into(),
        ..same.to_form()
    };
    settings::save(db, user.id, &form.validate().unwrap(), 2)
        .await
        .unwrap();
    let s = settings::load(db, user.id, 2).await.unwrap();
    assert_eq!(s.phone.as_deref(), Some("+6281399998888"));
    assert!(!s.phone_verified);
});

async fn sent_code_message(db: &Db, user_id: domain::UserId) -> (String, String) {
    on_db!(db, |pool| sqlx::query_as(
        "SELECT recipient, message FROM deliveries
         WHERE user_id = $1 AND notification_type = 'phone_verification' AND channel = 'whatsapp'
           AND status = 'queued'
         ORDER BY id DESC LIMIT 1"
    )
    .bind(user_id)
    .fetch_one(pool)
    .await
    .unwrap())
}

fn code_in(message: &str) -> String {
    message
        .split('*')
        .find(|part| part.len() == 6 && part.bytes().all(|b| b.is_ascii_digit()))
        .expect("a six-digit code in bold")
        .to_owned()
}

store_test!(
    a_phone_code_goes_through_the_outbox_and_verifies_once,
    |db| {
        let user = technician(db, Some("+6281234567890")).await;
        let t0 = 1_000_000;
        let sent = settings::send_code(db, user.id, user.locale, t0)
            .await
            .unwrap();
        assert_eq!(sent.masked_phone, "+62 812-****-7890");
        assert_eq!(sent.expires_at, t0 + domain::verification::CODE_TTL_MS);
        let (recipient, message) = sent_code_message(db, user.id).await;
        assert_eq!(recipient, "+6281234567890");
        assert!(message.starts_with("Kode verifikasi"), "{message}");
        let code = code_in(&message);
        // Nothing stores the code itself outside the message.
        assert_eq!(
        count(db, "SELECT COUNT(*) FROM events WHERE data <> '{}' AND notification_type = 'phone_verification'").await,
        0
    );
        assert_eq!(
            settings::load(db, user.id, t0)
                .await
                .unwrap()
                .code_expires_at,
            Some(sent.expires_at)
        );

        // A resend inside the cooldown is refused and sends nothing.
        let err = settings::send_code(db, user.id, user.locale, t0 + 5_000)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(Clash::Refused(m)) if m.id.contains("55 detik")),
            "{err:?}"
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries").await, 1);

        let wrong = if code == "000000" { "111111" } else { "000000" };
        let err = settings::verify_code(db, user.id, wrong, t0 + 10_000)
            .await
            .unwrap_err();
        assert_eq!(
            err.field("code").as_deref(),
            Some("Kode salah; sisa 4 percobaan.")
        );
        settings::verify_code(db, user.id, &code, t0 + 20_000)
            .await
            .unwrap();
        let s = settings::load(db, user.id, t0 + 20_000).await.unwrap();
        assert!(s.phone_verified);
        assert_eq!(s.code_expires_at, None);
        // Used up: the same code cannot verify again (the number is verified, too).
        assert!(settings::verify_code(db, user.id, &code, t0 + 21_000)
            .await
            .is_err());
    }
);

store_test!(
    phone_codes_are_capped_per_day_for_a_user_and_for_a_number,
    |db| {
        use domain::verification::{MAX_CODES_PER_DAY, RESEND_COOLDOWN_MS};
        let user = technician(db, Some("+6281234567890")).await;
        let step = RESEND_COOLDOWN_MS + 1;
        for i in 0..MAX_CODES_PER_DAY {
            settings::send_code(db, user.id, user.locale, 1_000 + i * step)
                .await
                .unwrap();
        }
        let past_cooldown = 1_000 + MAX_CODES_PER_DAY * step;
        let err = settings::send_code(db, user.id, user.locale, past_cooldown)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(Clash::Refused(m)) if m.en.contains("too many codes today")),
            "{err:?}"
        );
        // Another person typing the same number is refused too: the
        // number has had its codes.
        let other = seed::insert_user(
            db,
            "Sari",
            "sari@example.id",
            "x",
            Role::Technician,
            Some("bekasi"),
            Some("+6281234567890"),
            false,
        )
        .await
        .unwrap();
        let sari = Person {
            id: other,
            ..user.clone()
        };
        assert!(settings::send_code(db, sari.id, sari.locale, past_cooldown)
            .await
            .is_err());
        // A day after the first, one more may go.
        settings::send_code(db, user.id, user.locale, 1_000 + 24 * 3_600_000 + 1)
            .await
            .unwrap();
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM phone_verifications").await,
            MAX_CODES_PER_DAY + 1
        );
    }
);

store_test!(
    the_delivery_log_hides_a_phone_code_unless_the_sandbox_sent_it,
    |db| {
        let user = technician(db, Some("+6281234567890")).await;
        settings::send_code(db, user.id, user.locale, 1_000)
            .await
            .unwrap();
        let (_, message) = sent_code_message(db, user.id).await;
        let code = code_in(&message);
        let id: domain::DeliveryId = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM deliveries WHERE notification_type = 'phone_verification'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        let shown = |provider: Option<&'static str>| async move {
            on_db_write!(db, |pool| sqlx::query(
                "UPDATE deliveries SET provider = $1 WHERE id = $2"
            )
            .bind(provider)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())
            .unwrap());
            log::detail(db, id).await.unwrap().message
        };
        // Queued (no provider yet) and sent through a real gateway: hidden.
        for provider in [None, Some("fonnte")] {
            let m = shown(provider).await;
            assert!(!m.contains(&code), "{m}");
            assert!(m.contains("*••••••*"), "{m}");
        }
        assert_eq!(shown(Some("sandbox")).await, message);
    }
);

store_test!(
    phone_codes_expire_and_stop_after_five_wrong_attempts,
    |db| {
        let user = technician(db, Some("+6281234567890")).await;
        let t0 = 5_000_000;
        settings::send_code(db, user.id, user.locale, t0)
            .await
            .unwrap();
        let code = code_in(&sent_code_message(db, user.id).await.1);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            assert!(settings::verify_code(db, user.id, wrong, t0 + 1)
                .await
                .is_err());
        }
        // The right code no longer helps: a new one is needed.
        let err = settings::verify_code(db, user.id, &code, t0 + 2)
            .await
            .unwrap_err();
        assert!(
            err.field("code").unwrap().contains("Terlalu banyak"),
            "{err:?}"
        );
        assert!(
            !settings::load(db, user.id, t0 + 2)
                .await
                .unwrap()
                .phone_verified
        );

        // A new code after the cooldown works, but not once it has expired.
        let t1 = t0 + domain::verification::RESEND_COOLDOWN_MS;
        settings::send_code(db, user.id, user.locale, t1)
            .await
            .unwrap();
        let code = code_in(&sent_code_message(db, user.id).await.1);
        let late = t1 + domain::verification::CODE_TTL_MS;
        let err = settings::verify_code(db, user.id, &code, late)
            .await
            .unwrap_err();
        assert!(
            err.field("code").unwrap().contains("kedaluwarsa"),
            "{err:?}"
        );
        assert!(
            !settings::load(db, user.id, late)
                .await
                .unwrap()
                .phone_verified
        );
    }
);

store_test!(a_code_is_only_for_the_number_it_was_sent_to, |db| {
    let none = technician(db, None).await;
    let err = settings::send_code(db, none.id, none.locale, 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");

    let user = Person {
        id: seed::insert_user(
            db,
            "Sari",
            "sari@example.id",
            "x",
            Role::Noc,
            None,
            Some("+6281234567891"),
            false,
        )
        .await
        .unwrap(),
        ..none
    };
    settings::send_code(db, user.id, user.locale, 0)
        .await
        .unwrap();
    let code = code_in(&sent_code_message(db, user.id).await.1);
    // The number changes after the code was sent: the code no longer applies.
    let s = settings::load(db, user.id, 0).await.unwrap();
    let form = SettingsForm {
        phone: "081377776666".into(),
        ..s.to_form()
    };
    settings::save(db, user.id, &form.validate().unwrap(), 1)
        .await
        .unwrap();
    let err = settings::verify_code(db, user.id, &code, 2)
        .await
        .unwrap_err();
    assert!(
        err.field("code").unwrap().contains("Belum ada kode"),
        "{err:?}"
    );
});

// --- the delivery log ----------------------------------------------------------

use domain::views::deliveries::{Cursor, DeliveryFilter};
use storage::deliveries as log;

/// `n` deliveries, alternating status and channel, one millisecond apart.
async fn log_rows(db: &Db, n: i64) {
    seed::ensure_reference_data(db).await.unwrap();
    on_db_write!(db, |pool| {
        for i in 0..n {
            let (status, channel) = if i % 2 == 0 {
                ("sent", "whatsapp")
            } else {
                ("failed", "email")
            };
            sqlx::query(
                "INSERT INTO deliveries (notification_type, priority, channel, recipient, message, status,
                     provider, error, created_at, updated_at)
                 VALUES ('new_ticket', 'high', $1, $2, 'pesan', $3, 'sandbox', $4, $5, $5)",
            )
            .bind(channel)
            .bind(format!("+62812000{i:05}"))
            .bind(status)
            .bind((status == "failed").then_some("nomor tidak terdaftar"))
            .bind(1_000_000 + i / 2) // pairs share a timestamp: the id breaks the tie
            .execute(pool)
            .await
            .unwrap();
        }
    });
}

store_test!(the_log_pages_by_keyset_without_gaps_or_repeats, |db| {
    log_rows(db, 23).await;
    let all = DeliveryFilter::default().resolve().unwrap();
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = log::page(db, &all, after, 5).await.unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|d| (d.created_at, d.id)));
        match page.next {
            Some(n) => after = Some(Cursor::decode(&n).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, each row once");
});

store_test!(log_filters_combine_and_the_date_range_is_in_wib, |db| {
    log_rows(db, 10).await;
    let failed = DeliveryFilter {
        status: "failed".into(),
        ..Default::default()
    };
    let page = log::page(db, &failed.resolve().unwrap(), None, 50)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(page
        .items
        .iter()
        .all(|d| d.status == domain::DeliveryStatus::Failed
            && d.channel == Channel::Email
            && d.error.as_deref() == Some("nomor tidak terdaftar")));
    let none = DeliveryFilter {
        status: "failed".into(),
        channel: "whatsapp".into(),
        ..Default::default()
    };
    assert!(log::page(db, &none.resolve().unwrap(), None, 50)
        .await
        .unwrap()
        .items
        .is_empty());
    // 1,000,000 ms after the epoch is 1970-01-01 07:16 WIB.
    let that_day = DeliveryFilter {
        from: "1970-01-01".into(),
        to: "1970-01-01".into(),
        ..Default::default()
    };
    assert_eq!(
        log::page(db, &that_day.resolve().unwrap(), None, 50)
            .await
            .unwrap()
            .items
            .len(),
        10
    );
    let next_day = DeliveryFilter {
        from: "1970-01-02".into(),
        ..Default::default()
    };
    assert!(log::page(db, &next_day.resolve().unwrap(), None, 50)
        .await
        .unwrap()
        .items
        .is_empty());
});

store_test!(a_failed_delivery_is_retried_once_as_a_new_row, |db| {
    log_rows(db, 2).await;
    let page = log::page(db, &DeliveryFilter::default().resolve().unwrap(), None, 50)
        .await
        .unwrap();
    let failed = page
        .items
        .iter()
        .find(|d| d.status == domain::DeliveryStatus::Failed)
        .unwrap()
        .id;
    let sent = page
        .items
        .iter()
        .find(|d| d.status == domain::DeliveryStatus::Sent)
        .unwrap()
        .id;

    let err = log::retry(db, sent, 5).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert!(matches!(
        log::retry(db, domain::DeliveryId(999_999), 5).await,
        Err(Error::NotFound(_))
    ));

    let new_id = log::retry(db, failed, 5).await.unwrap();
    assert_ne!(new_id, failed);
    // Asking again (a double click, a second admin) answers the same row.
    assert_eq!(log::retry(db, failed, 6).await.unwrap(), new_id);
    assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries").await, 3);

    let retried = log::detail(db, new_id).await.unwrap();
    assert_eq!(retried.item.status, domain::DeliveryStatus::Queued);
    assert_eq!((retried.item.attempts, retried.retry_of), (0, Some(failed)));
    assert_eq!(retried.next_attempt_at, Some(5));
    let original = log::detail(db, failed).await.unwrap();
    assert_eq!(original.item.status, domain::DeliveryStatus::Failed);
    assert_eq!(
        original.item.error.as_deref(),
        Some("nomor tidak terdaftar")
    );
    assert_eq!(original.retried_as, Some(new_id));
});

// --- WhatsApp groups master data ------------------------------------------------

use domain::views::groups::{GroupForm, RuleForm};
use storage::groups;

fn group_form(name: &str) -> GroupForm {
    GroupForm {
        id: None,
        name: name.into(),
        description: "uji".into(),
        chat_id: "120363000000000001@g.us".into(),
        phone_number: "".into(),
        category: "technicians".into(),
        work_zone: "bekasi".into(),
        active: true,
    }
}

store_test!(
    groups_are_created_edited_and_deleted_with_their_rules,
    |db| {
        let user = technician(db, Some("+6281234567890")).await;
        let id = groups::save(
            db,
            &storage::audit::Actor::cli(),
            &group_form("Teknisi Uji").validate().unwrap(),
            1,
        )
        .await
        .unwrap();
        // A second group with the same name is refused on the name field.
        let err = groups::save(
            db,
            &storage::audit::Actor::cli(),
            &group_form("Teknisi Uji").validate().unwrap(),
            2,
        )
        .await
        .unwrap_err();
        assert!(err.field("name").is_some(), "{err:?}");
        let unknown_zone = GroupForm {
            work_zone: "bandung".into(),
            ..group_form("Teknisi Bandung")
        };
        let err = groups::save(
            db,
            &storage::audit::Actor::cli(),
            &unknown_zone.validate().unwrap(),
            2,
        )
        .await
        .unwrap_err();
        assert!(err.field("work_zone").is_some(), "{err:?}");

        let edit = GroupForm {
            id: Some(id),
            active: false,
            work_zone: "".into(),
            ..group_form("Teknisi Uji 2")
        };
        assert_eq!(
            groups::save(
                db,
                &storage::audit::Actor::cli(),
                &edit.validate().unwrap(),
                3
            )
            .await
            .unwrap(),
            id
        );

        groups::set_members(
            db,
            &storage::audit::Actor::cli(),
            id,
            &[user.id, user.id],
            4,
        )
        .await
        .unwrap();
        assert!(groups::set_members(
            db,
            &storage::audit::Actor::cli(),
            id,
            &[user.id, domain::UserId(999_999)],
            4
        )
        .await
        .is_err());
        // The failed replacement changed nothing.
        let d = groups::detail(db, id).await.unwrap();
        assert_eq!(
            (
                d.group.name.as_str(),
                d.group.active,
                d.group.work_zone.clone()
            ),
            ("Teknisi Uji 2", false, None)
        );
        assert_eq!(
            d.members
                .iter()
                .filter(|m| m.member)
                .map(|m| m.user_id)
                .collect::<Vec<_>>(),
            [user.id]
        );

        let rule = RuleForm {
            group_id: id,
            notification_type: "new_ticket".into(),
            min_priority: "high".into(),
            work_zone: "bekasi".into(),
            template: "*Tiket* {ticket_id}".into(),
        };
        let rule_id = groups::add_rule(
            db,
            &storage::audit::Actor::cli(),
            id,
            rule.validate().unwrap(),
            &rule.template,
            5,
        )
        .await
        .unwrap();
        let bad = RuleForm {
            template: "{lokasi}".into(),
            ..rule.clone()
        };
        assert!(bad.validate().unwrap_err()[0].field == "template");
        let d = groups::detail(db, id).await.unwrap();
        assert_eq!(d.rules.len(), 1);
        assert_eq!(d.rules[0].template, "*Tiket* {ticket_id}");
        assert_eq!(d.rules[0].min_priority, Some(domain::Priority::High));
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM message_templates WHERE key LIKE 'rule:%'"
            )
            .await,
            1
        );

        groups::delete_rule(db, &storage::audit::Actor::cli(), rule_id, 5)
            .await
            .unwrap();
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM message_templates WHERE key LIKE 'rule:%'"
            )
            .await,
            0
        );
        groups::add_rule(
            db,
            &storage::audit::Actor::cli(),
            id,
            rule.validate().unwrap(),
            &rule.template,
            6,
        )
        .await
        .unwrap();

        groups::delete(db, &storage::audit::Actor::cli(), id, 7)
            .await
            .unwrap();
        // The trail: what happened, not what was refused.
        let trail = |area: &'static str| {
            let filter = domain::views::audit::AuditFilter {
                area: area.into(),
                ..Default::default()
            };
            async move {
                storage::audit::list(db, &filter)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| e.action)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            trail("group").await,
            [
                "group.delete",
                "group.members",
                "group.update",
                "group.create"
            ]
        );
        assert_eq!(
            trail("rule").await,
            ["rule.create", "rule.delete", "rule.create"]
        );
        assert!(matches!(
            groups::detail(db, id).await,
            Err(Error::NotFound(_))
        ));
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM notification_group_rules").await,
            0
        );
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM whatsapp_group_members").await,
            0
        );
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM message_templates WHERE key LIKE 'rule:%'"
            )
            .await,
            0
        );
    }
);

store_test!(
    group_senders_are_the_enabled_gateways_in_order_and_meta_apart,
    |db| {
        on_db_write!(db, |pool| {
            sqlx::query("DELETE FROM provider_accounts")
                .execute(pool)
                .await
                .unwrap();
        });
        for (name, kind, enabled, order) in [
            ("Meta Cloud", ProviderKind::Meta, true, 1),
            ("Wablas cadangan", ProviderKind::Wablas, true, 3),
            ("Fonnte utama", ProviderKind::Fonnte, true, 2),
            ("Woowa mati", ProviderKind::Woowa, false, 4),
            ("Zenziva", ProviderKind::Zenziva, true, 1),
        ] {
            let account = storage::providers::NewAccount {
                enabled,
                failover_order: order,
                rate_limit_per_minute: 60,
                timeout_ms: 1000,
                ..storage::providers::NewAccount::new(name, kind)
            };
            storage::providers::insert(db, &account, 0).await.unwrap();
        }
        let s = groups::senders(db).await.unwrap();
        assert_eq!(s.reach, ["Fonnte utama", "Wablas cadangan"]);
        assert_eq!(s.cannot, ["Meta Cloud"]);
    }
);

store_test!(a_test_send_is_one_queued_group_delivery, |db| {
    let user = technician(db, None).await;
    let id = groups::save(
        db,
        &storage::audit::Actor::cli(),
        &group_form("Teknisi Uji").validate().unwrap(),
        1,
    )
    .await
    .unwrap();
    assert!(groups::test_send(db, id, user.id, "   ", 2)
        .await
        .unwrap_err()
        .field("message")
        .is_some());
    let too_long = "x".repeat(4097);
    assert!(groups::test_send(db, id, user.id, &too_long, 2)
        .await
        .is_err());
    assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries").await, 0);

    let delivery = groups::test_send(db, id, user.id, "Uji *kirim*", 3)
        .await
        .unwrap();
    let d = log::detail(db, delivery).await.unwrap();
    assert_eq!(d.item.channel, Channel::WhatsappGroup);
    assert_eq!(d.item.recipient, "120363000000000001@g.us");
    assert_eq!(d.item.notification_type, "test_send");
    assert_eq!(
        (d.message.as_str(), d.item.status),
        ("Uji *kirim*", domain::DeliveryStatus::Queued)
    );
    assert_eq!(d.group_name.as_deref(), Some("Teknisi Uji"));
});

// --- analytics rollups ------------------------------------------------------------

use storage::analytics;

store_test!(analytics_rollups_sum_the_log_per_wib_day, |db| {
    seed::ensure_reference_data(db).await.unwrap();
    let day0 = domain::time::parse_wib_date("2026-11-24").unwrap();
    let hour = 3_600_000;
    // (created, channel, provider, status, cost, sent→delivered ms, error)
    type LogRow = (
        i64,
        &'static str,
        Option<&'static str>,
        &'static str,
        i64,
        Option<i64>,
        Option<&'static str>,
    );
    let rows: &[LogRow] = &[
        (
            day0 + hour,
            "whatsapp",
            Some("fonnte"),
            "delivered",
            150,
            Some(4_000),
            None,
        ),
        (
            day0 + 2 * hour,
            "whatsapp",
            Some("fonnte"),
            "read",
            150,
            Some(9_000),
            None,
        ),
        (
            day0 + 3 * hour,
            "whatsapp",
            Some("wablas"),
            "failed",
            0,
            None,
            Some("nomor tidak terdaftar"),
        ),
        (
            day0 + 23 * hour,
            "in_app",
            None,
            "delivered",
            0,
            Some(0),
            None,
        ),
        // 2026-11-25 00:30 WIB: the next day, though still the 24th in UTC.
        (
            day0 + 24 * hour + hour / 2,
            "whatsapp",
            Some("fonnte"),
            "failed",
            0,
            None,
            Some("nomor tidak terdaftar"),
        ),
    ];
    on_db_write!(db, |pool| {
        for (at, channel, provider, status, cost, delivered_after, error) in rows {
            sqlx::query(
                "INSERT INTO deliveries (notification_type, priority, channel, provider, recipient, message,
                     status, cost_rupiah, error, created_at, updated_at, sent_at, delivered_at, read_at)
                 VALUES ('sla_warning', 'high', $1, $2, 'x', 'm', $3, $4, $5, $6, $6, $7, $8, $9)",
            )
            .bind(*channel)
            .bind(*provider)
            .bind(*status)
            .bind(*cost)
            .bind(*error)
            .bind(*at)
            .bind(delivered_after.map(|_| *at))
            .bind(delivered_after.map(|d| at + d))
            .bind((*status == "read").then(|| at + 60_000))
            .execute(pool)
            .await
            .unwrap();
        }
    });
    // Tries: each Fonnte delivery timed out once, then was accepted; the
    // Wablas one met trouble at an account deleted since.
    let fonnte = storage::providers::NewAccount {
        rate_limit_per_minute: 60,
        price_rupiah: 150,
        timeout_ms: 1000,
        ..storage::providers::NewAccount::new("Fonnte utama", ProviderKind::Fonnte)
    };
    let fonnte = storage::providers::insert(db, &fonnte, 0).await.unwrap();
    on_db_write!(db, |pool| {
        for outcome in ["timed_out", "accepted"] {
            sqlx::query(
                "INSERT INTO delivery_tries (delivery_id, attempt, account_id, provider, started_at,
                     finished_at, outcome)
                 SELECT id, 1, $1, 'fonnte', created_at, created_at, $2 FROM deliveries WHERE provider = 'fonnte'",
            )
            .bind(fonnte)
            .bind(outcome)
            .execute(pool)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO delivery_tries (delivery_id, attempt, account_id, provider, started_at,
                 finished_at, http_status, outcome)
             SELECT id, 1, NULL, 'wablas', created_at, created_at, 502, 'transient' FROM deliveries
             WHERE provider = 'wablas'",
        )
        .execute(pool)
        .await
        .map(drop)
        .unwrap()
    });
    let first = analytics::day_of(day0);
    analytics::refresh_all(db, day0 + 30 * hour).await.unwrap();
    // Refreshing again replaces, never adds; the same figures give the same
    // fingerprint (the pages are not told to reload for nothing).
    let before = analytics::refresh_days(db, first, first + 1).await.unwrap();
    assert_eq!(
        analytics::refresh_days(db, first, first + 1).await.unwrap(),
        before
    );

    let r = analytics::report(db, first, first).await.unwrap();
    assert_eq!(r.days, ["2026-11-24"]);
    assert_eq!(r.total, 4);
    assert_eq!(r.success_rate, Some(0.75));
    assert_eq!(r.delivered_rate, Some(0.75));
    assert_eq!(r.failures, [("nomor tidak terdaftar".to_owned(), 1)]);
    assert_eq!(r.cost, [("2026-11".to_owned(), "fonnte".to_owned(), 300)]);
    // Delivered after 0 s, 4 s and 9 s: the median is in the 5-second bucket.
    assert_eq!(r.median_delivered_s, Some(5));
    assert_eq!(r.median_read_s, Some(60));
    let whatsapp: i64 = r
        .by_channel
        .iter()
        .filter(|v| v.key == "whatsapp")
        .map(|v| v.deliveries)
        .sum();
    assert_eq!(whatsapp, 3);
    // Counts per outcome, in TryOutcome::ALL's order (accepted, refused,
    // timed out, rate limited, account error, transient).
    let tries = |account: Option<&str>, counts: [i64; 6]| domain::views::analytics::AccountTries {
        account: account.map(str::to_owned),
        counts: counts.to_vec(),
    };
    assert_eq!(
        r.tries,
        [
            tries(None, [0, 0, 0, 0, 0, 1]),
            tries(Some("Fonnte utama"), [2, 0, 2, 0, 0, 0]),
        ]
    );

    let both = analytics::report(db, first, first + 1).await.unwrap();
    assert_eq!(both.total, 5);
    assert_eq!(
        both.tries[1],
        tries(Some("Fonnte utama"), [3, 0, 3, 0, 0, 0])
    );
    assert_eq!(both.failures, [("nomor tidak terdaftar".to_owned(), 2)]);
    assert_eq!(
        both.by_provider
            .iter()
            .filter(|v| v.day == 1)
            .map(|v| v.deliveries)
            .sum::<i64>(),
        1
    );

    // A status that moves changes the fingerprint.
    on_db_write!(db, |pool| {
        sqlx::query(
        "UPDATE deliveries SET status = 'read', read_at = created_at + 1000 WHERE status = 'delivered'"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap()
    });
    assert_ne!(
        analytics::refresh_days(db, first, first + 1).await.unwrap(),
        before
    );
});

/// The secret key of these tests' stores.
fn keys() -> storage::secrets::Keyring {
    storage::secrets::Keyring::new(&[0x11; 32], &[])
}

fn provider_form(kind: &str, credentials: &str) -> domain::views::providers::ProviderForm {
    domain::views::providers::ProviderForm {
        name: format!("{kind} utama"),
        kind: kind.into(),
        credentials: credentials.into(),
        ..Default::default()
    }
}

store_test!(
    provider_accounts_keep_credentials_write_only_and_merge_edits,
    |db| {
        use storage::providers as store;
        let valid = |f: domain::views::providers::ProviderForm| f.validate().unwrap();
        let id = store::save(db, &storage::audit::Actor::cli(), &keys(),
            &valid(provider_form(
                "fonnte",
                r#"{"token": "rahasia-token", "webhook_token": "rahasia-hook-3b9f0c2e7d1a4f6b8c5e2a9d"}"#,
            )),
            1,
        )
        .await
        .unwrap();
        let list = store::list(db, 1).await.unwrap();
        let view = list.iter().find(|a| a.id == id).unwrap();
        assert_eq!(view.credentials_set, ["token", "webhook_token"]);
        assert_eq!(view.paused_until, None);
        assert_eq!(view.channel, domain::Channel::Whatsapp);
        let shown = serde_json::to_string(&list).unwrap();
        assert!(
            !shown.contains("rahasia"),
            "no credential value leaves: {shown}"
        );

        // An edit that clears the hook token keeps the device token.
        let edit = domain::views::providers::ProviderForm {
            id: Some(id),
            price_rupiah: 200,
            ..provider_form("fonnte", r#"{"webhook_token": null}"#)
        };
        store::save(db, &storage::audit::Actor::cli(), &keys(), &valid(edit), 2)
            .await
            .unwrap();
        // The trail keeps every setting and which credentials are set,
        // never a credential's value.
        let trail = storage::audit::list(
            db,
            &domain::views::audit::AuditFilter {
                area: "provider".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["provider.update", "provider.create"]);
        let before: serde_json::Value =
            serde_json::from_str(trail[0].before.as_deref().unwrap()).unwrap();
        let after: serde_json::Value =
            serde_json::from_str(trail[0].after.as_deref().unwrap()).unwrap();
        assert_eq!(
            before["credentials_set"],
            serde_json::json!(["token", "webhook_token"])
        );
        assert_eq!(after["credentials_set"], serde_json::json!(["token"]));
        assert_eq!(after["price_rupiah"], 200);
        assert!(!format!("{trail:?}").contains("rahasia"), "{trail:?}");
        let stored: String = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT credentials FROM provider_accounts WHERE id = $1"
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap());
        // Sealed at rest: the names readable, no value; the keyring opens it.
        assert!(!stored.contains("rahasia"), "{stored}");
        let opened = keys().open_credentials(&stored).unwrap();
        assert_eq!(
            serde_json::Value::Object(opened),
            serde_json::json!({"token": "rahasia-token"})
        );
        assert!(storage::secrets::Keyring::random()
            .open_credentials(&stored)
            .is_err());

        // Clearing what the kind needs is refused, and nothing changes.
        let before = count(db, "SELECT COUNT(*) FROM provider_accounts").await;
        let broken = domain::views::providers::ProviderForm {
            id: Some(id),
            ..provider_form("fonnte", r#"{"token": null}"#)
        };
        let err = store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(broken),
            3,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid(f) if f[0].field == "credentials"),
            "{err:?}"
        );
        let incomplete = provider_form("twilio", r#"{"account_sid": "AC1", "auth_token": "t"}"#);
        assert!(store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(incomplete),
            3
        )
        .await
        .is_err());
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM provider_accounts").await,
            before
        );
        let price: i64 = on_db!(db, |pool| sqlx::query_scalar(
            "SELECT price_rupiah FROM provider_accounts WHERE id = $1"
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(price, 200, "the refused edit left the last saved one");

        let missing = domain::views::providers::ProviderForm {
            id: Some(domain::AccountId(99_999)),
            ..provider_form("sandbox", "")
        };
        assert!(matches!(
            store::save(
                db,
                &storage::audit::Actor::cli(),
                &keys(),
                &valid(missing),
                4
            )
            .await,
            Err(Error::NotFound(_))
        ));
    }
);

store_test!(
    moving_an_account_to_another_address_or_tls_asks_for_its_secrets_again,
    |db| {
        use storage::providers as store;
        let valid = |f: domain::views::providers::ProviderForm| f.validate().unwrap();
        let id = store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(provider_form("fonnte", r#"{"token": "rahasia"}"#)),
            1,
        )
        .await
        .unwrap();
        let edit = |base_url: &str, credentials: &str| domain::views::providers::ProviderForm {
            id: Some(id),
            base_url: base_url.into(),
            ..provider_form("fonnte", credentials)
        };
        let base_url = || async {
            let stored: Option<String> = on_db!(db, |pool| sqlx::query_scalar(
                "SELECT base_url FROM provider_accounts WHERE id = $1"
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap());
            stored
        };
        // Another host with the stored token: refused, naming the field;
        // nothing changed.
        let err = store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(edit("https://evil.example", "")),
            2,
        )
        .await
        .unwrap_err();
        match &err {
            Error::Invalid(f) => {
                assert_eq!(f[0].field, "credentials");
                assert!(
                    f[0].message.get(domain::Locale::Id).contains("token"),
                    "{err:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(base_url().await, None, "nothing changed");
        // Its own public address, written out with the send path: the same
        // endpoint, no secret asked.
        store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(edit("https://api.fonnte.com/send", "")),
            3,
        )
        .await
        .unwrap();
        // Another host with the token entered again: saved.
        store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(edit("https://gw.isp.example", r#"{"token": "baru"}"#)),
            4,
        )
        .await
        .unwrap();
        assert_eq!(base_url().await.as_deref(), Some("https://gw.isp.example"));
        // Another kind is another endpoint too.
        let woowa = domain::views::providers::ProviderForm {
            id: Some(id),
            ..provider_form("woowa", r#"{"key": "k", "token": null}"#)
        };
        store::save(db, &storage::audit::Actor::cli(), &keys(), &valid(woowa), 5)
            .await
            .unwrap();

        // SMTP: switching TLS off needs the password again.
        let smtp = |credentials: &str, id: Option<domain::AccountId>| {
            domain::views::providers::ProviderForm {
                id,
                base_url: "smtp://mail.isp.example:587".into(),
                ..provider_form("smtp", credentials)
            }
        };
        let mail = store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(smtp(
                r#"{"from": "NOC <noc@isp.example>", "username": "noc", "password": "sandi"}"#,
                None,
            )),
            6,
        )
        .await
        .unwrap();
        assert!(store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(smtp(r#"{"tls": "none"}"#, Some(mail))),
            7
        )
        .await
        .is_err());
        store::save(
            db,
            &storage::audit::Actor::cli(),
            &keys(),
            &valid(smtp(r#"{"tls": "none", "password": "sandi"}"#, Some(mail))),
            8,
        )
        .await
        .unwrap();
        // A plain-HTTP gateway elsewhere is refused before any of this.
        assert!(edit("http://gw.isp.example", r#"{"token": "x"}"#)
            .validate()
            .is_err());
    }
);

store_test!(
    a_channel_test_send_is_one_queued_delivery_through_the_outbox,
    |db| {
        demo(db).await;
        let test = domain::views::providers::ChannelTest {
            channel: "sms".into(),
            recipient: "0812 3456 7890".into(),
            message: "*Uji* SMS".into(),
        }
        .validate()
        .unwrap();
        let id = storage::providers::test_send(db, &test, domain::UserId(1), domain::Locale::Id, 5)
            .await
            .unwrap();
        let row: (String, String, String, String, i64, Option<String>) = on_db!(db, |pool| {
            sqlx::query_as(
                "SELECT channel, recipient, message, status, max_attempts, subject FROM deliveries WHERE id = $1",
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
        });
        assert_eq!(
            row,
            (
                "sms".into(),
                "+6281234567890".into(),
                "Uji SMS".into(),
                "queued".into(),
                1,
                None
            )
        );
    }
);

// ---- escalation policies ----

use domain::views::escalation::{PolicyForm, StepForm};
use storage::escalation as policies;

fn policy_form(name: &str, steps: Vec<StepForm>) -> PolicyForm {
    PolicyForm {
        name: name.into(),
        notification_type: "outage".into(),
        min_priority: "high".into(),
        steps,
        ..PolicyForm::default()
    }
}

store_test!(
    an_inactive_zone_is_offered_for_nothing_new_but_kept_where_it_is,
    |db| {
        demo(db).await;
        let now = 1_800_000_000_000;
        // A group and an escalation step in Bekasi; then Bekasi is switched off.
        let group = groups::save(
            db,
            &storage::audit::Actor::cli(),
            &group_form("Teknisi Bekasi Uji").validate().unwrap(),
            now,
        )
        .await
        .unwrap();
        let step = StepForm {
            delay_minutes: 2,
            zone: "bekasi".into(),
            channels: vec![Channel::Sms],
            ..StepForm::default()
        };
        let policy = policies::save(
            db,
            &storage::audit::Actor::cli(),
            &policy_form("Bekasi", vec![step.clone()])
                .validate()
                .unwrap(),
            now,
        )
        .await
        .unwrap();
        let off = domain::views::zones::ValidZone {
            code: "bekasi".into(),
            name: "Bekasi".into(),
            active: false,
        };
        storage::zones::update(db, &storage::audit::Actor::cli(), &off, now)
            .await
            .unwrap();

        // The group keeps it, shows it and saves with it.
        let d = groups::detail(db, group).await.unwrap();
        assert!(d.work_zones.iter().any(|(c, _)| c == "bekasi"));
        let edit = GroupForm {
            id: Some(group),
            description: "diubah".into(),
            ..group_form("Teknisi Bekasi Uji")
        };
        groups::save(
            db,
            &storage::audit::Actor::cli(),
            &edit.validate().unwrap(),
            now,
        )
        .await
        .unwrap();
        // Nothing new gets it: a new group, a new rule.
        let err = groups::save(
            db,
            &storage::audit::Actor::cli(),
            &group_form("Grup Baru").validate().unwrap(),
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.field_in("work_zone", Locale::Id).as_deref(),
            Some("Zona kerja tidak dikenal atau nonaktif.")
        );
        let rule = RuleForm {
            group_id: group,
            notification_type: "new_ticket".into(),
            min_priority: "".into(),
            work_zone: "bekasi".into(),
            template: "".into(),
        };
        let err = groups::add_rule(
            db,
            &storage::audit::Actor::cli(),
            group,
            rule.validate().unwrap(),
            "",
            now,
        )
        .await
        .unwrap_err();
        assert!(err.field("work_zone").is_some(), "{err:?}");
        // Another group's editor does not offer it.
        let other = groups::save(
            db,
            &storage::audit::Actor::cli(),
            &GroupForm {
                work_zone: "karawang".into(),
                ..group_form("Teknisi Karawang Uji")
            }
            .validate()
            .unwrap(),
            now,
        )
        .await
        .unwrap();
        let d = groups::detail(db, other).await.unwrap();
        assert!(
            !d.work_zones.iter().any(|(c, _)| c == "bekasi"),
            "{:?}",
            d.work_zones
        );

        // The policy that has it keeps it through an edit; a new one cannot.
        let mut form = policy_form("Bekasi", vec![step.clone()]);
        form.id = Some(policy);
        policies::save(
            db,
            &storage::audit::Actor::cli(),
            &form.validate().unwrap(),
            now,
        )
        .await
        .unwrap();
        let err = policies::save(
            db,
            &storage::audit::Actor::cli(),
            &policy_form("Bekasi 2", vec![step]).validate().unwrap(),
            now,
        )
        .await
        .unwrap_err();
        assert!(err.field("steps[1]").is_some(), "{err:?}");
        // Its editor still lists the zone (a step has it).
        let choices = policies::choices(db).await.unwrap();
        assert!(choices.zones.iter().any(|(c, _)| c == "bekasi"));
    }
);

store_test!(escalation_policies_are_saved_whole_with_their_steps, |db| {
    demo(db).await;
    let noc: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM whatsapp_groups WHERE name = 'NOC Team'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    let now = 1_800_000_000_000;
    let form = policy_form(
        "Gangguan",
        vec![
            StepForm {
                delay_minutes: 2,
                zone: "bekasi".into(),
                channels: vec![Channel::Sms, Channel::Voice],
                ..StepForm::default()
            },
            StepForm {
                delay_minutes: 7,
                target: "group".into(),
                group_id: Some(noc),
                channels: vec![],
                ..StepForm::default()
            },
        ],
    );
    let id = policies::save(
        db,
        &storage::audit::Actor::cli(),
        &form.validate().unwrap(),
        now,
    )
    .await
    .unwrap();
    let saved = policies::list(db)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == id)
        .unwrap();
    assert_eq!(
        saved.notification_type,
        Some(domain::NotificationType::Outage)
    );
    assert_eq!(saved.min_priority, domain::Priority::High);
    assert_eq!(saved.steps, form.validate().unwrap().steps);
    assert_eq!(saved.open_alerts, 0);

    // An edit replaces the steps, in order.
    let mut edit = PolicyForm::from(&saved);
    edit.steps.remove(0);
    edit.steps.push(StepForm::default());
    policies::save(
        db,
        &storage::audit::Actor::cli(),
        &edit.validate().unwrap(),
        now,
    )
    .await
    .unwrap();
    let steps: Vec<(i64, i64)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT position, delay_minutes FROM escalation_steps WHERE policy_id = $1 ORDER BY position"
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
    });
    assert_eq!(steps, vec![(0, 7), (1, 5)]);

    // A taken name is a conflict; a group that does not exist names its step;
    // neither writes anything.
    let clash = policy_form("Gangguan", vec![StepForm::default()]);
    assert!(matches!(
        policies::save(
            db,
            &storage::audit::Actor::cli(),
            &clash.validate().unwrap(),
            now
        )
        .await,
        Err(Error::Conflict(_))
    ));
    let ghost = policy_form(
        "Hantu",
        vec![
            StepForm::default(),
            StepForm {
                target: "group".into(),
                group_id: Some(999_999),
                ..StepForm::default()
            },
        ],
    );
    match policies::save(
        db,
        &storage::audit::Actor::cli(),
        &ghost.validate().unwrap(),
        now,
    )
    .await
    {
        Err(Error::Invalid(errors)) => assert_eq!(errors[0].field, "steps[2]"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM escalation_policies WHERE name = 'Hantu'"
        )
        .await,
        0
    );

    // Deleted: gone with its steps.
    policies::delete(db, &storage::audit::Actor::cli(), id, now)
        .await
        .unwrap();
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM escalation_steps WHERE policy_id NOT IN (SELECT id FROM escalation_policies)").await,
        0
    );
    assert!(matches!(
        policies::delete(db, &storage::audit::Actor::cli(), id, now).await,
        Err(Error::NotFound(_))
    ));
});

store_test!(
    retention_prunes_old_rows_in_whole_days_and_keeps_their_figures,
    |db| {
        use storage::analytics;
        use storage::outbox::{insert_event, NewDelivery, NewEvent};
        seed::ensure_reference_data(db).await.unwrap();
        let old = domain::time::parse_wib_date("2025-10-01").unwrap() + 3_600_000;
        let now = domain::time::parse_wib_date("2026-12-01").unwrap() + 3_600_000;
        let queued = |at: i64| {
            NewDelivery::test_send(
                domain::Channel::Whatsapp,
                "+6281200000005".into(),
                None,
                "Tiket".into(),
                at,
            )
        };
        let event = NewEvent::test_send(serde_json::json!({}));
        let reader = seed::insert_user(
            db,
            "Budi",
            "budi@example.id",
            "x",
            Role::Technician,
            Some("bekasi"),
            None,
            false,
        )
        .await
        .unwrap();
        let inbox = |title: &str| storage::outbox::NewInboxItem {
            user_id: reader,
            title: title.into(),
            body: "Isi".into(),
            link: None,
        };
        // A year and two months ago: an event with two deliveries, one
        // without any; today: one event with one delivery. Each event has
        // an inbox item.
        insert_event(
            db,
            &event,
            &[queued(old), queued(old)],
            &[inbox("lama")],
            old,
        )
        .await
        .unwrap();
        insert_event(db, &event, &[], &[inbox("lama")], old)
            .await
            .unwrap();
        insert_event(db, &event, &[queued(now)], &[inbox("baru")], now)
            .await
            .unwrap();
        // A try for every delivery: the pruned deliveries' go with them.
        on_db_write!(db, |pool| sqlx::query(
            "INSERT INTO delivery_tries (delivery_id, attempt, provider, started_at, finished_at,
                 outcome)
             SELECT id, 1, 'fonnte', created_at, created_at, 'accepted' FROM deliveries"
        )
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        analytics::refresh_all(db, now).await.unwrap();
        let old_day = analytics::day_of(old);
        let figures = |db: &Db| {
            let db = db.clone();
            async move {
                analytics::report(&db, old_day, old_day)
                    .await
                    .unwrap()
                    .total
            }
        };
        assert_eq!(figures(db).await, 2);

        // Keep a year: the cut is the start of a WIB day.
        let cutoff = analytics::retention_cutoff(now, 365);
        assert_eq!(analytics::day_of(cutoff), analytics::day_of(now) - 365);
        assert_eq!(analytics::day_of(cutoff - 1), analytics::day_of(now) - 366);
        // One row per batch: the batches go on until nothing is left.
        let pruned = storage::retention::prune_before(db, cutoff, 1)
            .await
            .unwrap();
        assert_eq!(
            pruned,
            storage::retention::Pruned {
                deliveries: 2,
                events: 2
            }
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries").await, 1);
        assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, 1);
        // Their tries and inbox items went in the same batches (on
        // PostgreSQL no cascade does it: migration 0024); today's stay.
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM delivery_tries t JOIN deliveries d ON d.id = t.delivery_id"
            )
            .await,
            1
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM delivery_tries").await, 1);
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM notifications WHERE title = 'baru'"
            )
            .await,
            1
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM notifications").await, 1);
        // The start-up refresh finds the oldest day left and leaves the
        // pruned day's figures as they were.
        analytics::refresh_all(db, now).await.unwrap();
        assert_eq!(figures(db).await, 2);
        assert_eq!(
            storage::retention::prune_before(db, cutoff, 1)
                .await
                .unwrap(),
            storage::retention::Pruned::default()
        );
    }
);

store_test!(audit_entries_past_retention_are_pruned_in_batches, |db| {
    use storage::audit::{record, Actor};
    let day = 86_400_000;
    let now = 1_000 * day;
    for (i, at) in [now - 800 * day, now - 731 * day, now - 729 * day, now]
        .into_iter()
        .enumerate()
    {
        record(
            db,
            &Actor::cli(),
            "auth.sign_in_failed",
            &format!("#{i}"),
            at,
        )
        .await
        .unwrap();
    }
    // Two years kept; one row per batch until none is older.
    let pruned = storage::retention::prune_audit_before(db, now - 730 * day, 1)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    let left: Vec<String> = storage::audit::list(db, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.subject)
        .collect();
    assert_eq!(left, ["#3", "#2"]);
});
