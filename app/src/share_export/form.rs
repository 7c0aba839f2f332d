//! The export form as plain data (no `leptos`, no `web_sys`; unit-tested natively).
//!
//! [`FormData`] is what the dialog's inputs hold, as text where the user types free text, so
//! that half-typed input (`a,` in a list, `{"a":` in a JSON box) is never rewritten under the
//! cursor. [`FormData::from_session`] fills it from the session; [`FormData::options`] turns
//! it into [`ExportOptions`] for one format, keeping only the fields that format shows.

use std::collections::BTreeMap;

use pwp_model::Scenario;
use pwp_model::export::{
    EnvVar, ExportFormat, ExportOptions, FailStrategy, HigressRules, MatchRule, Phase, PullPolicy,
    TargetRef,
};
use pwp_model::scenario::PluginRef;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// What an Istio resource attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Attach {
    /// No selector: every workload of the namespace (the whole mesh in the root namespace).
    #[default]
    Namespace,
    /// `selector.matchLabels`.
    Selector,
    /// Gateway API `targetRefs`.
    Targets,
}

impl Attach {
    /// Every choice, in menu order.
    pub const ALL: [Attach; 3] = [Attach::Namespace, Attach::Selector, Attach::Targets];

    /// The `<option>` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Attach::Namespace => "namespace",
            Attach::Selector => "selector",
            Attach::Targets => "targets",
        }
    }

    /// The menu label.
    pub fn label(self) -> &'static str {
        match self {
            Attach::Namespace => "every workload of the namespace",
            Attach::Selector => "workloads with these labels (selector)",
            Attach::Targets => "Gateway API targets (targetRefs)",
        }
    }

    /// The choice whose value is `value` (the first one when unknown).
    pub fn from_value(value: &str) -> Attach {
        Attach::ALL
            .into_iter()
            .find(|a| a.as_str() == value)
            .unwrap_or_default()
    }
}

/// The kinds a `targetRef` may name, with their API group.
pub const TARGET_KINDS: [(&str, &str); 4] = [
    ("Gateway", "gateway.networking.k8s.io"),
    ("GatewayClass", "gateway.networking.k8s.io"),
    ("Service", ""),
    ("ServiceEntry", "networking.istio.io"),
];

/// The API group of a target kind.
pub fn group_of(kind: &str) -> &'static str {
    TARGET_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("gateway.networking.k8s.io", |(_, g)| g)
}

/// One Higress match rule as typed: lists as comma- or line-separated text, config as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleText {
    /// Route names (`default/foo`).
    pub ingress: String,
    /// Domains (`*.example.com`).
    pub domain: String,
    /// Services (`svc.ns.svc.cluster.local[:port]`).
    pub service: String,
    /// The rule's configuration, a JSON (or YAML) object; empty for none.
    pub config: String,
    /// `configDisable`.
    pub disable: bool,
}

/// Everything the export form holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FormData {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; empty takes the format's default.
    pub namespace: String,
    /// Image URL.
    pub image: String,
    /// `""`, `IfNotPresent` or `Always`.
    pub pull_policy: String,
    /// Pull secret name; empty for none.
    pub pull_secret: String,
    /// `""`, `AUTHN`, `AUTHZ` or `STATS`.
    pub phase: String,
    /// Priority as typed; empty for none.
    pub priority: String,
    /// `FAIL_CLOSE`, `FAIL_OPEN` or `FAIL_RELOAD`.
    pub fail_strategy: String,
    /// The root id (`pluginName`).
    pub plugin_name: String,
    /// VM environment variables.
    pub env: Vec<EnvVar>,
    /// What an Istio resource attaches to.
    pub attach: Attach,
    /// `key=value` lines.
    pub selector: String,
    /// `targetRefs`; the group follows the kind.
    pub targets: Vec<TargetRef>,
    /// Higress `defaultConfig` as JSON (or YAML) text; empty for none.
    pub default_config: String,
    /// Higress `defaultConfigDisable`.
    pub default_disable: bool,
    /// Higress `matchRules`.
    pub rules: Vec<RuleText>,
    /// The session's VM configuration (not edited here).
    pub vm_config: Value,
    /// The `.wasm` file name for the Dockerfile's `COPY`.
    pub wasm_file: String,
}

