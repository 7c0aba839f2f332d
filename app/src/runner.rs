//! Drives the engine worker's session from UI actions: Run, Step over, Step into, Continue,
//! Restart, Cancel; and takes in what the worker reports.
//!
//! Plugin code runs in the engine worker (`crate::engine`), never on the page: the page posts
//! a step and goes on; the worker runs fuel slices and reports progress, then where it
//! stopped, as `pwp-proto` messages. The page numbers its runs ([`AppState::runs`]); the one
//! the worker holds a session for is [`AppState::live`], and messages about any other run
//! are old news and ignored. Cancel asks the worker to stop at its next slice; if it does not
//! answer in time, the worker is replaced (the inputs and the results so far stay).

use std::cell::Cell;

use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::Scenario;
use pwp_model::run::{Breakpoints, CalloutAnswer, Pause, Refusal, StepUntil};
use pwp_proto::{EngineChoice, FromWorker, RunId, Snapshot, Stop, ToWorker};

use crate::state::{AppState, RunStatus, RunSummary, RunView};

/// Why a session could not start: the message, and the proxy's refusal when it is one that
/// "Run anyway" can override.
type NoSession = (String, Option<Refusal>);

thread_local! {
    /// When the page last heard from the worker about the live run (`performance.now()`, ms):
    /// the browser's engine cannot be interrupted, so a run that goes silent for longer than
    /// its callback deadline is stuck in a callback.
    static HEARD_MS: Cell<f64> = const { Cell::new(0.0) };
    /// A replay on the interpreter (to the callback it stops before) and the step to take
    /// once it is there.
    static THEN: Cell<Option<(RunId, usize, StepUntil)>> = const { Cell::new(None) };
}

/// Whether the worker is to summarise the run's snapshots: a run of many requests, whose
/// whole report would be MBs of JSON a progress message (see `pwp_proto::Summary`).
fn summaries(state: AppState) -> bool {
    state
        .scenario
        .with_untracked(|s| crate::gates::summarise(s.requests))
}

/// Asks the worker what callback `index` of the live, summarised run did (once: the answer
/// sets [`AppState::detail`]).
pub fn ask_detail(state: AppState, index: usize) {
    let Some(run) = state.live.get_value() else {
        return;
    };
    if state.asked.get_value() == Some((run, index)) {
        return;
    }
    state.asked.set_value(Some((run, index)));
    crate::engine::send(
        &ToWorker::Detail {
            run,
            callback: index,
        },
        &[],
    );
}

/// The run the worker holds a session for, starting one on `engine` for the current plugin
/// and scenario if there is none.
fn ensure_session(state: AppState, engine: EngineChoice) -> Result<RunId, NoSession> {
    if let Some(run) = state.live.get_value() {
        return Ok(run);
    }
    let plugin = state
        .plugin
        .get_untracked()
        .ok_or(("load a plugin first".to_string(), None))?;
    if let Some(refusal) = state
        .invalid
        .with_untracked(|list| crate::gates::refusal(list))
    {
        return Err((refusal, None));
    }
    let scenario = state.scenario.get_untracked();
    // The chain's further filters: each plugin must be loaded.
    let mut plugins = vec![plugin];
    for (k, filter) in scenario.chain.iter().enumerate() {
        let key = crate::state::chain_key(&filter.plugin);
        let slot = state.chain_plugins.with_untracked(|m| m.get(&key).cloned());
        let problem = match slot {
            Some(crate::state::ChainPlugin::Loaded(p)) => {
                plugins.push(p);
                continue;
            }
            Some(crate::state::ChainPlugin::Loading) => {
                format!("filter {} of the chain is still loading", k + 2)
            }
            Some(crate::state::ChainPlugin::Failed(why)) => {
                format!("filter {} of the chain: {why}", k + 2)
            }
            None => format!(
                "filter {} of the chain has no plugin: choose or upload one",
                k + 2
            ),
        };
        return Err((problem, None));
    }
    let pages = (engine == EngineChoice::Browser).then_some(scenario.settings.limits.memory_pages);
    crate::engine::ensure_loaded(&plugins.iter().collect::<Vec<_>>(), pages);
    state.runs.update_value(|r| *r += 1);
    let run = state.runs.get_value();
    crate::engine::send(
        &ToWorker::Start {
            run,
            plugins: plugins.iter().map(|p| p.info().sha256.clone()).collect(),
            scenario: Box::new(scenario),
            engine,
        },
        &[],
    );
    state.live.set_value(Some(run));
    Ok(run)
}

