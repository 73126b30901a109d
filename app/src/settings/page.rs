//! Notification settings (every signed-in user, their own). Read-only for now;
//! editing arrives with the settings issue.

use super::{get_my_settings, hhmm};
use crate::shell::ErrorNote;
use leptos::prelude::*;

fn on_off(v: bool) -> &'static str {
    if v {
        "Aktif"
    } else {
        "Nonaktif"
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| get_my_settings());
    view! {
        <h1>"Pengaturan notifikasi"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Memuat…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(s) => view! {
                        <section class="card">
                            <h2>"Saluran"</h2>
                            <dl class="pairs">
                                <dt>"Dalam aplikasi"</dt><dd>"Selalu aktif"</dd>
                                <dt>"WhatsApp"</dt><dd>{on_off(s.whatsapp_enabled)}</dd>
                                <dt>"Email"</dt><dd>{on_off(s.email_enabled)}</dd>
                                <dt>"Push"</dt><dd>{on_off(s.push_enabled)}</dd>
                            </dl>
                        </section>
                        <section class="card">
                            <h2>"Nomor WhatsApp"</h2>
                            <p>
                                {s.phone.clone().unwrap_or_else(|| "Belum diisi".into())}
                                " "
                                {if s.phone_verified { "(terverifikasi)" } else { "(belum terverifikasi)" }}
                            </p>
                        </section>
                        <section class="card">
                            <h2>"Jam tenang"</h2>
                            <p>
                                {if s.quiet_hours_enabled {
                                    format!("{}–{} ({})", hhmm(s.quiet_start_minute), hhmm(s.quiet_end_minute), s.quiet_time_zone)
                                } else {
                                    "Nonaktif".to_owned()
                                }}
                            </p>
                        </section>
                        <section class="card">
                            <h2>"Grup"</h2>
                            <p>"Terima notifikasi grup: " {on_off(s.receive_group_notifications)}</p>
                            <ul>{s.groups.into_iter().map(|g| view! { <li>{g}</li> }).collect_view()}</ul>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
