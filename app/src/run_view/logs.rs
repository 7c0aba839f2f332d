//! The plugin's log lines, filtered by level and by callback.

use leptos::prelude::*;
use pwp_model::scenario::LogLevel;
use pwp_model::trace::LogLine;

use crate::state::use_state;

/// The most lines shown: the newest. A replay logs thousands; rendering them all on each
/// progress message would cost the page more the longer the run, and even 300 new lines per
/// render take the browser ~70 ms to lay out on a busy machine.
const SHOWN: usize = 100;

/// Where a shown line comes from: the run's lines (its place among them), or the lines of
/// one callback of a summarised run as the worker sent them (the callback, the line's place
/// among its lines). The key of its row.
type LineKey = (Option<usize>, usize);

/// The last [`SHOWN`] lines of `logs` at `min` or above (of callback `only`, if given), each
/// with its key, and how many earlier ones are not shown: those that pass the filters, and
/// the `not_held` lines before `logs` (a summarised run's page holds only the newest).
fn pick(
    logs: &[LogLine],
    key: impl Fn(usize) -> LineKey,
    not_held: usize,
    min: LogLevel,
    only: Option<usize>,
) -> (Vec<(LineKey, LogLine)>, usize) {
    let matching = logs
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, l)| l.level >= min)
        .filter(|(_, l)| only.is_none() || l.callback_index == only);
    let mut shown: Vec<_> = matching
        .clone()
        .take(SHOWN)
        .map(|(i, l)| (key(i), l.clone()))
        .collect();
    shown.reverse();
    let hidden = matching.count() - shown.len() + not_held;
    (shown, hidden)
}

/// The log lines, newest last (the last [`SHOWN`] that pass the filters).
#[component]
pub fn Logs() -> impl IntoView {
    let state = use_state();
    let min_level = RwSignal::new(LogLevel::Trace);
    let only_selected = RwSignal::new(false);
    let summarised = move || state.run.with(|r| r.summary.is_some());
    let lines = move || {
        let min = min_level.get();
        let sel = only_selected.get().then(|| state.selected.get()).flatten();
        state.run.with(|r| {
            let Some(report) = r.report.as_ref() else {
                return (Vec::new(), 0);
            };
            let Some(summary) = &r.summary else {
                return pick(&report.logs, |i| (None, i), 0, min, sel);
            };
            match sel {
                // A summarised run's callback: its lines as the worker sent them (the detail
                // pane asks for them when it is selected).
                Some(c) => state.detail.with(|d| match d {
                    Some((k, Some(detail))) if *k == c => {
                        pick(&detail.logs, |i| (Some(c), i), 0, min, None)
                    }
                    _ => (Vec::new(), 0),
                }),
                None => {
                    let offset = summary.logs.saturating_sub(report.logs.len());
                    pick(&report.logs, |i| (None, offset + i), offset, min, None)
                }
            }
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
            <p class="note" data-testid="logs-hidden">{move || {
                let hidden = lines.with(|(_, hidden)| *hidden);
                if summarised() {
                    format!("{hidden} earlier lines not shown: the last {SHOWN} are (a replay keeps its lines in the engine: select a callback and tick “only the selected callback” to see its own)")
                } else {
                    format!("{hidden} earlier lines not shown: the last {SHOWN} are (filter by level or callback to see others)")
                }
            }}</p>
        </Show>
        <ol class="logs" data-testid="logs" aria-label="Log lines">
            // Keyed by the line's place in the run: a new line adds a row, the rest stay.
            <For each=move || lines.with(|(shown, _)| shown.clone()) key=|(k, _)| *k let:line>
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

#[cfg(test)]
mod tests {
    use super::*;
    use pwp_model::trace::LogSource;

    fn lines(n: usize) -> Vec<LogLine> {
        (0..n)
            .map(|i| LogLine {
                level: if i % 2 == 0 {
                    LogLevel::Info
                } else {
                    LogLevel::Debug
                },
                message: format!("line {i}"),
                callback: Some("proxy_on_request_headers".into()),
                callback_index: Some(i / 10),
                source: LogSource::ProxyLog,
            })
            .collect()
    }

    #[test]
    fn the_newest_lines_that_pass_the_filters_are_shown_keyed_by_their_place() {
        let all = lines(250);
        let (shown, hidden) = pick(&all, |i| (None, i), 0, LogLevel::Trace, None);
        assert_eq!(shown.len(), SHOWN);
        assert_eq!(shown[0].0, (None, 150));
        assert_eq!(shown.last().unwrap().1.message, "line 249");
        assert_eq!(hidden, 150);
        let (shown, hidden) = pick(&all, |i| (None, i), 0, LogLevel::Info, Some(3));
        let messages: Vec<&str> = shown.iter().map(|(_, l)| l.message.as_str()).collect();
        assert_eq!(
            messages,
            ["line 30", "line 32", "line 34", "line 36", "line 38"]
        );
        assert_eq!(hidden, 0);
    }

    #[test]
    fn a_summarised_run_counts_the_lines_its_page_does_not_hold_as_hidden() {
        // The newest 100 of 1,000 lines: keyed by their place in the run.
        let tail = lines(100);
        let (shown, hidden) = pick(&tail, |i| (None, 900 + i), 900, LogLevel::Trace, None);
        assert_eq!(shown.len(), 100);
        assert_eq!(shown[0].0, (None, 900));
        assert_eq!(hidden, 900);
        // A callback's own lines, keyed apart from the run's.
        let (shown, hidden) = pick(&tail[..3], |i| (Some(7), i), 0, LogLevel::Trace, None);
        assert_eq!(
            shown.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [(Some(7), 0), (Some(7), 1), (Some(7), 2)]
        );
        assert_eq!(hidden, 0);
    }
}
