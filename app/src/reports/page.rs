//! `/reports`: the report schedules, the form, and a preview of what a
//! schedule's next run would send.

use super::{
    list_schedules, DeleteSchedule, PreviewReport, SaveSchedule, ScheduleForm, ScheduleView,
};
use crate::auth::Area;
use crate::error::AppError;
use crate::i18n::{self, fill, tr};
use crate::ui::{refused_page, role_label, ConfirmDelete, ErrorNote, Loading};
use domain::quiet::{format_hhmm, INDONESIAN_TIME_ZONES};
use domain::schedule::{weekday_name, Cadence, Weekday};
use domain::Role;
use leptos::prelude::*;

/// "Every day 07:00 (Asia/Jakarta)" / "Every Monday 07:00 (Asia/Jakarta)".
fn when_label(s: &ScheduleView) -> String {
    let time = format_hhmm(s.minute_of_day);
    match s.when().cadence {
        Cadence::Daily => fill(
            tr("Setiap hari {} ({})", "Every day {} ({})"),
            &[&time, &s.time_zone],
        ),
        Cadence::Weekly(d) => fill(
            tr("Setiap {} {} ({})", "Every {} {} ({})"),
            &[&weekday_name(d, i18n::locale()), &time, &s.time_zone],
        ),
    }
}