impl Default for FormData {
    fn default() -> Self {
        FormData::from_session(&Scenario::default(), None, "")
    }
}

impl FormData {
    /// The form for a session: `plugin` is the loaded plugin's source (or `None`), `plugin_name`
    /// what the app calls it (file name, example name, URL).
    pub fn from_session(
        scenario: &Scenario,
        plugin: Option<&PluginRef>,
        plugin_name: &str,
    ) -> Self {
        let plugin = plugin.or(scenario.plugin.as_ref());
        let wasm_file = wasm_file_name(plugin, plugin_name);
        let mut named = scenario.clone();
        named.plugin = wasm_file.clone().map(|file| PluginRef {
            file_name: Some(file),
            ..PluginRef::default()
        });
        let o = ExportOptions::from_scenario(&named);
        let wasm_file = wasm_file.unwrap_or_else(|| "plugin.wasm".into());
        let (default_config, rules) = split_rules(&scenario.settings.config);
        FormData {
            name: o.name,
            namespace: String::new(),
            image: String::new(),
            pull_policy: String::new(),
            pull_secret: String::new(),
            phase: String::new(),
            priority: String::new(),
            fail_strategy: enum_name(&o.fail_strategy),
            plugin_name: o.plugin_name,
            env: o.vm_env,
            attach: Attach::Namespace,
            selector: String::new(),
            targets: Vec::new(),
            default_config,
            default_disable: false,
            rules,
            vm_config: o.vm_config,
            wasm_file,
        }
    }

    /// This form with what comes from the session replaced by `fresh`'s (a changed session);
    /// the deployment choices the user made (namespace, image, pull settings, phase, priority,
    /// attachment) are kept, and so is the name unless the plugin changed.
    pub fn refreshed(&self, fresh: FormData, plugin_changed: bool) -> FormData {
        FormData {
            name: if plugin_changed {
                fresh.name
            } else {
                self.name.clone()
            },
            namespace: self.namespace.clone(),
            image: self.image.clone(),
            pull_policy: self.pull_policy.clone(),
            pull_secret: self.pull_secret.clone(),
            phase: self.phase.clone(),
            priority: self.priority.clone(),
            attach: self.attach,
            selector: self.selector.clone(),
            targets: self.targets.clone(),
            ..fresh
        }
    }

