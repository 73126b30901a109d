//! The delivery log page (admin, manager).

use super::recent_deliveries;
use crate::shell::ErrorNote;
use crate::time::format_wib;
use leptos::prelude::*;

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| recent_deliveries());
    view! {
        <h1>"Log pengiriman"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Memuat…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted">"Belum ada pengiriman."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                        <table>
                            <thead><tr>
                                <th>"Waktu (WIB)"</th><th>"Jenis"</th><th>"Saluran"</th><th>"Penyedia"</th>
                                <th>"Penerima"</th><th>"Status"</th><th>"Percobaan"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|d| view! {
                                    <tr>
                                        <td>{format_wib(d.created_at)}</td>
                                        <td>{d.notification_type}</td>
                                        <td>{d.channel.as_str()}</td>
                                        <td>{d.provider.unwrap_or_default()}</td>
                                        <td>{d.recipient}</td>
                                        <td><span class=format!("status status-{}", d.status.as_str())>{d.status.as_str()}</span></td>
                                        <td>{d.attempts}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
