//! `/master/providers`: the accounts of every channel, their form, and a test
//! send per channel.

use super::{list_providers, ChannelTest, ProviderForm, ProviderView, SaveProvider, TestChannel};
use crate::auth::Area;
use crate::deliveries::page::DeliveryProgress;
use crate::error::AppError;
use crate::i18n::{fill, tr};
use crate::ui::channel_label;
use crate::ui::{refused_page, ErrorNote, Loading};
use domain::providers::ProviderKind;
use domain::Channel;
use leptos::prelude::*;

/// Admins only: other roles see why, and no form. (The role comes from the
/// layout's context; the server functions check it again.)
#[component]
pub fn ProvidersPage() -> impl IntoView {
    if let Some(refused) = refused_page(Area::Providers, tr("Penyedia", "Providers")) {
        return refused;
    }
    let save = ServerAction::<SaveProvider>::new();
    let accounts = Resource::new(move || save.version().get(), |_| list_providers());
    let form = RwSignal::new(ProviderForm::default());
    view! {
        <h1>{tr("Penyedia", "Providers")}</h1>
        <section class="card">
            <h2>{tr("Akun", "Accounts")}</h2>
            <p class="muted">{tr("Per kanal, akun dicoba menurut urutan; bila satu gagal, pesan pindah ke akun berikutnya. Kredensial disimpan di server dan tidak pernah ditampilkan.", "Per channel, accounts are tried in order; when one fails, the message moves to the next. Credentials stay on the server and are never shown.")}</p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(list) => view! { <AccountTable list form/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <crate::meta_templates::page::MetaTemplatesCard accounts=save.version()/>
        <AccountFormCard form save/>
        <ChannelTestCard/>
    }
    .into_any()
}

#[component]
fn AccountTable(list: Vec<ProviderView>, form: RwSignal<ProviderForm>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p>{tr("Belum ada akun.", "No accounts yet.")}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
        <table data-testid="provider-accounts">
            <thead><tr>
                <th>{tr("Nama", "Name")}</th><th>{tr("Jenis", "Kind")}</th><th>{tr("Kanal", "Channel")}</th>
                <th>{tr("Urutan", "Order")}</th><th>{tr("Per menit", "Per minute")}</th><th>{tr("Harga", "Price")}</th>
                <th>{tr("Kredensial", "Credentials")}</th><th>{tr("Aktif", "Enabled")}</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|a| {
                    let edit = a.edit_form();
                    let set = if a.credentials_set.is_empty() { "—".to_owned() } else { a.credentials_set.join(", ") };
                    view! {
                        <tr data-testid=format!("account-{}", a.id)>
                            <td>{a.name.clone()}</td><td>{a.kind.clone()}</td><td>{channel_label(a.channel)}</td>
                            <td>{a.failover_order}</td><td>{a.rate_limit_per_minute}</td><td>{format!("Rp {}", a.price_rupiah)}</td>
                            <td class="muted">{set}</td>
                            <td>
                                {if a.enabled { tr("ya", "yes") } else { tr("tidak", "no") }}
                                {a.paused_until.map(|until| view! {
                                    <span class="muted" data-testid="paused">
                                        {fill(tr(" · dijeda penyedia s.d. {} WIB", " · paused by the provider until {} WIB"), &[&crate::time::format_wib(until)])}
                                    </span>
                                })}
                            </td>
                            <td><button type="button" on:click=move |_| form.set(edit.clone())>{tr("Ubah", "Edit")}</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

#[component]
fn AccountFormCard(
    form: RwSignal<ProviderForm>,
    save: ServerAction<SaveProvider>,
) -> impl IntoView {
    let problems = RwSignal::new(None::<AppError>);
    // A saved form starts over (credentials are never read back).
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            form.set(ProviderForm::default());
        }
    });
    let kind = Memo::new(move |_| form.with(|f| ProviderKind::parse(&f.kind)));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        match f.validate() {
            Ok(_) => {
                problems.set(None);
                save.dispatch(SaveProvider { form: f });
            }
            Err(errors) => problems.set(Some(AppError::Validation(errors))),
        }
    };
    let text = move |get: fn(&ProviderForm) -> String, set: fn(&mut ProviderForm, String)| {
        (
            move || form.with(get),
            move |ev| form.update(|f| set(f, event_target_value(&ev))),
        )
    };
    let number = move |get: fn(&ProviderForm) -> i64, set: fn(&mut ProviderForm, i64)| {
        (
            move || form.with(get).to_string(),
            move |ev| {
                let v = event_target_value(&ev).trim().parse().unwrap_or(i64::MIN);
                form.update(|f| set(f, v))
            },
        )
    };
    let (name, on_name) = text(|f| f.name.clone(), |f, v| f.name = v);
    let (base, on_base) = text(|f| f.base_url.clone(), |f, v| f.base_url = v);
    let (creds, on_creds) = text(|f| f.credentials.clone(), |f, v| f.credentials = v);
    let (order, on_order) = number(|f| f.failover_order, |f, v| f.failover_order = v);
    let (rate, on_rate) = number(
        |f| f.rate_limit_per_minute,
        |f, v| f.rate_limit_per_minute = v,
    );
    let (price, on_price) = number(|f| f.price_rupiah, |f, v| f.price_rupiah = v);
    let (timeout, on_timeout) = number(|f| f.timeout_ms, |f, v| f.timeout_ms = v);
    view! {
        <section class="card" data-testid="provider-form">
            <h2>{move || if form.with(|f| f.id.is_some()) { tr("Ubah akun", "Edit account") } else { tr("Tambah akun", "Add an account") }}</h2>
            <form on:submit=submit>
                <label for="p-name">{tr("Nama", "Name")}<input id="p-name" prop:value=name on:input=on_name/></label>
                <label for="p-kind">{tr("Jenis", "Kind")}
                    <select id="p-kind" prop:value=move || form.with(|f| f.kind.clone())
                        on:change=move |ev| form.update(|f| f.kind = event_target_value(&ev))>
                        {ProviderKind::ALL.iter().map(|k| view! {
                            <option value=k.as_str()>{format!("{} ({})", k.as_str(), channel_label(k.channel()))}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || kind.get() == Some(ProviderKind::Sandbox)>
                    <label for="p-channel">{tr("Kanal sandbox", "Sandbox channel")}
                        <select id="p-channel" prop:value=move || form.with(|f| f.channel.clone())
                            on:change=move |ev| form.update(|f| f.channel = event_target_value(&ev))>
                            {super::ACCOUNT_CHANNELS.iter().map(|c| view! { <option value=c.as_str()>{channel_label(*c)}</option> }).collect_view()}
                        </select>
                    </label>
                </Show>
                <label for="p-base">{tr("Alamat server (kosong: alamat publik penyedia)", "Server address (empty: the provider's public one)")}
                    <input id="p-base" prop:value=base on:input=on_base
                        placeholder=move || kind.get().and_then(|k| k.default_base_url()).unwrap_or("")/></label>
                <label for="p-credentials">{tr("Kredensial (JSON)", "Credentials (JSON)")}
                    <textarea id="p-credentials" rows="3" prop:value=creds on:input=on_creds
                        placeholder=move || kind.get().map(|k| {
                            let fields: Vec<String> = k.credential_fields().iter().map(|f| format!("\"{f}\": \"…\"")).collect();
                            format!("{{{}}}", fields.join(", "))
                        }).unwrap_or_default()></textarea>
                </label>
                <Show when=move || form.with(|f| f.id.is_some())>
                    <p class="muted">{tr("Isian yang ditulis menggantikan yang tersimpan, null menghapusnya, yang tidak ditulis tetap.", "Fields you write replace the stored ones, null clears one, the rest stay.")}</p>
                </Show>
                <div class="row">
                    <label for="p-order">{tr("Urutan", "Order")}<input id="p-order" type="number" prop:value=order on:input=on_order/></label>
                    <label for="p-rate">{tr("Maks. per menit", "Max per minute")}<input id="p-rate" type="number" prop:value=rate on:input=on_rate/></label>
                    <label for="p-price">{tr("Harga per pesan (Rp)", "Price per message (Rp)")}<input id="p-price" type="number" prop:value=price on:input=on_price/></label>
                    <label for="p-timeout">{tr("Batas waktu (ms)", "Timeout (ms)")}<input id="p-timeout" type="number" prop:value=timeout on:input=on_timeout/></label>
                </div>
                <Show when=move || kind.get() == Some(ProviderKind::Meta)>
                    <CategoryPrices form/>
                </Show>
                <label class="check"><input type="checkbox" prop:checked=move || form.with(|f| f.enabled)
                    on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev))/>{tr("Aktif", "Enabled")}</label>
                <button type="submit" class="primary" data-testid="save-provider" disabled=move || save.pending().get()>{tr("Simpan", "Save")}</button>
                <button type="button" on:click=move |_| form.set(ProviderForm::default())>{tr("Kosongkan", "Clear")}</button>
            </form>
            {move || problems.get().map(|e| view! { <ErrorNote error=e/> })}
            {move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            {move || save.value().get().and_then(Result::ok).map(|id| view! {
                <p role="status" data-testid="provider-saved">{fill(tr("Akun #{} tersimpan.", "Account #{} saved."), &[&id])}</p>
            })}
        </section>
    }
    // Erased: the page's whole view as one type overflows the compiler's
    // query depth in the release WASM build.
    .into_any()
}

/// Meta bills per message by category: a price for each (empty: the
/// account's price per message).
#[component]
fn CategoryPrices(form: RwSignal<ProviderForm>) -> impl IntoView {
    view! {
        <fieldset data-testid="template-prices">
            <legend>{tr("Harga Meta per kategori (Rp; kosong: harga per pesan)", "Meta's price per category (Rp; empty: the price per message)")}</legend>
            <div class="row">
                {domain::meta_template::PRICE_CATEGORIES.into_iter().map(|key| {
                    let id = format!("p-price-{key}");
                    let label_for = id.clone();
                    view! {
                        <label for=label_for>{crate::ui::meta_category_label(key)}
                            <input id=id type="number" min="0"
                                prop:value=move || form.with(|f| f.template_prices.get(key).map(i64::to_string).unwrap_or_default())
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    form.update(|f| match v.trim() {
                                        "" => { f.template_prices.remove(key); }
                                        n => { f.template_prices.insert(key.to_owned(), n.parse().unwrap_or(-1)); }
                                    })
                                }/>
                        </label>
                    }
                }).collect_view()}
            </div>
        </fieldset>
    }
}

#[component]
fn ChannelTestCard() -> impl IntoView {
    let channel = RwSignal::new(Channel::Whatsapp.as_str().to_owned());
    let recipient = RwSignal::new(String::new());
    let message = RwSignal::new(
        tr(
            "✅ *Uji kirim* dari Notifikasi ISP. Abaikan pesan ini.",
            "✅ *Test send* from ISP Notifications. Please ignore this message.",
        )
        .to_owned(),
    );
    let send = ServerAction::<TestChannel>::new();
    let delivery_id = Memo::new(move |_| send.value().get().and_then(Result::ok));
    view! {
        <section class="card" data-testid="channel-test">
            <h2>{tr("Uji kirim per kanal", "Test send per channel")}</h2>
            <p class="muted">{tr("Mengirim pesan sungguhan lewat akun aktif kanal itu, sesuai urutannya.", "Sends a real message through that channel's enabled accounts, in their order.")}</p>
            <label for="t-channel">{tr("Kanal", "Channel")}
                <select id="t-channel" prop:value=channel on:change=move |ev| channel.set(event_target_value(&ev))>
                    {super::ACCOUNT_CHANNELS.iter().map(|c| view! { <option value=c.as_str()>{channel_label(*c)}</option> }).collect_view()}
                </select>
            </label>
            <Show when=move || channel.get() != "push"
                fallback=|| view! { <p class="muted" data-testid="push-test-note">{tr("Push uji dikirim ke perangkat Anda sendiri (aktifkan di Pengaturan).", "A test push goes to your own devices (turn them on in Settings).")}</p> }>
                <label for="t-recipient">{move || if channel.get() == "email" { tr("Alamat email", "Email address") } else { tr("Nomor HP", "Phone number") }}
                    <input id="t-recipient" prop:value=recipient on:input=move |ev| recipient.set(event_target_value(&ev))/></label>
            </Show>
            <label for="t-message">{tr("Pesan", "Message")}
                <textarea id="t-message" rows="3" prop:value=message on:input=move |ev| message.set(event_target_value(&ev))></textarea></label>
            <button type="button" class="primary" data-testid="channel-test-button" disabled=move || send.pending().get()
                on:click=move |_| {
                    send.dispatch(TestChannel { test: ChannelTest { channel: channel.get(), recipient: recipient.get(), message: message.get() } });
                }>{tr("Kirim uji", "Send test")}</button>
            {move || send.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            <DeliveryProgress delivery_id/>
        </section>
    }
    .into_any()
}
