//! The service worker's receipts of web pushes (`public/sw.js`): a shown
//! notification marks its delivery delivered, a click marks it read. Posted
//! with the session cookie from the person's own browser: a receipt for
//! someone else's delivery, or without a session, changes nothing.

use crate::dispatcher::attempt::push_message_id;
use app::live::DeliveryChange;
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use domain::DeliveryStatus;
use serde::Deserialize;
use storage::outbox::{self as store, Applied, MessageKey};
use storage::sessions::SessionInfo;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Receipt {
    delivery: i64,
    /// `shown` or `clicked`.
    event: String,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

pub async fn receipt(
    State(state): State<AppState>,
    Extension(session): Extension<Option<SessionInfo>>,
    body: Bytes,
) -> Response {
    let Some(session) = session else {
        return refuse(StatusCode::UNAUTHORIZED, "sign in first");
    };
    let receipt: Receipt = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("malformed receipt: {e}")),
    };
    let status = match receipt.event.as_str() {
        "shown" => DeliveryStatus::Delivered,
        "clicked" => DeliveryStatus::Read,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "event must be \"shown\" or \"clicked\"",
            )
        }
    };
    match storage::push::push_delivery_owner(&state.db, receipt.delivery).await {
        Ok(Some(owner)) if owner == session.user.id => {}
        Ok(_) => return refuse(StatusCode::NOT_FOUND, "no such push notification of yours"),
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
    let id = push_message_id(receipt.delivery);
    let now = storage::now_ms();
    // A receipt may beat the send's record: it is held and replayed then.
    match store::apply_or_hold(
        &state.db,
        "webpush",
        MessageKey::Id(&id),
        status,
        now,
        None,
        None,
    )
    .await
    {
        Ok(Applied::Moved(id, status)) => {
            state.feed.deliveries([DeliveryChange { id, status }]);
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
