//! `pwp`: run proxy-wasm plugins against scenarios with the playground's host, natively.
//!
//! Exit codes: 0 all good; 1 an expectation failed; 2 the plugin failed (trap, configure
//! refused, limit hit); 3 bad input (not wasm, not a plugin Envoy would load, bad scenario).

mod render;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pwp_host::export::{ExportFormat, ExportOptions, export};
use pwp_host::scenario::{PluginRef, Profile};
use pwp_host::{Scenario, Session, SessionError, inspect};

#[derive(Parser)]
#[command(
    name = "pwp",
    version,
    about = "Proxy-Wasm Playground runner: inspect plugins, run scenarios, export deployment files",
    long_about = "Runs proxy-wasm plugins (Go, Rust, C++, AssemblyScript; ABI 0.1.0, 0.2.x and Higress's 0.2.100) \
                  through Envoy's sequence of callbacks with the same host as the browser playground. \
                  Time, randomness and callout answers come from the scenario, so runs are reproducible.\n\n\
                  Exit codes: 0 all good, 1 an expectation failed, 2 the plugin failed, 3 bad input."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Say what a plugin is: ABI, toolchain, allocator, imports, and whether Envoy would load it.
    Inspect {
        /// The .wasm file.
        plugin: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario (or the default one: GET / to example.com, answered 200) and check its expectations.
    Run {
        /// The .wasm file; may be left out when the scenario names its plugin.
        plugin: Option<PathBuf>,
        /// Scenario file (JSON or YAML).
        #[arg(long, short)]
        scenario: Option<PathBuf>,
        /// Plugin configuration file (JSON or YAML becomes JSON; anything else is passed as is).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print the whole report as one JSON document.
        #[arg(long)]
        json: bool,
        /// Replay the request N times in the same VM (shows leaks and per-request time).
        #[arg(long)]
        requests: Option<u32>,
        /// Refuse what upstream Envoy would refuse (unknown imports, ABI 0.2.100, restricted calls).
        #[arg(long)]
        strict: bool,
        /// Which proxy to emulate (default: Higress for ABI 0.2.100 plugins, Envoy otherwise).
        #[arg(long, value_enum)]
        profile: Option<ProfileArg>,
        /// Print every host call, not just callbacks and logs.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Print the JSON Schema of the scenario format (draft 2020-12).
    Schema,
    /// Write a deployment file for the plugin: Istio or Higress WasmPlugin, Envoy config, Dockerfile.
    Export {
        /// What to write.
        #[arg(long, short, value_enum)]
        format: FormatArg,
        /// The .wasm file (for its sha256 and ABI); may be left out when the scenario names it.
        plugin: Option<PathBuf>,
        /// Scenario whose settings (config, env, root id) to export.
        #[arg(long, short)]
        scenario: Option<PathBuf>,
        /// Export options as JSON or YAML (name, namespace, image, phase, priority, match rules, ...).
        #[arg(long)]
        options: Option<PathBuf>,
        /// metadata.name
        #[arg(long)]
        name: Option<String>,
        /// metadata.namespace
        #[arg(long)]
        namespace: Option<String>,
        /// Image URL (oci://registry/repo:tag)
        #[arg(long)]
        image: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Envoy,
    Higress,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Istio,
    TrafficExtension,
    Higress,
    Envoy,
    Dockerfile,
}

/// A failure of the command itself, with its exit code.
struct Fail(u8, String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { plugin, json } => cmd_inspect(&plugin, json),
        Command::Run {
            plugin,
            scenario,
            config,
            json,
            requests,
            strict,
            profile,
            verbose,
        } => cmd_run(RunArgs {
            plugin,
            scenario,
            config,
            json,
            requests,
            strict,
            profile,
            verbose,
        }),
        Command::Export {
            format,
            plugin,
            scenario,
            options,
            name,
            namespace,
            image,
        } => cmd_export(format, plugin, scenario, options, name, namespace, image),
        Command::Schema => {
            let schema = pwp_host::scenario::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Fail(code, message)) => {
            eprintln!("pwp: {message}");
            ExitCode::from(code)
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Fail> {
    std::fs::read(path).map_err(|e| Fail(3, format!("cannot read {}: {e}", path.display())))
}

fn cmd_inspect(path: &Path, json: bool) -> Result<u8, Fail> {
    let bytes = read(path)?;
    let info = inspect(&bytes).map_err(|e| Fail(3, format!("{}: {e}", path.display())))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&info).unwrap_or_default()
        );
    } else {
        print!("{}", render::inspect(&path.display().to_string(), &info));
    }
    Ok(if info.envoy_would_load || info.higress_would_load {
        0
    } else {
        3
    })
}

struct RunArgs {
    plugin: Option<PathBuf>,
    scenario: Option<PathBuf>,
    config: Option<PathBuf>,
    json: bool,
    requests: Option<u32>,
    strict: bool,
    profile: Option<ProfileArg>,
    verbose: bool,
}

fn load_scenario(path: Option<&Path>) -> Result<Scenario, Fail> {
    let Some(path) = path else {
        return Ok(Scenario::default());
    };
    let text = String::from_utf8(read(path)?)
        .map_err(|_| Fail(3, format!("{}: not UTF-8 text", path.display())))?;
    Scenario::parse(&text).map_err(|e| Fail(3, format!("{}: {e}", path.display())))
}

/// Finds the plugin: the command line, else the scenario's reference.
fn resolve_plugin(
    arg: Option<&Path>,
    scenario: &Scenario,
    scenario_path: Option<&Path>,
) -> Result<(PathBuf, Vec<u8>), Fail> {
    let path = match (arg, scenario.plugin.as_ref()) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(PluginRef { path: Some(p), .. })) => {
            let base = scenario_path
                .and_then(Path::parent)
                .unwrap_or(Path::new("."));
            base.join(p)
        }
        (
            None,
            Some(PluginRef {
                example: Some(name),
                ..
            }),
        ) => find_example(name)?,
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
    if let Some(want) = scenario.plugin.as_ref().and_then(|p| p.sha256.as_deref()) {
        let got = pwp_host::inspect::sha256_hex(&bytes);
        if arg.is_none() && !want.eq_ignore_ascii_case(&got) {
            return Err(Fail(
                3,
                format!(
                    "{}: sha256 is {got}, but the scenario expects {want}",
                    path.display()
                ),
            ));
        }
    }
    Ok((path, bytes))
}

