//! The settings page's account part: a new password (the current one
//! required), and the browsers signed in, each of which can be signed out.

use super::{my_sessions, ChangePassword, EndOtherSessions, EndSession, PasswordChange};
use crate::i18n::{fill, tr};
use crate::time::format_wib;
use crate::ui::{ErrorNote, FieldMessage, Loading};
use leptos::prelude::*;

#[component]
pub fn AccountSection() -> impl IntoView {
    view! {
        <PasswordCard/>
        <SessionsCard/>
    }
}

#[component]
fn PasswordCard() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let form = RwSignal::new(PasswordChange::default());
    let result = change.value();
    let error = move || match result.get() {
        Some(Err(e)) => Some(e),
        _ => None,
    };
    let field_errors = Signal::derive(move || match error() {
        Some(crate::error::AppError::Validation(errors)) => errors,
        _ => Vec::new(),
    });
    // A saved change empties the form.
    Effect::new(move |_| {
        if matches!(result.get(), Some(Ok(()))) {
            form.set(PasswordChange::default());
        }
    });
    let input = move |id: &'static str,
                      label: &'static str,
                      autocomplete: &'static str,
                      get: fn(&PasswordChange) -> String,
                      set: fn(&mut PasswordChange, String)| {
        view! {
            <label for=id>{label}</label>
            <input id=id type="password" autocomplete=autocomplete
                aria-describedby=format!("{id}-error")
                prop:value=move || form.with(get)
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
            <FieldMessage errors=field_errors field=id/>
        }
    };
    view! {
        <section class="card form" data-testid="password-card">
            <h2>{tr("Kata sandi", "Password")}</h2>
            <form on:submit=move |ev| {
                ev.prevent_default();
                change.dispatch(ChangePassword { change: form.get_untracked() });
            }>
                {input("current", tr("Kata sandi saat ini", "Current password"), "current-password",
                    |f| f.current.clone(), |f, v| f.current = v)}
                {input("new", tr("Kata sandi baru (minimal 10 karakter)", "New password (at least 10 characters)"), "new-password",
                    |f| f.new.clone(), |f, v| f.new = v)}
                {input("repeat", tr("Ulangi kata sandi baru", "Repeat the new password"), "new-password",
                    |f| f.repeat.clone(), |f, v| f.repeat = v)}
                {move || error().filter(|e| !matches!(e, crate::error::AppError::Validation(_))).map(|e| view! {
                    <p class="error" role="alert">{e.message()}</p>
                })}
                {move || matches!(result.get(), Some(Ok(()))).then(|| view! {
                    <p class="notice" role="status" data-testid="password-changed">
                        {tr("Kata sandi diganti. Perangkat lain yang masuk dengan akun ini sudah dikeluarkan.",
                            "Password changed. Other devices signed in with this account were signed out.")}
                    </p>
                })}
                <button type="submit" disabled=move || change.pending().get()>{tr("Ganti kata sandi", "Change password")}</button>
            </form>
        </section>
    }
}

#[component]
fn SessionsCard() -> impl IntoView {
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let live = crate::live::Live::get();
    let sessions = Resource::new(
        move || {
            (
                end_one.version().get(),
                end_others.version().get(),
                live.resyncs.get(),
            )
        },
        |_| my_sessions(),
    );
    view! {
        <section class="card" data-testid="sessions-card">
            <h2>{tr("Perangkat yang masuk", "Signed-in devices")}</h2>
            <p class="muted">{tr("Keluarkan perangkat yang tidak Anda kenal, lalu ganti kata sandi.",
                "Sign out devices you do not recognise, then change your password.")}</p>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(list) => {
                            let others = list.iter().filter(|s| !s.current).count();
                            view! {
                                <ul class="sessions">
                                    {list.into_iter().map(|s| view! { <SessionItem s end_one/> }).collect_view()}
                                </ul>
                                {(others > 0).then(|| view! {
                                    <button type="button" data-testid="end-other-sessions"
                                        disabled=move || end_others.pending().get()
                                        on:click=move |_| { end_others.dispatch(EndOtherSessions {}); }>
                                        {tr("Keluarkan semua perangkat lain", "Sign out every other device")}
                                    </button>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || match end_others.value().get() {
                Some(Ok(n)) => Some(view! {
                    <p class="notice" role="status" data-testid="others-ended">
                        {fill(tr("{} perangkat lain dikeluarkan.", "{} other devices signed out."), &[&n])}
                    </p>
                }.into_any()),
                Some(Err(e)) => Some(view! { <ErrorNote error=e/> }.into_any()),
                None => None,
            }}
        </section>
    }
}

#[component]
fn SessionItem(s: super::SessionView, end_one: ServerAction<EndSession>) -> impl IntoView {
    let device = if s.device.is_empty() {
        tr("Peramban tidak dikenal", "Unknown browser").to_owned()
    } else {
        s.device.clone()
    };
    let handle = s.handle.clone();
    view! {
        <li data-testid="session">
            <strong>{device}</strong>
            {s.current.then(|| view! { <span class="badge" data-testid="this-device">{tr("perangkat ini", "this device")}</span> })}
            <br/>
            <span class="muted">
                {fill(tr("Masuk {} · terakhir aktif {}", "Signed in {} · last active {}"),
                    &[&format_wib(s.created_at), &format_wib(s.last_seen_at)])}
            </span>
            {(!s.current).then(|| view! {
                <button type="button" class="link" data-testid="end-session"
                    on:click=move |_| { end_one.dispatch(EndSession { handle: handle.clone() }); }>
                    {tr("Keluarkan", "Sign out")}
                </button>
            })}
        </li>
    }
}
