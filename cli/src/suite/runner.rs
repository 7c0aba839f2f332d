//! Running scenario files, each in its own session, on all cores.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pwp_model::Scenario;
use pwp_model::report::ExpectationResult;
use pwp_model::trace::Failure;

use crate::load::{Fail, load_scenario, open_session, resolve_plugin};

/// A scenario file, read (or not) and ready to run.
pub struct Item {
    pub path: PathBuf,
    pub scenario: Result<Scenario, Fail>,
}

impl Item {
    pub fn read(path: PathBuf) -> Item {
        let scenario = load_scenario(Some(&path));
        Item { path, scenario }
    }

    /// The scenario's name, empty when it has none or could not be read.
    pub fn name(&self) -> &str {
        self.scenario.as_ref().map_or("", |s| s.name.as_str())
    }
}

/// How a scenario ended; the order is `pwp run`'s exit codes, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Every expectation held (exit code 0).
    Passed,
    /// An expectation failed (1).
    Failed,
    /// The plugin failed and the scenario did not expect it (2).
    PluginFailed,
    /// The scenario or its plugin could not be read or loaded (3).
    BadInput,
}

impl Status {
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Passed => 0,
            Status::Failed => 1,
            Status::PluginFailed => 2,
            Status::BadInput => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::PluginFailed => "plugin_failed",
            Status::BadInput => "bad_input",
        }
    }
}

/// What running one scenario file gave.
pub struct Outcome {
    /// The file, as found.
    pub path: String,
    /// The scenario's name (may be empty).
    pub name: String,
    /// The plugin's file (or `inline`), once resolved.
    pub plugin: Option<String>,
    pub status: Status,
    pub expectations: Vec<ExpectationResult>,
    /// The failure that ended the run, expected or not.
    pub failure: Option<Failure>,
    /// Why the scenario could not run (bad input).
    pub message: Option<String>,
    /// Wall time: reading the plugin, loading it and running the scenario.
    pub time: Duration,
}

impl Outcome {
    pub fn passed_expectations(&self) -> usize {
        self.expectations.iter().filter(|e| e.passed).count()
    }
}

/// Runs one scenario to the end in a session of its own.
pub fn run_one(item: &Item) -> Outcome {
    let start = Instant::now();
    let mut outcome = Outcome {
        path: item.path.display().to_string(),
        name: item.name().to_string(),
        plugin: None,
        status: Status::BadInput,
        expectations: Vec::new(),
        failure: None,
        message: None,
        time: Duration::ZERO,
    };
    if let Err(Fail(_, message)) = run_into(item, &mut outcome) {
        // The line already names the scenario file.
        let own = format!("{}: ", outcome.path);
        outcome.status = Status::BadInput;
        outcome.message = Some(message.strip_prefix(&own).unwrap_or(&message).to_string());
    }
    outcome.time = start.elapsed();
    outcome
}

fn run_into(item: &Item, outcome: &mut Outcome) -> Result<(), Fail> {
    let scenario = match &item.scenario {
        Ok(s) => s.clone(),
        Err(Fail(code, message)) => return Err(Fail(*code, message.clone())),
    };
    let plugin = resolve_plugin(None, &scenario, Some(&item.path))?;
    outcome.plugin = Some(plugin.origin.clone());
    let expects_error = scenario.expect.error.is_some();
    let mut session = open_session(&plugin, scenario, Some(&item.path))?;
    let report = session.run_to_end();
    outcome.status = if report.error.is_some() && !expects_error {
        Status::PluginFailed
    } else if report.passed() {
        Status::Passed
    } else {
        Status::Failed
    };
    outcome.expectations = report.expectations;
    outcome.failure = report.error;
    Ok(())
}

/// Runs every item on up to `threads` threads. `done` sees each outcome as soon as it and
/// all before it are finished, in the items' order; the outcomes come back in that order.
pub fn run_all(items: &[Item], threads: usize, mut done: impl FnMut(&Outcome)) -> Vec<Outcome> {
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let mut outcomes: Vec<Option<Outcome>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            std::thread::Builder::new()
                .name("pwp-test".into())
                // As much stack as the main thread: plugins can nest calls deeply.
                .stack_size(8 << 20)
                .spawn_scoped(scope, move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        if tx.send((i, run_guarded(item))).is_err() {
                            break;
                        }
                    }
                })
                .expect("a thread for pwp test");
        }
        drop(tx);
        let mut printed = 0;
        for (i, outcome) in rx {
            outcomes[i] = Some(outcome);
            while let Some(Some(o)) = outcomes.get(printed) {
                done(o);
                printed += 1;
            }
        }
    });
    outcomes.into_iter().flatten().collect()
}

/// [`run_one`], with a panic in the host reported as the scenario's failure rather than
/// taking the other scenarios down.
fn run_guarded(item: &Item) -> Outcome {
    let start = Instant::now();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(item))).unwrap_or_else(
        |panic| {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Outcome {
                path: item.path.display().to_string(),
                name: item.name().to_string(),
                plugin: None,
                status: Status::PluginFailed,
                expectations: Vec::new(),
                failure: None,
                message: Some(format!("the host panicked: {text}")),
                time: start.elapsed(),
            }
        },
    )
}

/// How many threads to use by default: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Whether `item` is kept by `--filter`: its path or its name contains `filter`.
pub fn matches(item: &Item, filter: &str) -> bool {
    item.path.to_string_lossy().contains(filter) || item.name().contains(filter)
}

/// A failure's kind as its JSON spelling (`trap`, `out_of_fuel`, ...).
pub fn failure_kind(f: &Failure) -> String {
    f.kind.name().to_string()
}
