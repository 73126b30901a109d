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

/// Every type's default (WhatsApp, Indonesian and English; the other
/// channels use the WhatsApp text without its formatting), and the system's
/// own messages.
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
    // The other types: every detail is optional (`{name?}`), so the ticketing
    // system may send what it has and no line shows an empty label.
    wa("ticket_status_changed", Locale::Id, "🔄 *STATUS TIKET BERUBAH*\n\n\
*No. Tiket:* {ticket_id?}\n\
*Pelanggan:* {customer_name?}\n\
*Dari:* {old_status?}\n\
*Menjadi:* {status?}\n\
*Teknisi:* {technician_name?}\n\
*Catatan:* {message?}\n\n\
Buka tiket: {ticket_url?}"),
    wa("ticket_status_changed", Locale::En, "🔄 *TICKET STATUS CHANGED*\n\n\
*Ticket:* {ticket_id?}\n\
*Customer:* {customer_name?}\n\
*From:* {old_status?}\n\
*To:* {status?}\n\
*Technician:* {technician_name?}\n\
*Note:* {message?}\n\n\
Open ticket: {ticket_url?}"),
    wa("sla_breach", Locale::Id, "🚨 *SLA TERLEWATI*\n\n\
*No. Tiket:* {ticket_id?}\n\
*Pelanggan:* {customer_name?}\n\
*Gangguan:* {issue_type?}\n\
*Teknisi:* {technician_name?}\n\
*Status:* {status?}\n\
*Batas SLA:* {sla_deadline?}\n\
*Prioritas:* {priority}\n\n\
Segera tangani: {ticket_url?}"),
    wa("sla_breach", Locale::En, "🚨 *SLA BREACHED*\n\n\
*Ticket:* {ticket_id?}\n\
*Customer:* {customer_name?}\n\
*Issue:* {issue_type?}\n\
*Technician:* {technician_name?}\n\
*Status:* {status?}\n\
*SLA deadline:* {sla_deadline?}\n\
*Priority:* {priority}\n\n\
Act now: {ticket_url?}"),
    wa("escalation", Locale::Id, "⏫ *ESKALASI TIKET*\n\n\
*No. Tiket:* {ticket_id?}\n\
*Pelanggan:* {customer_name?}\n\
*Gangguan:* {issue_type?}\n\
*Teknisi:* {technician_name?}\n\
*Status:* {status?}\n\
*Prioritas:* {priority}\n\
*Catatan:* {message?}\n\n\
Buka tiket: {ticket_url?}"),
    wa("escalation", Locale::En, "⏫ *TICKET ESCALATED*\n\n\
*Ticket:* {ticket_id?}\n\
*Customer:* {customer_name?}\n\
*Issue:* {issue_type?}\n\
*Technician:* {technician_name?}\n\
*Status:* {status?}\n\
*Priority:* {priority}\n\
*Note:* {message?}\n\n\
Open ticket: {ticket_url?}"),
    wa("new_ticket", Locale::Id, "🆕 *TIKET BARU*\n\n\
*No. Tiket:* {ticket_id?}\n\
*Pelanggan:* {customer_name?}\n\
*Alamat:* {address?}\n\
*Lokasi:* {location?}\n\
*Gangguan:* {issue_type?}\n\
*Prioritas:* {priority}\n\
*Batas SLA:* {sla_deadline?}\n\n\
Buka tiket: {ticket_url?}"),
    wa("new_ticket", Locale::En, "🆕 *NEW TICKET*\n\n\
*Ticket:* {ticket_id?}\n\
*Customer:* {customer_name?}\n\
*Address:* {address?}\n\
*Location:* {location?}\n\
*Issue:* {issue_type?}\n\
*Priority:* {priority}\n\
*SLA deadline:* {sla_deadline?}\n\n\
Open ticket: {ticket_url?}"),
    wa("customer_registration_approved", Locale::Id, "✅ *PENDAFTARAN DISETUJUI*\n\n\
Pendaftaran layanan internet telah disetujui.\n\n\
*Pelanggan:* {customer_name?}\n\
*ID Pelanggan:* {customer_id?}\n\
*Paket:* {package?}\n\
*Alamat pemasangan:* {address?}\n\n\
Teknisi kami akan menghubungi untuk jadwal pemasangan."),
    wa("customer_registration_approved", Locale::En, "✅ *REGISTRATION APPROVED*\n\n\
The internet service registration has been approved.\n\n\
*Customer:* {customer_name?}\n\
*Customer ID:* {customer_id?}\n\
*Package:* {package?}\n\
*Installation address:* {address?}\n\n\
Our technician will call to schedule the installation."),
    wa("payment_received", Locale::Id, "💰 *PEMBAYARAN DITERIMA*\n\n\
*Pelanggan:* {customer_name?}\n\
*ID Pelanggan:* {customer_id?}\n\
*No. Tagihan:* {invoice_id?}\n\
*Jumlah:* {amount?}\n\
*Tanggal:* {date?}\n\n\
Terima kasih atas pembayarannya."),
    wa("payment_received", Locale::En, "💰 *PAYMENT RECEIVED*\n\n\
*Customer:* {customer_name?}\n\
*Customer ID:* {customer_id?}\n\
*Invoice:* {invoice_id?}\n\
*Amount:* {amount?}\n\
*Date:* {date?}\n\n\
Thank you for your payment."),
    wa("invoice_reminder", Locale::Id, "🧾 *PENGINGAT TAGIHAN*\n\n\
*Pelanggan:* {customer_name?}\n\
*Paket:* {package?}\n\
*No. Tagihan:* {invoice_id?}\n\
*Jumlah:* {amount?}\n\
*Jatuh tempo:* {due_date?}\n\n\
Mohon lakukan pembayaran sebelum jatuh tempo agar layanan tidak terputus."),
    wa("invoice_reminder", Locale::En, "🧾 *INVOICE REMINDER*\n\n\
*Customer:* {customer_name?}\n\
*Package:* {package?}\n\
*Invoice:* {invoice_id?}\n\
*Amount:* {amount?}\n\
*Due date:* {due_date?}\n\n\
Please pay before the due date to keep the service running."),
    wa("service_update", Locale::Id, "📢 *INFO LAYANAN*\n\n\
*{title?}*\n\
{message?}\n\n\
*Zona:* {work_zone?}\n\
*Perkiraan selesai:* {estimated_recovery?}"),
    wa("service_update", Locale::En, "📢 *SERVICE UPDATE*\n\n\
*{title?}*\n\
{message?}\n\n\
*Zone:* {work_zone?}\n\
*Expected end:* {estimated_recovery?}"),
    wa("weekly_report", Locale::Id, "📈 *LAPORAN MINGGUAN*\n\n\
*Periode:* {period?}\n\
*Total tiket:* {total?}\n\
*Selesai:* {completed?}\n\
*Dalam proses:* {in_progress?}\n\
*Terbuka:* {open?}\n\
*Melewati SLA:* {sla_breached?}\n\n\
Zona: {work_zone?}"),
    wa("weekly_report", Locale::En, "📈 *WEEKLY REPORT*\n\n\
*Period:* {period?}\n\
*Total tickets:* {total?}\n\
*Completed:* {completed?}\n\
*In progress:* {in_progress?}\n\
*Open:* {open?}\n\
*SLA breached:* {sla_breached?}\n\n\
Zone: {work_zone?}"),
    wa("kpi_alert", Locale::Id, "📉 *PERINGATAN KPI*\n\n\
*Indikator:* {metric?}\n\
*Nilai:* {value?}\n\
*Ambang batas:* {threshold?}\n\
*Periode:* {period?}\n\
*Zona:* {work_zone?}\n\
*Catatan:* {message?}"),
    wa("kpi_alert", Locale::En, "📉 *KPI ALERT*\n\n\
*Metric:* {metric?}\n\
*Value:* {value?}\n\
*Threshold:* {threshold?}\n\
*Period:* {period?}\n\
*Zone:* {work_zone?}\n\
*Note:* {message?}"),
    wa("system_alert", Locale::Id, "🖥️ *PERINGATAN SISTEM* ({priority})\n\n\
*{title?}*\n\
{message?}\n\n\
*Zona:* {work_zone?}"),
    wa("system_alert", Locale::En, "🖥️ *SYSTEM ALERT* ({priority})\n\n\
*{title?}*\n\
{message?}\n\n\
*Zone:* {work_zone?}"),
    wa("outage", Locale::Id, "🔴 *GANGGUAN JARINGAN*\n\n\
*{title?}*\n\
{message?}\n\n\
*Zona:* {work_zone?}\n\
*Lokasi:* {location?}\n\
*Penyebab:* {issue_type?}\n\
*Pelanggan terdampak:* {affected_customers?}\n\
*Perkiraan pulih:* {estimated_recovery?}\n\
*Prioritas:* {priority}\n\n\
Detail: {ticket_url?}"),
    wa("outage", Locale::En, "🔴 *NETWORK OUTAGE*\n\n\
*{title?}*\n\
{message?}\n\n\
*Zone:* {work_zone?}\n\
*Location:* {location?}\n\
*Cause:* {issue_type?}\n\
*Customers affected:* {affected_customers?}\n\
*Expected recovery:* {estimated_recovery?}\n\
*Priority:* {priority}\n\n\
Details: {ticket_url?}"),
    wa("critical_incident", Locale::Id, "🚨 *INSIDEN KRITIS*\n\n\
*{title?}*\n\
{message?}\n\n\
*No. Tiket:* {ticket_id?}\n\
*Zona:* {work_zone?}\n\
*Lokasi:* {location?}\n\
*Pelanggan terdampak:* {affected_customers?}\n\
*Perkiraan pulih:* {estimated_recovery?}\n\n\
Detail: {ticket_url?}"),
    wa("critical_incident", Locale::En, "🚨 *CRITICAL INCIDENT*\n\n\
*{title?}*\n\
{message?}\n\n\
*Ticket:* {ticket_id?}\n\
*Zone:* {work_zone?}\n\
*Location:* {location?}\n\
*Customers affected:* {affected_customers?}\n\
*Expected recovery:* {estimated_recovery?}\n\n\
Details: {ticket_url?}"),
    wa("new_registration", Locale::Id, "📝 *PENDAFTARAN BARU*\n\n\
*Calon pelanggan:* {customer_name?}\n\
*Telepon:* {customer_phone?}\n\
*Alamat:* {address?}\n\
*Paket:* {package?}\n\
*Zona:* {work_zone?}\n\n\
Tinjau pendaftaran: {ticket_url?}"),
    wa("new_registration", Locale::En, "📝 *NEW REGISTRATION*\n\n\
*Applicant:* {customer_name?}\n\
*Phone:* {customer_phone?}\n\
*Address:* {address?}\n\
*Package:* {package?}\n\
*Zone:* {work_zone?}\n\n\
Review it: {ticket_url?}"),
    wa("customer_complaint", Locale::Id, "☎️ *KELUHAN PELANGGAN*\n\n\
*No. Tiket:* {ticket_id?}\n\
*Pelanggan:* {customer_name?}\n\
*Telepon:* {customer_phone?}\n\
*Alamat:* {address?}\n\
*Keluhan:* {issue_type?}\n\
*Catatan:* {message?}\n\
*Prioritas:* {priority}\n\n\
Buka tiket: {ticket_url?}"),
    wa("customer_complaint", Locale::En, "☎️ *CUSTOMER COMPLAINT*\n\n\
*Ticket:* {ticket_id?}\n\
*Customer:* {customer_name?}\n\
*Phone:* {customer_phone?}\n\
*Address:* {address?}\n\
*Complaint:* {issue_type?}\n\
*Note:* {message?}\n\
*Priority:* {priority}\n\n\
Open ticket: {ticket_url?}"),
];

const fn wa(key: &'static str, locale: Locale, body: &'static str) -> DefaultTemplate {
    t(key, Channel::Whatsapp, locale, None, body)
}

/// Work zones of the demo operator (master data; more can be added).
pub const WORK_ZONES: &[(&str, &str)] = &[
    ("karawang", "Karawang"),
    ("bekasi", "Bekasi"),
    ("cikampek", "Cikampek"),
];
