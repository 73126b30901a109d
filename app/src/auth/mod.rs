//! Who is signed in and what their role lets them use.
//!
//! Sessions are server-side rows keyed by the SHA-256 of a random token
//! (`storage::sessions`); the browser holds only the token, in an HttpOnly,
//! SameSite=Lax cookie.

pub mod page;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod throttle;

use crate::error::AppError;
use domain::Role;
use leptos::prelude::*;

pub use domain::views::auth::CurrentUser;

/// The parts of the app, each open to some roles. The navigation shows only
/// what the role may use and every server function checks the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Inbox,
    Settings,
    Groups,
    /// Provider accounts of every channel.
    Providers,
    /// Escalation policies.
    Escalation,
    Deliveries,
    Analytics,
    /// Scheduled reports (daily summary, weekly report).
    Reports,
    /// Message templates (the wording of every type and channel).
    Templates,
    /// Sending a failed delivery again.
    Retry,
    /// Staff accounts: create, edit, (de)activate, set-password links.
    Users,
    /// The ticketing system's API keys.
    ApiKeys,
    /// Work zones: add, rename, (de)activate, delete unused ones.
    Zones,
    /// The audit trail of admin changes.
    Audit,
}

impl Area {
    pub fn roles(self) -> &'static [Role] {
        match self {
            Area::Inbox | Area::Settings => Role::ALL,
            Area::Groups
            | Area::Providers
            | Area::Escalation
            | Area::Templates
            | Area::Retry
            | Area::Users
            | Area::ApiKeys
            | Area::Zones
            | Area::Audit => &[Role::Admin],
            Area::Deliveries | Area::Analytics | Area::Reports => &[Role::Admin, Role::Manager],
        }
    }

    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// Why someone of another role is turned away: the roles it needs.
    pub fn refusal(self) -> AppError {
        AppError::Forbidden(self.roles().to_vec())
    }
}

/// The signed-in user, or `Unauthenticated`.
#[server(endpoint = "auth/whoami")]
pub async fn whoami() -> Result<CurrentUser, AppError> {
    session::require_user()
}

#[server(endpoint = "auth/login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    session::login(email, password).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    session::logout().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_groups_and_only_admins_and_managers_see_deliveries() {
        for role in Role::ALL {
            assert_eq!(Area::Groups.allows(*role), *role == Role::Admin);
            assert_eq!(Area::Templates.allows(*role), *role == Role::Admin);
            assert_eq!(Area::Retry.allows(*role), *role == Role::Admin);
            assert_eq!(Area::Users.allows(*role), *role == Role::Admin);
            assert_eq!(Area::ApiKeys.allows(*role), *role == Role::Admin);
            assert_eq!(Area::Zones.allows(*role), *role == Role::Admin);
            assert_eq!(Area::Audit.allows(*role), *role == Role::Admin);
            assert_eq!(
                Area::Deliveries.allows(*role),
                matches!(role, Role::Admin | Role::Manager)
            );
            assert!(Area::Inbox.allows(*role) && Area::Settings.allows(*role));
        }
    }
}
