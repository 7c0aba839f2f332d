//! Reading what a command is given: scenario files, plugins (by path, bundled example or
//! inline), configuration files, and opening a session on them. Shared by `pwp run`,
//! `pwp test` and `pwp export`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use pwp_host::{Session, SessionError};
use pwp_model::Scenario;
use pwp_model::scenario::PluginRef;

/// A failure of the command itself, with its exit code.
#[derive(Debug)]
pub struct Fail(pub u8, pub String);

/// A plugin's bytes and where they came from.
pub struct LoadedPlugin {
    /// The file, or `inline` for a plugin carried in the scenario.
    pub origin: String,
    /// The file, if it came from one.
    pub path: Option<PathBuf>,
    /// The module.
    pub bytes: Vec<u8>,
}

pub fn read(path: &Path) -> Result<Vec<u8>, Fail> {
    std::fs::read(path).map_err(|e| Fail(3, format!("cannot read {}: {e}", path.display())))
}

/// The scenario in `path`, or the default one.
pub fn load_scenario(path: Option<&Path>) -> Result<Scenario, Fail> {
    let Some(path) = path else {
        return Ok(Scenario::default());
    };
    let text = String::from_utf8(read(path)?)
        .map_err(|_| Fail(3, format!("{}: not UTF-8 text", path.display())))?;
    Scenario::parse(&text).map_err(|e| Fail(3, format!("{}: {e}", path.display())))
}

/// Finds the plugin: the command line's, else the scenario's reference. A path in the
/// scenario is relative to the scenario file; an example is looked up by [`find_example`].
pub fn resolve_plugin(
    arg: Option<&Path>,
    scenario: &Scenario,
    scenario_path: Option<&Path>,
) -> Result<LoadedPlugin, Fail> {
    let scenario_dir = scenario_path.and_then(Path::parent);
    let path = match (arg, scenario.plugin.as_ref()) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(PluginRef { path: Some(p), .. })) => {
            scenario_dir.unwrap_or(Path::new(".")).join(p)
        }
        (
            None,
            Some(PluginRef {
                example: Some(name),
                ..
            }),
        ) => find_example(name, scenario_dir)?,
        (
            None,
            Some(PluginRef {
                inline: Some(b64), ..
            }),
        ) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| Fail(3, format!("plugin.inline is not base64: {e}")))?;
            return check_sha(scenario, None, bytes);
        }
        (None, Some(PluginRef { url: Some(url), .. })) => {
            return Err(Fail(
                3,
                format!(
                    "the scenario names its plugin by URL ({url}); pwp does not download: fetch it and pass the file"
                ),
            ));
        }
        _ => {
            return Err(Fail(
                3,
                "no plugin: pass a .wasm file, or name one in the scenario".into(),
            ));
        }
    };
    let bytes = read(&path)?;
    if arg.is_some() {
        // The command line overrides the scenario's plugin, and with it its sha256.
        return Ok(LoadedPlugin {
            origin: path.display().to_string(),
            path: Some(path),
            bytes,
        });
    }
    check_sha(scenario, Some(path), bytes)
}

fn check_sha(
    scenario: &Scenario,
    path: Option<PathBuf>,
    bytes: Vec<u8>,
) -> Result<LoadedPlugin, Fail> {
    let origin = path
        .as_ref()
        .map_or_else(|| "inline".to_string(), |p| p.display().to_string());
    if let Some(want) = scenario.plugin.as_ref().and_then(|p| p.sha256.as_deref()) {
        let got = pwp_host::sha256_hex(&bytes);
        if !want.eq_ignore_ascii_case(&got) {
            return Err(Fail(
                3,
                format!("{origin}: sha256 is {got}, but the scenario expects {want}"),
            ));
        }
    }
    Ok(LoadedPlugin {
        origin,
        path,
        bytes,
    })
}

/// Looks for a built example `public/examples/<name>.wasm`: in `$PWP_EXAMPLES`, then from the
/// working directory upwards, then from the scenario's directory upwards (so that a
/// repository's scenarios find its examples from anywhere).
pub fn find_example(name: &str, scenario_dir: Option<&Path>) -> Result<PathBuf, Fail> {
    let file = format!("{name}.wasm");
    if let Ok(dir) = std::env::var("PWP_EXAMPLES") {
        let p = Path::new(&dir).join(&file);
        if p.exists() {
            return Ok(p);
        }
    }
    let starts = [
        std::env::current_dir().ok(),
        scenario_dir.and_then(|d| std::path::absolute(d).ok()),
    ];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let p = dir.join("public/examples").join(&file);
            if p.exists() {
                return Ok(p);
            }
        }
    }
    Err(Fail(
        3,
        format!(
            "example {name:?} is not built: run `bash examples/build.sh` in the repository (or set PWP_EXAMPLES)"
        ),
    ))
}

/// A session on `plugin` and, for a chain, on each further filter's plugin (found as the
/// scenario's own, relative to `scenario_path`), or why there cannot be one (exit code 3).
pub fn open_session(
    plugin: &LoadedPlugin,
    scenario: Scenario,
    scenario_path: Option<&Path>,
) -> Result<Session, Fail> {
    let mut loaded = vec![(plugin.origin.clone(), plugin.bytes.clone())];
    for k in 1..scenario.filter_count() {
        let filter = scenario.filter(k).expect("a filter of the chain");
        let p = resolve_plugin(None, &filter, scenario_path)
            .map_err(|Fail(code, m)| Fail(code, format!("chain[{}]: {m}", k - 1)))?;
        loaded.push((p.origin, p.bytes));
    }
    let mut plugins = Vec::new();
    for (origin, bytes) in &loaded {
        plugins.push(
            pwp_host::Plugin::load(bytes.as_slice())
                .map_err(|e| Fail(3, format!("{origin}: {e}")))?,
        );
    }
    let refs: Vec<&pwp_host::Plugin> = plugins.iter().collect();
    let origin = &plugin.origin;
    Session::with_chain(&refs, scenario).map_err(|e| match e {
        SessionError::Load(l) => Fail(3, format!("{origin}: {l}")),
        SessionError::Refused(r) => Fail(
            3,
            format!(
                "{origin}: {} would refuse to load this plugin:\n  {}\n(run it anyway with --lenient, or settings.lenient in the scenario)",
                r.proxy,
                r.problems.join("\n  ")
            ),
        ),
        SessionError::Instantiate(m) => Fail(3, format!("{origin}: {m}")),
    })
}

/// A config file: JSON or YAML becomes a JSON value (as Istio's `pluginConfig`), anything else
/// is passed as a string.
pub fn parse_config(text: &str) -> serde_json::Value {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return v;
    }
    // Nested too deep for the YAML parser: not a YAML document a plugin could want.
    if pwp_model::scenario::check_yaml_nesting(text).is_err() {
        return serde_json::Value::String(text.to_string());
    }
    match yaml_serde::from_str::<serde_json::Value>(text) {
        Ok(v) if v.is_object() || v.is_array() => v,
        _ => serde_json::Value::String(text.to_string()),
    }
}