    /// The export options for `format`, and what in the form could not be used (each an
    /// `error: ` line, in the style of the export's own warnings).
    ///
    /// Only the fields the form shows for `format` are passed on (see [`shows`]).
    pub fn options(&self, format: ExportFormat) -> (ExportOptions, Vec<String>) {
        let mut errors = Vec::new();
        let mut o = ExportOptions {
            name: self.name.trim().to_string(),
            image: self.image.trim().to_string(),
            vm_config: self.vm_config.clone(),
            wasm_file: self.wasm_file.trim().to_string(),
            ..ExportOptions::default()
        };
        if shows(format, Field::Namespace) {
            o.namespace = self.namespace.trim().to_string();
        }
        if shows(format, Field::Pull) {
            o.image_pull_policy = parse_enum::<PullPolicy>(&self.pull_policy);
            o.image_pull_secret =
                Some(self.pull_secret.trim().to_string()).filter(|s| !s.is_empty());
        }
        if shows(format, Field::Phase) {
            o.phase = parse_enum::<Phase>(&self.phase);
            let priority = self.priority.trim();
            if !priority.is_empty() {
                match priority.parse::<i32>() {
                    Ok(p) => o.priority = Some(p),
                    Err(_) => errors.push(format!(
                        "error: priority `{priority}` is not a whole number (-2147483648 to 2147483647); it was left out"
                    )),
                }
            }
        }
        if shows(format, Field::FailStrategy) {
            o.fail_strategy = parse_enum::<FailStrategy>(&self.fail_strategy).unwrap_or_default();
        }
        if shows(format, Field::PluginName) {
            o.plugin_name = self.plugin_name.trim().to_string();
        }
        if shows(format, Field::Env) {
            o.vm_env = self
                .env
                .iter()
                .filter(|v| !(v.name.trim().is_empty() && v.value.is_empty()))
                .map(|v| EnvVar {
                    name: v.name.trim().to_string(),
                    value: if v.from_host {
                        String::new()
                    } else {
                        v.value.clone()
                    },
                    from_host: v.from_host,
                })
                .collect();
        }
        if shows(format, Field::Attach) {
            match self.attach {
                Attach::Namespace => {}
                Attach::Selector => o.selector = parse_labels(&self.selector, &mut errors),
                Attach::Targets => {
                    for (i, t) in self.targets.iter().enumerate() {
                        if t.name.trim().is_empty() {
                            errors.push(format!(
                                "error: target {} has no name; it was left out",
                                i + 1
                            ));
                            continue;
                        }
                        o.target_refs.push(TargetRef {
                            group: group_of(&t.kind).to_string(),
                            kind: t.kind.clone(),
                            name: t.name.trim().to_string(),
                        });
                    }
                }
            }
        }
        if shows(format, Field::HigressRules) {
            o.higress = self.higress_rules(&mut errors);
        }
        (o, errors)
    }

    /// The Higress rules of the form; a JSON box that does not parse is left out with an error.
    pub fn higress_rules(&self, errors: &mut Vec<String>) -> HigressRules {
        let default_config =
            parse_object(&self.default_config, "the default configuration", errors);
        let match_rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| MatchRule {
                ingress: list(&r.ingress),
                domain: list(&r.domain),
                service: list(&r.service),
                config: parse_object(
                    &r.config,
                    &format!("the configuration of rule {}", i + 1),
                    errors,
                ),
                config_disable: r.disable,
            })
            .collect();
        HigressRules {
            // Always explicit: an empty box means no default configuration, not the session's.
            default_config: Some(default_config),
            default_config_disable: self.default_disable,
            match_rules,
        }
    }
}

/// A group of form fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `metadata.namespace`.
    Namespace,
    /// `imagePullPolicy`, `imagePullSecret`.
    Pull,
    /// `phase`, `priority`.
    Phase,
    /// `failStrategy`.
    FailStrategy,
    /// `pluginName`.
    PluginName,
    /// `vmConfig.env`.
    Env,
    /// `selector` / `targetRefs`.
    Attach,
    /// Higress `defaultConfig`, `matchRules`.
    HigressRules,
    /// The Dockerfile's `COPY` source.
    WasmFile,
}

/// Whether the form shows `field` for `format` (and passes it to the export).
pub fn shows(format: ExportFormat, field: Field) -> bool {
    use ExportFormat as F;
    let kubernetes = matches!(format, F::Istio | F::TrafficExtension | F::Higress);
    match field {
        Field::Namespace | Field::Pull | Field::Phase => kubernetes,
        Field::FailStrategy | Field::PluginName | Field::Env => kubernetes || format == F::Envoy,
        Field::Attach => matches!(format, F::Istio | F::TrafficExtension),
        Field::HigressRules => format == F::Higress,
        Field::WasmFile => format == F::Dockerfile,
    }
}

/// The namespace an empty namespace field stands for.
pub fn default_namespace(format: ExportFormat) -> &'static str {
    if format == ExportFormat::Higress {
        "higress-system"
    } else {
        "default"
    }
}

/// The file the Dockerfile copies: the loaded file's name, `<example>.wasm` or the URL's last
/// segment.
fn wasm_file_name(plugin: Option<&PluginRef>, name: &str) -> Option<String> {
    let from_ref = plugin.and_then(|p| {
        p.file_name
            .clone()
            .or_else(|| p.example.as_ref().map(|e| format!("{e}.wasm")))
            .or_else(|| p.url.as_deref().and_then(last_segment))
    });
    from_ref.or_else(|| last_segment(name))
}

