//! Master data → API keys (admin): the keys the ticketing system posts
//! events with. A new key is shown once, to be copied into the ticketing
//! system; afterwards only its first characters, when it was last used, and
//! revocation.
//!
//! The types the page and the server share are `domain::views::api_keys`,
//! the SQL `storage::api_keys`.

use crate::error::AppError;
use crate::i18n::{fill, tr};
use crate::time::format_wib;
use crate::ui::{refused_page, ErrorNote, FieldMessage, Loading};
use leptos::prelude::*;

pub use domain::views::api_keys::*;

#[server(endpoint = "api-keys/list")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::ApiKeys)?;
    Ok(storage::api_keys::list(&state.db).await?)
}

/// Makes a key; the answer is the only time it is shown.
#[server(endpoint = "api-keys/create")]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::ApiKeys)?;
    let name = check_key_name(&name).map_err(AppError::Validation)?;
    let (id, key) = storage::api_keys::create(&state.db, &crate::state::actor(&me), &name).await?;
    tracing::info!(key = id, by = %me.id, "API key created");
    Ok(NewApiKey { id, name, key })
}

#[server(endpoint = "api-keys/revoke")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::ApiKeys)?;
    storage::api_keys::revoke(
        &state.db,
        &crate::state::actor(&me),
        id,
        crate::time::now_ms(),
    )
    .await?;
    // Every instance's key cache forgets it now.
    state.feed.key_revoked();
    tracing::info!(key = id, by = %me.id, "API key revoked");
    Ok(())
}

/// `/master/api-keys`.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    if let Some(refused) = refused_page(crate::auth::Area::ApiKeys, tr("Kunci API", "API keys")) {
        return refused;
    }
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let name = RwSignal::new(String::new());
    let errors = Signal::derive(move || match create.value().get() {
        Some(Err(AppError::Validation(v))) => v,
        _ => Vec::new(),
    });
    view! {
        <h1>{tr("Kunci API", "API keys")}</h1>
        <p class="muted">{tr(
            "Sistem tiket mengirim kejadian ke /api/v1/events dengan salah satu kunci ini (Authorization: Bearer …). Buat satu kunci per sistem, supaya satu bisa dicabut tanpa mengganggu yang lain.",
            "The ticketing system posts events to /api/v1/events with one of these keys (Authorization: Bearer …). Make one key per system, so one can be revoked without disturbing the others.")}</p>
        <form class="card form" data-testid="new-key-form" on:submit=move |ev| {
            ev.prevent_default();
            create.dispatch(CreateApiKey { name: name.get_untracked() });
        }>
            <label for="name">{tr("Nama kunci (untuk sistem apa)", "Key name (which system)")}</label>
            <input id="name" aria-describedby="name-error" placeholder=tr("mis. Sistem tiket produksi", "e.g. Production ticketing system")
                prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
            <FieldMessage errors field="name"/>
            <button type="submit" class="primary" disabled=move || create.pending().get()>{tr("Buat kunci", "Create a key")}</button>
            {move || match create.value().get() {
                Some(Ok(k)) => view! { <ShownOnce k/> }.into_any(),
                Some(Err(e)) if !matches!(e, AppError::Validation(_)) => view! { <ErrorNote error=e/> }.into_any(),
                _ => ().into_any(),
            }}
        </form>
        {move || revoke.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="no-keys">{tr("Belum ada kunci.", "No keys yet.")}</p>
                    }.into_any(),
                    Ok(list) => view! { <KeyTable list revoke/> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

/// The new key, with the warning that it will not be shown again.
#[component]
fn ShownOnce(k: NewApiKey) -> impl IntoView {
    view! {
        <div class="notice" role="status" data-testid="new-key">
            <p><strong>{fill(tr("Kunci \"{}\" dibuat.", "Key \"{}\" created."), &[&k.name])}</strong>
                " " {tr("Salin sekarang ke sistem tiket: kunci ini tidak akan ditampilkan lagi.",
                    "Copy it into the ticketing system now: it will not be shown again.")}</p>
            <input readonly data-testid="new-key-value" aria-label=tr("Kunci API baru", "New API key")
                prop:value=k.key/>
        </div>
    }
}

#[component]
fn KeyTable(list: Vec<ApiKeyView>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    view! {
        <div class="table-wrap">
        <table class="api-keys">
            <thead><tr>
                <th>{tr("Nama", "Name")}</th><th>{tr("Awal kunci", "Key starts")}</th>
                <th>{tr("Dibuat", "Created")}</th><th>{tr("Terakhir dipakai", "Last used")}</th>
                <th>{tr("Status", "Status")}</th><th>{tr("Tindakan", "Actions")}</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|k| {
                    let id = k.id;
                    let live = k.revoked_at.is_none();
                    view! {
                        <tr data-testid="key-row">
                            <td>{k.name.clone()}</td>
                            <td><code>{format!("{}…", k.prefix)}</code></td>
                            <td>{format_wib(k.created_at)}{k.created_by.clone().map(|by| view! { <br/><small class="muted">{by}</small> })}</td>
                            <td>{k.last_used_at.map_or_else(|| tr("Belum pernah", "Never").to_owned(), format_wib)}</td>
                            <td>{match k.revoked_at {
                                None => tr("Aktif", "Active").to_owned(),
                                Some(at) => fill(tr("Dicabut {}", "Revoked {}"), &[&format_wib(at)]),
                            }}</td>
                            <td>{live.then(|| view! { <RevokeButton id revoke/> })}</td>
                        </tr>
                    }
                    // Erased per row: the whole table's type would exceed
                    // the compiler's depth limit in the WASM build.
                    .into_any()
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <p class="muted">{tr("Kunci yang dicabut ditolak dalam 30 detik di setiap server.",
            "A revoked key is refused within 30 seconds on every server.")}</p>
    }
}

/// Revokes after asking once more: the ticketing system stops at once.
#[component]
fn RevokeButton(id: i64, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    view! {
        <Show when=move || confirming.get()
            fallback=move || view! {
                <button type="button" data-testid="revoke-key" on:click=move |_| confirming.set(true)>{tr("Cabut…", "Revoke…")}</button>
            }>
            <button type="button" class="danger" data-testid="confirm-revoke"
                on:click=move |_| { confirming.set(false); revoke.dispatch(RevokeApiKey { id }); }>
                {tr("Ya, cabut: sistem yang memakainya berhenti", "Yes, revoke: the system using it stops")}
            </button>
            <button type="button" on:click=move |_| confirming.set(false)>{tr("Batal", "Cancel")}</button>
        </Show>
    }
}
