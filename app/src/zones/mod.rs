//! Master data → Work zones (admin): add a zone, rename it, switch it off
//! or on, delete one nothing uses. The code is what the API and the data
//! use and never changes; an inactive zone keeps its people, groups and
//! rules but is offered for nothing new.
//!
//! The types the page and the server share are `domain::views::zones`,
//! the SQL `storage::zones`.

use crate::error::AppError;
use crate::i18n::tr;
use crate::ui::{refused_page, ErrorNote, FieldMessage, Loading};
use leptos::prelude::*;

pub use domain::views::zones::*;

#[server(endpoint = "zones/list")]
pub async fn list_zones() -> Result<Vec<ZoneView>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Zones)?;
    Ok(storage::zones::list(&state.db).await?)
}

/// Adds a zone (`form.new`) or saves an existing one's name and state.
#[server(endpoint = "zones/save", input = leptos::server_fn::codec::Json)]
pub async fn save_zone(form: ZoneForm) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Zones)?;
    let valid = form.validate().map_err(AppError::Validation)?;
    let now = crate::time::now_ms();
    if form.new {
        storage::zones::create(&state.db, &crate::state::actor(&me), &valid, now).await?;
    } else {
        storage::zones::update(&state.db, &crate::state::actor(&me), &valid, now).await?;
    }
    tracing::info!(zone = %valid.code, by = %me.id, "work zone saved");
    Ok(())
}

/// Deletes a zone nothing refers to; a zone in use is refused with what
/// uses it.
#[server(endpoint = "zones/delete")]
pub async fn delete_zone(code: String) -> Result<(), AppError> {
    let (me, state) = crate::state::guard(crate::auth::Area::Zones)?;
    storage::zones::delete(
        &state.db,
        &crate::state::actor(&me),
        &code,
        crate::time::now_ms(),
    )
    .await?;
    tracing::info!(zone = %code, by = %me.id, "work zone deleted");
    Ok(())
}

/// `/master/zones`.
#[component]
pub fn ZonesPage() -> impl IntoView {
    if let Some(refused) = refused_page(crate::auth::Area::Zones, tr("Zona kerja", "Work zones")) {
        return refused;
    }
    let save = ServerAction::<SaveZone>::new();
    let delete = ServerAction::<DeleteZone>::new();
    let zones = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_zones(),
    );
    view! {
        <h1>{tr("Zona kerja", "Work zones")}</h1>
        <p class="muted">{tr(
            "Kode zona dipakai sistem tiket (work_zone) dan tidak bisa diubah; namanya bisa. Zona yang masih dipakai tidak bisa dihapus, hanya dinonaktifkan.",
            "The zone code is what the ticketing system sends (work_zone) and cannot change; its name can. A zone in use cannot be deleted, only deactivated.")}</p>
        <NewZone save/>
        {move || delete.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match zones.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                        <table class="zones">
                            <thead><tr>
                                <th>{tr("Kode", "Code")}</th><th>{tr("Nama", "Name")}</th>
                                <th>{tr("Dipakai oleh", "Used by")}</th><th>{tr("Status", "Status")}</th>
                                <th>{tr("Tindakan", "Actions")}</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|z| view! { <ZoneRow z save delete/> }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn NewZone(save: ServerAction<SaveZone>) -> impl IntoView {
    let form = RwSignal::new(ZoneForm {
        new: true,
        code: String::new(),
        name: String::new(),
        active: true,
    });
    let errors = Signal::derive(move || match save.value().get() {
        Some(Err(AppError::Validation(v))) => v,
        _ => Vec::new(),
    });
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(()))) {
            form.update(|f| {
                f.code.clear();
                f.name.clear();
            });
        }
    });
    view! {
        <form class="card form" data-testid="new-zone-form" on:submit=move |ev| {
            ev.prevent_default();
            save.dispatch(SaveZone { form: form.get_untracked() });
        }>
            <h2>{tr("Tambah zona", "Add a zone")}</h2>
            <div class="row">
                <label for="code">{tr("Kode (mis. karawang-timur)", "Code (e.g. karawang-timur)")}
                    <input id="code" aria-describedby="code-error" prop:value=move || form.with(|f| f.code.clone())
                        on:input=move |ev| form.update(|f| f.code = event_target_value(&ev))/>
                </label>
                <label for="zone-name">{tr("Nama", "Name")}
                    <input id="zone-name" aria-describedby="name-error" prop:value=move || form.with(|f| f.name.clone())
                        on:input=move |ev| form.update(|f| f.name = event_target_value(&ev))/>
                </label>
            </div>
            <FieldMessage errors field="code"/>
            <FieldMessage errors field="name"/>
            <button type="submit" class="primary" disabled=move || save.pending().get()>{tr("Tambah zona", "Add the zone")}</button>
        </form>
    }
}

#[component]
fn ZoneRow(
    z: ZoneView,
    save: ServerAction<SaveZone>,
    delete: ServerAction<DeleteZone>,
) -> impl IntoView {
    let name = RwSignal::new(z.name.clone());
    let code = z.code.clone();
    let used = z.use_summary(crate::i18n::locale());
    let form = move |active: bool| ZoneForm {
        new: false,
        code: code.clone(),
        name: name.get_untracked(),
        active,
    };
    let (form_rename, form_toggle) = (form.clone(), form);
    let active = z.active;
    let delete_code = z.code.clone();
    view! {
        <tr data-testid="zone-row">
            <td><code>{z.code.clone()}</code></td>
            <td>
                <input aria-label=tr("Nama zona", "Zone name") data-testid="zone-name" prop:value=name
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <button type="button" data-testid="rename-zone"
                    on:click=move |_| { save.dispatch(SaveZone { form: form_rename(active) }); }>{tr("Simpan nama", "Save name")}</button>
            </td>
            <td>{used}</td>
            <td>{if active { tr("Aktif", "Active") } else { tr("Nonaktif", "Inactive") }}</td>
            <td>
                <button type="button" data-testid="toggle-zone"
                    on:click=move |_| { save.dispatch(SaveZone { form: form_toggle(!active) }); }>
                    {if active { tr("Nonaktifkan", "Deactivate") } else { tr("Aktifkan", "Activate") }}
                </button>
                {(!z.in_use()).then(|| view! {
                    <button type="button" class="danger" data-testid="delete-zone"
                        on:click=move |_| { delete.dispatch(DeleteZone { code: delete_code.clone() }); }>{tr("Hapus", "Delete")}</button>
                })}
            </td>
        </tr>
    }
}
