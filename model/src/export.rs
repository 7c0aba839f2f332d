//! Export a session as deployable configuration.
//!
//! One call, [`export`], turns the session's plugin configuration plus a few deployment choices
//! ([`ExportOptions`]) into one of five texts ([`ExportFormat`]):
//!
//! | format | what | kind |
//! |---|---|---|
//! | `istio` | Istio `WasmPlugin` | `extensions.istio.io/v1alpha1` |
//! | `traffic-extension` | Istio `TrafficExtension` (the 2026 successor, `wasm:` block) | `extensions.istio.io/v1alpha1` |
//! | `higress` | Higress `WasmPlugin` with `defaultConfig` and `matchRules` | `extensions.higress.io/v1alpha1` |
//! | `envoy` | `http_filters` snippet for `envoy.filters.http.wasm`, then the router | Envoy v3 |
//! | `dockerfile` | `FROM scratch` image with `plugin.wasm`, and how to push it | OCI "compat" image |
//!
//! The YAML is built from serde structs, so the field order is fixed and the output is stable.
//! Everything a kind cannot express is left out with a warning; problems the cluster would
//! reject are warnings prefixed with `error: ` (see [`Export::has_errors`]).
//!
//! [`higress_plugin_config`] computes the JSON a plugin receives on Higress (`_rules_`), so the
//! playground can run the plugin exactly as the gateway will.

mod chain;
mod dockerfile;
mod envoy;
mod higress;
mod istio;
#[cfg(test)]
mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use chain::{ChainPlugin, export_chain};

pub use higress::higress_plugin_config;

use crate::scenario::Scenario;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// Istio `WasmPlugin` (`extensions.istio.io/v1alpha1`).
    Istio,
    /// Istio `TrafficExtension` (`extensions.istio.io/v1alpha1`), the successor of `WasmPlugin`.
    TrafficExtension,
    /// Higress `WasmPlugin` (`extensions.higress.io/v1alpha1`).
    Higress,
    /// Envoy static configuration: the `http_filters` of an HTTP connection manager.
    Envoy,
    /// A Dockerfile that packages the plugin as an OCI image.
    Dockerfile,
}

impl ExportFormat {
    /// Every format, in menu order.
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Istio,
        ExportFormat::TrafficExtension,
        ExportFormat::Higress,
        ExportFormat::Envoy,
        ExportFormat::Dockerfile,
    ];

    /// The name used on the command line and in [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Istio => "istio",
            ExportFormat::TrafficExtension => "traffic-extension",
            ExportFormat::Higress => "higress",
            ExportFormat::Envoy => "envoy",
            ExportFormat::Dockerfile => "dockerfile",
        }
    }

    /// A human label for menus.
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Istio => "Istio WasmPlugin",
            ExportFormat::TrafficExtension => "Istio TrafficExtension",
            ExportFormat::Higress => "Higress WasmPlugin",
            ExportFormat::Envoy => "Envoy http_filters",
            ExportFormat::Dockerfile => "Dockerfile (OCI image)",
        }
    }

    /// The label for a plugin of this kind: an L4 plugin's Envoy export is a network filter
    /// chain, not `http_filters`.
    pub fn label_for(self, network: bool) -> &'static str {
        match self {
            ExportFormat::Envoy if network => "Envoy network filters",
            f => f.label(),
        }
    }

    /// The file name for a plugin of this kind (see [`ExportFormat::label_for`]).
    pub fn file_name_for(self, network: bool) -> &'static str {
        match self {
            ExportFormat::Envoy if network => "envoy-network-filters.yaml",
            f => f.file_name(),
        }
    }

    /// A file name to save the export under.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Istio => "wasmplugin.yaml",
            ExportFormat::TrafficExtension => "trafficextension.yaml",
            ExportFormat::Higress => "higress-wasmplugin.yaml",
            ExportFormat::Envoy => "envoy-http-filters.yaml",
            ExportFormat::Dockerfile => "Dockerfile",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An export format name that is not one of `istio|traffic-extension|higress|envoy|dockerfile`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown export format `{0}` (expected istio, traffic-extension, higress, envoy or dockerfile)"
)]
pub struct UnknownFormat(pub String);

