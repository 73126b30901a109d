//! The analytics page: a date range, headline figures and SVG charts. The
//! range lives in the URL (`?from=2026-11-01&to=2026-11-30`).

use super::chart::{thousands, RankBars, StackedBars};
use super::{analytics_report, describe_seconds, AccountTries, Report, Volume};
use crate::i18n::tr;
use crate::ui::{account_label, channel_label, status_label, try_label, type_label};
use crate::ui::{ErrorNote, Loading};
use domain::{Channel, TryOutcome};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

fn percent(r: Option<f64>) -> String {
    // A decimal comma in Indonesian, a point in English.
    r.map(|r| format!("{:.1}%", r * 100.0).replace('.', tr(",", ".")))
        .unwrap_or_else(|| "—".into())
}

fn channel_key(k: &str) -> String {
    Channel::parse(k)
        .map(|c| channel_label(c).to_owned())
        .unwrap_or_else(|_| k.to_owned())
}

fn plain_key(k: &str) -> String {
    k.to_owned()
}

fn type_key(k: &str) -> String {
    type_label(k)
}

fn rupiah(n: i64) -> String {
    format!("Rp {}", thousands(n))
}

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let query = use_query_map();
    let from = Memo::new(move |_| query.with(|q| q.get("from").unwrap_or_default()));
    let to = Memo::new(move |_| query.with(|q| q.get("to").unwrap_or_default()));
    // Reloads when the server recomputed the rollups (the live socket says
    // so within seconds of deliveries moving).
    let live = crate::live::Live::get();
    let report = Resource::new(
        move || (from.get(), to.get(), live.analytics_tick.get()),
        |(f, t, _)| analytics_report(f, t),
    );
    let navigate = use_navigate();
    let pick = move |field: &'static str, value: String| {
        let (mut f, mut t) = (from.get_untracked(), to.get_untracked());
        if field == "from" {
            f = value
        } else {
            t = value
        }
        navigate(
            &format!("/analytics?from={f}&to={t}"),
            NavigateOptions::default(),
        );
    };
    let dimension = RwSignal::new("channel".to_owned());

    view! {
        <h1>{tr("Analitik", "Analytics")}</h1>
        <Transition fallback=Loading>
            {move || {
                let pick = pick.clone();
                Suspend::new(async move {
                match report.await {
                    Err(e) => view! {
                        <RangePicker from=from.get_untracked() to=to.get_untracked() pick=pick/>
                        <ErrorNote error=e/>
                    }.into_any(),
                    Ok(r) => {
                        let (f, t) = (r.days.first().cloned().unwrap_or_default(), r.days.last().cloned().unwrap_or_default());
                        view! {
                            <RangePicker from=f to=t pick=pick/>
                            <ReportView r=r dimension=dimension/>
                        }.into_any()
                    }
                }
            })}}
        </Transition>
    }
}