fn last_segment(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("").trim();
    if last.is_empty() {
        None
    } else if last.ends_with(".wasm") {
        Some(last.to_string())
    } else {
        Some(format!("{last}.wasm"))
    }
}

/// The serde name of an enum value (`FAIL_CLOSE`).
fn enum_name<T: serde::Serialize>(value: &T) -> String {
    pwp_model::json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The enum value whose serde name is `text`; `None` for empty or unknown text.
fn parse_enum<T: DeserializeOwned>(text: &str) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    serde_json::from_value(Value::String(text.to_string())).ok()
}

/// The items of a comma-, space- or line-separated list.
pub fn list(text: &str) -> Vec<String> {
    text.split([',', '\n', ' ', '\t', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `key=value` (or `key: value`) lines as labels.
fn parse_labels(text: &str, errors: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once('=').or_else(|| line.split_once(':')) {
            Some((k, v)) if !k.trim().is_empty() => {
                labels.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => errors.push(format!(
                "error: selector line `{line}` is not `key=value`; it was left out"
            )),
        }
    }
    labels
}

/// A JSON (or YAML) object typed in a box; `null` for an empty box, or with an error for text
/// that is not an object.
fn parse_object(text: &str, what: &str, errors: &mut Vec<String>) -> Value {
    let text = text.trim();
    if text.is_empty() {
        return Value::Null;
    }
    let parsed =
        serde_json::from_str::<Value>(text).or_else(|json_error| {
            match yaml_serde::from_str::<Value>(text) {
                Ok(v) if v.is_object() => Ok(v),
                _ => Err(format!(
                    "is not valid JSON (line {}, column {}: {json_error})",
                    json_error.line(),
                    json_error.column()
                )),
            }
        });
    match parsed {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            errors.push(format!(
                "error: {what} must be a JSON object; it was left out"
            ));
            Value::Null
        }
        Err(why) => {
            errors.push(format!("error: {what} {why}; it was left out"));
            Value::Null
        }
    }
}

/// Pretty JSON of an object, or `""` for `null` and an empty object.
fn object_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Object(m) if m.is_empty() => String::new(),
        Value::String(s) => s.clone(),
        other => pwp_model::json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// The match keys Higress's controller writes, and the rule field each comes from.
const MATCH_KEYS: [&str; 3] = ["_match_route_", "_match_domain_", "_match_service_"];

/// Splits a configuration that already holds Higress `_rules_` (what a plugin receives) back
/// into the default configuration and the match rules that produce it, so that exporting it as
/// a Higress `WasmPlugin` gives `defaultConfig` + `matchRules` instead of a `defaultConfig`
/// with `_rules_` inside. A configuration whose rules cannot be written as match rules (other
/// `_match_*_` keys, lists that are not strings) is kept whole as the default configuration.
pub fn split_rules(config: &Value) -> (String, Vec<RuleText>) {
    let parsed;
    let config = match config {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => {
                parsed = v;
                &parsed
            }
            _ => return (s.clone(), Vec::new()),
        },
        other => other,
    };
    let whole = || (object_text(config), Vec::new());
    let Some(object) = config.as_object() else {
        return whole();
    };
    let Some(Value::Array(items)) = object.get("_rules_") else {
        return whole();
    };
    let mut rules = Vec::new();
    for item in items {
        let Some(rule) = item.as_object() else {
            return whole();
        };
        let mut lists: [Vec<String>; 3] = Default::default();
        let mut rest = Map::new();
        for (key, value) in rule {
            if let Some(i) = MATCH_KEYS.iter().position(|k| k == key) {
                let Some(items) = value.as_array() else {
                    return whole();
                };
                for item in items {
                    let Some(s) = item.as_str() else {
                        return whole();
                    };
                    lists[i].push(s.to_string());
                }
            } else if key.starts_with("_match_") {
                return whole();
            } else {
                rest.insert(key.clone(), value.clone());
            }
        }
        if lists.iter().all(Vec::is_empty) {
            return whole();
        }
        let [ingress, domain, service] = lists;
        rules.push(RuleText {
            ingress: ingress.join(", "),
            domain: domain.join(", "),
            service: service.join(", "),
            config: object_text(&Value::Object(rest)),
            disable: false,
        });
    }
    let mut default = object.clone();
    default.remove("_rules_");
    (object_text(&Value::Object(default)), rules)
}

#[cfg(test)]
mod tests {
    use pwp_model::export::{ExportFormat, higress_plugin_config};
    use serde_json::json;

    use super::*;

    fn scenario(json: &str) -> Scenario {
        Scenario::parse(json).unwrap()
    }

    #[test]
    fn the_form_takes_what_the_session_says() {
        let s = scenario(
            r#"{"plugin":{"example":"go-headers"},
                "settings":{"root_id":"rb","fail_open":true,"env":{"A":"1"},"config":{"x":1}}}"#,
        );
        let f = FormData::from_session(&s, None, "");
        assert_eq!(f.name, "go-headers");
        assert_eq!(f.wasm_file, "go-headers.wasm");
        assert_eq!(f.plugin_name, "rb");
        assert_eq!(f.fail_strategy, "FAIL_OPEN");
        assert_eq!(f.env.len(), 1);
        assert_eq!(f.default_config, "{\n  \"x\": 1\n}");
        assert!(f.rules.is_empty());

        let loaded = PluginRef {
            url: Some("https://example.com/dl/Request Block.wasm?x=1".into()),
            ..PluginRef::default()
        };
        let f = FormData::from_session(&s, Some(&loaded), "whatever");
        assert_eq!(f.wasm_file, "Request Block.wasm");
        assert_eq!(f.name, "request-block");
        let f = FormData::from_session(&Scenario::default(), None, "");
        assert_eq!(
            (f.name.as_str(), f.wasm_file.as_str()),
            ("my-plugin", "plugin.wasm")
        );
    }

    #[test]
    fn options_keep_only_what_the_format_shows() {
        let f = FormData {
            namespace: "istio-ingress".into(),
            phase: "AUTHZ".into(),
            priority: "10".into(),
            pull_policy: "Always".into(),
            pull_secret: " pull ".into(),
            attach: Attach::Selector,
            selector: "istio=ingressgateway\n\napp: web\n".into(),
            rules: vec![RuleText {
                domain: "a.example".into(),
                ..RuleText::default()
            }],
            ..FormData::default()
        };
        let (o, errors) = f.options(ExportFormat::Istio);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(o.namespace, "istio-ingress");
        assert_eq!(o.phase, Some(Phase::Authz));
        assert_eq!(o.priority, Some(10));
        assert_eq!(o.image_pull_policy, Some(PullPolicy::Always));
        assert_eq!(o.image_pull_secret.as_deref(), Some("pull"));
        assert_eq!(o.selector.len(), 2);
        assert!(o.higress.match_rules.is_empty());

        let (o, _) = f.options(ExportFormat::Higress);
        assert!(o.selector.is_empty());
        assert_eq!(o.higress.match_rules.len(), 1);
        assert_eq!(o.higress.default_config, Some(Value::Null));

        let (o, _) = f.options(ExportFormat::Envoy);
        assert_eq!(
            (o.phase, o.priority, o.namespace.as_str()),
            (None, None, "")
        );
        assert_eq!(o.image_pull_policy, None);
    }

    #[test]
    fn bad_input_is_left_out_with_an_error() {
        let mut f = FormData {
            priority: "high".into(),
            attach: Attach::Targets,
            targets: vec![
                TargetRef {
                    kind: "Service".into(),
                    name: "web".into(),
                    ..TargetRef::default()
                },
                TargetRef::default(),
            ],
            ..FormData::default()
        };
        let (o, errors) = f.options(ExportFormat::TrafficExtension);
        assert_eq!(o.priority, None);
        assert_eq!(o.target_refs.len(), 1);
        assert_eq!(o.target_refs[0].group, "");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| e.starts_with("error: ")));

        f.default_config = "{\"a\":".into();
        f.rules = vec![RuleText {
            ingress: "default/foo".into(),
            config: "[1]".into(),
            ..RuleText::default()
        }];
        let mut errors = Vec::new();
        let rules = f.higress_rules(&mut errors);
        assert_eq!(rules.default_config, Some(Value::Null));
        assert_eq!(rules.match_rules[0].config, Value::Null);
        assert!(errors[0].contains("not valid JSON"), "{errors:?}");
        assert!(
            errors[1].contains("rule 1 must be a JSON object"),
            "{errors:?}"
        );

        f.default_config = "a: 1\nb: [x]".into();
        let mut errors = Vec::new();
        let rules = f.higress_rules(&mut errors);
        assert_eq!(rules.default_config, Some(json!({"a": 1, "b": ["x"]})));
    }

    #[test]
    fn rules_in_the_config_split_into_match_rules_and_back() {
        let config = json!({
            "blocked_code": 403,
            "_rules_": [
                {"_match_route_": ["default/internal-api"], "block_urls": ["/internal"]},
                {"_match_domain_": ["*.example.com", "b.example"], "block_headers": ["x-debug"]},
                {"_match_service_": ["legacy.default.svc.cluster.local"]}
            ]
        });
        let (default, rules) = split_rules(&config);
        assert_eq!(default, "{\n  \"blocked_code\": 403\n}");
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1].domain, "*.example.com, b.example");
        assert_eq!(rules[2].config, "");
        let form = FormData {
            default_config: default,
            rules,
            ..FormData::default()
        };
        let mut errors = Vec::new();
        let received = higress_plugin_config(&form.higress_rules(&mut errors));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(received, config);

        // A string holding the object splits the same way.
        let (_, rules) = split_rules(&Value::String(config.to_string()));
        assert_eq!(rules.len(), 3);
    }

    #[test]
    fn rules_that_match_rules_cannot_express_stay_whole() {
        for config in [
            json!({"_rules_": [{"_match_route_prefix_": ["/a"]}]}),
            json!({"_rules_": [{"_match_route_": [1]}]}),
            json!({"_rules_": [{"no_match": true}]}),
            json!({"_rules_": "x"}),
            json!([1, 2]),
        ] {
            let (default, rules) = split_rules(&config);
            assert!(rules.is_empty(), "{config}");
            assert_eq!(
                serde_json::from_str::<Value>(&default).unwrap(),
                config,
                "{config}"
            );
        }
        assert_eq!(split_rules(&Value::Null), (String::new(), Vec::new()));
        assert_eq!(split_rules(&json!("k=v")).0, "k=v");
    }

    #[test]
    fn refreshing_keeps_the_deployment_choices() {
        let old = FormData {
            image: "oci://r/p:1".into(),
            name: "custom".into(),
            plugin_name: "old-root".into(),
            ..FormData::default()
        };
        let fresh = FormData {
            plugin_name: "new-root".into(),
            name: "fresh".into(),
            ..FormData::default()
        };
        let kept = old.refreshed(fresh.clone(), false);
        assert_eq!(
            (
                kept.image.as_str(),
                kept.name.as_str(),
                kept.plugin_name.as_str()
            ),
            ("oci://r/p:1", "custom", "new-root")
        );
        assert_eq!(old.refreshed(fresh, true).name, "fresh");
    }

    #[test]
    fn lists_split_on_commas_spaces_and_lines() {
        assert_eq!(list(" a, b\nc  d,,"), ["a", "b", "c", "d"]);
        assert!(list(" , ").is_empty());
        assert_eq!(group_of("ServiceEntry"), "networking.istio.io");
        assert_eq!(Attach::from_value("targets"), Attach::Targets);
        assert_eq!(Attach::from_value("?"), Attach::Namespace);
    }
}
