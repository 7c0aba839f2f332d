//! Envoy static configuration: an `envoy.filters.http.wasm` filter followed by the router, or
//! for an L4 plugin `envoy.filters.network.wasm` followed by `tcp_proxy`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::istio::yaml;
use super::{ExportOptions, FailStrategy, Warnings, checked_env, url_scheme};
use crate::scenario::config_bytes;

const DEFAULT_FILENAME: &str = "/etc/envoy/plugin.wasm";

#[derive(Serialize)]
struct Root {
    http_filters: Vec<HttpFilter>,
}

#[derive(Serialize)]
struct HttpFilter {
    name: &'static str,
    typed_config: TypedConfig,
}

#[derive(Serialize)]
struct TypedConfig {
    #[serde(rename = "@type")]
    type_url: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<PluginConfig>,
}

#[derive(Serialize)]
struct PluginConfig {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<StringValue>,
    vm_config: VmConfig,
    failure_policy: &'static str,
}

#[derive(Serialize)]
struct StringValue {
    #[serde(rename = "@type")]
    type_url: &'static str,
    value: String,
}

#[derive(Serialize)]
struct VmConfig {
    vm_id: String,
    runtime: &'static str,
    code: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<StringValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment_variables: Option<EnvironmentVariables>,
}

#[derive(Serialize)]
struct Code {
    local: Local,
}

#[derive(Serialize)]
struct Local {
    filename: String,
}

#[derive(Serialize)]
struct EnvironmentVariables {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    key_values: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    host_env_keys: Vec<String>,
}