/// Runs until `until` (or a breakpoint, the end, or a cancel): the worker does it and reports.
pub fn drive(state: AppState, until: StepUntil) {
    if state.run.with_untracked(|r| r.status == RunStatus::Running) {
        return;
    }
    // The chain's plugins load when the scenario names them; a Run that comes first waits.
    let loading = state.live.get_value().is_none()
        && state.chain_plugins.with_untracked(|m| {
            m.values()
                .any(|p| matches!(p, crate::state::ChainPlugin::Loading))
        });
    if loading {
        state.run.update(|r| r.status = RunStatus::Running);
        spawn_local(async move {
            while state.chain_plugins.with_untracked(|m| {
                m.values()
                    .any(|p| matches!(p, crate::state::ChainPlugin::Loading))
            }) {
                crate::browser::yield_now().await;
            }
            state.run.update(|r| r.status = RunStatus::Idle);
            drive(state, until);
        });
        return;
    }
    let breakpoints = state.breakpoints.get_untracked();
    let setting = state.scenario.with_untracked(|s| s.settings.engine);
    let engine = crate::gates::engine_for(setting, until, &breakpoints);
    // A session on the browser's engine cannot stop inside a callback: to step into one,
    // replay the run on the interpreter to where it is paused, then step.
    if engine == EngineChoice::Interpreter
        && state.live.get_value().is_some()
        && state
            .run
            .with_untracked(|r| r.browser_engine && r.status == RunStatus::Paused)
    {
        let at = state.run.with_untracked(|r| match r.paused {
            Some(Pause::BeforeCallback { index }) => index,
            _ => r.report.as_ref().map_or(0, |rep| rep.callbacks.len()),
        });
        step_from(state, at, until);
        return;
    }
    let Some(run) = session_or_refusal(state, engine) else {
        return;
    };
    crate::engine::send(
        &ToWorker::Step {
            run,
            until,
            breakpoints,
            summaries: summaries(state),
        },
        &[],
    );
    state.run.update(|r| {
        r.status = RunStatus::Running;
        r.slices = 0;
    });
    let concurrent = state.scenario.with_untracked(|s| s.concurrency.is_some());
    if engine == EngineChoice::Browser && !concurrent {
        watch(state, run);
    }
}

/// The live run, starting a session on `engine` if there is none; when one cannot start, the
/// run view says why (and offers "Run anyway" for the proxy's load-time refusal).
fn session_or_refusal(state: AppState, engine: EngineChoice) -> Option<RunId> {
    match ensure_session(state, engine) {
        Ok(run) => Some(run),
        Err((message, refusal)) => {
            state.run.set(RunView {
                status: RunStatus::Refused(message),
                refusal,
                ..RunView::default()
            });
            None
        }
    }
}

/// "Step from here": runs the scenario again on the interpreter to callback `at` (time,
/// randomness and callout answers are inputs, so it is the same run), then steps `until`
/// from there. What ran before stays on screen until the replay brings its own.
pub fn step_from(state: AppState, at: usize, until: StepUntil) {
    state.forget_session();
    let Some(run) = session_or_refusal(state, EngineChoice::Interpreter) else {
        return;
    };
    THEN.set(Some((run, at, until)));
    let breakpoints = Breakpoints {
        at_callback: Some(at),
        ..Breakpoints::default()
    };
    crate::engine::send(
        &ToWorker::Step {
            run,
            until: StepUntil::Breakpoint,
            breakpoints,
            summaries: summaries(state),
        },
        &[],
    );
    state.run.update(|r| {
        r.status = RunStatus::Running;
        r.slices = 0;
        r.note = Some(format!(
            "Replaying on the interpreter to {}, to step from there",
            crate::labels::callback_no(at)
        ));
    });
}

/// Run `run` stopped: if it is the replay of [`step_from`] and it is at its callback, take
/// the step it was for.
fn replayed(state: AppState, run: RunId) {
    let Some((replay, at, until)) = THEN.take() else {
        return;
    };
    if replay != run {
        return;
    }
    let there = state
        .run
        .with_untracked(|r| r.paused == Some(Pause::BeforeCallback { index: at }));
    state.run.update(|r| r.note = None);
    if there && until != StepUntil::Breakpoint {
        drive(state, until);
    }
}

