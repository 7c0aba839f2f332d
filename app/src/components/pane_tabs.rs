use leptos::prelude::*;

use crate::state::{Pane, use_state};

/// The two tabs of a narrow window (hidden by the stylesheet when the panes fit side by side):
/// the inputs, and the run. Run and Step switch to the run by themselves.
#[component]
pub fn PaneTabs() -> impl IntoView {
    let state = use_state();
    let tab =
        move |pane: Pane, label: &'static str, controls: &'static str, testid: &'static str| {
            view! {
                <button type="button" role="tab" data-testid=testid aria-controls=controls
                    aria-selected=move || (state.pane.get() == pane).to_string()
                    on:click=move |_| state.pane.set(pane)>
                    {label}
                </button>
            }
        };
    view! {
        <div class="pane-tabs" role="tablist" aria-label="Panes">
            {tab(Pane::Inputs, "Plugin & inputs", "pane-inputs", "pane-tab-inputs")}
            {tab(Pane::Run, "Run & results", "pane-results pane-timeline", "pane-tab-run")}
        </div>
    }
}
