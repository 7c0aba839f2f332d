//! The timeline of callbacks, with the action each returned, and the selected callback's
//! host calls and changes.

use std::ops::Range;

use leptos::prelude::*;
use pwp_model::abi::Action;
use pwp_model::run::Pause;
use pwp_model::trace::{CallbackRecord, FailureKind, TimelineEvent, TimelineMark};

use super::of_run;
use super::window::{self, RowRef, Rows};
use crate::labels;
use crate::state::{AppState, RunStatus, RunView, use_state};

fn paused_index(p: &Option<Pause>) -> Option<usize> {
    match p {
        Some(Pause::BeforeCallback { index }) => Some(*index),
        Some(Pause::HostCall { callback, .. } | Pause::Failed { callback }) => Some(*callback),
        _ => None,
    }
}

/// A row of the timeline: a callback, or what happened between callbacks (the clock moved,
/// a request started or waits, a delayed answer arrived).
#[derive(Clone)]
enum Row {
    /// A callback, and how many host calls it made.
    Callback(Box<CallbackRecord>, usize),
    Mark(usize, TimelineMark),
}

/// The rows in `range` of the run `view` shows (see [`mod@window`]): only these are cloned
/// and rendered.
fn rows(view: &RunView, range: Range<usize>) -> Vec<Row> {
    let Some(report) = view.report.as_ref() else {
        return Vec::new();
    };
    let (callbacks, marks) = (&report.callbacks, &report.timeline);
    let all = Rows {
        callbacks: callbacks.len(),
        marks,
    };
    range
        .map(|i| match all.at(i) {
            RowRef::Callback(c) => {
                Row::Callback(Box::new(callbacks[c].clone()), view.hostcall_count(c))
            }
            RowRef::Mark(k) => Row::Mark(k, marks[k].clone()),
        })
        .collect()
}

