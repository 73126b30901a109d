//! Master data → WhatsApp groups → one group: its fields, members, routing
//! rules (with a live template preview rendered by the same template code the
//! server sends with) and a test send that shows the delivery's progress.

use super::{
    get_group, list_work_zones, AddRule, DeleteGroup, DeleteRule, GroupDetail, GroupForm, RuleForm,
    SaveGroup, SetMembers, TestSend,
};
use crate::deliveries::page::DeliveryProgress;
use crate::error::{AppError, FieldError};
use crate::i18n::{self, fill, tr};
use crate::ui::category_label;
use crate::ui::{role_label, ErrorNote, Loading};
use domain::template::{Escape, Template};
use domain::{GroupCategory, GroupId, NotificationType, Priority};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;

fn errors_of(result: Option<Result<impl Clone, AppError>>) -> Vec<FieldError> {
    match result {
        Some(Err(AppError::Validation(v))) => v,
        _ => vec![],
    }
}

/// `/master/groups/new` and `/master/groups/:id`.
#[component]
pub fn GroupEditorPage() -> impl IntoView {
    let params = use_params_map();
    let id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<GroupId>().ok())));
    view! {
        <p><a href="/master/groups">{tr("« Grup WhatsApp", "« WhatsApp groups")}</a></p>
        {move || match id.get() {
            None => view! { <NewGroup/> }.into_any(),
            Some(id) => view! { <ExistingGroup id=id/> }.into_any(),
        }}
    }
}

