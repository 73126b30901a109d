//! Master data → WhatsApp groups (admin).

use super::{list_groups, GroupView};
use crate::shell::ErrorNote;
use domain::GroupCategory;
use leptos::prelude::*;

pub fn category_label(c: GroupCategory) -> &'static str {
    match c {
        GroupCategory::Technicians => "Teknisi",
        GroupCategory::Supervisors => "Supervisor",
        GroupCategory::Managers => "Manajemen",
        GroupCategory::Noc => "NOC",
        GroupCategory::CustomerService => "Layanan pelanggan",
        GroupCategory::All => "Semua",
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| list_groups());
    let zones = Resource::new(|| (), |_| super::list_work_zones());
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
            <h1>"Grup WhatsApp"</h1>
            <a class="button primary" href="/master/groups/new" data-testid="new-group">"Tambah grup"</a>
        </div>
        <div class="filters" role="search">
            <label>
                "Cari"
                <input type="search" data-testid="group-search" placeholder="Nama, deskripsi atau ID grup"
                    prop:value=query on:input=move |ev| query.set(event_target_value(&ev))/>
            </label>
            <label>
                "Kategori"
                <select data-testid="group-category" on:change=move |ev| category.set(event_target_value(&ev))>
                    <option value="">"Semua kategori"</option>
                    {GroupCategory::ALL.iter().map(|c| view! {
                        <option value=c.as_str()>{category_label(*c)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Zona"
                <select data-testid="group-zone" on:change=move |ev| zone.set(event_target_value(&ev))>
                    <option value="">"Semua"</option>
                    <option value="*">"Lintas zona"</option>
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
                "Status"
                <select data-testid="group-active" on:change=move |ev| active.set(event_target_value(&ev))>
                    <option value="">"Semua"</option>
                    <option value="yes">"Aktif"</option>
                    <option value="no">"Nonaktif"</option>
                </select>
            </label>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Memuat grup…"</p> }>
            {move || Suspend::new(async move {
                match groups.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => {
                        let list = StoredValue::new(list);
                        let visible = move || list.with_value(|l| l.iter().filter(|g| shown(g)).cloned().collect::<Vec<_>>());
                        view! {
                            <p class="muted" data-testid="group-count">
                                {move || format!("{} dari {} grup", visible().len(), list.with_value(Vec::len))}
                            </p>
                            <div class="table-wrap">
                            <table class="groups">
                                <thead><tr>
                                    <th>"Nama"</th><th>"Kategori"</th><th>"Zona"</th>
                                    <th class="hide-sm">"ID grup"</th><th>"Anggota"</th><th>"Aturan"</th><th>"Status"</th>
                                </tr></thead>
                                <tbody>
                                    <For each=visible key=|g| g.id let:g>
                                        <tr data-testid="group-row">
                                            <td><a href=format!("/master/groups/{}", g.id)><strong>{g.name.clone()}</strong></a><br/><small class="muted">{g.description.clone()}</small></td>
                                            <td>{category_label(g.category)}</td>
                                            <td>{g.work_zone_name.clone().unwrap_or_else(|| "Semua zona".into())}</td>
                                            <td class="hide-sm"><code>{g.chat_id.clone()}</code></td>
                                            <td>{g.member_count}</td>
                                            <td>{g.rule_count}</td>
                                            <td>{if g.active { "Aktif" } else { "Nonaktif" }}</td>
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
