//! Web push: the browsers and devices a person turned push notifications on
//! in (their subscriptions), the server's VAPID public key they subscribe
//! with, and the settings page's part that manages them. The server's
//! `providers::webpush` sends; `public/sw.js` shows what arrives.
//!
//! Here: the page and the server functions. The types they share are
//! `domain::views::push`, the SQL `storage::push`.

#[cfg(feature = "hydrate")]
mod browser;
pub mod page;
#[cfg(feature = "ssr")]
use storage::push as store;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use domain::{
    words::{Clash, Missing},
    Words,
};
use leptos::prelude::*;

pub use domain::views::push::*;

/// The subscription as stored, if its endpoint and keys are usable: the
/// endpoint a push service (`domain::push::endpoint_problem`), `p256dh` a
/// P-256 point and `auth` 16 bytes, both base64url as browsers give them.
#[cfg(feature = "ssr")]
pub fn check_subscription(
    sub: &BrowserSubscription,
    loopback_allowed: bool,
) -> Result<store::Subscription, AppError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let endpoint = sub.endpoint.trim();
    if let Some(problem) = domain::push::endpoint_problem(endpoint, loopback_allowed) {
        // The browser's own subscription, not typed by anyone.
        return Err(AppError::invalid("endpoint", Words::same(problem)));
    }
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim().trim_end_matches('='));
    let point_ok = decode(&sub.keys.p256dh)
        .ok()
        .is_some_and(|b| b.len() == 65 && p256::PublicKey::from_sec1_bytes(&b).is_ok());
    if !point_ok {
        return Err(AppError::invalid(
            "p256dh",
            Words::same("p256dh must be the browser's P-256 public key (65 bytes, base64url)"),
        ));
    }
    if !decode(&sub.keys.auth).is_ok_and(|b| b.len() == 16) {
        return Err(AppError::invalid(
            "auth",
            Words::same("auth must be the browser's 16-byte secret (base64url)"),
        ));
    }
    Ok(store::Subscription {
        id: 0,
        endpoint: endpoint.to_owned(),
        p256dh: sub.keys.p256dh.trim().trim_end_matches('=').to_owned(),
        auth: sub.keys.auth.trim().trim_end_matches('=').to_owned(),
    })
}

/// The signed-in person's devices and, if push is set up, the key to
/// subscribe with.
#[server(endpoint = "push/status")]
pub async fn push_status() -> Result<PushOverview, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let configured = store::configured(&state.db).await?;
    Ok(PushOverview {
        public_key: configured.then(|| state.vapid.public_key().to_owned()),
        devices: store::devices(&state.db, user.id).await?,
    })
}

/// Keeps this browser's subscription for the signed-in person; answers its id.
#[server(endpoint = "push/subscribe", input = leptos::server_fn::codec::Json)]
pub async fn push_subscribe(subscription: BrowserSubscription) -> Result<i64, AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    let valid = check_subscription(&subscription, state.push_loopback)?;
    let agent = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::USER_AGENT).cloned())
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let device = domain::push::device_label(&agent);
    match store::subscribe(&state.db, user.id, &valid, &device, crate::time::now_ms()).await? {
        store::Saved::Id(id) => Ok(id),
        store::Saved::TooMany => Err(AppError::Conflict(Clash::TooManyDevices {
            max: store::MAX_DEVICES as usize,
        })),
        store::Saved::Taken => Err(AppError::Conflict(Clash::Refused(domain::Words::new(
            "Perangkat ini terdaftar untuk akun lain. Matikan push di akun itu, atau izinkan notifikasi lagi di browser ini.",
            "This device is registered to another account. Turn push off there, or allow notifications again in this browser.",
        )))),
    }
}

/// Removes one of the signed-in person's devices.
#[server(endpoint = "push/remove")]
pub async fn push_remove(id: i64) -> Result<(), AppError> {
    let (user, state) = crate::state::guard(crate::auth::Area::Settings)?;
    if store::remove(&state.db, user.id, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(Missing::Device))
    }
}
