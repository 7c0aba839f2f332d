//! Loading a plugin: from a file (picker or drop), a bundled example (with its scenario), a URL
//! (checked against a sha256 when one is given), a share link or a saved session. Every path
//! ends in [`use_loaded`], which keeps the plugin that was loaded when the new one is not a
//! plugin; of several loads at once, the one chosen last wins. A chosen file goes to the
//! engine worker unread ([`open_file`]: the worker reads and hashes it); every download goes
//! through [`fetch_plugin`], which hashes with WebCrypto (see [`sha256`]). What a module is,
//! the engine worker says.

use std::rc::Rc;

use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::scenario::PluginRef;
use pwp_model::{PluginInfo, Scenario};
use wasm_bindgen_futures::JsFuture;

use crate::sessions::Origin;
use crate::state::{AppState, ChainPlugin, LoadedPlugin, chain_key};
use pwp_model::scenario::ChainFilter;

/// The lower-case hex sha256 of `bytes`: by WebCrypto (fast), or inside the wasm where the page
/// has no WebCrypto (it is only in secure contexts: https and localhost).
pub async fn sha256(bytes: &[u8]) -> String {
    match crate::browser::sha256_hex(bytes).await {
        Some(digest) => digest,
        None => pwp_model::sha256_hex(bytes),
    }
}

/// Downloads a plugin and hashes it; with `expected`, refuses one whose sha256 differs.
///
/// # Errors
///
/// A message naming the URL and what went wrong (network, CORS, HTTP status, sha256).
pub async fn fetch_plugin(url: &str, expected: Option<&str>) -> Result<(Vec<u8>, String), String> {
    let bytes = crate::browser::fetch_bytes(url).await?;
    let got = sha256(&bytes).await;
    match expected {
        Some(want) if !want.eq_ignore_ascii_case(&got) => Err(format!(
            "{url} has sha256 {got}, not the expected {want}; the plugin was not loaded"
        )),
        _ => Ok((bytes, got)),
    }
}

/// The URL of a bundled example's file (`examples/NAME`), against the document base.
fn example_url(file: &str) -> String {
    let relative = format!("examples/{file}");
    crate::browser::resolve(&relative).unwrap_or(relative)
}

/// Downloads a bundled example's plugin: its bytes, sha256 and source.
///
/// # Errors
///
/// As [`fetch_plugin`].
pub async fn fetch_example(name: &str) -> Result<(Vec<u8>, String, PluginRef), String> {
    let (bytes, sha) = fetch_plugin(&example_url(&format!("{name}.wasm")), None).await?;
    let source = PluginRef {
        example: Some(name.to_string()),
        ..PluginRef::default()
    };
    Ok((bytes, sha, source))
}