/// Looks for a built example in `public/examples/`, from here upwards, or in `$PWP_EXAMPLES`.
fn find_example(name: &str) -> Result<PathBuf, Fail> {
    let file = format!("{name}.wasm");
    if let Ok(dir) = std::env::var("PWP_EXAMPLES") {
        let p = Path::new(&dir).join(&file);
        if p.exists() {
            return Ok(p);
        }
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let p = d.join("public/examples").join(&file);
        if p.exists() {
            return Ok(p);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Err(Fail(
        3,
        format!(
            "example {name:?} is not built: run `bash examples/build.sh` in the repository (or set PWP_EXAMPLES)"
        ),
    ))
}

fn cmd_run(a: RunArgs) -> Result<u8, Fail> {
    let mut scenario = load_scenario(a.scenario.as_deref())?;
    let (path, bytes) = resolve_plugin(a.plugin.as_deref(), &scenario, a.scenario.as_deref())?;
    if let Some(config) = &a.config {
        let text = String::from_utf8_lossy(&read(config)?).into_owned();
        scenario.settings.config = parse_config(&text);
    }
    if let Some(n) = a.requests {
        if n > pwp_host::scenario::MAX_REQUESTS {
            return Err(Fail(
                2,
                format!(
                    "--requests {n}: at most {} requests are replayed in one run",
                    pwp_host::scenario::MAX_REQUESTS
                ),
            ));
        }
        scenario.requests = n.max(1);
    }
    if a.strict {
        scenario.settings.strict = true;
    }
    match a.profile {
        Some(ProfileArg::Envoy) => scenario.settings.profile = Profile::Envoy,
        Some(ProfileArg::Higress) => scenario.settings.profile = Profile::Higress,
        None => {}
    }
    let mut session = Session::new(&bytes, scenario).map_err(|e| match e {
        SessionError::Load(l) => Fail(3, format!("{}: {l}", path.display())),
        SessionError::Refused(p) => Fail(
            3,
            format!(
                "{}: Envoy would refuse this plugin (strict mode):\n  {}",
                path.display(),
                p.join("\n  ")
            ),
        ),
        SessionError::Instantiate(m) => Fail(3, format!("{}: {m}", path.display())),
    })?;
    let report = session.run_to_end();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        print!(
            "{}",
            render::report(&path.display().to_string(), &report, colour, a.verbose)
        );
    }
    let failed_unexpectedly = report.error.is_some() && session.scenario().expect.error.is_none();
    Ok(if failed_unexpectedly {
        2
    } else if report.passed() {
        0
    } else {
        1
    })
}

/// A config file: JSON or YAML becomes a JSON value (as Istio's `pluginConfig`), anything else
/// is passed as a string.
fn parse_config(text: &str) -> serde_json::Value {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return v;
    }
    // Nested too deep for the YAML parser: not a YAML document a plugin could want.
    if pwp_host::scenario::check_yaml_nesting(text).is_err() {
        return serde_json::Value::String(text.to_string());
    }
    match yaml_serde::from_str::<serde_json::Value>(text) {
        Ok(v) if v.is_object() || v.is_array() => v,
        _ => serde_json::Value::String(text.to_string()),
    }
}

