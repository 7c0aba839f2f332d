//! The timeline of callbacks, with the action each returned, and the selected callback's
//! host calls and changes.

use leptos::prelude::*;
use pwp_host::Pause;
use pwp_model::abi::Action;
use pwp_model::trace::{CallbackRecord, FailureKind};

use crate::labels;
use crate::state::{RunStatus, use_state};

fn paused_index(p: &Option<Pause>) -> Option<usize> {
    match p {
        Some(Pause::BeforeCallback { index }) => Some(*index),
        Some(Pause::HostCall { callback, .. } | Pause::Failed { callback }) => Some(*callback),
        _ => None,
    }
}

/// One row per callback; click to select, click the dot to toggle a breakpoint.
#[component]
pub fn Timeline() -> impl IntoView {
    let state = use_state();
    let callbacks = move || {
        state.run.with(|r| {
            r.report
                .as_ref()
                .map(|r| r.callbacks.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <ol class="timeline" data-testid="timeline" aria-label="Callbacks">
            // The key covers everything a row shows: a row stepped over gets its return
            // value, fuel and duration only when the callback ends, and must re-render then.
            <For each=callbacks key=row_key let:cb>
                <TimelineRow cb=cb />
            </For>
        </ol>
        <Show when=move || state.run.with(|r| r.report.as_ref().is_none_or(|r| r.callbacks.is_empty()))>
            <p class="empty" data-testid="timeline-empty">{move || {
                let exported = state.plugin.with(|p| p.as_ref().map_or(0, |p| p.info().callbacks.len()));
                state.run.with(|r| labels::empty_timeline(
                    r.status == RunStatus::Finished,
                    matches!(r.status, RunStatus::Refused(_)),
                    exported,
                ))
            }}</p>
        </Show>
    }
}

/// What a timeline row shows, as the key of its `<For>` entry.
type RowKey = (
    usize,
    Option<u32>,
    usize,
    Option<Action>,
    Option<i64>,
    u64,
    u64,
    Option<FailureKind>,
);

fn row_key(cb: &CallbackRecord) -> RowKey {
    (
        cb.index,
        cb.request,
        cb.hostcalls.len(),
        cb.action,
        cb.ret,
        cb.fuel,
        cb.duration_us.to_bits(),
        cb.error.as_ref().map(|e| e.kind),
    )
}

#[component]
fn TimelineRow(cb: CallbackRecord) -> impl IntoView {
    let state = use_state();
    let index = cb.index;
    let name = cb.name.clone();
    let bp_name = cb.name.clone();
    let has_bp = {
        let n = cb.name.clone();
        move || state.breakpoints.with(|b| b.callbacks.contains(&n))
    };
    let toggle_bp = move |e: leptos::ev::MouseEvent| {
        e.stop_propagation();
        let n = bp_name.clone();
        state.breakpoints.update(|b| {
            if !b.callbacks.remove(&n) {
                b.callbacks.insert(n);
            }
        });
    };
    let class = move || {
        let mut c = String::from("callback");
        if state.selected.get() == Some(index) {
            c.push_str(" selected");
        }
        if state.run.with(|r| paused_index(&r.paused)) == Some(index) {
            c.push_str(" current");
        }
        c
    };
    let args: Vec<String> = cb.args.iter().map(i64::to_string).collect();
    let failure = cb.error.as_ref().map(|e| e.kind.to_string());
    let action = cb.action.as_ref().map(ToString::to_string);
    let result = labels::callback_result(cb.ret, action.as_deref(), failure.as_deref());
    let failed = cb.error.is_some();
    // A callback that has not ended yet (paused in or before it, or cancelled) has no fuel
    // or duration to show.
    let unfinished = cb.ret.is_none() && cb.error.is_none() && cb.fuel == 0;
    let meta = {
        let calls = cb.hostcalls.len();
        let (fuel, us) = (cb.fuel, cb.duration_us);
        let is_last = move || {
            state.run.with(|r| {
                r.report
                    .as_ref()
                    .is_some_and(|rep| rep.callbacks.len() == index + 1)
            })
        };
        move || {
            if unfinished && is_last() {
                let status = state.run.with(|r| r.status.clone());
                let what = match status {
                    RunStatus::Cancelled => "cancelled",
                    RunStatus::Running => "running…",
                    RunStatus::Finished => "",
                    _ => "not finished",
                };
                if !what.is_empty() {
                    return format!("{calls} calls · {what}");
                }
            }
            format!("{calls} calls · {fuel} fuel · {us:.0} µs")
        }
    };
    let request = cb.request.map(labels::request_no).unwrap_or_default();
    view! {
        <li class=class data-testid="callback" data-name=name.clone() data-index=index
            on:click=move |_| state.selected.set(Some(index))>
            <button class="bp" class:on=has_bp title="Toggle a breakpoint on this callback"
                aria-label=format!("Breakpoint on {name}") on:click=toggle_bp>"●"</button>
            <span class="cb-no" title="Callback number">{labels::callback_no(index)}</span>
            <span class="req" title="Which replayed request">{request}</span>
            <span class="cb-name">{cb.name.clone()}</span>
            <span class="cb-args">"(" {args.join(", ")} ")"</span>
            <span class="cb-result" class:failed=failed>{result}</span>
            <span class="cb-meta">{meta}</span>
        </li>
    }
}

/// The selected callback: its host calls with decoded arguments, and what it changed.
#[component]
pub fn CallbackDetail() -> impl IntoView {
    let state = use_state();
    let selected = move || {
        let i = state.selected.get()?;
        state
            .run
            .with(|r| r.report.as_ref().and_then(|r| r.callbacks.get(i).cloned()))
    };
    view! {
        <div class="callback-detail">
            {move || match selected() {
                None => view! { <p class="empty" data-testid="hostcalls">"Select a callback to see its host calls."</p> }.into_any(),
                Some(cb) => {
                    let calls = cb.hostcalls.clone();
                    let changes = cb.changes.clone();
                    view! {
                        <h3>{format!("{} {}", labels::callback_no(cb.index), cb.name)}</h3>
                        <table class="hostcalls" data-testid="hostcalls">
                            <thead><tr><th>"host call"</th><th>"arguments and results"</th><th>"status"</th></tr></thead>
                            <tbody>
                                {calls.into_iter().map(|h| { let label = h.name.clone(); view! {
                                    <tr class:stub=h.stub data-testid="hostcall" data-name=label>
                                        <td class="mono">{h.name}</td>
                                        <td class="mono">{h.detail}</td>
                                        <td class="mono">{h.status.map(|s| s.name()).unwrap_or_default()}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                        <Show when={let n = changes.len(); move || n > 0}>
                            <h4>"Changes"</h4>
                        </Show>
                        <ul class="changes" data-testid="changes">
                            {changes.into_iter().map(|c| view! {
                                <li class=format!("change {}", c.op)>
                                    <span class="mono">{format!("{} {} {}", c.target, c.op, c.name)}</span>
                                    <del class="mono">{c.old.unwrap_or_default()}</del>
                                    <ins class="mono">{c.new.unwrap_or_default()}</ins>
                                </li>
                            }).collect_view()}
                        </ul>
                        {cb.error.map(|e| view! { <p class="error">{e.to_string()}</p> })}
                    }.into_any()
                }
            }}
        </div>
    }
}
