//! `pwp`: run proxy-wasm plugins against scenarios with the playground's host, natively.
//!
//! Exit codes: 0 all good; 1 an expectation failed; 2 the plugin failed (trap, configure
//! refused, limit hit); 3 bad input (not wasm, a plugin the emulated proxy refuses to load,
//! bad scenario).

mod load;
mod render;
mod replay;
mod suite;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pwp_host::inspect;
use pwp_model::export::{ExportFormat, ExportOptions, export};
use pwp_model::scenario::Profile;

use load::{Fail, load_scenario, open_session, parse_config, read, resolve_plugin};
use suite::{ReportFormat, TestArgs};

#[derive(Parser)]
#[command(
    name = "pwp",
    version,
    about = "Proxy-Wasm Playground runner: inspect plugins, run scenarios and suites of them, export deployment files",
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
        /// Replay the request N times in the same VM; the text report summarises per-request time, memory growth and outcomes.
        /// The scenario's expected callouts may then be one request's, checked against each.
        #[arg(long)]
        requests: Option<u32>,
        /// Trap, as Envoy does, on host calls Envoy refuses at that moment (during VM start-up,
        /// inside the allocator) instead of answering them with a warning (settings.strict).
        #[arg(long)]
        strict: bool,
        /// Run a plugin the emulated proxy would refuse to load (a callback with a bad
        /// signature, an import it lacks, a foreign ABI); by default it is refused, naming why
        /// (settings.lenient).
        #[arg(long)]
        lenient: bool,
        /// Which proxy to emulate (default: Higress for ABI 0.2.100 plugins, Envoy otherwise).
        #[arg(long, value_enum)]
        profile: Option<ProfileArg>,
        /// Print every host call, not just callbacks and logs.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Run every scenario file found, in parallel, and summarise: a line per scenario, then `N passed, N failed`.
    #[command(long_about = TEST_HELP)]
    Test {
        /// Scenario files (taken whatever their name), directories to search, or globs.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Keep only the scenarios whose path or name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Write a report in this format: to --output, or to stdout instead of the text lines.
        #[arg(long, value_enum)]
        format: Option<ReportFormat>,
        /// The file for the --format report (the text lines still go to stdout).
        #[arg(long, short, requires = "format")]
        output: Option<PathBuf>,
        /// How many scenarios to run at once (default: one per core).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Run plugins the emulated proxy would refuse to load, in every scenario (as if each
        /// set settings.lenient); by default such a scenario is bad input naming why.
        #[arg(long)]
        lenient: bool,
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

const TEST_HELP: &str = "Runs scenario files, each in a session of its own, on all cores, and prints a line per \
scenario as it finishes (in path order: status, path, name, expectations held, time), details under \
those that did not pass, and a closing line `N passed, N failed`.

Which files: each argument is a file (run whatever its name), a directory (searched recursively) \
or a glob (quote it: pwp expands it; what it matches is taken as if named). Without arguments: `.`. \
In a directory, a scenario is a .json, .yaml or .yml file named scenario.*, scenario-*.*, \
*.scenario.* or *.scenario-*.* (login.scenario.json, scenario-denied.yaml, \
auth.scenario-denied.json); hidden directories, target/ and node_modules/ are skipped. A scenario's \
plugin {\"path\": …} is relative to the scenario file; {\"example\": name} is \
public/examples/<name>.wasm found from the working directory or the scenario upwards (or in \
$PWP_EXAMPLES).

Exit codes, the worst scenario's: 0 all passed, 1 an expectation failed, 2 a plugin failed, \
3 bad input (unreadable or invalid scenario, missing plugin, a plugin the emulated proxy \
refuses to load without --lenient, nothing found).";

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
            lenient,
            profile,
            verbose,
        } => cmd_run(RunArgs {
            plugin,
            scenario,
            config,
            json,
            requests,
            strict,
            lenient,
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
        Command::Test {
            paths,
            filter,
            format,
            output,
            jobs,
            lenient,
        } => suite::cmd_test(TestArgs {
            paths,
            filter,
            format,
            output,
            jobs,
            lenient,
        }),
        Command::Schema => {
            let schema = pwp_model::scenario::json_schema();
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
    lenient: bool,
    profile: Option<ProfileArg>,
    verbose: bool,
}

fn cmd_run(a: RunArgs) -> Result<u8, Fail> {
    let mut scenario = load_scenario(a.scenario.as_deref())?;
    let plugin = resolve_plugin(a.plugin.as_deref(), &scenario, a.scenario.as_deref())?;
    if let Some(config) = &a.config {
        let text = String::from_utf8_lossy(&read(config)?).into_owned();
        scenario.settings.config = parse_config(&text);
    }
    if let Some(n) = a.requests {
        if n > pwp_model::scenario::MAX_REQUESTS {
            return Err(Fail(
                2,
                format!(
                    "--requests {n}: at most {} requests are replayed in one run",
                    pwp_model::scenario::MAX_REQUESTS
                ),
            ));
        }
        scenario.requests = n.max(1);
        scenario
            .check_events()
            .and_then(|()| scenario.check_concurrency())
            .map_err(|e| Fail(2, format!("--requests {n}: {e}")))?;
    }
    if a.strict {
        scenario.settings.strict = true;
    }
    if a.lenient {
        scenario.settings.lenient = true;
    }
    match a.profile {
        Some(ProfileArg::Envoy) => scenario.settings.profile = Profile::Envoy,
        Some(ProfileArg::Higress) => scenario.settings.profile = Profile::Higress,
        None => {}
    }
    let mut session = open_session(&plugin, scenario, a.scenario.as_deref())?;
    let report = session.run_to_end();
    if a.json {
        let mut doc = serde_json::to_value(&report).unwrap_or_default();
        if report.requests.len() > 1
            && let (Some(summary), Some(object)) =
                (replay::summarise(&report.requests), doc.as_object_mut())
        {
            object.insert(
                "replay".into(),
                serde_json::to_value(summary).unwrap_or_default(),
            );
        }
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!(
            "{}",
            render::report(
                &plugin.origin,
                &report,
                &render::Style::for_stdout(),
                a.verbose
            )
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
    if let Some(path) = plugin_bytes.as_ref().and_then(|p| p.path.as_ref())
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
        Some(p) => {
            let info = inspect(&p.bytes).map_err(|e| Fail(3, format!("{}: {e}", p.origin)))?;
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
    let out = if scenario.chain.is_empty() {
        export(
            format,
            &options,
            &scenario.settings.config,
            sha.as_deref(),
            abi.as_deref(),
        )
    } else {
        // A chain: one resource per plugin, ordered as the chain.
        let mut digests = vec![(sha, abi)];
        for k in 1..scenario.filter_count() {
            let filter = scenario.filter(k).expect("a filter of the chain");
            let digest = match resolve_plugin(None, &filter, scenario_path.as_deref()) {
                Ok(p) => {
                    let info =
                        inspect(&p.bytes).map_err(|e| Fail(3, format!("{}: {e}", p.origin)))?;
                    (
                        Some(info.sha256),
                        info.abi_marker
                            .map(|m| m.trim_start_matches("proxy_abi_version_").to_string()),
                    )
                }
                Err(_) => (filter.plugin.as_ref().and_then(|p| p.sha256.clone()), None),
            };
            digests.push(digest);
        }
        let plugins = pwp_model::export::ChainPlugin::from_scenario(&scenario, &options, &digests);
        pwp_model::export::export_chain(format, &plugins)
    };
    print!("{}", out.text);
    for w in &out.warnings {
        eprintln!("pwp: {w}");
    }
    Ok(if out.has_errors() { 3 } else { 0 })
}
