//! Closed vocabularies with one wire name each.
//!
//! The wire name is what the database stores, the HTTP API accepts and the
//! browser sends; `parse` is the only way in, so an unknown word is an error at
//! the edge instead of a surprise deep in the dispatcher.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An input word that is not in a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'; expected one of: {expected}")]
pub struct UnknownWord {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

/// Declares a string-backed enum with `ALL`, `as_str`, `parse`, `Display` and serde
/// that all agree on the same wire names.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(value: &str) -> Result<Self, UnknownWord> {
                match value {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownWord {
                        kind: $kind,
                        value: value.to_owned(),
                        expected: [$($wire),+].join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownWord;
            fn try_from(value: String) -> Result<Self, Self::Error> { Self::parse(&value) }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> Self { value.as_str() }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;
            fn from_str(value: &str) -> Result<Self, Self::Err> { Self::parse(value) }
        }
    };
}

vocabulary! {
    /// What a signed-in person may do.
    Role, "role" {
        Admin => "admin",
        Manager => "manager",
        Supervisor => "supervisor",
        Technician => "technician",
        Noc => "noc",
        CustomerService => "customer_service",
    }
}

vocabulary! {
    /// Urgency of a notification; ordered, so `Priority::High > Priority::Medium`.
    Priority, "priority" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

vocabulary! {
    /// The events the ticketing system (and the system itself) raises.
    NotificationType, "notification type" {
        TicketAssigned => "ticket_assigned",
        TicketStatusChanged => "ticket_status_changed",
        SlaWarning => "sla_warning",
        SlaBreach => "sla_breach",
        Escalation => "escalation",
        NewTicket => "new_ticket",
        CustomerRegistrationApproved => "customer_registration_approved",
        PaymentReceived => "payment_received",
        InvoiceReminder => "invoice_reminder",
        ServiceUpdate => "service_update",
        DailySummary => "daily_summary",
        WeeklyReport => "weekly_report",
        KpiAlert => "kpi_alert",
        SystemAlert => "system_alert",
        Outage => "outage",
        CriticalIncident => "critical_incident",
        NewRegistration => "new_registration",
        CustomerComplaint => "customer_complaint",
    }
}

vocabulary! {
    /// Messages the system sends on its own behalf, outside the routing rules:
    /// never accepted from the ingestion API.
    SystemMessage, "system message" {
        PhoneVerification => "phone_verification",
        /// A one-time link to set one's password (a new person's first,
        /// or one an admin sends after a forgotten password).
        PasswordReset => "password_reset",
        TestSend => "test_send",
        Retry => "retry",
        /// A person's digest of low-priority notifications (`digest`).
        Digest => "digest",
    }
}

/// What an event is: a notification from the ticketing system, or a message of
/// the system itself. Both share the outbox, the delivery log and analytics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Notification(NotificationType),
    System(SystemMessage),
}

impl EventKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Notification(t) => t.as_str(),
            EventKind::System(s) => s.as_str(),
        }
    }
}

impl EventKind {
    /// The kind a stored `notification_type` names.
    pub fn parse(value: &str) -> Result<Self, UnknownWord> {
        match NotificationType::parse(value) {
            Ok(t) => Ok(EventKind::Notification(t)),
            Err(e) => SystemMessage::parse(value)
                .map(EventKind::System)
                .map_err(|_| e),
        }
    }

    /// Every kind: the notification types, then the system's own messages.
    pub fn all() -> impl Iterator<Item = EventKind> {
        let types = NotificationType::ALL
            .iter()
            .map(|t| EventKind::Notification(*t));
        types.chain(SystemMessage::ALL.iter().map(|s| EventKind::System(*s)))
    }

    /// A short human name, for the delivery log and analytics.
    pub fn label(self, locale: Locale) -> &'static str {
        match self {
            EventKind::Notification(t) => t.label(locale),
            EventKind::System(s) => s.label(locale),
        }
    }
}