/// The deadline of a callback on the browser's engine, in ms: the scenario's
/// `limits.callback_deadline_ms`, or `window.__pwpDeadlineMs` (the e2e tests shorten it).
fn deadline_ms(state: AppState) -> f64 {
    web_sys::window()
        .and_then(|w| {
            js_sys::Reflect::get(&w, &wasm_bindgen::JsValue::from_str("__pwpDeadlineMs")).ok()
        })
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| {
            f64::from(
                state
                    .scenario
                    .with_untracked(|s| s.settings.limits.callback_deadline_ms),
            )
        })
}

/// Watches run `run` (on the browser's engine) while it runs: the worker reports at least
/// every quarter second between callbacks, so silence past the callback deadline means a
/// callback that does not end. The worker is then replaced and the run repeated on the
/// interpreter, whose fuel limit stops the loop and names the callback.
fn watch(state: AppState, run: RunId) {
    HEARD_MS.set(crate::browser::now_ms());
    let generation = crate::engine::generation();
    spawn_local(async move {
        loop {
            crate::browser::sleep_ms(100).await;
            let running = state.live.get_value() == Some(run)
                && crate::engine::generation() == generation
                && state.run.with_untracked(|r| r.status == RunStatus::Running);
            if !running {
                return;
            }
            let deadline = deadline_ms(state);
            if crate::browser::now_ms() - HEARD_MS.get() > deadline {
                overran(state, deadline);
                return;
            }
        }
    });
}

/// A callback on the browser's engine ran past its deadline.
fn overran(state: AppState, deadline: f64) {
    crate::engine::restart();
    state.live.set_value(None);
    state.cancelling.set_value(None);
    let note = format!(
        "On the browser's engine a callback ran past its deadline of {deadline:.0} ms (settings.limits.callback_deadline_ms): the engine was stopped and replaced, and the run repeated on the interpreter, whose fuel limit finds where it loops"
    );
    let run = match ensure_session(state, EngineChoice::Interpreter) {
        Ok(run) => run,
        Err((message, _)) => {
            engine_failed(state, &message);
            return;
        }
    };
    crate::engine::send(
        &ToWorker::Step {
            run,
            until: StepUntil::Breakpoint,
            breakpoints: state.breakpoints.get_untracked(),
            summaries: summaries(state),
        },
        &[],
    );
    state.run.update(|r| {
        r.status = RunStatus::Running;
        r.slices = 0;
        r.note = Some(note.clone());
    });
}

/// What the worker reports (everything but `Ready`, which `engine` handles).
pub fn on_message(state: AppState, message: FromWorker) {
    let live = state.live.get_value();
    match message {
        FromWorker::Ready | FromWorker::Loaded { .. } => {}
        FromWorker::Warm => crate::browser::set_root_attribute("data-engine", "warm"),
        FromWorker::Refused {
            run,
            message,
            refusal,
        } if Some(run) == live => {
            state.live.set_value(None);
            state.run.set(RunView {
                status: RunStatus::Refused(message),
                refusal: refusal.map(Into::into),
                ..RunView::default()
            });
        }
        FromWorker::Progress { run, snapshot } if Some(run) == live => {
            HEARD_MS.set(crate::browser::now_ms());
            // Taken in at once (the deltas must apply in order), shown at a frame at most four
            // times a second, however fast progress arrives.
            if take_in(state, RunStatus::Running, *snapshot) {
                render_progress(state);
            }
        }
        FromWorker::Stopped { run, how, snapshot } if Some(run) == live => {
            if state.cancelling.get_value() == Some(run) {
                state.cancelling.set_value(None);
            }
            let status = match how {
                Stop::Paused => RunStatus::Paused,
                Stop::Finished => RunStatus::Finished,
                Stop::Cancelled => RunStatus::Cancelled,
            };
            show(state, status, *snapshot);
            if how == Stop::Paused {
                select_paused(state);
            }
            replayed(state, run);
        }
        FromWorker::MocksUpdated { run, answered } if Some(run) == live => {
            let waiting = state.run.with_untracked(|r| {
                r.status == RunStatus::Paused && matches!(r.paused, Some(Pause::Callout { .. }))
            });
            if answered && waiting {
                drive(state, StepUntil::Breakpoint);
            }
        }
        FromWorker::Detail {
            run,
            callback,
            detail,
        } if Some(run) == live => {
            if state.asked.get_value() == Some((run, callback)) {
                state.asked.set_value(None);
            }
            state.detail.set(Some((callback, detail.map(|d| *d))));
        }
        FromWorker::Error { message } => engine_failed(state, &message),
        // About a run the page has forgotten.
        _ => {}
    }
}

