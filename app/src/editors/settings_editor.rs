use leptos::prelude::*;
use pwp_model::scenario::Toggles;

use super::fields::{Choice, TextField};
use super::pairs_table::PairsTable;
use super::rows::{as_map, enum_name, enum_value, tri_name, tri_value};
use super::{edit, part};
use crate::state::use_state;

const LEVELS: &[(&str, &str)] = &[
    ("trace", "trace"),
    ("debug", "debug"),
    ("info", "info"),
    ("warn", "warn"),
    ("error", "error"),
    ("critical", "critical"),
];
const PROFILES: &[(&str, &str)] = &[
    ("auto", "Auto (Higress for ABI 0.2.100, else Envoy)"),
    ("envoy", "Envoy ≥ 1.33 / Istio"),
    ("higress", "Higress"),
];
const BUFFERING: &[(&str, &str)] = &[
    ("default", "profile default"),
    ("cumulative", "cumulative (Envoy ≥ 1.33)"),
    ("legacy", "legacy (Envoy 1.27, old Higress)"),
];
const REPLACE: &[(&str, &str)] = &[
    ("default", "profile default"),
    ("remove_and_append", "remove all, append one (current)"),
    ("in_place", "first in place (Envoy 1.27)"),
];
const TRI: &[(&str, &str)] = &[("default", "profile default"), ("on", "on"), ("off", "off")];

/// Plugin identity, environment, log level, profile and the Envoy-version toggles.
#[component]
pub fn SettingsEditor() -> impl IntoView {
    let state = use_state();
    let text =
        |f: fn(&pwp_model::scenario::Settings) -> String| part(state, move |s| f(&s.settings));
    let env = part(state, |s| {
        s.settings.env.clone().into_iter().collect::<Vec<_>>()
    });
    let toggle = |f: fn(&Toggles) -> String| part(state, move |s| f(&s.settings.toggles));
    let set_toggle =
        move |f: fn(&mut Toggles, &str), v: String| edit(state, |s| f(&mut s.settings.toggles, &v));
    view! {
        <div class="ed-section" data-testid="settings-editor">
            <div class="ed-grid">
                <TextField label="Plugin name" testid="plugin-name" hint="Envoy's plugin name (Istio: <namespace>.<name>)"
                    value=text(|s| s.plugin_name.clone()) on_input=move |v: String| edit(state, |s| s.settings.plugin_name = v) />
                <TextField label="Root id" testid="root-id" placeholder="(empty, as Istio)"
                    value=text(|s| s.root_id.clone()) on_input=move |v: String| edit(state, |s| s.settings.root_id = v) />
                <TextField label="VM id" testid="vm-id" placeholder="(empty)"
                    value=text(|s| s.vm_id.clone()) on_input=move |v: String| edit(state, |s| s.settings.vm_id = v) />
                <Choice label="Log level" testid="log-level" options=LEVELS hint="Lines below this level are dropped (proxy_get_log_level)"
                    value=text(|s| s.log_level.as_str().to_string())
                    on_change=move |v: String| edit(state, |s| s.settings.log_level = enum_value(&v).unwrap_or_default()) />
            </div>
            <Choice label="Profile" testid="profile" options=PROFILES
                value=text(|s| enum_name(Some(&s.profile)))
                on_change=move |v: String| edit(state, |s| s.settings.profile = enum_value(&v).unwrap_or_default()) />
            <h3 class="ed-sub">"Environment variables"</h3>
            <p class="ed-hint">"What the plugin reads with WASI environ_get (vm_config.environment_variables), not through its configuration."</p>
            <PairsTable noun="variable" testid="env" value=env normalize=as_map
                on_change={move |rows: Vec<(String, String)>| edit(state, |s| s.settings.env = rows.into_iter().collect())} />
            <h3 class="ed-sub">"Envoy-version toggles"</h3>
            <div class="ed-grid">
                <Choice label="Body buffering" testid="toggle-body-buffering" options=BUFFERING
                    hint="What a body callback sees after an earlier one returned StopIterationAndBuffer"
                    value=toggle(|t| enum_name(t.body_buffering.as_ref()))
                    on_change=move |v| set_toggle(|t, v| t.body_buffering = enum_value(v), v) />
                <Choice label="Replace header" testid="toggle-replace-header" options=REPLACE
                    hint="proxy_replace_header_map_value on a repeated header"
                    value=toggle(|t| enum_name(t.replace_header.as_ref()))
                    on_change=move |v| set_toggle(|t, v| t.replace_header = enum_value(v), v) />
                <Choice label="allow_on_headers_stop_iteration" testid="toggle-stop-iteration" options=TRI
                    value=toggle(|t| tri_name(t.allow_on_headers_stop_iteration))
                    on_change=move |v| set_toggle(|t, v| t.allow_on_headers_stop_iteration = tri_value(v), v) />
                <Choice label="Legacy top-level properties" testid="toggle-legacy-properties" options=TRI
                    hint="route_name, cluster_name, node… at the top level (Envoy < 1.33, Higress)"
                    value=toggle(|t| tri_name(t.legacy_properties))
                    on_change=move |v| set_toggle(|t, v| t.legacy_properties = tri_value(v), v) />
                <Choice label="Raw stdio" testid="toggle-raw-stdio" options=TRI
                    hint="Each fd_write as its own log line, as Envoy does"
                    value=toggle(|t| tri_name(t.raw_stdio))
                    on_change=move |v| set_toggle(|t, v| t.raw_stdio = tri_value(v), v) />
            </div>
        </div>
    }
}
