//! The HTML document, the router, the navigation, and the sign-in guard.

use crate::analytics::page::AnalyticsPage;
use crate::api_keys::ApiKeysPage;
use crate::audit::AuditPage;
use crate::auth::page::LoginPage;
use crate::auth::{whoami, Area, CurrentUser, Login, Logout};
use crate::deliveries::page::{DeliveriesPage, DeliveryDetailPage};
use crate::error::AppError;
use crate::escalation::page::EscalationPage;
use crate::groups::editor::GroupEditorPage;
use crate::groups::page::GroupsPage;
use crate::i18n::{self, tr};
use crate::inbox::page::InboxPage;
use crate::live::Live;
use crate::providers::page::ProvidersPage;
use crate::reports::page::ReportsPage;
use crate::settings::page::SettingsPage;
use crate::settings::SetLocale;
use crate::templates::page::TemplatesPage;
use crate::ui::{ErrorNote, Loading};
use crate::users::page::{UserEditorPage, UsersPage};
use crate::users::set_password::SetPasswordPage;
use crate::zones::ZonesPage;
use domain::Locale;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The browser reads the page's locale back from here (see `i18n`).
    view! {
        <!DOCTYPE html>
        <html lang=i18n::detect().as_str()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                // The site's files carry their content's hash in their names
                // (cargo-leptos `hash-files`), so browsers keep them for a
                // year and a new build is fetched at once.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Sign-in state shared by every page: the actions, and the user resource that
/// refetches whenever one of them completes.
#[derive(Clone, Copy)]
pub struct Auth {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub me: Resource<Result<CurrentUser, AppError>>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    i18n::provide_locale(i18n::detect());
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    let me = Resource::new(
        move || (login.version().get(), logout.version().get()),
        |_| whoami(),
    );
    provide_context(Auth { login, logout, me });
    let live = Live::new();
    provide_context(live);
    // The live socket opens once someone is signed in, and stays for the page.
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        let signed_in = matches!(me.get(), Some(Ok(_)));
        if signed_in {
            crate::live::client::connect(live);
        }
        signed_in
    });
    // Signing in or out changes the page's language (the user's, or the
    // default), which only a full load applies.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let to = match (login.value().get(), logout.value().get()) {
            (Some(Ok(())), _) => "/",
            (_, Some(Ok(()))) => "/login",
            _ => return,
        };
        let _ = window().location().set_href(to);
    });

    view! {
        <Router>
            <PageTitle/>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                // Public: the one-time link is the credential.
                <Route path=path!("/set-password") view=SetPasswordPage/>
                // Rendered whole before the first byte: the sign-in check may redirect,
                // which needs the response headers still unsent.
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=Home/>
                    <Route path=path!("inbox") view=InboxPage/>
                    <Route path=path!("settings") view=SettingsPage/>
                    <Route path=path!("master/groups") view=GroupsPage/>
                    <Route path=path!("master/groups/new") view=GroupEditorPage/>
                    <Route path=path!("master/groups/:id") view=GroupEditorPage/>
                    <Route path=path!("master/users") view=UsersPage/>
                    <Route path=path!("master/users/new") view=UserEditorPage/>
                    <Route path=path!("master/users/:id") view=UserEditorPage/>
                    <Route path=path!("master/providers") view=ProvidersPage/>
                    <Route path=path!("master/api-keys") view=ApiKeysPage/>
                    <Route path=path!("master/zones") view=ZonesPage/>
                    <Route path=path!("master/templates") view=TemplatesPage/>
                    <Route path=path!("master/audit") view=AuditPage/>
                    <Route path=path!("master/escalation") view=EscalationPage/>
                    <Route path=path!("deliveries") view=DeliveriesPage/>
                    <Route path=path!("deliveries/:id") view=DeliveryDetailPage/>
                    <Route path=path!("analytics") view=AnalyticsPage/>
                    <Route path=path!("reports") view=ReportsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Each page's own `<title>` ("Pengguna · Notifikasi ISP"), so tabs,
/// history and screen readers tell pages apart.
#[component]
fn PageTitle() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let text = move || {
        let app = tr("Notifikasi ISP", "ISP Notifications");
        match page_name(&location.pathname.get()) {
            Some(page) => format!("{page} · {app}"),
            None => app.to_owned(),
        }
    };
    view! { <Title text=text/> }
}