/// `f` of the current run's rows, `None` before a run.
fn with_rows<T>(state: AppState, f: impl FnOnce(Rows<'_>) -> T) -> Option<T> {
    state.run.with(|r| {
        r.report.as_ref().map(|r| {
            f(Rows {
                callbacks: r.callbacks.len(),
                marks: &r.timeline,
            })
        })
    })
}

/// One row per callback, with clock advances, ticks that found no period and requests that
/// wait between them; click a callback to select it, click its dot to toggle a breakpoint.
///
/// A long run (a replay) is windowed: the list scrolls in a box of its own and renders only
/// the rows in view ([`mod@window`]); it follows new rows while scrolled to the end, and scrolls
/// to the callback a step paused in.
#[component]
pub fn Timeline() -> impl IntoView {
    let state = use_state();
    let list = NodeRef::<leptos::html::Ol>::new();
    // (scroll top, visible height) of the list's box, from its scroll events.
    let scroll = RwSignal::new((0.0, 480.0));
    // Scrolled to the end: new rows keep it there.
    let follow = StoredValue::new(true);
    let total = Memo::new(move |_| with_rows(state, |rows| rows.len()).unwrap_or(0));
    let windowed = move || total.get() > window::ALL_BELOW;
    let range = Memo::new(move |_| {
        let (top, height) = scroll.get();
        with_rows(state, |rows| rows.window(top, height)).unwrap_or(0..0)
    });
    let spacers = Memo::new(move |_| {
        let range = range.get();
        with_rows(state, |rows| rows.spacers(&range)).unwrap_or((0.0, 0.0))
    });
    // The scroll top the list was last moved to by this component: its scroll event is not
    // the user's, and says nothing about following.
    let ours = StoredValue::new(None::<i32>);
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let (top, height) = (el.scroll_top(), f64::from(el.client_height()));
            if ours.get_value() != Some(top) {
                follow.set_value(
                    f64::from(top) + height >= f64::from(el.scroll_height()) - window::CALLBACK_PX,
                );
            }
            ours.set_value(None);
            scroll.set((f64::from(top), height));
        }
    };
    // Moves the list without reading its layout (that would force one in the frame).
    let scroll_list = move |top: f64| {
        if let Some(el) = list.get_untracked() {
            let top = top.round() as i32;
            ours.set_value(Some(top));
            el.set_scroll_top(top);
            scroll.update(|s| s.0 = f64::from(top));
        }
    };
    // New rows while following: to the end, once they are in the DOM.
    Effect::new(move |before: Option<usize>| {
        let n = total.get();
        if before.is_some_and(|b| n < b) {
            follow.set_value(true); // a new run
        }
        if n > window::ALL_BELOW && follow.get_value() {
            request_animation_frame(move || {
                let end = untrack(|| with_rows(state, |rows| rows.offset(n)).unwrap_or(0.0));
                let height = scroll.get_untracked().1;
                scroll_list((end - height).max(0.0));
            });
        }
        n
    });
    // A step paused in a callback, or a callback selected elsewhere: bring it into view.
    let target = Memo::new(move |_| {
        state
            .run
            .with(|r| paused_index(&r.paused))
            .or_else(|| state.selected.get())
    });
    Effect::new(move |_| {
        let Some(index) = target.get() else { return };
        let (top, height) = scroll.get_untracked();
        let to = untrack(|| {
            with_rows(state, |rows| {
                rows.scroll_to(rows.callback_row(index), top, height)
            })
        })
        .flatten();
        if let Some(to) = to {
            follow.set_value(false);
            request_animation_frame(move || scroll_list(to));
        }
    });
    let visible = move || {
        let range = range.get();
        state.run.with(|r| rows(r, range))
    };
    // What every row reads of the run, each recomputed once per change and not per row.
    let now = RowsNow {
        paused: of_run(state, |r| paused_index(&r.paused)),
        tail: of_run(state, |r| {
            (
                r.report.as_ref().map_or(0, |rep| rep.callbacks.len()),
                r.status.clone(),
                r.browser_engine,
            )
        }),
    };
    view! {
        <ol class="timeline" class:windowed=windowed node_ref=list on:scroll=on_scroll
            data-testid="timeline" data-rows=move || total.get() aria-label="Callbacks">
            // Spacers for the rows not rendered (only in a windowed list).
            {move || windowed().then(|| view! {
                <li class="spacer" aria-hidden="true" style:height=move || format!("{}px", spacers.get().0)></li>
            })}
            // The key covers everything a row shows: a row stepped over gets its return
            // value, fuel and duration only when the callback ends, and must re-render then.
            <For each=visible key=row_key let:row>
                {match row {
                    Row::Callback(cb, calls) => view! { <TimelineRow cb=*cb calls=calls now=now /> }.into_any(),
                    Row::Mark(_, m) => view! { <MarkRow mark=m /> }.into_any(),
                }}
            </For>
            {move || windowed().then(|| view! {
                <li class="spacer" aria-hidden="true" style:height=move || format!("{}px", spacers.get().1)></li>
            })}
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

/// What a callback row shows, as the key of its `<For>` entry.
type CallbackKey = (
    usize,
    Option<u32>,
    usize,
    Option<Action>,
    Option<i64>,
    u64,
    u64,
    Option<FailureKind>,
);

/// What a row shows, as the key of its `<For>` entry.
#[derive(PartialEq, Eq, Hash)]
enum RowKey {
    Callback(CallbackKey),
    /// A mark: its position in the timeline and what it says (a clock advance grows while
    /// ticks of one advance are merged).
    Mark(usize, String),
}

fn row_key(row: &Row) -> RowKey {
    match row {
        Row::Mark(i, m) => RowKey::Mark(*i, m.event.describe()),
        Row::Callback(cb, calls) => RowKey::Callback((
            cb.index,
            cb.request,
            *calls,
            cb.action,
            cb.ret,
            cb.fuel,
            cb.duration_us.to_bits(),
            cb.error.as_ref().map(|e| e.kind),
        )),
    }
}

/// What happened between callbacks, with the virtual time it happened at.
#[component]
fn MarkRow(mark: TimelineMark) -> impl IntoView {
    let kind = match &mark.event {
        TimelineEvent::Clock { .. } => "clock",
        TimelineEvent::NoTick => "no-tick",
        TimelineEvent::Request { .. } => "request",
        TimelineEvent::Waiting { .. } => "waiting",
        TimelineEvent::Resumed { .. } => "resumed",
        TimelineEvent::Answer { .. } => "answer",
        TimelineEvent::Switch { .. } => "switch",
    };
    let icon = match &mark.event {
        TimelineEvent::Waiting { .. } => "‖",
        TimelineEvent::Switch { .. } => "⇄",
        _ => "→",
    };
    let at = format!("at {}", pwp_model::trace::duration(mark.at_ns));
    view! {
        <li class=format!("mark {kind}") data-testid="timeline-mark" data-kind=kind>
            <span class="mark-icon" aria-hidden="true">{icon}</span>
            <span class="mark-text">{mark.event.describe()}</span>
            <span class="mark-at" title="Virtual time since the plugin started">{at}</span>
        </li>
    }
}

/// What the rows show of the run besides their own callback.
#[derive(Clone, Copy)]
struct RowsNow {
    /// The callback a step paused in or before.
    paused: Memo<Option<usize>>,
    /// How many callbacks ran, the run's status, and whether the browser's engine ran them.
    tail: Memo<(usize, RunStatus, bool)>,
}

/// A callback's row; `calls`: how many host calls it made (a summarised run's records hold
/// none).
#[component]
fn TimelineRow(cb: CallbackRecord, calls: usize, now: RowsNow) -> impl IntoView {
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
        if now.paused.get() == Some(index) {
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
    // or duration to show. (On the browser's engine every callback has 0 fuel: there, only
    // the last row of a running, cancelled or paused run can be unfinished.)
    let unfinished = cb.ret.is_none() && cb.error.is_none() && cb.fuel == 0;
    let meta = {
        let (fuel, us) = (cb.fuel, cb.duration_us);
        move || {
            let (ran, status, browser) = now.tail.get();
            if unfinished && ran == index + 1 {
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
            // The browser's engine meters no fuel.
            if browser {
                format!("{calls} calls · {us:.0} µs")
            } else {
                format!("{calls} calls · {fuel} fuel · {us:.0} µs")
            }
        }
    };
    let request = cb.request.map(labels::request_no).unwrap_or_default();
    // In a chain, which plugin the callback belongs to.
    let filter = cb.filter.map(|f| {
        let name = state.run.with_untracked(|r| {
            r.report
                .as_ref()
                .and_then(|rep| rep.filters.get(f as usize).map(|x| x.name.clone()))
                .unwrap_or_else(|| format!("filter {}", f + 1))
        });
        view! {
            <span class=format!("cb-filter f{}", f % 6) data-testid="cb-filter"
                title=format!("Filter {} of the chain", f + 1)>{name}</span>
        }
    });
    // With concurrent streams, which worker's VM ran the callback.
    let worker = cb.worker.map(|w| {
        view! {
            <span class=format!("cb-worker w{}", w % 6) data-testid="cb-worker" data-worker=w
                title=format!("Worker {w}: its own VM, root context and context ids")>{format!("W{w}")}</span>
        }
    });
    view! {
        <li class=class data-testid="callback" data-name=name.clone() data-index=index
            on:click=move |_| state.selected.set(Some(index))>
            <button class="bp" class:on=has_bp title="Toggle a breakpoint on this callback"
                aria-label=format!("Breakpoint on {name}") on:click=toggle_bp>"●"</button>
            <span class="cb-no" title="Callback number">{labels::callback_no(index)}</span>
            <span class="req" title="Which replayed request">{request}</span>
            {filter}
            {worker}
            <span class="cb-name">{cb.name.clone()}</span>
            <span class="cb-args">"(" {args.join(", ")} ")"</span>
            <span class="cb-result" class:failed=failed>{result}</span>
            <span class="cb-meta">{meta}</span>
        </li>
    }
}

/// The selected callback as the detail pane has it.
#[derive(Clone, PartialEq)]
enum Selected {
    /// Nothing selected (or no such callback).
    None,
    /// A callback of a summarised run whose detail the worker has not sent (yet).
    Waiting(usize),
    /// A callback of a summarised run whose session is gone (the engine restarted, the inputs
    /// changed): its host calls cannot be asked for.
    Gone(usize),
    /// The callback, host calls included.
    Shown(Box<CallbackRecord>),
}

/// The selected callback: from the report, or for a summarised run from what the worker sent
/// ([`AppState::detail`]).
fn selected(state: AppState) -> Selected {
    let Some(i) = state.selected.get() else {
        return Selected::None;
    };
    let (summarised, exists) = state.run.with(|r| {
        (
            r.summary.is_some(),
            r.report.as_ref().is_some_and(|rep| i < rep.callbacks.len()),
        )
    });
    if !exists {
        return Selected::None;
    }
    if !summarised {
        return state
            .run
            .with(|r| r.report.as_ref().and_then(|r| r.callbacks.get(i).cloned()))
            .map_or(Selected::None, |cb| Selected::Shown(Box::new(cb)));
    }
    match state.detail.with(|d| match d {
        Some((k, detail)) if *k == i => Some(detail.as_ref().map(|d| d.record.clone())),
        _ => None,
    }) {
        Some(Some(record)) => Selected::Shown(Box::new(record)),
        Some(None) => Selected::None,
        None if state.live.get_value().is_some() && !state.run.with(|r| r.stale) => {
            Selected::Waiting(i)
        }
        None => Selected::Gone(i),
    }
}

/// The selected callback: its host calls with decoded arguments, and what it changed.
#[component]
pub fn CallbackDetail() -> impl IntoView {
    let state = use_state();
    // A summarised run's callback: ask the worker for it (again after it changed, or when
    // another session runs; `ask_detail` asks each session once).
    Effect::new(move |_| {
        if let Selected::Waiting(i) = selected(state) {
            crate::runner::ask_detail(state, i);
        }
    });
    let shown = Memo::new(move |_| selected(state));
    view! {
        <div class="callback-detail">
            {move || match shown.get() {
                Selected::None => view! { <p class="empty" data-testid="hostcalls">"Select a callback to see its host calls."</p> }.into_any(),
                Selected::Waiting(i) => view! { <p class="empty" data-testid="hostcalls-waiting">{format!("Asking the engine for the host calls of {}…", labels::callback_no(i))}</p> }.into_any(),
                Selected::Gone(i) => view! { <p class="empty" data-testid="hostcalls-gone">{format!("The host calls of {} went with the engine's session (a replay keeps them there): run again to see them.", labels::callback_no(i))}</p> }.into_any(),
                Selected::Shown(cb) => {
                    let cb = *cb;
                    let calls = cb.hostcalls.clone();
                    let changes = cb.changes.clone();
                    view! {
                        <h3>{format!("{} {}", labels::callback_no(cb.index), cb.name)}
                            <button class="step-from" data-testid="step-from"
                                title="Run the scenario again on the interpreter and pause before this callback, to step into it (the same inputs give the same run)"
                                disabled=move || state.run.with(|r| r.status == RunStatus::Running)
                                on:click=move |_| crate::runner::step_from(state, cb.index, pwp_model::run::StepUntil::Breakpoint)>
                                "Step from here"
                            </button>
                        </h3>
                        <table class="hostcalls" data-testid="hostcalls">
                            <thead><tr><th>"host call"</th><th>"arguments and results"</th><th>"status"</th></tr></thead>
                            <tbody>
                                {calls.into_iter().map(|h| { let label = h.name.clone(); let status = h.status.map(|s| s.name()).unwrap_or_default(); view! {
                                    <tr class:stub=h.stub data-testid="hostcall" data-name=label data-status=status>
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
