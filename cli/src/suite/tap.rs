//! TAP version 14: a test point per scenario file, and for each one that did not pass a YAML
//! diagnostic block with its failed expectations (expected vs actual) and the failure.

use std::fmt::Write as _;

use super::runner::{Outcome, Status};

/// The whole report.
pub fn render(outcomes: &[Outcome]) -> String {
    let mut t = String::from("TAP version 14\n");
    let _ = writeln!(t, "1..{}", outcomes.len());
    for (i, o) in outcomes.iter().enumerate() {
        let ok = if o.status == Status::Passed {
            "ok"
        } else {
            "not ok"
        };
        let mut description = o.path.clone();
        if !o.name.is_empty() {
            let _ = write!(description, ": {}", o.name);
        }
        let _ = writeln!(t, "{ok} {} - {}", i + 1, description_text(&description));
        if o.status != Status::Passed {
            diagnostics(&mut t, o);
        }
    }
    t
}

/// A description on one line, with TAP's `#` (directive) and `\` escaped.
fn description_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('#', "\\#")
        .replace(['\n', '\r'], " ")
}

/// A YAML scalar: a JSON string is a valid double-quoted YAML scalar.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn diagnostics(t: &mut String, o: &Outcome) {
    t.push_str("  ---\n");
    let _ = writeln!(t, "  status: {}", o.status.as_str());
    let _ = writeln!(t, "  exit_code: {}", o.status.exit_code());
    if let Some(p) = &o.plugin {
        let _ = writeln!(t, "  plugin: {}", quoted(p));
    }
    if let Some(m) = &o.message {
        let _ = writeln!(t, "  message: {}", quoted(m));
    }
    if let Some(f) = &o.failure {
        let _ = writeln!(t, "  error: {}", quoted(&f.to_string()));
        if let Some(p) = &f.panic {
            let _ = writeln!(t, "  plugin_output: {}", quoted(p));
        }
    }
    let failed: Vec<_> = o.expectations.iter().filter(|e| !e.passed).collect();
    if !failed.is_empty() {
        t.push_str("  failures:\n");
        for e in failed {
            let _ = writeln!(t, "    - expectation: {}", quoted(&e.name));
            let _ = writeln!(t, "      detail: {}", quoted(&e.detail));
        }
    }
    t.push_str("  ...\n");
}
