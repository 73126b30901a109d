//! `/set-password?token=…`: where a one-time link lands. Greets the person
//! by name, takes the new password twice, then sends them to sign in.

use super::{password_link, NewPassword, SetPassword};
use crate::error::AppError;
use crate::i18n::{fill, tr};
use crate::ui::{ErrorNote, FieldMessage, Loading};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = Memo::new(move |_| query.with(|q| q.get("token").unwrap_or_default()));
    let whose = Resource::new(move || token.get(), password_link);
    view! {
        <main class="login">
            <h1>{tr("Buat kata sandi", "Set your password")}</h1>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match whose.await {
                        Err(e) => view! {
                            <ErrorNote error=e/>
                            <p><a href="/login">{tr("Ke halaman masuk", "To the sign-in page")}</a></p>
                        }.into_any(),
                        Ok(name) => view! { <PasswordForm name token=token.get_untracked()/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn PasswordForm(name: String, token: String) -> impl IntoView {
    let set = ServerAction::<SetPassword>::new();
    let form = RwSignal::new(NewPassword {
        token,
        ..NewPassword::default()
    });
    let result = set.value();
    let errors = Signal::derive(move || match result.get() {
        Some(Err(AppError::Validation(v))) => v,
        _ => Vec::new(),
    });
    let input = move |id: &'static str,
                      label: &'static str,
                      get: fn(&NewPassword) -> String,
                      put: fn(&mut NewPassword, String)| {
        view! {
            <label for=id>{label}</label>
            <input id=id type="password" autocomplete="new-password"
                aria-describedby=format!("{id}-error")
                prop:value=move || form.with(get)
                on:input=move |ev| form.update(|f| put(f, event_target_value(&ev)))/>
            <FieldMessage errors field=id/>
        }
    };
    view! {
        <Show when=move || !matches!(result.get(), Some(Ok(())))
            fallback=|| view! {
                <p class="notice" role="status" data-testid="password-set">
                    {tr("Kata sandi tersimpan. Silakan masuk dengan email dan kata sandi baru Anda.",
                        "Password saved. Sign in with your email and your new password.")}
                </p>
                <p><a class="button primary" href="/login">{tr("Masuk", "Sign in")}</a></p>
            }>
            <p class="muted">{fill(tr("Halo {}, buat kata sandi untuk akun Anda (minimal 10 karakter).",
                "Hello {}, choose a password for your account (at least 10 characters)."), &[&name])}</p>
            <form class="card form" data-testid="set-password-form" on:submit=move |ev| {
                ev.prevent_default();
                set.dispatch(SetPassword { form: form.get_untracked() });
            }>
                {input("new", tr("Kata sandi baru", "New password"), |f| f.new.clone(), |f, v| f.new = v)}
                {input("repeat", tr("Ulangi kata sandi", "Repeat the password"), |f| f.repeat.clone(), |f, v| f.repeat = v)}
                {move || match result.get() {
                    Some(Err(e)) if !matches!(e, AppError::Validation(_)) => Some(view! { <ErrorNote error=e/> }),
                    _ => None,
                }}
                <button type="submit" class="primary" disabled=move || set.pending().get()>{tr("Simpan kata sandi", "Save the password")}</button>
            </form>
        </Show>
    }
}
