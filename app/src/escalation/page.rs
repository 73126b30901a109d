//! `/master/escalation`: the policies, their steps, and the form.

use super::{list_policies, Choices, DeletePolicy, PolicyForm, PolicyView, SavePolicy, StepForm};
use crate::auth::Area;
use crate::error::AppError;
use crate::i18n::{self, fill, tr};
use crate::ui::channel_label;
use crate::ui::{refused_page, role_label, ConfirmDelete, ErrorNote, Loading};
use domain::escalation::{Step, StepTarget, STEP_CHANNELS};
use domain::{NotificationType, Priority, Role};
use leptos::prelude::*;

/// One line for a step: "after 5 min · Supervisor (the event's zone) · WhatsApp, SMS".
fn step_summary(s: &Step, choices: &Choices) -> String {
    let locale = i18n::locale();
    let who = match &s.target {
        StepTarget::User { user_id } => choices
            .users
            .iter()
            .find(|u| u.0 == *user_id)
            .map_or_else(|| format!("#{user_id}"), |u| u.1.clone()),
        StepTarget::Role { role, zone } => {
            let zone = match zone {
                Some(z) => choices
                    .zones
                    .iter()
                    .find(|c| &c.0 == z)
                    .map_or_else(|| z.clone(), |c| c.1.clone()),
                None => tr("wilayah kejadian", "the event's zone").to_owned(),
            };
            format!("{} ({zone})", role_label(*role))
        }
        StepTarget::Group { group_id } => {
            let name = choices
                .groups
                .iter()
                .find(|g| g.0 == *group_id)
                .map_or_else(|| format!("#{group_id}"), |g| g.1.clone());
            fill(tr("grup {}", "group {}"), &[&name])
        }
    };
    let channels = if matches!(s.target, StepTarget::Group { .. }) {
        "WhatsApp".to_owned()
    } else {
        s.channels
            .iter()
            .map(|c| channel_label(*c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = locale;
    fill(
        tr("setelah {} mnt · {} · {}", "after {} min · {} · {}"),
        &[&s.delay_minutes, &who, &channels],
    )
}

/// Admins only; other roles see why (the server functions check again).
#[component]
pub fn EscalationPage() -> impl IntoView {
    if let Some(refused) = refused_page(Area::Escalation, tr("Eskalasi", "Escalation")) {
        return refused;
    }
    let save = ServerAction::<SavePolicy>::new();
    let delete = ServerAction::<DeletePolicy>::new();
    let policies = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_policies(),
    );
    let form = RwSignal::new(PolicyForm::default());
    view! {
        <h1>{tr("Eskalasi", "Escalation")}</h1>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match policies.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => view! {
                        <section class="card">
                            <h2>{tr("Kebijakan", "Policies")}</h2>
                            <p class="muted">{tr("Notifikasi yang masuk kebijakan tetap terbuka sampai seseorang mengonfirmasi (tombol di kotak masuk, tautan di pesan, atau balasan WhatsApp \"OK\"). Selama belum, setiap tahap menghubungi target berikutnya.", "Notifications under a policy stay open until someone acknowledges them (the inbox button, the link in the message, or a WhatsApp reply \"OK\"). Until then, each step reaches the next target.")}</p>
                            <PolicyTable list=p.list.clone() choices=p.choices.clone() form delete/>
                            {move || delete.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
                        </section>
                        <PolicyFormCard form save choices=p.choices/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn PolicyTable(
    list: Vec<PolicyView>,
    choices: Choices,
    form: RwSignal<PolicyForm>,
    delete: ServerAction<DeletePolicy>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p>{tr("Belum ada kebijakan.", "No policies yet.")}</p> }.into_any();
    }
    let locale = i18n::locale();
    // Deleting asks once more: the policy's open alerts stop escalating.
    view! {
        <div class="table-wrap">
        <table data-testid="escalation-policies">
            <thead><tr>
                <th>{tr("Nama", "Name")}</th><th>{tr("Jenis", "Type")}</th><th>{tr("Prioritas min.", "Min. priority")}</th>
                <th>{tr("Tahap", "Steps")}</th><th>{tr("Terbuka", "Open")}</th><th>{tr("Aktif", "Enabled")}</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|p| {
                    let edit = PolicyForm::from(&p);
                    let id = p.id;
                    let steps: Vec<String> = p.steps.iter().map(|s| step_summary(s, &choices)).collect();
                    view! {
                        <tr data-testid=format!("policy-{id}")>
                            <td>{p.name.clone()}</td>
                            <td>{p.notification_type.map_or_else(|| tr("Semua jenis", "Every type").to_owned(), |t| t.label(locale).to_owned())}</td>
                            <td>{p.min_priority.label(locale)}</td>
                            <td><ol class="steps">{steps.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol></td>
                            <td>{p.open_alerts}</td>
                            <td>{if p.enabled { tr("ya", "yes") } else { tr("tidak", "no") }}</td>
                            <td>
                                <button type="button" on:click=move |_| form.set(edit.clone())>{tr("Ubah", "Edit")}</button>
                                <ConfirmDelete testid="delete-policy"
                                    on_confirm=Callback::new(move |_| { delete.dispatch(DeletePolicy { id }); })/>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

#[component]
fn PolicyFormCard(
    form: RwSignal<PolicyForm>,
    save: ServerAction<SavePolicy>,
    choices: Choices,
) -> impl IntoView {
    let problems = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            form.set(PolicyForm::default());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        match f.validate() {
            Ok(_) => {
                problems.set(None);
                save.dispatch(SavePolicy { form: f });
            }
            Err(errors) => problems.set(Some(AppError::Validation(errors))),
        }
    };
    let locale = i18n::locale();
    let choices = StoredValue::new(choices);
    let count = Memo::new(move |_| form.with(|f| f.steps.len()));
    view! {
        <section class="card" data-testid="policy-form">
            <h2>{move || if form.with(|f| f.id.is_some()) { tr("Ubah kebijakan", "Edit policy") } else { tr("Tambah kebijakan", "Add a policy") }}</h2>
            <form on:submit=submit>
                <label for="e-name">{tr("Nama", "Name")}
                    <input id="e-name" prop:value=move || form.with(|f| f.name.clone())
                        on:input=move |ev| form.update(|f| f.name = event_target_value(&ev))/></label>
                <div class="row">
                    <label for="e-type">{tr("Jenis notifikasi", "Notification type")}
                        <select id="e-type" prop:value=move || form.with(|f| f.notification_type.clone())
                            on:change=move |ev| form.update(|f| f.notification_type = event_target_value(&ev))>
                            <option value="">{tr("Semua jenis", "Every type")}</option>
                            {NotificationType::ALL.iter().map(|t| view! { <option value=t.as_str()>{t.label(locale)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label for="e-priority">{tr("Prioritas minimum", "Minimum priority")}
                        <select id="e-priority" prop:value=move || form.with(|f| f.min_priority.clone())
                            on:change=move |ev| form.update(|f| f.min_priority = event_target_value(&ev))>
                            {Priority::ALL.iter().map(|p| view! { <option value=p.as_str()>{p.label(locale)}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <label class="check"><input type="checkbox" prop:checked=move || form.with(|f| f.enabled)
                    on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev))/>{tr("Aktif", "Enabled")}</label>
                <h3>{tr("Tahap", "Steps")}</h3>
                <p class="muted">{tr("Jeda dihitung dari tahap sebelumnya (tahap pertama: dari kejadian). Wilayah kosong: wilayah kejadian; orang tanpa wilayah selalu ikut.", "The delay counts from the previous step (the first: from the event). No zone: the event's zone; people without a zone are always included.")}</p>
                <ol class="step-forms">
                    {move || (0..count.get()).map(|i| view! { <StepEditor form i choices/> }).collect_view()}
                </ol>
                <button type="button" data-testid="add-step"
                    on:click=move |_| form.update(|f| f.steps.push(StepForm::default()))>{tr("+ Tambah tahap", "+ Add a step")}</button>
                <div class="actions">
                    <button type="submit" class="primary" data-testid="save-policy" disabled=move || save.pending().get()>{tr("Simpan", "Save")}</button>
                    <button type="button" on:click=move |_| form.set(PolicyForm::default())>{tr("Kosongkan", "Clear")}</button>
                </div>
            </form>
            {move || problems.get().map(|e| view! { <ErrorNote error=e/> })}
            {move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            {move || save.value().get().and_then(Result::ok).map(|id| view! {
                <p role="status" data-testid="policy-saved">{fill(tr("Kebijakan #{} tersimpan.", "Policy #{} saved."), &[&id])}</p>
            })}
        </section>
    }
    // Erased: the form's full view type is too deep for the async block
    // that hydrates the page around it.
    .into_any()
}

/// The inputs of step `i` (1-based in what people read).
#[component]
fn StepEditor(
    form: RwSignal<PolicyForm>,
    i: usize,
    choices: StoredValue<Choices>,
) -> impl IntoView {
    let get = move |read: fn(&StepForm) -> String| {
        move || form.with(|f| f.steps.get(i).map(read).unwrap_or_default())
    };
    let set = move |write: fn(&mut StepForm, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            form.update(|f| {
                if let Some(s) = f.steps.get_mut(i) {
                    write(s, v)
                }
            })
        }
    };
    let target = get(|s| s.target.clone());
    let is =
        move |t: &'static str| move || form.with(|f| f.steps.get(i).is_some_and(|s| s.target == t));
    view! {
        <li class="step-form" data-testid=format!("step-{}", i + 1)>
            <div class="row">
                <label>{tr("Jeda (menit)", "Delay (minutes)")}
                    <input type="number" min="0" data-testid="step-delay" prop:value=get(|s| s.delay_minutes.to_string())
                        on:input=set(|s, v| s.delay_minutes = v.trim().parse().unwrap_or(-1))/></label>
                <label>{tr("Tujuan", "Target")}
                    <select data-testid="step-target" prop:value=target on:change=set(|s, v| s.target = v)>
                        <option value="role">{tr("Peran di wilayah", "A role in a zone")}</option>
                        <option value="user">{tr("Orang", "A person")}</option>
                        <option value="group">{tr("Grup WhatsApp", "A WhatsApp group")}</option>
                    </select>
                </label>
                <Show when=is("role")>
                    <label>{tr("Peran", "Role")}
                        <select data-testid="step-role" prop:value=get(|s| s.role.clone()) on:change=set(|s, v| s.role = v)>
                            {Role::ALL.iter().map(|r| view! { <option value=r.as_str()>{role_label(*r)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>{tr("Wilayah", "Zone")}
                        <select data-testid="step-zone" prop:value=get(|s| s.zone.clone()) on:change=set(|s, v| s.zone = v)>
                            <option value="">{tr("Wilayah kejadian", "The event's zone")}</option>
                            {choices.with_value(|c| c.zones.iter().map(|(code, name)| view! { <option value=code.clone()>{name.clone()}</option> }).collect_view())}
                        </select>
                    </label>
                </Show>
                <Show when=is("user")>
                    <label>{tr("Orang", "Person")}
                        <select data-testid="step-user" prop:value=get(|s| s.user_id.map(|u| u.to_string()).unwrap_or_default())
                            on:change=set(|s, v| s.user_id = v.parse().ok())>
                            <option value="">"—"</option>
                            {choices.with_value(|c| c.users.iter().map(|(id, name, role)| view! { <option value=id.to_string()>{format!("{name} ({})", role_label(*role))}</option> }).collect_view())}
                        </select>
                    </label>
                </Show>
                <Show when=is("group")>
                    <label>{tr("Grup", "Group")}
                        <select data-testid="step-group" prop:value=get(|s| s.group_id.map(|g| g.to_string()).unwrap_or_default())
                            on:change=set(|s, v| s.group_id = v.parse().ok())>
                            <option value="">"—"</option>
                            {choices.with_value(|c| c.groups.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view())}
                        </select>
                    </label>
                </Show>
            </div>
            <Show when=move || !is("group")()>
                <fieldset class="channels">
                    <legend>{tr("Kanal", "Channels")}</legend>
                    {STEP_CHANNELS.iter().map(|&c| view! {
                        <label class="check">
                            <input type="checkbox" data-testid=format!("step-channel-{}", c.as_str())
                                prop:checked=move || form.with(|f| f.steps.get(i).is_some_and(|s| s.channels.contains(&c)))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    form.update(|f| if let Some(s) = f.steps.get_mut(i) {
                                        s.channels.retain(|x| *x != c);
                                        if on { s.channels.push(c); }
                                    })
                                }/>
                            {channel_label(c)}
                        </label>
                    }).collect_view()}
                </fieldset>
            </Show>
            <button type="button" class="link" on:click=move |_| form.update(|f| { if i < f.steps.len() { f.steps.remove(i); } })>
                {fill(tr("Hapus tahap {}", "Remove step {}"), &[&(i + 1)])}
            </button>
        </li>
    }
    .into_any()
}
