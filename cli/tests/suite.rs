//! `pwp test` end to end: discovery, the text lines, filters, the JUnit, TAP and JSON reports,
//! exit codes and plugin paths, on the real examples and WAT fixtures.

mod common;

use std::path::Path;

use common::{
    example, host_fixture, pwp, pwp_in, root, scratch, stdout, text, trapping_plugin, write,
};

/// The example scenarios in the repository, as `pwp test` prints their paths.
fn example_scenarios() -> Vec<String> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(root().join("examples")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("scenario") && name.ends_with(".json") {
                let folder = dir.file_name().unwrap().to_string_lossy();
                found.push(format!("examples/{folder}/{name}"));
            }
        }
    }
    found.sort();
    found
}

/// A suite in a scratch directory: a scenario that passes (rust-basic-auth), one whose
/// expectation fails, and one whose plugin traps.
fn mixed_suite(test: &str) -> std::path::PathBuf {
    let dir = scratch(test);
    let plugin = example("rust-basic-auth.wasm");
    let plugin = plugin.to_str().unwrap();
    write(
        &dir,
        "ok.scenario.json",
        format!(
            r#"{{"name": "valid credentials", "plugin": {{"path": {plugin:?}}},
               "settings": {{"config": {{"users": {{"alice": "s3cret"}}}}}},
               "request": {{"headers": [["authorization", "Basic YWxpY2U6czNjcmV0"]]}},
               "expect": {{"client_response": {{"status": 200}}}}}}"#
        ),
    );
    // The expectation's name carries markup and quotes, which the reports must escape.
    write(
        &dir,
        "wrong.scenario.json",
        format!(
            r#"{{"name": "expects <418> & \"teapot\"", "plugin": {{"path": {plugin:?}}},
               "expect": {{"client_response": {{"status": 418, "body_contains": "<&>\"'"}}}}}}"#
        ),
    );
    write(&dir, "trap.wasm", trapping_plugin());
    write(
        &dir,
        "trap.scenario.json",
        r#"{"name": "a trap", "plugin": {"path": "trap.wasm"}}"#,
    );
    dir
}