/// The page at `path`, in the page's language.
fn page_name(path: &str) -> Option<&'static str> {
    let section = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    let pages: [(&str, &str, &str); 16] = [
        ("/login", "Masuk", "Sign in"),
        ("/set-password", "Buat kata sandi", "Set your password"),
        ("/inbox", "Kotak masuk", "Inbox"),
        (
            "/settings",
            "Pengaturan notifikasi",
            "Notification settings",
        ),
        ("/master/groups", "Grup WhatsApp", "WhatsApp groups"),
        ("/master/users", "Pengguna", "Users"),
        ("/master/zones", "Zona kerja", "Work zones"),
        ("/master/templates", "Template pesan", "Message templates"),
        ("/master/audit", "Jejak audit", "Audit trail"),
        ("/master/providers", "Penyedia", "Providers"),
        ("/master/escalation", "Eskalasi", "Escalation"),
        ("/master/api-keys", "Kunci API", "API keys"),
        ("/deliveries", "Log pengiriman", "Delivery log"),
        ("/analytics", "Analitik", "Analytics"),
        ("/reports", "Laporan terjadwal", "Scheduled reports"),
        ("/", "Beranda", "Home"),
    ];
    pages
        .iter()
        .find(|(prefix, _, _)| {
            if *prefix == "/" {
                path == "/"
            } else {
                section(prefix)
            }
        })
        .map(|(_, id, en)| tr(id, en))
}

/// Signed-in pages: navigation plus the page, or off to the sign-in form.
#[component]
fn Layout() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(user) => {
                        // Pages below read who is signed in without another fetch.
                        provide_context(user.clone());
                        view! { <Nav user=user/> <ConnectionNote/> <main class="page"><Outlet/></main> }.into_any()
                    }
                    Err(AppError::Unauthenticated) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <main class="page"><ErrorNote error=e/></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Nav(user: CurrentUser) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let role = user.role;
    let link = move |area: Area, href: &'static str, label: &'static str| {
        area.allows(role)
            .then(|| view! { <li><A href=href>{label}</A></li> })
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">{tr("Notifikasi ISP", "ISP Notifications")}</a>
            <nav aria-label=tr("Navigasi utama", "Main navigation")>
                <ul>
                    <li><A href="/inbox">{tr("Kotak masuk", "Inbox")} <UnreadBadge/></A></li>
                    {link(Area::Settings, "/settings", tr("Pengaturan notifikasi", "Notification settings"))}
                    {Area::Groups.allows(role).then(|| view! {
                        <li class="menu">
                            <span class="menu-title">{tr("Data master", "Master data")}</span>
                            <ul>
                                <li><A href="/master/groups">{tr("Grup WhatsApp", "WhatsApp groups")}</A></li>
                                {Area::Users.allows(role).then(|| view! {
                                    <li><A href="/master/users">{tr("Pengguna", "Users")}</A></li>
                                })}
                                {Area::Zones.allows(role).then(|| view! {
                                    <li><A href="/master/zones">{tr("Zona kerja", "Work zones")}</A></li>
                                })}
                                {Area::Templates.allows(role).then(|| view! {
                                    <li><A href="/master/templates">{tr("Template pesan", "Message templates")}</A></li>
                                })}
                                {Area::Providers.allows(role).then(|| view! {
                                    <li><A href="/master/providers">{tr("Penyedia", "Providers")}</A></li>
                                })}
                                {Area::Escalation.allows(role).then(|| view! {
                                    <li><A href="/master/escalation">{tr("Eskalasi", "Escalation")}</A></li>
                                })}
                                {Area::ApiKeys.allows(role).then(|| view! {
                                    <li><A href="/master/api-keys">{tr("Kunci API", "API keys")}</A></li>
                                })}
                                {Area::Audit.allows(role).then(|| view! {
                                    <li><A href="/master/audit">{tr("Jejak audit", "Audit trail")}</A></li>
                                })}
                            </ul>
                        </li>
                    })}
                    {link(Area::Deliveries, "/deliveries", tr("Log pengiriman", "Delivery log"))}
                    {link(Area::Analytics, "/analytics", tr("Analitik", "Analytics"))}
                    {link(Area::Reports, "/reports", tr("Laporan terjadwal", "Scheduled reports"))}
                </ul>
            </nav>
            <div class="who">
                <span data-testid="who">{user.name.clone()}" · "{crate::ui::role_label(role)}</span>
                <LocaleSwitch/>
                <ActionForm action=auth.logout>
                    <button type="submit" class="link">{tr("Keluar", "Sign out")}</button>
                </ActionForm>
            </div>
        </header>
    }
}

