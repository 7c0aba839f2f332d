//! Keeping the user's work: the recent sessions (see [`crate::sessions`]) autosave to
//! `localStorage` on every edit, and their plugins' bytes go to IndexedDB, once per sha256 (Go
//! plugins are several MB, too big for `localStorage`).
//!
//! Opening an example, a scenario file or a share link starts a new session ([`begin`]); the
//! one it replaces stays in the list, one click away. A session nobody typed into (an example
//! as it was opened) is reused instead, so browsing examples does not push real work out.

use std::cell::RefCell;
use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::Scenario;
use wasm_bindgen::prelude::*;

use crate::sessions::{Current, Entry, Origin, Recent, SavedPlugin};
use crate::state::AppState;

/// The recent sessions (JSON of [`Recent`]).
const SESSIONS_KEY: &str = "pwp-sessions";
/// Where the unreadable text of [`SESSIONS_KEY`] is kept rather than overwritten.
const UNREADABLE_KEY: &str = "pwp-sessions-unreadable";
/// The single session that earlier versions saved, and their plugin's IndexedDB key.
const LEGACY_SESSION_KEY: &str = "pwp-session";
const LEGACY_PLUGIN_KEY: &str = "current-plugin";
/// Editor text the scenario could not take (invalid JSON), kept across reloads.
const DRAFT_PREFIX: &str = "pwp-draft-";

