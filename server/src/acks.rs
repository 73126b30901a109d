//! Acknowledgement links: `/ack/{token}`, the signed link in an alert's
//! WhatsApp, SMS and email messages.
//!
//! GET shows the alert and a button; only the POST the button sends
//! acknowledges. Link previews (WhatsApp fetches every link it shows) and
//! mail scanners open links with GET, so a GET that acknowledged would close
//! alerts nobody read. A forged or altered token is refused (403) and logged
//! without the token; an expired one says so (410); a link used again shows
//! who acknowledged and changes nothing.

use app::alerts::{AckOutcome, AlertView};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::escalation::AckChannel;
use domain::time::format_wib;
use domain::Locale;
use std::sync::Arc;
use storage::alerts as store;
use storage::db::Db;
use storage::feed::Feed;
use storage::keys::ack_links::{LinkError, LinkKey};
use storage::now_ms;

pub struct Acks {
    pub db: Db,
    pub feed: Feed,
    pub key: LinkKey,
}

pub fn router(state: Arc<Acks>) -> Router {
    Router::new()
        .route("/ack/{token}", get(show).post(confirm))
        .with_state(state)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small page of its own: whoever opens the link may have no session.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}}
main{{max-width:34rem;margin:2rem auto;background:#fff;border-radius:10px;padding:1.5rem;box-shadow:0 1px 3px #0002}}
h1{{font-size:1.3rem;margin-top:0}} pre{{white-space:pre-wrap;font:inherit;background:#f4f6f8;padding:.8rem;border-radius:6px}}
button{{font:inherit;font-size:1.1rem;padding:.7rem 1.4rem;border:0;border-radius:6px;background:#0b6e4f;color:#fff;cursor:pointer;width:100%}}
.done{{color:#0b6e4f;font-weight:600}} .muted{{color:#5b6773}}
</style></head><body><main>{body}</main></body></html>"#,
        title = escape(title),
    );
    let mut r = (status, Html(html)).into_response();
    // The page carries a capability: no caching, no referrer.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("valid"));
    // No script at all; its one style sheet is inline (the rest of the
    // site's policy admits none), its one form posts here.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
            .parse()
            .expect("valid"),
    );
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        "no-referrer".parse().expect("valid"),
    );
    r
}

fn refused(e: LinkError) -> Response {
    match e {
        LinkError::Forged => {
            tracing::warn!("acknowledgement link refused: bad signature");
            page(
                StatusCode::FORBIDDEN,
                "Tautan tidak valid",
                "<h1>Tautan tidak valid</h1><p>Tautan konfirmasi ini tidak dikenal. \
                 Buka kotak masuk di aplikasi untuk mengonfirmasi.</p>",
            )
        }
        LinkError::Expired => page(
            StatusCode::GONE,
            "Tautan kedaluwarsa",
            "<h1>Tautan kedaluwarsa</h1><p>Tautan konfirmasi ini sudah kedaluwarsa. \
             Buka kotak masuk di aplikasi untuk mengonfirmasi.</p>",
        ),
    }
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Tidak ditemukan",
        "<h1>Peringatan tidak ditemukan</h1>",
    )
}

fn unavailable(e: &storage::Error) -> Response {
    tracing::error!("acknowledgement link: {e}");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Coba lagi",
        "<h1>Coba lagi sebentar</h1><p>Layanan sedang sibuk.</p>",
    )
}

fn acknowledged_line(v: &AlertView) -> String {
    format!(
        "<p class=\"done\" data-testid=\"acknowledged\">Sudah dikonfirmasi oleh {} pada {} WIB melalui {}.</p>",
        escape(v.acknowledged_by.as_deref().unwrap_or("-")),
        v.acknowledged_at.map(format_wib).unwrap_or_default(),
        v.ack_channel.map(|c| c.label(Locale::Id)).unwrap_or("-"),
    )
}

async fn show(State(acks): State<Arc<Acks>>, Path(token): Path<String>) -> Response {
    let claim = match acks.key.verify(&token, now_ms()) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    let (alert, message) = match store::by_ack_key(&acks.db, &claim.ack_key).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    let state = if alert.open {
        "<form method=\"post\"><button type=\"submit\" data-testid=\"acknowledge\">Konfirmasi: saya tangani</button></form>"
            .to_owned()
    } else {
        acknowledged_line(&alert)
    };
    page(
        StatusCode::OK,
        "Konfirmasi peringatan",
        &format!(
            "<h1>Konfirmasi peringatan</h1><pre>{}</pre>{state}",
            escape(&domain::sms::plain(&message))
        ),
    )
}

async fn confirm(State(acks): State<Arc<Acks>>, Path(token): Path<String>) -> Response {
    let now = now_ms();
    let claim = match acks.key.verify(&token, now) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    let alert_id = match store::by_ack_key(&acks.db, &claim.ack_key).await {
        Ok(Some((alert, _))) => alert.id,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    let link = AckChannel::Link;
    match store::acknowledge_and_announce(&acks.db, &acks.feed, alert_id, claim.user_id, link, now)
        .await
    {
        Ok(AckOutcome::NotRecipient) => {
            return page(
                StatusCode::FORBIDDEN,
                "Bukan penerima",
                "<h1>Bukan penerima</h1><p>Tautan ini bukan untuk peringatan yang dikirim kepada Anda.</p>",
            )
        }
        Ok(_) => {}
        Err(e) => return unavailable(&e),
    }
    // Back to the GET: a reload does not post again, and it shows who
    // acknowledged (this user, or whoever was first).
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/ack/{token}"))],
    )
        .into_response()
}