impl FromStr for ExportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim().to_ascii_lowercase().replace('_', "-");
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == key)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// When the proxy pulls the image again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullPolicy {
    /// Pull once, then use the cached module (Istio's default except for `:latest`).
    IfNotPresent,
    /// Pull whenever the resource changes.
    Always,
}

impl PullPolicy {
    fn as_str(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
        }
    }
}

/// Where in the filter chain the plugin goes; absent means just before the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Phase {
    /// Before Istio's authentication filters.
    Authn,
    /// Before Istio's authorization filters.
    Authz,
    /// Before Istio's stats filters.
    Stats,
}

impl Phase {
    /// The name in a `WasmPlugin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Authn => "AUTHN",
            Phase::Authz => "AUTHZ",
            Phase::Stats => "STATS",
        }
    }
}

/// What the proxy does when the plugin fails fatally (a trap, a failed start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailStrategy {
    /// Answer 503 (`FAIL_CLOSE`; Envoy `FAIL_CLOSED`).
    #[default]
    FailClose,
    /// Skip the plugin.
    FailOpen,
    /// Reload the VM after a runtime error (Istio, Envoy >= 1.25 only).
    FailReload,
}

impl FailStrategy {
    fn istio(self) -> &'static str {
        match self {
            FailStrategy::FailClose => "FAIL_CLOSE",
            FailStrategy::FailOpen => "FAIL_OPEN",
            FailStrategy::FailReload => "FAIL_RELOAD",
        }
    }
}

/// A VM environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Value, for an inline variable.
    pub value: String,
    /// Take the value from the proxy's own environment (`valueFrom: HOST`) instead.
    pub from_host: bool,
}

/// A Gateway API style reference to what the plugin attaches to (Istio only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetRef {
    /// API group, e.g. `gateway.networking.k8s.io`; empty for core kinds (`Service`).
    pub group: String,
    /// `Gateway`, `GatewayClass`, `Service` or `ServiceEntry`.
    pub kind: String,
    /// Name of the target, in the plugin's namespace.
    pub name: String,
}

impl Default for TargetRef {
    fn default() -> Self {
        TargetRef {
            group: "gateway.networking.k8s.io".into(),
            kind: "Gateway".into(),
            name: String::new(),
        }
    }
}

/// Higress's per-route, per-domain and per-service configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HigressRules {
    /// The global configuration; `None` takes the session's plugin configuration.
    pub default_config: Option<Value>,
    /// Turn the global configuration off: only requests matching a rule run the plugin.
    pub default_config_disable: bool,
    /// Rules, first match wins.
    pub match_rules: Vec<MatchRule>,
}

/// One Higress match rule; a request matches when it matches any listed route, domain or service.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchRule {
    /// Route names (`default/foo`), matched against the `route_name` property.
    pub ingress: Vec<String>,
    /// Domains (`*.example.com` allowed), matched against `:authority`.
    pub domain: Vec<String>,
    /// Services (`svc.ns.svc.cluster.local` or with `:port`), matched against `cluster_name`.
    pub service: Vec<String>,
    /// The configuration for matching requests (a JSON object).
    pub config: Value,
    /// Drop this rule.
    pub config_disable: bool,
}

