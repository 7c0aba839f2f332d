use leptos::prelude::*;

use super::panel::Panel;
use crate::run_view::{
    CalloutAnswerForm, ClientResponse, ErrorView, Expectations, RequestsChart, SideEffects,
    StreamNow, UpstreamRequest,
};

/// The right pane: what the plugin did to the traffic. While a run is paused it starts with
/// what a stepping user needs next to the timeline: the callout waiting for an answer, and
/// the stream as the plugin sees it now.
#[component]
pub fn ResultsPane() -> impl IntoView {
    view! {
        <div class="pane pane-right" id="pane-results" data-testid="pane-results" aria-label="Results">
            <ErrorView />
            <CalloutAnswerForm />
            <StreamNow />
            <Panel title="Upstream request">
                <UpstreamRequest />
            </Panel>
            <Panel title="Client response">
                <ClientResponse />
            </Panel>
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
