//! Drives the engine worker's session from UI actions: Run, Step over, Step into, Continue,
//! Restart, Cancel; and takes in what the worker reports.
//!
//! Plugin code runs in the engine worker (`crate::engine`), never on the page: the page posts
//! a step and goes on; the worker runs fuel slices and reports progress, then where it
//! stopped, as `pwp-proto` messages. The page numbers its runs ([`AppState::runs`]); the one
//! the worker holds a session for is [`AppState::live`], and messages about any other run
//! are old news and ignored. Cancel asks the worker to stop at its next slice; if it does not
//! answer in time, the worker is replaced (the inputs and the results so far stay).

use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_host::{Pause, Scenario, StepUntil};
use pwp_proto::{FromWorker, RunId, Snapshot, Stop, ToWorker};

use crate::state::{AppState, RunStatus, RunView};

/// Why a session could not start: the message, and the proxy's refusal when it is one that
/// "Run anyway" can override.
type NoSession = (String, Option<pwp_host::Refusal>);

/// The run the worker holds a session for, starting one for the current plugin and scenario
/// if there is none.
fn ensure_session(state: AppState) -> Result<RunId, NoSession> {
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
    crate::engine::ensure_loaded(&plugins.iter().collect::<Vec<_>>());
    state.runs.update_value(|r| *r += 1);
    let run = state.runs.get_value();
    crate::engine::send(
        &ToWorker::Start {
            run,
            plugins: plugins.iter().map(|p| p.info().sha256.clone()).collect(),
            scenario: Box::new(scenario),
        },
        &[],
    );
    state.live.set_value(Some(run));
    Ok(run)
}

/// Runs until `until` (or a breakpoint, the end, or a cancel): the worker does it and reports.
pub fn drive(state: AppState, until: StepUntil) {
    if state.run.get_untracked().status == RunStatus::Running {
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
    let run = match ensure_session(state) {
        Ok(run) => run,
        Err((message, refusal)) => {
            state.run.set(RunView {
                status: RunStatus::Refused(message),
                refusal,
                ..RunView::default()
            });
            return;
        }
    };
    let breakpoints = state.breakpoints.get_untracked();
    crate::engine::send(
        &ToWorker::Step {
            run,
            until,
            breakpoints,
        },
        &[],
    );
    state.run.update(|r| {
        r.status = RunStatus::Running;
        r.slices = 0;
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
            show(state, RunStatus::Running, *snapshot);
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
        }
        FromWorker::MocksUpdated { run, answered } if Some(run) == live => {
            let waiting = state.run.with_untracked(|r| {
                r.status == RunStatus::Paused && matches!(r.paused, Some(Pause::Callout { .. }))
            });
            if answered && waiting {
                drive(state, StepUntil::Breakpoint);
            }
        }
        FromWorker::Error { message } => engine_failed(state, &message),
        // About a run the page has forgotten.
        _ => {}
    }
}

/// Applies a snapshot to what the panes show.
fn show(state: AppState, status: RunStatus, snapshot: Snapshot) {
    // The report before is taken, not copied: `set` below replaces the view anyway.
    let mut before = None;
    state.run.update_untracked(|r| before = r.report.take());
    let report = match pwp_proto::apply(before, snapshot.report) {
        Ok(r) => r,
        Err(e) => {
            engine_failed(state, &e);
            return;
        }
    };
    state.run.set(RunView {
        status,
        paused: snapshot.paused,
        report: Some(report),
        stream: snapshot.stream,
        connection: snapshot.connection,
        slices: snapshot.slices,
        stale: false,
        refusal: None,
    });
}

/// Selects the callback the run paused in.
fn select_paused(state: AppState) {
    match state.run.get_untracked().paused {
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
pub fn answer_callout(state: AppState, token: u32, answer: pwp_host::CalloutAnswer) {
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
