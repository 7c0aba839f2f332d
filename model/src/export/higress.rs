//! Higress `WasmPlugin` (`extensions.higress.io/v1alpha1`) and the `_rules_` JSON it becomes.

use serde::Serialize;
use serde_json::{Map, Value};

use super::istio::{Manifest, Metadata, VmConfigOut, plugin_name, pull_secret, vm_config, yaml};
use super::{
    ExportOptions, FailStrategy, HigressRules, MatchRule, Warnings, check_metadata, image_url,
    module_sha256, struct_config,
};

const API_VERSION: &str = "extensions.higress.io/v1alpha1";
/// Higress reads `WasmPlugin`s only from its own namespace; this is the default install's.
const NAMESPACE: &str = "higress-system";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_pull_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_pull_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<i32>,
    fail_strategy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vm_config: Option<VmConfigOut>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    default_config_disable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_config: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    match_rules: Vec<RuleOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    domain: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    service: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    config_disable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Value>,
}

/// `extensions.higress.io/v1alpha1` `WasmPlugin`.
pub(super) fn wasm_plugin(
    o: &ExportOptions,
    config: &Value,
    sha256: Option<&str>,
    w: &mut Warnings,
) -> String {
    let namespace = if o.namespace.trim().is_empty() {
        NAMESPACE.to_string()
    } else {
        o.namespace.trim().to_string()
    };
    check_metadata(&o.name, &namespace, w);
    if o.network {
        w.error(
            "Higress runs WasmPlugins as HTTP filters only (its WasmPlugin has no `type`): an L4 \
             network filter cannot be deployed this way; use the Istio or Envoy export",
        );
    }
    if namespace != NAMESPACE {
        w.warn(format!(
            "Higress reads WasmPlugins only from its own namespace ({NAMESPACE} by default); \
             `{namespace}` works only if Higress is installed there"
        ));
    }
    if !o.selector.is_empty() || !o.target_refs.is_empty() {
        w.warn(
            "Higress WasmPlugins have no selector or targetRefs (they apply to the gateway); \
             use match rules to limit them to routes, domains or services",
        );
    }
    let fail_strategy = match o.fail_strategy {
        FailStrategy::FailReload => {
            w.warn("Higress has no FAIL_RELOAD: FAIL_CLOSE was used instead");
            "FAIL_CLOSE"
        }
        other => other.istio(),
    };
    if !o.vm_config.is_null() {
        w.warn("Higress has no VM configuration: the plugin's proxy_on_vm_start will receive none");
    }
    let rules = o.higress.effective(config);
    let default_config = match &o.higress.default_config {
        Some(explicit) => struct_config(explicit, "defaultConfig", w),
        None => struct_config(config, "defaultConfig", w),
    };
    let match_rules = o
        .higress
        .match_rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleOut {
            ingress: trimmed(&r.ingress),
            domain: trimmed(&r.domain),
            service: trimmed(&r.service),
            config_disable: r.config_disable,
            config: struct_config(&r.config, &format!("matchRules[{i}].config"), w),
        })
        .collect();
    for problem in rule_problems(&rules) {
        w.error(problem);
    }
    let url = image_url(o, w);
    let spec = Spec {
        sha256: module_sha256(&url, sha256, w),
        url,
        image_pull_policy: o.image_pull_policy.map(|p| p.as_str()),
        image_pull_secret: pull_secret(o, w),
        plugin_name: plugin_name(o, w),
        phase: o.phase.map(|p| p.as_str()),
        priority: o.priority,
        fail_strategy,
        vm_config: vm_config(o, w),
        default_config_disable: o.higress.default_config_disable,
        default_config,
        match_rules,
    };
    let mut header = String::from(
        "# Higress WasmPlugin. Apply with: kubectl apply -f higress-wasmplugin.yaml\n",
    );
    if !o.higress.match_rules.is_empty() || o.higress.default_config_disable {
        let received = higress_plugin_config(&rules);
        header.push_str(&format!(
            "# The plugin receives: {}\n",
            if received.is_null() {
                "nothing (it is not applied)".into()
            } else {
                received.to_string()
            }
        ));
    }
    let manifest = Manifest {
        api_version: API_VERSION,
        kind: "WasmPlugin",
        metadata: Metadata {
            name: o.name.clone(),
            namespace,
        },
        spec,
    };
    yaml(&header, &manifest)
}

