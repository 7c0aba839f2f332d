//! The plugin's log lines, filtered by level and by callback.

use leptos::prelude::*;
use pwp_model::scenario::LogLevel;

use crate::state::use_state;

/// All log lines, newest last.
#[component]
pub fn Logs() -> impl IntoView {
    let state = use_state();
    let min_level = RwSignal::new(LogLevel::Trace);
    let only_selected = RwSignal::new(false);
    let lines = move || {
        let min = min_level.get();
        let sel = only_selected.get().then(|| state.selected.get()).flatten();
        state.run.with(|r| {
            r.report
                .as_ref()
                .map(|r| {
                    r.logs
                        .iter()
                        .filter(|l| l.level >= min)
                        .filter(|l| sel.is_none() || l.callback_index == sel)
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <div class="logs-bar">
            <label>
                "Level "
                <select aria-label="Minimum log level" on:change=move |e| {
                    let v = event_target_value(&e);
                    min_level.set(serde_json::from_value(serde_json::Value::String(v)).unwrap_or(LogLevel::Trace));
                }>
                    {["trace", "debug", "info", "warn", "error", "critical"].map(|l| view! { <option value=l>{l}</option> })}
                </select>
            </label>
            <label>
                <input type="checkbox" on:change=move |e| only_selected.set(event_target_checked(&e)) />
                " only the selected callback"
            </label>
        </div>
        <ol class="logs" data-testid="logs" aria-label="Log lines">
            {move || lines().into_iter().map(|l| {
                let level = l.level.as_str();
                let source = format!("{:?}", l.source).to_lowercase();
                view! {
                    <li class=format!("log {level} {source}") data-level=level>
                        <span class="lvl">{level}</span>
                        <span class="where">{l.callback.unwrap_or_default()}</span>
                        <span class="msg mono">{l.message}</span>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}
