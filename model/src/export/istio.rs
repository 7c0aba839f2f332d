//! Istio `WasmPlugin` and `TrafficExtension` (`extensions.istio.io/v1alpha1`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{
    ExportOptions, Warnings, check_metadata, checked_env, image_url, module_sha256, struct_config,
};

pub(super) const API_VERSION: &str = "extensions.istio.io/v1alpha1";
const DEFAULT_NAMESPACE: &str = "default";
const ROOT_NAMESPACE: &str = "istio-system";

/// A Kubernetes object as it is written: `apiVersion`, `kind`, `metadata`, `spec`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Manifest<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: S,
}

#[derive(Serialize)]
pub(super) struct Metadata {
    pub name: String,
    pub namespace: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct TargetRefOut {
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    kind: String,
    name: String,
}

#[derive(Serialize)]
pub(super) struct VmConfigOut {
    pub env: Vec<EnvOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EnvOut {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The Wasm-specific fields, shared by `WasmPlugin.spec` and `TrafficExtension.spec.wasm`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmFields {
    /// `NETWORK` for an L4 filter; absent (Istio's default, HTTP) otherwise.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    plugin_type: Option<&'static str>,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_pull_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_pull_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin_name: Option<String>,
    fail_strategy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vm_config: Option<VmConfigOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin_config: Option<Value>,
}

/// Where the plugin applies: at most one of the two is set.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<Selector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    target_refs: Vec<TargetRefOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmPluginSpec {
    #[serde(flatten)]
    attachment: Attachment,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<i32>,
    #[serde(flatten)]
    wasm: WasmFields,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrafficExtensionSpec {
    #[serde(flatten)]
    attachment: Attachment,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<i32>,
    wasm: WasmFields,
}

/// `extensions.istio.io/v1alpha1` `WasmPlugin`.
pub(super) fn wasm_plugin(
    o: &ExportOptions,
    config: &Value,
    sha256: Option<&str>,
    w: &mut Warnings,
) -> String {
    let (metadata, attachment, wasm) = common(o, config, sha256, "WasmPlugin", w);
    let spec = WasmPluginSpec {
        attachment,
        phase: o.phase.map(|p| p.as_str()),
        priority: o.priority,
        wasm,
    };
    let header = "# Istio WasmPlugin. Apply with: kubectl apply -f wasmplugin.yaml\n";
    yaml(
        header,
        &Manifest {
            api_version: API_VERSION,
            kind: "WasmPlugin",
            metadata,
            spec,
        },
    )
}

/// `extensions.istio.io/v1alpha1` `TrafficExtension` with a `wasm:` block.
pub(super) fn traffic_extension(
    o: &ExportOptions,
    config: &Value,
    sha256: Option<&str>,
    w: &mut Warnings,
) -> String {
    let (metadata, attachment, wasm) = common(o, config, sha256, "TrafficExtension", w);
    let spec = TrafficExtensionSpec {
        attachment,
        phase: o.phase.map(|p| p.as_str()),
        priority: o.priority,
        wasm,
    };
    let header = "# Istio TrafficExtension (Istio 1.29+; supersedes WasmPlugin). \
                  Apply with: kubectl apply -f trafficextension.yaml\n";
    yaml(
        header,
        &Manifest {
            api_version: API_VERSION,
            kind: "TrafficExtension",
            metadata,
            spec,
        },
    )
}

fn common(
    o: &ExportOptions,
    config: &Value,
    sha256: Option<&str>,
    kind: &str,
    w: &mut Warnings,
) -> (Metadata, Attachment, WasmFields) {
    let namespace = if o.namespace.trim().is_empty() {
        DEFAULT_NAMESPACE.to_string()
    } else {
        o.namespace.trim().to_string()
    };
    check_metadata(&o.name, &namespace, w);
    let attachment = attachment(o, &namespace, kind, w);
    higress_only(o, config, w);
    let url = image_url(o, w);
    let wasm = WasmFields {
        plugin_type: o.network.then_some("NETWORK"),
        sha256: module_sha256(&url, sha256, w),
        url,
        image_pull_policy: o.image_pull_policy.map(|p| p.as_str()),
        image_pull_secret: pull_secret(o, w),
        plugin_name: plugin_name(o, w),
        fail_strategy: o.fail_strategy.istio(),
        vm_config: vm_config(o, w),
        plugin_config: struct_config(config, "pluginConfig", w),
    };
    if !o.vm_config.is_null() {
        w.warn(format!(
            "{kind} has no VM configuration: the plugin's proxy_on_vm_start will receive none"
        ));
    }
    (
        Metadata {
            name: o.name.clone(),
            namespace,
        },
        attachment,
        wasm,
    )
}

fn attachment(o: &ExportOptions, namespace: &str, kind: &str, w: &mut Warnings) -> Attachment {
    let mut selector = (!o.selector.is_empty()).then(|| Selector {
        match_labels: o.selector.clone(),
    });
    if selector.is_some() && !o.target_refs.is_empty() {
        w.error(format!(
            "{kind} takes only one of selector and targetRefs: the selector was left out"
        ));
        selector = None;
    }
    if let Some(s) = &selector {
        for (key, value) in &s.match_labels {
            if key.is_empty() || key.contains('*') {
                w.error(format!(
                    "selector label key `{key}` must be non-empty without `*`"
                ));
            }
            if value.contains('*') || value.chars().count() > 63 {
                w.error(format!(
                    "selector label value `{value}` must be at most 63 characters without `*`"
                ));
            }
        }
    }
    if o.target_refs.len() > 16 {
        w.error("at most 16 targetRefs are allowed");
    }
    let target_refs = o
        .target_refs
        .iter()
        .map(|t| {
            if !is_kind(&t.kind) || t.name.is_empty() || t.name.len() > 253 {
                w.error(format!(
                    "targetRef `{}/{}` needs a kind (a letter, then letters, digits or `-`) and a name",
                    t.kind, t.name
                ));
            }
            TargetRefOut {
                group: t.group.trim().to_string(),
                kind: t.kind.trim().to_string(),
                name: t.name.trim().to_string(),
            }
        })
        .collect::<Vec<_>>();
    if selector.is_none() && target_refs.is_empty() && namespace == ROOT_NAMESPACE {
        w.warn(format!(
            "without a selector or targetRefs, a {kind} in {ROOT_NAMESPACE} applies to every \
             workload of the mesh"
        ));
    }
    Attachment {
        selector,
        target_refs,
    }
}

fn is_kind(kind: &str) -> bool {
    let k = kind.trim();
    k.len() <= 63
        && k.starts_with(|c: char| c.is_ascii_alphabetic())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !k.ends_with('-')
}

fn higress_only(o: &ExportOptions, config: &Value, w: &mut Warnings) {
    let h = &o.higress;
    if !h.match_rules.is_empty() || h.default_config_disable {
        w.warn(
            "Higress match rules have no Istio equivalent and were left out: one pluginConfig \
             applies to all traffic of the selected workloads (use one resource per target \
             instead)",
        );
    }
    if h.default_config.as_ref().is_some_and(|d| d != config) {
        w.warn("the Higress default configuration was ignored: pluginConfig is the session's configuration");
    }
}

pub(super) fn pull_secret(o: &ExportOptions, w: &mut Warnings) -> Option<String> {
    let secret = o
        .image_pull_secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    if secret.len() > 253 {
        w.error("imagePullSecret is longer than 253 characters");
    }
    Some(secret.to_string())
}

pub(super) fn plugin_name(o: &ExportOptions, w: &mut Warnings) -> Option<String> {
    let name = o.plugin_name.trim();
    if name.is_empty() {
        return None;
    }
    if name.chars().count() > 256 {
        w.error("pluginName is longer than 256 characters");
    }
    Some(name.to_string())
}

pub(super) fn vm_config(o: &ExportOptions, w: &mut Warnings) -> Option<VmConfigOut> {
    if o.vm_env.is_empty() {
        return None;
    }
    checked_env(&o.vm_env, w);
    let env = o
        .vm_env
        .iter()
        .map(|v| EnvOut {
            name: v.name.clone(),
            value_from: v.from_host.then_some("HOST"),
            value: (!v.from_host).then(|| v.value.clone()),
        })
        .collect();
    Some(VmConfigOut { env })
}

/// A header comment, then the YAML.
pub(super) fn yaml<T: Serialize>(header: &str, value: &T) -> String {
    let body =
        yaml_serde::to_string(value).unwrap_or_else(|e| format!("# cannot write YAML: {e}\n"));
    format!("{header}{body}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{
        EnvVar, ExportFormat, ExportOptions, FailStrategy, HigressRules, MatchRule, Phase,
        PullPolicy, TargetRef, export,
    };

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn options() -> ExportOptions {
        ExportOptions {
            name: "request-block".into(),
            namespace: "istio-ingress".into(),
            image: "oci://registry.example.com/plugins/request-block:1.2.0".into(),
            image_pull_policy: Some(PullPolicy::IfNotPresent),
            image_pull_secret: Some("registry-pull-secret".into()),
            phase: Some(Phase::Authz),
            priority: Some(100),
            fail_strategy: FailStrategy::FailOpen,
            plugin_name: "request-block".into(),
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
            selector: [("istio".to_string(), "ingressgateway".to_string())].into(),
            ..ExportOptions::default()
        }
    }

    fn parse(text: &str) -> serde_json::Value {
        yaml_serde::from_str(text).unwrap()
    }

    #[test]
    fn a_wasm_plugin_has_every_field_in_place() {
        let config = json!({"block_urls": ["swagger.html"], "blocked_code": 403});
        let e = export(
            ExportFormat::Istio,
            &options(),
            &config,
            Some(SHA),
            Some("0_2_1"),
        );
        let expected = json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "request-block", "namespace": "istio-ingress"},
            "spec": {
                "selector": {"matchLabels": {"istio": "ingressgateway"}},
                "phase": "AUTHZ",
                "priority": 100,
                "url": "oci://registry.example.com/plugins/request-block:1.2.0",
                "imagePullPolicy": "IfNotPresent",
                "imagePullSecret": "registry-pull-secret",
                "pluginName": "request-block",
                "failStrategy": "FAIL_OPEN",
                "vmConfig": {"env": [
                    {"name": "POD_NAME", "valueFrom": "HOST"},
                    {"name": "TRUST_DOMAIN", "value": "cluster.local"}
                ]},
                "pluginConfig": {"block_urls": ["swagger.html"], "blocked_code": 403}
            }
        });
        assert_eq!(parse(&e.text), expected, "{}", e.text);
        // The oci:// digest is the manifest's, not the module's: one warning says so.
        assert_eq!(e.warnings.len(), 1, "{:?}", e.warnings);
        assert!(
            e.warnings[0].contains("manifest digest"),
            "{:?}",
            e.warnings
        );
        assert!(e.text.starts_with("# Istio WasmPlugin"));
        // Field order is fixed, as a person would write it.
        let at = |key: &str| {
            e.text
                .find(key)
                .unwrap_or_else(|| panic!("{key}: {}", e.text))
        };
        let order = [
            "apiVersion:",
            "kind:",
            "metadata:",
            "spec:",
            "  selector:",
            "  url:",
            "  pluginConfig:",
        ];
        assert!(order.windows(2).all(|p| at(p[0]) < at(p[1])), "{}", e.text);
    }

