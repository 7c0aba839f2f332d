//! The JSON report: the counts, the exit code and each scenario's result.

use serde_json::{Value, json};

use super::runner::{Outcome, Status};
use crate::replay::round2;

/// The whole report, pretty-printed.
pub fn render(outcomes: &[Outcome], exit_code: u8) -> String {
    let passed = outcomes
        .iter()
        .filter(|o| o.status == Status::Passed)
        .count();
    let doc = json!({
        "passed": passed,
        "failed": outcomes.len() - passed,
        "exit_code": exit_code,
        "scenarios": outcomes.iter().map(scenario).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn scenario(o: &Outcome) -> Value {
    json!({
        "path": o.path,
        "name": o.name,
        "plugin": o.plugin,
        "status": o.status.as_str(),
        "exit_code": o.status.exit_code(),
        "time_ms": round2(o.time.as_secs_f64() * 1000.0),
        "expectations": o.expectations,
        "error": o.failure,
        "message": o.message,
    })
}
