use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::Scenario;
use pwp_model::scenario::PluginRef;
use wasm_bindgen_futures::JsFuture;

use super::rows::scenario_file_name;
use crate::state::{AppState, use_state};

/// The scenario as a session file: it names the loaded plugin so that `pwp run` finds it (an
/// uploaded file is expected next to the scenario file).
fn session_file(state: AppState) -> (String, String) {
    let mut s = state.scenario.get_untracked();
    let plugin = state
        .plugin
        .with_untracked(|p| p.as_ref().map(|p| (p.name.clone(), p.source.clone())));
    if let Some((_, source)) = &plugin {
        let mut r: PluginRef = source.clone();
        if r.example.is_none() && r.url.is_none() && r.path.is_none() {
            r.path.clone_from(&r.file_name);
        }
        s.plugin = Some(r);
    }
    let name = scenario_file_name(&s.name, plugin.as_ref().map(|p| p.0.as_str()));
    (name, s.to_json_pretty())
}

/// "Save scenario" (downloads `<name>.scenario.json`) and "Open scenario" (JSON or YAML).
/// A bad file leaves the scenario as it was and says why.
#[component]
pub fn SessionFile() -> impl IntoView {
    let state = use_state();
    let error = RwSignal::new(None::<String>);
    let open = move |file: web_sys::File| {
        let name = file.name();
        spawn_local(async move {
            let Some(text) = JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|t| t.as_string())
            else {
                return error.set(Some(format!("{name}: the file could not be read as text")));
            };
            match Scenario::parse(&text) {
                Ok(s) => {
                    error.set(None);
                    let loaded = state
                        .plugin
                        .with_untracked(|p| p.as_ref().map(|p| p.info().sha256.clone()));
                    let wanted = s.plugin.as_ref().and_then(|p| p.sha256.clone());
                    let note = match (wanted, loaded) {
                        (Some(w), Some(l)) if !w.eq_ignore_ascii_case(&l) => {
                            " It was saved with another plugin (sha256 differs)."
                        }
                        (Some(_), None) => " Load its plugin to run it.",
                        _ => "",
                    };
                    let kept = crate::persist::begin(state, crate::sessions::Origin::File)
                        .map_or("", |_| " Your previous session is kept in Recent sessions.");
                    state
                        .notice
                        .set(Some(format!("Opened {name}.{note}{kept}")));
                    state.scenario.set(s);
                    state.reset_run();
                    crate::persist::opened(state);
                }
                Err(e) => error.set(Some(format!("{name}: {e}. The scenario was not changed."))),
            }
        });
    };
    view! {
        <div class="ed-bar ed-files">
            <button type="button" data-testid="save-scenario" title="Download the scenario as a file: pwp run -s FILE runs it"
                on:click=move |_| { let (name, text) = session_file(state); crate::browser::download_text(&name, &text, "application/json"); }>
                "Save scenario"
            </button>
            <label class="ed-file-button">
                <span>"Open scenario…"</span>
                <input type="file" accept=".json,.yaml,.yml,application/json" data-testid="open-scenario"
                    on:change=move |e| {
                        let input: web_sys::HtmlInputElement = event_target(&e);
                        if let Some(f) = input.files().and_then(|f| f.get(0)) { open(f); }
                        input.set_value("");
                    } />
            </label>
        </div>
        {move || error.get().map(|m| view! { <p class="inline-error" role="alert" data-testid="scenario-file-error">{m}</p> })}
    }
}
