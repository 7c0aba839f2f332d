use leptos::prelude::*;

use super::fields::TextField;
use super::{edit, part};
use crate::state::use_state;

/// The route and upstream cluster the request matched (what Higress rule matching reads), and
/// the clusters that exist for callouts.
#[component]
pub fn RouteEditor() -> impl IntoView {
    let state = use_state();
    let clusters = part(state, |s| s.clusters.join("\n"));
    let authority = part(state, |s| s.request.authority.clone());
    view! {
        <div class="ed-section" data-testid="route-editor">
            <p class="ed-hint">
                "Higress rule matching: route (" <code>"_match_route_"</code> "), service (cluster "
                <code>"outbound|port||fqdn"</code> "); the domain ("
                <code data-testid="route-domain">{authority}</code> ") comes from the request's authority."
            </p>
            <div class="ed-grid">
                <TextField label="Route name" testid="route-name" placeholder="default-route"
                    hint="xds.route_name (Higress: route_name, e.g. default/foo)"
                    value=part(state, |s| s.route.name.clone()) on_input=move |v: String| edit(state, |s| s.route.name = v) />
                <TextField label="Cluster (service)" testid="route-cluster" placeholder="outbound|80||svc.ns.svc.cluster.local"
                    hint="xds.cluster_name"
                    value=part(state, |s| s.route.cluster.clone()) on_input=move |v: String| edit(state, |s| s.route.cluster = v) />
            </div>
            <label class="ed-field">
                <span>"Other clusters that exist (one per line; clusters named by mocks exist too)"</span>
                <textarea class="editor ed-short" rows="2" spellcheck="false" data-testid="clusters"
                    placeholder="outbound|8080||auth.default.svc.cluster.local"
                    prop:value=clusters
                    on:change=move |e| {
                        let list: Vec<String> = event_target_value(&e).lines()
                            .map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
                        edit(state, |s| s.clusters = list);
                    }></textarea>
            </label>
        </div>
    }
}
