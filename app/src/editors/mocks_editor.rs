use leptos::prelude::*;
use pwp_model::scenario::{Expect, GrpcMock};

use super::foreign_mocks::ForeignMocks;
use super::http_mocks::HttpMocks;
use super::json_field::JsonField;
use super::properties_editor::PropertiesEditor;
use super::redis_mocks::RedisMocks;
use super::route_editor::RouteEditor;
use super::{edit, part};
use crate::state::use_state;

const GRPC_EXAMPLE: &str = r#"[{"cluster": "outbound|9000||authz", "service": "authz.v1.Check", "status": 0, "message": {"base64": ""}}]"#;
const EXPECT_EXAMPLE: &str =
    r#"{"client_response": {"status": 200, "headers": {"x-added": "1", "server": null}}}"#;

/// The routing and mocks tab: property overrides, route and clusters, HTTP, gRPC, Redis and
/// foreign-function mocks, and the scenario's expectations.
#[component]
pub fn MocksEditor() -> impl IntoView {
    let state = use_state();
    view! {
        <div class="ed-section" data-testid="mocks-editor">
            <h3 class="ed-sub">"Route and clusters"</h3>
            <RouteEditor />
            <h3 class="ed-sub">"Property overrides"</h3>
            <p class="ed-hint">"By dotted path (source.address, xds.route_name, my_key); served as the bytes of their type."</p>
            <PropertiesEditor />
            <h3 class="ed-sub">"HTTP callouts"</h3>
            <HttpMocks />
            <h3 class="ed-sub">"gRPC calls"</h3>
            <JsonField label="gRPC mocks (JSON list: cluster, service, method, status, status_message, message, initial_metadata, trailing_metadata, delay_ms)"
                testid="grpc-mocks" placeholder=GRPC_EXAMPLE
                value=Signal::from(part(state, |s| s.mocks.grpc.clone()))
                on_change=Callback::new(move |v: Vec<GrpcMock>| edit(state, |s| s.mocks.grpc = v)) />
            <h3 class="ed-sub">"Redis calls (Higress)"</h3>
            <RedisMocks />
            <h3 class="ed-sub">"Foreign functions"</h3>
            <p class="ed-hint">"Answers to proxy_call_foreign_function by name; one named like a built-in (compress, get_log_level) answers in its place."</p>
            <ForeignMocks />
            <h3 class="ed-sub">"Expectations"</h3>
            <JsonField label="Checked after the run (as pwp run checks them in CI)" testid="expectations-editor" rows="5"
                placeholder=EXPECT_EXAMPLE
                value=Signal::from(part(state, |s| s.expect.clone()))
                on_change=Callback::new(move |v: Expect| edit(state, |s| s.expect = v)) />
        </div>
    }
}
