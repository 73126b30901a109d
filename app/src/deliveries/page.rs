//! The delivery log pages (admin, manager): the filtered list and one
//! delivery's detail. The filters live in the URL, so a filtered view can be
//! bookmarked, shared and exported as it is.

use super::{
    delivery_filter_options, get_delivery, list_deliveries, DeliveryDetail, DeliveryFilter,
    DeliveryListItem, RetryDelivery,
};
use crate::i18n::{self, fill, tr};
use crate::time::format_wib;
use crate::ui::{
    account_label, channel_label, priority_label, status_label, try_label, type_label, ErrorNote,
    Loading,
};
use domain::{Channel, DeliveryId, DeliveryStatus};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::NavigateOptions;

#[component]
fn StatusBadge(status: DeliveryStatus) -> impl IntoView {
    view! { <span class=format!("status status-{}", status.as_str())>{status_label(status)}</span> }
}

/// One page of the log: a row per delivery, linking to its detail.
#[component]
fn DeliveryTable(items: Vec<DeliveryListItem>) -> impl IntoView {
    view! {
            <div class="table-wrap">
            <table class="deliveries">
                <thead><tr>
                    // Status second: on a phone the row is wider than the
                    // screen and the status is what one looks for.
                    <th>{tr("Waktu (WIB)", "Time (WIB)")}</th><th>{tr("Status", "Status")}</th>
                    <th>{tr("Jenis", "Type")}</th><th>{tr("Saluran", "Channel")}</th>
                    <th class="hide-sm">{tr("Penyedia", "Provider")}</th><th>{tr("Penerima", "Recipient")}</th>
                    <th class="hide-sm">{tr("Percobaan", "Attempts")}</th>
                </tr></thead>
                <tbody>
                    {items.into_iter().map(|d| view! {
                        <tr data-testid="delivery-row">
                            <td><a href=format!("/deliveries/{}", d.id)>{format_wib(d.created_at)}</a></td>
                            <td><StatusBadge status=d.status/></td>
                            <td>{type_label(&d.notification_type)}</td>
                            <td>{channel_label(d.channel)}</td>
                            <td class="hide-sm">{d.provider.unwrap_or_default()}</td>
                            <td>{d.recipient}</td>
                            <td class="hide-sm">{d.attempts}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
    }
}

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| {
            let mut f = DeliveryFilter::default();
            for field in DeliveryFilter::FIELDS {
                if let Some(v) = q.get(field) {
                    f.set(field, v);
                }
            }
            f
        })
    });
    let after = Memo::new(move |_| query.with(|q| q.get("after")));
    // Reloads (behind a Transition, so rows stay on screen) whenever the live
    // socket reports changed deliveries: statuses move without a reload.
    let live = crate::live::Live::get();
    let rows = Resource::new(
        move || (filter.get(), after.get(), live.deliveries_tick.get()),
        |(f, a, _)| list_deliveries(f, a),
    );
    let options = Resource::new(|| (), |_| delivery_filter_options());
    let navigate = use_navigate();
    let go = move |f: DeliveryFilter, after: Option<String>| {
        let mut q = f.to_query();
        if let Some(a) = after {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&format!("after={a}"));
        }
        let url = if q.is_empty() {
            "/deliveries".to_owned()
        } else {
            format!("/deliveries?{q}")
        };
        navigate(&url, NavigateOptions::default());
    };
    let set = {
        let go = go.clone();
        Callback::new(move |(field, value): (&'static str, String)| {
            let mut f = filter.get_untracked();
            f.set(field, value);
            go(f, None);
        })
    };

    let statuses: Vec<(String, String)> = DeliveryStatus::ALL
        .iter()
        .map(|s| (s.as_str().into(), status_label(*s).into()))
        .collect();
    let channels: Vec<(String, String)> = Channel::ALL
        .iter()
        .map(|c| (c.as_str().into(), channel_label(*c).into()))
        .collect();
    let types: Vec<(String, String)> = domain::EventKind::all()
        .map(|k| (k.as_str().into(), k.label(i18n::locale()).into()))
        .collect();

    view! {
        <h1>{tr("Log pengiriman", "Delivery log")}</h1>
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <FilterSelect field="status" label=tr("Status", "Status") choices=statuses filter set/>
            <FilterSelect field="channel" label=tr("Saluran", "Channel") choices=channels filter set/>
            <FilterSelect field="type" label=tr("Jenis", "Type") choices=types filter set/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let o = options.await.unwrap_or_default();
                    let as_choices = |v: Vec<(i64, String)>| v.into_iter().map(|(id, n)| (id.to_string(), n)).collect::<Vec<_>>();
                    let providers = o.providers.iter().map(|p| (p.clone(), p.clone())).collect();
                    view! {
                        <FilterSelect field="provider" label=tr("Penyedia", "Provider") choices=providers filter set/>
                        <FilterSelect field="group" label=tr("Grup", "Group") choices=as_choices(o.groups) filter set/>
                        <FilterSelect field="user" label=tr("Pengguna", "User") choices=as_choices(o.users) filter set/>
                    }
                })}
            </Suspense>
            <FilterDate field="from" label=tr("Dari tanggal", "From date") filter set/>
            <FilterDate field="to" label=tr("Sampai tanggal", "To date") filter set/>
            <a class="button" data-testid="export-csv" download
                href=move || format!("/deliveries/export.csv?{}", filter.with(DeliveryFilter::to_query))>
                {tr("Ekspor CSV", "Export CSV")}
            </a>
        </form>
        <Transition fallback=Loading>
            {move || Suspend::new({
                let go = go.clone();
                async move {
                match rows.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(page) if page.items.is_empty() => view! {
                        <p class="muted" data-testid="deliveries-empty">{tr("Tidak ada pengiriman yang cocok.", "No deliveries match.")}</p>
                    }.into_any(),
                    Ok(page) => {
                        let next = page.next.clone();
                        let paged = after.get_untracked().is_some();
                        view! {
                            <DeliveryTable items=page.items/>
                            <nav class="pager" aria-label=tr("Halaman", "Pages")>
                                {paged.then(|| {
                                    let go = go.clone();
                                    view! {
                                        <button type="button" on:click=move |_| go(filter.get_untracked(), None)>{tr("« Terbaru", "« Newest")}</button>
                                    }
                                })}
                                {next.map(|n| {
                                    let go = go.clone();
                                    view! {
                                        <button type="button" data-testid="next-page"
                                            on:click=move |_| go(filter.get_untracked(), Some(n.clone()))>{tr("Berikutnya »", "Next »")}</button>
                                    }
                                })}
                            </nav>
                        }.into_any()
                    }
                }
            }})}
        </Transition>
    }
}

