//! The providers page's Meta section: each Meta account's templates as
//! last synced (or Meta's reason for refusing), a sync button, and the
//! template each notification type goes out with outside the 24-hour
//! window.

use super::{
    list_meta_templates, AccountTemplates, MappingView, SaveMetaMapping, SyncMetaTemplates,
};
use crate::error::AppError;
use crate::i18n::{fill, tr};
use crate::ui::{meta_category_label, meta_status_label, type_label, ErrorNote, Loading};
use domain::meta_template::MetaTemplate;
use domain::NotificationType;
use leptos::prelude::*;
use std::collections::BTreeMap;

/// Shown only when there is a Meta account; reloaded when `accounts`
/// (the page's account saves) moves.
#[component]
pub fn MetaTemplatesCard(#[prop(into)] accounts: Signal<usize>) -> impl IntoView {
    let sync = ServerAction::<SyncMetaTemplates>::new();
    let map = ServerAction::<SaveMetaMapping>::new();
    let view_data = Resource::new(
        move || (accounts.get(), sync.version().get(), map.version().get()),
        |_| list_meta_templates(),
    );
    view! {
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(v) if v.accounts.is_empty() => ().into_any(),
                    Ok(v) => {
                        let names: Vec<String> = v.accounts.iter()
                            .flat_map(|a| a.templates.iter().map(|t| t.name.clone()))
                            .collect();
                        view! {
                            <section class="card" data-testid="meta-templates">
                                <h2>{tr("Templat Meta", "Meta templates")}</h2>
                                <p class="muted">{tr(
                                    "Di luar jendela 24 jam (orang itu belum menulis ke nomor bisnis dalam sehari), Meta hanya mengantar templat yang disetujui. Jenis notifikasi memakai templat bernama sama (mis. ticket_assigned) dalam bahasa penerima, kecuali dipilih lain di bawah; parameter bernama diisi variabel bernama sama.",
                                    "Outside the 24-hour window (the person has not written to the business number within a day), Meta delivers approved templates only. A notification type uses the template of the same name (e.g. ticket_assigned) in the recipient's language unless another is chosen below; named parameters take the variable of the same name.")}</p>
                                {v.accounts.into_iter().map(|a| view! { <AccountSection a sync/> }).collect_view()}
                                {move || sync.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
                                <MappingEditor mappings=v.mappings names map/>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn AccountSection(a: AccountTemplates, sync: ServerAction<SyncMetaTemplates>) -> impl IntoView {
    let id = a.account_id;
    let state = match (&a.error, a.synced_at) {
        (Some(reason), _) => {
            let plain = domain::meta_template::sync_refusal(reason);
            view! {
                <div class="error" data-testid="meta-sync-refused">
                    <p>{tr("Sinkronisasi terakhir gagal.", "The last sync failed.")}" "
                        {crate::i18n::say(&plain)}</p>
                    <details>
                        <summary>{tr("Jawaban Meta", "Meta's answer")}</summary>
                        <code data-testid="meta-sync-answer">{reason.clone()}</code>
                    </details>
                </div>
            }
            .into_any()
        }
        (None, Some(at)) => view! {
            <p class="muted" data-testid="meta-synced">
                {fill(tr("Disinkronkan {} WIB: {} templat.", "Synced {} WIB: {} templates."),
                    &[&crate::time::format_wib(at), &a.templates.len()])}
            </p>
        }
        .into_any(),
        (None, None) => {
            view! { <p class="muted">{tr("Belum pernah disinkronkan.", "Never synced.")}</p> }
                .into_any()
        }
    };
    view! {
        <h3>{a.account_name.clone()}</h3>
        {(!a.has_waba_id).then(|| view! {
            <p class="muted">{tr("Isi \"waba_id\" (ID Akun WhatsApp Business) di kredensial akun ini untuk menyinkronkan templatnya.",
                "Set \"waba_id\" (the WhatsApp Business Account id) in this account's credentials to sync its templates.")}</p>
        })}
        {state}
        <button type="button" data-testid=format!("meta-sync-{id}") disabled=move || sync.pending().get()
            on:click=move |_| { sync.dispatch(SyncMetaTemplates { account_id: id }); }>
            {tr("Sinkronkan sekarang", "Sync now")}
        </button>
        <TemplateTable templates=a.templates/>
    }
}

#[component]
fn TemplateTable(templates: Vec<MetaTemplate>) -> impl IntoView {
    if templates.is_empty() {
        return ().into_any();
    }
    view! {
        <div class="table-wrap">
        <table data-testid="meta-template-list">
            <thead><tr>
                <th>{tr("Nama", "Name")}</th><th>{tr("Bahasa", "Language")}</th><th>{tr("Kategori", "Category")}</th>
                <th>{tr("Status", "Status")}</th><th>{tr("Parameter", "Parameters")}</th><th>{tr("Tombol balas", "Reply button")}</th>
            </tr></thead>
            <tbody>
                {templates.into_iter().map(|t| view! {
                    <tr>
                        <td>{t.name.clone()}</td><td>{t.language.clone()}</td><td>{meta_category_label(&t.category)}</td>
                        <td>{meta_status_label(&t.status)}</td>
                        <td class="muted">{if t.params.is_empty() { "—".to_owned() } else { t.params.join(", ") }}</td>
                        <td>{if t.quick_reply.is_some() { tr("ya", "yes") } else { "—" }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// `parameter=variable` per line, as the mapping's text area holds it.
fn params_text(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(p, v)| format!("{p}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_params(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(p, v)| (p.trim().to_owned(), v.trim().to_owned()))
        .filter(|(p, _)| !p.is_empty())
        .collect()
}

#[component]
fn MappingEditor(
    mappings: Vec<MappingView>,
    names: Vec<String>,
    map: ServerAction<SaveMetaMapping>,
) -> impl IntoView {
    let kind = RwSignal::new(NotificationType::TicketAssigned.as_str().to_owned());
    let language = RwSignal::new("id".to_owned());
    let template = RwSignal::new(String::new());
    let params = RwSignal::new(String::new());
    let problems = RwSignal::new(None::<AppError>);
    let current = StoredValue::new(mappings.clone());
    // Picking a type and language shows what is saved for them.
    Effect::new(move |_| {
        let (k, l) = (kind.get(), language.get());
        let saved = current.with_value(|m| {
            m.iter()
                .find(|m| m.notification_type == k && m.language == l)
                .cloned()
        });
        template.set(
            saved
                .as_ref()
                .map(|m| m.template_name.clone())
                .unwrap_or_default(),
        );
        params.set(saved.map(|m| params_text(&m.params)).unwrap_or_default());
    });
    let save = move |_| {
        let m = MappingView {
            notification_type: kind.get_untracked(),
            language: language.get_untracked(),
            template_name: template.get_untracked().trim().to_owned(),
            params: parse_params(&params.get_untracked()),
        };
        // Empty: back to the default, nothing to check.
        match (m.template_name.is_empty(), m.validate()) {
            (false, Err(errors)) => problems.set(Some(AppError::Validation(errors))),
            _ => {
                problems.set(None);
                map.dispatch(SaveMetaMapping { mapping: m });
            }
        }
    };
    let types: Vec<NotificationType> = NotificationType::ALL.to_vec();
    view! {
        <h3>{tr("Templat per jenis notifikasi", "Template per notification type")}</h3>
        {(!mappings.is_empty()).then(|| view! {
            <ul data-testid="meta-mappings">
                {mappings.iter().map(|m| view! {
                    <li>{format!("{} ({}) → {}", type_label(&m.notification_type), m.language, m.template_name)}
                        {(!m.params.is_empty()).then(|| format!(" · {}", params_text(&m.params).replace('\n', ", ")))}</li>
                }).collect_view()}
            </ul>
        })}
        <div class="row">
            <label for="m-type">{tr("Jenis", "Type")}
                <select id="m-type" prop:value=kind on:change=move |ev| kind.set(event_target_value(&ev))>
                    {types.into_iter().map(|t| view! { <option value=t.as_str()>{type_label(t.as_str())}</option> }).collect_view()}
                </select>
            </label>
            <label for="m-lang">{tr("Bahasa", "Language")}
                <select id="m-lang" prop:value=language on:change=move |ev| language.set(event_target_value(&ev))>
                    <option value="id">{domain::Locale::Id.name(crate::i18n::locale())}</option>
                    <option value="en">{domain::Locale::En.name(crate::i18n::locale())}</option>
                </select>
            </label>
            <label for="m-template">{tr("Templat (kosong: templat bernama sama dengan jenisnya)", "Template (empty: the one named like the type)")}
                <input id="m-template" list="m-names" prop:value=template on:input=move |ev| template.set(event_target_value(&ev))/>
                <datalist id="m-names">{names.into_iter().map(|n| view! { <option value=n/> }).collect_view()}</datalist>
            </label>
        </div>
        <label for="m-params">{tr("Parameter = variabel, satu per baris (mis. 1=recipient_name)", "Parameter = variable, one per line (e.g. 1=recipient_name)")}
            <textarea id="m-params" rows="3" prop:value=params on:input=move |ev| params.set(event_target_value(&ev))></textarea>
        </label>
        <button type="button" class="primary" data-testid="save-meta-mapping" disabled=move || map.pending().get() on:click=save>
            {tr("Simpan pilihan", "Save choice")}
        </button>
        {move || problems.get().map(|e| view! { <ErrorNote error=e/> })}
        {move || map.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        {move || map.value().get().and_then(Result::ok).map(|_| view! {
            <p role="status" data-testid="meta-mapping-saved">{tr("Pilihan templat tersimpan.", "Template choice saved.")}</p>
        })}
    }
}