/// The file name at the end of a URL (without query or fragment), or `plugin.wasm`.
pub fn name_from_url(url: &str) -> String {
    url.split(['?', '#'])
        .next()
        .and_then(|p| p.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("plugin.wasm")
        .to_string()
}

/// Reads `bytes` (whose sha256 is `sha256`) as a plugin, or says why they are not one: the
/// engine worker inspects them.
///
/// # Errors
///
/// `name: why`.
pub async fn prepare(
    name: String,
    bytes: Vec<u8>,
    sha256: String,
    source: PluginRef,
) -> Result<LoadedPlugin, String> {
    let bytes: Rc<[u8]> = bytes.into();
    let info = crate::engine::inspect(bytes.clone(), sha256)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(loaded(name, bytes, info, source))
}

/// The plugin `name`, whose `bytes` the worker found to be `info`; `source` says where it
/// came from and gains the digest and size.
fn loaded(name: String, bytes: Rc<[u8]>, info: PluginInfo, mut source: PluginRef) -> LoadedPlugin {
    source.sha256 = Some(info.sha256.clone());
    source.size = Some(bytes.len() as u64);
    LoadedPlugin {
        name,
        bytes,
        info: Rc::new(info),
        source,
    }
}

/// Takes a prepared plugin as the current one and stores its bytes for the session. The run is
/// reset; the scenario is kept. The engine worker gets the bytes at once and compiles them
/// while the page shows the import report, so that Run does not wait for it.
pub fn take(state: AppState, loaded: LoadedPlugin) {
    state.reset_run();
    state.load_error.set(None);
    // A compile error is kept by the worker and reported by the run.
    let pages = state.scenario.with_untracked(crate::gates::browser_pages);
    crate::engine::ensure_loaded(&[&loaded], pages);
    state.plugin.set(Some(loaded));
    crate::persist::save_plugin(state);
}

/// Takes `bytes` as the current plugin ([`prepare`], then [`take`]), or reports why they are
/// not a usable plugin and keeps the plugin that was loaded.
pub async fn use_bytes(
    state: AppState,
    name: String,
    bytes: Vec<u8>,
    sha256: String,
    source: PluginRef,
) -> bool {
    use_loaded(state, prepare(name, bytes, sha256, source).await)
}

/// Takes `loaded` as the current plugin, or shows why there is none (keeping the plugin that
/// was loaded); true when it was taken.
fn use_loaded(state: AppState, loaded: Result<LoadedPlugin, String>) -> bool {
    match loaded {
        Ok(loaded) => {
            take(state, loaded);
            true
        }
        Err(e) => {
            // Keep the plugin that was loaded: a bad file must not lose the user's work.
            let kept = state
                .plugin
                .with_untracked(|p| p.as_ref().map(|p| format!(" ({} is still loaded)", p.name)))
                .unwrap_or_default();
            state.load_error.set(Some(format!("{e}{kept}")));
            false
        }
    }
}

/// The `localStorage` key of "Run on upload" (`off` when the user turned it off).
const RUN_ON_FILE: &str = "pwp.run-on-file";

/// Whether a file the user picks or drops runs the scenario at once (the default): the loop
/// of a plugin author is rebuild, drop, look.
pub fn run_on_file() -> bool {
    crate::browser::stored(RUN_ON_FILE).as_deref() != Some("off")
}

/// Remembers "Run on upload" in this browser.
pub fn set_run_on_file(on: bool) {
    crate::browser::store(RUN_ON_FILE, if on { "on" } else { "off" });
}

/// Loads a file the user picked or dropped, and runs it when [`run_on_file`].
pub fn load_file(state: AppState, file: web_sys::File) {
    // Posted to the worker at once: the page's thread has a frame to draw.
    let read = open_file(
        file,
        state.scenario.with_untracked(crate::gates::browser_pages),
    );
    let latest = choose();
    spawn_local(async move {
        let read = read.await;
        if !latest() {
            return;
        }
        if use_loaded(state, read) && run_on_file() {
            crate::run_view::controls::run(state);
        }
    });
}

thread_local! {
    /// Counts the plugins chosen (a file, an example, a URL): see [`choose`].
    static CHOSEN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Records that the user chose a plugin; the answer says whether it is still the latest
/// choice. Loads finish in any order (a small file is read before a large one chosen first),
/// and the plugin the user wants is the one chosen last.
fn choose() -> impl Fn() -> bool {
    let mine = CHOSEN.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    move || CHOSEN.with(std::cell::Cell::get) == mine
}

/// A file the user chose, as a plugin: the engine worker reads it, hashes it and says what it
/// is (with `browser_pages`, it compiles it for the browser's engine too), while the page reads
/// its own copy of the bytes (for the session's storage and share links).
///
/// # Errors
///
/// The file's name and what went wrong (reading it, or why it is not a usable plugin).
pub fn open_file(
    file: web_sys::File,
    browser_pages: Option<u32>,
) -> impl Future<Output = Result<LoadedPlugin, String>> {
    let inspection = crate::engine::inspect_file(&file, browser_pages);
    async move {
        let name = file.name();
        let read = JsFuture::from(file.array_buffer()).await;
        let info = inspection.await;
        let Ok(buffer) = read else {
            return Err(format!("{name}: the file could not be read"));
        };
        let bytes: Rc<[u8]> = Uint8Array::new(&buffer).to_vec().into();
        let info = info.map_err(|e| format!("{name}: {e}"))?;
        if info.size != bytes.len() {
            return Err(format!("{name}: the file changed while it was read"));
        }
        let source = PluginRef {
            file_name: Some(name.clone()),
            ..PluginRef::default()
        };
        Ok(loaded(name, bytes, info, source))
    }
}

/// Loads a bundled example and its scenario, as a new session (the one it replaces stays in
/// the recent sessions).
pub fn load_example(state: AppState, name: String, scenario_file: Option<String>) {
    let latest = choose();
    spawn_local(async move {
        let (bytes, sha, source) = match fetch_example(&name).await {
            Ok(found) => found,
            Err(e) => {
                if latest() {
                    state.load_error.set(Some(e));
                }
                return;
            }
        };
        let scenario_name = scenario_file.unwrap_or_else(|| format!("{name}.scenario.json"));
        let scenario = match crate::browser::fetch_text(&example_url(&scenario_name)).await {
            Ok(text) => Scenario::parse(&text).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let loaded = prepare(name, bytes, sha, source).await;
        if !latest() {
            return;
        }
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                state.load_error.set(Some(e));
                return;
            }
        };
        crate::persist::begin(state, Origin::Example);
        take(state, loaded);
        match scenario {
            Ok(s) => state.scenario.set(s),
            Err(e) => state.notice.set(Some(format!(
                "The example's scenario could not be read: {e}"
            ))),
        }
        crate::persist::opened(state);
    });
}

/// Loads a plugin from a URL, checking `sha256` when given.
pub fn load_url(state: AppState, url: String, sha256: Option<String>) {
    let latest = choose();
    spawn_local(async move {
        let loaded = match fetch_plugin(&url, sha256.as_deref()).await {
            Ok((bytes, sha)) => {
                let source = PluginRef {
                    url: Some(url.clone()),
                    ..PluginRef::default()
                };
                prepare(name_from_url(&url), bytes, sha, source).await
            }
            Err(e) => Err(e),
        };
        if latest() {
            use_loaded(state, loaded);
        }
    });
}

/// Loads the plugins the scenario's chain names that are not loaded yet: examples, URLs
/// (checked against their sha256) and inline modules. An uploaded one is there once the user
/// uploaded it (see [`add_chain_file`]).
pub fn sync_chain(state: AppState) {
    let refs: Vec<PluginRef> = state
        .scenario
        .with_untracked(|s| s.chain.iter().map(|f| f.plugin.clone()).collect());
    for r in refs {
        let key = chain_key(&r);
        if state.chain_plugins.with_untracked(|m| m.contains_key(&key)) {
            continue;
        }
        state.chain_plugins.update(|m| {
            m.insert(key.clone(), ChainPlugin::Loading);
        });
        spawn_local(async move {
            let slot = match load_ref(&r).await {
                Ok(p) => ChainPlugin::Loaded(p),
                Err(e) => ChainPlugin::Failed(e),
            };
            state.chain_plugins.update(|m| {
                m.insert(key, slot);
            });
        });
    }
}

/// Fetches (or decodes) the plugin `r` names.
async fn load_ref(r: &PluginRef) -> Result<LoadedPlugin, String> {
    if let Some(name) = &r.example {
        let (bytes, sha, source) = fetch_example(name).await?;
        return prepare(name.clone(), bytes, sha, source).await;
    }
    if let Some(url) = &r.url {
        let (bytes, sha) = fetch_plugin(url, r.sha256.as_deref()).await?;
        let source = PluginRef {
            url: Some(url.clone()),
            ..PluginRef::default()
        };
        return prepare(name_from_url(url), bytes, sha, source).await;
    }
    if let Some(b64) = &r.inline {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("the inline plugin is not base64: {e}"))?;
        let sha = sha256(&bytes).await;
        if let Some(want) = r
            .sha256
            .as_deref()
            .filter(|w| !w.eq_ignore_ascii_case(&sha))
        {
            return Err(format!("the inline plugin has sha256 {sha}, not {want}"));
        }
        return prepare("inline plugin".into(), bytes, sha, r.clone()).await;
    }
    // An uploaded plugin: stored by its digest when it was added.
    let name = r.file_name.clone().unwrap_or_else(|| "plugin.wasm".into());
    if let Some(sha) = &r.sha256
        && let Some(bytes) = crate::persist::stored_plugin(sha).await
    {
        let got = sha256(&bytes).await;
        return prepare(name, bytes, got, r.clone()).await;
    }
    Err(format!(
        "upload {name} again: this browser does not have it (any more)"
    ))
}

