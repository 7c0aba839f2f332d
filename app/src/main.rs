//! Proxy-Wasm Playground: the browser app (Leptos CSR, built by Trunk from `app/index.html`).
//!
//! Module map:
//! - `theme`, `manifest`, `paste`, `sessions`, `labels` (one vocabulary), `gates` (what controls
//!   can do): plain logic, no `leptos` or `web_sys`, unit-tested natively;
//! - `state`: the reactive state; `runner`: drives the host session in fuel slices;
//! - `warmup`: runs a built-in plugin while the page is idle, so the first real run is fast;
//! - `loader` (every way in for a plugin), `persist` (recent sessions, autosaved), `browser`:
//!   the modules that talk to the browser;
//! - `components`, `run_view`, `editors`: one small component per file;
//! - `share_export`: the Export dialog, the Share button and opening share links.

mod browser;
mod components;
mod editors;
mod gates;
mod labels;
mod loader;
mod manifest;
mod paste;
mod persist;
mod run_view;
mod runner;
mod sessions;
mod share_export;
mod state;
mod theme;
mod warmup;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
