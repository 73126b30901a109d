//! The inbox page: what was sent to the user in the app.

use super::my_notifications;
use crate::i18n::tr;
use crate::shell::{ErrorNote, Loading};
use crate::time::format_wib;
use leptos::prelude::*;

#[component]
pub fn InboxPage() -> impl IntoView {
    let items = Resource::new(|| (), |_| my_notifications());
    view! {
        <h1>{tr("Kotak masuk", "Inbox")}</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match items.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted">{tr("Belum ada notifikasi.", "No notifications yet.")}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="inbox">
                            {list.into_iter().map(|n| view! {
                                <li class:unread=n.read_at.is_none()>
                                    <strong>{n.title}</strong>
                                    <small class="muted">" · " {format_wib(n.created_at)} " · " {n.priority}</small>
                                    <p>{n.body}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