/// Admins and managers; other roles see why (the server functions check
/// again).
#[component]
pub fn ReportsPage() -> impl IntoView {
    if let Some(refused) = refused_page(Area::Reports, tr("Laporan terjadwal", "Scheduled reports"))
    {
        return refused;
    }
    let save = ServerAction::<SaveSchedule>::new();
    let delete = ServerAction::<DeleteSchedule>::new();
    let schedules = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_schedules(),
    );
    let form = RwSignal::new(ScheduleForm::default());
    view! {
        <h1>{tr("Laporan terjadwal", "Scheduled reports")}</h1>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match schedules.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(s) => view! {
                        <section class="card">
                            <h2>{tr("Jadwal", "Schedules")}</h2>
                            <p class="muted">{tr(
                                "Setiap jadwal mengirim ringkasan hari (atau minggu) sebelumnya: tiket dari sistem tiket dan statistik notifikasi, ke grup WhatsApp-nya dan lewat email serta kotak masuk ke semua orang dengan peran yang dipilih. Satu kali per jadwal, juga dengan beberapa instance.",
                                "Each schedule sends a summary of the day (or week) before: tickets from the ticketing system and notification statistics, to its WhatsApp group and by email and inbox to everyone of the chosen role. Once per run, even with several instances.",
                            )}</p>
                            <ScheduleTable list=s.list form delete/>
                            {move || delete.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
                        </section>
                        <ScheduleFormCard form save groups=s.groups/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn ScheduleTable(
    list: Vec<ScheduleView>,
    form: RwSignal<ScheduleForm>,
    delete: ServerAction<DeleteSchedule>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p>{tr("Belum ada jadwal.", "No schedules yet.")}</p> }.into_any();
    }
    let none = || tr("—", "—");
    view! {
        <div class="table-wrap">
        <table data-testid="report-schedules">
            <thead><tr>
                <th>{tr("Nama", "Name")}</th><th>{tr("Waktu", "When")}</th><th>{tr("Grup WhatsApp", "WhatsApp group")}</th>
                <th>{tr("Email & kotak masuk", "Email & inbox")}</th><th>{tr("Berikutnya", "Next run")}</th>
                <th>{tr("Terakhir", "Last run")}</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|s| {
                    let edit = ScheduleForm::from(&s);
                    let id = s.id;
                    view! {
                        <tr data-testid=format!("schedule-{id}") class:muted=!s.enabled>
                            <td>{s.name.clone()}</td>
                            <td data-testid="schedule-when">{when_label(&s)}</td>
                            <td>{s.group.clone().map_or_else(|| none().to_owned(), |g| g.1)}</td>
                            <td>{s.email_role.map_or(none(), role_label)}</td>
                            <td data-testid="schedule-next">{s.next_run.clone().unwrap_or_else(|| tr("nonaktif", "off").to_owned())}</td>
                            <td>{s.last_run.clone().unwrap_or_else(|| none().to_owned())}</td>
                            <td>
                                <button type="button" on:click=move |_| form.set(edit.clone())>{tr("Ubah", "Edit")}</button>
                                <ConfirmDelete testid="delete-schedule"
                                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteSchedule { id }); })/>
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
fn ScheduleFormCard(
    form: RwSignal<ScheduleForm>,
    save: ServerAction<SaveSchedule>,
    groups: Vec<(i64, String)>,
) -> impl IntoView {
    let preview = ServerAction::<PreviewReport>::new();
    let problems = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            form.set(ScheduleForm::default());
        }
    });
    // Checked here first so a mistake is named without a round trip.
    let checked = move || match form.get_untracked().validate() {
        Ok(_) => {
            problems.set(None);
            Some(form.get_untracked())
        }
        Err(errors) => {
            problems.set(Some(AppError::Validation(errors)));
            None
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(f) = checked() {
            save.dispatch(SaveSchedule { form: f });
        }
    };
    let text = |get: fn(&ScheduleForm) -> String, set: fn(&mut ScheduleForm, String)| {
        (
            move || form.with(get),
            move |ev: leptos::ev::Event| form.update(|f| set(f, event_target_value(&ev))),
        )
    };
    let (name, set_name) = text(|f| f.name.clone(), |f, v| f.name = v);
    let (weekday, set_weekday) = text(|f| f.weekday.clone(), |f, v| f.weekday = v);
    let (time, set_time) = text(|f| f.time.clone(), |f, v| f.time = v);
    let (zone, set_zone) = text(|f| f.time_zone.clone(), |f, v| f.time_zone = v);
    let (role, set_role) = text(|f| f.email_role.clone(), |f, v| f.email_role = v);
    let (group, set_group) = text(
        |f| f.group_id.map(|g| g.to_string()).unwrap_or_default(),
        |f, v| f.group_id = v.parse().ok(),
    );
    let locale = i18n::locale();
    view! {
        <section class="card" data-testid="schedule-form">
            <h2>{move || if form.with(|f| f.id.is_some()) { tr("Ubah jadwal", "Edit schedule") } else { tr("Tambah jadwal", "Add a schedule") }}</h2>
            <form on:submit=submit>
                <label for="r-name">{tr("Nama", "Name")}
                    <input id="r-name" prop:value=name on:input=set_name/></label>
                <div class="row">
                    <label for="r-weekday">{tr("Kapan", "When")}
                        <select id="r-weekday" prop:value=weekday on:change=set_weekday>
                            <option value="">{tr("Setiap hari (laporan harian)", "Every day (daily summary)")}</option>
                            {(0u8..7).map(|d| {
                                let day = Weekday::try_from(d).unwrap_or(Weekday::Mon);
                                view! { <option value=d.to_string()>{fill(tr("Setiap {} (laporan mingguan)", "Every {} (weekly report)"), &[&weekday_name(day, locale)])}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label for="r-time">{tr("Jam", "Time")}
                        <input type="time" id="r-time" required prop:value=time on:input=set_time/></label>
                    <label for="r-zone">{tr("Zona waktu", "Time zone")}
                        <select id="r-zone" prop:value=zone on:change=set_zone>
                            {INDONESIAN_TIME_ZONES.iter().map(|(z, label)| view! { <option value=*z>{*label}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <div class="row">
                    <label for="r-group">{tr("Grup WhatsApp", "WhatsApp group")}
                        <select id="r-group" prop:value=group on:change=set_group>
                            <option value="">{tr("Tanpa grup", "No group")}</option>
                            {groups.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label for="r-role">{tr("Email & kotak masuk untuk peran", "Email & inbox to the role")}
                        <select id="r-role" prop:value=role on:change=set_role>
                            <option value="">{tr("Tidak ada", "Nobody")}</option>
                            {Role::ALL.iter().map(|r| view! { <option value=r.as_str()>{role_label(*r)}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <label class="check"><input type="checkbox" id="r-enabled" prop:checked=move || form.with(|f| f.enabled)
                    on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev))/>{tr("Aktif", "Enabled")}</label>
                <div class="actions">
                    <button type="submit" class="primary" data-testid="save-schedule" disabled=move || save.pending().get()>{tr("Simpan", "Save")}</button>
                    <button type="button" data-testid="preview-report" disabled=move || preview.pending().get()
                        on:click=move |_| { if let Some(f) = checked() { preview.dispatch(PreviewReport { form: f }); } }>
                        {tr("Pratinjau", "Preview")}
                    </button>
                    <button type="button" on:click=move |_| { form.set(ScheduleForm::default()); preview.value().set(None); }>{tr("Kosongkan", "Clear")}</button>
                </div>
            </form>
            {move || problems.get().map(|e| view! { <ErrorNote error=e/> })}
            {move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            {move || save.value().get().and_then(Result::ok).map(|id| view! {
                <p role="status" data-testid="schedule-saved">{fill(tr("Jadwal #{} tersimpan.", "Schedule #{} saved."), &[&id])}</p>
            })}
            {move || preview.value().get().map(|r| match r {
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                Ok(p) => view! {
                    <div data-testid="report-preview">
                        <p class="muted">{fill(
                            tr("Berikutnya {}, tentang {} (angka sampai sekarang):", "Next run {}, about {} (figures so far):"),
                            &[&p.next_run, &p.period],
                        )}</p>
                        <pre class="message preview">{p.text}</pre>
                    </div>
                }.into_any(),
            })}
        </section>
    }
    .into_any()
}