/// The unread count beside the inbox link, kept current by the live socket.
#[component]
fn UnreadBadge() -> impl IntoView {
    let live = Live::get();
    move || {
        live.unread.get().filter(|n| *n > 0).map(|n| {
            let label = i18n::fill(tr("{} belum dibaca", "{} unread"), &[&n]);
            view! { <span class="badge count" data-testid="unread-badge" aria-label=label>{n}</span> }
        })
    }
}

/// Says so while the live socket is down (it reconnects by itself).
#[component]
fn ConnectionNote() -> impl IntoView {
    let live = Live::get();
    view! {
        <Show when=move || live.lost.get()>
            <p class="connection-lost" role="status" data-testid="connection-lost">
                {tr("Koneksi langsung terputus; menyambung ulang… Data di halaman ini mungkin belum terbaru.",
                    "Live connection lost; reconnecting… What this page shows may be out of date.")}
            </p>
        </Show>
    }
}

/// The language switch: a plain form, so the whole page reloads in the
/// chosen language (texts are not reactive to it; see `i18n`). Each option is
/// named in its own language, as people look for their own.
#[component]
fn LocaleSwitch() -> impl IntoView {
    let (other, label) = match i18n::locale() {
        Locale::Id => (Locale::En, "English"),
        Locale::En => (Locale::Id, "Bahasa Indonesia"),
    };
    view! {
        <form method="post" action=SetLocale::url() class="locale-switch">
            <input type="hidden" name="locale" value=other.as_str()/>
            <button type="submit" class="link" data-testid="locale-switch" lang=other.as_str()
                title=tr("Ganti bahasa", "Change language")>{label}</button>
        </form>
    }
}

#[component]
fn Home() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <h1>{tr("Selamat datang", "Welcome")}</h1>
        <Suspense>
            {move || Suspend::new(async move {
                auth.me.await.ok().map(|user| view! {
                    <p>{tr("Anda masuk sebagai ", "You are signed in as ")} <strong>{user.name}</strong> "."</p>
                    <p>{tr("Pilih menu di atas untuk mengatur notifikasi Anda atau membuka data.",
                        "Choose from the menu above to set up your notifications or open the data.")}</p>
                })
            })}
        </Suspense>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main class="page">
            <h1>{tr("Halaman tidak ditemukan", "Page not found")}</h1>
            <p><a href="/">{tr("Kembali ke beranda", "Back to the home page")}</a></p>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::page_name;

    #[test]
    fn each_page_has_its_own_title_and_sub_pages_share_their_sections() {
        assert_eq!(page_name("/"), Some("Beranda"));
        assert_eq!(page_name("/master/users"), Some("Pengguna"));
        assert_eq!(page_name("/master/users/12"), Some("Pengguna"));
        assert_eq!(page_name("/deliveries/7"), Some("Log pengiriman"));
        assert_eq!(page_name("/set-password"), Some("Buat kata sandi"));
        // A prefix is a whole segment: no title borrowed by a look-alike.
        assert_eq!(page_name("/inboxes"), None);
        assert_eq!(page_name("/nowhere"), None);
    }
}