/// One of the log's filters: a choice, "all" when empty.
#[component]
fn FilterSelect(
    field: &'static str,
    label: &'static str,
    choices: Vec<(String, String)>,
    filter: Memo<DeliveryFilter>,
    set: Callback<(&'static str, String)>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select data-testid=format!("filter-{field}")
                on:change=move |ev| set.run((field, event_target_value(&ev)))>
                <option value="" selected=move || filter.with(|f| f.get(field).is_empty())>{tr("Semua", "All")}</option>
                {choices.into_iter().map(|(value, text)| {
                    let v = value.clone();
                    view! {
                        <option value=value selected=move || filter.with(|f| f.get(field) == v)>{text}</option>
                    }
                }).collect_view()}
            </select>
        </label>
    }
}

/// One of the log's date filters (a day in WIB).
#[component]
fn FilterDate(
    field: &'static str,
    label: &'static str,
    filter: Memo<DeliveryFilter>,
    set: Callback<(&'static str, String)>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input type="date" data-testid=format!("filter-{field}")
                prop:value=move || filter.with(|f| f.get(field).to_owned())
                on:change=move |ev| set.run((field, event_target_value(&ev)))/>
        </label>
    }
}

#[component]
pub fn DeliveryDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<DeliveryId>().ok())));
    let retry = ServerAction::<RetryDelivery>::new();
    let live = crate::live::Live::get();
    let detail = Resource::new(
        move || (id.get(), retry.version().get(), live.deliveries_tick.get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_delivery(id).await,
                None => Err(crate::error::AppError::NotFound(
                    domain::words::Missing::Page,
                )),
            }
        },
    );
    view! {
        <p><a href="/deliveries">{tr("« Log pengiriman", "« Delivery log")}</a></p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(d) => view! { <DetailView d=d retry=retry/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DetailView(d: DeliveryDetail, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    let when = |t: Option<i64>| t.map(format_wib).unwrap_or_else(|| "—".into());
    let id = d.item.id;
    let failed = d.item.status == DeliveryStatus::Failed;
    // An SMS is billed per segment: say how many this text takes.
    let sms_parts = (d.item.channel == Channel::Sms).then(|| {
        let s = domain::sms::segments(&d.message);
        fill(
            tr(" · {} segmen SMS ({})", " · {} SMS segments ({})"),
            &[&s.count, &s.encoding.as_str()],
        )
    });
    view! {
        <h1>{tr("Pengiriman #", "Delivery #")} {id.0}</h1>
        <section class="card">
            <dl class="pairs" data-testid="delivery-detail">
                <dt>{tr("Status", "Status")}</dt><dd><StatusBadge status=d.item.status/></dd>
                <dt>{tr("Jenis", "Type")}</dt><dd>{type_label(&d.item.notification_type)} " · " {priority_label(&d.priority)}</dd>
                <dt>{tr("Saluran", "Channel")}</dt><dd>{channel_label(d.item.channel)}</dd>
                <dt>{tr("Penerima", "Recipient")}</dt><dd>{d.item.recipient.clone()}
                    {d.user_name.clone().map(|n| format!(" ({n})"))}
                    {d.group_name.clone().map(|n| format!(" ({n})"))}</dd>
                <dt>{tr("Penyedia", "Provider")}</dt><dd>{d.item.provider.clone().unwrap_or_else(|| "—".into())}
                    {d.provider_message_id.clone().map(|m| format!(" · id {m}"))}</dd>
                <dt>{tr("Percobaan", "Attempts")}</dt><dd>{fill(tr("{} dari {}", "{} of {}"), &[&d.item.attempts, &d.max_attempts])}</dd>
                <dt>{tr("Biaya", "Cost")}</dt><dd>{format!("Rp {}", d.cost_rupiah)}{sms_parts}</dd>
                <dt>{tr("Dibuat", "Created")}</dt><dd>{format_wib(d.item.created_at)}</dd>
                <dt>{tr("Terkirim", "Sent")}</dt><dd>{when(d.sent_at)}</dd>
                <dt>{tr("Diterima", "Delivered")}</dt><dd>{when(d.delivered_at)}</dd>
                <dt>{tr("Dibaca", "Read")}</dt><dd>{when(d.read_at)}</dd>
                <dt>{tr("Gagal", "Failed")}</dt><dd>{when(d.failed_at)}</dd>
                <dt>{tr("Percobaan berikutnya", "Next attempt")}</dt><dd>{when(d.next_attempt_at)}</dd>
                <dt>{tr("Galat", "Error")}</dt><dd>{d.item.error.clone().unwrap_or_else(|| "—".into())}</dd>
            </dl>
            {d.retry_of.map(|o| view! { <p>{tr("Pengulangan dari ", "A retry of ")} <a href=format!("/deliveries/{o}")>"#" {o.0}</a></p> })}
            {d.retried_as.map(|n| view! { <p>{tr("Diulang sebagai ", "Retried as ")} <a href=format!("/deliveries/{n}")>"#" {n.0}</a></p> })}
            {d.fallback_of.map(|o| view! { <p data-testid="fallback-of">{tr("SMS pengganti WhatsApp ", "SMS standing in for WhatsApp ")} <a href=format!("/deliveries/{o}")>"#" {o.0}</a></p> })}
            {d.sms_fallback.map(|n| view! { <p data-testid="sms-fallback">{tr("Tidak sampai lewat WhatsApp; dikirim lewat SMS sebagai ", "Did not arrive by WhatsApp; sent by SMS as ")} <a href=format!("/deliveries/{n}")>"#" {n.0}</a></p> })}
            {d.alert_step.map(|n| view! { <p data-testid="alert-step">{domain::escalation::step_title(crate::i18n::locale(), n as usize)}</p> })}
            {d.alert.clone().map(|a| view! { <p data-testid="delivery-alert">{alert_summary(&a)}</p> })}
            {(failed && d.retried_as.is_none()).then(|| view! {
                <button type="button" class="primary" data-testid="retry"
                    disabled=move || retry.pending().get()
                    on:click=move |_| { retry.dispatch(RetryDelivery { id }); }>
                    {tr("Kirim ulang", "Retry")}
                </button>
            })}
            {move || retry.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </section>
        <section class="card">
            <h2>{tr("Riwayat percobaan kirim", "Send tries")}</h2>
            <TryTimeline tries=d.tries.clone()/>
        </section>
        <section class="card">
            <h2>{tr("Pesan", "Message")}</h2>
            {d.subject.clone().map(|s| view! {
                <p data-testid="delivery-subject"><strong>{tr("Subjek: ", "Subject: ")}</strong>{s}</p>
            })}
            <pre class="message" data-testid="delivery-message">{d.message.clone()}</pre>
        </section>
        <section class="card">
            <h2>{tr("Tanggapan penyedia", "Provider response")}</h2>
            <pre class="response">{d.provider_response.clone().unwrap_or_else(|| "—".into())}</pre>
        </section>
    }
}

/// Every account's try at the delivery, in order: when, which account, how
/// it ended (and whether the next account took over), the provider's own
/// answer folded away.
#[component]
fn TryTimeline(tries: Vec<super::TryView>) -> impl IntoView {
    if tries.is_empty() {
        return view! { <p class="muted">{tr("Belum ada percobaan ke penyedia.", "No provider has been tried yet.")}</p> }
            .into_any();
    }
    let handed_on: Vec<bool> = tries
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.outcome.fails_over()
                && tries
                    .get(i + 1)
                    .is_some_and(|next| next.attempt == t.attempt)
        })
        .collect();
    view! {
        <ol class="timeline" data-testid="tries">
            {tries.into_iter().zip(handed_on).map(|(t, handed_on)| {
                let account = account_label(t.account.clone());
                let took = fill(tr("{} md", "{} ms"), &[&(t.finished_at - t.started_at).max(0)]);
                let raw: Vec<String> = [t.http_status.map(|s| format!("HTTP {s}")), t.error.clone(), t.response.clone()]
                    .into_iter()
                    .flatten()
                    .collect();
                view! {
                    <li class=format!("try try-{}", t.outcome.as_str())>
                        <span class="when">{format_wib(t.started_at)}</span>
                        " · " {fill(tr("percobaan {}", "attempt {}"), &[&t.attempt])}
                        " · " <strong>{account}</strong> " (" {t.provider.clone()} ")"
                        " — " <span data-testid="try-outcome">{try_label(t.outcome)}</span>
                        " · " {took}
                        {handed_on.then(|| view! { " · " {tr("dialihkan ke akun berikutnya", "handed on to the next account")} })}
                        {(!raw.is_empty()).then(|| view! {
                            <details>
                                <summary>{tr("Jawaban penyedia", "The provider's answer")}</summary>
                                <pre class="response">{raw.join("\n")}</pre>
                            </details>
                        })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}

/// A test send's delivery as it moves (queued → sent → delivered → read, or
/// failed): read again whenever the live socket says it changed.
#[component]
pub fn DeliveryProgress(delivery_id: Memo<Option<DeliveryId>>) -> impl IntoView {
    let live = crate::live::Live::get();
    let moved = RwSignal::new(0u32);
    Effect::new(move |_| {
        let changes = live.last_changes.get();
        if let Some(id) = delivery_id.get_untracked() {
            if changes.iter().any(|c| c.id == id) {
                moved.update(|n| *n += 1);
            }
        }
    });
    let progress = Resource::new(
        move || (delivery_id.get(), moved.get(), live.resyncs.get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => Some(super::get_delivery(id).await),
                None => None,
            }
        },
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match progress.await {
                    None => ().into_any(),
                    Some(Err(e)) => view! { <ErrorNote error=e/> }.into_any(),
                    Some(Ok(d)) => view! {
                        <p role="status" data-testid="test-send-status" class=format!("status status-{}", d.item.status.as_str())>
                            {fill(tr("Pengiriman #{}: {}", "Delivery #{}: {}"), &[&d.item.id, &status_label(d.item.status)])}
                            {d.item.provider.clone().map(|p| fill(tr(" lewat {}", " via {}"), &[&p]))}
                            {d.item.error.clone().map(|e| format!(" — {e}"))}
                        </p>
                        <p><a href=format!("/deliveries/{}", d.item.id)>{tr("Lihat di log pengiriman", "See it in the delivery log")}</a></p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// An alert's state in one line: open (and when the next step comes), or
/// who acknowledged it, when and how.
fn alert_summary(a: &crate::alerts::AlertView) -> String {
    let locale = crate::i18n::locale();
    if a.open {
        match a.next_step_at {
            Some(at) => fill(
                tr(
                    "Peringatan terbuka, menunggu konfirmasi; eskalasi berikutnya {} WIB.",
                    "Alert open, awaiting acknowledgement; next escalation {} WIB.",
                ),
                &[&format_wib(at)],
            ),
            None => tr(
                "Peringatan terbuka, menunggu konfirmasi; semua tahap eskalasi sudah berjalan.",
                "Alert open, awaiting acknowledgement; every escalation step has run.",
            )
            .into(),
        }
    } else {
        fill(
            tr(
                "Peringatan dikonfirmasi oleh {} pada {} WIB melalui {}.",
                "Alert acknowledged by {} at {} WIB via {}.",
            ),
            &[
                &a.acknowledged_by.as_deref().unwrap_or("-"),
                &a.acknowledged_at.map(format_wib).unwrap_or_default(),
                &a.ack_channel.map(|c| c.label(locale)).unwrap_or("-"),
            ],
        )
    }
}
