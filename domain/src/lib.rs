//! Pure domain logic of the notification system.
//!
//! Nothing here performs I/O, so the same code runs in the Axum host and in the
//! browser (WASM), where it gives instant validation and template previews.
//!
//! Layout:
//! - [`ids`]: the ids that cross module boundaries, typed;
//! - [`kinds`]: the closed vocabularies (roles, priorities, notification types,
//!   channels, delivery statuses, group categories) with their wire names;
//! - [`phone`]: Indonesian mobile numbers, parsed into E.164;
//! - [`template`]: `{variable}` message templates and WhatsApp text rules;
//! - [`quiet`]: quiet hours in the user's time zone;
//! - [`digest`]: low-priority notifications gathered into one message a day;
//! - [`routing`]: who gets an event, on which channels, and when;
//! - [`schedule`]: when scheduled reports fire, in their time zone;
//! - [`providers`]: provider kinds and what their credentials need;
//! - [`meta_template`]: Meta's approved templates, mapped and filled;
//! - [`push`]: web push payloads, urgency, endpoints and device names;
//! - [`escalation`]: escalation policies, acknowledgement replies and texts;
//! - [`sms`]: SMS segments (GSM-7 / UCS-2) and WhatsApp text made to fit;
//! - [`preferences`]: the switches of a user's notification settings;
//! - [`verification`]: the rules of one-time phone codes;
//! - [`defaults`]: the default templates and demo master data;
//! - [`live`]: the live socket's frames and the inbox items they carry;
//! - [`time`]: timestamps and dates in WIB;
//! - [`views`]: what the pages show and their forms send, by capability:
//!   plain data the browser and the server share, with the forms' checks;
//! - [`words`]: texts in both languages and the kinds of refusal.

pub mod defaults;
pub mod digest;
pub mod email;
pub mod escalation;
pub mod ids;
pub mod kinds;
pub mod live;
pub mod meta_template;
pub mod numbers;
pub mod phone;
pub mod preferences;
pub mod providers;
pub mod push;
pub mod quiet;
pub mod routing;
pub mod schedule;
pub mod sms;
pub mod template;
pub mod time;
pub mod verification;
pub mod views;
pub mod words;

pub use ids::{AccountId, DeliveryId, GroupId, UserId};
pub use kinds::*;
pub use phone::{PhoneE164, PhoneError};
pub use words::Words;