    #[test]
    fn an_https_module_keeps_its_digest() {
        let mut o = options();
        o.image = "https://example.com/plugins/request-block.wasm".into();
        let e = export(ExportFormat::Istio, &o, &json!({}), Some(SHA), None);
        assert_eq!(parse(&e.text)["spec"]["sha256"], SHA);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }

    #[test]
    fn selector_and_target_refs_are_exclusive() {
        let mut o = options();
        o.target_refs = vec![TargetRef {
            name: "my-gw".into(),
            ..TargetRef::default()
        }];
        for format in [ExportFormat::Istio, ExportFormat::TrafficExtension] {
            let e = export(format, &o, &json!({}), None, None);
            let spec = &parse(&e.text)["spec"];
            assert!(spec.get("selector").is_none(), "{}", e.text);
            assert_eq!(
                spec["targetRefs"],
                json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "my-gw"}])
            );
            assert!(e.has_errors(), "{:?}", e.warnings);
            assert!(
                e.warnings
                    .iter()
                    .any(|w| w.starts_with("error: ") && w.contains("only one of"))
            );
        }
    }

    #[test]
    fn a_traffic_extension_nests_the_wasm_block() {
        let config = json!({"a": 1});
        let e = export(
            ExportFormat::TrafficExtension,
            &options(),
            &config,
            None,
            None,
        );
        let expected = json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "TrafficExtension",
            "metadata": {"name": "request-block", "namespace": "istio-ingress"},
            "spec": {
                "selector": {"matchLabels": {"istio": "ingressgateway"}},
                "phase": "AUTHZ",
                "priority": 100,
                "wasm": {
                    "url": "oci://registry.example.com/plugins/request-block:1.2.0",
                    "imagePullPolicy": "IfNotPresent",
                    "imagePullSecret": "registry-pull-secret",
                    "pluginName": "request-block",
                    "failStrategy": "FAIL_OPEN",
                    "vmConfig": {"env": [
                        {"name": "POD_NAME", "valueFrom": "HOST"},
                        {"name": "TRUST_DOMAIN", "value": "cluster.local"}
                    ]},
                    "pluginConfig": {"a": 1}
                }
            }
        });
        assert_eq!(parse(&e.text), expected, "{}", e.text);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }

    #[test]
    fn what_istio_cannot_carry_is_left_out_with_warnings() {
        let mut o = ExportOptions {
            image: "oci://r.example/p:1".into(),
            vm_config: json!({"vm": true}),
            ..ExportOptions::default()
        };
        o.higress = HigressRules {
            match_rules: vec![MatchRule {
                domain: vec!["a.example".into()],
                ..MatchRule::default()
            }],
            ..HigressRules::default()
        };
        let e = export(ExportFormat::Istio, &o, &json!([1, 2]), None, None);
        let doc = parse(&e.text);
        assert_eq!(
            doc["metadata"],
            json!({"name": "my-plugin", "namespace": "default"})
        );
        assert!(doc["spec"].get("pluginConfig").is_none());
        assert_eq!(doc["spec"]["failStrategy"], "FAIL_CLOSE");
        let all = e.warnings.join("\n");
        for needle in ["match rules", "an array", "VM configuration"] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
        assert!(!e.has_errors(), "{all}");
    }

    #[test]
    fn a_missing_image_gets_a_placeholder_and_bad_names_are_errors() {
        let o = ExportOptions {
            name: "Bad_Name".into(),
            ..ExportOptions::default()
        };
        let e = export(ExportFormat::Istio, &o, &json!(null), None, None);
        assert!(
            e.warnings.iter().any(|w| w.contains("placeholder")),
            "{:?}",
            e.warnings
        );
        assert!(
            e.warnings
                .iter()
                .any(|w| w.starts_with("error: ") && w.contains("Bad_Name"))
        );
    }
}
