use leptos::prelude::*;
use pwp_model::Scenario;

use super::fields::TextField;
use super::session_file::SessionFile;
use super::{edit, part};
use crate::state::use_state;

/// The whole scenario as editable JSON (Apply replaces the scenario; errors are shown and the
/// text kept), its name and description, and the session files.
#[component]
pub fn ScenarioJson() -> impl IntoView {
    let state = use_state();
    let json = part(state, Scenario::to_json_pretty);
    // `base` is the JSON the draft started from: an edited draft is kept when the scenario
    // changes elsewhere (Revert picks the change up); an untouched one follows.
    let base = RwSignal::new(json.get_untracked());
    let draft = RwSignal::new(json.get_untracked());
    let error = RwSignal::new(None::<String>);
    let dirty = move || draft.with(|d| base.with(|b| d != b));
    let stale = move || base.with(|b| *b != json.get());
    Effect::watch(
        move || json.get(),
        move |v, _, _| {
            if !dirty() {
                draft.set(v.clone());
                base.set(v.clone());
            }
        },
        false,
    );
    let revert = move || {
        error.set(None);
        draft.set(json.get_untracked());
        base.set(json.get_untracked());
    };
    let apply = move || match Scenario::parse(&draft.get_untracked()) {
        Ok(s) => {
            edit(state, |cur| *cur = s);
            revert();
        }
        Err(e) => error.set(Some(e.to_string())),
    };
    view! {
        <div class="ed-section" data-testid="scenario-json">
            <SessionFile />
            <TextField label="Name (also the file name)" testid="scenario-name" placeholder="my-plugin: denies without a token"
                value=part(state, |s| s.name.clone()) on_input=move |v: String| edit(state, |s| s.name = v) />
            <label class="ed-field">
                <span>"Description"</span>
                <textarea class="ed-short" rows="2" data-testid="scenario-description"
                    prop:value=part(state, |s| s.description.clone())
                    on:input=move |e| { let v = event_target_value(&e); edit(state, |s| s.description = v) }></textarea>
            </label>
            <div class="ed-bar">
                <span class="ed-label" id="scenario-json-label">"Scenario (JSON)"</span>
                <button type="button" data-testid="scenario-apply" disabled=move || !dirty() on:click=move |_| apply()>"Apply"</button>
                <button type="button" data-testid="scenario-revert" disabled=move || !dirty() && !stale()
                    on:click=move |_| revert()>"Revert"</button>
                <small class="ed-default" data-testid="scenario-json-state">{move || match (dirty(), stale()) {
                    (true, true) => "edited, and the scenario changed since: Apply replaces it, Revert shows it",
                    (true, false) => "edited: Apply (Ctrl+Enter) replaces the scenario",
                    _ => "the scenario as pwp run reads it",
                }}</small>
            </div>
            <textarea class="editor ed-json" spellcheck="false" rows="16" data-testid="scenario-json-editor"
                aria-labelledby="scenario-json-label" aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=draft on:input=move |e| draft.set(event_target_value(&e))
                on:keydown=move |e: leptos::ev::KeyboardEvent| {
                    if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) { e.prevent_default(); apply(); }
                }></textarea>
            {move || error.get().map(|m| view! { <p class="inline-error" role="alert" data-testid="scenario-json-error">{m}</p> })}
        </div>
    }
}
