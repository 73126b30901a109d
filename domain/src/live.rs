//! The live socket's protocol (`/ws`): the frames the server pushes and the
//! browser may send, and the in-app items and alert states they carry.
//! Shared by the server (which encodes them) and the browser (which reads
//! them); see the app's `live` module for the two streams they make up.

use crate::escalation::AckChannel;
use crate::DeliveryStatus;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub id: i64,
    pub notification_type: String,
    pub priority: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
    /// Set when the notification is under an escalation policy: open until
    /// someone acknowledges it.
    /// (Boxed: most items have none, and live frames carry items.)
    pub alert: Option<Box<AlertView>>,
}

/// An alert as the inbox and the delivery log show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    pub open: bool,
    /// Steps taken so far (0: only the event's own messages went out).
    pub steps_taken: i64,
    /// When the next step is due, while one remains and nobody acknowledged.
    pub next_step_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub ack_channel: Option<AckChannel>,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckOutcome {
    /// This one closed the alert.
    Acknowledged,
    /// Someone had already; the alert as it stands.
    Already(AlertView),
    /// The user was not asked about this alert.
    NotRecipient,
    NotFound,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame after connecting. `last` is the notification id the stream
    /// starts after: a client that reconnects before any notification came
    /// resumes from there (`?after=last`), so nothing that arrived while it
    /// was away is skipped.
    Hello {
        unread: i64,
        deliveries: bool,
        last: i64,
    },
    /// A notification after the last one this socket sent (or `after`).
    Notification { item: InboxItem },
    /// The user's unread count changed (new items, or read elsewhere).
    Unread { count: i64 },
    /// Deliveries whose status changed; `added` when new ones were queued.
    Deliveries {
        changes: Vec<DeliveryChange>,
        added: bool,
    },
    /// The analytics rollups were recomputed: reload the figures.
    Analytics,
    /// Changes were dropped for this socket (it fell behind, or another
    /// instance's notifications were interrupted): reload what is shown.
    Resync,
    /// The answer to a client's ping.
    Pong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryChange {
    pub id: crate::DeliveryId,
    pub status: DeliveryStatus,
}

/// A frame from the browser. Anything else closes the socket (code 1003,
/// with the reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Ping,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_a_type_tag_and_snake_case_names() {
        let f = ServerFrame::Deliveries {
            changes: vec![DeliveryChange {
                id: crate::DeliveryId(7),
                status: DeliveryStatus::Read,
            }],
            added: false,
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"type":"deliveries","changes":[{"id":7,"status":"read"}],"added":false}"#
        );
        assert_eq!(serde_json::from_str::<ServerFrame>(&json).unwrap(), f);
        assert_eq!(
            serde_json::to_string(&ServerFrame::Resync).unwrap(),
            r#"{"type":"resync"}"#
        );
    }

    #[test]
    fn only_known_client_frames_parse() {
        assert_eq!(
            serde_json::from_str::<ClientFrame>(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>("not json").is_err());
    }
}
