//! Notification settings (every signed-in user, their own).
//!
//! One form, saved as a whole. The browser runs the same validation as the
//! server so mistakes show next to their field before anything is sent; the
//! server's verdict (also per field) replaces it when it answers.

use super::{
    get_my_settings, MySettings, SaveMySettings, SendPhoneCode, SettingsForm, VerifyPhoneCode,
};
use crate::error::{AppError, FieldError};
use crate::i18n::{self, fill, tr};
use crate::ui::channel_label;
use crate::ui::{ErrorNote, FieldMessage, Loading};
use domain::preferences::{TypeGroup, SWITCHABLE_CHANNELS};
use domain::quiet::{parse_hhmm, INDONESIAN_TIME_ZONES};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| get_my_settings());
    // Bumped when this browser subscribes to push (which switches push on).
    let push_subscribed = RwSignal::new(0u32);
    view! {
        <h1>{tr("Pengaturan notifikasi", "Notification settings")}</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(s) => view! { <SettingsEditor initial=s push_subscribed/> }.into_any(),
                }
            })}
        </Suspense>
        <crate::push::page::PushDevices
            on_subscribed=Callback::new(move |_| push_subscribed.update(|n| *n += 1))/>
        <crate::account::page::AccountSection/>
    }
}

/// A checkbox bound to one boolean of the form.
#[component]
fn Switch(
    form: RwSignal<SettingsForm>,
    id: &'static str,
    label: &'static str,
    get: fn(&SettingsForm) -> bool,
    set: fn(&mut SettingsForm, bool),
) -> impl IntoView {
    view! {
        <label class="switch" for=id>
            <input type="checkbox" id=id
                prop:checked=move || form.with(get)
                on:change=move |ev| form.update(|f| set(f, event_target_checked(&ev)))/>
            <span>{label}</span>
        </label>
    }
}

/// An `HH:MM` field of the form, described by its error line.
#[component]
fn TimeField(
    form: RwSignal<SettingsForm>,
    id: &'static str,
    label: &'static str,
    get: fn(&SettingsForm) -> String,
    set: fn(&mut SettingsForm, String),
) -> impl IntoView {
    view! {
        <label for=id>{label}
            <input type="time" id=id required aria-describedby=format!("{id}-error")
                prop:value=move || form.with(get)
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
        </label>
    }
}

#[component]
fn SettingsEditor(initial: MySettings, push_subscribed: RwSignal<u32>) -> impl IntoView {
    let saved = RwSignal::new(initial.clone());
    let form = RwSignal::new(initial.to_form());
    // The server switched push on with the subscription: so does the form,
    // or saving it would switch push off again.
    Effect::watch(
        move || push_subscribed.get(),
        move |_, _, _| form.update(|f| f.push_enabled = true),
        false,
    );
    // Shown after the first save attempt, then kept live as the user types.
    let tried = RwSignal::new(false);
    let server_errors = RwSignal::new(Vec::<FieldError>::new());
    let notice = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<AppError>);

    let live_errors = Memo::new(move |_| form.with(|f| f.validate().err().unwrap_or_default()));
    let errors = Signal::derive(move || {
        if !tried.get() {
            return server_errors.get();
        }
        let mut all = live_errors.get();
        for e in server_errors.get() {
            if !all.iter().any(|x| x.field == e.field) {
                all.push(e);
            }
        }
        all
    });

    let save = ServerAction::<SaveMySettings>::new();
    Effect::new(move |_| {
        let Some(result) = save.value().get() else {
            return;
        };
        match result {
            Ok(s) => {
                form.set(s.to_form());
                saved.set(s);
                server_errors.set(vec![]);
                failure.set(None);
                tried.set(false);
                notice.set(Some(tr("Pengaturan tersimpan.", "Settings saved.").into()));
            }
            Err(AppError::Validation(v)) => {
                server_errors.set(v);
                notice.set(None);
            }
            Err(e) => {
                failure.set(Some(e));
                notice.set(None);
            }
        }
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        server_errors.set(vec![]);
        notice.set(None);
        if live_errors.with(Vec::is_empty) {
            save.dispatch(SaveMySettings { form: form.get() });
        }
    };

    view! {
        <form class="settings" data-testid="settings-form" on:submit=on_submit novalidate>
            <ChannelSwitches form/>
            <TypeGrid form errors/>
            <QuietHours form errors/>
            <Digest form errors/>
            <WhatsappNumber saved form errors/>
            <MyGroups saved form/>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { tr("Menyimpan…", "Saving…") } else { tr("Simpan pengaturan", "Save settings") }}
                </button>
                {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
                {move || failure.get().map(|e| view! { <ErrorNote error=e/> })}
                {move || (tried.get() && !errors.with(Vec::is_empty)).then(|| view! {
                    <p class="error" role="alert">{tr("Belum tersimpan: periksa isian yang ditandai.", "Not saved: check the marked fields.")}</p>
                })}
            </div>
        </form>
    }
}

