//! Modules shaped like each toolchain's output: the host must recognise them (`inspect`) and
//! run them the way Envoy does (start function, allocator, ABI-specific imports).

use pwp_host::info::{Allocator, StartFunctions};
use pwp_host::{Session, SessionError, abi::AbiVersion, inspect, trace::LogSource};

use crate::support::{header, logs_in, names, probes, run_checked};
use crate::{fixture, scenario};

#[test]
fn a_tinygo_command_is_started_with_start_and_served_by_malloc() {
    let bytes = fixture("shape_tinygo");
    let info = inspect(&bytes).unwrap();
    assert_eq!(info.abi, Some(AbiVersion::V0_2_0));
    assert_eq!(info.allocator, Some(Allocator::Malloc));
    assert_eq!(info.start, Some(StartFunctions::Start));
    assert!(info.toolchain.contains("TinyGo"), "{}", info.toolchain);
    assert!(
        info.imports
            .iter()
            .all(|i| i.status == pwp_host::ImportStatus::Implemented),
        "{:?}",
        info.imports
    );
    assert!(info.envoy_would_load, "{:?}", info.load_problems);

    let r = run_checked(&bytes, "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        names(&r),
        [
            "_start",
            "proxy_on_context_create",
            "proxy_on_context_create",
            "proxy_on_request_headers"
        ]
    );
    // Two fd_write calls, one line, at info, from stdout.
    let stdout: Vec<_> = r
        .logs
        .iter()
        .filter(|l| l.source == LogSource::Stdout)
        .collect();
    assert_eq!(stdout.len(), 1, "{stdout:?}");
    assert_eq!(stdout[0].message, "hello from tinygo main");
    assert_eq!(stdout[0].level, pwp_host::scenario::LogLevel::Info);
    assert_eq!(stdout[0].callback.as_deref(), Some("_start"));
    // The host allocated with malloc (its log is a host call nested in the header read), never
    // with the SDK's allocator.
    let headers_cb = &r.callbacks[3];
    let calls: Vec<&str> = headers_cb
        .hostcalls
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        calls,
        ["proxy_log", "proxy_get_header_map_value", "proxy_log"]
    );
    assert_eq!(logs_in(&r, "proxy_on_request_headers"), ["malloc", "/"]);
    assert!(
        !r.logs
            .iter()
            .any(|l| l.message == "proxy_on_memory_allocate")
    );
    assert_eq!(r.client_response.unwrap().status, 200);
}

