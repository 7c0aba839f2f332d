//! The text report: a line per scenario as it finishes (in order), details under the ones
//! that did not pass, and the closing `N passed, N failed`.

use std::fmt::Write as _;
use std::time::Duration;

use super::runner::{Outcome, Status};
use crate::render::{Style, clip};

/// The line for one scenario, with what went wrong indented under it.
pub fn scenario(o: &Outcome, s: &Style) -> String {
    let mut out = String::new();
    let label = match o.status {
        Status::Passed => s.green("PASS "),
        Status::Failed => s.red("FAIL "),
        Status::PluginFailed | Status::BadInput => s.red("ERROR"),
    };
    let name = if o.name.is_empty() {
        String::new()
    } else {
        format!(" ({})", o.name)
    };
    let what = match o.status {
        Status::BadInput => "bad input".to_string(),
        Status::PluginFailed => format!(
            "plugin failed, {}/{} expectations held",
            o.passed_expectations(),
            o.expectations.len()
        ),
        Status::Passed | Status::Failed => format!(
            "{}/{} expectations held",
            o.passed_expectations(),
            o.expectations.len()
        ),
    };
    let _ = writeln!(
        out,
        "{label} {}{name}: {what}, {}",
        o.path,
        s.dim(&duration(o.time))
    );
    if let Some(m) = &o.message {
        for line in m.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    if o.status == Status::PluginFailed
        && let Some(f) = &o.failure
    {
        let _ = writeln!(out, "      {} {f}", s.red("error:"));
        if let Some(p) = &f.panic {
            for line in p.lines().take(10) {
                let _ = writeln!(out, "        {line}");
            }
        }
    }
    // Not again what the error line says (the "no failure" expectation).
    let error = o
        .failure
        .as_ref()
        .filter(|_| o.status == Status::PluginFailed)
        .map(ToString::to_string);
    for e in o
        .expectations
        .iter()
        .filter(|e| !e.passed && Some(&e.detail) != error.as_ref())
    {
        let _ = writeln!(out, "      {} {}", s.red("✗"), e.name);
        for line in e.detail.lines() {
            let _ = writeln!(out, "          {}", clip(line));
        }
    }
    out
}

/// The closing lines: how long it took, then exactly `N passed, N failed`.
pub fn closing(outcomes: &[Outcome], threads: usize, took: Duration) -> String {
    let passed = outcomes
        .iter()
        .filter(|o| o.status == Status::Passed)
        .count();
    let failed = outcomes.len() - passed;
    let threads = if threads == 1 {
        "1 thread".to_string()
    } else {
        format!("{threads} threads")
    };
    format!(
        "\n{} scenarios in {} on {threads}\n{passed} passed, {failed} failed\n",
        outcomes.len(),
        duration(took)
    )
}

/// `41 ms`, `2.35 s`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}
