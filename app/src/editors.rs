//! The scenario editors of the left pane, in tabs: request, upstream response, plugin and VM
//! configuration, settings and the timeline's events, routing and mocks, and the whole
//! scenario as JSON (with session files). One small component per file; the plain logic
//! (`config_text`, `body_text`, `rows`, `timeline_events`) is unit-tested natively.
//!
//! Every edit goes through [`edit`]: a real change replaces the scenario (which `persist`
//! autosaves) and forgets the run, so a stale run is never shown as current. Editors that
//! hold text the scenario cannot (invalid JSON, half-typed rows) keep it in a local draft that
//! follows the scenario only when the scenario changes from elsewhere (an example, a file).

mod body_editor;
mod body_text;
mod chain_editor;
mod config_editor;
mod config_text;
mod connection_editor;
mod events_editor;
mod fields;
mod foreign_mocks;
mod http_mocks;
mod json_field;
mod limits_editor;
mod mocks_editor;
mod pairs_table;
mod paste_box;
mod properties_editor;
mod redis_mocks;
mod request_editor;
mod response_editor;
mod route_editor;
mod rows;
mod scenario_json;
mod session_file;
mod settings_editor;
mod tabs;
mod timeline_events;

use leptos::prelude::*;
use pwp_model::Scenario;

use crate::state::AppState;
pub use tabs::Editors;

/// Applies an edit to the scenario. A real change replaces it (autosaved); the paused run
/// takes what it can (see [`crate::runner::inputs_changed`]), else its results turn stale.
pub fn edit(state: AppState, f: impl FnOnce(&mut Scenario)) {
    let mut next = state.scenario.get_untracked();
    f(&mut next);
    if state.scenario.with_untracked(|s| *s != next) {
        let old = state.scenario.get_untracked();
        state.scenario.set(next.clone());
        crate::runner::inputs_changed(state, &old, &next);
    }
}

/// One part of the scenario, as a memo: it changes only when that part does, so the editors
/// of other parts (and their drafts) are left alone.
pub fn part<T>(state: AppState, f: impl Fn(&Scenario) -> T + Send + Sync + 'static) -> Memo<T>
where
    T: Clone + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| state.scenario.with(&f))
}

/// Keeps a local `draft` in step with `value` when the value changes from elsewhere: unless
/// `in_sync(draft, value)`, the draft becomes `reset(value)`. Not on the first run, so a draft
/// restored from storage survives.
pub fn follow<V, D>(
    value: Signal<V>,
    draft: RwSignal<D>,
    in_sync: impl Fn(&D, &V) -> bool + 'static,
    reset: impl Fn(&V, &D) -> D + 'static,
) where
    V: Clone + Send + Sync + 'static,
    D: Send + Sync + 'static,
{
    Effect::watch(
        move || value.get(),
        move |v, _, _| {
            let keep = draft.with_untracked(|d| in_sync(d, v));
            if !keep {
                let next = draft.with_untracked(|d| reset(v, d));
                draft.set(next);
            }
        },
        false,
    );
}