impl SystemMessage {
    pub fn label(self, locale: Locale) -> &'static str {
        let (id, en) = match self {
            SystemMessage::PhoneVerification => ("Kode verifikasi", "Verification code"),
            SystemMessage::PasswordReset => ("Tautan kata sandi", "Password link"),
            SystemMessage::TestSend => ("Uji kirim", "Test send"),
            SystemMessage::Retry => ("Kirim ulang", "Retry"),
            SystemMessage::Digest => ("Ringkasan notifikasi", "Notification digest"),
        };
        match locale {
            Locale::Id => id,
            Locale::En => en,
        }
    }
}

impl From<NotificationType> for EventKind {
    fn from(t: NotificationType) -> Self {
        EventKind::Notification(t)
    }
}

vocabulary! {
    /// A way of reaching someone. `WhatsappGroup` is a channel of its own because it
    /// reaches a group chat, not a person, and is switched per group, not per user.
    Channel, "channel" {
        InApp => "in_app",
        Whatsapp => "whatsapp",
        WhatsappGroup => "whatsapp_group",
        Email => "email",
        Push => "push",
        Sms => "sms",
        Voice => "voice",
    }
}

vocabulary! {
    /// The life of one delivery. See [`DeliveryStatus::rank`] for how webhook updates
    /// are ordered.
    DeliveryStatus, "delivery status" {
        Queued => "queued",
        /// Held back on purpose (quiet hours, digest) until `next_attempt_at`.
        Deferred => "deferred",
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
    }
}

vocabulary! {
    /// Who a WhatsApp group is for.
    GroupCategory, "group category" {
        Technicians => "technicians",
        Supervisors => "supervisors",
        Managers => "managers",
        Noc => "noc",
        CustomerService => "customer_service",
        All => "all",
    }
}

vocabulary! {
    /// How one account's try at a delivery ended (a delivery's attempt tries
    /// its accounts in failover order; each try is kept for its timeline).
    TryOutcome, "try outcome" {
        /// The provider took the message.
        Accepted => "accepted",
        /// The provider said this recipient cannot get it: the delivery failed.
        Refused => "refused",
        /// No answer in time: it may have gone out, so the next attempt goes
        /// to this account alone.
        TimedOut => "timed_out",
        /// The provider said slow down: the account is paused.
        RateLimited => "rate_limited",
        /// This account cannot send now (credentials, quota, device offline).
        AccountError => "account_error",
        /// The provider's trouble (5xx, unreachable).
        Transient => "transient",
    }
}

impl TryOutcome {
    /// The outcome's name for people.
    pub const fn label(self, locale: Locale) -> &'static str {
        let (id, en) = match self {
            TryOutcome::Accepted => ("Diterima penyedia", "Accepted by the provider"),
            TryOutcome::Refused => ("Ditolak untuk penerima ini", "Refused for this recipient"),
            TryOutcome::TimedOut => (
                "Tidak ada jawaban (mungkin terkirim)",
                "No answer (may have gone out)",
            ),
            TryOutcome::RateLimited => (
                "Terlalu banyak kiriman, akun dijeda",
                "Too many sends, account paused",
            ),
            TryOutcome::AccountError => ("Akun tidak bisa mengirim", "The account cannot send"),
            TryOutcome::Transient => ("Gangguan di penyedia", "Trouble at the provider"),
        };
        crate::words::pick(locale, id, en)
    }

    /// The delivery went on to the next account after this try.
    pub const fn fails_over(self) -> bool {
        matches!(
            self,
            TryOutcome::RateLimited | TryOutcome::AccountError | TryOutcome::Transient
        )
    }
}

vocabulary! {
    /// Message template locales. Bahasa Indonesia is the default.
    Locale, "locale" {
        Id => "id",
        En => "en",
    }
}

impl Locale {
    /// The language's name in `reader`'s language ("Bahasa Inggris" on an
    /// Indonesian page). The switch between the two names each in itself.
    pub const fn name(self, reader: Locale) -> &'static str {
        let (id, en) = match self {
            Locale::Id => ("Bahasa Indonesia", "Indonesian"),
            Locale::En => ("Bahasa Inggris", "English"),
        };
        crate::words::pick(reader, id, en)
    }
}

