//! Fonnte's and Wablas's callbacks: delivery statuses and incoming
//! messages, on a URL that carries the account's `webhook_token`.

use super::*;
use crate::providers::{fonnte, wablas};

pub(super) async fn fonnte(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Fonnte, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let fonnte::StatusCallback {
        id,
        state_id,
        status,
        state,
        error,
    } = fonnte::status_callback(&v);
    let mut outcome = Vec::new();
    if let (Some(id), Some(sid)) = (&id, &state_id) {
        let _ = store::link_reference(&hooks.db, "fonnte", id, sid).await;
    }
    if let Some(id) = &id {
        outcome.push(
            apply(
                &hooks,
                "fonnte",
                MessageKey::Id(id),
                status,
                now,
                error.as_deref(),
                state_id.as_deref(),
            )
            .await,
        );
        if state.is_some() {
            outcome.push(
                apply(
                    &hooks,
                    "fonnte",
                    MessageKey::Id(id),
                    state,
                    now,
                    None,
                    state_id.as_deref(),
                )
                .await,
            );
        }
    } else if let Some(sid) = &state_id {
        outcome.push(
            apply(
                &hooks,
                "fonnte",
                MessageKey::Ref(sid),
                state.or(status),
                now,
                error.as_deref(),
                None,
            )
            .await,
        );
    } else {
        outcome.push("ignored: neither id nor stateid".into());
    }
    acknowledge(
        &hooks,
        "fonnte",
        account_id,
        &body,
        &outcome.join("; "),
        now,
    )
    .await
}

pub(super) async fn wablas(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Wablas, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let outcome = match wablas::status_callback(&v) {
        Some((id, status, error)) => {
            apply(
                &hooks,
                "wablas",
                MessageKey::Id(&id),
                status,
                now,
                error.as_deref(),
                None,
            )
            .await
        }
        None => "ignored: no id".into(),
    };
    acknowledge(&hooks, "wablas", account_id, &body, &outcome, now).await
}

/// Fonnte's incoming-message webhook: `sender` (the chat: a number, or a
/// group id with the person in `member`) and `message`.
pub(super) async fn fonnte_inbound(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Fonnte, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let (id, from, message) = fonnte::inbound(&v);
    let inbound = Inbound::from_gateway(id.as_deref(), &from, &message);
    let outcome = reply(&hooks, "fonnte", inbound, now).await;
    acknowledge(&hooks, "fonnte", account_id, &body, &outcome, now).await
}

/// Wablas's incoming-message webhook: `phone` (or `sender` in a group),
/// `message`, and `isFromMe` for our own messages echoed back.
pub(super) async fn wablas_inbound(
    State(hooks): State<Arc<Webhooks>>,
    Path(account_id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match gateway_body(&hooks, account_id, ProviderKind::Wablas, &query, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let outcome = match wablas::inbound(&v) {
        None => "ignored: our own message".to_owned(),
        Some((id, from, message)) => {
            let inbound = Inbound::from_gateway(id.as_deref(), &from, &message);
            reply(&hooks, "wablas", inbound, now).await
        }
    };
    acknowledge(&hooks, "wablas", account_id, &body, &outcome, now).await
}
