//! Test-only: validates exported manifests against the published CRD schemas.
//!
//! The CRDs are copies of the upstream files in `schema/crds/` (or `$PWP_SCHEMAS_DIR`; each
//! file names its upstream project, path and version). This is a small validator for the OpenAPI v3 subset that structural
//! CRD schemas use: `type`, `nullable`, `enum`, `required`, `properties` (unknown fields are
//! errors, as with `kubectl apply --validate=strict`), `additionalProperties`,
//! `x-kubernetes-preserve-unknown-fields`, `pattern`, `minLength`/`maxLength`,
//! `minItems`/`maxItems`, `maxProperties`, `minimum`/`maximum`, `format: int32`, `oneOf`,
//! `anyOf`, `allOf`, `not`, `x-kubernetes-list-type: map|set`, and the CEL rules
//! (`x-kubernetes-validations`) of these CRDs, evaluated by hand. A schema keyword or a CEL
//! rule it does not know is an error, so a schema update cannot silently weaken the test.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// Keywords the validator understands (descriptions and list metadata included).
const KNOWN_KEYWORDS: &[&str] = &[
    "type",
    "nullable",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "x-kubernetes-preserve-unknown-fields",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "format",
    "items",
    "oneOf",
    "anyOf",
    "allOf",
    "not",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-int-or-string",
    "description",
];

/// Where the published schemas are: the repository's copy unless `PWP_SCHEMAS_DIR` says otherwise.
pub(super) fn schemas_dir() -> PathBuf {
    match std::env::var_os("PWP_SCHEMAS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/crds"),
    }
}

/// Every `CustomResourceDefinition` document in the `*.yaml` files of `dir`.
pub(super) fn load_crds(dir: &Path) -> Result<Vec<Value>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "the published CRD schemas are missing: cannot read {} ({e}). They live in \
             schema/crds/ in the repository (set PWP_SCHEMAS_DIR to point elsewhere).",
            dir.display()
        )
    })?;
    let mut crds = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for doc in yaml_serde::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc).map_err(|e| format!("{}: {e}", path.display()))?;
            if value["kind"] == "CustomResourceDefinition" {
                crds.push(value);
            }
        }
    }
    if crds.is_empty() {
        return Err(format!(
            "no CustomResourceDefinition found in {}",
            dir.display()
        ));
    }
    Ok(crds)
}

