//! Workloads for the playground's benchmarks (`cargo bench -p pwp-bench`).
//!
//! Three kinds of run over the built example plugins in `public/examples/`
//! (`bash examples/build.sh`):
//!
//! - **the host** ([`pwp_host`] on wasmi, as the app and `pwp` run it): inspect, compile,
//!   [`Session::new`], start-up to the first request callback, and requests on a started VM;
//! - **a minimal host on wasmi** ([`mini`], [`mini_wasmi`]): the same lifecycle with a
//!   proxy-wasm host that only answers what the lifecycle needs, so that engine time and host
//!   time can be told apart;
//! - **the same minimal host on wasmtime** (`--features wasmtime`, `mini_wasmtime`): the
//!   reference engine, a native JIT.
//!
//! `scripts/bench.sh` runs them all and writes `BENCHMARKS.md`.

use std::path::PathBuf;

use pwp_host::{Pause, Scenario, Session, Step, StepUntil};

pub mod mini;
pub mod mini_wasmi;
#[cfg(feature = "wasmtime")]
pub mod mini_wasmtime;

/// The examples the benchmarks use: a small Rust plugin, a Go SDK plugin and a Higress
/// (wasm-go) plugin.
pub const EXAMPLES: &[&str] = &["rust-basic-auth", "go-headers", "higress-request-block"];

/// A built example plugin and its default scenario.
#[derive(Clone)]
pub struct Example {
    /// Its name (`go-headers`).
    pub name: String,
    /// The module.
    pub bytes: Vec<u8>,
    /// `<name>.scenario.json`.
    pub scenario: Scenario,
}

/// Where the built examples are: `PWP_EXAMPLES`, else `public/examples/` of this repository.
pub fn examples_dir() -> PathBuf {
    match std::env::var_os("PWP_EXAMPLES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public/examples"),
    }
}

/// Loads example `name`, or says how to build it.
///
/// # Errors
///
/// When the example has not been built or its scenario does not parse.
pub fn try_example(name: &str) -> Result<Example, String> {
    let dir = examples_dir();
    let wasm = dir.join(format!("{name}.wasm"));
    let bytes = std::fs::read(&wasm).map_err(|e| {
        format!(
            "{}: {e}; build the examples first: bash examples/build.sh",
            wasm.display()
        )
    })?;
    let path = dir.join(format!("{name}.scenario.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario = Scenario::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Example {
        name: name.to_string(),
        bytes,
        scenario,
    })
}

/// Loads example `name`.
///
/// # Panics
///
/// When it has not been built (the message says how).
pub fn example(name: &str) -> Example {
    try_example(name).unwrap_or_else(|e| panic!("{e}"))
}

/// `scenario` replayed `n` times in the same VM.
pub fn with_requests(scenario: &Scenario, n: u32) -> Scenario {
    Scenario {
        requests: n,
        ..scenario.clone()
    }
}

/// The wasmi configuration the host compiles plugins with (fuel on, lazy compilation), so that
/// `Module::new` here costs what it costs inside [`Session::new`].
pub fn host_engine(mode: wasmi::CompilationMode) -> wasmi::Engine {
    let mut config = wasmi::Config::default();
    config
        .consume_fuel(true)
        .compilation_mode(mode)
        .set_max_recursion_depth(4096)
        .fuel_cost(wasmi::CustomFuelCosts {
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        });
    wasmi::Engine::new(&config)
}

/// Compiles `bytes` as the host does.
///
/// # Panics
///
/// When the module does not compile.
pub fn compile(engine: &wasmi::Engine, bytes: &[u8]) -> wasmi::Module {
    wasmi::Module::new(engine, bytes).expect("the example compiles")
}

/// Creates a session (inspect, compile, link, instantiate; nothing runs yet).
///
/// # Panics
///
/// When the plugin cannot be loaded.
pub fn new_session(bytes: &[u8], scenario: &Scenario) -> Session {
    Session::new(bytes, scenario.clone()).expect("the example loads")
}

/// Starts the plugin: steps the session callback by callback until it is paused before the
/// first callback of the first request (start functions, root context, vm start and
/// configure have run).
///
/// # Panics
///
/// When the run ends or fails before any request.
pub fn start(session: &mut Session) {
    loop {
        match session.step(StepUntil::Callback) {
            Step::Paused(Pause::BeforeCallback { index }) => {
                let in_request = session
                    .world()
                    .trace
                    .callbacks
                    .get(index)
                    .is_some_and(|c| c.request.is_some());
                if in_request {
                    return;
                }
            }
            Step::Paused(p) => panic!("the plugin stopped during start-up: {p:?}"),
            Step::Yielded => {}
            Step::Finished => panic!(
                "the run ended during start-up: {:?}",
                session.world().failure
            ),
        }
    }
}

/// A session started up to its first request (see [`start`]).
pub fn started(bytes: &[u8], scenario: &Scenario) -> Session {
    let mut s = new_session(bytes, scenario);
    start(&mut s);
    s
}

/// Runs the rest of the scenario, without building the report.
pub fn finish(session: &mut Session) {
    while session.step(StepUntil::End) != Step::Finished {}
}
