use leptos::prelude::*;

use super::header::Header;
use super::pane_tabs::PaneTabs;
use super::plugin_pane::PluginPane;
use super::results_pane::ResultsPane;
use super::timeline_pane::TimelinePane;
use crate::run_view::Controls;
use crate::state::{AppState, Pane};

/// The whole page: the header, the run bar (with the pane tabs of a narrow window), and three
/// panes (plugin and inputs, timeline, results). Wide windows show the panes side by side;
/// narrow ones show the inputs or the run (results above the timeline), one at a time.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::provide();
    // A share link in the URL opens as a new session (the saved ones stay in the list); without
    // one, or with a broken one, the newest saved session comes back.
    crate::persist::load(state);
    if !crate::share_export::restore_from_location(state) {
        crate::persist::restore(state);
    }
    crate::persist::autosave(state);
    // The engine worker starts now (and warms its interpreter up once the page has painted).
    crate::engine::start(state);
    // The chain's plugins load as soon as the scenario names them.
    Effect::new(move |_| {
        state.scenario.track();
        crate::loader::sync_chain(state);
    });
    // The panes mount one frame each, after the header and the run bar: building and laying
    // out the whole page at once kept the main thread busy for over 100 ms (a long task) at
    // load. The inputs pane mounts its editors a frame after its plugin panel.
    let mounted = RwSignal::new(0u8);
    leptos::task::spawn_local(async move {
        for pane in 1..=4 {
            crate::browser::next_frame().await;
            mounted.set(pane);
        }
    });
    provide_context(Mounted(mounted));
    let shown = move |pane: u8| mounted.get() >= pane;
    view! {
        <Header />
        {move || state.notice.get().map(|n| view! {
            <div class="notice" role="status" data-testid="notice">
                <span>{n}</span>
                {move || state.previous.get().map(|id| view! {
                    <button class="notice-action" data-testid="back-to-previous"
                        on:click=move |_| crate::persist::switch_to(state, &id)>
                        "Back to your previous session"
                    </button>
                })}
                <button aria-label="Dismiss" on:click=move |_| { state.notice.set(None); state.previous.set(None); }>"×"</button>
            </div>
        })}
        <div class="run-bar">
            <PaneTabs />
            <Controls />
        </div>
        <main class="workspace" data-pane=move || match state.pane.get() {
            Pane::Inputs => "inputs",
            Pane::Run => "run",
        }>
            <Show when=move || shown(1)><PluginPane /></Show>
            <Show when=move || shown(3)><TimelinePane /></Show>
            <Show when=move || shown(4)><ResultsPane /></Show>
        </main>
    }
}

/// How far the page has mounted at load: 1 the inputs pane's plugin panel, 2 its editors, 3
/// the timeline, 4 the results.
#[derive(Clone, Copy)]
pub struct Mounted(pub RwSignal<u8>);
