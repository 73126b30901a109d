//! The HTML document, the router, the navigation, and the sign-in guard.

use crate::analytics::page::AnalyticsPage;
use crate::auth::page::LoginPage;
use crate::auth::{whoami, Area, CurrentUser, Login, Logout};
use crate::deliveries::page::{DeliveriesPage, DeliveryDetailPage};
use crate::error::AppError;
use crate::groups::editor::GroupEditorPage;
use crate::groups::page::GroupsPage;
use crate::inbox::page::InboxPage;
use crate::settings::page::SettingsPage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="id">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
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
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    let me = Resource::new(
        move || (login.version().get(), logout.version().get()),
        |_| whoami(),
    );
    provide_context(Auth { login, logout, me });

    view! {
        <Stylesheet id="leptos" href="/pkg/notifikasi.css"/>
        <Title text="Notifikasi ISP"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                // Rendered whole before the first byte: the sign-in check may redirect,
                // which needs the response headers still unsent.
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=Home/>
                    <Route path=path!("inbox") view=InboxPage/>
                    <Route path=path!("settings") view=SettingsPage/>
                    <Route path=path!("master/groups") view=GroupsPage/>
                    <Route path=path!("master/groups/new") view=GroupEditorPage/>
                    <Route path=path!("master/groups/:id") view=GroupEditorPage/>
                    <Route path=path!("deliveries") view=DeliveriesPage/>
                    <Route path=path!("deliveries/:id") view=DeliveryDetailPage/>
                    <Route path=path!("analytics") view=AnalyticsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Signed-in pages: navigation plus the page, or off to the sign-in form.
#[component]
fn Layout() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Memuat…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(user) => view! { <Nav user=user/> <main class="page"><Outlet/></main> }.into_any(),
                    Err(AppError::Unauthenticated) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <main class="page"><p class="error">{e.to_string()}</p></main> }.into_any(),
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
            <a class="brand" href="/">"Notifikasi ISP"</a>
            <nav aria-label="Navigasi utama">
                <ul>
                    {link(Area::Inbox, "/inbox", "Kotak masuk")}
                    {link(Area::Settings, "/settings", "Pengaturan notifikasi")}
                    {Area::Groups.allows(role).then(|| view! {
                        <li class="menu">
                            <span class="menu-title">"Data master"</span>
                            <ul><li><A href="/master/groups">"Grup WhatsApp"</A></li></ul>
                        </li>
                    })}
                    {link(Area::Deliveries, "/deliveries", "Log pengiriman")}
                    {link(Area::Analytics, "/analytics", "Analitik")}
                </ul>
            </nav>
            <div class="who">
                <span data-testid="who">{user.name.clone()}" · "{role.as_str()}</span>
                <ActionForm action=auth.logout>
                    <button type="submit" class="link">"Keluar"</button>
                </ActionForm>
            </div>
        </header>
    }
}

#[component]
fn Home() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <h1>"Selamat datang"</h1>
        <Suspense>
            {move || Suspend::new(async move {
                auth.me.await.ok().map(|user| view! {
                    <p>"Anda masuk sebagai " <strong>{user.name}</strong> "."</p>
                    <p>"Pilih menu di atas untuk mengatur notifikasi Anda atau membuka data."</p>
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
            <h1>"Halaman tidak ditemukan"</h1>
            <p><a href="/">"Kembali ke beranda"</a></p>
        </main>
    }
}

/// Renders a server function's error where the data would have been.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{error.to_string()}</p> }
}