/// The channel switches (in-app is always on).
#[component]
fn ChannelSwitches(form: RwSignal<SettingsForm>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{tr("Saluran", "Channels")}</h2>
            <p class="muted">{tr("Notifikasi dalam aplikasi selalu aktif.", "In-app notifications are always on.")}</p>
            <div class="switches">
                <Switch form id="whatsapp_enabled" label="WhatsApp"
                    get=|f| f.whatsapp_enabled set=|f, v| f.whatsapp_enabled = v/>
                <Switch form id="email_enabled" label="Email"
                    get=|f| f.email_enabled set=|f, v| f.email_enabled = v/>
                <Switch form id="push_enabled" label="Push"
                    get=|f| f.push_enabled set=|f, v| f.push_enabled = v/>
            </div>
        </section>
    }
    .into_any()
}

/// Notification types × channels.
#[component]
fn TypeGrid(form: RwSignal<SettingsForm>, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    let locale = i18n::locale();
    view! {
        <section class="card">
            <h2>{tr("Jenis notifikasi", "Notification types")}</h2>
            <div class="table-wrap">
            <table class="type-grid">
                <thead><tr>
                    <th scope="col">{tr("Jenis", "Type")}</th>
                    {SWITCHABLE_CHANNELS.iter().map(|c| view! { <th scope="col">{channel_label(*c)}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {TypeGroup::ALL.iter().map(|g| {
                        let g = *g;
                        view! {
                            <tr>
                                <th scope="row">{g.label(locale)}</th>
                                {SWITCHABLE_CHANNELS.iter().map(|c| {
                                    let c = *c;
                                    let id = format!("type-{}-{}", g.key(), c.as_str());
                                    let is_on = move || form.with(|f| f.type_switches.iter()
                                        .any(|s| s.group == g.key() && s.channel == c && s.enabled));
                                    view! {
                                        <td>
                                            <input type="checkbox" id=id.clone()
                                                aria-label=fill(tr("{} lewat {}", "{} by {}"), &[&g.label(locale), &channel_label(c)])
                                                prop:checked=is_on
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    form.update(|f| {
                                                        for s in f.type_switches.iter_mut() {
                                                            if s.group == g.key() && s.channel == c {
                                                                s.enabled = on;
                                                            }
                                                        }
                                                    })
                                                }/>
                                        </td>
                                    }
                                }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            <FieldMessage errors field="type_switches"/>
        </section>
    }
    .into_any()
}

/// Quiet hours, with what they mean in words.
#[component]
fn QuietHours(form: RwSignal<SettingsForm>, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    let quiet_summary = move || {
        form.with(|f| {
            if !f.quiet_hours_enabled {
                return tr(
                    "Jam tenang nonaktif: pesan WhatsApp dikirim kapan saja.",
                    "Quiet hours are off: WhatsApp messages are sent at any time.",
                )
                .to_owned();
            }
            if parse_hhmm(&f.quiet_start).is_err() || parse_hhmm(&f.quiet_end).is_err() {
                return String::new();
            }
            let zone = INDONESIAN_TIME_ZONES
                .iter()
                .find(|(z, _)| *z == f.quiet_time_zone)
                .map(|(_, label)| label.split(' ').next().unwrap_or(label))
                .unwrap_or(&f.quiet_time_zone);
            let tail = if f.critical_bypass_quiet {
                tr("; peringatan kritis tetap dikirim.", "; critical alerts still come through.")
            } else {
                tr(", termasuk peringatan kritis.", ", critical alerts included.")
            };
            fill(
                tr(
                    "Tidak ada pesan WhatsApp saat Anda tidur ({}–{} {}): pesan ditunda sampai jam tenang berakhir{}",
                    "No WhatsApp messages while you sleep ({}–{} {}): they wait until quiet hours end{}",
                ),
                &[&f.quiet_start, &f.quiet_end, &zone, &tail],
            )
        })
    };

    view! {
        <section class="card">
            <h2>{tr("Jam tenang", "Quiet hours")}</h2>
            <Switch form id="quiet_hours_enabled" label=tr("Aktifkan jam tenang", "Turn on quiet hours")
                get=|f| f.quiet_hours_enabled set=|f, v| f.quiet_hours_enabled = v/>
            <div class="row">
                <TimeField form id="quiet_start" label=tr("Mulai", "From")
                    get=|f| f.quiet_start.clone() set=|f, v| f.quiet_start = v/>
                <TimeField form id="quiet_end" label=tr("Selesai", "Until")
                    get=|f| f.quiet_end.clone() set=|f, v| f.quiet_end = v/>
                <label for="quiet_time_zone">{tr("Zona waktu", "Time zone")}
                    <select id="quiet_time_zone"
                        prop:value=move || form.with(|f| f.quiet_time_zone.clone())
                        on:change=move |ev| form.update(|f| f.quiet_time_zone = event_target_value(&ev))>
                        {INDONESIAN_TIME_ZONES.iter().map(|(z, label)| view! {
                            <option value=*z>{*label}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <FieldMessage errors field="quiet_start"/>
            <FieldMessage errors field="quiet_end"/>
            <FieldMessage errors field="quiet_time_zone"/>
            <Switch form id="critical_bypass_quiet" label=tr("Peringatan kritis tetap dikirim saat jam tenang", "Critical alerts come through during quiet hours")
                get=|f| f.critical_bypass_quiet set=|f, v| f.critical_bypass_quiet = v/>
            <p class="muted" data-testid="quiet-summary">{quiet_summary}</p>
        </section>
    }
    .into_any()
}

/// The daily digest of low-priority notifications.
#[component]
fn Digest(form: RwSignal<SettingsForm>, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    view! {
        <section class="card" data-testid="digest">
            <h2>{tr("Ringkasan harian", "Daily digest")}</h2>
            <Switch form id="digest_enabled" label=tr("Notifikasi prioritas rendah sebagai satu ringkasan", "Low-priority notifications as one digest")
                get=|f| f.digest_enabled set=|f, v| f.digest_enabled = v/>
            <div class="row">
                <TimeField form id="digest_time" label=tr("Jam ringkasan", "Digest time")
                    get=|f| f.digest_time.clone() set=|f, v| f.digest_time = v/>
            </div>
            <FieldMessage errors field="digest_time"/>
            <p class="muted">{tr(
                "Notifikasi prioritas rendah tetap langsung masuk kotak masuk aplikasi; yang akan dikirim lewat WhatsApp, email atau push dikumpulkan dan dikirim sekali sehari pada jam ini (zona waktu jam tenang), lewat WhatsApp, atau email bila WhatsApp tidak aktif.",
                "Low-priority notifications still reach the app's inbox at once; what would go by WhatsApp, email or push is gathered and sent once a day at this time (the quiet-hours time zone), by WhatsApp, or by email if WhatsApp is off.",
            )}</p>
        </section>
    }
    .into_any()
}

/// The WhatsApp number and its verification.
#[component]
fn WhatsappNumber(
    saved: RwSignal<MySettings>,
    form: RwSignal<SettingsForm>,
    errors: Signal<Vec<FieldError>>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{tr("Nomor WhatsApp", "WhatsApp number")}</h2>
            <label for="phone">{tr("Nomor", "Number")}
                <input type="tel" id="phone" inputmode="tel" autocomplete="tel"
                    placeholder="0812-3456-7890" aria-describedby="phone-error"
                    prop:value=move || form.with(|f| f.phone.clone())
                    on:input=move |ev| form.update(|f| f.phone = event_target_value(&ev))/>
            </label>
            <FieldMessage errors field="phone"/>
            <PhoneVerification saved form/>
        </section>
    }
    .into_any()
}

/// Group notifications in the app, and the user's groups.
#[component]
fn MyGroups(saved: RwSignal<MySettings>, form: RwSignal<SettingsForm>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{tr("Grup", "Groups")}</h2>
            <Switch form id="receive_group_notifications" label=tr("Terima notifikasi grup dalam aplikasi", "Receive group notifications in the app")
                get=|f| f.receive_group_notifications set=|f, v| f.receive_group_notifications = v/>
            {move || {
                let groups = saved.with(|s| s.groups.clone());
                if groups.is_empty() {
                    view! { <p class="muted">{tr("Anda belum menjadi anggota grup WhatsApp mana pun.", "You are not a member of any WhatsApp group yet.")}</p> }.into_any()
                } else {
                    view! {
                        <p>{tr("Anda anggota grup:", "You are a member of:")}</p>
                        <ul data-testid="my-groups">{groups.into_iter().map(|g| view! { <li>{g}</li> }).collect_view()}</ul>
                    }.into_any()
                }
            }}
        </section>
    }
    .into_any()
}

/// The saved number's state and the one-time code flow. A number typed but not
/// yet saved cannot be verified: the code goes to the saved number only.
#[component]
fn PhoneVerification(saved: RwSignal<MySettings>, form: RwSignal<SettingsForm>) -> impl IntoView {
    let send = ServerAction::<SendPhoneCode>::new();
    let verify = ServerAction::<VerifyPhoneCode>::new();
    let code = RwSignal::new(String::new());
    let code_sent = RwSignal::new(saved.with_untracked(|s| s.code_expires_at.is_some()));

    Effect::new(move |_| {
        if let Some(Ok(_)) = send.value().get() {
            code_sent.set(true);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = verify.value().get() {
            saved.update(|s| {
                s.phone_verified = true;
                s.code_expires_at = None;
            });
            code.set(String::new());
            code_sent.set(false);
        }
    });
    // Editing the number (unsaved) hides the flow for the old one.
    let unsaved_change = move || {
        let typed = form.with(|f| f.phone.trim().to_owned());
        let stored = saved.with(|s| s.phone.clone().unwrap_or_default());
        match domain::PhoneE164::parse(&typed) {
            Ok(p) => p.as_str() != stored,
            Err(_) => !(typed.is_empty() && stored.is_empty()),
        }
    };

    view! {
        <div class="verification" data-testid="phone-status">
            {move || {
                let (phone, verified) = saved.with(|s| (s.phone.clone(), s.phone_verified));
                match (phone, verified) {
                    _ if unsaved_change() => view! {
                        <p class="badge warn">{tr("Nomor berubah: simpan pengaturan dulu, lalu verifikasi nomor baru.", "The number changed: save the settings first, then verify the new number.")}</p>
                    }.into_any(),
                    (None, _) => view! { <p class="muted">{tr("Belum ada nomor WhatsApp.", "No WhatsApp number yet.")}</p> }.into_any(),
                    (Some(_), true) => view! { <p class="badge ok">{tr("Terverifikasi", "Verified")}</p> }.into_any(),
                    (Some(_), false) => view! {
                        <p class="badge warn">{tr("Belum terverifikasi: pesan WhatsApp pribadi baru dikirim setelah nomor diverifikasi.", "Not verified: personal WhatsApp messages start once the number is verified.")}</p>
                        <button type="button" data-testid="send-code"
                            disabled=move || send.pending().get()
                            on:click=move |_| { send.dispatch(SendPhoneCode {}); }>
                            {move || if code_sent.get() { tr("Kirim ulang kode", "Send the code again") } else { tr("Kirim kode verifikasi", "Send a verification code") }}
                        </button>
                        {move || match send.value().get() {
                            Some(Ok(sent)) => view! {
                                <p class="notice" role="status">
                                    {fill(tr("Kode dikirim lewat WhatsApp ke {}. Berlaku 10 menit.", "Code sent over WhatsApp to {}. Valid for 10 minutes."), &[&sent.masked_phone])}
                                </p>
                            }.into_any(),
                            Some(Err(e)) => view! { <ErrorNote error=e/> }.into_any(),
                            None => ().into_any(),
                        }}
                        <Show when=move || code_sent.get()>
                            <div class="row">
                                <label for="code">{tr("Kode verifikasi", "Verification code")}
                                    <input id="code" inputmode="numeric" autocomplete="one-time-code"
                                        maxlength="7" aria-describedby="code-error"
                                        prop:value=code
                                        on:input=move |ev| code.set(event_target_value(&ev))/>
                                </label>
                                <button type="button" data-testid="verify-code"
                                    disabled=move || verify.pending().get()
                                    on:click=move |_| { verify.dispatch(VerifyPhoneCode { code: code.get() }); }>
                                    {tr("Verifikasi", "Verify")}
                                </button>
                            </div>
                            {move || match verify.value().get() {
                                Some(Err(e)) => {
                                    let message = e.field("code").unwrap_or_else(|| e.message());
                                    view! { <p class="field-error" id="code-error" role="alert">{message}</p> }.into_any()
                                }
                                _ => ().into_any(),
                            }}
                        </Show>
                    }.into_any(),
                }
            }}
        </div>
    }
}