// IndexedDB by hand: four operations on one object store take 50 lines of JavaScript, while the
// `rexie` crate (0.6.2, the IndexedDB wrapper that builds with the pinned wasm-bindgen) doing the
// same added 14,759 bytes (brotli) to the app's wasm, 2.2 %, for nothing else the app uses.
#[wasm_bindgen(inline_js = r#"
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("pwp", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("plugins");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
export async function idb_put(key, bytes) {
  const tx = (await openDb()).transaction("plugins", "readwrite");
  tx.objectStore("plugins").put(bytes, key);
  await done(tx);
}
export async function idb_get(key) {
  const req = (await openDb()).transaction("plugins").objectStore("plugins").get(key);
  return await new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result ?? null);
    req.onerror = () => reject(req.error);
  });
}
export async function idb_delete(key) {
  const tx = (await openDb()).transaction("plugins", "readwrite");
  tx.objectStore("plugins").delete(key);
  await done(tx);
}
export async function idb_keep_only(keep) {
  const tx = (await openDb()).transaction("plugins", "readwrite");
  const store = tx.objectStore("plugins");
  const req = store.getAllKeys();
  req.onsuccess = () => {
    for (const key of req.result) if (!keep.includes(key)) store.delete(key);
  };
  await done(tx);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn idb_put(key: &str, bytes: js_sys::Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn idb_get(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn idb_delete(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn idb_keep_only(keep: Vec<String>) -> Result<JsValue, JsValue>;
}

async fn put_bytes(key: &str, bytes: &[u8]) -> Result<(), JsValue> {
    idb_put(key, js_sys::Uint8Array::from(bytes))
        .await
        .map(|_| ())
}

async fn get_bytes(key: &str) -> Option<Vec<u8>> {
    let value = idb_get(key).await.ok().filter(|v| !v.is_null())?;
    Some(js_sys::Uint8Array::new(&value).to_vec())
}

/// Deletes the stored plugins that no saved session names any more.
fn collect_garbage(state: AppState) {
    let mut keep: Vec<String> = state
        .recent
        .with_untracked(Recent::plugin_shas)
        .into_iter()
        .collect();
    keep.push(LEGACY_PLUGIN_KEY.into());
    // The current scenario's chain may name uploaded plugins not saved in a session yet.
    keep.extend(state.scenario.with_untracked(|s| {
        s.chain
            .iter()
            .filter_map(|f| f.plugin.sha256.clone())
            .collect::<Vec<_>>()
    }));
    if let Some(sha) = state
        .plugin
        .with_untracked(|p| p.as_ref().map(|p| p.info().sha256.clone()))
    {
        keep.push(sha);
    }
    spawn_local(async move {
        let _ = idb_keep_only(keep).await;
    });
}

/// The plugin bytes stored under `sha` (or, for a session saved by an earlier version, under
/// its single key, if they hash to `sha`).
async fn plugin_bytes(sha: &str) -> Option<Vec<u8>> {
    if let Some(bytes) = get_bytes(sha).await {
        return Some(bytes);
    }
    let legacy = get_bytes(LEGACY_PLUGIN_KEY).await?;
    if crate::loader::sha256(&legacy)
        .await
        .eq_ignore_ascii_case(sha)
    {
        if put_bytes(sha, &legacy).await.is_ok() {
            let _ = idb_delete(LEGACY_PLUGIN_KEY).await;
        }
        Some(legacy)
    } else {
        None
    }
}

/// Keeps the bytes of a plugin of the chain (stored by sha256, as the session's own plugin is),
/// so that a reload finds an uploaded one again.
pub fn save_chain_plugin(state: AppState, sha: String, bytes: std::rc::Rc<[u8]>) {
    spawn_local(async move {
        if put_bytes(&sha, &bytes).await.is_err() {
            state.notice.set(Some(
                "A plugin of the chain could not be saved in this browser (storage full or disabled): after a reload, upload it again.".into(),
            ));
        }
    });
}

/// The stored bytes of a plugin, by sha256.
pub async fn stored_plugin(sha: &str) -> Option<Vec<u8>> {
    plugin_bytes(sha).await
}

/// A new session id.
fn fresh_id() -> String {
    // Milliseconds and a random part: unique enough for one browser's few sessions.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (now, random) = (
        crate::browser::now_ms() as u64,
        (js_sys::Math::random() * 65_536.0) as u64,
    );
    format!("s{now:x}-{random:04x}")
}

/// Reads the recent sessions into the state: the saved list, or the single session of an
/// earlier version, or nothing.
pub fn load(state: AppState) {
    let recent = match crate::browser::stored(SESSIONS_KEY) {
        Some(json) => serde_json::from_str::<Recent>(&json).unwrap_or_else(|_| {
            crate::browser::store(UNREADABLE_KEY, &json);
            state.notice.set(Some(
                "The saved sessions could not be read; they were set aside, not deleted.".into(),
            ));
            Recent::default()
        }),
        None => legacy().unwrap_or_default(),
    };
    state.recent.set(recent);
}

/// The list as stored, if it is there and readable.
fn stored() -> Option<Recent> {
    serde_json::from_str(&crate::browser::stored(SESSIONS_KEY)?).ok()
}

/// The session an earlier version saved, as the one entry of a list.
fn legacy() -> Option<Recent> {
    #[derive(serde::Deserialize)]
    struct Saved {
        scenario: serde_json::Value,
        plugin: Option<SavedPlugin>,
    }
    let saved: Saved = serde_json::from_str(&crate::browser::stored(LEGACY_SESSION_KEY)?).ok()?;
    let mut recent = Recent::default();
    recent.save(Entry {
        id: fresh_id(),
        saved_at: crate::browser::now_ms(),
        origin: Origin::Own,
        scenario: saved.scenario,
        plugin: saved.plugin,
        opened: None,
    });
    Some(recent)
}

/// The current session as an entry, if there is one.
fn current_entry(state: AppState) -> Option<Entry> {
    let current = state.current.get_value()?;
    let scenario = state.scenario.get_untracked();
    let plugin = state
        .plugin
        .with_untracked(|p| {
            p.as_ref().map(|p| SavedPlugin {
                name: p.name.clone(),
                source: p.source.clone(),
            })
        })
        .or(current.awaiting);
    let mut entry = Entry::new(
        current.id,
        crate::browser::now_ms(),
        current.origin,
        &scenario,
        plugin,
    );
    // A blank page holds nothing worth a place of its own.
    if entry.plugin.is_none() && scenario == Scenario::default() {
        entry.mark_opened();
    }
    Some(entry)
}

/// Saves the current session now.
fn save_now(state: AppState) {
    let Some(entry) = current_entry(state) else {
        return;
    };
    // Into the list as stored now: another tab of the app may have saved its session since.
    let mut recent = stored().unwrap_or_else(|| state.recent.get_untracked());
    recent.save(entry);
    state.recent.set(recent);
    write(state);
    // When the list's plugins change (and once at start-up), the bytes of the others go.
    let shas = state.recent.with_untracked(Recent::plugin_shas);
    if GC_AFTER.with(|last| last.replace(Some(shas.clone()))) != Some(shas) {
        collect_garbage(state);
    }
}

thread_local! {
    /// The plugins of the list when stored plugins were last collected.
    static GC_AFTER: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
}

fn write(state: AppState) {
    state.recent.with_untracked(|r| {
        if let Ok(json) = serde_json::to_string(r) {
            crate::browser::store(SESSIONS_KEY, &json);
        }
    });
}

/// Autosaves the current session whenever its scenario or plugin changes.
pub fn autosave(state: AppState) {
    Effect::new(move |_| {
        state.scenario.track();
        state.plugin.track();
        save_now(state);
    });
}

/// Stores the current plugin's bytes (under its sha256).
pub fn save_plugin(state: AppState) {
    let Some((sha, bytes)) = state.plugin.with_untracked(|p| {
        p.as_ref()
            .map(|p| (p.info().sha256.clone(), p.bytes.clone()))
    }) else {
        return;
    };
    spawn_local(async move {
        if put_bytes(&sha, &bytes).await.is_err() {
            state.notice.set(Some(
                "The plugin could not be saved in this browser (storage full or disabled): after a reload, load it again.".into(),
            ));
        }
    });
}

/// Starts a new session of `origin` for what is about to replace the scenario (an example, a
/// file, a link). The session it replaces is saved first and stays in the list, unless nobody
/// typed into it. Returns the id of the session the user was in before, if one is kept.
pub fn begin(state: AppState, origin: Origin) -> Option<String> {
    save_now(state);
    let left = state.current.get_value().map(|c| c.id);
    let id = state
        .recent
        .with_untracked(|r| r.id_for_new(left.as_deref(), fresh_id()));
    if left.as_deref() == Some(id.as_str()) {
        // Reused: what it held is about to be replaced anyway.
        state.recent.update(|r| r.remove(&id));
    }
    let previous = state
        .recent
        .with_untracked(|r| r.previous(&id).map(|e| e.id.clone()));
    state.current.set_value(Some(Current::new(id, origin)));
    previous
}

/// The id of the current session.
pub fn current_id(state: AppState) -> Option<String> {
    state
        .current
        .with_value(|c| c.as_ref().map(|c| c.id.clone()))
}

/// Marks the current session as opened: while it stays as it is now, it holds nothing the user
/// typed.
pub fn opened(state: AppState) {
    save_now(state);
    let Some(id) = state.current.get_value().map(|c| c.id) else {
        return;
    };
    state.recent.update(|r| {
        if let Some(e) = r.get_mut(&id) {
            e.mark_opened();
        }
    });
    write(state);
}

/// Restores the newest saved session at start-up (or starts a blank one).
pub fn restore(state: AppState) {
    match state.recent.with_untracked(|r| r.entries.first().cloned()) {
        Some(entry) => open_entry(state, entry),
        None => state
            .current
            .set_value(Some(Current::new(fresh_id(), Origin::Own))),
    }
}

/// Switches to the saved session `id`; the current one is saved first and stays in the list.
pub fn switch_to(state: AppState, id: &str) {
    save_now(state);
    if state
        .current
        .with_value(|c| c.as_ref().is_some_and(|c| c.id == id))
    {
        return;
    }
    if let Some(entry) = state.recent.with_untracked(|r| r.get(id).cloned()) {
        state.previous.set(None);
        state.load_error.set(None);
        open_entry(state, entry);
    }
}

/// Makes `entry` the current session: the scenario at once, the plugin when IndexedDB answers.
fn open_entry(state: AppState, entry: Entry) {
    let scenario = match entry.scenario() {
        Ok(s) => s,
        Err(e) => {
            // Keep the entry as it is (a newer playground may read it) and start a blank one.
            state.notice.set(Some(format!(
                "The saved session “{}” could not be read ({e}); it was kept as it is.",
                entry.title()
            )));
            state
                .current
                .set_value(Some(Current::new(fresh_id(), Origin::Own)));
            return;
        }
    };
    crate::runner::restart(state);
    state.current.set_value(Some(Current {
        id: entry.id.clone(),
        origin: entry.origin,
        awaiting: entry.plugin.clone(),
    }));
    state.scenario.set(scenario);
    state.plugin.set(None);
    let Some(plugin) = entry.plugin else { return };
    let id = entry.id;
    spawn_local(async move {
        let sha = plugin.source.sha256.clone().unwrap_or_default();
        let bytes = if sha.is_empty() {
            None
        } else {
            plugin_bytes(&sha).await
        };
        if state
            .current
            .with_value(|c| c.as_ref().is_none_or(|c| c.id != id))
        {
            // The user went elsewhere meanwhile.
            return;
        }
        match bytes {
            Some(bytes) => {
                crate::loader::use_bytes(state, plugin.name, bytes, sha, plugin.source).await;
            }
            None => state.notice.set(Some(format!(
                "The plugin {} of this session is not stored in this browser: load it again.",
                plugin.name
            ))),
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
