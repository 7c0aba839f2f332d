//! The plugin's log lines, filtered by level and by callback.

use leptos::prelude::*;
use pwp_model::scenario::LogLevel;

use crate::state::use_state;

/// The most lines shown: the newest. A replay logs thousands; rendering them all on each
/// progress message would cost the page more the longer the run, and even 300 new lines per
/// render take the browser ~70 ms to lay out on a busy machine.
const SHOWN: usize = 100;

/// The log lines, newest last (the last [`SHOWN`] that pass the filters).
#[component]
pub fn Logs() -> impl IntoView {
    let state = use_state();
    let min_level = RwSignal::new(LogLevel::Trace);
    let only_selected = RwSignal::new(false);
    let lines = move || {
        let min = min_level.get();
        let sel = only_selected.get().then(|| state.selected.get()).flatten();
        state.run.with(|r| {
            let Some(r) = r.report.as_ref() else {
                return (Vec::new(), 0);
            };
            let matching = r
                .logs
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, l)| l.level >= min)
                .filter(|(_, l)| sel.is_none() || l.callback_index == sel);
            let mut shown: Vec<_> = matching
                .clone()
                .take(SHOWN)
                .map(|(i, l)| (i, l.clone()))
                .collect();
            shown.reverse();
            let hidden = if shown.len() < SHOWN {
                0
            } else {
                matching.count() - SHOWN
            };
            (shown, hidden)
        })
    };
    let lines = Memo::new(move |_| lines());
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
        <Show when=move || lines.with(|(_, hidden)| *hidden > 0)>
            <p class="note" data-testid="logs-hidden">{move || format!(
                "{} earlier lines not shown: the last {SHOWN} are (filter by level or callback to see others)",
                lines.with(|(_, hidden)| *hidden)
            )}</p>
        </Show>
        <ol class="logs" data-testid="logs" aria-label="Log lines">
            // Keyed by the line's place in the run: a new line adds a row, the rest stay.
            <For each=move || lines.with(|(shown, _)| shown.clone()) key=|(i, _)| *i let:line>
            {
                let l = line.1;
                let level = l.level.as_str();
                let source = format!("{:?}", l.source).to_lowercase();
                view! {
                    <li class=format!("log {level} {source}") data-level=level>
                        <span class="lvl">{level}</span>
                        <span class="where">{l.callback.unwrap_or_default()}</span>
                        <span class="msg mono">{l.message}</span>
                    </li>
                }
            }
            </For>
        </ol>
    }
}
