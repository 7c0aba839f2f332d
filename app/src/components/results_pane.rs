use leptos::prelude::*;

use super::panel::Panel;
use crate::run_view::{
    ClientResponse, ErrorView, Expectations, RequestsChart, SideEffects, UpstreamRequest,
};

/// The right pane: what the plugin did to the traffic.
#[component]
pub fn ResultsPane() -> impl IntoView {
    view! {
        <div class="pane pane-right" aria-label="Results">
            <ErrorView />
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
