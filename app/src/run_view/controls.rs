//! Run, Step over, Step into, Continue, Restart, Cancel, and the keys: Ctrl/Cmd+Enter runs,
//! and the DevTools keys step (F8 continue, F10 step over, F11 step into). A control that
//! cannot act is disabled, and its tooltip says why (see [`crate::gates`]).

use leptos::ev;
use leptos::prelude::*;
use pwp_model::run::{Pause, Refusal, StepUntil};
use pwp_model::scenario::{Event, TickEvent};

use super::of_run;
use crate::gates::{self, RunFacts};
use crate::labels;
use crate::runner::{cancel, drive, inject, restart};
use crate::state::{AppState, Pane, RunStatus, RunView, use_state};

/// What the controls can do now.
fn facts(state: AppState) -> RunFacts {
    let plugin = state.plugin.with(Option::is_some);
    state.run.with(|r| RunFacts {
        plugin,
        running: r.status == RunStatus::Running,
        awaiting_callout: r.status == RunStatus::Paused
            && matches!(r.paused, Some(Pause::Callout { .. })),
        started: r.status != RunStatus::Idle || r.report.is_some(),
        paused: r.status == RunStatus::Paused && !r.stale,
    })
}

/// In a narrow window, leaves the inputs for the tab that shows what the run does.
fn show_run(state: AppState) {
    state.pane.set(Pane::Run);
}

/// Runs from the start, as the Run button does, unless a run cannot start now (no plugin, a
/// run going on); false then.
pub fn run(state: AppState) -> bool {
    if gates::blocked(facts(state)).run.is_some() {
        return false;
    }
    restart(state);
    drive(state, StepUntil::Breakpoint);
    true
}

/// The run toolbar.
#[component]
pub fn Controls() -> impl IntoView {
    let state = use_state();
    let blocked = Memo::new(move |_| gates::blocked(facts(state)));
    let run = move || {
        if run(state) {
            show_run(state);
        }
    };
    let step = move |until: StepUntil| {
        if blocked.get_untracked().step.is_some() {
            return;
        }
        if state
            .run
            .with_untracked(|r| r.status == RunStatus::Finished)
        {
            restart(state);
        }
        drive(state, until);
        show_run(state);
    };
    let _keys = window_event_listener(ev::keydown, move |e: ev::KeyboardEvent| {
        if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) {
            e.prevent_default();
            run();
            return;
        }
        let until = match e.key().as_str() {
            "F8" => StepUntil::Breakpoint,
            "F10" => StepUntil::Callback,
            "F11" => StepUntil::HostCall,
            _ => return,
        };
        e.prevent_default();
        step(until);
    });
    let button = move |testid: &'static str,
                       label: &'static str,
                       what: &'static str,
                       gate: fn(&gates::Blocked) -> Option<&'static str>,
                       act: Box<dyn Fn() + Send + Sync>| {
        let why = move || blocked.with(gate);
        view! {
            <button data-testid=testid class:primary=testid == "run"
                title=move || gates::tooltip(why(), what)
                disabled=move || why().is_some() on:click=move |_| act()>
                {label}
            </button>
        }
    };
    let running = of_run(state, |r| r.status == RunStatus::Running);
    let status = of_run(state, status_text);
    let engine = of_run(state, |r| r.report.is_some().then_some(r.browser_engine));
    let note = of_run(state, |r| r.note.clone());
    let stale = of_run(state, |r| r.stale);
    view! {
        <div class="toolbar" role="toolbar" aria-label="Run controls" data-testid="run-bar">
            {button("run", "▶ Run", "Run from the start (Ctrl+Enter, ⌘+Enter on a Mac)", |b| b.run, Box::new(run))}
            {button("step-over", "Step over", "Step over: to the next callback (F10)", |b| b.step, Box::new(move || step(StepUntil::Callback)))}
            {button("step-into", "Step into", "Step into: to the next host call (F11)", |b| b.step, Box::new(move || step(StepUntil::HostCall)))}
            {button("continue", "Continue", "Continue to the next breakpoint or the end (F8)", |b| b.step, Box::new(move || step(StepUntil::Breakpoint)))}
            {button("restart", "Restart", "Throw the run away and start over", |b| b.restart, Box::new(move || restart(state)))}
            <ClockControls blocked=blocked />
            <Show when=move || running.get()>
                <button data-testid="cancel" title="Stop at the next fuel slice, keeping what ran" on:click=move |_| cancel(state)>"Cancel"</button>
            </Show>
            <span class="run-status" data-testid="run-status" aria-live="polite">{move || status.get()}</span>
            {move || engine.get().map(engine_badge)}
            {move || note.get().map(|n| view! {
                <span class="run-note" data-testid="run-note" role="status">{n}</span>
            })}
            {move || lenient_refusal(state).map(|r| view! {
                <span class="badge warn" data-testid="lenient-badge" role="status"
                    title=format!("settings.lenient is on. {} would refuse to load it: {}", r.proxy, r.problems.join("; "))>
                    {format!("running a plugin {} would refuse", r.proxy)}
                </span>
            })}
            <Show when=move || stale.get()>
                <span class="stale-note" data-testid="stale" role="status">
                    "Results are from before your edit — Run again to see the new ones."
                </span>
            </Show>
        </div>
    }
}

