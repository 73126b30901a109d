//! Staff accounts (admin): the users page lists, creates, edits,
//! deactivates and reactivates people, and sends them a one-time
//! set-password link; the admin never sees or sets a password. The link's
//! own page (`/set-password`) is public: the link is the credential.
//!
//! Here: the pages and the server functions. The types they share are
//! `domain::views::users`, the SQL `storage::users` and
//! `storage::password_resets`.

pub mod page;
pub mod set_password;

use crate::error::AppError;
use domain::UserId;
use leptos::prelude::*;

pub use domain::views::import::{ImportReport, ReportLine, RowOutcome};
pub use domain::views::users::*;

#[server(endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Users)?;
    Ok(storage::users::list(&state.db).await?)
}

#[server(endpoint = "users/get")]
pub async fn get_user(id: UserId) -> Result<UserRow, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Users)?;
    Ok(storage::users::get(&state.db, id).await?)
}

/// The work zones: every one (the list's filter), or the active ones (the
/// editor offers no inactive zone for something new).
#[server(endpoint = "users/zones")]
pub async fn user_zones(active_only: bool) -> Result<Vec<(String, String)>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Users)?;
    Ok(if active_only {
        storage::zones::choices(&state.db).await?
    } else {
        storage::groups::work_zones(&state.db).await?
    })
}

/// What saving a person did: their id, and where a new person's
/// set-password link went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserSaved {
    pub id: UserId,
    pub link_sent: Option<ResetSent>,
}

/// Creates a person (and sends them their set-password link) or saves an
/// edit. An admin cannot take away their own admin role or deactivate
/// themselves: the product would be left without anyone to undo it.
#[server(endpoint = "users/save", input = leptos::server_fn::codec::Json)]
pub async fn save_user(form: UserForm) -> Result<UserSaved, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Users)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    let now = crate::time::now_ms();
    match valid.id {
        None => {
            let id =
                storage::users::create(&state.db, &crate::state::actor(&me), &valid, now).await?;
            let sent = if valid.active {
                let issued = storage::password_resets::issue(
                    &state.db,
                    id,
                    Some(me.id),
                    &state.public_url,
                    now,
                )
                .await?;
                state.wake.notify_one();
                state.feed.added();
                Some(issued.sent)
            } else {
                None
            };
            tracing::info!(user = %id, by = %me.id, "person created");
            Ok(UserSaved {
                id,
                link_sent: sent,
            })
        }
        Some(id) => {
            if id == me.id {
                refuse_self_lockout(valid.role.is_admin() && valid.active)?;
            }
            storage::users::update(&state.db, &crate::state::actor(&me), id, &valid, now).await?;
            if !valid.active {
                state.feed.signed_out(id);
            }
            tracing::info!(user = %id, by = %me.id, "person saved");
            Ok(UserSaved {
                id,
                link_sent: None,
            })
        }
    }
}

#[cfg(feature = "ssr")]
fn refuse_self_lockout(still_admin: bool) -> Result<(), AppError> {
    if still_admin {
        return Ok(());
    }
    Err(AppError::Conflict(domain::words::Clash::Refused(
        domain::Words::new(
            "Anda tidak dapat menonaktifkan diri sendiri atau melepas peran admin Anda sendiri: minta admin lain.",
            "You cannot deactivate yourself or drop your own admin role: ask another admin.",
        ),
    )))
}

/// Deactivates (their sessions end, their queued messages fail with the
/// reason, their history stays) or reactivates a person.
#[server(endpoint = "users/active")]
pub async fn set_user_active(id: UserId, active: bool) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Users)?;
    if id == me.id {
        refuse_self_lockout(active)?;
    }
    storage::users::set_active(
        &state.db,
        &crate::state::actor(&me),
        id,
        active,
        crate::time::now_ms(),
    )
    .await?;
    if !active {
        state.feed.signed_out(id);
    }
    tracing::info!(user = %id, by = %me.id, active, "person (de)activated");
    Ok(())
}

/// Sends a person a new one-time set-password link (WhatsApp and email).
#[server(endpoint = "users/reset-password")]
pub async fn send_password_link(id: UserId) -> Result<ResetSent, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Users)?;
    let issued = storage::password_resets::issue(
        &state.db,
        id,
        Some(me.id),
        &state.public_url,
        crate::time::now_ms(),
    )
    .await?;
    state.wake.notify_one();
    state.feed.added();
    tracing::info!(user = %id, by = %me.id, "set-password link sent");
    Ok(issued.sent)
}

/// Whose link this is (their name), or why it no longer works. Public:
/// the token is the credential, and wrong tokens count toward the
/// client's sign-in back-off.
#[server(endpoint = "auth/link")]
pub async fn password_link(token: String) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    let now = crate::time::now_ms();
    let key = throttle_key(&token);
    let client = crate::auth::throttle::ClientAddr::of_request();
    let throttle = crate::auth::throttle::Throttle::global();
    throttle
        .check(&key, client, now)
        .map_err(AppError::TooManyAttempts)?;
    match storage::password_resets::lookup(&state.db, &token, now).await? {
        Some((name, _)) => Ok(name),
        None => {
            throttle.failed(&key, client, now);
            Err(storage::password_resets::dead_link().into())
        }
    }
}

