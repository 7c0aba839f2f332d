//! Keeping the user's work: the scenario autosaves to `localStorage` on every edit, and the
//! plugin's bytes go to IndexedDB (Go plugins are several MB, too big for `localStorage`).
//! On load, the last session comes back, unless a share link says otherwise.

use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::Scenario;
use pwp_model::scenario::PluginRef;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::state::AppState;

const SESSION_KEY: &str = "pwp-session";
const PLUGIN_KEY: &str = "current-plugin";
/// Editor text the scenario could not take (invalid JSON), kept across reloads.
const DRAFT_PREFIX: &str = "pwp-draft-";

#[wasm_bindgen(inline_js = r#"
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("pwp", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("plugins");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
export async function idb_put(key, bytes) {
  const db = await openDb();
  await new Promise((resolve, reject) => {
    const tx = db.transaction("plugins", "readwrite");
    tx.objectStore("plugins").put(bytes, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
export async function idb_get(key) {
  const db = await openDb();
  return await new Promise((resolve, reject) => {
    const req = db.transaction("plugins").objectStore("plugins").get(key);
    req.onsuccess = () => resolve(req.result ?? null);
    req.onerror = () => reject(req.error);
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn idb_put(key: &str, bytes: Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn idb_get(key: &str) -> Result<JsValue, JsValue>;
}

/// What `localStorage` keeps.
#[derive(Serialize, Deserialize)]
struct Saved {
    scenario: Scenario,
    plugin: Option<SavedPlugin>,
}

#[derive(Serialize, Deserialize)]
struct SavedPlugin {
    name: String,
    source: PluginRef,
}

fn save_session(state: AppState) {
    let saved = Saved {
        scenario: state.scenario.get_untracked(),
        plugin: state.plugin.with_untracked(|p| {
            p.as_ref().map(|p| SavedPlugin {
                name: p.name.clone(),
                source: p.source.clone(),
            })
        }),
    };
    if let Ok(json) = serde_json::to_string(&saved) {
        crate::browser::store(SESSION_KEY, &json);
    }
}

/// Stores the current plugin's bytes (and the session that names it).
pub fn save_plugin(state: AppState) {
    save_session(state);
    let Some(bytes) = state
        .plugin
        .with_untracked(|p| p.as_ref().map(|p| p.plugin.shared_bytes()))
    else {
        return;
    };
    spawn_local(async move {
        let array = Uint8Array::from(&bytes[..]);
        if idb_put(PLUGIN_KEY, array).await.is_err() {
            state.notice.set(Some(
                "The plugin could not be saved in this browser (storage full or disabled): after a reload, load it again.".into(),
            ));
        }
    });
}

/// The editor text kept for `key` by [`save_draft`], if any.
pub fn draft(key: &str) -> Option<String> {
    crate::browser::stored(&format!("{DRAFT_PREFIX}{key}")).filter(|d| !d.is_empty())
}

/// Keeps (or, with `None`, forgets) text an editor could not apply, so that a reload does not
/// throw it away.
pub fn save_draft(key: &str, text: Option<&str>) {
    let text = text.unwrap_or("");
    if draft(key).as_deref().unwrap_or("") != text {
        crate::browser::store(&format!("{DRAFT_PREFIX}{key}"), text);
    }
}

/// Autosaves the scenario whenever it changes.
pub fn autosave(state: AppState) {
    Effect::new(move |_| {
        state.scenario.track();
        save_session(state);
    });
}

/// Restores the last session: the scenario at once, the plugin when IndexedDB answers.
pub fn restore(state: AppState) {
    let Some(json) = crate::browser::stored(SESSION_KEY) else {
        return;
    };
    let Ok(saved) = serde_json::from_str::<Saved>(&json) else {
        state.notice.set(Some(
            "The saved session could not be read and was ignored.".into(),
        ));
        return;
    };
    state.scenario.set(saved.scenario);
    let Some(plugin) = saved.plugin else { return };
    spawn_local(async move {
        match idb_get(PLUGIN_KEY).await {
            Ok(v) if !v.is_null() => {
                let bytes = Uint8Array::new(&v).to_vec();
                if state.plugin.with_untracked(Option::is_none)
                    && crate::loader::use_bytes(state, plugin.name, bytes, None, plugin.source)
                {
                    // The autosave that ran before the bytes came back saved no plugin.
                    save_session(state);
                }
            }
            _ => state.notice.set(Some(format!(
                "The plugin {} of your last session is not stored in this browser: load it again.",
                plugin.name
            ))),
        }
    });
}
