//! Master data → Users (admin): the list with its filters, and one
//! person's editor (new or existing) with (de)activation and the
//! set-password link.

use super::{
    get_user, list_users, user_zones, CheckImport, ImportReport, ImportUsers, ResetSent,
    RowOutcome, SaveUser, SendPasswordLink, SetUserActive, UserFilter, UserForm, UserRow,
    UserSaved,
};
use crate::error::{AppError, FieldError};
use crate::i18n::{fill, tr};
use crate::ui::{refused_page, role_label, ErrorNote, FieldMessage, Loading};
use domain::{Locale, Role, UserId};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/master/users`.
#[component]
pub fn UsersPage() -> impl IntoView {
    if let Some(refused) = refused_page(crate::auth::Area::Users, tr("Pengguna", "Users")) {
        return refused;
    }
    let import = ServerAction::<ImportUsers>::new();
    let users = Resource::new(move || import.version().get(), |_| list_users());
    let zones = Resource::new(|| (), |_| user_zones(false));
    let filter = RwSignal::new(UserFilter::default());
    let select = move |testid: &'static str,
                       label: &'static str,
                       options: Vec<(String, String)>,
                       set: fn(&mut UserFilter, String)| {
        view! {
            <label>{label}
                <select data-testid=testid on:change=move |ev| filter.update(|f| set(f, event_target_value(&ev)))>
                    <option value="">{tr("Semua", "All")}</option>
                    {options.into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    let yes_no = |yes: &str, no: &str| {
        vec![
            ("yes".to_owned(), yes.to_owned()),
            ("no".to_owned(), no.to_owned()),
        ]
    };
    let roles = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), role_label(*r).to_owned()))
        .collect();
    view! {
        <div class="page-head">
            <h1>{tr("Pengguna", "Users")}</h1>
            <a class="button primary" href="/master/users/new" data-testid="new-user">{tr("Tambah pengguna", "Add a person")}</a>
        </div>
        <ImportCard import/>
        <div class="filters" role="search">
            <label>{tr("Cari", "Search")}
                <input type="search" data-testid="user-search"
                    placeholder=tr("Nama, email, nomor atau ID tiket", "Name, email, number or ticketing id")
                    prop:value=move || filter.with(|f| f.text.clone())
                    on:input=move |ev| filter.update(|f| f.text = event_target_value(&ev))/>
            </label>
            {select("user-role", tr("Peran", "Role"), roles, |f, v| f.role = v)}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let mut options: Vec<(String, String)> = zones.await.unwrap_or_default();
                    options.push(("-".into(), tr("Tanpa zona", "No zone").into()));
                    select("user-zone", tr("Zona", "Zone"), options, |f, v| f.zone = v)
                })}
            </Suspense>
            {select("user-active", tr("Status", "Status"), yes_no(tr("Aktif", "Active"), tr("Nonaktif", "Inactive")), |f, v| f.active = v)}
            {select("user-verified", tr("WhatsApp", "WhatsApp"), yes_no(tr("Terverifikasi", "Verified"), tr("Belum terverifikasi", "Not verified")), |f, v| f.verified = v)}
        </div>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match (users.await, zones.await) {
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorNote error=e/> }.into_any(),
                    (Ok(list), Ok(zones)) => view! { <UserTable list zones filter/> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn UserTable(
    list: Vec<UserRow>,
    zones: Vec<(String, String)>,
    filter: RwSignal<UserFilter>,
) -> impl IntoView {
    let list = StoredValue::new(list);
    let zone_name = move |code: &Option<String>| match code {
        None => "—".to_owned(),
        Some(c) => zones
            .iter()
            .find(|(z, _)| z == c)
            .map_or_else(|| c.clone(), |(_, name)| name.clone()),
    };
    // A first sync brings a thousand people: the table draws a page of
    // them and more on request, and a new filter starts again at the top.
    let shown = RwSignal::new(ROWS_SHOWN);
    Effect::watch(
        move || filter.track(),
        move |_, _, _| shown.set(ROWS_SHOWN),
        false,
    );
    let matching = Memo::new(move |_| {
        filter.with(|f| {
            list.with_value(|l| {
                l.iter()
                    .filter(|u| f.matches(u))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    });
    let visible =
        move || matching.with(|m| m.iter().take(shown.get()).cloned().collect::<Vec<_>>());
    let hidden = move || matching.with(Vec::len).saturating_sub(shown.get());
    view! {
        <p class="muted" data-testid="user-count">
            {move || fill(tr("{} dari {} orang", "{} of {} people"), &[&matching.with(Vec::len), &list.with_value(Vec::len)])}
        </p>
        <div class="table-wrap">
        <table class="users">
            <thead><tr>
                <th>{tr("Nama", "Name")}</th><th>{tr("Peran", "Role")}</th><th>{tr("Zona", "Zone")}</th>
                <th class="hide-sm">{tr("WhatsApp", "WhatsApp")}</th><th>{tr("Status", "Status")}</th>
            </tr></thead>
            <tbody>
                <For each=visible key=|u| (u.id, u.active) let:u>
                    <tr data-testid="user-row">
                        <td><a href=format!("/master/users/{}", u.id)><strong>{u.name.clone()}</strong></a>
                            <br/><small class="muted">{u.email.clone()}</small></td>
                        <td>{role_label(u.role)}</td>
                        <td>{zone_name(&u.work_zone)}</td>
                        <td class="hide-sm">{match (&u.phone, u.phone_verified) {
                            (None, _) => tr("Tidak ada nomor", "No number").to_owned(),
                            (Some(p), true) => format!("{p} ✓"),
                            (Some(p), false) => format!("{p} · {}", tr("belum terverifikasi", "not verified")),
                        }}</td>
                        <td>{status_words(&u)}</td>
                    </tr>
                </For>
            </tbody>
        </table>
        </div>
        <Show when=move || { hidden() > 0 }>
            <button type="button" class="secondary" data-testid="more-users"
                on:click=move |_| shown.update(|n| *n += ROWS_SHOWN)>
                {move || fill(tr("Tampilkan {} lagi (masih {} orang)", "Show {} more ({} left)"),
                    &[&hidden().min(ROWS_SHOWN), &hidden()])}
            </button>
        </Show>
    }
}

/// Rows drawn at first, and added by each "show more".
const ROWS_SHOWN: usize = 50;

fn status_words(u: &UserRow) -> &'static str {
    match (u.active, u.has_password) {
        (false, _) => tr("Nonaktif", "Inactive"),
        (true, true) => tr("Aktif", "Active"),
        (true, false) => tr(
            "Aktif · belum membuat kata sandi",
            "Active · no password yet",
        ),
    }
}

/// `/master/users/new` and `/master/users/:id`.
#[component]
pub fn UserEditorPage() -> impl IntoView {
    if let Some(refused) = refused_page(crate::auth::Area::Users, tr("Pengguna", "Users")) {
        return refused;
    }
    let params = use_params_map();
    let id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<UserId>().ok())));
    let zones = Resource::new(|| (), |_| user_zones(true));
    let changed = RwSignal::new(0u32);
    // Outside the reloaded part: an edit's "saved" stays in view while the
    // person is read again.
    let saved = RwSignal::new(false);
    let person = Resource::new(
        move || (id.get(), changed.get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_user(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <p><a href="/master/users">{tr("« Pengguna", "« Users")}</a></p>
        {move || saved.get().then(|| view! {
            <p class="notice" role="status" data-testid="user-saved">{tr("Tersimpan.", "Saved.")}</p>
        })}
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match (person.await, zones.await) {
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorNote error=e/> }.into_any(),
                    (Ok(None), Ok(zones)) => view! {
                        <h1>{tr("Pengguna baru", "New person")}</h1>
                        <p class="muted">{tr(
                            "Setelah disimpan, orang ini menerima tautan untuk membuat kata sandinya sendiri lewat WhatsApp dan email.",
                            "Once saved, this person receives a link to set their own password by WhatsApp and email.")}</p>
                        <UserFields initial=UserForm::default() zones changed saved/>
                    }.into_any(),
                    (Ok(Some(u)), Ok(zones)) => view! {
                        <h1>{u.name.clone()}</h1>
                        {u.external_id.clone().map(|x| view! {
                            <p class="muted">{fill(tr("ID di sistem tiket: {}", "Ticketing system id: {}"), &[&x])}</p>
                        })}
                        <UserFields initial=UserForm::from(&u) zones changed saved/>
                        <AccessCard u changed/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn UserFields(
    initial: UserForm,
    zones: Vec<(String, String)>,
    changed: RwSignal<u32>,
    saved: RwSignal<bool>,
) -> impl IntoView {
    let form = RwSignal::new(initial);
    let save = ServerAction::<SaveUser>::new();
    let client_errors = RwSignal::new(Vec::<FieldError>::new());
    let errors = Signal::derive(move || {
        let c = client_errors.get();
        match (c.is_empty(), save.value().get()) {
            (true, Some(Err(AppError::Validation(v)))) => v,
            _ => c,
        }
    });
    // A new person saved: the form empties for the next one, keeping the
    // role, zone and language (an office adds a zone's technicians in a row).
    let created = RwSignal::new(None::<(UserId, String, Option<ResetSent>)>);
    Effect::new(move |_| {
        if let Some(Ok(UserSaved { id, link_sent })) = save.value().get() {
            if form.with_untracked(|f| f.id.is_none()) {
                let name = form.with_untracked(|f| f.name.trim().to_owned());
                created.set(Some((id, name, link_sent)));
                form.update(|f| {
                    *f = UserForm {
                        role: f.role.clone(),
                        work_zone: f.work_zone.clone(),
                        locale: f.locale.clone(),
                        time_zone: f.time_zone.clone(),
                        ..UserForm::default()
                    }
                });
            } else {
                saved.set(true);
                changed.update(|n| *n += 1);
            }
        }
    });
    // Typing again: the "saved" above no longer describes the form.
    Effect::new(move |first: Option<()>| {
        form.track();
        if first.is_some() {
            saved.set(false);
        }
    });
    let text = move |field: &'static str,
                     label: &'static str,
                     kind: &'static str,
                     get: fn(&UserForm) -> String,
                     set: fn(&mut UserForm, String)| {
        view! {
            <label for=field>{label}
                <input id=field type=kind aria-describedby=format!("{field}-error")
                    aria-invalid=move || errors.with(|e| e.iter().any(|e| e.field == field)).to_string()
                    prop:value=move || form.with(get)
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
            </label>
            <FieldMessage errors field/>
        }
    };
    let choice = move |field: &'static str,
                       label: &'static str,
                       options: Vec<(String, String)>,
                       get: fn(&UserForm) -> String,
                       set: fn(&mut UserForm, String)| {
        view! {
            <label for=field>{label}
                <select id=field prop:value=move || form.with(get)
                    on:change=move |ev| form.update(|f| set(f, event_target_value(&ev)))>
                    {options.into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
            </label>
            <FieldMessage errors field/>
        }
    };
    let roles = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), role_label(*r).to_owned()))
        .collect();
    let mut zone_options = vec![(String::new(), tr("Tanpa zona", "No zone").to_owned())];
    // A zone switched off since stays this person's until changed.
    let current = form.with_untracked(|f| f.work_zone.clone());
    if !current.is_empty() && !zones.iter().any(|(code, _)| *code == current) {
        zone_options.push((
            current.clone(),
            fill(tr("{} (nonaktif)", "{} (inactive)"), &[&current]),
        ));
    }
    zone_options.extend(zones);
    let locales = [Locale::Id, Locale::En]
        .into_iter()
        .map(|l| {
            (
                l.as_str().to_owned(),
                l.name(crate::i18n::locale()).to_owned(),
            )
        })
        .collect();
    view! {
        <form class="card form" data-testid="user-form" novalidate on:submit=move |ev| {
            ev.prevent_default();
            let f = form.get();
            match f.validate() {
                Ok(_) => { client_errors.set(vec![]); save.dispatch(SaveUser { form: f }); }
                Err(e) => client_errors.set(e),
            }
        }>
            {text("name", tr("Nama", "Name"), "text", |f| f.name.clone(), |f, v| f.name = v)}
            {text("email", "Email", "email", |f| f.email.clone(), |f, v| f.email = v)}
            {text("phone", tr("Nomor WhatsApp (opsional, mis. 0812-3456-7890)", "WhatsApp number (optional, e.g. 0812-3456-7890)"), "tel",
                |f| f.phone.clone(), |f, v| f.phone = v)}
            <div class="row">
                {choice("role", tr("Peran", "Role"), roles, |f| f.role.clone(), |f, v| f.role = v)}
                {choice("work_zone", tr("Zona kerja", "Work zone"), zone_options, |f| f.work_zone.clone(), |f, v| f.work_zone = v)}
                {choice("locale", tr("Bahasa pesan", "Language of messages"), locales, |f| f.locale.clone(), |f, v| f.locale = v)}
            </div>
            {text("time_zone", tr("Zona waktu (untuk jam tenang)", "Time zone (for quiet hours)"), "text",
                |f| f.time_zone.clone(), |f, v| f.time_zone = v)}
            <label class="switch" for="active">
                <input type="checkbox" id="active" prop:checked=move || form.with(|f| f.active)
                    on:change=move |ev| form.update(|f| f.active = event_target_checked(&ev))/>
                <span>{tr("Aktif (boleh masuk dan menerima pesan)", "Active (may sign in and receive messages)")}</span>
            </label>
            <div class="actions">
                <button type="submit" class="primary" data-testid="save-user" disabled=move || save.pending().get()>
                    {tr("Simpan", "Save")}
                </button>
                {move || match save.value().get() {
                    Some(Err(e)) if !matches!(e, AppError::Validation(_)) => view! { <ErrorNote error=e/> }.into_any(),
                    _ => ().into_any(),
                }}
            </div>
            {move || created.get().map(|(id, name, sent)| view! {
                <p class="notice" role="status" data-testid="user-created">
                    {fill(tr("{} ditambahkan. ", "{} added. "), &[&name])}
                    <a href=format!("/master/users/{id}")>{tr("Buka datanya", "Open their details")}</a>
                </p>
                {sent.map(|sent| view! { <LinkSentNote sent/> })}
            })}
        </form>
    }
}

/// Where a set-password link went.
#[component]
fn LinkSentNote(sent: ResetSent) -> impl IntoView {
    let to = match &sent.whatsapp {
        Some(phone) => fill(
            tr("WhatsApp {} dan email {}", "WhatsApp {} and email {}"),
            &[phone, &sent.email],
        ),
        None => fill(tr("email {}", "email {}"), &[&sent.email]),
    };
    view! {
        <p class="notice" role="status" data-testid="link-sent">
            {fill(tr("Tautan untuk membuat kata sandi dikirim ke {}. Berlaku 24 jam.",
                "A link to set the password was sent to {}. It works for 24 hours."), &[&to])}
        </p>
    }
}

/// Signing in: the set-password link, deactivation and reactivation.
#[component]
fn AccessCard(u: UserRow, changed: RwSignal<u32>) -> impl IntoView {
    let link = ServerAction::<SendPasswordLink>::new();
    let activate = ServerAction::<SetUserActive>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = activate.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    let id = u.id;
    let active = u.active;
    view! {
        <section class="card" data-testid="access-card">
            <h2>{tr("Akses", "Access")}</h2>
            <p>{status_words(&u)}</p>
            <div class="actions">
            {active.then(|| view! {
                <p class="muted">{tr(
                    "Lupa kata sandi? Kirim tautan baru: orang ini membuat kata sandinya sendiri, Anda tidak melihatnya.",
                    "Forgot the password? Send a new link: this person sets their own password; you never see it.")}</p>
                <button type="button" data-testid="send-link" disabled=move || link.pending().get()
                    on:click=move |_| { link.dispatch(SendPasswordLink { id }); }>
                    {tr("Kirim tautan kata sandi", "Send a password link")}
                </button>
            })}
            {move || match link.value().get() {
                Some(Ok(sent)) => view! { <LinkSentNote sent/> }.into_any(),
                Some(Err(e)) => view! { <ErrorNote error=e/> }.into_any(),
                None => ().into_any(),
            }}
            <button type="button" data-testid="toggle-active" class=if active { "danger" } else { "" }
                disabled=move || activate.pending().get()
                on:click=move |_| { activate.dispatch(SetUserActive { id, active: !active }); }>
                {if active {
                    tr("Nonaktifkan (keluar dari semua perangkat, pesan antrean dibatalkan)",
                        "Deactivate (signed out everywhere, queued messages cancelled)")
                } else {
                    tr("Aktifkan kembali", "Reactivate")
                }}
            </button>
            </div>
            {move || activate.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </section>
    }
}

/// A staff list pasted from a spreadsheet: checked row by row first, then
/// saved whole.
#[component]
fn ImportCard(import: ServerAction<ImportUsers>) -> impl IntoView {
    let check = ServerAction::<CheckImport>::new();
    let text = RwSignal::new(String::new());
    // The text the shown report is of: saving needs a fresh check.
    let checked = RwSignal::new(None::<String>);
    let report = RwSignal::new(None::<Result<ImportReport, AppError>>);
    Effect::new(move |_| {
        if let Some(r) = check.value().get() {
            report.set(Some(r));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = import.value().get() {
            report.set(Some(r));
        }
    });
    let ready = move || {
        checked.get().as_deref() == Some(text.get().as_str())
            && matches!(report.get(), Some(Ok(r)) if !r.saved && r.refused() == 0 && !r.lines.is_empty())
    };
    view! {
        <details class="card" data-testid="import-card">
            <summary>{tr("Impor dari spreadsheet (CSV)", "Import from a spreadsheet (CSV)")}</summary>
            <p class="muted">{tr(
                "Salin kolom dari spreadsheet beserta baris judulnya (nama, email, telepon, peran, zona; boleh juga bahasa, zona_waktu) lalu tempel di sini, atau tempel isi file CSV. Setiap baris diperiksa dulu; tidak ada yang disimpan sebelum semuanya benar. Email yang sudah ada memperbarui orangnya; orang baru menerima tautan untuk membuat kata sandi.",
                "Copy the columns from a spreadsheet with their title row (name, email, phone, role, zone; also locale, time_zone) and paste them here, or paste a CSV file's text. Every row is checked first; nothing is saved until all are right. An email that exists updates that person; new people receive a link to set their password.")}</p>
            <label for="import-csv">{tr("Daftar orang", "The list of people")}</label>
            <textarea id="import-csv" rows="6" data-testid="import-text" aria-describedby="csv-error"
                placeholder="nama;email;telepon;peran;zona"
                prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="actions">
                <button type="button" data-testid="check-import" disabled=move || check.pending().get()
                    on:click=move |_| {
                        checked.set(Some(text.get_untracked()));
                        check.dispatch(CheckImport { csv: text.get_untracked() });
                    }>{tr("Periksa", "Check")}</button>
                <button type="button" class="primary" data-testid="save-import"
                    disabled=move || !ready() || import.pending().get()
                    on:click=move |_| { import.dispatch(ImportUsers { csv: text.get_untracked() }); }>
                    {move || match report.get() {
                        Some(Ok(r)) if !r.saved && r.refused() == 0 => fill(tr("Simpan {} orang", "Save {} people"), &[&r.lines.len()]),
                        _ => tr("Simpan", "Save").to_owned(),
                    }}
                </button>
            </div>
            {move || report.get().map(|r| match r {
                Err(e) => view! { <p class="field-error" id="csv-error" role="alert">{e.message()}</p> }.into_any(),
                Ok(r) => view! { <ImportResult r/> }.into_any(),
            })}
        </details>
    }
}

#[component]
fn ImportResult(r: ImportReport) -> impl IntoView {
    let refused = r.refused();
    let new = r
        .lines
        .iter()
        .filter(|l| l.outcome == RowOutcome::New)
        .count();
    let updated = r
        .lines
        .iter()
        .filter(|l| l.outcome == RowOutcome::Update)
        .count();
    let summary = if r.saved {
        fill(
            tr(
                "Tersimpan: {} orang baru, {} diperbarui. Tautan kata sandi dikirim ke {} orang.",
                "Saved: {} new, {} updated. Password links sent to {} people.",
            ),
            &[&new, &updated, &r.links_sent],
        )
    } else if refused > 0 {
        fill(
            tr(
                "{} baris perlu diperbaiki; belum ada yang disimpan.",
                "{} rows need fixing; nothing was saved.",
            ),
            &[&refused],
        )
    } else {
        fill(
            tr(
                "Semua baris benar: {} orang baru, {} diperbarui. Belum disimpan.",
                "Every row is right: {} new, {} updated. Not saved yet.",
            ),
            &[&new, &updated],
        )
    };
    let class = if refused > 0 { "error" } else { "notice" };
    view! {
        <p class=class role="status" data-testid="import-summary">{summary}</p>
        <div class="table-wrap">
        <table class="import">
            <thead><tr>
                <th>{tr("Baris", "Line")}</th><th>{tr("Nama", "Name")}</th><th>"Email"</th><th>{tr("Hasil", "Result")}</th>
            </tr></thead>
            <tbody>
                {r.lines.into_iter().map(|l| view! {
                    <tr data-testid="import-row">
                        <td>{l.line}</td><td>{l.name}</td><td>{l.email}</td>
                        <td>{match l.outcome {
                            RowOutcome::New => tr("Baru", "New").to_owned(),
                            RowOutcome::Update => tr("Diperbarui", "Updated").to_owned(),
                            RowOutcome::Refused(words) => words.iter().map(crate::i18n::say).collect::<Vec<_>>().join(" "),
                        }}</td>
                    </tr>
                }.into_any()).collect_view()}
            </tbody>
        </table>
        </div>
    }
}