/// Sets the password of the link's person; every session of theirs ends
/// and the link (and any other of theirs) is used up.
#[server(endpoint = "auth/set-password", input = leptos::server_fn::codec::Json)]
pub async fn set_password(form: NewPassword) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    form.validate().map_err(AppError::Validation)?;
    let now = crate::time::now_ms();
    let key = throttle_key(&form.token);
    let client = crate::auth::throttle::ClientAddr::of_request();
    let throttle = crate::auth::throttle::Throttle::global();
    throttle
        .check(&key, client, now)
        .map_err(AppError::TooManyAttempts)?;
    match storage::password_resets::consume(&state.db, &form.token, &form.new, now).await {
        Ok(id) => {
            state.feed.signed_out(id);
            tracing::info!(user = %id, "password set with a link");
            Ok(())
        }
        Err(e @ storage::Error::Conflict(_)) => {
            throttle.failed(&key, client, now);
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A link's back-off key: its hash's start, never the token.
#[cfg(feature = "ssr")]
fn throttle_key(token: &str) -> String {
    format!("link:{}", &storage::sessions::hash_token(token)[..16])
}

/// Checks a pasted or uploaded staff list row by row; saves nothing.
#[server(endpoint = "users/import-check")]
pub async fn check_import(csv: String) -> Result<ImportReport, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Users)?;
    Ok(import_report(&state, &me, &csv).await?.0)
}

/// Saves a staff list whose every row passed, all at once (or none), then
/// sends each new person their set-password link. A list with any refused
/// row is answered with its report and nothing saved.
#[server(endpoint = "users/import")]
pub async fn import_users(csv: String) -> Result<ImportReport, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Users)?;
    let (mut report, valid) = import_report(&state, &me, &csv).await?;
    if report.refused() > 0 {
        return Ok(report);
    }
    let now = crate::time::now_ms();
    let done = storage::users::import(&state.db, &crate::state::actor(&me), &valid, now).await?;
    report.saved = true;
    // The people are saved; each link is its own transaction after them.
    // One that fails is reported in the log, and the person stays listed
    // as "no password yet", where the admin can send it again.
    for (id, _) in done.iter().filter(|(_, created)| *created) {
        match storage::password_resets::issue(&state.db, *id, Some(me.id), &state.public_url, now)
            .await
        {
            Ok(_) => report.links_sent += 1,
            Err(e) => tracing::warn!(user = %id, "set-password link after an import: {e}"),
        }
    }
    state.wake.notify_one();
    state.feed.added();
    tracing::info!(rows = done.len(), by = %me.id, "people imported");
    Ok(report)
}

/// The report of `csv` and its rows' checked forms (in order; only
/// meaningful when no row is refused).
#[cfg(feature = "ssr")]
async fn import_report(
    state: &crate::state::AppState,
    me: &crate::auth::CurrentUser,
    csv: &str,
) -> Result<(ImportReport, Vec<ValidUser>), AppError> {
    use domain::views::import::{check_rows, read, ReportLine, RowOutcome};
    let rows = read(csv).map_err(AppError::Validation)?;
    let mut checked = check_rows(&rows);
    let valid: Vec<&ValidUser> = checked.iter().filter_map(|c| c.valid.as_ref()).collect();
    let mut plans = storage::users::import_plan(&state.db, &valid)
        .await?
        .into_iter();
    let mut lines = Vec::with_capacity(rows.len());
    for (row, c) in rows.iter().zip(&mut checked) {
        let mut holder = None;
        if let Some(v) = &c.valid {
            let plan = plans.next().expect("a plan for every valid row");
            holder = plan.existing;
            if plan.zone_refused {
                c.problems.push(domain::Words::fill(
                    "Zona '{}' tidak ada atau nonaktif.",
                    "Zone '{}' does not exist or is inactive.",
                    &[&row.form.work_zone],
                ));
            }
            // An import must not take away the importing admin's own access.
            if holder == Some(me.id) && refuse_self_lockout(v.role.is_admin() && v.active).is_err()
            {
                c.problems.push(domain::Words::new(
                    "Baris ini melepas peran admin Anda sendiri.",
                    "This row drops your own admin role.",
                ));
            }
        }
        let outcome = if !c.problems.is_empty() {
            RowOutcome::Refused(std::mem::take(&mut c.problems))
        } else if holder.is_some() {
            RowOutcome::Update
        } else {
            RowOutcome::New
        };
        lines.push(ReportLine {
            line: row.line,
            name: row.form.name.trim().to_owned(),
            email: row.form.email.trim().to_lowercase(),
            outcome,
        });
    }
    let valid = checked.into_iter().filter_map(|c| c.valid).collect();
    Ok((
        ImportReport {
            lines,
            saved: false,
            links_sent: 0,
        },
        valid,
    ))
}
