//! Default message templates, in Bahasa Indonesia first.
//!
//! WhatsApp templates use WhatsApp's own formatting (`*bold*`); they are seeded
//! into the database on start (without overwriting an admin's edits) and can be
//! edited there.

use crate::kinds::{Channel, Locale};

pub struct DefaultTemplate {
    /// The notification type it renders (its wire name), or a system key such as
    /// `phone_verification`.
    pub key: &'static str,
    pub channel: Channel,
    pub locale: Locale,
    /// Email subject or in-app title; `None` for WhatsApp.
    pub subject: Option<&'static str>,
    pub body: &'static str,
}

const fn t(
    key: &'static str,
    channel: Channel,
    locale: Locale,
    subject: Option<&'static str>,
    body: &'static str,
) -> DefaultTemplate {
    DefaultTemplate {
        key,
        channel,
        locale,
        subject,
        body,
    }
}

pub const TEMPLATES: &[DefaultTemplate] = &[
    t(
        "ticket_assigned",
        Channel::Whatsapp,
        Locale::Id,
        None,
        "🔧 *TIKET BARU DITUGASKAN*\n\n\
*No. Tiket:* {ticket_id}\n\
*Pelanggan:* {customer_name}\n\
*Telepon:* {customer_phone}\n\
*Alamat:* {address}\n\
*Lokasi:* {location}\n\
*Gangguan:* {issue_type}\n\
*Prioritas:* {priority}\n\
*Batas SLA:* {sla_deadline}\n\n\
Buka tiket: {ticket_url}",
    ),
    t(
        "ticket_assigned",
        Channel::Whatsapp,
        Locale::En,
        None,
        "🔧 *NEW TICKET ASSIGNED*\n\n\
*Ticket:* {ticket_id}\n\
*Customer:* {customer_name}\n\
*Phone:* {customer_phone}\n\
*Address:* {address}\n\
*Location:* {location}\n\
*Issue:* {issue_type}\n\
*Priority:* {priority}\n\
*SLA deadline:* {sla_deadline}\n\n\
Open ticket: {ticket_url}",
    ),
    t(
        "sla_warning",
        Channel::Whatsapp,
        Locale::Id,
        None,
        "⚠️ *PERINGATAN SLA*\n\n\
Tiket *{ticket_id}* hampir melewati batas SLA.\n\n\
*Pelanggan:* {customer_name}\n\
*Teknisi:* {technician_name}\n\
*Status:* {status}\n\
*Batas SLA:* {sla_deadline}\n\
*Sisa waktu:* {remaining_time}\n\n\
Segera tindak lanjuti: {ticket_url}",
    ),
    t(
        "sla_warning",
        Channel::Whatsapp,
        Locale::En,
        None,
        "⚠️ *SLA WARNING*\n\n\
Ticket *{ticket_id}* is close to its SLA deadline.\n\n\
*Customer:* {customer_name}\n\
*Technician:* {technician_name}\n\
*Status:* {status}\n\
*SLA deadline:* {sla_deadline}\n\
*Time left:* {remaining_time}\n\n\
Act now: {ticket_url}",
    ),
    t(
        "daily_summary",
        Channel::Whatsapp,
        Locale::Id,
        None,
        "📊 *LAPORAN HARIAN* — {date}\n\n\
*Total tiket:* {total}\n\
*Selesai:* {completed}\n\
*Dalam proses:* {in_progress}\n\
*Terbuka:* {open}\n\
*Melewati SLA:* {sla_breached}\n\n\
Zona: {work_zone}",
    ),
    t(
        "daily_summary",
        Channel::Whatsapp,
        Locale::En,
        None,
        "📊 *DAILY REPORT* — {date}\n\n\
*Total tickets:* {total}\n\
*Completed:* {completed}\n\
*In progress:* {in_progress}\n\
*Open:* {open}\n\
*SLA breached:* {sla_breached}\n\n\
Zone: {work_zone}",
    ),
    t(
        "phone_verification",
        Channel::Whatsapp,
        Locale::Id,
        None,
        "Kode verifikasi nomor WhatsApp Anda: *{code}*\n\nBerlaku {minutes} menit. Jangan berikan kode ini kepada siapa pun.",
    ),
    t(
        "phone_verification",
        Channel::Whatsapp,
        Locale::En,
        None,
        "Your WhatsApp verification code: *{code}*\n\nValid for {minutes} minutes. Never share this code.",
    ),
    t(
        "password_reset",
        Channel::Whatsapp,
        Locale::Id,
        None,
        "🔑 Halo {recipient_name}, buat kata sandi akun notifikasi Anda lewat tautan ini:\n{link}\n\nBerlaku {hours} jam dan hanya sekali pakai. Abaikan jika Anda tidak memintanya.",
    ),
    t(
        "password_reset",
        Channel::Whatsapp,
        Locale::En,
        None,
        "🔑 Hello {recipient_name}, set the password of your notification account with this link:\n{link}\n\nValid for {hours} hours and once only. Ignore it if you did not ask for it.",
    ),
    t(
        "password_reset",
        Channel::Email,
        Locale::Id,
        Some("Buat kata sandi akun notifikasi Anda"),
        "Halo {recipient_name},\n\nBuat kata sandi akun notifikasi Anda lewat tautan ini:\n{link}\n\nTautan berlaku {hours} jam dan hanya sekali pakai. Abaikan email ini jika Anda tidak memintanya.",
    ),
    t(
        "password_reset",
        Channel::Email,
        Locale::En,
        Some("Set the password of your notification account"),
        "Hello {recipient_name},\n\nSet the password of your notification account with this link:\n{link}\n\nThe link is valid for {hours} hours and once only. Ignore this email if you did not ask for it.",
    ),
];

/// Work zones of the demo operator (master data; more can be added).
pub const WORK_ZONES: &[(&str, &str)] = &[
    ("karawang", "Karawang"),
    ("bekasi", "Bekasi"),
    ("cikampek", "Cikampek"),
];
