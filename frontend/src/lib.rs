//! Hydrates the server-rendered document, then marks `<body data-hydrated>` so
//! end-to-end tests (and anything else) know the page is interactive.

// The settings form's view type is deep; its layout query needs more than
// rustc's default depth in the optimised WASM build.
#![recursion_limit = "512"]

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