/// The deployment choices that are not part of the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportOptions {
    /// `metadata.name` (a DNS subdomain: lower-case letters, digits, `-`, `.`).
    pub name: String,
    /// `metadata.namespace`; empty takes the format's default (`default`, or `higress-system`).
    pub namespace: String,
    /// Where the proxy fetches the module: `oci://…`, `https://…` or `file://…`.
    pub image: String,
    /// `imagePullPolicy`; absent leaves Istio's default.
    pub image_pull_policy: Option<PullPolicy>,
    /// Name of a pull Secret in the same namespace.
    pub image_pull_secret: Option<String>,
    /// Where in the filter chain the plugin goes.
    pub phase: Option<Phase>,
    /// Order within a phase: higher runs first.
    pub priority: Option<i32>,
    /// What happens when the plugin fails.
    pub fail_strategy: FailStrategy,
    /// The root id (`pluginName`; Envoy `root_id`); empty leaves it unset.
    pub plugin_name: String,
    /// VM environment variables.
    pub vm_env: Vec<EnvVar>,
    /// Workload selector labels (Istio only; exclusive with `target_refs`).
    pub selector: BTreeMap<String, String>,
    /// Gateway API targets (Istio only; exclusive with `selector`).
    pub target_refs: Vec<TargetRef>,
    /// Higress's default configuration and match rules.
    pub higress: HigressRules,
    /// The VM configuration (`proxy_on_vm_start`); only Envoy can carry it.
    pub vm_config: Value,
    /// The `.wasm` file name, for the Dockerfile's `COPY`.
    pub wasm_file: String,
    /// The plugin is an L4 network filter (Istio `type: NETWORK`; Envoy
    /// `envoy.filters.network.wasm` before `tcp_proxy`). [`ExportOptions::from_scenario`] sets it
    /// when the scenario has a `connection`: a plugin's exports cannot tell, since the Go and
    /// Rust SDKs export every callback, HTTP and network alike.
    pub network: bool,
    /// The cluster `tcp_proxy` sends to, after an L4 plugin in the Envoy config. Empty: a
    /// cluster named `upstream`, to define or rename. [`ExportOptions::from_scenario`] takes the
    /// scenario's `route.cluster`: what the plugin read as `xds.cluster_name` in the run.
    pub upstream_cluster: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            name: "my-plugin".into(),
            namespace: String::new(),
            image: String::new(),
            image_pull_policy: None,
            image_pull_secret: None,
            phase: None,
            priority: None,
            fail_strategy: FailStrategy::FailClose,
            plugin_name: String::new(),
            vm_env: Vec::new(),
            selector: BTreeMap::new(),
            target_refs: Vec::new(),
            higress: HigressRules::default(),
            vm_config: Value::Null,
            wasm_file: "plugin.wasm".into(),
            network: false,
            upstream_cluster: String::new(),
        }
    }
}

impl ExportOptions {
    /// Options that carry over what the scenario already says: root id, VM environment,
    /// fail-open, VM configuration, and a name and file name taken from the plugin.
    pub fn from_scenario(scenario: &Scenario) -> ExportOptions {
        let settings = &scenario.settings;
        let plugin = scenario.plugin.as_ref();
        let file_name = plugin.and_then(|p| p.file_name.clone());
        let base = file_name
            .as_deref()
            .map(|f| f.strip_suffix(".wasm").unwrap_or(f).to_string())
            .or_else(|| plugin.and_then(|p| p.example.clone()))
            .unwrap_or_else(|| scenario.name.clone());
        let name = dns_name(&base);
        ExportOptions {
            name: if name.is_empty() {
                "my-plugin".into()
            } else {
                name
            },
            plugin_name: settings.root_id.clone(),
            vm_env: settings
                .env
                .iter()
                .map(|(name, value)| EnvVar {
                    name: name.clone(),
                    value: value.clone(),
                    from_host: false,
                })
                .collect(),
            fail_strategy: if settings.fail_open {
                FailStrategy::FailOpen
            } else {
                FailStrategy::FailClose
            },
            vm_config: settings.vm_config.clone(),
            wasm_file: file_name.unwrap_or_else(|| "plugin.wasm".into()),
            network: scenario.connection.is_some(),
            upstream_cluster: if scenario.connection.is_some() {
                scenario.route.cluster.clone()
            } else {
                String::new()
            },
            ..ExportOptions::default()
        }
    }
}

/// An exported text and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Export {
    /// The YAML or Dockerfile.
    pub text: String,
    /// What was left out or changed, and why; problems the target would refuse start with
    /// `error: `.
    pub warnings: Vec<String>,
}

impl Export {
    /// True when a warning is an error: the target would refuse the export as it is.
    pub fn has_errors(&self) -> bool {
        self.warnings.iter().any(|w| w.starts_with(ERROR_PREFIX))
    }
}

const ERROR_PREFIX: &str = "error: ";