fn trimmed(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl HigressRules {
    /// These rules with `default_config` filled in from the session's configuration when unset.
    pub fn effective(&self, session_config: &Value) -> HigressRules {
        let mut rules = self.clone();
        if rules.default_config.is_none() {
            let parsed = match session_config {
                Value::String(s) => serde_json::from_str::<Value>(s)
                    .ok()
                    .filter(Value::is_object),
                other => Some(other.clone()),
            };
            rules.default_config = parsed.filter(|v| !v.is_null());
        }
        rules
    }

    /// What Higress's controller would refuse or silently do with these rules.
    pub fn problems(&self) -> Vec<String> {
        rule_problems(self)
    }
}

fn rule_problems(rules: &HigressRules) -> Vec<String> {
    let mut out = Vec::new();
    for (i, rule) in rules.match_rules.iter().enumerate() {
        if !rule.config_disable && match_keys(rule).is_empty() {
            out.push(format!(
                "match rule {} has no ingress, domain or service: Higress rejects the whole \
                 WasmPlugin (\"invalid match rule has no match condition\")",
                i + 1
            ));
        }
    }
    let enabled = rules
        .match_rules
        .iter()
        .any(|r| !r.config_disable && !match_keys(r).is_empty());
    if rules.default_config_disable && !enabled {
        out.push(
            "the default configuration is disabled and no match rule is enabled: Higress does \
             not apply the plugin at all"
                .into(),
        );
    }
    out
}

/// The `_match_*_` keys of a rule, in the order Higress's controller sets them.
fn match_keys(rule: &MatchRule) -> Vec<(&'static str, Vec<String>)> {
    [
        ("_match_route_", trimmed(&rule.ingress)),
        ("_match_service_", trimmed(&rule.service)),
        ("_match_domain_", trimmed(&rule.domain)),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

/// The configuration a plugin receives from a Higress `WasmPlugin` with these rules, as
/// Higress's controller builds it (`convertIstioWasmPlugin` in
/// `pkg/ingress/config/ingress_config.go`):
///
/// * the default configuration, unless disabled, is the top level;
/// * every enabled rule becomes an element of `_rules_`: its `config` plus `_match_route_`
///   (from `ingress`), `_match_service_` and `_match_domain_`, each only when not empty;
/// * disabled rules are dropped; `_rules_` is absent when no rule is left.
///
/// Keys are sorted, as protobuf's JSON encoding of a `Struct` writes them. The result is
/// `null` when the plugin gets no configuration, and also when Higress would not apply the
/// plugin at all (default disabled, no enabled rule) or would reject it (a rule without match
/// keys; such rules are skipped here): [`HigressRules::problems`] says which.
///
/// Use [`HigressRules::effective`] first to fall back to the session's configuration.
pub fn higress_plugin_config(rules: &HigressRules) -> Value {
    let base = if rules.default_config_disable {
        None
    } else {
        rules
            .default_config
            .as_ref()
            .and_then(Value::as_object)
            .cloned()
    };
    if rules.match_rules.is_empty() {
        return base.map(sorted).unwrap_or(Value::Null);
    }
    let mut top = base.unwrap_or_default();
    let mut values = Vec::new();
    for rule in &rules.match_rules {
        if rule.config_disable {
            continue;
        }
        let keys = match_keys(rule);
        if keys.is_empty() {
            continue;
        }
        let mut config = rule.config.as_object().cloned().unwrap_or_default();
        for (key, items) in keys {
            config.insert(
                key.into(),
                Value::Array(items.into_iter().map(Value::String).collect()),
            );
        }
        values.push(Value::Object(config));
    }
    if values.is_empty() && rules.default_config_disable {
        return Value::Null;
    }
    if !values.is_empty() {
        top.insert("_rules_".into(), Value::Array(values));
    }
    sorted(top)
}

/// Sorts object keys at every level, whatever `serde_json`'s map order is.
fn sorted(map: Map<String, Value>) -> Value {
    fn walk(v: Value) -> Value {
        match v {
            Value::Object(m) => sorted(m),
            Value::Array(items) => Value::Array(items.into_iter().map(walk).collect()),
            other => other,
        }
    }
    let mut entries: Vec<(String, Value)> = map.into_iter().map(|(k, v)| (k, walk(v))).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{
        ExportFormat, ExportOptions, FailStrategy, HigressRules, MatchRule, Phase, PullPolicy,
        TargetRef, export,
    };
    use super::higress_plugin_config;

    fn rule(key: &str, items: &[&str], config: serde_json::Value) -> MatchRule {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        let mut r = MatchRule {
            config,
            ..MatchRule::default()
        };
        match key {
            "ingress" => r.ingress = items,
            "domain" => r.domain = items,
            _ => r.service = items,
        }
        r
    }

    /// The landscape document's example (request-block, three rules, one disabled).
    fn request_block() -> HigressRules {
        let mut disabled = rule(
            "service",
            &["httpbin.default.svc.cluster.local:8080"],
            json!(null),
        );
        disabled.config_disable = true;
        HigressRules {
            default_config: None,
            default_config_disable: false,
            match_rules: vec![
                rule(
                    "ingress",
                    &["default/foo"],
                    json!({"block_bodies": ["foo"]}),
                ),
                rule(
                    "domain",
                    &["*.example.com"],
                    json!({"block_bodies": ["foo", "bar"]}),
                ),
                disabled,
            ],
        }
    }

    #[test]
    fn rules_become_what_the_controller_sends() {
        let session = json!({"block_urls": ["swagger.html"], "case_sensitive": false});
        let got = higress_plugin_config(&request_block().effective(&session));
        let expected = json!({
            "block_urls": ["swagger.html"], "case_sensitive": false,
            "_rules_": [
                {"block_bodies": ["foo"], "_match_route_": ["default/foo"]},
                {"block_bodies": ["foo", "bar"], "_match_domain_": ["*.example.com"]}
            ]
        });
        assert_eq!(got, expected);
        // Keys come out sorted, as protobuf's Struct encoding writes them.
        assert!(
            got.to_string()
                .starts_with(r#"{"_rules_":[{"_match_route_""#),
            "{got}"
        );
    }

    #[test]
    fn every_match_key_of_a_rule_is_kept_and_overrides_the_rule_config() {
        let mut r = rule(
            "ingress",
            &["r1"],
            json!({"_match_route_": "stale", "x": 1}),
        );
        r.service = vec!["svc.ns.svc.cluster.local:80".into()];
        r.domain = vec!["a.example".into()];
        let rules = HigressRules {
            match_rules: vec![r],
            default_config_disable: true,
            ..HigressRules::default()
        };
        assert_eq!(
            higress_plugin_config(&rules),
            json!({"_rules_": [{
                "_match_domain_": ["a.example"], "_match_route_": ["r1"],
                "_match_service_": ["svc.ns.svc.cluster.local:80"], "x": 1
            }]})
        );
    }

    #[test]
    fn disabled_defaults_and_missing_rules_follow_the_controller() {
        let session = json!({"a": 1});
        // No rules: the default configuration as is.
        assert_eq!(
            higress_plugin_config(&HigressRules::default().effective(&session)),
            session
        );
        // No rules and no configuration: nothing.
        assert_eq!(higress_plugin_config(&HigressRules::default()), json!(null));
        // Default disabled, a rule: only `_rules_`.
        let rules = HigressRules {
            default_config_disable: true,
            match_rules: vec![rule("domain", &["a.example"], json!(null))],
            ..HigressRules::default()
        };
        assert_eq!(
            higress_plugin_config(&rules.effective(&session)),
            json!({"_rules_": [{"_match_domain_": ["a.example"]}]})
        );
        // Default disabled, every rule disabled: not applied at all.
        let mut off = rules.clone();
        off.match_rules[0].config_disable = true;
        assert_eq!(higress_plugin_config(&off.effective(&session)), json!(null));
        assert!(
            off.problems()[0].contains("not apply"),
            "{:?}",
            off.problems()
        );
        // Rules present but all disabled, default enabled and absent: an empty object.
        off.default_config_disable = false;
        assert_eq!(higress_plugin_config(&off), json!({}));
        // A rule without a match key is rejected by the controller.
        let bad = HigressRules {
            match_rules: vec![MatchRule::default()],
            ..HigressRules::default()
        };
        assert!(
            bad.problems()[0].contains("rejects"),
            "{:?}",
            bad.problems()
        );
        // An explicit default configuration wins over the session's.
        let explicit = HigressRules {
            default_config: Some(json!({"b": 2})),
            ..HigressRules::default()
        };
        assert_eq!(
            higress_plugin_config(&explicit.effective(&session)),
            json!({"b": 2})
        );
    }

    #[test]
    fn a_higress_wasm_plugin_has_default_config_and_match_rules() {
        let o = ExportOptions {
            name: "request-block".into(),
            image: "oci://higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins/request-block:1.0.0"
                .into(),
            image_pull_policy: Some(PullPolicy::IfNotPresent),
            phase: Some(Phase::Authz),
            priority: Some(320),
            fail_strategy: FailStrategy::FailOpen,
            higress: request_block(),
            ..ExportOptions::default()
        };
        let session = json!({"block_urls": ["swagger.html"], "case_sensitive": false});
        let e = export(ExportFormat::Higress, &o, &session, None, Some("0_2_100"));
        let doc: serde_json::Value = yaml_serde::from_str(&e.text).unwrap();
        let expected = json!({
            "apiVersion": "extensions.higress.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "request-block", "namespace": "higress-system"},
            "spec": {
                "url": "oci://higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins/request-block:1.0.0",
                "imagePullPolicy": "IfNotPresent",
                "phase": "AUTHZ",
                "priority": 320,
                "failStrategy": "FAIL_OPEN",
                "defaultConfig": {"block_urls": ["swagger.html"], "case_sensitive": false},
                "matchRules": [
                    {"ingress": ["default/foo"], "config": {"block_bodies": ["foo"]}},
                    {"domain": ["*.example.com"], "config": {"block_bodies": ["foo", "bar"]}},
                    {"service": ["httpbin.default.svc.cluster.local:8080"], "configDisable": true}
                ]
            }
        });
        assert_eq!(doc, expected, "{}", e.text);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        let received = e
            .text
            .lines()
            .find(|l| l.starts_with("# The plugin receives: "))
            .unwrap();
        assert!(
            received.contains(r#""_match_domain_":["*.example.com"]"#),
            "{received}"
        );
    }

    #[test]
    fn what_higress_cannot_carry_is_left_out_with_warnings() {
        let o = ExportOptions {
            image: "oci://r.example/p:1".into(),
            namespace: "gateways".into(),
            fail_strategy: FailStrategy::FailReload,
            selector: [("app".to_string(), "gw".to_string())].into(),
            target_refs: vec![TargetRef {
                name: "gw".into(),
                ..TargetRef::default()
            }],
            higress: HigressRules {
                match_rules: vec![MatchRule::default()],
                ..HigressRules::default()
            },
            ..ExportOptions::default()
        };
        let e = export(ExportFormat::Higress, &o, &json!("not json"), None, None);
        let doc: serde_json::Value = yaml_serde::from_str(&e.text).unwrap();
        assert_eq!(doc["spec"]["failStrategy"], "FAIL_CLOSE");
        assert!(doc["spec"].get("selector").is_none() && doc["spec"].get("targetRefs").is_none());
        assert!(doc["spec"].get("defaultConfig").is_none());
        let all = e.warnings.join("\n");
        for needle in [
            "FAIL_RELOAD",
            "selector",
            "higress-system",
            "plain string",
            "error: match rule 1",
        ] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
    }
}
