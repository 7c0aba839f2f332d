use leptos::ev;
use leptos::prelude::*;
use pwp_model::scenario::ChainFilter;

use super::fields::TextField;
use super::json_field::JsonField;
use super::{edit, part};
use crate::state::{ChainPlugin, chain_key, use_state};
use crate::{browser, loader, manifest};

/// The filter chain: the scenario's plugin first, then each further plugin with its own
/// configuration, root id and VM id, which can be moved up or down or removed; plugins are
/// added from the examples or a file. The request runs through the filters top to bottom, the
/// response bottom to top.
#[component]
pub fn ChainEditor() -> impl IntoView {
    let state = use_state();
    let len = part(state, |s| s.chain.len());
    let first = move || {
        state.plugin.with(|p| {
            p.as_ref()
                .map_or_else(|| "no plugin loaded".to_string(), |p| p.name.clone())
        })
    };
    let examples = LocalResource::new(|| async {
        let url = browser::resolve(manifest::MANIFEST_PATH)?;
        manifest::examples(&browser::fetch_text(&url).await?)
    });
    let options = move || {
        examples
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let label = format!("{} — {}", e.name, e.title);
                view! { <option value=e.name.clone()>{label}</option> }
            })
            .collect_view()
    };
    let on_file = move |e: ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&e);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            loader::add_chain_file(state, file);
        }
        input.set_value("");
    };
    view! {
        <div class="ed-section chain-editor" data-testid="chain-editor">
            <p class="ed-hint">"Several plugins on one stream, as several WasmPlugins on one gateway: the request runs through them top to bottom, the response bottom to top. A local reply stops the request where it is sent."</p>
            <ol class="chain-list" data-testid="chain-list">
                <li class="chain-filter chain-first" data-testid="chain-filter">
                    <span class="chain-no">"1"</span>
                    <span class="chain-name" data-testid="chain-filter-name">{first}</span>
                    <span class="chain-note">"this scenario's plugin (Config and Settings tabs)"</span>
                </li>
                <For each=move || 0..len.get() key=|k| *k let:k>
                    <ChainRow k=k />
                </For>
            </ol>
            <div class="chain-add">
                <select data-testid="chain-add-example" aria-label="Add an example plugin to the chain"
                    on:change=move |e| {
                        let v = event_target_value(&e);
                        if !v.is_empty() {
                            loader::add_chain_example(state, v);
                        }
                        let select: web_sys::HtmlSelectElement = event_target(&e);
                        select.set_value("");
                    }>
                    <option value="">"Add a plugin: an example…"</option>
                    {options}
                </select>
                <label class="ed-file-button" title="Add a .wasm to the end of the chain">
                    <span>"…or upload .wasm"</span>
                    <input type="file" accept=".wasm,application/wasm" data-testid="chain-add-file"
                        aria-label="Add a .wasm to the chain" on:change=on_file />
                </label>
            </div>
        </div>
    }
}

/// Filter `k + 2`: its plugin and status, its settings, and moving or removing it.
#[component]
fn ChainRow(k: usize) -> impl IntoView {
    let state = use_state();
    let entry = part(state, move |s| s.chain.get(k).cloned().unwrap_or_default());
    let len = part(state, |s| s.chain.len());
    let label = move || {
        entry.with(|f| {
            f.plugin
                .example
                .clone()
                .or_else(|| f.plugin.file_name.clone())
                .or_else(|| f.plugin.url.clone())
                .unwrap_or_else(|| "inline plugin".into())
        })
    };
    let status = move || {
        let key = entry.with(|f| chain_key(&f.plugin));
        state.chain_plugins.with(|m| match m.get(&key) {
            Some(ChainPlugin::Loaded(p)) => format!(
                "ABI {} · {}",
                p.info().abi.map_or("none", |a| a.as_str()),
                p.info().toolchain
            ),
            Some(ChainPlugin::Loading) | None => "loading…".into(),
            Some(ChainPlugin::Failed(why)) => why.clone(),
        })
    };
    let text = move |f: fn(&ChainFilter) -> String| Signal::derive(move || entry.with(f));
    let set = move |f: fn(&mut ChainFilter, String)| {
        Callback::new(move |v: String| {
            edit(state, |s| {
                if let Some(c) = s.chain.get_mut(k) {
                    f(c, v);
                }
            });
        })
    };
    let config = Signal::derive(move || entry.with(|f| f.config.clone()));
    let set_config = Callback::new(move |v: serde_json::Value| {
        edit(state, |s| {
            if let Some(c) = s.chain.get_mut(k) {
                c.config = v;
            }
        });
    });
    let swap = move |a: usize, b: usize| {
        edit(state, |s| {
            if a < s.chain.len() && b < s.chain.len() {
                s.chain.swap(a, b);
            }
        });
    };
    view! {
        <li class="chain-filter" data-testid="chain-filter">
            <div class="chain-head">
                <span class="chain-no">{k + 2}</span>
                <span class="chain-name" data-testid="chain-filter-name">{label}</span>
                <span class="chain-status" data-testid="chain-filter-status">{status}</span>
                <span class="chain-buttons">
                    <button type="button" data-testid="chain-up" aria-label=format!("Move filter {} up", k + 2)
                        title="Run it one filter earlier" disabled=move || k == 0
                        on:click=move |_| swap(k - 1, k)>"↑"</button>
                    <button type="button" data-testid="chain-down" aria-label=format!("Move filter {} down", k + 2)
                        title="Run it one filter later" disabled=move || { k + 1 >= len.get() }
                        on:click=move |_| swap(k, k + 1)>"↓"</button>
                    <button type="button" data-testid="chain-remove" aria-label=format!("Remove filter {}", k + 2)
                        title="Take it out of the chain"
                        on:click=move |_| edit(state, |s| { if k < s.chain.len() { s.chain.remove(k); } })>"✕"</button>
                </span>
            </div>
            <div class="ed-grid">
                <TextField label="Plugin name" testid="chain-plugin-name" value=text(|f| f.plugin_name.clone())
                    on_input=set(|f, v| f.plugin_name = v) />
                <TextField label="Root id" testid="chain-root-id" placeholder="(empty, as Istio)"
                    value=text(|f| f.root_id.clone()) on_input=set(|f, v| f.root_id = v) />
                <TextField label="VM id" testid="chain-vm-id" placeholder="(empty)"
                    hint="With the same module and VM id as another filter, both run in one VM"
                    value=text(|f| f.vm_id.clone()) on_input=set(|f, v| f.vm_id = v) />
            </div>
            <JsonField label="Plugin configuration (JSON)" testid="chain-config" value=config on_change=set_config />
        </li>
    }
}
