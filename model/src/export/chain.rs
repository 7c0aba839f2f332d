//! A chain of plugins as deployable resources: one `WasmPlugin` (or `TrafficExtension`) per
//! plugin, with phases and priorities that make Istio or Higress run them in the chain's
//! order, or one Envoy `http_filters` list with the filters in that order.
//!
//! Istio (and Higress, which follows it) places a plugin by its phase first: `AUTHN` plugins
//! run before Istio's authentication filter, `AUTHZ` ones after it and before authorization,
//! `STATS` ones after authorization and before stats, and plugins without a phase at the end,
//! just before the router. Within a phase the higher priority runs first; an unset priority
//! is 0 and equal priorities fall back to the resources' names, so every exported plugin gets
//! an explicit priority.

use serde_json::Value;

use super::{ExportFormat, ExportOptions, Phase, Warnings, dns_name, envoy, export};
use crate::scenario::Scenario;

/// One plugin of a chain to export.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainPlugin {
    /// Its resource options (name, image, phase, priority, ...).
    pub options: ExportOptions,
    /// Its plugin configuration.
    pub config: Value,
    /// Its module's sha256 (hex), when known.
    pub sha256: Option<String>,
    /// Its ABI marker (`0_2_1`, ...), when known.
    pub abi: Option<String>,
    /// Its Envoy `vm_id` (filters with the same one, module and VM configuration share a VM).
    pub vm_id: String,
}

impl ChainPlugin {
    /// The plugins of `scenario`: the first with `first` (the options the user edited), each
    /// further filter with options taken from its chain entry. `digests[k]` is filter `k`'s
    /// (sha256, ABI marker), when known.
    pub fn from_scenario(
        scenario: &Scenario,
        first: &ExportOptions,
        digests: &[(Option<String>, Option<String>)],
    ) -> Vec<ChainPlugin> {
        (0..scenario.filter_count())
            .filter_map(|k| scenario.filter(k).map(|s| (k, s)))
            .map(|(k, s)| {
                let options = if k == 0 {
                    first.clone()
                } else {
                    let entry = &scenario.chain[k - 1];
                    let mut o = ExportOptions::from_scenario(&s);
                    if !entry.plugin_name.is_empty() && entry.plugin_name != "playground" {
                        o.name = dns_name(&entry.plugin_name);
                    }
                    o.phase = entry.phase;
                    o.priority = entry.priority;
                    o.namespace.clone_from(&first.namespace);
                    o.selector.clone_from(&first.selector);
                    o.target_refs.clone_from(&first.target_refs);
                    o
                };
                let (sha256, abi) = digests.get(k).cloned().unwrap_or_default();
                ChainPlugin {
                    options,
                    config: s.settings.config.clone(),
                    sha256,
                    abi,
                    vm_id: s.settings.vm_id.clone(),
                }
            })
            .collect()
    }
}

/// Where a phase runs in Istio's chain, first to last.
fn rank(phase: Option<Phase>) -> u8 {
    match phase {
        Some(Phase::Authn) => 0,
        Some(Phase::Authz) => 1,
        Some(Phase::Stats) => 2,
        None => 3,
    }
}

fn phase_name(phase: Option<Phase>) -> &'static str {
    phase.map_or("no phase (just before the router)", Phase::as_str)
}

/// Gives every plugin a priority that keeps the chain's order within its phase (keeping the
/// ones set, when they already do) and names what cannot be kept.
fn order(plugins: &mut [ChainPlugin], w: &mut Warnings) {
    for k in 1..plugins.len() {
        let (a, b) = (plugins[k - 1].options.phase, plugins[k].options.phase);
        if rank(b) < rank(a) {
            w.error(format!(
                "{} ({}) comes after {} ({}) in the chain, but Istio runs the {} phase first: \
                 no priority can keep this order",
                plugins[k].options.name,
                phase_name(b),
                plugins[k - 1].options.name,
                phase_name(a),
                phase_name(b),
            ));
        }
    }
    let mut start = 0;
    while start < plugins.len() {
        let phase = plugins[start].options.phase;
        let end = (start..plugins.len())
            .find(|&i| plugins[i].options.phase != phase)
            .unwrap_or(plugins.len());
        prioritize(&mut plugins[start..end], w);
        start = end;
    }
}

/// Strictly decreasing priorities for one phase's plugins, in chain order: the given ones
/// stay, the missing ones are filled in 10 apart (or 1 apart between two given ones).
fn prioritize(group: &mut [ChainPlugin], w: &mut Warnings) {
    let n = group.len();
    for i in 0..n {
        if group[i].options.priority.is_some() {
            continue;
        }
        let above = i.checked_sub(1).and_then(|j| group[j].options.priority);
        let below = group[i + 1..]
            .iter()
            .position(|p| p.options.priority.is_some())
            .map(|d| (d + 1, group[i + 1 + d].options.priority.unwrap_or(0)));
        let value = match (above, below) {
            (None, None) => 10 * (n - i) as i32,
            (Some(a), None) => a.saturating_sub(10),
            (None, Some((d, b))) => b.saturating_add(10 * d as i32),
            (Some(a), Some((_, b))) => {
                if a.saturating_sub(1) > b {
                    a - 1
                } else {
                    a
                }
            }
        };
        group[i].options.priority = Some(value);
    }
    for pair in group.windows(2) {
        let (a, b) = (&pair[0].options, &pair[1].options);
        if a.priority <= b.priority {
            w.error(format!(
                "{} (priority {}) must run before {} (priority {}) in {}: give it a higher \
                 priority",
                a.name,
                a.priority.unwrap_or(0),
                b.name,
                b.priority.unwrap_or(0),
                phase_name(a.phase),
            ));
        }
    }
}

