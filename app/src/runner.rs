//! Drives the host session from UI actions: Run, Step over, Step into, Continue, Restart.
//!
//! Plugin code runs on the main thread in fuel-bounded slices; between slices the runner
//! yields to the browser (a message to itself, see [`crate::browser::yield_now`]), so the page keeps answering input while a
//! 6 MB Go plugin starts or a plugin loops until its fuel limit.
//!
//! One mechanism stops a run: `AppState::drive` names the drive loop that may step the
//! session, and a loop that finds another name there stops before its next slice. Cancel
//! changes it and keeps what ran so far; Restart and new inputs change it and forget the run.

use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_host::{Pause, Refusal, Scenario, Session, SessionError, Step, StepUntil};

use crate::state::{AppState, RunStatus, RunView};

/// Fuel per slice: 15-50 ms of interpretation in Chromium (BENCHMARKS.md), short enough for
/// the page to answer input between slices.
const SLICE_FUEL: u64 = 3_000_000;

/// `performance.now()` in microseconds, for callback durations.
fn perf_now_us() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now() * 1000.0)
}

/// Why a session could not start: the message, and the proxy's refusal when it is one that
/// "Run anyway" can override.
type NoSession = (String, Option<Refusal>);

/// Creates the session for the current plugin and scenario, if there is none.
fn ensure_session(state: AppState) -> Result<(), NoSession> {
    if state.session.with_value(Option::is_some) {
        return Ok(());
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
    let mut chain = Vec::new();
    for (k, filter) in scenario.chain.iter().enumerate() {
        let key = crate::state::chain_key(&filter.plugin);
        let slot = state.chain_plugins.with_untracked(|m| m.get(&key).cloned());
        let problem = match slot {
            Some(crate::state::ChainPlugin::Loaded(p)) => {
                chain.push(p);
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
    let mut plugins: Vec<&pwp_host::Plugin> = vec![&plugin.plugin];
    plugins.extend(chain.iter().map(|p| &*p.plugin));
    let session = Session::with_chain(&plugins, scenario).map_err(|e| match e {
        SessionError::Refused(refusal) => (
            format!("{} would refuse to load this plugin", refusal.proxy),
            Some(refusal),
        ),
        other => (other.to_string(), None),
    })?;
    session.control().slice_fuel.set(SLICE_FUEL);
    session.control().interactive_callouts.set(true);
    session.control().now_us.set(perf_now_us);
    state.session.set_value(Some(session));
    Ok(())
}

/// Copies what the panes show out of the session.
fn refresh(state: AppState, status: RunStatus, slices: u32) {
    state.session.with_value(|s| {
        let Some(s) = s else { return };
        let view = RunView {
            status,
            paused: s.paused_at().cloned(),
            report: Some(s.report()),
            stream: s.world().stream().cloned(),
            connection: s.world().connection.clone(),
            slices,
            stale: false,
            refusal: None,
        };
        state.run.set(view);
    });
}

/// Runs until `until` (or a breakpoint, the end, or a cancel), yielding between slices.
pub fn drive(state: AppState, until: StepUntil) {
    if state.run.get_untracked().status == RunStatus::Running {
        return;
    }
    // The chain's plugins load when the scenario names them; a Run that comes first waits.
    let loading = state.session.with_value(Option::is_none)
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
    if let Err((message, refusal)) = ensure_session(state) {
        state.run.set(RunView {
            status: RunStatus::Refused(message),
            refusal,
            ..RunView::default()
        });
        return;
    }
    let breakpoints = state.breakpoints.get_untracked();
    state.session.update_value(|s| {
        if let Some(s) = s {
            s.breakpoints = breakpoints;
        }
    });
    state.run.update(|r| r.status = RunStatus::Running);
    state.drive.update_value(|d| *d += 1);
    let me = state.drive.get_value();
    spawn_local(async move {
        let mut slices = 0u32;
        loop {
            if state.drive.get_value() != me {
                // A newer Run or Restart took over this session.
                return;
            }
            let step = state
                .session
                .try_update_value(|s| s.as_mut().map(|s| s.step(until)))
                .flatten()
                .unwrap_or(Step::Finished);
            match step {
                Step::Yielded => {
                    slices += 1;
                    if slices.is_multiple_of(8) {
                        refresh(state, RunStatus::Running, slices);
                    }
                    crate::browser::yield_now().await;
                }
                Step::Paused(_) => {
                    refresh(state, RunStatus::Paused, slices);
                    if let Some(
                        Pause::BeforeCallback { index }
                        | Pause::Failed { callback: index }
                        | Pause::HostCall {
                            callback: index, ..
                        },
                    ) = state.run.get_untracked().paused
                    {
                        state.selected.set(Some(index));
                    } else if let Some(Pause::Injected) = state.run.get_untracked().paused {
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
                    return;
                }
                Step::Finished => {
                    refresh(state, RunStatus::Finished, slices);
                    return;
                }
            }
        }
    });
}

/// Throws the run away and starts again from the first step.
pub fn restart(state: AppState) {
    state.drive.update_value(|d| *d += 1);
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

/// Stops the run at its next slice and keeps what ran so far (paused there).
pub fn cancel(state: AppState) {
    if state.run.with_untracked(|r| r.status == RunStatus::Running) {
        state.drive.update_value(|d| *d += 1);
        let slices = state.run.with_untracked(|r| r.slices);
        refresh(state, RunStatus::Cancelled, slices);
    }
}

/// Adds an event (a tick, a clock advance) where the run is paused, and runs until it has
/// happened: the run pauses again right after it.
pub fn inject(state: AppState, event: pwp_model::scenario::Event) {
    state.session.with_value(|s| {
        if let Some(s) = s {
            s.inject(event);
        }
    });
    state.run.update(|r| r.status = RunStatus::Paused);
    drive(state, StepUntil::Breakpoint);
}

/// Answers the callout the run is paused on, then continues.
pub fn answer_callout(state: AppState, token: u32, answer: pwp_host::CalloutAnswer) {
    state.session.with_value(|s| {
        if let Some(s) = s {
            s.answer_callout(token, answer);
        }
    });
    state.run.update(|r| r.status = RunStatus::Paused);
    drive(state, StepUntil::Breakpoint);
}

/// The scenario changed from `old` to `new` (an edit). What can apply to the paused run does:
/// mocks added while a callout waits answer it, and the run goes on. Anything else ends the
/// session but keeps the last results on screen, marked stale, until the next Run.
pub fn inputs_changed(state: AppState, old: &Scenario, new: &Scenario) {
    let (status, paused, has_results) = state.run.with_untracked(|r| {
        (
            r.status.clone(),
            r.paused.clone(),
            r.report.as_ref().is_some_and(|r| !r.callbacks.is_empty()),
        )
    });
    let only_mocks = {
        let mut o = old.clone();
        o.mocks = new.mocks.clone();
        o == *new
    };
    let live = state.session.with_value(Option::is_some);
    if live && only_mocks && status == RunStatus::Paused {
        let answered = state
            .session
            .try_update_value(|s| s.as_mut().map(|s| s.update_mocks(new.mocks.clone())))
            .flatten()
            .unwrap_or(false);
        if answered && matches!(paused, Some(Pause::Callout { .. })) {
            drive(state, StepUntil::Breakpoint);
        }
        return;
    }
    if !has_results {
        state.drive.update_value(|d| *d += 1);
        state.reset_run();
        return;
    }
    // Stop a drive loop that is still going, and keep what it showed.
    state.drive.update_value(|d| *d += 1);
    state.session.set_value(None);
    state.run.update(|r| {
        r.stale = true;
        r.paused = None;
        if r.status == RunStatus::Running {
            r.status = RunStatus::Cancelled;
        }
    });
}
