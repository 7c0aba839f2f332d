//! Run, Step over, Step into, Continue, Restart, Cancel, and the DevTools keys
//! (F8 continue, F10 step over, F11 step into).

use leptos::ev;
use leptos::prelude::*;
use pwp_host::StepUntil;

use crate::runner::{drive, restart};
use crate::state::{RunStatus, use_state};

/// The run toolbar.
#[component]
pub fn Controls() -> impl IntoView {
    let state = use_state();
    let running = move || state.run.with(|r| r.status == RunStatus::Running);
    let finished = move || state.run.with(|r| r.status == RunStatus::Finished);
    let no_plugin = move || state.plugin.with(Option::is_none);
    let run = move || {
        restart(state);
        drive(state, StepUntil::Breakpoint);
    };
    let step = move |until: StepUntil| {
        if finished() {
            restart(state);
        }
        drive(state, until);
    };
    let _keys = window_event_listener(ev::keydown, move |e: ev::KeyboardEvent| {
        let until = match e.key().as_str() {
            "F8" => StepUntil::Breakpoint,
            "F10" => StepUntil::Callback,
            "F11" => StepUntil::HostCall,
            _ => return,
        };
        e.prevent_default();
        if state.plugin.with_untracked(Option::is_some) {
            step(until);
        }
    });
    view! {
        <div class="toolbar" role="toolbar" aria-label="Run controls">
            <button class="primary" data-testid="run" title="Run from the start (Ctrl+Enter)"
                disabled=move || no_plugin() || running() on:click=move |_| run()>
                "▶ Run"
            </button>
            <button data-testid="step-over" title="Step over: to the next callback (F10)"
                disabled=move || no_plugin() || running() on:click=move |_| step(StepUntil::Callback)>
                "Step over"
            </button>
            <button data-testid="step-into" title="Step into: to the next host call (F11)"
                disabled=move || no_plugin() || running() on:click=move |_| step(StepUntil::HostCall)>
                "Step into"
            </button>
            <button data-testid="continue" title="Continue to the next breakpoint or the end (F8)"
                disabled=move || no_plugin() || running() on:click=move |_| step(StepUntil::Breakpoint)>
                "Continue"
            </button>
            <button data-testid="restart" title="Throw the run away and start over"
                disabled=no_plugin on:click=move |_| restart(state)>
                "Restart"
            </button>
            <Show when=running>
                <button data-testid="cancel" on:click=move |_| state.cancel.set(true)>"Cancel"</button>
            </Show>
            <span class="run-status" data-testid="run-status" aria-live="polite">{move || status_text(state)}</span>
        </div>
    }
}

fn status_text(state: crate::state::AppState) -> String {
    state.run.with(|r| match &r.status {
        RunStatus::Idle => "Ready".to_string(),
        RunStatus::Running => format!("Running… ({} slices)", r.slices),
        RunStatus::Paused => match &r.paused {
            Some(pwp_host::Pause::BeforeCallback { index }) => {
                format!("Paused before callback #{index}")
            }
            Some(pwp_host::Pause::HostCall { callback, hostcall }) => {
                format!("Paused after host call {hostcall} of callback #{callback}")
            }
            Some(pwp_host::Pause::Failed { callback }) => format!("Callback #{callback} failed"),
            Some(pwp_host::Pause::Callout { token }) => {
                format!("Waiting for an answer to callout {token}")
            }
            Some(pwp_host::Pause::Slice) | None => "Paused".to_string(),
        },
        RunStatus::Finished => "Finished".to_string(),
        RunStatus::Refused(m) => m.clone(),
    })
}