/// Applies a snapshot to what the panes show, and shows it now.
fn show(state: AppState, status: RunStatus, snapshot: Snapshot) {
    if take_in(state, status, snapshot) {
        state.run.notify();
    }
}

/// Applies a snapshot to the run view without telling the panes (see [`render_progress`]);
/// false when the engine failed on it.
fn take_in(state: AppState, status: RunStatus, snapshot: Snapshot) -> bool {
    let mut failed = None;
    let changed_from = snapshot.report.from[0];
    state.run.update_untracked(|r| {
        // The report before is taken, not copied: the view is replaced anyway.
        let before = r.report.take();
        let applied = match (snapshot.summary, r.summary.take()) {
            (None, _) => pwp_proto::apply(before, snapshot.report).map(|report| (report, None)),
            (Some(s), was) => {
                let counts = was.map(|w| w.hostcalls).unwrap_or_default();
                let logs = s.logs;
                pwp_proto::apply_summary(before, counts, snapshot.report, s)
                    .map(|(report, hostcalls)| (report, Some(RunSummary { hostcalls, logs })))
            }
        };
        match applied {
            Ok((report, summary)) => {
                let note = r.note.take();
                *r = RunView {
                    status,
                    paused: snapshot.paused,
                    report: Some(report),
                    stream: snapshot.stream,
                    connection: snapshot.connection,
                    slices: snapshot.slices,
                    stale: false,
                    refusal: None,
                    browser_engine: snapshot.browser_engine,
                    note,
                    summary,
                };
            }
            Err(e) => failed = Some(e),
        }
    });
    match failed {
        Some(e) => {
            engine_failed(state, &e);
            false
        }
        None => {
            // A callback shown that changed since (it ran on) is asked for again.
            let stale = |i: usize| i >= changed_from;
            if state
                .detail
                .with_untracked(|d| d.as_ref().is_some_and(|(i, _)| stale(*i)))
            {
                state.detail.set(None);
            }
            if state.asked.get_value().is_some_and(|(_, i)| stale(i)) {
                state.asked.set_value(None);
            }
            true
        }
    }
}

thread_local! {
    /// A render of the run view is due.
    static RENDER_DUE: Cell<bool> = const { Cell::new(false) };
    /// When the run view was last rendered for progress (ms of `now_ms`).
    static RENDERED_MS: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
}

/// How often progress is rendered at most: a fast replay sends several snapshots a second,
/// and redrawing the panes for each would keep the page busy; the charts still move four
/// times a second.
const RENDER_EVERY_MS: f64 = 250.0;

/// Tells the panes about the run view at an animation frame, no sooner than
/// [`RENDER_EVERY_MS`] after the last such render (once, however many snapshots arrive
/// before it).
fn render_progress(state: AppState) {
    if RENDER_DUE.with(|due| due.replace(true)) {
        return;
    }
    let render = move || {
        request_animation_frame(move || {
            RENDER_DUE.with(|due| due.set(false));
            RENDERED_MS.set(crate::browser::now_ms());
            state.run.notify();
        });
    };
    let wait = RENDERED_MS.get() + RENDER_EVERY_MS - crate::browser::now_ms();
    if wait > 0.0 {
        set_timeout(render, std::time::Duration::from_millis(wait as u64));
    } else {
        render();
    }
}

/// Selects the callback the run paused in.
fn select_paused(state: AppState) {
    match state.run.with_untracked(|r| r.paused.clone()) {
        Some(
            Pause::BeforeCallback { index }
            | Pause::Failed { callback: index }
            | Pause::HostCall {
                callback: index, ..
            },
        ) => state.selected.set(Some(index)),
        Some(Pause::Injected) => {
            // What the added tick or clock advance ran.
            let last = state.run.with_untracked(|r| {
                r.report
                    .as_ref()
                    .and_then(|r| r.callbacks.len().checked_sub(1))
            });
            if last.is_some() {
                state.selected.set(last);
            }
        }
        _ => {}
    }
}