/// The `openAPIV3Schema` of `kind` at `api_version` (`group/version`).
pub(super) fn crd_schema(crds: &[Value], api_version: &str, kind: &str) -> Result<Value, String> {
    let (group, version) = api_version
        .split_once('/')
        .ok_or_else(|| format!("`{api_version}` is not group/version"))?;
    let crd = crds
        .iter()
        .find(|c| c["spec"]["group"] == group && c["spec"]["names"]["kind"] == kind)
        .ok_or_else(|| format!("no CRD for {kind} in group {group}"))?;
    let v = crd["spec"]["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == version))
        .ok_or_else(|| format!("the {kind} CRD has no version {version}"))?;
    if v["served"] != true {
        return Err(format!("{kind} {version} is not served"));
    }
    Ok(v["schema"]["openAPIV3Schema"].clone())
}

/// Validates a whole exported manifest (YAML text) against the CRD of its kind; returns errors.
pub(super) fn validate_manifest(crds: &[Value], text: &str) -> Vec<String> {
    let doc: Value = match yaml_serde::from_str(text) {
        Ok(d) => d,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    let (Some(api_version), Some(kind)) = (doc["apiVersion"].as_str(), doc["kind"].as_str()) else {
        return vec!["apiVersion and kind are required".into()];
    };
    let schema = match crd_schema(crds, api_version, kind) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    let meta = &doc["metadata"];
    if !meta["name"].is_string() || !meta["namespace"].is_string() {
        errors.push("metadata.name and metadata.namespace are required".into());
    }
    // apiVersion, kind and metadata are implicit in every CRD; the schema covers the rest.
    let mut body = doc.as_object().cloned().unwrap_or_default();
    for key in ["apiVersion", "kind", "metadata"] {
        body.remove(key);
    }
    validate(&schema, &Value::Object(body), "", &mut errors);
    errors
}

/// Appends to `errors` every way `value` breaks `schema`.
pub(super) fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let here = if path.is_empty() { "<root>" } else { path };
    let Some(s) = schema.as_object() else {
        errors.push(format!("{here}: the schema is not an object"));
        return;
    };
    for key in s.keys() {
        if !KNOWN_KEYWORDS.contains(&key.as_str()) {
            errors.push(format!("{here}: unsupported schema keyword `{key}`"));
        }
    }
    if value.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    let int_or_string = s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if let Some(ty) = s.get("type").and_then(Value::as_str)
        && !int_or_string
    {
        let ok = match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => {
                errors.push(format!("{here}: unsupported type `{other}`"));
                return;
            }
        };
        if !ok {
            errors.push(format!("{here}: expected {ty}, found {}", short(value)));
            return;
        }
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!(
            "{here}: {} is not one of {}",
            short(value),
            Value::Array(options.clone())
        ));
    }
    if let Some(text) = value.as_str() {
        check_string(s, text, here, errors);
    }
    if let Some(n) = value.as_f64() {
        check_number(s, value, n, here, errors);
    }
    if let Some(items) = value.as_array() {
        check_array(s, items, path, errors);
    }
    if let Some(map) = value.as_object() {
        check_object(s, map, path, errors);
    }
    check_combinators(s, value, here, path, errors);
    if let Some(rules) = s.get("x-kubernetes-validations").and_then(Value::as_array) {
        for r in rules {
            let rule = r["rule"].as_str().unwrap_or_default();
            match eval_cel(rule, value) {
                Ok(true) => {}
                Ok(false) => {
                    errors.push(format!("{here}: {}", r["message"].as_str().unwrap_or(rule)))
                }
                Err(e) => errors.push(format!("{here}: {e}")),
            }
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn check_string(s: &Map<String, Value>, text: &str, here: &str, errors: &mut Vec<String>) {
    let len = text.chars().count() as u64;
    if let Some(min) = s.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        errors.push(format!("{here}: shorter than {min} characters"));
    }
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        errors.push(format!("{here}: longer than {max} characters"));
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
        match regex_lite::Regex::new(pattern) {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => errors.push(format!("{here}: `{text}` does not match {pattern}")),
            Err(e) => errors.push(format!("{here}: unsupported pattern {pattern}: {e}")),
        }
    }
    if let Some(format) = s.get("format").and_then(Value::as_str) {
        errors.push(format!("{here}: unsupported string format `{format}`"));
    }
}

fn check_number(
    s: &Map<String, Value>,
    value: &Value,
    n: f64,
    here: &str,
    errors: &mut Vec<String>,
) {
    if let Some(min) = s.get("minimum").and_then(Value::as_f64)
        && n < min
    {
        errors.push(format!("{here}: {value} is below {min}"));
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64)
        && n > max
    {
        errors.push(format!("{here}: {value} is above {max}"));
    }
    match s.get("format").and_then(Value::as_str) {
        None | Some("int64") => {}
        Some("int32") => {
            if value.as_i64().is_none_or(|i| i32::try_from(i).is_err()) {
                errors.push(format!("{here}: {value} is not an int32"));
            }
        }
        Some(other) => errors.push(format!("{here}: unsupported number format `{other}`")),
    }
}

fn check_array(s: &Map<String, Value>, items: &[Value], path: &str, errors: &mut Vec<String>) {
    let here = if path.is_empty() { "<root>" } else { path };
    let n = items.len() as u64;
    if let Some(min) = s.get("minItems").and_then(Value::as_u64)
        && n < min
    {
        errors.push(format!("{here}: fewer than {min} items"));
    }
    if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
        && n > max
    {
        errors.push(format!("{here}: more than {max} items"));
    }
    if let Some(item_schema) = s.get("items") {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        None | Some("atomic") => {}
        Some("set") => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    errors.push(format!("{here}[{i}]: duplicate item in a set"));
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |v: &Value| keys.iter().map(|k| v[*k].clone()).collect::<Vec<_>>();
            for (i, item) in items.iter().enumerate() {
                if items[..i].iter().any(|other| key_of(other) == key_of(item)) {
                    errors.push(format!("{here}[{i}]: duplicate entry for key {keys:?}"));
                }
            }
        }
        Some(other) => errors.push(format!("{here}: unsupported list type `{other}`")),
    }
}

