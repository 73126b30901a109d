//! Pieces every page uses: an error where the data would have been, the
//! loading note, a delete that asks once more, a page refused to a role.

use crate::auth::{Area, CurrentUser};
use crate::error::AppError;
use crate::i18n::tr;
use leptos::prelude::*;

/// Renders a server function's error where the data would have been.
/// Rendered on the server (a page whose record does not exist, a page
/// refused to the role), the page is answered with the error's status
/// (404, 403, 503) instead of 200: the pages render whole before the first
/// byte (`SsrMode::Async`), so the status still applies.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(error.status()) {
            response.set_status(status);
        }
    }
    view! { <p class="error" role="alert">{error.message()}</p> }
}

/// For a page of `area`: `None` when the signed-in role may use it, else the
/// page's title and why not. (The role comes from the layout's context; the
/// server functions check it again.)
pub fn refused_page(area: Area, title: &'static str) -> Option<AnyView> {
    let allowed = use_context::<CurrentUser>().is_some_and(|u| area.allows(u.role));
    (!allowed).then(|| view! { <h1>{title}</h1> <ErrorNote error=area.refusal()/> }.into_any())
}

/// A table row's delete button that asks once more ("Hapus…", then "Ya,
/// hapus" / "Batal"); `testid` names the first button.
#[component]
pub fn ConfirmDelete(testid: &'static str, on_confirm: Callback<()>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    view! {
        <Show when=move || confirming.get()
            fallback=move || view! {
                <button type="button" data-testid=testid on:click=move |_| confirming.set(true)>{tr("Hapus…", "Delete…")}</button>
            }>
            <button type="button" class="danger" data-testid="confirm-delete"
                on:click=move |_| { confirming.set(false); on_confirm.run(()); }>{tr("Ya, hapus", "Yes, delete")}</button>
            <button type="button" on:click=move |_| confirming.set(false)>{tr("Batal", "Cancel")}</button>
        </Show>
    }
}

/// What a page shows while its data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading">{tr("Memuat…", "Loading…")}</p> }
}

/// A field's error line; `aria-describedby` of the input points at its id
/// (`{field}-error`).
#[component]
pub fn FieldMessage(
    errors: Signal<Vec<crate::error::FieldError>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        errors
            .with(|e| crate::error::FieldError::find(e, field, crate::i18n::locale()))
            .map(|m| {
                view! { <p class="field-error" id=format!("{field}-error") role="alert">{m}</p> }
            })
    }
}