// Not derived: vocabulary! fixes the derive list of every enum it declares.
#[allow(clippy::derivable_impls)]
impl Default for Locale {
    fn default() -> Self {
        Locale::Id
    }
}

impl DeliveryStatus {
    /// Monotonic rank for status callbacks: a later callback may only move a
    /// delivery forward (`sent < delivered < read`), so a duplicate or late
    /// `delivered` never undoes `read`. `Failed` is terminal.
    pub const fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued | DeliveryStatus::Deferred => 0,
            DeliveryStatus::Sending => 1,
            DeliveryStatus::Sent => 2,
            DeliveryStatus::Delivered => 3,
            DeliveryStatus::Read => 4,
            DeliveryStatus::Failed => 5,
        }
    }

    /// No worker will touch a delivery in this state again.
    pub const fn is_final(self) -> bool {
        matches!(self, DeliveryStatus::Read | DeliveryStatus::Failed)
    }

    /// The status's name for people.
    pub const fn label(self, locale: Locale) -> &'static str {
        let (id, en) = match self {
            DeliveryStatus::Queued => ("Antre", "Queued"),
            DeliveryStatus::Deferred => ("Ditunda", "Deferred"),
            DeliveryStatus::Sending => ("Mengirim", "Sending"),
            DeliveryStatus::Sent => ("Terkirim", "Sent"),
            DeliveryStatus::Delivered => ("Diterima", "Delivered"),
            DeliveryStatus::Read => ("Dibaca", "Read"),
            DeliveryStatus::Failed => ("Gagal", "Failed"),
        };
        crate::words::pick(locale, id, en)
    }
}

impl Channel {
    /// The channel's name for people.
    pub const fn label(self, locale: Locale) -> &'static str {
        let (id, en) = match self {
            Channel::InApp => ("Dalam aplikasi", "In the app"),
            Channel::Whatsapp => ("WhatsApp", "WhatsApp"),
            Channel::WhatsappGroup => ("Grup WhatsApp", "WhatsApp group"),
            Channel::Email => ("Email", "Email"),
            Channel::Push => ("Push", "Push"),
            Channel::Sms => ("SMS", "SMS"),
            Channel::Voice => ("Telepon", "Voice call"),
        };
        crate::words::pick(locale, id, en)
    }
}

impl GroupCategory {
    /// The category's name for people.
    pub const fn label(self, locale: Locale) -> &'static str {
        let (id, en) = match self {
            GroupCategory::Technicians => ("Teknisi", "Technicians"),
            GroupCategory::Supervisors => ("Supervisor", "Supervisors"),
            GroupCategory::Managers => ("Manajemen", "Management"),
            GroupCategory::Noc => ("NOC", "NOC"),
            GroupCategory::CustomerService => ("Layanan pelanggan", "Customer service"),
            GroupCategory::All => ("Semua", "Everyone"),
        };
        crate::words::pick(locale, id, en)
    }
}

impl Role {
    /// May manage master data, provider accounts and API keys.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }

    /// May browse the delivery log and analytics of everyone.
    pub fn sees_all_deliveries(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }

    /// The role's name for people.
    pub const fn label(self, locale: Locale) -> &'static str {
        let (id, en) = match self {
            Role::Admin => ("Admin", "Admin"),
            Role::Manager => ("Manajer", "Manager"),
            Role::Supervisor => ("Supervisor", "Supervisor"),
            Role::Technician => ("Teknisi", "Technician"),
            Role::Noc => ("NOC", "NOC"),
            Role::CustomerService => ("Layanan pelanggan", "Customer service"),
        };
        crate::words::pick(locale, id, en)
    }
}

