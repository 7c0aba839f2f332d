//! Loading a plugin: from a file (picker or drop), a bundled example (with its scenario),
//! or a URL (checked against a sha256 when one is given).

use std::rc::Rc;

use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_host::scenario::PluginRef;
use pwp_host::{Plugin, Scenario};
use wasm_bindgen_futures::JsFuture;

use crate::state::{AppState, LoadedPlugin};

pub use crate::browser::fetch_bytes;

/// Takes `bytes` as the current plugin, or reports why they are not a usable plugin.
/// The run is reset either way; the scenario is kept.
///
/// `sha256`, when the caller has it, saves hashing the bytes again. Once the import report is
/// on screen, the plugin is compiled in the background, so that Run does not wait for it.
pub fn use_bytes(
    state: AppState,
    name: String,
    bytes: Vec<u8>,
    sha256: Option<String>,
    mut source: PluginRef,
) -> bool {
    state.reset_run();
    match Plugin::load_hashed(bytes, sha256) {
        Ok(plugin) => {
            source.sha256 = Some(plugin.info().sha256.clone());
            source.size = Some(plugin.bytes().len() as u64);
            state.load_error.set(None);
            let plugin = Rc::new(plugin);
            state.plugin.set(Some(LoadedPlugin {
                name,
                plugin: plugin.clone(),
                source,
            }));
            spawn_local(async move {
                crate::browser::next_frame().await;
                // A compile error is kept in `plugin` and reported by the run.
                let _ = plugin.compile();
            });
            true
        }
        Err(e) => {
            // Keep the plugin that was loaded: a bad file must not lose the user's work.
            let kept = state
                .plugin
                .with_untracked(|p| p.as_ref().map(|p| format!(" ({} is still loaded)", p.name)))
                .unwrap_or_default();
            state.load_error.set(Some(format!("{name}: {e}{kept}")));
            false
        }
    }
}

/// Loads a file the user picked or dropped.
pub fn load_file(state: AppState, file: web_sys::File) {
    let name = file.name();
    spawn_local(async move {
        let buffer = match JsFuture::from(file.array_buffer()).await {
            Ok(b) => b,
            Err(_) => {
                state
                    .load_error
                    .set(Some(format!("{name}: the file could not be read")));
                return;
            }
        };
        let bytes = Uint8Array::new(&buffer).to_vec();
        let sha256 = crate::browser::sha256_hex(&bytes).await;
        let source = PluginRef {
            file_name: Some(name.clone()),
            ..PluginRef::default()
        };
        if use_bytes(state, name, bytes, sha256, source) {
            crate::persist::save_plugin(state);
        }
    });
}

/// Loads a bundled example and its scenario.
pub fn load_example(state: AppState, name: String, scenario_file: Option<String>) {
    spawn_local(async move {
        let base = |p: &str| {
            crate::browser::resolve(&format!("examples/{p}"))
                .unwrap_or_else(|_| format!("examples/{p}"))
        };
        let bytes = match fetch_bytes(&base(&format!("{name}.wasm"))).await {
            Ok(b) => b,
            Err(e) => {
                state.load_error.set(Some(e));
                return;
            }
        };
        let scenario_name = scenario_file.unwrap_or_else(|| format!("{name}.scenario.json"));
        let scenario = match crate::browser::fetch_text(&base(&scenario_name)).await {
            Ok(text) => Scenario::parse(&text).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let sha256 = crate::browser::sha256_hex(&bytes).await;
        let source = PluginRef {
            example: Some(name.clone()),
            ..PluginRef::default()
        };
        if use_bytes(state, name, bytes, sha256, source) {
            match scenario {
                Ok(s) => state.scenario.set(s),
                Err(e) => state.notice.set(Some(format!(
                    "The example's scenario could not be read: {e}"
                ))),
            }
            crate::persist::save_plugin(state);
        }
    });
}

/// Loads a plugin from a URL, checking `sha256` when given.
pub fn load_url(state: AppState, url: String, sha256: Option<String>) {
    spawn_local(async move {
        let bytes = match fetch_bytes(&url).await {
            Ok(b) => b,
            Err(e) => {
                state.load_error.set(Some(e));
                return;
            }
        };
        let got = match crate::browser::sha256_hex(&bytes).await {
            Some(digest) => digest,
            None => pwp_host::sha256_hex(&bytes),
        };
        if let Some(want) = &sha256
            && !want.eq_ignore_ascii_case(&got)
        {
            state.load_error.set(Some(format!(
                "{url}: sha256 is {got}, not the expected {want}; the plugin was not loaded"
            )));
            return;
        }
        let name = url.rsplit('/').next().unwrap_or(&url).to_string();
        let source = PluginRef {
            url: Some(url.clone()),
            ..PluginRef::default()
        };
        if use_bytes(state, name, bytes, Some(got), source) {
            crate::persist::save_plugin(state);
        }
    });
}