/// A JSON configuration as Envoy's `google.protobuf.StringValue`: a string as is, any other
/// value as compact JSON, null as absent (the bytes the playground gives the plugin).
fn string_value(config: &Value) -> Option<StringValue> {
    let bytes = config_bytes(config);
    (!bytes.is_empty()).then(|| StringValue {
        type_url: "type.googleapis.com/google.protobuf.StringValue",
        value: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The `http_filters` list of an HTTP connection manager.
pub(super) fn http_filters(
    o: &ExportOptions,
    config: &Value,
    sha256: Option<&str>,
    w: &mut Warnings,
) -> String {
    let (plugin, filename, source) = plugin_config(o, config, w, "http_filters");
    let root = Root {
        http_filters: vec![
            HttpFilter {
                name: "envoy.filters.http.wasm",
                typed_config: TypedConfig {
                    type_url: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                    config: Some(plugin),
                },
            },
            HttpFilter {
                name: "envoy.filters.http.router",
                typed_config: TypedConfig {
                    type_url: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                    config: None,
                },
            },
        ],
    };
    let header = header(
        "# Envoy http_filters for an http_connection_manager (envoy.filters.network.http_connection_manager).\n",
        &filename,
        source,
        sha256,
    );
    yaml(&header, &root)
}

/// One Envoy `http_filters` list with a Wasm filter per plugin of a chain, in chain order,
/// then the router. `filters` holds each plugin's options, configuration, sha256 and `vm_id`.
pub(super) fn chain_http_filters(
    filters: &[(&ExportOptions, &Value, Option<&str>, &str)],
    w: &mut Warnings,
) -> String {
    let mut header = String::from(
        "# Envoy http_filters for an http_connection_manager (envoy.filters.network.http_connection_manager):\n\
         # the chain's Wasm filters in order (requests walk them down, responses up), then the router.\n",
    );
    let mut http_filters = Vec::new();
    for (i, (o, config, sha256, vm_id)) in filters.iter().enumerate() {
        let (mut plugin, filename, source) = plugin_config(o, config, w, "http_filters");
        plugin.vm_config.vm_id = (*vm_id).to_string();
        header.push_str(&format!("# {}. {} reads {filename}", i + 1, o.name));
        if let Some(src) = source {
            header.push_str(&format!(" (from {src})"));
        }
        match sha256 {
            Some(sha) => header.push_str(&format!("; sha256 {sha}.\n")),
            None => header.push_str(".\n"),
        }
        http_filters.push(HttpFilter {
            name: "envoy.filters.http.wasm",
            typed_config: TypedConfig {
                type_url: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                config: Some(plugin),
            },
        });
    }
    http_filters.push(HttpFilter {
        name: "envoy.filters.http.router",
        typed_config: TypedConfig {
            type_url: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
            config: None,
        },
    });
    header.push_str(
        "# Filters with the same vm_id, module and VM configuration share one VM and its shared data.\n\
         # failure_policy needs a recent Envoy; older ones take `fail_open: true|false` instead.\n",
    );
    yaml(&header, &Root { http_filters })
}

#[derive(Serialize)]
struct NetworkRoot {
    filters: Vec<NetworkFilter>,
}

#[derive(Serialize)]
struct NetworkFilter {
    name: &'static str,
    typed_config: NetworkTypedConfig,
}

#[derive(Serialize)]
#[serde(untagged)]
enum NetworkTypedConfig {
    Wasm(Box<TypedConfig>),
    TcpProxy {
        #[serde(rename = "@type")]
        type_url: &'static str,
        stat_prefix: String,
        cluster: String,
    },
}

/// The cluster `tcp_proxy` sends to when the options name none: a placeholder to define or
/// replace.
const UPSTREAM_CLUSTER: &str = "upstream";

/// The `filters` of a listener filter chain for an L4 plugin: `envoy.filters.network.wasm`,
/// then `tcp_proxy` (which must come last: it is the terminal filter).
pub(super) fn network_filters(
    o: &ExportOptions,
    config: &Value,
    sha256: Option<&str>,
    w: &mut Warnings,
) -> String {
    let (plugin, filename, source) = plugin_config(o, config, w, "filters");
    let cluster = match o.upstream_cluster.trim() {
        "" => UPSTREAM_CLUSTER,
        c => c,
    };
    let root = NetworkRoot {
        filters: vec![
            NetworkFilter {
                name: "envoy.filters.network.wasm",
                typed_config: NetworkTypedConfig::Wasm(Box::new(TypedConfig {
                    type_url: "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
                    config: Some(plugin),
                })),
            },
            NetworkFilter {
                name: "envoy.filters.network.tcp_proxy",
                typed_config: NetworkTypedConfig::TcpProxy {
                    type_url: "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                    stat_prefix: o.name.replace(['.', '-'], "_"),
                    cluster: cluster.to_string(),
                },
            },
        ],
    };
    let mut first = String::from(
        "# Envoy network filters for a listener's filter_chains[].filters: the plugin as an L4 filter, then tcp_proxy.\n",
    );
    if cluster == UPSTREAM_CLUSTER {
        first.push_str(&format!(
            "# tcp_proxy sends to the cluster `{UPSTREAM_CLUSTER}`, a placeholder: define it, or put your own cluster's name.\n"
        ));
    } else {
        first.push_str(&format!(
            "# tcp_proxy sends to the cluster `{cluster}` (the scenario's route cluster, the plugin's xds.cluster_name): define it in clusters.\n"
        ));
    }
    let header = header(&first, &filename, source, sha256);
    yaml(&header, &root)
}

/// The comment block above the filters: what they are, where the module is read from.
fn header(first: &str, filename: &str, source: Option<&str>, sha256: Option<&str>) -> String {
    let mut header = first.to_string();
    header.push_str(&format!("# The module is read from {filename}"));
    if let Some(src) = source {
        header.push_str(&format!(" (from {src})"));
    }
    match sha256 {
        Some(sha) => header.push_str(&format!("; its sha256 is {sha}.\n")),
        None => header.push_str(".\n"),
    }
    header.push_str(
        "# failure_policy needs a recent Envoy; older ones take `fail_open: true|false` instead.\n",
    );
    header
}

/// The Wasm filter's `config` (shared by the HTTP and the network filter), the module's file
/// name and where it came from; `list` names the filter list for the warnings.
fn plugin_config<'o>(
    o: &'o ExportOptions,
    config: &Value,
    w: &mut Warnings,
    list: &str,
) -> (PluginConfig, String, Option<&'o str>) {
    let mut ignored = Vec::new();
    if !o.selector.is_empty() || !o.target_refs.is_empty() {
        ignored.push("selector/targetRefs");
    }
    if o.phase.is_some() || o.priority.is_some() {
        ignored.push(if list == "filters" {
            "phase/priority (the filter order is the order of filters)"
        } else {
            "phase/priority (the filter order is the order of http_filters)"
        });
    }
    if o.image_pull_policy.is_some()
        || o.image_pull_secret
            .as_deref()
            .is_some_and(|s| !s.is_empty())
    {
        ignored.push("image pull settings");
    }
    if !o.higress.match_rules.is_empty() || o.higress.default_config_disable {
        ignored.push("Higress match rules (put the `_rules_` JSON in configuration to keep them)");
    }
    if !ignored.is_empty() {
        w.warn(format!("Envoy has no {}: left out", ignored.join(", ")));
    }
    if !o.vm_env.is_empty() {
        checked_env(&o.vm_env, w);
    }
    let image = o.image.trim();
    let (filename, source) = match image.strip_prefix("file://") {
        Some(path) if !path.is_empty() => (path.to_string(), None),
        _ => (
            DEFAULT_FILENAME.to_string(),
            (!image.is_empty()).then_some(image),
        ),
    };
    if source.is_some_and(|s| url_scheme(s) == "oci") {
        w.warn(format!(
            "Envoy cannot pull OCI images: put the module at {filename} (the file you loaded, or \
             plugin.wasm from the image)"
        ));
    }
    let env = (!o.vm_env.is_empty()).then(|| EnvironmentVariables {
        key_values: o
            .vm_env
            .iter()
            .filter(|v| !v.from_host)
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect(),
        host_env_keys: o
            .vm_env
            .iter()
            .filter(|v| v.from_host)
            .map(|v| v.name.clone())
            .collect(),
    });
    let plugin = PluginConfig {
        name: o.name.clone(),
        root_id: Some(o.plugin_name.trim().to_string()).filter(|s| !s.is_empty()),
        configuration: string_value(config),
        vm_config: VmConfig {
            vm_id: o.name.clone(),
            runtime: "envoy.wasm.runtime.v8",
            code: Code {
                local: Local {
                    filename: filename.clone(),
                },
            },
            configuration: string_value(&o.vm_config),
            environment_variables: env,
        },
        failure_policy: match o.fail_strategy {
            FailStrategy::FailClose => "FAIL_CLOSED",
            FailStrategy::FailOpen => "FAIL_OPEN",
            FailStrategy::FailReload => "FAIL_RELOAD",
        },
    };
    (plugin, filename, source)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{EnvVar, ExportFormat, ExportOptions, FailStrategy, Phase, export};

    #[test]
    fn the_filter_is_the_wasm_filter_then_the_router() {
        let o = ExportOptions {
            name: "request-block".into(),
            image: "file:///opt/plugins/rb.wasm".into(),
            plugin_name: "rb".into(),
            fail_strategy: FailStrategy::FailOpen,
            vm_env: vec![
                EnvVar {
                    name: "POD_NAME".into(),
                    value: String::new(),
                    from_host: true,
                },
                EnvVar {
                    name: "TRUST_DOMAIN".into(),
                    value: "cluster.local".into(),
                    from_host: false,
                },
            ],
            vm_config: json!({"name": "vm configuration"}),
            ..ExportOptions::default()
        };
        let sha = "ab".repeat(32);
        let e = export(
            ExportFormat::Envoy,
            &o,
            &json!({"block_urls": ["swagger.html"]}),
            Some(&sha),
            None,
        );
        let doc: serde_json::Value = yaml_serde::from_str(&e.text).unwrap();
        let expected = json!({"http_filters": [
            {
                "name": "envoy.filters.http.wasm",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                    "config": {
                        "name": "request-block",
                        "root_id": "rb",
                        "configuration": {
                            "@type": "type.googleapis.com/google.protobuf.StringValue",
                            "value": r#"{"block_urls":["swagger.html"]}"#
                        },
                        "vm_config": {
                            "vm_id": "request-block",
                            "runtime": "envoy.wasm.runtime.v8",
                            "code": {"local": {"filename": "/opt/plugins/rb.wasm"}},
                            "configuration": {
                                "@type": "type.googleapis.com/google.protobuf.StringValue",
                                "value": r#"{"name":"vm configuration"}"#
                            },
                            "environment_variables": {
                                "key_values": {"TRUST_DOMAIN": "cluster.local"},
                                "host_env_keys": ["POD_NAME"]
                            }
                        },
                        "failure_policy": "FAIL_OPEN"
                    }
                }
            },
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
            }
        ]});
        assert_eq!(doc, expected, "{}", e.text);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        assert!(e.text.contains(&sha), "{}", e.text);
    }

    #[test]
    fn a_string_config_passes_as_is_and_nothing_is_omitted_silently() {
        let o = ExportOptions {
            image: "oci://r.example/p:1".into(),
            phase: Some(Phase::Authn),
            selector: [("a".to_string(), "b".to_string())].into(),
            ..ExportOptions::default()
        };
        let e = export(
            ExportFormat::Envoy,
            &o,
            &json!("key=value"),
            None,
            Some("0_2_100"),
        );
        let doc: serde_json::Value = yaml_serde::from_str(&e.text).unwrap();
        let config = &doc["http_filters"][0]["typed_config"]["config"];
        assert_eq!(config["configuration"]["value"], "key=value");
        assert_eq!(
            config["vm_config"]["code"]["local"]["filename"],
            "/etc/envoy/plugin.wasm"
        );
        assert_eq!(config["failure_policy"], "FAIL_CLOSED");
        assert!(
            config.get("root_id").is_none() && config["vm_config"].get("configuration").is_none()
        );
        let all = e.warnings.join("\n");
        for needle in [
            "ABI 0.2.100",
            "selector/targetRefs",
            "phase/priority",
            "OCI",
        ] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
    }

    #[test]
    fn a_network_plugin_is_the_network_wasm_filter_then_tcp_proxy() {
        let scenario = crate::scenario::Scenario::parse(
            r#"{"plugin": {"example": "go-network"}, "settings": {"root_id": "net"},
                "route": {"cluster": "outbound|6379||redis.db"},
                "connection": {"frames": [{"data": "hi"}]}}"#,
        )
        .unwrap();
        let o = ExportOptions::from_scenario(&scenario);
        assert!(o.network);
        let e = export(ExportFormat::Envoy, &o, &json!({"deny": "X"}), None, None);
        let doc: serde_json::Value = yaml_serde::from_str(&e.text).unwrap();
        let filters = doc["filters"].as_array().expect(&e.text);
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0]["name"], "envoy.filters.network.wasm");
        let wasm = &filters[0]["typed_config"];
        assert_eq!(
            wasm["@type"],
            "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"
        );
        assert_eq!(wasm["config"]["name"], "go-network");
        assert_eq!(wasm["config"]["root_id"], "net");
        assert_eq!(wasm["config"]["configuration"]["value"], r#"{"deny":"X"}"#);
        assert_eq!(filters[1]["name"], "envoy.filters.network.tcp_proxy");
        assert_eq!(
            filters[1]["typed_config"],
            json!({
                "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                "stat_prefix": "go_network",
                "cluster": "outbound|6379||redis.db"
            })
        );
        assert!(e.text.contains("# tcp_proxy sends to the cluster `outbound|6379||redis.db` (the scenario's route cluster"), "{}", e.text);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        // Options without a cluster (an older options file) get the named placeholder.
        let bare = ExportOptions {
            upstream_cluster: String::new(),
            ..o.clone()
        };
        let e = export(ExportFormat::Envoy, &bare, &json!({}), None, None);
        let doc: serde_json::Value = yaml_serde::from_str(&e.text).unwrap();
        assert_eq!(doc["filters"][1]["typed_config"]["cluster"], "upstream");
        assert!(e.text.contains("`upstream`, a placeholder"), "{}", e.text);
        let higress = export(ExportFormat::Higress, &o, &json!({}), None, None);
        assert!(higress.has_errors(), "{:?}", higress.warnings);
        let http = ExportOptions::from_scenario(&crate::scenario::Scenario::default());
        assert!(!http.network);
    }
}
