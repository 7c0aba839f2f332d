//! `pwp test`: find scenario files, run them in parallel, report as text, JUnit, TAP or JSON.

mod discover;
mod json;
mod junit;
mod runner;
mod tap;
mod text;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::ValueEnum;

use crate::load::Fail;
use crate::render::Style;
use runner::Item;

/// Machine-readable report formats.
#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// JUnit XML: a testsuite per scenario file, a testcase per expectation.
    Junit,
    /// TAP version 14: a test point per scenario file.
    Tap,
    /// One JSON document.
    Json,
}

pub struct TestArgs {
    pub paths: Vec<PathBuf>,
    pub filter: Option<String>,
    pub format: Option<ReportFormat>,
    pub output: Option<PathBuf>,
    pub jobs: Option<usize>,
    /// Set `settings.lenient` in every scenario.
    pub lenient: bool,
}

pub fn cmd_test(a: TestArgs) -> Result<u8, Fail> {
    let start = Instant::now();
    let paths = discover::discover(&a.paths)?;
    if paths.is_empty() {
        return Err(Fail(
            3,
            "no scenario files found (names like *.scenario.json, scenario.json, scenario-*.yaml; see pwp test --help)".into(),
        ));
    }
    let mut items: Vec<Item> = paths.into_iter().map(Item::read).collect();
    if a.lenient {
        for scenario in items.iter_mut().filter_map(|i| i.scenario.as_mut().ok()) {
            scenario.settings.lenient = true;
        }
    }
    if let Some(filter) = &a.filter {
        items.retain(|i| runner::matches(i, filter));
        if items.is_empty() {
            return Err(Fail(
                3,
                format!("no scenario's path or name contains {filter:?}"),
            ));
        }
    }
    let threads = a.jobs.unwrap_or_else(runner::default_threads).max(1);
    // Text goes to stdout unless a report replaces it there.
    let text_out = a.format.is_none() || a.output.is_some();
    let style = Style::for_stdout();
    let outcomes = runner::run_all(&items, threads, |o| {
        if text_out {
            out(&text::scenario(o, &style));
        }
    });
    let exit = outcomes
        .iter()
        .map(|o| o.status.exit_code())
        .max()
        .unwrap_or(0);
    let threads = threads.min(items.len());
    if text_out {
        out(&text::closing(&outcomes, threads, start.elapsed()));
    }
    if let Some(format) = a.format {
        let report = match format {
            ReportFormat::Junit => junit::render(&outcomes),
            ReportFormat::Tap => tap::render(&outcomes),
            ReportFormat::Json => json::render(&outcomes, exit),
        };
        match &a.output {
            Some(path) => write_report(path, &report)?,
            None => out(&report),
        }
    }
    Ok(exit)
}

/// Writes the report, creating its folder (`--output reports/junit.xml` in a fresh checkout).
fn write_report(path: &std::path::Path, report: &str) -> Result<(), Fail> {
    let fail = |e: std::io::Error| Fail(3, format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(path, report).map_err(fail)
}

/// Writes to stdout now; a closed pipe (`pwp test | head`) is not an error worth a panic.
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
