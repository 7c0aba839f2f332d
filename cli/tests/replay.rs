//! `pwp run --requests N`: the replay summary (time percentiles, memory verdict, the first
//! request that differs) on real examples and WAT plugins whose memory grows on purpose.

mod common;

use common::{example, growing_plugin, pwp, scratch, stdout, text, write};
use serde_json::json;

/// The summary block of a text report: from `replay:` up to the next unindented line.
fn summary(out: &str) -> Vec<String> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with("replay: "));
    let mut block: Vec<String> = lines.next().into_iter().map(str::to_string).collect();
    block.extend(
        lines
            .take_while(|l| l.starts_with("  "))
            .map(str::to_string),
    );
    block
}

fn line<'a>(block: &'a [String], label: &str) -> &'a str {
    block
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in {block:#?}"))
}

/// Replays `plugin` (a file written into a scratch folder) `n` times.
fn replay_wasm(test: &str, wasm: &[u8], n: u32, json: bool) -> std::process::Output {
    let dir = scratch(test);
    let plugin = write(&dir, "plugin.wasm", wasm);
    let n = n.to_string();
    let mut args = vec!["run", plugin.to_str().unwrap(), "--requests", &n];
    if json {
        args.push("--json");
    }
    pwp(&args)
}

#[test]
fn a_ten_thousand_request_replay_of_a_real_plugin_is_summarised_in_a_few_lines() {
    let s = example("rust-basic-auth.scenario.json");
    let o = pwp(&[
        "run",
        "--scenario",
        s.to_str().unwrap(),
        "--requests",
        "10000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    let block = summary(&out);
    assert!(block.len() <= 15, "{block:#?}");
    assert_eq!(block[0], "replay: 10,000 requests in one VM");
    let time = line(&block, "time per request");
    for label in ["p50 ", "p95 ", "p99 ", "max "] {
        assert!(time.contains(label), "{time}");
    }
    // The Rust allocator reuses what each request frees.
    let memory = line(&block, "memory");
    assert!(
        memory.contains("17 → 17 pages · flat after warm-up (0 B per 1,000 requests)"),
        "{memory}"
    );
    let outcomes = line(&block, "outcomes");
    assert!(
        outcomes.contains("all 10,000 as request #1 (status 200)"),
        "{outcomes}"
    );
    // The trace shows the start-up and the last request, not 70,000 callbacks.
    assert!(out.lines().count() < 80, "{out}");
    assert!(out.contains("callbacks of the other requests and ticks not shown"));
    assert!(out.contains("proxy_on_request_headers(10001, "), "{out}");
}

#[test]
fn the_first_request_that_differs_is_named() {
    let s = example("go-rate-limit.scenario.json");
    let o = pwp(&[
        "run",
        "--scenario",
        s.to_str().unwrap(),
        "--requests",
        "2000",
    ]);
    let out = stdout(&o);
    let block = summary(&out);
    let outcomes = line(&block, "outcomes");
    // A burst empties the bucket after two requests.
    assert!(
        outcomes.contains(
            "request #3 is the first to differ from #1 (status 200): status 429 instead of 200"
        ),
        "{outcomes}"
    );
    assert!(line(&block, "memory").contains(" pages · "), "{block:#?}");
}

#[test]
fn memory_that_keeps_rising_is_a_likely_leak() {
    // A page every 100 requests, for ever: 20 rises over 2,000 requests.
    let o = replay_wasm("growing", &growing_plugin(100, u32::MAX), 2000, false);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let block = summary(&stdout(&o));
    let memory = line(&block, "memory");
    assert!(
        memory.contains("1 → 21 pages · memory grows 634 KiB per 1,000 requests: likely a leak"),
        "{memory}"
    );
    assert!(
        memory.contains("; rose at 20 requests, #100 to #2,000"),
        "{memory}"
    );
}

#[test]
fn memory_that_rises_in_the_warm_up_and_settles_is_flat_after_it() {
    // A page at requests 50, 100, 150 and 200, then never again.
    let o = replay_wasm("step", &growing_plugin(50, 200), 2000, false);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let memory = line(&summary(&stdout(&o)), "memory").to_string();
    assert!(
        memory.contains("1 → 5 pages · flat after warm-up (0 B per 1,000 requests); rose at 4 requests, #50 to #200"),
        "{memory}"
    );

    // A single rise late in the replay: it grew, then stopped; a longer replay tells.
    let o = replay_wasm("late-step", &growing_plugin(1500, 1500), 2000, false);
    let memory = line(&summary(&stdout(&o)), "memory").to_string();
    assert!(
        memory
            .contains(", then stopped: replay more requests to tell; rose once, at request #1,500"),
        "{memory}"
    );
}

#[test]
fn memory_that_never_rises_is_flat() {
    // The same plugin with its growth past the end of the replay.
    let o = replay_wasm("flat", &growing_plugin(5000, 5000), 2000, false);
    let memory = line(&summary(&stdout(&o)), "memory").to_string();
    assert!(
        memory.contains("1 → 1 pages · flat after warm-up (0 B per 1,000 requests)"),
        "{memory}"
    );
}

/// Every number in `v` that is not an integer has at most two decimals.
fn assert_rounded(v: &serde_json::Value, path: &str) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            let text = n.to_string();
            let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 2, "{path} = {text}");
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                assert_rounded(x, &format!("{path}[{i}]"));
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                assert_rounded(x, &format!("{path}.{k}"));
            }
        }
        _ => {}
    }
}

