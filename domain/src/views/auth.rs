//! Who is signed in, as the pages and the server share it. The sessions
//! are `storage::sessions`; sign-in and the roles' areas `app::auth`.

use crate::{Locale, Role};
use serde::{Deserialize, Serialize};

/// The signed-in person, as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: crate::UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub work_zone: Option<String>,
    /// The language of the pages and of the messages sent to this user.
    pub locale: Locale,
}
