//! The settings page's push part: turn push on or off in this browser, and
//! the list of the person's devices, each removable.

use super::{push_status, PushRemove};
use crate::i18n::tr;
use crate::time::format_wib;
use crate::ui::ErrorNote;
use leptos::prelude::*;

/// What this browser can do, known only once the page runs in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Here {
    Checking,
    Unsupported,
    Denied,
    Ready,
}

/// Runs browser work after hydration; nothing on the server.
fn in_browser(work: impl std::future::Future<Output = ()> + 'static) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(work);
    #[cfg(not(feature = "hydrate"))]
    drop(work);
}

/// `on_subscribed` runs when this browser has been subscribed (the server
/// switched the person's push channel on with it).
#[component]
pub fn PushDevices(#[prop(optional)] on_subscribed: Option<Callback<()>>) -> impl IntoView {
    #[cfg(not(feature = "hydrate"))]
    let _ = on_subscribed;
    let remove = ServerAction::<PushRemove>::new();
    let changed = RwSignal::new(0u32);
    let status = Resource::new(
        move || (remove.version().get(), changed.get()),
        |_| push_status(),
    );
    let here = RwSignal::new(Here::Checking);
    let this_endpoint = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);

    Effect::new(move |_| {
        in_browser(async move {
            #[cfg(feature = "hydrate")]
            {
                use super::browser::{self, Support};
                let support = browser::support();
                here.set(match support {
                    Support::None => Here::Unsupported,
                    Support::Denied => Here::Denied,
                    Support::Ready => Here::Ready,
                });
                if support != Support::None {
                    match browser::current_endpoint().await {
                        Ok(endpoint) => this_endpoint.set(endpoint),
                        Err(e) => problem.set(Some(e)),
                    }
                }
            }
        })
    });

    let turn_on = move |public_key: String| {
        busy.set(true);
        problem.set(None);
        in_browser(async move {
            #[cfg(feature = "hydrate")]
            {
                let result = match super::browser::subscribe(&public_key).await {
                    Ok(sub) => {
                        let endpoint = sub.endpoint.clone();
                        super::push_subscribe(sub)
                            .await
                            .map(|_| endpoint)
                            .map_err(|e| e.message())
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(endpoint) => {
                        this_endpoint.set(Some(endpoint));
                        changed.update(|n| *n += 1);
                        if let Some(cb) = on_subscribed {
                            cb.run(());
                        }
                    }
                    Err(e) => {
                        if super::browser::support() == super::browser::Support::Denied {
                            here.set(Here::Denied);
                        }
                        problem.set(Some(e));
                    }
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = public_key;
            busy.set(false);
        });
    };
    // Removing this browser's row also unsubscribes it here.
    let on_remove = Callback::new(move |(id, is_here): (i64, bool)| {
        in_browser(async move {
            #[cfg(feature = "hydrate")]
            if is_here {
                if let Err(e) = super::browser::unsubscribe().await {
                    problem.set(Some(e));
                }
                this_endpoint.set(None);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = is_here;
            remove.dispatch(PushRemove { id });
        });
    });

    view! {
        <section class="card" data-testid="push-devices">
            <h2>{tr("Push di perangkat", "Push on your devices")}</h2>
            <p class="muted">{tr(
                "Notifikasi push muncul di ponsel atau komputer walau aplikasi tidak dibuka. Aktifkan di setiap perangkat yang Anda pakai.",
                "Push notifications appear on your phone or computer even when the app is closed. Turn them on in every device you use.",
            )}</p>
            {move || problem.get().map(|p| view! { <p class="field-error" role="alert" data-testid="push-problem">{p}</p> })}
            {move || remove.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(s) => {
                            // Whether this browser is in the list: known once the
                            // page has asked its service worker, so decided reactively.
                            let endpoints: Vec<String> = s.devices.iter().map(|d| d.endpoint.clone()).collect();
                            let key = s.public_key.clone();
                            let controls = move || {
                                let on_here = this_endpoint.with(|mine| mine.as_ref().is_some_and(|m| endpoints.contains(m)));
                                match (key.clone(), here.get()) {
                                (None, _) => view! { <p class="muted" data-testid="push-unconfigured">{tr("Push belum disiapkan oleh admin.", "Push is not set up by an admin yet.")}</p> }.into_any(),
                                (_, Here::Checking) => ().into_any(),
                                (_, Here::Unsupported) => view! { <p class="muted">{tr("Peramban ini tidak mendukung notifikasi push.", "This browser does not support push notifications.")}</p> }.into_any(),
                                (_, Here::Denied) => view! { <p class="muted" data-testid="push-denied">{tr("Notifikasi diblokir untuk situs ini: izinkan di pengaturan peramban.", "Notifications are blocked for this site: allow them in the browser's settings.")}</p> }.into_any(),
                                (Some(_), Here::Ready) if on_here => view! { <p data-testid="push-on-here">{tr("Perangkat ini menerima push.", "This device receives push.")}</p> }.into_any(),
                                (Some(k), Here::Ready) => view! {
                                    <button type="button" data-testid="push-on" prop:disabled=move || busy.get()
                                        on:click=move |_| turn_on(k.clone())>
                                        {tr("Aktifkan di perangkat ini", "Turn on in this device")}
                                    </button>
                                }.into_any(),
                            }};
                            let list = if s.devices.is_empty() {
                                view! { <p class="muted">{tr("Belum ada perangkat.", "No devices yet.")}</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="devices">
                                        {s.devices.into_iter().map(|device| view! {
                                            <DeviceItem device this_endpoint on_remove/>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            };
                            view! { <div>{controls}{list}</div> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// One device in the list, marked when it is this browser; `on_remove`
/// gets its id and whether it is this browser.
#[component]
fn DeviceItem(
    device: super::PushDevice,
    this_endpoint: RwSignal<Option<String>>,
    on_remove: Callback<(i64, bool)>,
) -> impl IntoView {
    let id = device.id;
    let endpoint = device.endpoint.clone();
    let is_here = move || this_endpoint.with(|m| m.as_deref() == Some(endpoint.as_str()));
    let is_here_now = is_here.clone();
    let state = match (&device.last_error, device.last_success_at) {
        (Some(e), _) => format!("{}: {e}", tr("Gagal terakhir", "Last failure")),
        (None, Some(at)) => format!(
            "{} {}",
            tr("Terakhir terkirim", "Last delivered"),
            format_wib(at)
        ),
        (None, None) => tr("Belum pernah dikirimi", "Nothing sent yet").to_owned(),
    };
    view! {
        <li data-testid="push-device">
            <strong>{device.device}</strong>
            {move || is_here().then(|| view! { " " <span class="badge">{tr("perangkat ini", "this device")}</span> })}
            <small class="muted">" · " {tr("sejak", "since")} " " {format_wib(device.created_at)} " · " {state}</small>
            <button type="button" class="link" data-testid="push-remove"
                on:click=move |_| on_remove.run((id, is_here_now()))>
                {tr("Hapus", "Remove")}
            </button>
        </li>
    }
}