/// The proxy's refusal of the loaded plugin when the session runs it anyway (lenient).
fn lenient_refusal(state: AppState) -> Option<Refusal> {
    let lenient = state.scenario.with(|s| s.settings.lenient);
    if !lenient {
        return None;
    }
    state.plugin.with(|p| {
        let p = p.as_ref()?;
        state
            .scenario
            .with(|s| pwp_model::run::load_refusal(p.info(), s))
    })
}

/// Tick and Advance clock: they add an event where the run is paused (the virtual clock
/// moves to the next tick due, or by the given milliseconds, firing what falls due).
#[component]
fn ClockControls(blocked: Memo<gates::Blocked>) -> impl IntoView {
    let state = use_state();
    let ms = RwSignal::new(String::from("1000"));
    let why = move || blocked.with(|b| b.clock);
    let parsed = move || {
        ms.with(|t| t.trim().parse::<u64>().ok())
            .filter(|n| (1..=pwp_model::scenario::MAX_ADVANCE_MS).contains(n))
    };
    let tick = move |_| {
        if why().is_none() {
            inject(state, Event::Tick(TickEvent::default()));
        }
    };
    let advance = move |_| {
        if let (None, Some(n)) = (why(), parsed()) {
            inject(state, Event::AdvanceMs(n));
        }
    };
    let advance_why = move || {
        why().or_else(|| {
            parsed()
                .is_none()
                .then_some("Give a whole number of milliseconds, 1 to 86,400,000 (a day)")
        })
    };
    view! {
        // On a phone they show only while a run is paused, where they can act.
        <span class="clock-controls" class:idle=move || why().is_some() role="group"
            aria-label="Virtual clock">
            <button data-testid="tick"
                title=move || gates::tooltip(why(), "Tick: move the virtual clock to the next tick due and fire proxy_on_tick (nothing fires if the plugin set no tick period)")
                disabled=move || why().is_some() on:click=tick>"Tick"</button>
            <button data-testid="advance-clock"
                title=move || gates::tooltip(advance_why(), "Advance the virtual clock, firing the ticks and delayed callout answers that fall due")
                disabled=move || advance_why().is_some() on:click=advance>"Advance clock by"</button>
            <input data-testid="advance-ms" class="advance-ms" type="number" min="1" step="100"
                aria-label="Milliseconds to advance the clock by"
                prop:value=move || ms.get() on:input=move |e| ms.set(event_target_value(&e)) />
            <span class="unit">"ms"</span>
        </span>
    }
}

/// Which engine ran (or runs) the session: the browser's or the interpreter.
fn engine_badge(browser: bool) -> impl IntoView {
    let (label, title) = if browser {
        (
            "browser engine",
            "Ran on the browser's own WebAssembly engine, at native speed. Stepping into a callback replays the run on the interpreter to that point.",
        )
    } else {
        (
            "interpreter",
            "Ran on the interpreter (wasmi), which can pause inside a callback and meters fuel.",
        )
    };
    view! { <span class="badge engine" data-testid="engine" data-engine=if browser { "browser" } else { "interpreter" } title=title>{label}</span> }
}

/// The run's status in words.
fn status_text(r: &RunView) -> String {
    let text = match &r.status {
        RunStatus::Idle => "Ready".to_string(),
        RunStatus::Running => format!("Running… ({} slices)", r.slices),
        RunStatus::Paused => labels::pause(r.paused.as_ref(), |i| {
            r.report
                .as_ref()
                .and_then(|rep| rep.callbacks.get(i))
                .map(|c| c.name.clone())
        }),
        RunStatus::Finished => "Finished".to_string(),
        RunStatus::Cancelled => {
            let during = r
                .report
                .as_ref()
                .and_then(|rep| rep.callbacks.last())
                .filter(|cb| cb.ret.is_none() && cb.error.is_none() && cb.fuel == 0)
                .map(|cb| format!(" during {}", cb.name))
                .unwrap_or_default();
            format!("Cancelled{during}: stopped by you, what ran so far is kept")
        }
        RunStatus::Refused(m) => m.lines().next().unwrap_or_default().to_string(),
    };
    if r.stale {
        format!("{text} (before your edit)")
    } else {
        text
    }
}