fn check_object(
    s: &Map<String, Value>,
    map: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<String>,
) {
    let here = if path.is_empty() { "<root>" } else { path };
    let child = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    if let Some(required) = s.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(key) {
                errors.push(format!("{here}: `{key}` is required"));
            }
        }
    }
    let n = map.len() as u64;
    if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
        && n > max
    {
        errors.push(format!("{here}: more than {max} properties"));
    }
    if let Some(min) = s.get("minProperties").and_then(Value::as_u64)
        && n < min
    {
        errors.push(format!("{here}: fewer than {min} properties"));
    }
    let properties = s.get("properties").and_then(Value::as_object);
    let additional = s.get("additionalProperties");
    let preserve = s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let is_object_schema =
        s.get("type").and_then(Value::as_str) == Some("object") || properties.is_some();
    for (key, v) in map {
        if let Some(prop) = properties.and_then(|p| p.get(key)) {
            validate(prop, v, &child(key), errors);
        } else if let Some(extra @ Value::Object(_)) = additional {
            validate(extra, v, &child(key), errors);
        } else if is_object_schema && !preserve && additional != Some(&Value::Bool(true)) {
            errors.push(format!("{}: unknown field", child(key)));
        }
    }
}

fn check_combinators(
    s: &Map<String, Value>,
    value: &Value,
    here: &str,
    path: &str,
    errors: &mut Vec<String>,
) {
    let passes = |sub: &Value| {
        let mut e = Vec::new();
        validate(sub, value, path, &mut e);
        e.is_empty()
    };
    if let Some(subs) = s.get("oneOf").and_then(Value::as_array) {
        let n = subs.iter().filter(|sub| passes(sub)).count();
        if n != 1 {
            errors.push(format!(
                "{here}: matches {n} of the oneOf alternatives, not exactly 1"
            ));
        }
    }
    if let Some(subs) = s.get("anyOf").and_then(Value::as_array)
        && !subs.iter().any(passes)
    {
        errors.push(format!("{here}: matches none of the anyOf alternatives"));
    }
    if let Some(subs) = s.get("allOf").and_then(Value::as_array) {
        for sub in subs {
            validate(sub, value, path, errors);
        }
    }
    if let Some(sub) = s.get("not")
        && passes(sub)
    {
        errors.push(format!("{here}: matches a schema it must not match"));
    }
}