#[test]
fn the_examples_pass_with_one_line_each_and_a_junit_report_that_parses() {
    let expected = example_scenarios();
    assert!(expected.len() >= 14, "{expected:?}");
    let dir = scratch("examples-junit");
    let report = dir.join("junit.xml");
    let o = pwp(&[
        "test",
        "examples/",
        "--format",
        "junit",
        "--output",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL") || l.starts_with("ERROR"))
        .collect();
    assert_eq!(lines.len(), expected.len(), "{out}");
    // One line each, in path order.
    for (line, path) in lines.iter().zip(&expected) {
        assert!(line.starts_with(&format!("PASS  {path} (")), "{line}");
        assert!(line.contains(" expectations held, "), "{line}");
    }
    assert_eq!(
        out.lines().last(),
        Some(format!("{} passed, 0 failed", expected.len()).as_str()),
        "{out}"
    );

    let xml = std::fs::read_to_string(&report).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("the JUnit report is XML");
    let top = doc.root_element();
    assert_eq!(top.tag_name().name(), "testsuites");
    let suites: Vec<_> = top
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(names, expected);
    let mut total = 0;
    for s in &suites {
        let cases = s.children().filter(|n| n.has_tag_name("testcase")).count();
        assert!(cases > 0, "{:?} has no test case", s.attribute("name"));
        assert_eq!(s.attribute("tests"), Some(cases.to_string().as_str()));
        assert_eq!(s.attribute("failures"), Some("0"));
        total += cases;
    }
    assert_eq!(top.attribute("tests"), Some(total.to_string().as_str()));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
}

#[test]
fn the_filter_keeps_scenarios_by_path_or_name() {
    let o = pwp(&["test", "examples/", "--filter", "rust-basic-auth"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().filter(|l| l.starts_with("PASS")).count(), 5);
    assert!(out.ends_with("5 passed, 0 failed\n"), "{out}");

    // "wrong password" is in one scenario's name only.
    let o = pwp(&["test", "examples", "--filter", "wrong password"]);
    let out = stdout(&o);
    assert!(
        out.contains("PASS  examples/rust-basic-auth/scenario-denied.json"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");

    let o = pwp(&["test", "examples", "--filter", "no such scenario"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn exit_codes_follow_pwp_run_and_the_worst_wins() {
    let dir = mixed_suite("exit-codes");
    let d = |name: &str| dir.join(name).to_str().unwrap().to_string();

    let o = pwp(&["test", &d("ok.scenario.json")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = pwp(&["test", &d("ok.scenario.json"), &d("wrong.scenario.json")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("FAIL  "), "{out}");
    assert!(out.contains("expected 418, got 401"), "{out}");
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");

    let o = pwp(&["test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("plugin failed"), "{out}");
    assert!(out.contains("unreachable"), "{out}");
    assert!(out.ends_with("1 passed, 2 failed\n"), "{out}");

    // A broken scenario is bad input, and the worst exit code wins.
    write(&dir, "broken.scenario.json", r#"{"requets": {}}"#);
    let o = pwp(&["test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("requets"), "{out}");
    assert!(out.ends_with("1 passed, 3 failed\n"), "{out}");

    // So is a path that does not exist.
    let o = pwp(&["test", &d("missing.scenario.json")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn junit_failures_carry_expected_and_actual_escaped() {
    let dir = mixed_suite("junit-failures");
    write(&dir, "broken.scenario.json", "{ not json");
    let o = pwp(&["test", dir.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // Without --output the report replaces the text lines on stdout.
    let xml = stdout(&o);
    assert!(xml.starts_with("<?xml"), "{xml}");
    let doc = roxmltree::Document::parse(&xml).expect("the JUnit report is XML");
    let suite = |file: &str| {
        doc.descendants()
            .find(|n| {
                n.has_tag_name("testsuite")
                    && n.attribute("name").is_some_and(|a| a.ends_with(file))
            })
            .unwrap_or_else(|| panic!("no suite for {file}"))
    };

    let wrong = suite("wrong.scenario.json");
    assert_eq!(wrong.attribute("failures"), Some("2"));
    let failures: Vec<_> = wrong
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(
        failures[0].text(),
        Some("expected 418, got 401"),
        "expected vs actual"
    );
    // Names with markup and quotes come back intact.
    let names: Vec<&str> = wrong
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert!(
        names.contains(&r#"client_response.body contains "<&>\"'""#),
        "{names:?}"
    );
    let scenario = wrong
        .descendants()
        .find(|n| n.attribute("name") == Some("scenario"))
        .unwrap();
    assert_eq!(
        scenario.attribute("value"),
        Some(r#"expects <418> & "teapot""#)
    );

    // The plugin's failure is a test case of its own, with an error.
    let trap = suite("trap.scenario.json");
    let run = trap
        .children()
        .find(|n| n.attribute("name") == Some("run"))
        .expect("a run test case");
    let error = run.children().find(|n| n.has_tag_name("error")).unwrap();
    assert_eq!(error.attribute("type"), Some("trap"));
    assert!(error.text().unwrap().contains("unreachable"));
    assert_eq!(trap.attribute("errors"), Some("1"));

    let broken = suite("broken.scenario.json");
    let error = broken
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert_eq!(error.attribute("type"), Some("bad_input"));

    let ok = suite("ok.scenario.json");
    assert_eq!(ok.attribute("failures"), Some("0"));
    assert_eq!(ok.attribute("errors"), Some("0"));
}

#[test]
fn tap_is_well_formed() {
    let dir = mixed_suite("tap");
    let o = pwp(&["test", dir.to_str().unwrap(), "--format", "tap"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let tap = stdout(&o);
    let mut lines = tap.lines().peekable();
    assert_eq!(lines.next(), Some("TAP version 14"));
    assert_eq!(lines.next(), Some("1..3"));
    let mut points = Vec::new();
    while let Some(line) = lines.next() {
        let (ok, rest) = if let Some(r) = line.strip_prefix("ok ") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("not ok ") {
            (false, r)
        } else {
            panic!("not a test point: {line:?}\n{tap}");
        };
        let (number, description) = rest.split_once(" - ").unwrap();
        assert_eq!(number.parse::<usize>().unwrap(), points.len() + 1);
        assert!(!description.contains(['#', '\n']), "{description}");
        if lines.peek() == Some(&"  ---") {
            lines.next();
            let mut yaml = String::new();
            for l in lines.by_ref() {
                if l == "  ..." {
                    break;
                }
                yaml.push_str(l.strip_prefix("  ").expect("indented by two"));
                yaml.push('\n');
            }
            let v: serde_json::Value = yaml_serde::from_str(&yaml).expect("the block is YAML");
            assert!(!ok, "diagnostics only under failures");
            points.push((ok, description.to_string(), Some(v)));
        } else {
            points.push((ok, description.to_string(), None));
        }
    }
    assert_eq!(points.len(), 3);
    let (ok, description, _) = &points[0];
    assert!(*ok && description.ends_with("ok.scenario.json: valid credentials"));
    let (ok, _, block) = &points[1];
    let block = block.as_ref().unwrap();
    assert!(!ok);
    assert_eq!(block["status"], "plugin_failed");
    assert_eq!(block["exit_code"], 2);
    assert!(block["error"].as_str().unwrap().contains("unreachable"));
    let (ok, _, block) = &points[2];
    let block = block.as_ref().unwrap();
    assert!(!ok);
    assert_eq!(block["failures"][0]["detail"], "expected 418, got 401");
    assert_eq!(
        block["failures"][1]["expectation"],
        r#"client_response.body contains "<&>\"'""#
    );
}

#[test]
fn json_report_parses_and_counts() {
    let dir = mixed_suite("json");
    // The report's folder does not exist yet.
    let report = dir.join("reports/ci/report.json");
    let o = pwp(&[
        "test",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // With --output the text lines stay on stdout.
    assert!(stdout(&o).ends_with("1 passed, 2 failed\n"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["passed"], 1);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["exit_code"], 2);
    let statuses: Vec<&str> = v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["passed", "plugin_failed", "failed"]);
    let wrong = &v["scenarios"][2];
    assert_eq!(wrong["expectations"][0]["name"], "no failure");
    assert_eq!(wrong["expectations"][1]["detail"], "expected 418, got 401");
    assert_eq!(v["scenarios"][1]["error"]["kind"], "trap");
}

#[test]
fn a_plugin_path_is_relative_to_the_scenario_file() {
    let dir = scratch("relative");
    write(&dir, "suite/plugins/basic.wasm", host_fixture("basic"));
    write(
        &dir,
        "suite/deep/headers.scenario.yaml",
        "name: the fixture adds a header\n\
         plugin: {path: ../plugins/basic.wasm}\n\
         expect:\n  upstream_request: {headers: {x-added: \"yes\"}}\n",
    );
    // From the repository, from the suite's folder, and with the scenario named by a glob.
    for (cwd, arg) in [
        (root(), dir.join("suite").to_str().unwrap().to_string()),
        (dir.join("suite/deep"), ".".to_string()),
        (dir.clone(), "suite/*/*.yaml".to_string()),
    ] {
        let o = pwp_in(&cwd, &["test", &arg]);
        assert_eq!(o.status.code(), Some(0), "{arg}: {}", text(&o));
        assert!(stdout(&o).contains("2/2 expectations held"), "{}", text(&o));
        assert!(stdout(&o).ends_with("1 passed, 0 failed\n"));
    }
}

#[test]
fn examples_are_found_from_the_scenario_when_not_from_the_working_directory() {
    let elsewhere = scratch("elsewhere");
    let scenario = root().join("examples/rust-basic-auth/scenario.json");
    let o = pwp_in(&elsewhere, &["test", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn discovery_takes_named_files_and_skips_what_is_not_a_scenario() {
    let dir = scratch("discovery");
    let plugin = host_fixture("basic");
    write(&dir, "p.wasm", &plugin);
    let scenario = r#"{"plugin": {"path": "p.wasm"}}"#;
    let nested = |p: &str| format!(r#"{{"plugin": {{"path": "{p}p.wasm"}}}}"#);
    write(&dir, "a.scenario.json", scenario);
    write(&dir, "scenario-b.json", scenario);
    write(&dir, "sub/scenario.yml", nested("../").as_str());
    write(&dir, "named-anything.json", scenario);
    // Not scenarios, or in folders that are not searched.
    write(&dir, "scenario.schema.json", "not a scenario");
    write(&dir, "notes.json", "not a scenario");
    write(&dir, "target/x.scenario.json", "not searched");
    write(&dir, ".hidden/x.scenario.json", "not searched");
    write(&dir, "node_modules/m/scenario.json", "not searched");

    let o = pwp_in(&dir, &["test"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    let paths: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("PASS  "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["a.scenario.json", "scenario-b.json", "sub/scenario.yml"]
    );

    // A file named on the command line is taken whatever its name, and only once.
    let o = pwp_in(
        &dir,
        &["test", "named-anything.json", "a.scenario.json", "."],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).ends_with("4 passed, 0 failed\n"), "{}", text(&o));

    // Nothing to run is bad input.
    let empty = scratch("discovery-empty");
    let o = pwp_in(&empty, &["test"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("no scenario files found"), "{}", text(&o));
    assert!(Path::new(&empty).exists());
}
