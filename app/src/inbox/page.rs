//! The inbox page: what was sent to the user in the app. It reloads whenever
//! the live socket reports a change of the unread count (a new item, or items
//! read in another tab), so it stays current without a reload.

use super::{my_notifications, Acknowledge, MarkAllRead, MarkRead};
use crate::alerts::AlertView;
use crate::i18n::tr;
use crate::live::Live;
use crate::time::format_wib;
use crate::ui::{priority_label, ErrorNote, Loading};
use leptos::prelude::*;

#[component]
pub fn InboxPage() -> impl IntoView {
    let live = Live::get();
    let mark = ServerAction::<MarkRead>::new();
    let mark_all = ServerAction::<MarkAllRead>::new();
    let ack = ServerAction::<Acknowledge>::new();
    let items = Resource::new(
        move || {
            (
                live.unread.get(),
                live.resyncs.get(),
                mark.version().get(),
                mark_all.version().get(),
                ack.version().get(),
            )
        },
        |_| my_notifications(),
    );
    let any_unread = move || live.unread.get().is_some_and(|n| n > 0);
    view! {
        <div class="page-head">
            <h1>{tr("Kotak masuk", "Inbox")}</h1>
            <Show when=any_unread>
                <button class="secondary" data-testid="mark-all-read"
                    on:click=move |_| { mark_all.dispatch(MarkAllRead {}); }>
                    {tr("Tandai semua dibaca", "Mark all read")}
                </button>
            </Show>
        </div>
        {move || ack.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match items.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted">{tr("Belum ada notifikasi.", "No notifications yet.")}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="inbox">
                            {list.into_iter().map(|n| {
                                let id = n.id;
                                let unread = n.read_at.is_none();
                                let alert = n.alert.clone();
                                view! {
                                    <li class:unread=unread data-id=id>
                                        <strong>{n.title}</strong>
                                        <small class="muted">" · " {format_wib(n.created_at)} " · " {priority_label(&n.priority)}</small>
                                        <p>{domain::template::pieces(&n.body).into_iter().map(|p| match p {
                                            domain::template::Piece::Text(t) => t.to_owned().into_any(),
                                            domain::template::Piece::Link(l) => view! {
                                                <a href=l.to_owned() target="_blank" rel="noopener noreferrer">{l.to_owned()}</a>
                                            }.into_any(),
                                        }).collect_view()}</p>
                                        {alert.map(|a| view! { <AlertState alert=*a on_ack=move || { ack.dispatch(Acknowledge { id }); }/> })}
                                        <Show when=move || unread>
                                            <button class="link" data-testid="mark-read"
                                                on:click=move |_| { mark.dispatch(MarkRead { id }); }>
                                                {tr("Tandai dibaca", "Mark read")}
                                            </button>
                                        </Show>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An alert's state under its notification: open with the button that
/// acknowledges it, or who acknowledged it, when and how.
#[component]
fn AlertState(alert: AlertView, on_ack: impl Fn() + 'static + Send + Sync) -> impl IntoView {
    let locale = crate::i18n::locale();
    if alert.open {
        view! {
            <div class="alert-state open" data-testid="alert-open">
                <span class="badge warn">{tr("Menunggu konfirmasi", "Awaiting acknowledgement")}</span>
                <button class="primary" data-testid="acknowledge" on:click=move |_| on_ack()>
                    {tr("Konfirmasi: saya tangani", "Acknowledge: I'm on it")}
                </button>
            </div>
        }
        .into_any()
    } else {
        let by = alert.acknowledged_by.unwrap_or_else(|| "-".into());
        let at = alert.acknowledged_at.map(format_wib).unwrap_or_default();
        let via = alert.ack_channel.map(|c| c.label(locale)).unwrap_or("-");
        view! {
            <p class="alert-state done" data-testid="alert-acknowledged">
                {crate::i18n::fill(
                    tr("Dikonfirmasi oleh {} · {} · melalui {}", "Acknowledged by {} · {} · via {}"),
                    &[&by, &at, &via],
                )}
            </p>
        }
        .into_any()
    }
}
