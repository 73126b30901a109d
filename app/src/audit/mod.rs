//! Master data → Audit trail (admin): every admin change with who, when,
//! what, and the record before and after; filters by area, person and WIB
//! dates; newest first, 50 at a time.
//!
//! The entries are written by the stores in the change's own transaction
//! (`storage::audit`); the shared types are `domain::views::audit`.

use crate::error::AppError;
use crate::i18n::{locale, tr};
use crate::ui::{refused_page, ErrorNote, FieldMessage, Loading};
use domain::views::audit::{action_label, changes, AuditEntry, AuditFilter, AREAS, PAGE_SIZE};
use leptos::prelude::*;

#[server(endpoint = "audit/list", input = leptos::server_fn::codec::Json)]
pub async fn list_audit(filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Audit)?;
    Ok(storage::audit::list(&state.db, &filter).await?)
}

/// `/master/audit`.
#[component]
pub fn AuditPage() -> impl IntoView {
    let title = tr("Jejak audit", "Audit trail");
    if let Some(refused) = refused_page(crate::auth::Area::Audit, title) {
        return refused;
    }
    // What the form shows, and what was last asked for (the list follows it).
    let form = RwSignal::new(AuditFilter::default());
    let asked = RwSignal::new(AuditFilter::default());
    let entries = Resource::new(move || asked.get(), list_audit);
    let errors = Signal::derive(move || match entries.get() {
        Some(Err(AppError::Validation(v))) => v,
        _ => Vec::new(),
    });
    let text = move |field: &'static str, label: &'static str, kind: &'static str| {
        let get = move || {
            form.with(|f| match field {
                "actor" => f.actor.clone(),
                "from" => f.from.clone(),
                _ => f.to.clone(),
            })
        };
        view! {
            <label for=format!("audit-{field}")>{label}
                <input id=format!("audit-{field}") type=kind prop:value=get
                    aria-describedby=format!("{field}-error")
                    aria-invalid=move || errors.with(|e| e.iter().any(|x| x.field == field)).to_string()
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        form.update(|f| match field {
                            "actor" => f.actor = v,
                            "from" => f.from = v,
                            _ => f.to = v,
                        });
                    }/>
            </label>
        }
    };
    view! {
        <h1>{title}</h1>
        <p class="muted">{tr(
            "Setiap perubahan oleh admin (dan setiap gagal masuk): siapa, kapan, apa, dengan data sebelum dan sesudahnya. Rahasia penyedia tidak pernah dicatat.",
            "Every admin change (and every failed sign-in): who, when, what, with the record before and after. Provider secrets are never recorded.")}</p>
        <form class="card form filters" data-testid="audit-filters" on:submit=move |ev| {
            ev.prevent_default();
            asked.set(AuditFilter { before_id: None, ..form.get_untracked() });
        }>
            <div class="row">
                <label for="audit-area">{tr("Bagian", "Area")}
                    <select id="audit-area" aria-describedby="area-error"
                        on:change=move |ev| form.update(|f| f.area = event_target_value(&ev))>
                        <option value="">{tr("Semua", "All")}</option>
                        {AREAS.iter().map(|(code, id, en)| view! {
                            <option value=*code>{if locale() == domain::Locale::En { *en } else { *id }}</option>
                        }).collect_view()}
                    </select>
                </label>
                {text("actor", tr("Oleh (nama atau email)", "By (name or email)"), "search")}
                {text("from", tr("Dari tanggal", "From"), "date")}
                {text("to", tr("Sampai tanggal", "To"), "date")}
            </div>
            <FieldMessage errors field="area"/>
            <FieldMessage errors field="from"/>
            <FieldMessage errors field="to"/>
            <button type="submit" class="primary">{tr("Tampilkan", "Show")}</button>
        </form>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match entries.await {
                    Err(AppError::Validation(_)) => ().into_any(),
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="audit-empty">{tr("Tidak ada perubahan yang cocok.", "No matching changes.")}</p>
                    }.into_any(),
                    Ok(list) => {
                        let older = (list.len() as i64 == PAGE_SIZE).then(|| list.last().map(|e| e.id)).flatten();
                        view! {
                            <div class="table-wrap">
                            <table class="audit" data-testid="audit-table">
                                <thead><tr>
                                    <th>{tr("Waktu (WIB)", "Time (WIB)")}</th><th>{tr("Oleh", "By")}</th>
                                    <th>{tr("Perubahan", "Change")}</th><th>{tr("Pada", "Of")}</th>
                                    <th>{tr("Rincian", "Details")}</th>
                                </tr></thead>
                                <tbody>{list.into_iter().map(|e| view! { <Entry e/> }.into_any()).collect_view()}</tbody>
                            </table>
                            </div>
                            {older.map(|id| view! {
                                <button type="button" data-testid="audit-older"
                                    on:click=move |_| asked.update(|a| a.before_id = Some(id))>{tr("Lebih lama »", "Older »")}</button>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
    .into_any()
}

/// A record's JSON, indented for reading (an older build's record that
/// is not a plain object).
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| json.to_owned())
}

/// The fields an entry changed, in words; its raw records when they are
/// not plain objects.
fn details(e: &AuditEntry) -> AnyView {
    match changes(e.before.as_deref(), e.after.as_deref(), locale()) {
        Some(fields) => view! {
            <table class="changes">
                <thead><tr>
                    <th scope="col">{tr("Isian", "Field")}</th>
                    <th scope="col">{tr("Sebelum", "Before")}</th>
                    <th scope="col">{tr("Sesudah", "After")}</th>
                </tr></thead>
                <tbody>{fields.into_iter().map(|c| view! {
                    <tr data-testid="audit-change">
                        <th scope="row">{c.field}</th>
                        <td class="multiline">{c.before}</td>
                        <td class="multiline">{c.after}</td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
        }
        .into_any(),
        None => view! {
            <div class="row">
                <div><strong>{tr("Sebelum", "Before")}</strong>
                    <pre>{e.before.as_deref().map_or_else(|| "—".to_owned(), pretty)}</pre></div>
                <div><strong>{tr("Sesudah", "After")}</strong>
                    <pre>{e.after.as_deref().map_or_else(|| "—".to_owned(), pretty)}</pre></div>
            </div>
        }
        .into_any(),
    }
}

#[component]
fn Entry(e: AuditEntry) -> impl IntoView {
    let has_details = e.before.is_some() || e.after.is_some();
    view! {
        <tr data-testid="audit-row">
            <td>{domain::time::format_wib(e.at)}</td>
            <td>{e.actor.clone()}</td>
            <td>{action_label(&e.action, locale())}</td>
            <td>{e.subject.clone()}</td>
            <td>{has_details.then(|| view! {
                <details>
                    <summary>{tr("Sebelum / sesudah", "Before / after")}</summary>
                    {details(&e)}
                </details>
            })}</td>
        </tr>
    }
}
