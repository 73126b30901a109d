//! The sign-in form. A plain HTML form underneath, so it works before (and
//! without) the WASM bundle; once hydrated it submits without a reload.

use crate::error::AppError;
use crate::i18n::tr;
use crate::shell::Auth;
use leptos::prelude::*;

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let result = auth.login.value();
    let error = move || match result.get() {
        Some(Err(e)) => Some(e),
        _ => None,
    };
    let field_error = move |name: &'static str| move || error().and_then(|e| e.field(name));
    view! {
        <main class="login">
            <h1>{tr("Notifikasi ISP", "ISP Notifications")}</h1>
            <p class="muted">{tr("Masuk untuk mengatur notifikasi WhatsApp dan melihat log pengiriman.",
                "Sign in to set up WhatsApp notifications and see the delivery log.")}</p>
            <ActionForm action=auth.login attr:class="card form">
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username" required/>
                <p class="field-error">{field_error("email")}</p>
                <label for="password">{tr("Kata sandi", "Password")}</label>
                <input id="password" type="password" name="password" autocomplete="current-password" required/>
                <p class="field-error">{field_error("password")}</p>
                {move || error().filter(|e| !matches!(e, AppError::Validation(_))).map(|e| view! {
                    <p class="error" role="alert" data-testid="login-error">{e.message()}</p>
                })}
                <button type="submit" disabled=move || auth.login.pending().get()>{tr("Masuk", "Sign in")}</button>
            </ActionForm>
        </main>
    }
}
