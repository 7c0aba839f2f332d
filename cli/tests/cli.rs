//! `pwp` end to end: real plugins, real exit codes.

mod common;

use std::path::PathBuf;

use common::{example, host_fixture, pwp, root, scratch, stdout, text, write};

/// Writes a scratch file shared by this process's tests.
fn tmp(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pwp-cli-{}", std::process::id()));
    write(&dir, name, contents)
}

#[test]
fn a_scenario_that_names_its_example_runs_green_with_exit_0() {
    let s = example("go-http-auth.scenario.json");
    let o = pwp(&["run", "--scenario", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("proxy_on_http_call_response(1, 4"), "{out}");
    assert!(
        out.lines().any(|l| l.ends_with(" passed, 0 failed")),
        "{out}"
    );
}

#[test]
fn an_l4_scenario_prints_its_connection_frame_by_frame() {
    let s = example("go-network.scenario-deny.json");
    let o = pwp(&["run", "--scenario", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    for line in [
        "connection (context 2):",
        "  #0 client → upstream: \"*1\\r\\n$8\\r\\nFLUSH\"",
        "    plugin saw \"*1\\r\\n$8\\r\\nFLUSH\" -> StopIteration",
        "    held 13 bytes",
        "    not delivered: the connection is closed",
        "  to upstream: (empty)",
        "  close: downstream local (the plugin closed the connection (proxy_close_stream(downstream)); 18 held bytes from the client dropped)",
        "  closed (proxy_on_done, proxy_on_log, proxy_on_delete ran)",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} not in\n{out}");
    }
    assert!(!out.contains("client response:"), "{out}");
}

#[test]
fn a_wrong_expectation_exits_1_with_expected_and_actual() {
    let scenario = br#"{"expect": {"client_response": {"status": 418}}}"#;
    let s = tmp("wrong.json", scenario);
    let plugin = example("rust-basic-auth.wasm");
    let o = pwp(&[
        "run",
        plugin.to_str().unwrap(),
        "--scenario",
        s.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("client_response.status == 418"), "{out}");
    assert!(out.contains("expected 418, got 401"), "{out}");
    assert!(out.contains("1 failed"), "{out}");
}

#[test]
fn without_a_scenario_the_defaults_run() {
    let plugin = example("go-headers.wasm");
    let o = pwp(&["run", plugin.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    for key in [
        "abi",
        "callbacks",
        "logs",
        "upstream_request",
        "client_response",
        "callouts",
        "metrics",
        "shared_data",
        "memory_pages",
        "expectations",
        "error",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["abi"], "0.2.0");
    assert_eq!(v["upstream_request"]["headers"][0][1], "example.com");
    assert_eq!(v["client_response"]["status"], 200);
    let cb = &v["callbacks"][0];
    for key in [
        "name",
        "context_id",
        "args",
        "action",
        "hostcalls",
        "duration_us",
        "fuel",
    ] {
        assert!(cb.get(key).is_some(), "callback misses {key}");
    }
}

#[test]
fn bad_input_exits_3_and_names_the_problem() {
    let not_wasm = tmp("page.wasm", b"<html>404 Not Found</html>");
    let o = pwp(&["run", not_wasm.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o).contains("not a WebAssembly module"),
        "{}",
        text(&o)
    );

    let bad = tmp("bad.json", br#"{"requets": {}}"#);
    let plugin = example("rust-basic-auth.wasm");
    let o = pwp(&[
        "run",
        plugin.to_str().unwrap(),
        "--scenario",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("requets"), "{}", text(&o));
}

#[test]
fn a_plugin_the_proxy_refuses_exits_3_naming_why_unless_lenient() {
    // A Higress plugin under the Envoy profile: Envoy refuses ABI 0.2.100, by default and
    // under --strict alike (strict is about restricted host calls, not loading).
    let plugin = example("higress-request-block.wasm");
    let path = plugin.to_str().unwrap();
    for extra in [&[][..], &["--strict"][..]] {
        let o = pwp(&[&["run", path, "--profile", "envoy"][..], extra].concat());
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        let out = text(&o);
        assert!(
            out.contains("Envoy would refuse to load this plugin:") && out.contains("0.2.100"),
            "{out}"
        );
        assert!(out.contains("--lenient"), "{out}");
    }
    let o = pwp(&["run", path, "--profile", "envoy", "--lenient", "--strict"]);
    assert_ne!(o.status.code(), Some(3), "{}", text(&o));

    // A callback with a bad signature: refused, naming it; --lenient runs it and says so.
    let dir = scratch("bad-signature");
    let wasm = write(&dir, "bad.wasm", host_fixture("hostile_bad_signature"));
    let o = pwp(&["run", wasm.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("Bad function signature for: proxy_on_request_headers"),
        "{}",
        text(&o)
    );
    let o = pwp(&["run", wasm.to_str().unwrap(), "--lenient"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("one parameter"), "{out}");
    assert!(
        out.contains("note: settings.lenient: running a plugin Envoy would refuse to load: Bad function signature"),
        "{out}"
    );

    // pwp test: the scenario is bad input until --lenient (or settings.lenient).
    write(
        &dir,
        "bad.scenario.json",
        r#"{"plugin": {"path": "bad.wasm"}}"#,
    );
    let o = pwp(&["test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        stdout(&o).contains("Bad function signature for: proxy_on_request_headers"),
        "{}",
        text(&o)
    );
    let o = pwp(&["test", dir.to_str().unwrap(), "--lenient"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    write(
        &dir,
        "bad.scenario.json",
        r#"{"plugin": {"path": "bad.wasm"}, "settings": {"lenient": true}}"#,
    );
    let o = pwp(&["test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = pwp(&["inspect", plugin.to_str().unwrap()]);
    let out = text(&o);
    assert!(
        out.contains("envoy/istio would load it: no; higress would load it: yes"),
        "{out}"
    );
    assert!(
        out.contains("built for Higress: ") && out.contains("github.com/higress-group/wasm-go"),
        "{out}"
    );
}

#[test]
fn a_plugin_that_fails_exits_2() {
    let wat = br#"(module (memory (export "memory") 1)
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 16)
        (func (export "proxy_on_context_create") (param i32 i32))
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable))"#;
    let wasm = wat::parse_bytes(wat).unwrap();
    let plugin = tmp("trap.wasm", &wasm);
    let o = pwp(&["run", plugin.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("unreachable"), "{out}");
    assert!(out.contains("client response: 503"), "{out}");
}

#[test]
fn replaying_requests_reports_each_one() {
    let s = example("go-rate-limit.scenario.json");
    let o = pwp(&[
        "run",
        "--scenario",
        s.to_str().unwrap(),
        "--requests",
        "4",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let statuses: Vec<i64> = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["client_response"]["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 429, 429]);
    assert_eq!(v["memory_pages"].as_array().unwrap().len(), 4);
}

#[test]
fn export_writes_an_istio_wasm_plugin_with_the_sha256() {
    let plugin = example("rust-basic-auth.wasm");
    let o = pwp(&[
        "export",
        "--format",
        "istio",
        plugin.to_str().unwrap(),
        "--image",
        "https://example.com/p.wasm",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("kind: WasmPlugin"), "{out}");
    let info = pwp_sha(&plugin);
    assert!(out.contains(&info), "{out}");
}

fn pwp_sha(p: &std::path::Path) -> String {
    let o = pwp(&["inspect", p.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["sha256"].as_str().unwrap().to_string()
}

#[test]
fn the_published_schema_is_the_one_the_code_generates() {
    let o = pwp(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    let generated: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let path = root().join("schema/scenario.schema.json");
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema/scenario.schema.json"))
            .unwrap();
    assert_eq!(
        generated, published,
        "schema/scenario.schema.json is stale: run `cargo run -p pwp -- schema > schema/scenario.schema.json`"
    );
}

#[test]
fn a_foreign_function_mock_answers_the_plugin_and_the_trace_says_so() {
    let dir = scratch("foreign");
    write(&dir, "foreign.wasm", host_fixture("hc_foreign_function"));
    let scenario = write(
        &dir,
        "foreign.scenario.json",
        r#"{
          "plugin": {"path": "foreign.wasm"},
          "mocks": {"foreign": [
            {"name": "get_token", "result": "tok-42"},
            {"name": "compress", "status": "InternalFailure"}
          ]},
          "expect": {"upstream_request": {"headers": {"x-token": "tok-42"}},
                     "logs": [{"matches": "^tok-42$"}]}
        }"#,
    );
    let o = pwp(&["run", "--scenario", scenario.to_str().unwrap(), "-v"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert!(
        out.contains(r#"get_token args="req-1" -> "tok-42" (mocks.foreign)"#),
        "{out}"
    );
    assert!(
        out.contains("-> InternalFailure (mocks.foreign, in place of Envoy's built-in)"),
        "{out}"
    );
    assert!(
        out.contains("note: mocks.foreign answers compress in place of Envoy's built-in"),
        "{out}"
    );
    // Without the mock, Envoy does not know get_token: the expectations fail (exit 1).
    let plain = write(
        &dir,
        "plain.json",
        r#"{"plugin": {"path": "foreign.wasm"},
            "expect": {"upstream_request": {"headers": {"x-token": "tok-42"}}}}"#,
    );
    let o = pwp(&["run", "--scenario", plain.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn a_chain_loads_every_plugin_and_names_each_filter() {
    let s = example("rust-basic-auth.scenario-chain-denied.json");
    let o = pwp(&["run", "--scenario", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("filter 2 go-headers: VM 2, 8 callbacks, request headers seen 0 time(s)"),
        "{out}"
    );
    assert!(out.contains("[go-headers] proxy_on_log(2)"), "{out}");
    // A chain filter whose plugin cannot be found names the filter.
    let text_of = std::fs::read_to_string(&s).unwrap();
    let missing = text_of.replace("\"example\": \"go-headers\"", "\"path\": \"nowhere.wasm\"");
    let m = tmp("chain-missing.json", missing.as_bytes());
    let o = pwp(&["run", "--scenario", m.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("chain[0]: cannot read"), "{}", text(&o));
}

#[test]
fn a_chain_exports_one_wasm_plugin_per_filter_in_chain_order() {
    let s = example("rust-basic-auth.scenario-chain.json");
    let o = pwp(&["export", "-f", "istio", "--scenario", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let docs: Vec<serde_json::Value> = out
        .split("---\n")
        .map(|d| yaml_serde::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{out}");
    assert_eq!(docs[1]["metadata"]["name"], "go-headers");
    let priority = |d: &serde_json::Value| d["spec"]["priority"].as_i64().unwrap();
    assert!(priority(&docs[0]) > priority(&docs[1]), "{out}");
    let sha = pwp_sha(&example("go-headers.wasm"));
    // Each plugin's own module is the one named (for oci:// images, in a warning).
    assert!(
        text(&o).contains(&format!("go-headers: the module's sha256 ({sha})")),
        "{}",
        text(&o)
    );
}