/// The engine failed or was replaced: the session is gone; what ran stays on screen, marked
/// stale, and the user's inputs are untouched. The notice says what happened.
pub fn engine_failed(state: AppState, why: &str) {
    state.live.set_value(None);
    state.cancelling.set_value(None);
    state.run.update(|r| {
        if r.report.is_some() {
            r.stale = true;
        }
        r.paused = None;
        if r.status == RunStatus::Running {
            r.status = RunStatus::Cancelled;
        }
    });
    state.notice.set(Some(format!(
        "{why}. Your inputs are kept; Run starts again."
    )));
}

/// Throws the run away and starts again from the first step.
pub fn restart(state: AppState) {
    state.reset_run();
}

/// "Run anyway": the user chooses to run a plugin the emulated proxy refuses to load. The
/// session's scenario becomes lenient (visible in the settings, the scenario JSON and a badge
/// in the run bar, and kept in share links) and runs from the start.
pub fn run_anyway(state: AppState) {
    crate::editors::edit(state, |s| s.settings.lenient = true);
    restart(state);
    drive(state, StepUntil::Breakpoint);
}

/// Stops the run at its next slice and keeps what ran so far; if the worker does not answer
/// within the deadline, it is replaced.
pub fn cancel(state: AppState) {
    if state.run.with_untracked(|r| r.status != RunStatus::Running) {
        return;
    }
    let Some(run) = state.live.get_value() else {
        // Still waiting for the chain's plugins: nothing runs yet.
        state.run.update(|r| r.status = RunStatus::Cancelled);
        return;
    };
    if state.cancelling.get_value() == Some(run) {
        return; // asked already
    }
    // The run stays "Running" until the worker's answer (within a fuel slice) brings what
    // ran, the callback it stopped in included; the deadline below covers a worker that
    // cannot answer.
    crate::engine::send(&ToWorker::Cancel { run }, &[]);
    state.cancelling.set_value(Some(run));
    let deadline = crate::engine::cancel_deadline_ms();
    let generation = crate::engine::generation();
    let check = move || {
        if state.cancelling.get_value() == Some(run) && crate::engine::generation() == generation {
            crate::engine::restart();
            engine_failed(
                state,
                &format!(
                    "The plugin did not stop within {deadline} ms of Cancel: the engine was stopped and restarted"
                ),
            );
        }
    };
    if deadline <= 0 {
        check();
    } else {
        set_timeout(check, std::time::Duration::from_millis(deadline as u64));
    }
}

/// Adds an event (a tick, a clock advance) where the run is paused, and runs until it has
/// happened: the run pauses again right after it.
pub fn inject(state: AppState, event: pwp_model::scenario::Event) {
    if let Some(run) = state.live.get_value() {
        crate::engine::send(&ToWorker::Inject { run, event }, &[]);
    }
    state.run.update(|r| r.status = RunStatus::Paused);
    drive(state, StepUntil::Breakpoint);
}

/// Answers the callout the run is paused on, then continues.
pub fn answer_callout(state: AppState, token: u32, answer: CalloutAnswer) {
    if let Some(run) = state.live.get_value() {
        crate::engine::send(&ToWorker::AnswerCallout { run, token, answer }, &[]);
    }
    state.run.update(|r| r.status = RunStatus::Paused);
    drive(state, StepUntil::Breakpoint);
}

/// The scenario changed from `old` to `new` (an edit). What can apply to the paused run does:
/// mocks added while a callout waits answer it, and the run goes on. Anything else ends the
/// session but keeps the last results on screen, marked stale, until the next Run.
pub fn inputs_changed(state: AppState, old: &Scenario, new: &Scenario) {
    let (status, has_results) = state.run.with_untracked(|r| {
        (
            r.status.clone(),
            r.report.as_ref().is_some_and(|r| !r.callbacks.is_empty()),
        )
    });
    let only_mocks = {
        let mut o = old.clone();
        o.mocks = new.mocks.clone();
        o == *new
    };
    let live = state.live.get_value();
    if let Some(run) = live
        && only_mocks
        && status == RunStatus::Paused
    {
        crate::engine::send(
            &ToWorker::UpdateMocks {
                run,
                mocks: Box::new(new.mocks.clone()),
            },
            &[],
        );
        return;
    }
    if !has_results {
        state.reset_run();
        return;
    }
    // Stop what the worker still runs, and keep what it showed.
    state.forget_session();
    state.run.update(|r| {
        r.stale = true;
        r.paused = None;
        if r.status == RunStatus::Running {
            r.status = RunStatus::Cancelled;
        }
    });
}
