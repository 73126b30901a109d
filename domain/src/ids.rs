//! Ids of the rows that cross module boundaries, as types of their own, so
//! a delivery's id cannot be passed where a user's is meant. On the wire
//! and in the database they are plain integers (`serde(transparent)`).

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        /// Ids in addresses (`/deliveries/42`) and form values.
        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    };
}

id!(
    /// A row of `deliveries`: one message to one recipient on one channel.
    DeliveryId
);
id!(
    /// A person who signs in (staff).
    UserId
);
id!(
    /// A provider account (`provider_accounts`).
    AccountId
);
id!(
    /// A WhatsApp group of the master data (`whatsapp_groups`).
    GroupId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_integers_on_the_wire() {
        assert_eq!(serde_json::to_string(&DeliveryId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<UserId>("12").unwrap(), UserId(12));
        assert_eq!(AccountId(3).to_string(), "3");
        assert_eq!(i64::from(DeliveryId(9)), 9);
        assert_eq!("41".parse::<GroupId>(), Ok(GroupId(41)));
        assert!("4x".parse::<GroupId>().is_err());
    }
}
