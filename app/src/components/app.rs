use leptos::prelude::*;

use super::header::Header;
use super::plugin_pane::PluginPane;
use super::results_pane::ResultsPane;
use super::timeline_pane::TimelinePane;
use crate::state::AppState;

/// The whole page: the header above three panes (plugin and inputs, timeline, results).
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::provide();
    // A share link in the URL replaces the autosaved session; a broken one leaves it alone.
    if !crate::share_export::restore_from_location(state) {
        crate::persist::restore(state);
    }
    crate::persist::autosave(state);
    crate::warmup::start(state);
    view! {
        <Header />
        {move || state.notice.get().map(|n| view! {
            <div class="notice" role="status" data-testid="notice">
                <span>{n}</span>
                <button aria-label="Dismiss" on:click=move |_| state.notice.set(None)>"×"</button>
            </div>
        })}
        <main class="workspace">
            <PluginPane />
            <TimelinePane />
            <ResultsPane />
        </main>
    }
}