/// Evaluates the CEL rules these CRDs use; any other rule is an error.
pub(super) fn eval_cel(rule: &str, v: &Value) -> Result<bool, String> {
    let rule = rule.split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |field: &str| v.get(field).is_some_and(|f| !f.is_null());
    let as_str = || {
        v.as_str()
            .ok_or_else(|| format!("CEL `{rule}` on a non-string"))
    };
    let keys = || {
        v.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .ok_or_else(|| format!("CEL `{rule}` on a non-map"))
    };
    match rule.as_str() {
        r#"!self.contains("*")"# => return Ok(!as_str()?.contains('*')),
        r#"self.all(key, !key.contains("*"))"# => {
            return Ok(keys()?.iter().all(|k| !k.contains('*')));
        }
        "self.all(key, key.size() != 0)" => return Ok(keys()?.iter().all(|k| !k.is_empty())),
        "self.size() == 0" => return Ok(as_str()?.is_empty()),
        r#"(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)"# => {
            return Ok(v["valueFrom"] != "HOST" || !has("value"));
        }
        "has(self.wasm) != has(self.lua)" => return Ok(has("wasm") != has("lua")),
        _ => {}
    }
    // (has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) + ... <= 1
    if let Some(terms) = rule.strip_suffix(" <= 1") {
        let fields: Option<Vec<&str>> = terms
            .split(" + ")
            .map(|t| t.strip_prefix("(has(self.")?.strip_suffix(") ? 1 : 0)"))
            .collect();
        if let Some(fields) = fields {
            return Ok(fields.iter().filter(|f| has(f)).count() <= 1);
        }
    }
    // isURL(self) ? (url(self).getScheme() in [...]) : (isURL("http://" + self) && url("http://" + self).getScheme() in [...])
    if let Some(rest) = rule.strip_prefix("isURL(self) ? (url(self).getScheme() in [")
        && rule.contains(r#": (isURL("http://" + self) && url("http://" + self).getScheme() in ["#)
    {
        let list = rest.split(']').next().unwrap_or_default();
        let schemes: Vec<String> = list
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect();
        let url = as_str()?;
        let scheme = url_scheme_of(url);
        return Ok(match scheme {
            Some(s) => schemes.contains(&s),
            // Not a URL on its own: valid if `http://` + it is one.
            None => {
                schemes.iter().any(|s| s == "http")
                    && !url.is_empty()
                    && !url.contains(char::is_whitespace)
            }
        });
    }
    Err(format!("unsupported CEL rule `{rule}`"))
}

