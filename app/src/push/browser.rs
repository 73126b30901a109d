//! The browser's side of push (WASM only): the service worker, the
//! notification permission and the push subscription, through web-sys.

use super::BrowserSubscription;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{PushManager, PushSubscription, ServiceWorkerRegistration};

/// What the browser can do about push here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// No service workers or no Push API (an old browser, or plain HTTP
    /// outside localhost).
    None,
    /// The person blocked notifications for this site.
    Denied,
    Ready,
}

fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

pub fn support() -> Support {
    let Some(window) = web_sys::window() else {
        return Support::None;
    };
    let has = |target: &JsValue, name: &str| {
        js_sys::Reflect::has(target, &JsValue::from_str(name)).unwrap_or(false)
    };
    if !has(&window.navigator(), "serviceWorker") || !has(&window, "PushManager") {
        return Support::None;
    }
    if web_sys::Notification::permission() == web_sys::NotificationPermission::Denied {
        return Support::Denied;
    }
    Support::Ready
}

async fn registration() -> Result<ServiceWorkerRegistration, String> {
    let container = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .service_worker();
    JsFuture::from(container.register("/sw.js"))
        .await
        .map_err(message)?;
    let ready = container.ready().map_err(message)?;
    Ok(JsFuture::from(ready)
        .await
        .map_err(message)?
        .unchecked_into())
}

async fn manager() -> Result<PushManager, String> {
    registration().await?.push_manager().map_err(message)
}

async fn current() -> Result<Option<PushSubscription>, String> {
    let found = JsFuture::from(manager().await?.get_subscription().map_err(message)?)
        .await
        .map_err(message)?;
    Ok((!found.is_null() && !found.is_undefined()).then(|| found.unchecked_into()))
}

/// This browser's push endpoint, if it is subscribed.
pub async fn current_endpoint() -> Result<Option<String>, String> {
    Ok(current().await?.map(|s| s.endpoint()))
}

/// Asks for permission and subscribes with the server's key.
pub async fn subscribe(public_key: &str) -> Result<BrowserSubscription, String> {
    let permission = JsFuture::from(web_sys::Notification::request_permission().map_err(message)?)
        .await
        .map_err(message)?;
    if permission.as_string().as_deref() != Some("granted") {
        return Err("notifications are not allowed for this site".into());
    }
    let options = web_sys::PushSubscriptionOptionsInit::new();
    options.set_user_visible_only(true);
    options.set_application_server_key(&JsValue::from_str(public_key));
    let sub: PushSubscription = JsFuture::from(
        manager()
            .await?
            .subscribe_with_options(&options)
            .map_err(message)?,
    )
    .await
    .map_err(message)?
    .unchecked_into();
    let json = js_sys::JSON::stringify(&sub).map_err(message)?;
    serde_json::from_str(&String::from(json)).map_err(|e| format!("subscription: {e}"))
}

/// Unsubscribes this browser, if it is subscribed.
pub async fn unsubscribe() -> Result<(), String> {
    if let Some(sub) = current().await? {
        JsFuture::from(sub.unsubscribe().map_err(message)?)
            .await
            .map_err(message)?;
    }
    Ok(())
}
