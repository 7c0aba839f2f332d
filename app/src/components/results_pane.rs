use leptos::prelude::*;

use super::panel::Panel;
use crate::run_view::{
    CalloutAnswerForm, ClientResponse, ConnectionNow, ConnectionView, ErrorView, Expectations,
    RequestsChart, SideEffects, StreamNow, UpstreamRequest,
};
use crate::state::use_state;

/// The right pane: what the plugin did to the traffic. While a run is paused it starts with
/// what a stepping user needs next to the timeline: the callout waiting for an answer, and
/// the stream as the plugin sees it now.
#[component]
pub fn ResultsPane() -> impl IntoView {
    let state = use_state();
    // An L4 scenario (`connection`) has a connection instead of a request and a response.
    let l4 = move || state.scenario.with(|s| s.connection.is_some());
    view! {
        <div class="pane pane-right" id="pane-results" data-testid="pane-results" aria-label="Results">
            <ErrorView />
            <CalloutAnswerForm />
            <StreamNow />
            <ConnectionNow />
            <Show when=l4 fallback=|| view! {
                <Panel title="Upstream request">
                    <UpstreamRequest />
                </Panel>
                <Panel title="Client response">
                    <ClientResponse />
                </Panel>
            }>
                <Panel title="Connection">
                    <ConnectionView />
                </Panel>
            </Show>
            <Panel title="Callouts, metrics, shared data">
                <SideEffects />
                <RequestsChart />
            </Panel>
            <Panel title="Expectations">
                <Expectations />
            </Panel>
        </div>
    }
}