/// The scheme of an absolute URL (`Some("")` for an absolute path), or `None` when the string
/// is not a URL by itself (Go's `url.ParseRequestURI`, which CEL's `isURL` uses, refuses it).
fn url_scheme_of(s: &str) -> Option<String> {
    if s.starts_with('/') {
        return Some(String::new());
    }
    let (scheme, _) = s.split_once(':')?;
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{
        EnvVar, ExportFormat, ExportOptions, FailStrategy, HigressRules, MatchRule, Phase,
        PullPolicy, TargetRef, export,
    };
    use super::*;

    fn crds() -> Vec<Value> {
        load_crds(&schemas_dir()).unwrap_or_else(|e| panic!("{e}"))
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// Option sets that together use every field the exporters write.
    fn option_sets() -> Vec<ExportOptions> {
        let full = ExportOptions {
            name: "request-block".into(),
            namespace: "istio-ingress".into(),
            image: "https://example.com/plugins/request-block.wasm".into(),
            image_pull_policy: Some(PullPolicy::Always),
            image_pull_secret: Some("pull-secret".into()),
            phase: Some(Phase::Authn),
            priority: Some(-5),
            fail_strategy: FailStrategy::FailReload,
            plugin_name: "request-block".into(),
            vm_env: vec![
                EnvVar {
                    name: "POD_NAME".into(),
                    value: String::new(),
                    from_host: true,
                },
                EnvVar {
                    name: "A".into(),
                    value: "1".into(),
                    from_host: false,
                },
            ],
            selector: [("istio".to_string(), "ingressgateway".to_string())].into(),
            higress: HigressRules {
                default_config: Some(json!({"global": true})),
                default_config_disable: true,
                match_rules: vec![
                    MatchRule {
                        ingress: vec!["default/foo".into()],
                        service: vec!["svc.default.svc.cluster.local:8080".into()],
                        config: json!({"x": [1, 2, {"y": null}]}),
                        ..MatchRule::default()
                    },
                    MatchRule {
                        domain: vec!["*.example.com".into()],
                        config_disable: true,
                        ..MatchRule::default()
                    },
                ],
            },
            ..ExportOptions::default()
        };
        let gateway = ExportOptions {
            image: "oci://registry.example.com/plugins/p:1.0.0".into(),
            target_refs: vec![
                TargetRef {
                    name: "gw".into(),
                    ..TargetRef::default()
                },
                TargetRef {
                    group: String::new(),
                    kind: "Service".into(),
                    name: "waypoint".into(),
                },
            ],
            fail_strategy: FailStrategy::FailOpen,
            ..ExportOptions::default()
        };
        let both = ExportOptions {
            selector: full.selector.clone(),
            ..gateway.clone()
        };
        let file = ExportOptions {
            image: "file:///etc/plugins/p.wasm".into(),
            ..ExportOptions::default()
        };
        let network = ExportOptions {
            network: true,
            ..full.clone()
        };
        vec![full, gateway, both, file, ExportOptions::default(), network]
    }

    #[test]
    fn every_exported_manifest_validates_against_the_published_crds() {
        let crds = crds();
        let configs = [
            json!({"block_urls": ["swagger.html"], "n": 1.5}),
            json!(null),
            json!([1]),
        ];
        let mut checked = 0;
        for format in [
            ExportFormat::Istio,
            ExportFormat::TrafficExtension,
            ExportFormat::Higress,
        ] {
            for options in option_sets() {
                for config in &configs {
                    let e = export(format, &options, config, Some(SHA), Some("0_2_1"));
                    let errors = validate_manifest(&crds, &e.text);
                    if options.network && format != ExportFormat::Higress {
                        assert!(e.text.contains("type: NETWORK"), "{}", e.text);
                    }
                    assert!(errors.is_empty(), "{format}: {errors:#?}\n{}", e.text);
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 54);
    }

    #[test]
    fn every_resource_of_an_exported_chain_validates_against_the_published_crds() {
        let crds = crds();
        let scenario = crate::Scenario::parse(
            r#"{"settings": {"config": {"a": 1}},
                "chain": [{"plugin": {"example": "go-headers"}, "plugin_name": "go-headers",
                           "config": {"b": 2}, "phase": "STATS"},
                          {"plugin": {"example": "go-headers"}, "plugin_name": "go-headers",
                           "priority": 3}]}"#,
        )
        .unwrap();
        let digests = vec![(Some(SHA.to_string()), Some("0_2_1".to_string())); 3];
        let mut checked = 0;
        for format in [
            ExportFormat::Istio,
            ExportFormat::TrafficExtension,
            ExportFormat::Higress,
        ] {
            for first in option_sets() {
                let plugins = super::super::ChainPlugin::from_scenario(&scenario, &first, &digests);
                let e = super::super::export_chain(format, &plugins);
                let docs: Vec<&str> = e.text.split("---\n").collect();
                assert_eq!(docs.len(), 3, "{}", e.text);
                for doc in docs {
                    let errors = validate_manifest(&crds, doc);
                    assert!(errors.is_empty(), "{format}: {errors:#?}\n{doc}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 3 * option_sets().len() * 3);
    }

    /// The validator must be able to fail: each broken document names its problem.
    #[test]
    fn the_validator_rejects_broken_documents() {
        let crds = crds();
        let istio = |spec: Value| {
            json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin",
                   "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
        };
        let env = |e: Value| json!({"url": "oci://r/p:1", "vmConfig": {"env": e}});
        let cases = [
            (
                istio(json!({"url": "oci://r/p:1", "failStrategy": "FAIL_SOMETIMES"})),
                "is not one of",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "sha256": "ABC"})),
                "does not match",
            ),
            (
                istio(
                    json!({"url": "oci://r/p:1", "selector": {"matchLabels": {"a": "b"}},
                             "targetRefs": [{"kind": "Gateway", "name": "gw"}]}),
                ),
                "only one of targetRefs or selector",
            ),
            (
                istio(env(
                    json!([{"name": "A", "valueFrom": "HOST", "value": "x"}]),
                )),
                "value may only be set",
            ),
            (
                istio(env(
                    json!([{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
                )),
                "duplicate entry",
            ),
            (istio(json!({"pluginName": "x"})), "`url` is required"),
            (
                istio(json!({"url": "oci://r/p:1", "bogus": 1})),
                "spec.bogus: unknown field",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "priority": "high"})),
                "expected integer",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "priority": 2147483648u64})),
                "not an int32",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "pluginName": ""})),
                "shorter than 1",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "imagePullSecret": "s".repeat(254)})),
                "longer than 253",
            ),
            (
                istio(json!({"url": "docker://r/p:1"})),
                "url must have schema",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "pluginConfig": [1]})),
                "expected object",
            ),
            (
                istio(
                    json!({"url": "oci://r/p:1", "targetRefs": [{"kind": "Gateway", "name": "g", "namespace": "x"}]}),
                ),
                "cross namespace",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "targetRefs": [{"kind": "9x", "name": "g"}]})),
                "does not match",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "selector": {"matchLabels": {"a": "*"}}})),
                "wildcard",
            ),
            (
                istio(json!({"url": "oci://r/p:1", "selector": {"matchLabels": {"": "a"}}})),
                "key must not be empty",
            ),
            (
                json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin", "metadata": {"name": "p", "namespace": "d"}}),
                "`spec` is required",
            ),
            (
                json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "TrafficExtension",
                       "metadata": {"name": "p", "namespace": "d"}, "spec": {}}),
                "exactly one of wasm or lua",
            ),
            (
                json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "TrafficExtension",
                       "metadata": {"name": "p", "namespace": "d"},
                       "spec": {"wasm": {"url": "oci://r/p:1"}, "lua": {"inlineCode": "x"}}}),
                "oneOf",
            ),
            (
                json!({"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
                       "metadata": {"name": "p", "namespace": "higress-system"},
                       "spec": {"url": "oci://r/p:1", "selector": {"matchLabels": {"a": "b"}}}}),
                "spec.selector: unknown field",
            ),
            (
                json!({"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
                       "metadata": {"name": "p", "namespace": "higress-system"},
                       "spec": {"url": "oci://r/p:1", "failStrategy": "FAIL_RELOAD"}}),
                "is not one of",
            ),
            (
                json!({"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
                       "metadata": {"name": "p", "namespace": "higress-system"},
                       "spec": {"matchRules": [{"domain": "a.example"}]}}),
                "spec.matchRules[0].domain: expected array",
            ),
            (
                json!({"apiVersion": "extensions.istio.io/v1beta9", "kind": "WasmPlugin",
                       "metadata": {"name": "p", "namespace": "d"}, "spec": {}}),
                "no version v1beta9",
            ),
        ];
        for (doc, needle) in cases {
            let text = yaml_serde::to_string(&doc).unwrap();
            let errors = validate_manifest(&crds, &text);
            assert!(
                errors.iter().any(|e| e.contains(needle)),
                "expected `{needle}` in {errors:#?}\n{text}"
            );
        }
    }

    #[test]
    fn the_validator_refuses_what_it_does_not_understand() {
        let mut errors = Vec::new();
        validate(
            &json!({"type": "string", "x-new-keyword": 1}),
            &json!("a"),
            "f",
            &mut errors,
        );
        assert!(
            errors[0].contains("unsupported schema keyword"),
            "{errors:?}"
        );
        let mut errors = Vec::new();
        let schema = json!({"type": "string", "x-kubernetes-validations": [{"rule": "self.startsWith('a')", "message": "m"}]});
        validate(&schema, &json!("a"), "f", &mut errors);
        assert!(errors[0].contains("unsupported CEL rule"), "{errors:?}");
    }

    #[test]
    fn the_url_rule_follows_isurl() {
        let rule = r#"isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : (isURL("http://" + self) && url("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])"#;
        for ok in [
            "oci://r/p:1",
            "https://x/p.wasm",
            "file:///p.wasm",
            "r.example/p:1",
            "/abs/p.wasm",
        ] {
            assert_eq!(eval_cel(rule, &json!(ok)), Ok(true), "{ok}");
        }
        for bad in ["docker://r/p", "s3://bucket/p.wasm", "has space"] {
            assert_eq!(eval_cel(rule, &json!(bad)), Ok(false), "{bad}");
        }
    }

    #[test]
    fn missing_schemas_fail_with_a_clear_message() {
        let err = load_crds(Path::new("/nonexistent/schema/crds")).unwrap_err();
        assert!(
            err.contains("schemas are missing") && err.contains("/nonexistent/schema/crds"),
            "{err}"
        );
    }
}
