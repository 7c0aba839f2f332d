//! Proxy-Wasm Playground: the engine worker. Trunk builds it from `app/index.html`
//! (`data-type="worker"`) into `pwp-worker.js`, `pwp-worker_bg.wasm` and `pwp-worker_loader.js`,
//! which the page starts as a dedicated Web Worker.
//!
//! It holds the host and the interpreter; the page never runs plugin code. The messages are
//! `pwp-proto`'s. Module map: `engine` (what each message does; plain logic, tested
//! natively), `browser` (the browser's own `WebAssembly` as the host's second engine, for
//! plain runs), `warmup` (the built-in plugin that warms the interpreter up), `web` (the
//! worker's message port and its loop of fuel slices).

// Natively (the tests aside) there is no worker scope: only the wasm build runs the engine.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod browser;
mod engine;
mod warmup;
#[cfg(target_arch = "wasm32")]
mod web;

fn main() {
    #[cfg(target_arch = "wasm32")]
    web::start();
}

#[cfg(test)]
mod tests;