impl NotificationType {
    /// A short human name, for titles and the generic message.
    pub fn label(self, locale: Locale) -> &'static str {
        use NotificationType::*;
        let (id, en) = match self {
            TicketAssigned => ("Tiket ditugaskan", "Ticket assigned"),
            TicketStatusChanged => ("Status tiket berubah", "Ticket status changed"),
            SlaWarning => ("Peringatan SLA", "SLA warning"),
            SlaBreach => ("SLA terlampaui", "SLA breached"),
            Escalation => ("Eskalasi", "Escalation"),
            NewTicket => ("Tiket baru", "New ticket"),
            CustomerRegistrationApproved => (
                "Registrasi pelanggan disetujui",
                "Customer registration approved",
            ),
            PaymentReceived => ("Pembayaran diterima", "Payment received"),
            InvoiceReminder => ("Pengingat tagihan", "Invoice reminder"),
            ServiceUpdate => ("Pembaruan layanan", "Service update"),
            DailySummary => ("Ringkasan harian", "Daily summary"),
            WeeklyReport => ("Laporan mingguan", "Weekly report"),
            KpiAlert => ("Peringatan KPI", "KPI alert"),
            SystemAlert => ("Peringatan sistem", "System alert"),
            Outage => ("Gangguan jaringan", "Outage"),
            CriticalIncident => ("Insiden kritis", "Critical incident"),
            NewRegistration => ("Registrasi baru", "New registration"),
            CustomerComplaint => ("Keluhan pelanggan", "Customer complaint"),
        };
        match locale {
            Locale::Id => id,
            Locale::En => en,
        }
    }
}

impl Priority {
    pub fn label(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Priority::Low, Locale::Id) => "Rendah",
            (Priority::Medium, Locale::Id) => "Sedang",
            (Priority::High, Locale::Id) => "Tinggi",
            (Priority::Critical, Locale::Id) => "KRITIS",
            (Priority::Low, Locale::En) => "Low",
            (Priority::Medium, Locale::En) => "Medium",
            (Priority::High, Locale::En) => "High",
            (Priority::Critical, Locale::En) => "CRITICAL",
        }
    }
}

/// Work zones are master data (a table), so they are plain codes, not an enum.
pub type WorkZoneCode = String;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_parses_back_and_has_a_name_in_both_languages() {
        let kinds: Vec<EventKind> = EventKind::all().collect();
        assert_eq!(
            kinds.len(),
            NotificationType::ALL.len() + SystemMessage::ALL.len()
        );
        for k in kinds {
            assert_eq!(EventKind::parse(k.as_str()), Ok(k));
            for locale in [Locale::Id, Locale::En] {
                assert!(!k.label(locale).contains('_'), "{}", k.label(locale));
            }
        }
        assert_eq!(
            EventKind::parse("digest").map(|k| k.label(Locale::Id)),
            Ok("Ringkasan notifikasi")
        );
        assert!(EventKind::parse("no_such_type").is_err());
    }

    #[test]
    fn wire_names_round_trip_for_every_vocabulary() {
        for t in NotificationType::ALL {
            assert_eq!(NotificationType::parse(t.as_str()), Ok(*t));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
        for s in DeliveryStatus::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<DeliveryStatus>(&json).unwrap(), *s);
        }
    }

    #[test]
    fn the_eighteen_notification_types_are_known() {
        assert_eq!(NotificationType::ALL.len(), 18);
    }

    #[test]
    fn unknown_words_name_what_was_expected() {
        let err = Priority::parse("urgent").unwrap_err();
        assert_eq!(err.kind, "priority");
        assert!(
            err.to_string().contains("low, medium, high, critical"),
            "{err}"
        );
        assert!(serde_json::from_str::<Priority>("\"urgent\"").is_err());
    }

    #[test]
    fn priorities_are_ordered_by_urgency() {
        assert!(Priority::Low < Priority::Medium);
        assert!(Priority::High < Priority::Critical);
    }

    #[test]
    fn status_rank_never_lets_read_fall_back_to_delivered() {
        assert!(DeliveryStatus::Read.rank() > DeliveryStatus::Delivered.rank());
        assert!(DeliveryStatus::Delivered.rank() > DeliveryStatus::Sent.rank());
        assert!(DeliveryStatus::Failed.is_final());
        assert!(!DeliveryStatus::Sent.is_final());
    }
}
