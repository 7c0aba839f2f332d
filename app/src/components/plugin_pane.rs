use leptos::ev;
use leptos::prelude::*;

use super::example_select::ExampleSelect;
use super::import_report::ImportReport;
use super::panel::Panel;
use crate::editors::Editors;
use crate::loader;
use crate::state::use_state;

/// The left pane: choose a plugin (file, drop, example, URL), see what it is, and edit the
/// scenario's inputs.
#[component]
pub fn PluginPane() -> impl IntoView {
    let state = use_state();
    let url = RwSignal::new(String::new());
    let dragging = RwSignal::new(false);
    let on_file = move |e: ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&e);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            loader::load_file(state, file);
        }
    };
    let on_drop = move |e: ev::DragEvent| {
        e.prevent_default();
        dragging.set(false);
        if let Some(file) = e
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0))
        {
            loader::load_file(state, file);
        }
    };
    let load_url = move || {
        let u = url.get_untracked().trim().to_string();
        if u.is_empty() {
            return;
        }
        // `url#sha256=<hex>` pins the expected digest.
        let (u, sha) = match u.split_once("#sha256=") {
            Some((a, b)) => (a.to_string(), Some(b.to_string())),
            None => (u, None),
        };
        loader::load_url(state, u, sha);
    };
    view! {
        <div class="pane pane-left" aria-label="Plugin and inputs"
            class:dragging=dragging
            on:dragover=move |e: ev::DragEvent| { e.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <Panel title="Plugin">
                <label class="field">
                    <span>"Upload or drop a .wasm"</span>
                    <input type="file" accept=".wasm,application/wasm" data-testid="plugin-file" on:change=on_file />
                </label>
                <label class="field">
                    <span>"or pick an example"</span>
                    <ExampleSelect />
                </label>
                <form class="field url-row" on:submit=move |e| { e.prevent_default(); load_url(); }>
                    <span>"or load from a URL"</span>
                    <input type="url" data-testid="plugin-url" placeholder="https://example.com/plugin.wasm#sha256=…"
                        prop:value=url on:input=move |e| url.set(event_target_value(&e)) />
                    <button type="submit" data-testid="plugin-url-load">"Load"</button>
                </form>
                <ImportReport />
            </Panel>
            <Editors />
        </div>
    }
}