/// Turns a session into the text of `format`.
///
/// `plugin_config` is the session's plugin configuration (see
/// [`Settings::config`](crate::scenario::Settings::config)); `sha256` is the hex digest of the
/// module; `abi` is the module's proxy-wasm ABI marker (`0_2_1`, `0_2_100`, …) when known.
pub fn export(
    format: ExportFormat,
    options: &ExportOptions,
    plugin_config: &Value,
    sha256: Option<&str>,
    abi: Option<&str>,
) -> Export {
    let mut w = Warnings::default();
    let sha256 = sha256.and_then(|s| checked_sha256(s, &mut w));
    if abi.is_some_and(is_higress_abi)
        && matches!(
            format,
            ExportFormat::Istio | ExportFormat::TrafficExtension | ExportFormat::Envoy
        )
    {
        w.warn(
            "upstream Envoy and Istio refuse ABI 0.2.100: deploy on Higress or rebuild with the \
             upstream SDK",
        );
    }
    let text = match format {
        ExportFormat::Istio => {
            istio::wasm_plugin(options, plugin_config, sha256.as_deref(), &mut w)
        }
        ExportFormat::TrafficExtension => {
            istio::traffic_extension(options, plugin_config, sha256.as_deref(), &mut w)
        }
        ExportFormat::Higress => {
            higress::wasm_plugin(options, plugin_config, sha256.as_deref(), &mut w)
        }
        ExportFormat::Envoy if options.network => {
            envoy::network_filters(options, plugin_config, sha256.as_deref(), &mut w)
        }
        ExportFormat::Envoy => {
            envoy::http_filters(options, plugin_config, sha256.as_deref(), &mut w)
        }
        ExportFormat::Dockerfile => dockerfile::dockerfile(options, sha256.as_deref(), &mut w),
    };
    Export {
        text,
        warnings: w.0,
    }
}

/// Collected warnings, in the order they were found.
#[derive(Default)]
struct Warnings(Vec<String>);

impl Warnings {
    fn warn(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    fn error(&mut self, message: impl AsRef<str>) {
        self.0.push(format!("{ERROR_PREFIX}{}", message.as_ref()));
    }
}

/// True for the Higress-only ABI marker, however it is spelled.
fn is_higress_abi(abi: &str) -> bool {
    let abi = abi
        .trim()
        .trim_start_matches("proxy_abi_version_")
        .replace('.', "_");
    abi == "0_2_100"
}

/// A lower-case 64-digit hex digest, or `None` with a warning.
fn checked_sha256(sha256: &str, w: &mut Warnings) -> Option<String> {
    let s = sha256
        .trim()
        .trim_start_matches("sha256:")
        .to_ascii_lowercase();
    if s.is_empty() {
        return None;
    }
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some(s)
    } else {
        w.warn(format!(
            "`{sha256}` is not a sha256 digest (64 hex digits); it was left out"
        ));
        None
    }
}

/// The URL scheme of `image`, lower-case; `oci` when there is none (Istio's default).
fn url_scheme(image: &str) -> String {
    match image.split_once("://") {
        Some((scheme, _)) => scheme.to_ascii_lowercase(),
        None => "oci".into(),
    }
}

/// The image URL, or a placeholder with a warning.
fn image_url(options: &ExportOptions, w: &mut Warnings) -> String {
    let image = options.image.trim();
    if image.is_empty() {
        let placeholder = format!("oci://registry.example.com/plugins/{}:1.0.0", options.name);
        w.warn(format!(
            "no image URL given: `{placeholder}` is a placeholder to replace"
        ));
        return placeholder;
    }
    let scheme = url_scheme(image);
    if !matches!(scheme.as_str(), "oci" | "http" | "https" | "file") {
        w.error(format!(
            "the image URL scheme `{scheme}://` is not supported: use oci://, https://, http:// or file://"
        ));
    }
    image.to_string()
}

/// `sha256` if the URL's scheme verifies module bytes with it; for `oci://` the field is the
/// image manifest digest, which the playground cannot know.
fn module_sha256(image: &str, sha256: Option<&str>, w: &mut Warnings) -> Option<String> {
    let sha256 = sha256?;
    if url_scheme(image) == "oci" {
        w.warn(format!(
            "the module's sha256 ({sha256}) was not put in `sha256`: for oci:// images Istio and \
             Higress compare it with the image manifest digest; pin the image with \
             `@sha256:<digest>` after pushing instead"
        ));
        return None;
    }
    Some(sha256.to_string())
}