/// Makes the resource names unique (`metadata.name` must be).
fn unique_names(plugins: &mut [ChainPlugin], w: &mut Warnings) {
    for k in 1..plugins.len() {
        let name = plugins[k].options.name.clone();
        if plugins[..k].iter().any(|p| p.options.name == name) {
            let renamed = format!("{name}-{}", k + 1);
            w.warn(format!(
                "two plugins of the chain are named {name}: the one at position {} is {renamed}",
                k + 1
            ));
            plugins[k].options.name = renamed;
        }
    }
}

/// The chain as `format`: one resource per plugin (separated by `---`), or one Envoy filter
/// list, or one Dockerfile per plugin.
pub fn export_chain(format: ExportFormat, plugins: &[ChainPlugin]) -> super::Export {
    let mut w = Warnings::default();
    let mut plugins = plugins.to_vec();
    unique_names(&mut plugins, &mut w);
    let text = match format {
        ExportFormat::Envoy => {
            let shas: Vec<Option<String>> = plugins
                .iter()
                .map(|p| {
                    p.sha256
                        .as_deref()
                        .and_then(|s| super::checked_sha256(s, &mut w))
                })
                .collect();
            let filters: Vec<(&ExportOptions, &Value, Option<&str>, &str)> = plugins
                .iter()
                .zip(&shas)
                .map(|(p, sha)| (&p.options, &p.config, sha.as_deref(), p.vm_id.as_str()))
                .collect();
            envoy::chain_http_filters(&filters, &mut w)
        }
        _ => {
            if format != ExportFormat::Dockerfile {
                order(&mut plugins, &mut w);
            }
            let mut docs = Vec::new();
            for p in &plugins {
                let e = export(
                    format,
                    &p.options,
                    &p.config,
                    p.sha256.as_deref(),
                    p.abi.as_deref(),
                );
                for warning in e.warnings {
                    match warning.strip_prefix(super::ERROR_PREFIX) {
                        Some(error) => w.error(format!("{}: {error}", p.options.name)),
                        None => w.warn(format!("{}: {warning}", p.options.name)),
                    }
                }
                docs.push(e.text);
            }
            let separator = if format == ExportFormat::Dockerfile {
                "\n# ---- next plugin of the chain ----\n"
            } else {
                "---\n"
            };
            docs.join(separator)
        }
    };
    super::Export {
        text,
        warnings: w.0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{ExportFormat, ExportOptions, Phase};
    use super::{ChainPlugin, export_chain};

    fn plugin(name: &str, phase: Option<Phase>, priority: Option<i32>) -> ChainPlugin {
        ChainPlugin {
            options: ExportOptions {
                name: name.into(),
                image: format!("oci://registry.example.com/{name}:1"),
                phase,
                priority,
                ..ExportOptions::default()
            },
            config: json!({"name": name}),
            sha256: Some("ab".repeat(32)),
            abi: Some("0_2_1".into()),
            vm_id: String::new(),
        }
    }

    fn specs(text: &str) -> Vec<serde_json::Value> {
        text.split("---\n")
            .filter(|d| !d.trim().is_empty())
            .map(|d| yaml_serde::from_str::<serde_json::Value>(d).unwrap()["spec"].clone())
            .collect()
    }

    #[test]
    fn priorities_fall_along_the_chain_within_a_phase() {
        let chain = [
            plugin("auth", Some(Phase::Authn), None),
            plugin("rewrite", None, None),
            plugin("log", None, Some(5)),
            plugin("last", None, None),
        ];
        let e = export_chain(ExportFormat::Istio, &chain);
        assert!(!e.has_errors(), "{:?}", e.warnings);
        let s = specs(&e.text);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0]["phase"], "AUTHN");
        assert_eq!(s[0]["priority"], 10);
        assert!(s[1].get("phase").is_none());
        assert_eq!(s[1]["priority"], 15);
        assert_eq!(s[2]["priority"], 5);
        assert_eq!(s[3]["priority"], -5);
    }

    #[test]
    fn an_order_istio_cannot_keep_is_an_error() {
        let chain = [
            plugin("rewrite", Some(Phase::Stats), None),
            plugin("auth", Some(Phase::Authn), None),
        ];
        let e = export_chain(ExportFormat::Higress, &chain);
        assert!(e.has_errors());
        assert!(
            e.warnings[0].contains("auth (AUTHN) comes after rewrite (STATS)"),
            "{:?}",
            e.warnings
        );
        let chain = [plugin("a", None, Some(1)), plugin("b", None, Some(7))];
        let e = export_chain(ExportFormat::Istio, &chain);
        assert!(
            e.warnings
                .iter()
                .any(|w| w.contains("a (priority 1) must run before b (priority 7)")),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn envoy_gets_the_filters_in_chain_order_then_the_router() {
        let mut shared = plugin("second", None, None);
        shared.vm_id = "gw".into();
        let chain = [
            plugin("first", None, None),
            shared,
            plugin("first", None, None),
        ];
        let e = export_chain(ExportFormat::Envoy, &chain);
        assert!(!e.has_errors(), "{:?}", e.warnings);
        assert!(
            e.warnings.iter().any(|w| w.contains("first-3")),
            "{:?}",
            e.warnings
        );
        let doc: serde_json::Value = yaml_serde::from_str(&e.text).unwrap();
        let filters = doc["http_filters"].as_array().unwrap();
        let names: Vec<&str> = filters[..3]
            .iter()
            .map(|f| f["typed_config"]["config"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["first", "second", "first-3"]);
        assert_eq!(
            filters[1]["typed_config"]["config"]["vm_config"]["vm_id"],
            "gw"
        );
        assert_eq!(filters[3]["name"], "envoy.filters.http.router");
    }
}
