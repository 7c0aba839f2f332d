//! Every example plugin runs every one of its scenarios green, and its trace matches the
//! golden file in `tests/golden/` (regenerate with `UPDATE_GOLDEN=1 cargo test`).

use std::path::PathBuf;

use pwp_host::{Scenario, run};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public/examples")
}

/// (scenario file name, plugin file name) for every scenario in the manifest.
fn scenarios() -> Vec<(String, String)> {
    let index = examples_dir().join("index.json");
    let text = std::fs::read_to_string(&index).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the examples first: bash examples/build.sh",
            index.display()
        )
    });
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).expect("index.json");
    assert!(
        entries.len() >= 8,
        "expected the eight examples, found {}",
        entries.len()
    );
    let mut out = Vec::new();
    for e in entries {
        let wasm = e["wasm"].as_str().expect("wasm").to_string();
        out.push((
            e["scenario"].as_str().expect("scenario").to_string(),
            wasm.clone(),
        ));
        for extra in e["scenarios"].as_array().into_iter().flatten() {
            out.push((extra.as_str().expect("scenario").to_string(), wasm.clone()));
        }
    }
    out
}

#[test]
fn every_example_scenario_passes_and_matches_its_golden_trace() {
    let golden_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (scenario_file, wasm) in scenarios() {
        let bytes = std::fs::read(examples_dir().join(&wasm)).expect("plugin");
        let text = std::fs::read_to_string(examples_dir().join(&scenario_file)).expect("scenario");
        let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{scenario_file}: {e}"));
        let report =
            run_with_chain(&bytes, scenario).unwrap_or_else(|e| panic!("{scenario_file}: {e}"));
        for e in report.expectations.iter().filter(|e| !e.passed) {
            failures.push(format!("{scenario_file}: {} ({})", e.name, e.detail));
        }
        let trace = pwp_host::Trace {
            callbacks: report.callbacks.clone(),
            logs: report.logs.clone(),
            logs_dropped: 0,
            timeline: report.timeline.clone(),
            filters: report.filters.iter().map(|f| f.name.clone()).collect(),
        }
        .render();
        let golden = golden_dir.join(scenario_file.replace(".json", ".trace"));
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == trace => {}
            _ if update => std::fs::write(&golden, &trace).expect("write golden"),
            Ok(want) => failures.push(format!(
                "{scenario_file}: trace differs from {}\n{}",
                golden.display(),
                first_difference(&want, &trace)
            )),
            Err(_) => failures.push(format!(
                "{scenario_file}: no golden trace at {} (run with UPDATE_GOLDEN=1 to create it)",
                golden.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `scenario` on `bytes`, and on the examples its chain names.
fn run_with_chain(bytes: &[u8], scenario: Scenario) -> Result<pwp_host::Report, String> {
    if scenario.chain.is_empty() {
        return run(bytes, scenario).map_err(|e| e.to_string());
    }
    let mut plugins = vec![pwp_host::Plugin::load(bytes.to_vec()).map_err(|e| e.to_string())?];
    for f in &scenario.chain {
        let name = f
            .plugin
            .example
            .as_deref()
            .ok_or("chain filters name examples")?;
        let bytes = std::fs::read(examples_dir().join(format!("{name}.wasm")))
            .map_err(|e| format!("{name}: {e}"))?;
        plugins.push(pwp_host::Plugin::load(bytes).map_err(|e| e.to_string())?);
    }
    let refs: Vec<&pwp_host::Plugin> = plugins.iter().collect();
    Ok(pwp_host::Session::with_chain(&refs, scenario)
        .map_err(|e| e.to_string())?
        .run_to_end())
}

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  want {w}\n  got  {g}", i + 1);
        }
    }
    format!(
        "lengths differ: want {} lines, got {}",
        want.lines().count(),
        got.lines().count()
    )
}

#[test]
fn go_and_higress_plugins_are_detected_for_what_they_are() {
    let info =
        |name: &str| pwp_host::inspect(&std::fs::read(examples_dir().join(name)).unwrap()).unwrap();
    let go = info("go-headers.wasm");
    assert_eq!(go.abi, Some(pwp_host::abi::AbiVersion::V0_2_0));
    assert!(go.toolchain.starts_with("Go"), "{}", go.toolchain);
    assert_eq!(go.start, Some(pwp_host::info::StartFunctions::Initialize));
    assert!(go.envoy_would_load, "{:?}", go.load_problems);
    let higress = info("higress-request-block.wasm");
    assert_eq!(higress.abi, Some(pwp_host::abi::AbiVersion::V0_2_100));
    assert!(!higress.envoy_would_load && higress.higress_would_load);
    // Envoy's reason is its ABI; Higress has none.
    assert!(higress.load_problems.iter().any(|p| p.contains("0.2.100")));
    assert_eq!(higress.higress_load_problems, Vec::<String>::new());
    assert_eq!(go.higress_evidence, None);
    for name in ["higress-request-block.wasm", "higress-redis-counter.wasm"] {
        let why = info(name).higress_evidence.unwrap_or_default();
        assert!(why.contains("ABI 0.2.100"), "{name}: {why}");
        assert!(
            why.contains("github.com/higress-group/wasm-go"),
            "{name}: {why}"
        );
    }
    let redis = info("higress-redis-counter.wasm").higress_evidence.unwrap();
    assert!(redis.contains("proxy_redis_call"), "{redis}");
    let rust = info("rust-basic-auth.wasm");
    assert_eq!(rust.toolchain, "Rust");
    assert_eq!(
        rust.allocator,
        Some(pwp_host::info::Allocator::ProxyOnMemoryAllocate)
    );
    assert!(
        rust.imports
            .iter()
            .all(|i| i.status == pwp_host::ImportStatus::Implemented),
        "{:?}",
        rust.imports
    );
}

#[test]
fn small_fuel_slices_give_the_same_result_as_one_run() {
    let bytes = std::fs::read(examples_dir().join("go-http-auth.wasm")).unwrap();
    let text = std::fs::read_to_string(examples_dir().join("go-http-auth.scenario.json")).unwrap();
    let scenario = Scenario::parse(&text).unwrap();
    let whole = run(&bytes, scenario.clone()).unwrap();
    let mut s = pwp_host::Session::new(&bytes, scenario).unwrap();
    s.control().slice_fuel.set(3_000_000);
    let mut yields = 0;
    loop {
        match s.step(pwp_host::StepUntil::End) {
            pwp_host::Step::Yielded => yields += 1,
            pwp_host::Step::Finished => break,
            pwp_host::Step::Paused(p) => panic!("unexpected pause {p:?}"),
        }
    }
    let sliced = s.report();
    assert_eq!(sliced.error, None, "after {yields} slices");
    assert!(yields > 3, "{yields} slices");
    assert_eq!(sliced.error, None);
    assert_eq!(sliced.callbacks.len(), whole.callbacks.len());
    let fuel = |r: &pwp_host::Report| r.callbacks.iter().map(|c| c.fuel).sum::<u64>();
    assert_eq!(
        fuel(&sliced),
        fuel(&whole),
        "fuel is counted the same in slices"
    );
}

#[test]
fn sessions_sharing_a_compiled_plugin_run_as_a_fresh_one_does() {
    let render = |r: &pwp_host::Report| {
        let trace = pwp_host::Trace {
            callbacks: r.callbacks.clone(),
            logs: r.logs.clone(),
            logs_dropped: 0,
            timeline: r.timeline.clone(),
            filters: Vec::new(),
        };
        let fuel: Vec<u64> = r.callbacks.iter().map(|c| c.fuel).collect();
        (trace.render(), fuel)
    };
    for name in ["go-http-auth", "rust-basic-auth", "higress-request-block"] {
        let bytes = std::fs::read(examples_dir().join(format!("{name}.wasm"))).unwrap();
        let text =
            std::fs::read_to_string(examples_dir().join(format!("{name}.scenario.json"))).unwrap();
        let scenario = Scenario::parse(&text).unwrap();
        let fresh = render(&run(&bytes, scenario.clone()).unwrap());
        let plugin = pwp_host::Plugin::load(bytes).unwrap();
        assert!(!plugin.is_compiled());
        plugin.compile().unwrap();
        for round in 0..3 {
            let mut session = pwp_host::Session::with_plugin(&plugin, scenario.clone()).unwrap();
            let again = render(&session.run_to_end());
            assert_eq!(again, fresh, "{name}, run {round} on the shared module");
        }
    }
}

#[test]
fn an_invalid_function_body_fails_every_session_of_a_shared_plugin_alike() {
    // `inspect` accepts it (it parses); the body of `proxy_on_vm_start` is not valid
    // (i32.add on an empty stack), which wasmi finds when it first translates that function.
    let wasm = wat::parse_str(
        r#"(module
             (memory (export "memory") 1)
             (func (export "proxy_abi_version_0_2_1"))
             (func (export "malloc") (param i32) (result i32) i32.const 16)
             (func (export "proxy_on_context_create") (param i32 i32))
             (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.add))"#,
    )
    .unwrap();
    let plugin = pwp_host::Plugin::load(wasm).unwrap();
    let mut errors = Vec::new();
    for _ in 0..2 {
        match pwp_host::Session::with_plugin(&plugin, Scenario::default()) {
            Err(e) => errors.push(e.to_string()),
            Ok(mut s) => errors.push(s.run_to_end().error.expect("the run fails").message),
        }
    }
    assert_eq!(errors[0], errors[1]);
    assert!(errors[0].to_lowercase().contains("type"), "{}", errors[0]);
}