#[test]
fn an_abi_0_1_0_plugin_gets_two_header_arguments_and_its_own_host_calls() {
    let bytes = fixture("shape_abi010");
    let info = inspect(&bytes).unwrap();
    assert_eq!(info.abi, Some(AbiVersion::V0_1_0));
    assert_eq!(info.allocator, Some(Allocator::Malloc));
    assert_eq!(info.start, Some(StartFunctions::Start));
    // proxy_get_configuration and proxy_continue_request are registered for 0.1.0.
    assert!(info.envoy_would_load, "{:?}", info.load_problems);

    let r = run_checked(&bytes, r#"{"settings": {"config": "cfg-010"}}"#);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(logs_in(&r, "proxy_on_configure"), ["cfg-010"]);
    let headers_cb = r
        .callbacks
        .iter()
        .find(|c| c.name == "proxy_on_request_headers")
        .unwrap();
    assert_eq!(headers_cb.args.len(), 2, "0.1.0: (context_id, n_headers)");
    assert_eq!(headers_cb.args[0], 2);
    // Missing header: Ok, with pointer 0 and length 0.
    let get = &headers_cb.hostcalls[0];
    assert_eq!(get.name, "proxy_get_header_map_value");
    assert_eq!(get.ret, Some(0));
    assert_eq!(probes(&r, "proxy_on_request_headers"), [[0, 0]]);
    // Paused and resumed by proxy_continue_request: the request went upstream.
    let up = r
        .upstream_request
        .as_ref()
        .expect("resumed request reaches upstream");
    assert_eq!(header(&up.headers, "x-abi"), Some("0.1.0"));
    assert_eq!(r.client_response.unwrap().status, 200);
}

#[test]
fn an_emscripten_reactor_runs_initialize_then_main_and_may_notify_memory_growth() {
    let bytes = fixture("shape_emscripten");
    let info = inspect(&bytes).unwrap();
    assert_eq!(info.abi, Some(AbiVersion::V0_2_1));
    assert_eq!(info.toolchain, "C++ (Emscripten)");
    assert_eq!(info.allocator, Some(Allocator::Malloc));
    assert_eq!(info.start, Some(StartFunctions::InitializeMain));
    assert!(info.envoy_would_load, "{:?}", info.load_problems);

    let r = run_checked(&bytes, "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        names(&r)[..3],
        ["_initialize", "main", "proxy_on_context_create"]
    );
    assert_eq!(r.callbacks[1].args, [0, 0], "main(0, 0)");
    assert_eq!(
        r.callbacks[0].hostcalls[0].name,
        "emscripten_notify_memory_growth"
    );
    // Allowed during start: no restricted-callback warning.
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(logs_in(&r, "main"), ["main ran"]);
    assert_eq!(r.memory_pages, [2], "grown by _initialize");
    let up = r.upstream_request.unwrap();
    assert_eq!(header(&up.headers, "x-sdk"), Some("cpp"));
}

#[test]
fn an_assemblyscript_module_runs_with_env_abort_stubbed_and_reported_as_unknown() {
    let bytes = fixture("shape_assemblyscript");
    let info = inspect(&bytes).unwrap();
    assert_eq!(info.abi, Some(AbiVersion::V0_2_1));
    assert_eq!(info.toolchain, "AssemblyScript");
    assert_eq!(info.allocator, Some(Allocator::Malloc));
    assert_eq!(info.start, None);
    let abort = info.imports.iter().find(|i| i.name == "abort").unwrap();
    assert_eq!(abort.status, pwp_host::ImportStatus::Unknown);
    let exit = info.imports.iter().find(|i| i.name == "proc_exit").unwrap();
    assert_eq!(
        (exit.module.as_str(), exit.status),
        ("wasi_unstable", pwp_host::ImportStatus::Implemented)
    );
    assert!(!info.envoy_would_load);
    assert!(
        info.load_problems
            .iter()
            .any(|p| p.starts_with("env.abort")),
        "{:?}",
        info.load_problems
    );
    // Envoy refuses it at load, so by default the playground does too, naming why.
    match Session::new(&bytes, scenario("{}")) {
        Err(SessionError::Refused(r)) => {
            assert!(r.problems.iter().any(|p| p.starts_with("env.abort")), "{r}")
        }
        other => panic!("not refused: {:?}", other.err()),
    }

    let r = run_checked(&bytes, r#"{"settings": {"lenient": true}}"#);
    assert!(r.error.is_none(), "{:?}", r.error);
    let call = &r
        .callbacks
        .iter()
        .find(|c| c.name == "proxy_on_request_headers")
        .unwrap()
        .hostcalls[0];
    assert_eq!(call.name, "abort");
    assert!(call.stub);
    assert!(
        r.warnings.iter().any(|w| w.contains("abort")),
        "{:?}",
        r.warnings
    );
    let up = r.upstream_request.unwrap();
    assert_eq!(header(&up.headers, "x-sdk"), Some("as"));

    // Strict mode has no say in loading: lenient and strict, it runs.
    let r = run_checked(&bytes, r#"{"settings": {"lenient": true, "strict": true}}"#);
    assert!(r.error.is_none(), "{:?}", r.error);
}

#[test]
fn tinygo_builds_whose_producers_only_name_clang_are_still_told_as_tinygo() {
    for (name, evidence) in [
        ("shape_tinygo_stripped", "proxy_on_memory_allocate"),
        ("shape_tinygo_names", "name section"),
        ("shape_tinygo_wasi", "WASI imports"),
    ] {
        let info = inspect(&fixture(name)).unwrap();
        assert_eq!(
            info.toolchain, "TinyGo",
            "{name}: {}",
            info.toolchain_evidence
        );
        assert!(
            info.toolchain_evidence.contains(evidence),
            "{name}: {}",
            info.toolchain_evidence
        );
    }
    let clang = inspect(&fixture("shape_clang")).unwrap();
    assert_eq!(
        clang.toolchain, "C/C++ (clang)",
        "{}",
        clang.toolchain_evidence
    );
    // The older fixture's names carry no runtime symbols; its shape tells.
    let info = inspect(&fixture("shape_tinygo")).unwrap();
    assert_eq!(info.toolchain, "TinyGo", "{}", info.toolchain_evidence);
}

#[test]
fn a_higress_tinygo_plugin_is_told_by_its_module_path_and_runs_under_higress_on_auto() {
    let bytes = fixture("shape_higress_tinygo");
    let info = inspect(&bytes).unwrap();
    assert_eq!(info.abi, Some(AbiVersion::V0_2_0));
    assert_eq!(info.toolchain, "TinyGo");
    let why = info.higress_evidence.as_deref().unwrap_or_default();
    assert!(
        why.contains("github.com/alibaba/higress/plugins/wasm-go"),
        "{why:?}"
    );
    // Under auto it runs under Higress, whose Envoy serves the top-level cluster_name that
    // wasm-go's wrapper reads; forced to Envoy, the lookup fails as it did before.
    let r = run_checked(&bytes, "{}");
    assert_eq!(r.profile, pwp_host::report::Emulated::Higress);
    assert_eq!(
        logs_in(&r, "proxy_on_request_headers"),
        ["outbound|80||example.com"]
    );
    let r = run_checked(&bytes, r#"{"settings": {"profile": "envoy"}}"#);
    assert_eq!(r.profile, pwp_host::report::Emulated::Envoy);
    assert_eq!(logs_in(&r, "proxy_on_request_headers"), ["not found"]);
}

#[test]
fn higress_only_imports_mark_a_plugin_as_built_for_higress_and_plain_ones_are_not() {
    let info = inspect(&fixture("shape_higress_imports")).unwrap();
    let why = info.higress_evidence.as_deref().unwrap_or_default();
    assert!(why.contains("proxy_set_upstream_override_host"), "{why:?}");
    let r = run_checked(&fixture("shape_higress_imports"), "{}");
    assert_eq!(r.profile, pwp_host::report::Emulated::Higress);
    for plain in ["shape_tinygo", "shape_tinygo_stripped", "basic"] {
        let info = inspect(&fixture(plain)).unwrap();
        assert_eq!(info.higress_evidence, None, "{plain}");
    }
}