/// Checks a Kubernetes object name (DNS-1123 subdomain) and namespace (DNS-1123 label).
fn check_metadata(name: &str, namespace: &str, w: &mut Warnings) {
    if name.is_empty() || name.len() > 253 || !is_dns_subdomain(name) {
        w.error(format!(
            "`{name}` is not a valid object name: use lower-case letters, digits, `-` and `.`"
        ));
    }
    if namespace.len() > 63 || !is_dns_label(namespace) {
        w.error(format!(
            "`{namespace}` is not a valid namespace: use lower-case letters, digits and `-`, at most 63"
        ));
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns_label)
}

/// A DNS-1123 label made from free text: `My Plugin.wasm` → `my-plugin-wasm`.
fn dns_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(63).collect();
    out.trim_end_matches('-').to_string()
}

/// The session's configuration as a protobuf Struct (a JSON object), or `None` with a warning.
///
/// A string holding a JSON object is accepted as that object.
fn struct_config(config: &Value, what: &str, w: &mut Warnings) -> Option<Value> {
    let value = match config {
        Value::Null => return None,
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                w.warn(format!(
                    "{what} must be a JSON object (a protobuf Struct); the configuration is a \
                     plain string and was left out. Use the Envoy export to pass it as is."
                ));
                return None;
            }
        },
        Value::Object(_) => config.clone(),
        other => {
            w.warn(format!(
                "{what} must be a JSON object (a protobuf Struct); the configuration is {} and \
                 was left out. Wrap it in an object or use the Envoy export.",
                json_kind(other)
            ));
            return None;
        }
    };
    warn_imprecise_numbers(&value, what, w);
    Some(value)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Struct numbers are doubles: integers beyond 2^53 change on the way to the plugin.
fn warn_imprecise_numbers(value: &Value, what: &str, w: &mut Warnings) {
    const EXACT: u64 = 1 << 53;
    match value {
        Value::Number(n) => {
            let big = n.as_u64().is_some_and(|u| u > EXACT)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > EXACT);
            if big {
                w.warn(format!(
                    "{what}: {n} is above 2^53; a protobuf Struct stores numbers as doubles, so \
                     the plugin will receive a rounded value. Use a string."
                ));
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| warn_imprecise_numbers(v, what, w)),
        Value::Object(map) => map
            .values()
            .for_each(|v| warn_imprecise_numbers(v, what, w)),
        _ => {}
    }
}

