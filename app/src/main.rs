//! Proxy-Wasm Playground: the browser app (Leptos CSR, built by Trunk from `app/index.html`).
//!
//! Module map:
//! - `theme`, `manifest`, `paste`, `sessions`, `labels` (one vocabulary), `gates` (what controls
//!   can do): plain logic, no `leptos` or `web_sys`, unit-tested natively;
//! - `state`: the reactive state; `runner`: drives the session in the engine worker;
//!   `engine`: the worker itself (started once; replaced when it must be stopped). Plugin code
//!   never runs on the page: the worker (`worker/`) holds the host and the interpreter;
//! - `loader` (every way in for a plugin), `persist` (recent sessions, autosaved), `browser`:
//!   the modules that talk to the browser;
//! - `components`, `run_view`, `editors`: one small component per file;
//! - `share_export`: the Export dialog, the Share button and opening share links.

mod browser;
mod components;
mod editors;
mod engine;
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

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
