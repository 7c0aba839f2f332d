use leptos::ev;
use leptos::prelude::*;

use super::example_select::ExampleSelect;
use super::import_report::ImportReport;
use super::panel::Panel;
use crate::editors::Editors;
use crate::state::use_state;
use crate::{gates, loader};

/// The left pane: choose a plugin (file, drop, example, URL), see what it is, and edit the
/// scenario's inputs.
#[component]
pub fn PluginPane() -> impl IntoView {
    let state = use_state();
    // The editors mount a frame after the plugin panel (see `App`).
    let mounted = use_context::<super::app::Mounted>();
    let url = RwSignal::new(String::new());
    let dragging = RwSignal::new(false);
    // The report folds away to give the editors room; a new plugin (or error) unfolds it.
    let report_open = RwSignal::new(true);
    Effect::new(move |_| {
        state.plugin.track();
        state.load_error.track();
        report_open.set(true);
    });
    let digest = move || {
        if state.load_error.with(Option::is_some) {
            return "Not a usable plugin".to_string();
        }
        state.plugin.with(|p| match p {
            Some(p) => format!(
                "{} · ABI {} · {}",
                p.name,
                p.info().abi.map_or("none", |a| a.as_str()),
                p.info().toolchain
            ),
            None => "No plugin loaded".to_string(),
        })
    };
    let on_file = move |e: ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&e);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            loader::load_file(state, file);
        }
        // Choosing the same file again (after fixing it) must load it again.
        input.set_value("");
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
    let run_on_file = RwSignal::new(loader::run_on_file());
    // What is wrong with the URL box's text; network and plugin errors go to the report.
    let url_error = RwSignal::new(None::<String>);
    let load_url = move || {
        // `url#sha256=<hex>` pins the expected digest.
        match gates::plugin_url(&url.get_untracked()) {
            Ok((u, sha)) => {
                url_error.set(None);
                loader::load_url(state, u, sha);
            }
            Err(why) => url_error.set(Some(why)),
        }
    };
    view! {
        <div class="pane pane-left" id="pane-inputs" data-testid="pane-inputs" aria-label="Plugin and inputs"
            class:dragging=dragging
            on:dragover=move |e: ev::DragEvent| { e.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <Panel title="Plugin">
                <div class="plugin-pick">
                    <label class="ed-file-button" title="Upload a .wasm, or drop one anywhere on this pane">
                        <span>"Upload .wasm…"</span>
                        <input type="file" accept=".wasm,application/wasm" data-testid="plugin-file"
                            aria-label="Upload or drop a .wasm" on:change=on_file />
                    </label>
                    <span class="plugin-or">"or"</span>
                    <ExampleSelect />
                    <label class="run-on-file" title="Run the scenario as soon as a file is chosen or dropped (remembered in this browser)">
                        <input type="checkbox" data-testid="run-on-file" prop:checked=run_on_file
                            on:change=move |e| {
                                let on = event_target_checked(&e);
                                run_on_file.set(on);
                                loader::set_run_on_file(on);
                            } />
                        "Run on upload"
                    </label>
                </div>
                <form class="url-row" novalidate on:submit=move |e| { e.prevent_default(); load_url(); }>
                    <input type="url" data-testid="plugin-url" aria-label="Load a plugin from a URL (add #sha256=… to pin it)"
                        placeholder="or a URL: https://example.com/plugin.wasm#sha256=…"
                        aria-invalid=move || url_error.with(Option::is_some).to_string()
                        prop:value=url on:input=move |e| { url.set(event_target_value(&e)); url_error.set(None); } />
                    <button type="submit" data-testid="plugin-url-load">"Load"</button>
                    {move || url_error.get().map(|m| view! {
                        <span class="inline-error" role="alert" data-testid="plugin-url-error">{m}</span>
                    })}
                </form>
                <details class="plugin-report" prop:open=report_open
                    on:toggle=move |e| report_open.set(event_target::<web_sys::Element>(&e).has_attribute("open"))>
                    <summary title="Show or hide what the plugin is">{digest}</summary>
                    <ImportReport />
                </details>
            </Panel>
            <Show when=move || mounted.is_none_or(|m| m.0.get() >= 2)>
                <Editors />
            </Show>
        </div>
    }
}