#[test]
fn json_keeps_every_request_with_rounded_numbers_and_the_summary() {
    let s = example("go-headers.scenario.json");
    let o = pwp(&[
        "run",
        "--scenario",
        s.to_str().unwrap(),
        "--requests",
        "300",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["requests"].as_array().unwrap().len(), 300);
    assert_eq!(v["memory_pages"].as_array().unwrap().len(), 300);
    assert!(
        v["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["request"] == 299)
    );
    assert_rounded(&v, "report");
    let replay = &v["replay"];
    assert_eq!(replay["requests"], 300);
    assert!(
        replay["time_us"]["p99"].as_f64().unwrap() <= replay["time_us"]["max"].as_f64().unwrap()
    );
    assert!(
        ["too_few", "flat", "settling", "leak"]
            .contains(&replay["memory_pages"]["verdict"].as_str().unwrap())
    );

    let o = replay_wasm("json-growing", &growing_plugin(10, u32::MAX), 100, true);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let memory = &v["replay"]["memory_pages"];
    assert_eq!(memory["verdict"], "leak");
    assert_eq!((&memory["first"], &memory["last"]), (&1.into(), &11.into()));
    // A page every 10 requests: 100 pages, 6.25 MiB, per 1,000 requests (a least-squares
    // slope over a staircase of 50 requests comes a little under).
    let growth = memory["bytes_per_1000"].as_f64().unwrap() / 1_048_576.0;
    assert!((6.0..=6.25).contains(&growth), "{growth} MiB");
    assert_eq!(memory["warm_up"], 50);
}

#[test]
fn a_replay_checks_the_scenario_s_callouts_against_each_request() {
    // The scenario lists the one callout its request makes; replayed, each request makes it.
    let s = example("go-http-auth.scenario.json");
    let o = pwp(&["run", "--scenario", s.to_str().unwrap(), "--requests", "3"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("1 callout(s) as listed, in each of the 3 requests"),
        "{out}"
    );

    // A list no request made fails, showing what the run made.
    let o = replay_auth_expecting("replay-callouts-each", json!([{"path": "/other"}]), 3);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("got [http auth /check, http auth /check, http auth /check]"),
        "{out}"
    );
}

/// Replays go-http-auth's scenario `n` times with `callouts` as its expected callouts.
fn replay_auth_expecting(test: &str, callouts: serde_json::Value, n: u32) -> std::process::Output {
    let dir = scratch(test);
    let text = std::fs::read_to_string(example("go-http-auth.scenario.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["expect"]["callouts"] = callouts;
    doc.as_object_mut().unwrap().remove("plugin");
    let s = write(&dir, "scenario.json", doc.to_string());
    let plugin = example("go-http-auth.wasm");
    let n = n.to_string();
    pwp(&[
        "run",
        plugin.to_str().unwrap(),
        "--scenario",
        s.to_str().unwrap(),
        "--requests",
        &n,
    ])
}

#[test]
fn a_replay_with_callouts_keeps_the_text_short() {
    // Every request asks the auth cluster: 2,000 callouts, and an expectation listing two
    // that no request made, whose detail lists them all.
    let two = json!([{"cluster": "auth"}, {"cluster": "auth"}]);
    let o = replay_auth_expecting("replay-callouts-short", two, 2000);
    let out = stdout(&o);
    assert!(out.contains("… 1,995 earlier callouts not shown"), "{out}");
    assert!(out.lines().count() < 100, "{out}");
    let longest = out.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 500, "a line of {longest} characters");
    assert!(out.contains("more characters)"), "{out}");
}
