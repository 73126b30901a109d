//! `GET /deliveries/export.csv?<filters>`: the filtered delivery log as CSV.
//!
//! A plain Axum handler (a download, not a server function). It streams the
//! rows in keyset batches, so exporting a million rows holds one batch in
//! memory, not the file.

use super::{store, Cursor, DeliveryFilter, DeliveryListItem, Resolved};
use crate::auth::session::SessionInfo;
use crate::auth::Area;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::format_wib;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use storage::db::Db;

const BATCH: usize = 1_000;
/// A UTF-8 byte-order mark first: without it spreadsheet programs read the
/// file in the machine's legacy code page and garble every non-ASCII name.
const HEADER: &str =
    "\u{feff}id,created_at_wib,notification_type,channel,provider,recipient,status,attempts,error\r\n";

pub async fn export_csv(
    State(state): State<AppState>,
    Extension(session): Extension<Option<SessionInfo>>,
    Query(filter): Query<DeliveryFilter>,
) -> Response {
    let Some(session) = session else {
        return (
            StatusCode::UNAUTHORIZED,
            AppError::Unauthenticated.to_string(),
        )
            .into_response();
    };
    if !Area::Deliveries.allows(session.user.role) {
        return (
            StatusCode::FORBIDDEN,
            "Anda tidak berhak mengekspor log pengiriman.",
        )
            .into_response();
    }
    let resolved = match filter.resolve() {
        Ok(r) => r,
        Err(e) => {
            let e = crate::AppError::Validation(e);
            return (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response();
        }
    };
    let stream = futures_util::stream::unfold(
        Some((state.db.clone(), resolved, None::<Cursor>, true)),
        |s| async move {
            let (db, filter, after, first) = s?;
            match batch(&db, &filter, after).await {
                Ok((mut text, next)) => {
                    if first {
                        text.insert_str(0, HEADER);
                    }
                    let rest = next.map(|c| (db, filter, Some(c), false));
                    Some((Ok::<_, std::io::Error>(text), rest))
                }
                // Headers are gone by now: end the body early and say why in
                // the log (the reference is in the error).
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"log-pengiriman.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn batch(
    db: &Db,
    filter: &Resolved,
    after: Option<Cursor>,
) -> Result<(String, Option<Cursor>), AppError> {
    let page = store::page(db, filter, after, BATCH).await?;
    let mut out = String::with_capacity(page.items.len() * 120);
    for d in &page.items {
        write_row(&mut out, d);
    }
    let next = page.next.as_deref().and_then(Cursor::decode);
    Ok((out, next))
}

fn write_row(out: &mut String, d: &DeliveryListItem) {
    let fields = [
        d.id.to_string(),
        format_wib(d.created_at),
        d.notification_type.clone(),
        d.channel.as_str().to_owned(),
        d.provider.clone().unwrap_or_default(),
        d.recipient.clone(),
        d.status.as_str().to_owned(),
        d.attempts.to_string(),
        d.error.clone().unwrap_or_default(),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(f));
    }
    out.push_str("\r\n");
}

/// RFC 4180 quoting, and a leading `'` before `=`, `+`, `-`, `@` so a
/// spreadsheet does not run a provider's error text as a formula. A phone
/// number (`+` and digits only) is left as it is: it can call nothing, and
/// the quote would show in every recipient cell.
pub fn csv_field(value: &str) -> String {
    let phone =
        value.len() > 1 && value.starts_with('+') && value[1..].bytes().all(|b| b.is_ascii_digit());
    let guarded = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if !phone => format!("'{value}"),
        _ => value.to_owned(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+6281234567890"), "+6281234567890");
        assert_eq!(csv_field("+1+1"), "'+1+1");
        assert_eq!(csv_field("+"), "'+");
        assert_eq!(csv_field("-2+3"), "'-2+3");
    }
}
