//! JUnit XML, as CI systems ingest it: a `<testsuite>` per scenario file, a `<testcase>` per
//! expectation (a `<failure>` with expected and actual when it did not hold), and a `run`
//! test case carrying an `<error>` when the plugin failed or the scenario could not run.

use std::fmt::Write as _;

use super::runner::failure_kind;
use super::runner::{Outcome, Status};

/// The whole report.
pub fn render(outcomes: &[Outcome]) -> String {
    let tests: usize = outcomes.iter().map(test_count).sum();
    let failures: usize = outcomes.iter().map(failure_count).sum();
    let errors = outcomes.iter().filter(|o| has_error(o)).count();
    let time: f64 = outcomes.iter().map(|o| o.time.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"pwp test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">",
        seconds(time)
    );
    for o in outcomes {
        suite(&mut x, o);
    }
    x.push_str("</testsuites>\n");
    x
}

fn has_error(o: &Outcome) -> bool {
    matches!(o.status, Status::PluginFailed | Status::BadInput)
}

fn test_count(o: &Outcome) -> usize {
    o.expectations.len() + usize::from(has_error(o))
}

fn failure_count(o: &Outcome) -> usize {
    o.expectations.iter().filter(|e| !e.passed).count()
}

fn seconds(s: f64) -> String {
    format!("{s:.3}")
}

fn suite(x: &mut String, o: &Outcome) {
    let path = escape(&o.path);
    let _ = writeln!(
        x,
        "  <testsuite name=\"{path}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{}\" file=\"{path}\">",
        test_count(o),
        failure_count(o),
        usize::from(has_error(o)),
        seconds(o.time.as_secs_f64())
    );
    x.push_str("    <properties>\n");
    if !o.name.is_empty() {
        property(x, "scenario", &o.name);
    }
    if let Some(p) = &o.plugin {
        property(x, "plugin", p);
    }
    property(x, "status", o.status.as_str());
    x.push_str("    </properties>\n");
    for e in &o.expectations {
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{path}\"",
            escape(&e.name)
        );
        if e.passed {
            x.push_str("/>\n");
        } else {
            let _ = writeln!(
                x,
                ">\n      <failure message=\"{}\" type=\"expectation\">{}</failure>\n    </testcase>",
                escape(&first_line(&e.detail)),
                escape_text(&e.detail)
            );
        }
    }
    if has_error(o) {
        let (kind, message, detail) = match (&o.failure, &o.message) {
            (_, Some(m)) if o.status == Status::BadInput => {
                ("bad_input".to_string(), first_line(m), m.clone())
            }
            (Some(f), _) => {
                let mut detail = f.to_string();
                for b in &f.backtrace {
                    let _ = write!(detail, "\n  {b}");
                }
                if let Some(p) = &f.panic {
                    let _ = write!(detail, "\nplugin output:\n{p}");
                }
                (failure_kind(f), f.to_string(), detail)
            }
            (None, m) => {
                let m = m.clone().unwrap_or_default();
                ("plugin_failed".to_string(), first_line(&m), m)
            }
        };
        let _ = writeln!(
            x,
            "    <testcase name=\"run\" classname=\"{path}\">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
            escape(&message),
            escape(&kind),
            escape_text(&detail)
        );
    }
    x.push_str("  </testsuite>\n");
}

fn property(x: &mut String, name: &str, value: &str) {
    let _ = writeln!(
        x,
        "      <property name=\"{name}\" value=\"{}\"/>",
        escape(value)
    );
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Text for an XML attribute. Characters XML 1.0 cannot carry at all (most control
/// characters) are written as `\u{..}`; line breaks and tabs are kept as references, which
/// attribute value normalisation would otherwise turn into spaces.
pub fn escape(s: &str) -> String {
    escape_with(s, true)
}

/// Text for an element's content: as [`escape`], with line breaks and tabs as they are.
pub fn escape_text(s: &str) -> String {
    escape_with(s, false)
}

fn escape_with(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' if !attribute => out.push(c),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    out
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_text};

    #[test]
    fn escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c\" 'd'"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;"
        );
        assert_eq!(escape("x\u{0}y\u{1b}"), "x\\u{0}y\\u{1b}");
        assert_eq!(escape("l1\nl2"), "l1&#10;l2");
        assert_eq!(escape_text("l1\nl2 <"), "l1\nl2 &lt;");
        assert_eq!(escape("\u{FFFE}"), "\\u{fffe}");
    }
}