/// Checks what the Istio CRDs check on environment variables.
fn checked_env(env: &[EnvVar], w: &mut Warnings) {
    if env.len() > 256 {
        w.error("at most 256 VM environment variables are allowed");
    }
    let mut seen = std::collections::BTreeSet::new();
    for var in env {
        if var.name.is_empty() || var.name.len() > 256 {
            w.error("a VM environment variable needs a name of 1 to 256 characters");
        }
        if !seen.insert(var.name.as_str()) {
            w.error(format!(
                "the VM environment variable `{}` is given twice",
                var.name
            ));
        }
        if var.from_host && !var.value.is_empty() {
            w.warn(format!(
                "`{}` is taken from the proxy's environment; its value was left out",
                var.name
            ));
        }
        if !var.from_host && var.value.chars().count() > 2048 {
            w.error(format!(
                "the value of `{}` is longer than 2048 characters",
                var.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_from_their_names() {
        for f in ExportFormat::ALL {
            assert_eq!(f.as_str().parse::<ExportFormat>().unwrap(), f);
        }
        assert_eq!(
            "Traffic_Extension".parse::<ExportFormat>().unwrap(),
            ExportFormat::TrafficExtension
        );
        let err = "kong".parse::<ExportFormat>().unwrap_err().to_string();
        assert!(err.contains("kong") && err.contains("higress"), "{err}");
    }

    #[test]
    fn options_round_trip_through_json_and_default_from_empty() {
        let opts: ExportOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(opts, ExportOptions::default());
        let opts = ExportOptions {
            phase: Some(Phase::Authz),
            fail_strategy: FailStrategy::FailReload,
            image_pull_policy: Some(PullPolicy::Always),
            ..ExportOptions::default()
        };
        let json = serde_json::to_string(&opts).unwrap();
        assert!(
            json.contains(r#""phase":"AUTHZ""#) && json.contains("FAIL_RELOAD"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ExportOptions>(&json).unwrap(), opts);
    }

    #[test]
    fn options_take_what_the_scenario_says() {
        let s = Scenario::parse(
            r#"{"plugin":{"file_name":"Request Block.wasm"},
                "settings":{"root_id":"rb","fail_open":true,"env":{"A":"1"}}}"#,
        )
        .unwrap();
        let o = ExportOptions::from_scenario(&s);
        assert_eq!(o.name, "request-block");
        assert_eq!(o.wasm_file, "Request Block.wasm");
        assert_eq!(o.plugin_name, "rb");
        assert_eq!(o.fail_strategy, FailStrategy::FailOpen);
        assert_eq!(
            o.vm_env,
            vec![EnvVar {
                name: "A".into(),
                value: "1".into(),
                from_host: false
            }]
        );
        assert_eq!(
            ExportOptions::from_scenario(&Scenario::default()).name,
            "my-plugin"
        );
    }

    #[test]
    fn the_higress_abi_is_flagged_for_istio_and_envoy_only() {
        let cfg = Value::Null;
        let o = ExportOptions {
            image: "oci://r.example/p:1".into(),
            ..Default::default()
        };
        for f in ExportFormat::ALL {
            let e = export(f, &o, &cfg, None, Some("0_2_100"));
            let flagged = e.warnings.iter().any(|w| w.contains("ABI 0.2.100"));
            let expected = matches!(
                f,
                ExportFormat::Istio | ExportFormat::TrafficExtension | ExportFormat::Envoy
            );
            assert_eq!(flagged, expected, "{f}: {:?}", e.warnings);
            let e = export(f, &o, &cfg, None, Some("0_2_1"));
            assert!(
                !e.warnings.iter().any(|w| w.contains("ABI")),
                "{f}: {:?}",
                e.warnings
            );
        }
        assert!(is_higress_abi("proxy_abi_version_0_2_100") && is_higress_abi("0.2.100"));
    }

    #[test]
    fn a_bad_digest_is_dropped_with_a_warning() {
        let mut w = Warnings::default();
        assert_eq!(checked_sha256("abc", &mut w), None);
        assert_eq!(w.0.len(), 1);
        let upper = "AB".repeat(32);
        assert_eq!(
            checked_sha256(&format!("sha256:{upper}"), &mut w),
            Some("ab".repeat(32))
        );
    }

    #[test]
    fn names_become_dns_labels() {
        assert_eq!(dns_name("My Plugin.wasm"), "my-plugin-wasm");
        assert_eq!(dns_name("--x__y--"), "x-y");
        assert_eq!(dns_name(&"a".repeat(80)).len(), 63);
        assert!(is_dns_subdomain("a.b-c") && !is_dns_subdomain("A") && !is_dns_subdomain("a..b"));
    }

    #[test]
    fn configs_must_be_objects_for_a_struct() {
        let mut w = Warnings::default();
        assert_eq!(struct_config(&Value::Null, "pluginConfig", &mut w), None);
        assert!(w.0.is_empty());
        let obj = serde_json::json!({"a": 1});
        assert_eq!(
            struct_config(&obj, "pluginConfig", &mut w),
            Some(obj.clone())
        );
        assert_eq!(
            struct_config(&Value::String(r#"{"a":1}"#.into()), "x", &mut w),
            Some(obj)
        );
        assert_eq!(
            struct_config(&serde_json::json!([1]), "pluginConfig", &mut w),
            None
        );
        assert_eq!(
            struct_config(&Value::String("k=v".into()), "pluginConfig", &mut w),
            None
        );
        assert_eq!(w.0.len(), 2, "{:?}", w.0);
        struct_config(
            &serde_json::json!({"id": 9007199254740993u64}),
            "pluginConfig",
            &mut w,
        );
        assert!(w.0[2].contains("2^53"), "{:?}", w.0);
    }
}
