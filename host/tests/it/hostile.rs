//! Plugins that misbehave: each run ends with a named error in the report, the host never
//! panics, stepping reaches the end too, and a new session on the same bytes runs clean.
//! Request-phase fixtures misbehave only when the request carries an empty `x-evil` header.

use pwp_host::trace::{CallStatus, FailureKind, LogSource};
use pwp_host::{Report, Session, SessionError, Step, StepUntil, inspect};

use crate::support::{logs_in, names, run_checked};
use crate::{fixture, scenario};

const HEADERS: &str = "proxy_on_request_headers";

/// A scenario whose request carries the trigger, with `settings` merged in.
fn evil(settings: &str) -> String {
    format!(r#"{{"request": {{"headers": [["x-evil", ""]]}}, "settings": {settings}}}"#)
}

/// A new session on the same bytes, without the trigger, runs clean.
fn works_again(bytes: &[u8]) {
    let r = run_checked(bytes, "{}");
    assert!(r.error.is_none(), "a clean run failed: {:?}", r.error);
    assert_eq!(r.client_response.expect("a response").status, 200);
}

fn error(r: &Report) -> (FailureKind, Option<&str>, &str) {
    let e = r.error.as_ref().expect("the run ends with a named error");
    (e.kind, e.callback.as_deref(), e.message.as_str())
}

fn fail_closed(r: &Report) {
    let c = r.client_response.as_ref().expect("a response");
    assert_eq!((c.status, c.details.as_str()), (503, "wasm_fail_stream"));
    assert!(r.upstream_request.is_none());
}

#[test]
fn an_endless_loop_in_request_headers_runs_out_of_fuel() {
    let bytes = fixture("hostile_loop_headers");
    let json = evil(r#"{"limits": {"fuel_per_callback": 1000000}}"#);
    let r = run_checked(&bytes, &json);
    let (kind, callback, _) = error(&r);
    assert_eq!((kind, callback), (FailureKind::OutOfFuel, Some(HEADERS)));
    let fuel = r.callbacks.last().unwrap().fuel;
    assert!(
        (990_000..=1_000_000).contains(&fuel),
        "used up its budget: {fuel}"
    );
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn an_endless_loop_sliced_by_fuel_yields_to_the_caller_until_the_limit() {
    let bytes = fixture("hostile_loop_headers");
    let json = evil(r#"{"limits": {"fuel_per_callback": 1000000}}"#);
    let mut s = Session::new(&bytes, scenario(&json)).unwrap();
    s.control().slice_fuel.set(50_000);
    let mut yields = 0;
    loop {
        match s.step(StepUntil::End) {
            Step::Yielded => yields += 1,
            Step::Finished => break,
            Step::Paused(p) => panic!("paused at {p:?} while running to the end"),
        }
    }
    assert!(yields >= 19, "1M fuel in 50k slices: {yields} yields");
    assert_eq!(error(&s.report()).0, FailureKind::OutOfFuel);
}

#[test]
fn an_endless_loop_in_initialize_fails_the_start() {
    let bytes = fixture("hostile_loop_initialize");
    let json = r#"{"settings": {"env": {"EVIL": "1"}, "limits": {"fuel_per_callback": 1000000}}}"#;
    let r = run_checked(&bytes, json);
    let (kind, callback, _) = error(&r);
    assert_eq!(
        (kind, callback),
        (FailureKind::OutOfFuel, Some("_initialize"))
    );
    assert_eq!(
        names(&r),
        ["_initialize"],
        "no root context after a failed start"
    );
    assert!(r.requests.is_empty());
    works_again(&bytes);
}

#[test]
fn memory_growth_to_the_limit_is_reported_as_memory_limit() {
    let bytes = fixture("hostile_memory_grow");
    let r = run_checked(&bytes, &evil(r#"{"limits": {"memory_pages": 16}}"#));
    let (kind, callback, message) = error(&r);
    assert_eq!((kind, callback), (FailureKind::MemoryLimit, Some(HEADERS)));
    assert!(message.contains("16 pages"), "{message}");
    assert_eq!(r.requests[0].memory_pages, 16);
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn a_refused_large_allocation_then_abort_is_reported_as_memory_limit() {
    let bytes = fixture("hostile_memory_grow_big");
    let r = run_checked(&bytes, &evil("{}"));
    let (kind, callback, message) = error(&r);
    assert_eq!((kind, callback), (FailureKind::MemoryLimit, Some(HEADERS)));
    // The cause (the refused growth and the limit), then the trap it led to.
    assert!(
        message.starts_with("memory limit reached in proxy_on_request_headers"),
        "{message}"
    );
    assert!(message.contains("from 1 to 1025 MiB"), "{message}");
    assert!(message.contains("4096 pages = 256 MiB"), "{message}");
    assert!(message.contains("unreachable executed"), "{message}");
    assert_eq!(r.requests[0].memory_pages, 1);
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn unbounded_recursion_is_a_trap_named_stack_overflow() {
    let bytes = fixture("hostile_recursion");
    let r = run_checked(&bytes, &evil("{}"));
    let (kind, callback, message) = error(&r);
    assert_eq!((kind, callback), (FailureKind::Trap, Some(HEADERS)));
    assert!(message.contains("stack overflow"), "{message}");
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn a_log_flood_keeps_max_log_lines_and_counts_the_dropped_ones() {
    let bytes = fixture("hostile_log_flood");
    let json = evil(r#"{"limits": {"max_log_lines": 100}}"#);
    let r = run_checked(&bytes, &json);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.logs.len(), 100);
    assert_eq!(r.client_response.as_ref().unwrap().status, 200);
    let mut s = Session::new(&bytes, scenario(&json)).unwrap();
    s.run_to_end();
    let w = s.world();
    let spam_kept = w.trace.logs.iter().filter(|l| l.message == "spam").count() as u64;
    assert_eq!(spam_kept + w.trace.logs_dropped, 5000);
    works_again(&bytes);
}

#[test]
fn a_log_flood_says_in_the_report_that_lines_were_dropped() {
    let bytes = fixture("hostile_log_flood");
    let r = run_checked(&bytes, &evil(r#"{"limits": {"max_log_lines": 100}}"#));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("dropped") || w.contains("max_log_lines")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_host_call_flood_stops_at_the_host_call_limit() {
    let bytes = fixture("hostile_hostcall_flood");
    let r = run_checked(
        &bytes,
        &evil(r#"{"limits": {"max_hostcalls_per_callback": 500}}"#),
    );
    let (kind, callback, message) = error(&r);
    assert_eq!(
        (kind, callback),
        (FailureKind::HostcallLimit, Some(HEADERS))
    );
    assert!(
        message.contains("proxy_get_current_time_nanoseconds"),
        "{message}"
    );
    assert_eq!(r.callbacks.last().unwrap().hostcalls.len(), 500);
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn ranges_from_the_end_of_memory_with_huge_lengths_answer_invalid_memory_access() {
    let r = run_checked(&fixture("hostile_end_of_memory"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    let calls: Vec<(&str, Option<i64>)> = r
        .callbacks
        .iter()
        .find(|c| c.name == HEADERS)
        .unwrap()
        .hostcalls
        .iter()
        .map(|h| (h.name.as_str(), h.ret))
        .collect();
    assert_eq!(calls.len(), 12);
    for (name, ret) in calls {
        let want = if name.starts_with("proxy_") { 6 } else { 21 };
        assert_eq!(ret, Some(want), "{name}");
    }
    // Nothing half-done.
    assert!(r.callouts.is_empty());
    assert!(r.shared_data.is_empty());
    let c = r.client_response.unwrap();
    assert_eq!((c.status, c.local_reply), (200, false));
}

#[test]
fn a_trap_in_the_allocator_is_reported_in_the_callback_that_asked_for_data() {
    let bytes = fixture("hostile_alloc_trap");
    let r = run_checked(&bytes, &evil("{}"));
    let (kind, callback, message) = error(&r);
    assert_eq!((kind, callback), (FailureKind::Trap, Some(HEADERS)));
    assert!(message.contains("unreachable"), "{message}");
    let e = r.error.as_ref().unwrap();
    assert!(
        e.backtrace
            .iter()
            .any(|b| b.contains("proxy_get_header_map_value")),
        "{:?}",
        e.backtrace
    );
    // The host call that never returned is not shown as a success.
    let last = r.callbacks.last().unwrap().hostcalls.last().unwrap();
    assert_eq!(last.name, "proxy_get_header_map_value");
    assert_ne!(
        last.status,
        Some(CallStatus::Proxy(pwp_host::abi::Status::Ok)),
        "{last:?}"
    );
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn a_callback_with_the_wrong_signature_is_flagged_as_envoy_would_refuse_it() {
    // Like an unknown import, a bad callback signature is a load problem (Envoy: "Bad
    // function signature for: ..."): the module is refused, naming the callback, under either
    // profile unless the scenario is lenient; a lenient run (strict or not: strict is about
    // restricted host calls) says so in its report and calls the callback with the arguments
    // it declares.
    let bytes = fixture("hostile_bad_signature");
    let info = inspect(&bytes).unwrap();
    assert!(!info.envoy_would_load);
    assert!(!info.higress_would_load);
    assert!(
        info.load_problems
            .iter()
            .any(|p| p.contains("Bad function signature") && p.contains(HEADERS)),
        "{:?}",
        info.load_problems
    );
    for (settings, proxy) in [
        ("{}", "Envoy"),
        (r#"{"strict": true}"#, "Envoy"),
        (r#"{"profile": "higress"}"#, "Higress"),
    ] {
        let json = format!(r#"{{"settings": {settings}}}"#);
        match Session::new(&bytes, scenario(&json)) {
            Err(SessionError::Refused(r)) => {
                assert_eq!(r.proxy, proxy, "{settings}");
                assert!(r.problems.iter().any(|p| p.contains(HEADERS)), "{r}");
                let message = SessionError::Refused(r).to_string();
                assert!(
                    message.starts_with(&format!(
                        "{proxy} would refuse to load this plugin: Bad function signature for: {HEADERS}"
                    )) && message.ends_with("set settings.lenient to run it anyway"),
                    "{message}"
                );
            }
            Err(e) => panic!("refused for the wrong reason: {e}"),
            Ok(_) => panic!("{settings} accepted a module {proxy} refuses"),
        }
    }
    for settings in [
        r#"{"lenient": true}"#,
        r#"{"lenient": true, "strict": true}"#,
    ] {
        let r = run_checked(&bytes, &format!(r#"{{"settings": {settings}}}"#));
        assert!(r.error.is_none(), "{:?}", r.error);
        let cb = r.callbacks.iter().find(|c| c.name == HEADERS).unwrap();
        assert_eq!(logs_in(&r, HEADERS), ["one parameter"]);
        assert_eq!(cb.ret, Some(0));
        assert_eq!(r.client_response.as_ref().unwrap().status, 200);
        assert!(
            r.warnings.iter().any(|w| w.starts_with(
                "settings.lenient: running a plugin Envoy would refuse to load: Bad function signature"
            )),
            "{:?}",
            r.warnings
        );
    }
}

#[test]
fn proc_exit_is_noted_and_returns_and_the_trap_after_it_is_reported() {
    let bytes = fixture("hostile_proc_exit");
    let r = run_checked(&bytes, &evil("{}"));
    let (kind, callback, message) = error(&r);
    assert_eq!((kind, callback), (FailureKind::Trap, Some(HEADERS)));
    assert!(message.contains("unreachable"), "{message}");
    let notes: Vec<&str> = r
        .logs
        .iter()
        .filter(|l| l.source == LogSource::Host)
        .map(|l| l.message.as_str())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("proc_exit(3)")),
        "{notes:?}"
    );
    let e = r.error.as_ref().unwrap();
    assert!(
        e.backtrace.iter().any(|b| b.contains("proc_exit")),
        "{:?}",
        e.backtrace
    );
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn a_host_call_from_inside_the_allocator_works() {
    // The benign half: the allocator logs while the host returns :path.
    let r = run_checked(&fixture("hostile_reentrant_alloc"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(logs_in(&r, HEADERS), ["alloc", "/"]);
    let calls: Vec<&str> = r
        .callbacks
        .iter()
        .find(|c| c.name == HEADERS)
        .unwrap()
        .hostcalls
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        calls,
        [
            "proxy_get_header_map_value",
            "proxy_log",
            "proxy_get_header_map_value",
            "proxy_log"
        ]
    );
    assert!(
        r.warnings.is_empty(),
        "proxy_log is allowed in the allocator: {:?}",
        r.warnings
    );
}

#[test]
fn host_calls_nesting_through_the_allocator_without_end_are_stopped_with_a_named_error() {
    let bytes = fixture("hostile_reentrant_alloc");
    let r = run_checked(&bytes, &evil("{}"));
    let (kind, callback, message) = error(&r);
    assert_eq!(
        (kind, callback),
        (FailureKind::RestrictedCallback, Some(HEADERS))
    );
    assert!(message.contains("allocator"), "{message}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("proxy_get_header_map_value") && w.contains("allocator")),
        "{:?}",
        r.warnings
    );
    fail_closed(&r);
    works_again(&bytes);
}

#[test]
fn in_strict_mode_the_first_allocating_host_call_inside_the_allocator_traps_as_in_envoy() {
    let r = run_checked(
        &fixture("hostile_reentrant_alloc"),
        &evil(r#"{"strict": true}"#),
    );
    let (kind, callback, message) = error(&r);
    assert_eq!(
        (kind, callback),
        (FailureKind::RestrictedCallback, Some(HEADERS))
    );
    assert!(
        message.starts_with("proxy_get_header_map_value was called from inside the allocator"),
        "{message}"
    );
    // The allocator's proxy_log is allowed; its :path read is where Envoy stops it.
    let calls = &r.callbacks.last().unwrap().hostcalls;
    let logs = calls.iter().filter(|h| h.name == "proxy_log").count();
    assert_eq!(logs, 1, "{calls:?}");
}

#[test]
fn a_configure_answering_false_fails_the_start_as_configure_failed() {
    let bytes = fixture("hostile_configure_false");
    let r = run_checked(&bytes, r#"{"settings": {"config": "reject me"}}"#);
    let (kind, _, message) = error(&r);
    assert_eq!(kind, FailureKind::ConfigureFailed);
    assert!(message.contains("rejects"), "{message}");
    assert!(
        r.requests.is_empty(),
        "no request reaches a rejected plugin"
    );
    assert!(!names(&r).contains(&HEADERS));
    works_again(&bytes);
}

#[test]
fn a_trap_in_configure_fails_the_start_before_any_request() {
    let bytes = fixture("hostile_configure_trap");
    let r = run_checked(&bytes, r#"{"settings": {"config": "boom"}}"#);
    let (_, callback, message) = error(&r);
    assert_eq!(callback, Some("proxy_on_configure"));
    assert!(message.contains("unreachable"), "{message}");
    assert!(r.requests.is_empty());
    assert!(!names(&r).contains(&HEADERS));
    works_again(&bytes);
}

#[test]
fn a_trap_in_configure_is_reported_as_a_configuration_failure() {
    let r = run_checked(
        &fixture("hostile_configure_trap"),
        r#"{"settings": {"config": "boom"}}"#,
    );
    let (kind, _, message) = error(&r);
    assert_eq!(kind, FailureKind::ConfigureFailed, "{message}");
}

#[test]
fn a_trap_in_request_headers_fails_closed_for_this_and_every_later_request() {
    let bytes = fixture("hostile_trap_headers");
    let r = run_checked(
        &bytes,
        r#"{"request": {"headers": [["x-evil", ""]]}, "requests": 2}"#,
    );
    let (kind, callback, _) = error(&r);
    assert_eq!((kind, callback), (FailureKind::Trap, Some(HEADERS)));
    assert_eq!(r.requests.len(), 2);
    for outcome in &r.requests {
        let c = outcome.client_response.as_ref().unwrap();
        assert_eq!((c.status, c.details.as_str()), (503, "wasm_fail_stream"));
        assert!(outcome.upstream_request.is_none());
    }
    // The second request never called into the plugin, not even proxy_on_log.
    assert!(
        r.callbacks.iter().all(|c| c.request != Some(1)),
        "{:?}",
        names(&r)
    );
    assert!(!names(&r).contains(&"proxy_on_log"));
    works_again(&bytes);
}

#[test]
fn with_fail_open_a_trapped_plugin_is_skipped_and_later_requests_reach_upstream_untouched() {
    let r = run_checked(
        &fixture("hostile_trap_headers"),
        r#"{"request": {"headers": [["x-evil", ""]]}, "requests": 2,
            "settings": {"fail_open": true}}"#,
    );
    assert_eq!(error(&r).0, FailureKind::Trap);
    for outcome in &r.requests {
        let c = outcome.client_response.as_ref().unwrap();
        assert_eq!(
            (c.status, c.local_reply),
            (200, false),
            "request {}",
            outcome.index
        );
    }
    let second = r.requests[1].upstream_request.as_ref().unwrap();
    assert!(
        !second.headers.iter().any(|(k, _)| k == "x-touched"),
        "the skipped filter touched nothing: {:?}",
        second.headers
    );
    assert!(r.callbacks.iter().all(|c| c.request != Some(1)));
}

#[test]
fn with_fail_open_the_request_that_trapped_still_reaches_upstream() {
    let r = run_checked(
        &fixture("hostile_trap_headers"),
        r#"{"request": {"headers": [["x-evil", ""]]}, "settings": {"fail_open": true}}"#,
    );
    assert!(r.requests[0].upstream_request.is_some());
}

#[test]
fn a_write_of_overlapping_iovecs_is_stopped_by_the_host_byte_budget() {
    let bytes = fixture("hostile_iovec_bomb");
    let r = pwp_host::run(&bytes, scenario("{}")).unwrap();
    let e = r.error.as_ref().expect("a named error");
    assert_eq!(e.kind, FailureKind::HostMemoryLimit, "{e}");
    assert_eq!(e.callback.as_deref(), Some("proxy_on_request_headers"));
    assert!(e.message.contains("max_host_bytes"), "{}", e.message);
}