#[component]
fn RangePicker(
    from: String,
    to: String,
    pick: impl Fn(&'static str, String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let pick2 = pick.clone();
    view! {
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <label>{tr("Dari tanggal", "From date")}
                <input type="date" data-testid="range-from" value=from
                    on:change=move |ev| pick("from", event_target_value(&ev))/>
            </label>
            <label>{tr("Sampai tanggal", "To date")}
                <input type="date" data-testid="range-to" value=to
                    on:change=move |ev| pick2("to", event_target_value(&ev))/>
            </label>
        </form>
    }
}

#[component]
fn ReportView(r: Report, dimension: RwSignal<String>) -> impl IntoView {
    let days = r.days.clone();
    let series = move |d: &str, r: &Report| -> (Vec<Volume>, fn(&str) -> String) {
        match d {
            "provider" => (r.by_provider.clone(), plain_key),
            "type" => (r.by_type.clone(), type_key),
            _ => (r.by_channel.clone(), channel_key),
        }
    };
    let r2 = r.clone();
    let cost_rows: Vec<(String, i64)> = r
        .cost
        .iter()
        .map(|(m, p, n)| (format!("{m} · {p}"), *n))
        .collect();
    view! {
        <section class="figures" data-testid="headline">
            <div class="figure"><span class="label">{tr("Total pengiriman", "Total deliveries")}</span>
                <strong data-testid="total">{thousands(r.total)}</strong></div>
            <div class="figure"><span class="label">{tr("Berhasil dikirim", "Sent successfully")}</span>
                <strong data-testid="success-rate">{percent(r.success_rate)}</strong></div>
            <div class="figure"><span class="label">{tr("Diterima / dibaca", "Delivered / read")}</span>
                <strong>{percent(r.delivered_rate)}</strong></div>
            <div class="figure"><span class="label">{tr("Median sampai diterima", "Median time to delivered")}</span>
                <strong>{r.median_delivered_s.map(describe_seconds).unwrap_or_else(|| "—".into())}</strong></div>
            <div class="figure"><span class="label">{tr("Median sampai dibaca", "Median time to read")}</span>
                <strong>{r.median_read_s.map(describe_seconds).unwrap_or_else(|| "—".into())}</strong></div>
        </section>
        <section class="card">
            <div class="page-head">
                <h2>{tr("Volume per hari", "Volume per day")}</h2>
                <label>{tr("Menurut", "By")}
                    <select data-testid="dimension" prop:value=dimension
                        on:change=move |ev| dimension.set(event_target_value(&ev))>
                        <option value="channel">{tr("Saluran", "Channel")}</option>
                        <option value="provider">{tr("Penyedia", "Provider")}</option>
                        <option value="type">{tr("Jenis notifikasi", "Notification type")}</option>
                    </select>
                </label>
            </div>
            {move || {
                let (volumes, label) = series(&dimension.get(), &r2);
                view! { <StackedBars days=days.clone() volumes=volumes label=label title="Volume"/> }
            }}
        </section>
        <section class="card">
            <h2>{tr("Status", "Status")}</h2>
            <dl class="pairs" data-testid="status-counts">
                {r.by_status.iter().map(|(s, n)| view! { <dt>{status_label(*s)}</dt><dd>{thousands(*n)}</dd> }).collect_view()}
            </dl>
        </section>
        <div class="grid-2">
            <section class="card">
                <h2>{tr("Kegagalan menurut alasan", "Failures by reason")}</h2>
                {if r.failures.is_empty() {
                    view! { <p class="muted">{tr("Tidak ada kegagalan.", "No failures.")}</p> }.into_any()
                } else {
                    view! { <RankBars rows=r.failures.clone() format=thousands testid="failures"/> }.into_any()
                }}
            </section>
            <section class="card">
                <h2>{tr("Grup tersibuk", "Busiest groups")}</h2>
                {if r.busiest_groups.is_empty() {
                    view! { <p class="muted">{tr("Belum ada pesan grup.", "No group messages yet.")}</p> }.into_any()
                } else {
                    view! { <RankBars rows=r.busiest_groups.clone() format=thousands testid="busiest-groups"/> }.into_any()
                }}
            </section>
            <section class="card">
                <h2>{tr("Biaya per penyedia per bulan", "Cost per provider per month")}</h2>
                {if cost_rows.is_empty() {
                    view! { <p class="muted">{tr("Belum ada biaya (sandbox gratis).", "No costs yet (the sandbox is free).")}</p> }.into_any()
                } else {
                    view! { <RankBars rows=cost_rows format=rupiah testid="cost"/> }.into_any()
                }}
            </section>
        </div>
        <section class="card">
            <h2>{tr("Percobaan kirim per akun penyedia", "Send tries per provider account")}</h2>
            <TriesTable rows=r.tries.clone()/>
        </section>
        <p class="muted">{tr("Angka diperbarui otomatis setiap beberapa detik.", "The figures refresh by themselves every few seconds.")}</p>
    }
}

/// Each account's tries by how they ended: which account times out, is
/// paused or hands its messages on.
#[component]
fn TriesTable(rows: Vec<AccountTries>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">{tr("Belum ada percobaan kirim.", "No send tries yet.")}</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table data-testid="tries-by-account">
                <thead><tr>
                    <th>{tr("Akun", "Account")}</th>
                    {TryOutcome::ALL.iter().map(|o| view! { <th>{try_label(*o)}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr>
                            <td>{account_label(row.account)}</td>
                            {row.counts.into_iter().map(|n| view! { <td>{thousands(n)}</td> }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