fn cmd_export(
    format: FormatArg,
    plugin: Option<PathBuf>,
    scenario_path: Option<PathBuf>,
    options_path: Option<PathBuf>,
    name: Option<String>,
    namespace: Option<String>,
    image: Option<String>,
) -> Result<u8, Fail> {
    let scenario = load_scenario(scenario_path.as_deref())?;
    let plugin_bytes = if plugin.is_some() || scenario.plugin.is_some() {
        Some(resolve_plugin(
            plugin.as_deref(),
            &scenario,
            scenario_path.as_deref(),
        )?)
    } else {
        None
    };
    let mut options = ExportOptions::from_scenario(&scenario);
    if let Some(path) = &options_path {
        let text = String::from_utf8_lossy(&read(path)?).into_owned();
        let value = parse_config(&text);
        options = serde_json::from_value(value)
            .map_err(|e| Fail(3, format!("{}: {e}", path.display())))?;
    }
    if let Some((path, _)) = &plugin_bytes
        && options.wasm_file == "plugin.wasm"
        && let Some(file) = path.file_name()
    {
        options.wasm_file = file.to_string_lossy().into_owned();
    }
    if let Some(n) = name {
        options.name = n;
    }
    if let Some(n) = namespace {
        options.namespace = n;
    }
    if let Some(i) = image {
        options.image = i;
    }
    let (sha, abi) = match &plugin_bytes {
        Some((path, bytes)) => {
            let info = inspect(bytes).map_err(|e| Fail(3, format!("{}: {e}", path.display())))?;
            (
                Some(info.sha256),
                info.abi_marker
                    .map(|m| m.trim_start_matches("proxy_abi_version_").to_string()),
            )
        }
        None => (None, None),
    };
    let format = match format {
        FormatArg::Istio => ExportFormat::Istio,
        FormatArg::TrafficExtension => ExportFormat::TrafficExtension,
        FormatArg::Higress => ExportFormat::Higress,
        FormatArg::Envoy => ExportFormat::Envoy,
        FormatArg::Dockerfile => ExportFormat::Dockerfile,
    };
    let out = export(
        format,
        &options,
        &scenario.settings.config,
        sha.as_deref(),
        abi.as_deref(),
    );
    print!("{}", out.text);
    for w in &out.warnings {
        eprintln!("pwp: {w}");
    }
    Ok(if out.has_errors() { 3 } else { 0 })
}
