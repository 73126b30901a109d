//! Master data → WhatsApp groups (admin).

use super::{list_groups, GroupView};
use crate::i18n::{fill, tr};
use crate::ui::{category_label, ErrorNote};
use domain::GroupCategory;
use leptos::prelude::*;

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| list_groups());
    let zones = Resource::new(|| (), |_| super::list_work_zones(false));
    let senders = Resource::new(|| (), |_| super::group_senders());
    let query = RwSignal::new(String::new());
    let category = RwSignal::new(String::new());
    let zone = RwSignal::new(String::new());
    let active = RwSignal::new(String::new());
    let shown = move |g: &GroupView| {
        g.matches(&query.get())
            && category.with(|c| c.is_empty() || g.category.as_str() == c)
            && zone.with(|z| match z.as_str() {
                "" => true,
                "*" => g.work_zone.is_none(),
                z => g.work_zone.as_deref() == Some(z),
            })
            && active.with(|a| match a.as_str() {
                "yes" => g.active,
                "no" => !g.active,
                _ => true,
            })
    };

    view! {
        <div class="page-head">
            <h1>{tr("Grup WhatsApp", "WhatsApp groups")}</h1>
            <a class="button primary" href="/master/groups/new" data-testid="new-group">{tr("Tambah grup", "Add a group")}</a>
        </div>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                senders.await.ok().map(|s| view! { <SendersNote senders=s/> })
            })}
        </Suspense>
        <div class="filters" role="search">
            <label>
                {tr("Cari", "Search")}
                <input type="search" data-testid="group-search"
                    placeholder=tr("Nama, deskripsi atau ID grup", "Name, description or group id")
                    prop:value=query on:input=move |ev| query.set(event_target_value(&ev))/>
            </label>
            <label>
                {tr("Kategori", "Category")}
                <select data-testid="group-category" on:change=move |ev| category.set(event_target_value(&ev))>
                    <option value="">{tr("Semua kategori", "All categories")}</option>
                    {GroupCategory::ALL.iter().map(|c| view! {
                        <option value=c.as_str()>{category_label(*c)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                {tr("Zona", "Zone")}
                <select data-testid="group-zone" on:change=move |ev| zone.set(event_target_value(&ev))>
                    <option value="">{tr("Semua", "All")}</option>
                    <option value="*">{tr("Lintas zona", "Across zones")}</option>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            zones.await.unwrap_or_default().into_iter().map(|(code, name)| view! {
                                <option value=code>{name}</option>
                            }).collect_view()
                        })}
                    </Suspense>
                </select>
            </label>
            <label>
                {tr("Status", "Status")}
                <select data-testid="group-active" on:change=move |ev| active.set(event_target_value(&ev))>
                    <option value="">{tr("Semua", "All")}</option>
                    <option value="yes">{tr("Aktif", "Active")}</option>
                    <option value="no">{tr("Nonaktif", "Inactive")}</option>
                </select>
            </label>
        </div>
        <Suspense fallback=|| view! { <p class="loading">{tr("Memuat grup…", "Loading groups…")}</p> }>
            {move || Suspend::new(async move {
                match groups.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => {
                        let list = StoredValue::new(list);
                        let visible = move || list.with_value(|l| l.iter().filter(|g| shown(g)).cloned().collect::<Vec<_>>());
                        view! {
                            <p class="muted" data-testid="group-count">
                                {move || fill(tr("{} dari {} grup", "{} of {} groups"), &[&visible().len(), &list.with_value(Vec::len)])}
                            </p>
                            <div class="table-wrap">
                            <table class="groups">
                                <thead><tr>
                                    <th>{tr("Nama", "Name")}</th><th>{tr("Kategori", "Category")}</th><th>{tr("Zona", "Zone")}</th>
                                    <th class="hide-sm">{tr("ID grup", "Group id")}</th><th>{tr("Anggota", "Members")}</th>
                                    <th>{tr("Aturan", "Rules")}</th><th>{tr("Status", "Status")}</th>
                                </tr></thead>
                                <tbody>
                                    <For each=visible key=|g| g.id let:g>
                                        <tr data-testid="group-row">
                                            <td><a href=format!("/master/groups/{}", g.id)><strong>{g.name.clone()}</strong></a><br/><small class="muted">{g.description.clone()}</small></td>
                                            <td>{category_label(g.category)}</td>
                                            <td>{g.work_zone_name.clone().unwrap_or_else(|| tr("Semua zona", "All zones").into())}</td>
                                            <td class="hide-sm"><code>{g.chat_id.clone()}</code></td>
                                            <td>{g.member_count}</td>
                                            <td>{g.rule_count}</td>
                                            <td>{if g.active { tr("Aktif", "Active") } else { tr("Nonaktif", "Inactive") }}</td>
                                        </tr>
                                    </For>
                                </tbody>
                            </table>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Which accounts carry group messages: a group chat id is the gateways'
/// own, so Meta's Cloud API cannot post to it, and with no gateway every
/// group message fails.
#[component]
fn SendersNote(senders: super::GroupReach) -> impl IntoView {
    let reach = (!senders.reach.is_empty()).then(|| {
        fill(
            tr(
                "Pesan grup dikirim lewat: {}.",
                "Group messages go through: {}.",
            ),
            &[&senders.reach.join(", ")],
        )
    });
    let cannot = (!senders.cannot.is_empty()).then(|| {
        fill(
            tr(
                " Tidak bisa mengirim ke grup: {} (ID grup ini milik gateway, bukan Meta).",
                " Cannot post to groups: {} (these group ids are the gateways', not Meta's).",
            ),
            &[&senders.cannot.join(", ")],
        )
    });
    if reach.is_none() {
        return view! {
            <p class="notice warn" role="alert" data-testid="group-senders">
                {tr(
                    "Belum ada akun WhatsApp aktif yang bisa mengirim ke grup: pesan grup akan gagal. Tambahkan akun Fonnte, Wablas atau Woowa di ",
                    "No enabled WhatsApp account can post to groups: group messages will fail. Add a Fonnte, Wablas or Woowa account under ",
                )}
                <a href="/master/providers">{tr("Penyedia", "Providers")}</a> "."
                {cannot}
            </p>
        }
        .into_any();
    }
    view! { <p class="muted" data-testid="group-senders">{reach}{cannot}</p> }.into_any()
}
