//! The analytics page. Only totals per status so far.

use super::status_counts;
use crate::shell::ErrorNote;
use leptos::prelude::*;

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let counts = Resource::new(|| (), |_| status_counts());
    view! {
        <h1>"Analitik"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Memuat…"</p> }>
            {move || Suspend::new(async move {
                match counts.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(rows) => {
                        let total: i64 = rows.iter().map(|(_, n)| n).sum();
                        view! {
                            <section class="card">
                                <h2>"Total pengiriman: " {total}</h2>
                                <dl class="pairs">
                                    {rows.into_iter().map(|(s, n)| view! { <dt>{s}</dt><dd>{n}</dd> }).collect_view()}
                                </dl>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