#[component]
fn NewGroup() -> impl IntoView {
    let zones = Resource::new(|| (), |_| list_work_zones(true));
    let form = GroupForm {
        active: true,
        category: GroupCategory::Technicians.as_str().into(),
        ..Default::default()
    };
    view! {
        <h1>{tr("Grup baru", "New group")}</h1>
        <Suspense fallback=Loading>
            {move || {
                let form = form.clone();
                Suspend::new(async move {
                    match zones.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(zones) => view! { <GroupFields initial=form zones=zones/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn ExistingGroup(id: GroupId) -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let detail = Resource::new(move || changed.get(), move |_| get_group(id));
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(d) => view! { <GroupEditor d=d changed=changed/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn GroupEditor(d: GroupDetail, changed: RwSignal<u32>) -> impl IntoView {
    let g = &d.group;
    let form = GroupForm {
        id: Some(g.id),
        name: g.name.clone(),
        description: g.description.clone(),
        chat_id: g.chat_id.clone(),
        phone_number: g.phone_number.clone().unwrap_or_default(),
        category: g.category.as_str().into(),
        work_zone: g.work_zone.clone().unwrap_or_default(),
        active: g.active,
    };
    let sample_template = d
        .rules
        .iter()
        .map(|r| r.template.clone())
        .find(|t| !t.is_empty());
    view! {
        <h1>{g.name.clone()}</h1>
        <GroupFields initial=form zones=d.work_zones.clone()/>
        <Members group_id=g.id members=d.members.clone() changed=changed/>
        <Rules group_id=g.id rules=d.rules.clone() zones=d.work_zones.clone() changed=changed/>
        <TestSendCard group_id=g.id sample=sample_template/>
        <DeleteCard group_id=g.id name=g.name.clone()/>
    }
}

#[component]
fn GroupFields(initial: GroupForm, zones: Vec<(String, String)>) -> impl IntoView {
    let form = RwSignal::new(initial);
    let save = ServerAction::<SaveGroup>::new();
    let client_errors = RwSignal::new(Vec::<FieldError>::new());
    let errors = Signal::derive(move || {
        let c = client_errors.get();
        if c.is_empty() {
            errors_of(save.value().get())
        } else {
            c
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = save.value().get() {
            if form.with_untracked(|f| f.id.is_none()) {
                navigate(&format!("/master/groups/{id}"), NavigateOptions::default());
            }
        }
    });
    let text = move |field: &'static str,
                     label: &'static str,
                     get: fn(&GroupForm) -> String,
                     set: fn(&mut GroupForm, String)| {
        view! {
            <label for=format!("group-{field}")>{label}
                <input id=format!("group-{field}") aria-describedby=format!("group-{field}-error")
                    prop:value=move || form.with(get)
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
            </label>
            {move || errors.with(|e| FieldError::find(e, field, i18n::locale())).map(|m| view! {
                <p class="field-error" id=format!("group-{field}-error") role="alert">{m}</p>
            })}
        }
    };
    view! {
        <form class="card" data-testid="group-form" novalidate on:submit=move |ev| {
            ev.prevent_default();
            let f = form.get();
            match f.validate() {
                Ok(_) => { client_errors.set(vec![]); save.dispatch(SaveGroup { form: f }); }
                Err(e) => client_errors.set(e),
            }
        }>
            <h2>{tr("Data grup", "Group details")}</h2>
            {text("name", tr("Nama", "Name"), |f| f.name.clone(), |f, v| f.name = v)}
            {text("description", tr("Deskripsi", "Description"), |f| f.description.clone(), |f, v| f.description = v)}
            {text("chat_id", tr("ID grup WhatsApp", "WhatsApp group id"), |f| f.chat_id.clone(), |f, v| f.chat_id = v)}
            {text("phone_number", tr("Nomor admin grup (opsional)", "Group admin's number (optional)"), |f| f.phone_number.clone(), |f, v| f.phone_number = v)}
            <div class="row">
                <label for="group-category">{tr("Kategori", "Category")}
                    <select id="group-category"
                        prop:value=move || form.with(|f| f.category.clone())
                        on:change=move |ev| form.update(|f| f.category = event_target_value(&ev))>
                        {GroupCategory::ALL.iter().map(|c| view! {
                            <option value=c.as_str()>{category_label(*c)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label for="group-work_zone">{tr("Zona kerja", "Work zone")}
                    <select id="group-work_zone"
                        prop:value=move || form.with(|f| f.work_zone.clone())
                        on:change=move |ev| form.update(|f| f.work_zone = event_target_value(&ev))>
                        <option value="">{tr("Semua zona", "All zones")}</option>
                        {zones.into_iter().map(|(code, name)| view! { <option value=code>{name}</option> }).collect_view()}
                    </select>
                </label>
                <label class="switch" for="group-active">
                    <input type="checkbox" id="group-active"
                        prop:checked=move || form.with(|f| f.active)
                        on:change=move |ev| form.update(|f| f.active = event_target_checked(&ev))/>
                    <span>{tr("Aktif", "Active")}</span>
                </label>
            </div>
            {move || errors.with(|e| FieldError::find(e, "work_zone", i18n::locale())).map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>{tr("Simpan grup", "Save group")}</button>
                {move || match save.value().get() {
                    Some(Ok(_)) => view! { <p class="notice" role="status">{tr("Grup tersimpan.", "Group saved.")}</p> }.into_any(),
                    Some(Err(e)) if !matches!(e, AppError::Validation(_)) => view! { <ErrorNote error=e/> }.into_any(),
                    _ => ().into_any(),
                }}
            </div>
        </form>
    }
}

#[component]
fn Members(
    group_id: GroupId,
    members: Vec<super::MemberOption>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let chosen = RwSignal::new(
        members
            .iter()
            .filter(|m| m.member)
            .map(|m| m.user_id)
            .collect::<Vec<_>>(),
    );
    let filter = RwSignal::new(String::new());
    let save = ServerAction::<SetMembers>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    let members = StoredValue::new(members);
    view! {
        <section class="card" data-testid="members">
            <h2>{tr("Anggota", "Members")}</h2>
            <label>{tr("Cari pengguna", "Search users")}
                <input type="search" prop:value=filter on:input=move |ev| filter.set(event_target_value(&ev))/>
            </label>
            <ul class="pick-list">
                {move || {
                    let q = filter.get().to_lowercase();
                    members.with_value(|all| all.iter()
                        .filter(|m| q.is_empty() || m.name.to_lowercase().contains(&q))
                        .map(|m| {
                            let uid = m.user_id;
                            view! {
                                <li>
                                    <label class="switch">
                                        <input type="checkbox"
                                            prop:checked=move || chosen.with(|c| c.contains(&uid))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                chosen.update(|c| {
                                                    c.retain(|x| *x != uid);
                                                    if on { c.push(uid); }
                                                });
                                            }/>
                                        <span>{m.name.clone()} " · " {role_label(m.role)}
                                            {m.work_zone.clone().map(|z| format!(" · {z}"))}</span>
                                    </label>
                                </li>
                            }
                        }).collect_view())
                }}
            </ul>
            <button type="button" disabled=move || save.pending().get()
                on:click=move |_| { save.dispatch(SetMembers { group_id, user_ids: chosen.get() }); }>
                {move || fill(tr("Simpan anggota ({})", "Save members ({})"), &[&chosen.with(Vec::len)])}
            </button>
            {move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </section>
    }
}

#[component]
fn Rules(
    group_id: GroupId,
    rules: Vec<super::RuleView>,
    zones: Vec<(String, String)>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let locale = i18n::locale();
    let add = ServerAction::<AddRule>::new();
    let remove = ServerAction::<DeleteRule>::new();
    let form = RwSignal::new(RuleForm {
        group_id,
        notification_type: NotificationType::NewTicket.as_str().into(),
        ..Default::default()
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    let client_errors = RwSignal::new(Vec::<FieldError>::new());
    let errors = Signal::derive(move || {
        let c = client_errors.get();
        if c.is_empty() {
            errors_of(add.value().get())
        } else {
            c
        }
    });
    // The preview: parsed and rendered in the browser on every keystroke.
    let preview = move || {
        form.with(|f| {
            if f.template.trim().is_empty() {
                return Ok(tr(
                    "(template bawaan jenis notifikasi ini)",
                    "(this notification type's default template)",
                )
                .to_owned());
            }
            Template::parse_checked(&f.template)
                .map(|t| t.render_lenient(&domain::template::sample_values(), Escape::WhatsApp, ""))
                .map_err(|e| e.message(i18n::locale()))
        })
    };
    let zone_name = {
        let zones = zones.clone();
        move |code: &Option<String>| match code {
            None => tr("semua zona", "all zones").to_owned(),
            Some(c) => zones
                .iter()
                .find(|(z, _)| z == c)
                .map(|(_, n)| n.clone())
                .unwrap_or(c.clone()),
        }
    };
    view! {
        <section class="card" data-testid="rules">
            <h2>{tr("Aturan notifikasi", "Notification rules")}</h2>
            {if rules.is_empty() {
                view! { <p class="muted">{tr("Belum ada aturan: grup ini tidak menerima notifikasi otomatis.", "No rules yet: this group receives no automatic notifications.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="rules">
                        {rules.into_iter().map(|r| {
                            let id = r.id;
                            view! {
                                <li data-testid="rule-row">
                                    <strong>{r.notification_type.label(locale)}</strong>
                                    {tr(" · prioritas ", " · priority ")}
                                    {r.min_priority.map(|p| format!("≥ {}", p.label(locale))).unwrap_or_else(|| tr("apa saja", "any").into())}
                                    " · " {zone_name(&r.work_zone)}
                                    {(!r.enabled).then_some(tr(" · nonaktif", " · off"))}
                                    {(!r.template.is_empty()).then(|| view! { <pre class="message">{r.template.clone()}</pre> })}
                                    <button type="button" class="link"
                                        on:click=move |_| { remove.dispatch(DeleteRule { id }); }>{tr("Hapus aturan", "Delete rule")}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <form class="rule-form" novalidate on:submit=move |ev| {
                ev.prevent_default();
                let f = form.get();
                match f.validate() {
                    Ok(_) => { client_errors.set(vec![]); add.dispatch(AddRule { form: f }); }
                    Err(e) => client_errors.set(e),
                }
            }>
                <h3>{tr("Tambah aturan", "Add a rule")}</h3>
                <div class="row">
                    <label for="rule-type">{tr("Jenis notifikasi", "Notification type")}
                        <select id="rule-type" prop:value=move || form.with(|f| f.notification_type.clone())
                            on:change=move |ev| form.update(|f| f.notification_type = event_target_value(&ev))>
                            {NotificationType::ALL.iter().map(|t| view! {
                                <option value=t.as_str()>{t.label(locale)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label for="rule-priority">{tr("Prioritas minimal", "Minimum priority")}
                        <select id="rule-priority" prop:value=move || form.with(|f| f.min_priority.clone())
                            on:change=move |ev| form.update(|f| f.min_priority = event_target_value(&ev))>
                            <option value="">{tr("Apa saja", "Any")}</option>
                            {Priority::ALL.iter().map(|p| view! { <option value=p.as_str()>{p.label(locale)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label for="rule-zone">{tr("Zona kerja", "Work zone")}
                        <select id="rule-zone" prop:value=move || form.with(|f| f.work_zone.clone())
                            on:change=move |ev| form.update(|f| f.work_zone = event_target_value(&ev))>
                            <option value="">{tr("Semua zona", "All zones")}</option>
                            {zones.iter().map(|(code, name)| view! { <option value=code.clone()>{name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <label for="rule-template">{tr("Template (kosongkan untuk template bawaan)", "Template (leave empty for the default one)")}
                    <textarea id="rule-template" rows="5" aria-describedby="rule-template-error"
                        placeholder="🎫 *TIKET BARU* {ticket_id} di {location}"
                        prop:value=move || form.with(|f| f.template.clone())
                        on:input=move |ev| form.update(|f| f.template = event_target_value(&ev))></textarea>
                </label>
                {move || errors.with(|e| FieldError::find(e, "template", i18n::locale())).map(|m| view! {
                    <p class="field-error" id="rule-template-error" role="alert">{m}</p>
                })}
                <h4>{tr("Pratinjau", "Preview")}</h4>
                {move || match preview() {
                    Ok(text) => view! { <pre class="message preview" data-testid="template-preview">{text}</pre> }.into_any(),
                    Err(e) => view! { <p class="field-error" data-testid="template-preview-error" role="alert">{e}</p> }.into_any(),
                }}
                <button type="submit" class="primary" disabled=move || add.pending().get()>{tr("Tambah aturan", "Add rule")}</button>
                {move || match add.value().get() {
                    Some(Err(e)) if !matches!(e, AppError::Validation(_)) => Some(view! { <ErrorNote error=e/> }),
                    _ => None,
                }}
            </form>
        </section>
    }
}

#[component]
fn TestSendCard(group_id: GroupId, sample: Option<String>) -> impl IntoView {
    let initial = sample
        .and_then(|t| Template::parse(&t).ok())
        .map(|t| t.render_lenient(&domain::template::sample_values(), Escape::WhatsApp, ""))
        .unwrap_or_else(|| {
            tr(
                "✅ *Uji kirim* dari Notifikasi ISP. Abaikan pesan ini.",
                "✅ *Test send* from ISP Notifications. Please ignore this message.",
            )
            .into()
        });
    let message = RwSignal::new(initial);
    let send = ServerAction::<TestSend>::new();
    let delivery_id = Memo::new(move |_| send.value().get().and_then(Result::ok));
    view! {
        <section class="card" data-testid="test-send">
            <h2>{tr("Uji kirim", "Test send")}</h2>
            <p class="muted">{tr("Mengirim pesan sungguhan lewat penyedia WhatsApp yang aktif (sandbox bila belum diatur).", "Sends a real message through the active WhatsApp provider (the sandbox until one is set up).")}</p>
            <label for="test-message">{tr("Pesan", "Message")}
                <textarea id="test-message" rows="4" prop:value=message
                    on:input=move |ev| message.set(event_target_value(&ev))></textarea>
            </label>
            <button type="button" class="primary" data-testid="test-send-button"
                disabled=move || send.pending().get()
                on:click=move |_| { send.dispatch(TestSend { group_id, message: message.get() }); }>
                {tr("Kirim uji", "Send test")}
            </button>
            {move || send.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            <DeliveryProgress delivery_id/>
        </section>
    }
}

#[component]
fn DeleteCard(group_id: GroupId, name: String) -> impl IntoView {
    let delete = ServerAction::<DeleteGroup>::new();
    let confirming = RwSignal::new(false);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/master/groups", NavigateOptions::default());
        }
    });
    view! {
        <section class="card danger">
            <h2>{tr("Hapus grup", "Delete the group")}</h2>
            <p class="muted">{tr("Untuk berhenti sementara, nonaktifkan grup saja. Menghapus juga menghapus anggota dan aturannya; log pengiriman tetap ada.", "To pause it, make the group inactive instead. Deleting also removes its members and rules; the delivery log stays.")}</p>
            <Show when=move || confirming.get()
                fallback=move || view! {
                    <button type="button" data-testid="delete-group" on:click=move |_| confirming.set(true)>{tr("Hapus grup…", "Delete group…")}</button>
                }>
                <p role="alert">{fill(tr("Hapus grup \u{201c}{}\u{201d}? Tindakan ini tidak dapat dibatalkan.", "Delete the group \u{201c}{}\u{201d}? This cannot be undone."), &[&name])}</p>
                <button type="button" class="danger" data-testid="confirm-delete"
                    on:click=move |_| { delete.dispatch(DeleteGroup { id: group_id }); }>{tr("Ya, hapus", "Yes, delete")}</button>
                <button type="button" on:click=move |_| confirming.set(false)>{tr("Batal", "Cancel")}</button>
            </Show>
            {move || delete.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </section>
    }
}
