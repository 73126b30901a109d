//! What a user switches on and off in their notification settings.
//!
//! People think in a handful of kinds of message ("SLA warnings", "urgent
//! alerts"), not in the eighteen notification types; [`TypeGroup`] is that
//! handful. Every type belongs to exactly one group, and a switch writes the
//! same value for every type of its group, so routing (which reads per-type
//! switches) and the settings page always agree.

use crate::kinds::{Channel, Locale, NotificationType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeGroup {
    TicketAssigned,
    TicketStatus,
    Sla,
    Urgent,
    DailySummary,
    WeeklyReport,
    Other,
}

/// The channels a user switches per type group. In-app is always on; group
/// chats are switched by group membership and "receive group notifications".
pub const SWITCHABLE_CHANNELS: [Channel; 3] = [Channel::Whatsapp, Channel::Email, Channel::Push];

impl TypeGroup {
    pub const ALL: &'static [TypeGroup] = &[
        TypeGroup::TicketAssigned,
        TypeGroup::TicketStatus,
        TypeGroup::Sla,
        TypeGroup::Urgent,
        TypeGroup::DailySummary,
        TypeGroup::WeeklyReport,
        TypeGroup::Other,
    ];

    /// The form's field name.
    pub const fn key(self) -> &'static str {
        match self {
            TypeGroup::TicketAssigned => "ticket_assigned",
            TypeGroup::TicketStatus => "ticket_status",
            TypeGroup::Sla => "sla",
            TypeGroup::Urgent => "urgent",
            TypeGroup::DailySummary => "daily_summary",
            TypeGroup::WeeklyReport => "weekly_report",
            TypeGroup::Other => "other",
        }
    }

    pub fn parse(key: &str) -> Option<TypeGroup> {
        TypeGroup::ALL.iter().copied().find(|g| g.key() == key)
    }

    pub const fn types(self) -> &'static [NotificationType] {
        use NotificationType::*;
        match self {
            TypeGroup::TicketAssigned => &[TicketAssigned],
            TypeGroup::TicketStatus => &[TicketStatusChanged],
            TypeGroup::Sla => &[SlaWarning, SlaBreach],
            TypeGroup::Urgent => &[Escalation, SystemAlert, Outage, CriticalIncident, KpiAlert],
            TypeGroup::DailySummary => &[DailySummary],
            TypeGroup::WeeklyReport => &[WeeklyReport],
            TypeGroup::Other => &[
                NewTicket,
                CustomerRegistrationApproved,
                PaymentReceived,
                InvoiceReminder,
                ServiceUpdate,
                NewRegistration,
                CustomerComplaint,
            ],
        }
    }

    /// The group a notification type is switched under.
    pub fn of(t: NotificationType) -> TypeGroup {
        *TypeGroup::ALL
            .iter()
            .find(|g| g.types().contains(&t))
            .expect("every notification type belongs to a group")
    }

    pub fn label(self, locale: Locale) -> &'static str {
        let (id, en) = match self {
            TypeGroup::TicketAssigned => ("Tiket ditugaskan", "Ticket assigned"),
            TypeGroup::TicketStatus => ("Perubahan status tiket", "Ticket status changed"),
            TypeGroup::Sla => ("Peringatan SLA", "SLA warnings"),
            TypeGroup::Urgent => ("Peringatan mendesak", "Urgent alerts"),
            TypeGroup::DailySummary => ("Ringkasan harian", "Daily summary"),
            TypeGroup::WeeklyReport => ("Laporan mingguan", "Weekly reports"),
            TypeGroup::Other => ("Tiket & pelanggan lainnya", "Other tickets & customers"),
        };
        match locale {
            Locale::Id => id,
            Locale::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_in_exactly_one_group() {
        for t in NotificationType::ALL {
            let n = TypeGroup::ALL
                .iter()
                .filter(|g| g.types().contains(t))
                .count();
            assert_eq!(n, 1, "{t} is in {n} groups");
            assert!(TypeGroup::of(*t).types().contains(t));
        }
    }

    #[test]
    fn keys_round_trip_and_unknown_keys_are_refused() {
        for g in TypeGroup::ALL {
            assert_eq!(TypeGroup::parse(g.key()), Some(*g));
        }
        assert_eq!(TypeGroup::parse("sla_warning"), None);
    }

    #[test]
    fn the_issue_s_six_kinds_are_there() {
        assert_eq!(TypeGroup::of(NotificationType::SlaBreach), TypeGroup::Sla);
        assert_eq!(
            TypeGroup::of(NotificationType::CriticalIncident),
            TypeGroup::Urgent
        );
        assert_eq!(
            TypeGroup::of(NotificationType::WeeklyReport),
            TypeGroup::WeeklyReport
        );
        assert!(!SWITCHABLE_CHANNELS.contains(&Channel::InApp));
    }
}