/// Adds a bundled example as the chain's last filter (loaded by [`sync_chain`]).
pub fn add_chain_example(state: AppState, name: String) {
    crate::editors::edit(state, |s| {
        s.chain.push(ChainFilter {
            plugin: PluginRef {
                example: Some(name.clone()),
                ..PluginRef::default()
            },
            plugin_name: name,
            ..ChainFilter::default()
        });
    });
}

/// Reads a file the user picked and adds it as the chain's last filter.
pub fn add_chain_file(state: AppState, file: web_sys::File) {
    let name = file.name();
    let read = open_file(file, None);
    spawn_local(async move {
        match read.await {
            Ok(loaded) => {
                let source = loaded.source.clone();
                crate::persist::save_chain_plugin(
                    state,
                    loaded.info().sha256.clone(),
                    loaded.bytes.clone(),
                );
                state.chain_plugins.update(|m| {
                    m.insert(chain_key(&source), ChainPlugin::Loaded(loaded));
                });
                let plugin_name = name.strip_suffix(".wasm").unwrap_or(&name).to_string();
                crate::editors::edit(state, |s| {
                    s.chain.push(ChainFilter {
                        plugin: source,
                        plugin_name,
                        ..ChainFilter::default()
                    });
                });
            }
            Err(e) => state.load_error.set(Some(e)),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::name_from_url;

    #[test]
    fn a_url_names_its_file() {
        assert_eq!(
            name_from_url("https://a.example/x/p.wasm?v=2#top"),
            "p.wasm"
        );
        assert_eq!(name_from_url("https://a.example/"), "plugin.wasm");
    }
}
