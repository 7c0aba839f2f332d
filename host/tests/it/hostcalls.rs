//! Host functions as a guest sees them: one rule per test, each through real guest calls.
//! Values the guest read back are shown with probes (`pthread_equal(a, b)` calls, whose
//! arguments the trace records); statuses are the host calls' return values in the trace.

use pwp_host::trace::LogSource;
use pwp_host::{Report, inspect};

use crate::fixture;
use crate::support::{header, logs_in, probes, rets, run_checked};

const HEADERS: &str = "proxy_on_request_headers";
const CONFIGURE: &str = "proxy_on_configure";

/// Every host call a callback made: (name, return value).
fn calls(r: &Report, callback: &str) -> Vec<(String, Option<i64>)> {
    r.callbacks
        .iter()
        .filter(|c| c.name == callback)
        .flat_map(|c| c.hostcalls.iter())
        .filter(|h| h.name != "pthread_equal")
        .map(|h| (h.name.clone(), h.ret))
        .collect()
}

fn host_notes(r: &Report) -> Vec<&str> {
    r.logs
        .iter()
        .filter(|l| l.source == LogSource::Host)
        .map(|l| l.message.as_str())
        .collect()
}

#[test]
fn ranges_outside_guest_memory_answer_invalid_memory_access_instead_of_trapping() {
    let r = run_checked(&fixture("hc_bad_pointers"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    let statuses: Vec<Option<i64>> = calls(&r, HEADERS).into_iter().map(|c| c.1).collect();
    assert_eq!(statuses, [Some(6); 6], "{:?}", calls(&r, HEADERS));
    // Return slots are validated before anything is allocated.
    assert_eq!(probes(&r, HEADERS), [[0, 0]], "allocator calls");
    assert_eq!(r.client_response.unwrap().status, 200);
}

#[test]
fn enum_arguments_out_of_range_answer_bad_argument() {
    let r = run_checked(&fixture("hc_bad_enums"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    let got = calls(&r, HEADERS);
    let names: Vec<&str> = got.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "proxy_get_header_map_value",
            "proxy_get_header_map_pairs",
            "proxy_get_header_map_size",
            "proxy_get_buffer_bytes",
            "proxy_continue_stream",
            "proxy_close_stream",
            "proxy_log",
            "proxy_define_metric",
        ]
    );
    assert!(got.iter().all(|c| c.1 == Some(2)), "{got:?}");
    // Nothing was closed or defined.
    assert!(!r.requests[0].reset);
    assert!(r.metrics.is_empty());
}

#[test]
fn empty_results_are_pointer_zero_length_zero_without_calling_the_allocator() {
    let r = run_checked(
        &fixture("hc_empty_results"),
        r#"{"request": {"headers": [["x-empty", ""]]}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    let statuses: Vec<Option<i64>> = calls(&r, HEADERS).into_iter().map(|c| c.1).collect();
    assert_eq!(statuses, [Some(0); 4], "{:?}", calls(&r, HEADERS));
    assert_eq!(
        probes(&r, HEADERS),
        [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
        "four (pointer, length) pairs, then the allocator count"
    );
}

#[test]
fn a_missing_header_is_not_found_and_a_repeated_one_gives_its_first_value() {
    let r = run_checked(
        &fixture("hc_header_lookup"),
        r#"{"request": {"headers": [["x-present", "yes"], ["x-present", "no"]]}}"#,
    );
    assert_eq!(rets(&r, HEADERS, "proxy_get_header_map_value"), [1, 0]);
    assert_eq!(logs_in(&r, HEADERS), ["yes"]);
}

#[test]
fn request_headers_are_unavailable_in_the_response_phase() {
    let r = run_checked(&fixture("hc_request_headers_in_response"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    let cb = "proxy_on_response_headers";
    assert_eq!(
        calls(&r, cb),
        [
            ("proxy_get_header_map_value".to_string(), Some(2)),
            ("proxy_get_header_map_pairs".to_string(), Some(0)),
            ("proxy_add_header_map_value".to_string(), Some(2)),
            ("proxy_get_header_map_value".to_string(), Some(0)),
            ("proxy_log".to_string(), Some(0)),
        ]
    );
    assert_eq!(
        probes(&r, cb),
        [[0, 0]],
        "pairs of an unavailable map are 0/0"
    );
    assert_eq!(logs_in(&r, cb), ["200"]);
    let client = r.client_response.unwrap();
    assert_eq!(header(&client.message.headers, "x-late"), None);
}

#[test]
fn malformed_pairs_in_set_header_map_pairs_empty_the_map() {
    let r = run_checked(&fixture("hc_set_pairs_malformed"), "{}");
    assert_eq!(rets(&r, HEADERS, "proxy_set_header_map_pairs"), [0]);
    let up = r.upstream_request.expect("the request still goes upstream");
    assert!(up.headers.is_empty(), "{:?}", up.headers);
    let detail = &r
        .callbacks
        .iter()
        .find(|c| c.name == HEADERS)
        .unwrap()
        .hostcalls[0]
        .detail;
    assert!(detail.contains("malformed"), "{detail}");
}

#[test]
fn replace_header_removes_duplicates_then_appends_by_default() {
    let json = r#"{"request": {"headers": [["x-dup", "1"], ["x-other", "o"], ["x-dup", "2"]]}}"#;
    let r = run_checked(&fixture("hc_replace_header"), json);
    assert_eq!(rets(&r, HEADERS, "proxy_replace_header_map_value"), [0]);
    let up = r.upstream_request.unwrap();
    let dups: Vec<_> = up.headers.iter().filter(|(k, _)| k == "x-dup").collect();
    assert_eq!(dups.len(), 1, "{:?}", up.headers);
    assert_eq!(
        up.headers.last().unwrap(),
        &("x-dup".to_string(), "new".to_string())
    );
}

#[test]
fn replace_header_overwrites_in_place_with_the_in_place_toggle() {
    let json = r#"{"request": {"headers": [["x-dup", "1"], ["x-other", "o"], ["x-dup", "2"]]},
                   "settings": {"toggles": {"replace_header": "in_place"}}}"#;
    let r = run_checked(&fixture("hc_replace_header"), json);
    let up = r.upstream_request.unwrap();
    let tail: Vec<(&str, &str)> = up
        .headers
        .iter()
        .skip_while(|(k, _)| k.starts_with(':'))
        .take(3)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(tail, [("x-dup", "new"), ("x-other", "o"), ("x-dup", "2")]);
}

#[test]
fn set_buffer_bytes_prepends_appends_and_replaces_but_refuses_a_mid_buffer_start() {
    let r = run_checked(
        &fixture("hc_set_buffer_bytes"),
        r#"{"request": {"method": "POST", "body": "world"}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        rets(&r, "proxy_on_request_body", "proxy_set_buffer_bytes"),
        [0, 2, 0, 0, 2]
    );
    let up = r.upstream_request.unwrap();
    assert_eq!(
        up.body,
        pwp_host::scenario::Body::Text("HOWDY world!".into())
    );
}

#[test]
fn shared_data_cas_inserts_absent_keys_whatever_the_cas_and_refuses_stale_ones() {
    let r = run_checked(&fixture("hc_shared_data_cas"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        calls(&r, CONFIGURE),
        [
            ("proxy_get_shared_data".to_string(), Some(1)),
            ("proxy_set_shared_data".to_string(), Some(0)),
            ("proxy_get_shared_data".to_string(), Some(0)),
            ("proxy_set_shared_data".to_string(), Some(8)),
            ("proxy_set_shared_data".to_string(), Some(0)),
            ("proxy_get_shared_data".to_string(), Some(0)),
            ("proxy_set_shared_data".to_string(), Some(0)),
        ]
    );
    // CAS starts at 1 and each successful write moves it on.
    assert_eq!(probes(&r, CONFIGURE), [[1, 0], [2, 0]]);
    assert_eq!(
        r.shared_data["k"],
        pwp_host::scenario::Body::Text("d".into())
    );
}

#[test]
fn enqueue_calls_on_queue_ready_with_the_root_after_the_callback_and_empty_dequeue_is_empty() {
    let r = run_checked(&fixture("hc_queue"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        calls(&r, CONFIGURE),
        [
            ("proxy_register_shared_queue".to_string(), Some(0)),
            ("proxy_dequeue_shared_queue".to_string(), Some(7)),
            ("proxy_resolve_shared_queue".to_string(), Some(0)),
            ("proxy_resolve_shared_queue".to_string(), Some(1)),
            ("proxy_enqueue_shared_queue".to_string(), Some(0)),
            ("proxy_log".to_string(), Some(0)),
        ]
    );
    assert_eq!(
        probes(&r, CONFIGURE),
        [[1, 1]],
        "registered and resolved token"
    );
    let configure = r
        .callbacks
        .iter()
        .position(|c| c.name == CONFIGURE)
        .unwrap();
    let ready = r
        .callbacks
        .iter()
        .position(|c| c.name == "proxy_on_queue_ready")
        .expect("queue ready is delivered");
    assert!(
        ready > configure,
        "delivered after the enqueuing callback returned"
    );
    assert_eq!(r.callbacks[ready].args, [1, 1], "(root_id, token)");
    assert_eq!(
        rets(&r, "proxy_on_queue_ready", "proxy_dequeue_shared_queue"),
        [0, 7]
    );
    assert_eq!(logs_in(&r, "proxy_on_queue_ready"), ["item"]);
    assert_eq!(logs_in(&r, CONFIGURE), ["enqueued"]);
}

#[test]
fn metric_ids_encode_their_type_and_counters_only_grow() {
    let r = run_checked(&fixture("hc_metrics"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(probes(&r, CONFIGURE), [[4, 5], [6, 8], [5, 0]]);
    assert_eq!(rets(&r, CONFIGURE, "proxy_define_metric"), [0, 0, 0, 0]);
    assert_eq!(
        rets(&r, CONFIGURE, "proxy_increment_metric"),
        [2, 2, 0, 0, 2],
        "counter +0, counter -1, counter +3, gauge -2, histogram +1"
    );
    assert_eq!(rets(&r, CONFIGURE, "proxy_record_metric"), [0, 0]);
    assert_eq!(rets(&r, CONFIGURE, "proxy_get_metric"), [0, 2, 1]);
    assert_eq!(r.metrics["c"], 5, "3, then record 2 adds");
    assert_eq!(r.metrics["g"], 7, "-2, then record 7 sets");
}

#[test]
fn set_property_is_not_found_in_a_root_context_and_readable_back_in_a_stream() {
    let r = run_checked(&fixture("hc_set_property"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(rets(&r, CONFIGURE, "proxy_set_property"), [1]);
    assert_eq!(rets(&r, HEADERS, "proxy_set_property"), [0]);
    assert_eq!(rets(&r, HEADERS, "proxy_get_property"), [0]);
    assert_eq!(logs_in(&r, HEADERS), ["v1"]);
}

#[test]
fn properties_are_serialized_as_envoy_does() {
    let r = run_checked(
        &fixture("hc_properties"),
        r#"{"settings": {"plugin_name": "my-plugin"},
            "request": {"path": "/a/b?c=d"},
            "clock": {"start_unix_ms": 1700000000000}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(logs_in(&r, CONFIGURE), ["my-plugin"]);
    assert_eq!(
        logs_in(&r, HEADERS),
        ["my-plugin", "/a/b?c=d", "10.0.0.2:54321"]
    );
    let p = probes(&r, HEADERS);
    assert_eq!(p[0], [8, 0], "request.time is 8 bytes");
    let ns = (p[1][0] as u64) | ((p[1][1] as u64) << 32);
    assert_eq!(ns, 1_700_000_000_000 * 1_000_000, "int64 ns, little-endian");
}

#[test]
fn http_call_checks_the_cluster_and_the_required_headers_and_hands_out_tokens_by_four() {
    let r = run_checked(
        &fixture("hc_http_call_errors"),
        r#"{"mocks": {"http": [{"cluster": "authz"}]}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(rets(&r, HEADERS, "proxy_http_call"), [2, 2, 2, 0, 0]);
    assert_eq!(probes(&r, HEADERS), [[4, 8]]);
    let notes = host_notes(&r);
    assert!(
        notes.iter().any(|n| n.contains("\"nowhere\"")),
        "a note names the missing cluster: {notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains(":authority")),
        "a note names the missing header: {notes:?}"
    );
    assert_eq!(r.callouts.len(), 2);
    assert_eq!(r.callouts[0].token, 4);
}

#[test]
fn http_call_answers_arrive_later_with_the_root_id_and_a_reset_reads_as_status_11() {
    let r = run_checked(
        &fixture("hc_http_call_response"),
        r#"{"mocks": {"http": [
              {"cluster": "authz", "path": "/ok", "response": {"status": 200, "body": "allowed"}},
              {"cluster": "authz", "path": "/reset", "reset": true}]}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    let headers = r.callbacks.iter().position(|c| c.name == HEADERS).unwrap();
    assert_eq!(
        r.callbacks[headers].ret,
        Some(1),
        "the issuing callback paused"
    );
    let answers: Vec<_> = r
        .callbacks
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name == "proxy_on_http_call_response")
        .collect();
    assert_eq!(answers.len(), 2);
    assert!(
        answers.iter().all(|(i, _)| *i > headers),
        "after the issuing callback"
    );
    // (root_id, token, n_headers, body_len, n_trailers): root 1, not the stream 2.
    assert_eq!(answers[0].1.args, [1, 4, 1, 7, 0]);
    assert_eq!(answers[1].1.args, [1, 8, 0, 0, 0]);
    assert_eq!(
        logs_in(&r, "proxy_on_http_call_response"),
        ["200", "allowed", "reset"]
    );
    assert_eq!(probes(&r, "proxy_on_http_call_response"), [[11, 5]]);
    // Unknown context: BadArgument; the stream: Ok (twice, once per answer).
    assert_eq!(
        rets(
            &r,
            "proxy_on_http_call_response",
            "proxy_set_effective_context"
        ),
        [2, 0, 2, 0]
    );
    // continue_stream on the stream, from the root's callback, resumed the request.
    assert!(r.upstream_request.is_some());
    assert_eq!(r.client_response.unwrap().status, 200);
}

#[test]
fn wasi_runtime_calls_answer_as_envoy_does() {
    let r = run_checked(&fixture("wasi_runtime"), "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        calls(&r, HEADERS),
        [
            ("poll_oneoff".to_string(), Some(0)),
            ("fd_prestat_get".to_string(), Some(8)),
            ("fd_fdstat_get".to_string(), Some(0)),
            ("fd_fdstat_get".to_string(), Some(8)),
            ("fd_fdstat_set_flags".to_string(), Some(52)),
            ("random_get".to_string(), Some(28)),
            ("random_get".to_string(), Some(0)),
            ("random_get".to_string(), Some(0)),
        ]
    );
    assert_eq!(
        probes(&r, HEADERS),
        [[0, 0], [64, 0]],
        "0 events; FD_WRITE rights"
    );
}

#[test]
fn the_environment_is_the_vm_configurations_and_readable_during_initialize() {
    let r = run_checked(
        &fixture("wasi_environ"),
        r#"{"settings": {"env": {"FOO": "bar", "X": "1"}}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(probes(&r, HEADERS), [[2, 12]], "2 variables, 8 + 4 bytes");
    assert_eq!(logs_in(&r, "_initialize"), ["FOO=bar", "X=1"]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Without settings.env there is nothing.
    let r = run_checked(&fixture("wasi_environ"), "{}");
    assert_eq!(probes(&r, HEADERS), [[0, 0]]);
    assert!(logs_in(&r, "_initialize").is_empty());
}

#[test]
fn both_wasi_namespaces_and_a_duplicated_import_link() {
    let bytes = fixture("wasi_namespaces");
    let info = inspect(&bytes).unwrap();
    assert_eq!(info.imports.len(), 3);
    assert!(
        info.imports
            .iter()
            .all(|i| i.status == pwp_host::ImportStatus::Implemented),
        "{:?}",
        info.imports
    );
    let r = run_checked(&bytes, "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(rets(&r, "_initialize", "fd_write"), [0, 0, 0]);
    let lines: Vec<(&str, LogSource)> = r
        .logs
        .iter()
        .map(|l| (l.message.as_str(), l.source))
        .collect();
    assert_eq!(
        lines,
        [
            ("one", LogSource::Stdout),
            ("two", LogSource::Stdout),
            ("three", LogSource::Stderr)
        ]
    );
}

#[test]
fn mocks_added_while_a_callout_waits_answer_it_and_the_run_goes_on() {
    use pwp_host::{Pause, Session, Step, StepUntil};
    let bytes = fixture("hc_http_call_response");
    let only_reset =
        r#"{"mocks": {"http": [{"cluster": "authz", "path": "/reset", "reset": true}]}}"#;
    let mut s = Session::new(&bytes, crate::scenario(only_reset)).unwrap();
    s.control().interactive_callouts.set(true);
    let token = loop {
        match s.step(StepUntil::End) {
            Step::Paused(Pause::Callout { token }) => break token,
            Step::Finished => panic!("finished without waiting for the /ok callout"),
            _ => {}
        }
    };
    assert_eq!(token, 4);
    // A mock that does not match answers nothing; one that does answers the waiting callout.
    let both = crate::scenario(
        r#"{"mocks": {"http": [
              {"cluster": "authz", "path": "/ok", "response": {"status": 200, "body": "allowed"}},
              {"cluster": "authz", "path": "/reset", "reset": true}]}}"#,
    );
    let mut other = both.mocks.clone();
    other.http.truncate(1);
    other.http[0].cluster = "elsewhere".into();
    assert!(!s.update_mocks(other));
    assert!(s.update_mocks(both.mocks));
    while s.step(StepUntil::End) != Step::Finished {}
    let r = s.report();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        logs_in(&r, "proxy_on_http_call_response"),
        ["200", "allowed", "reset"]
    );
}

#[test]
fn a_callout_body_gets_its_content_length_as_envoy_sets_it_and_trailers_are_reported() {
    let r = run_checked(
        &fixture("hc_http_call_body"),
        r#"{"mocks": {"http": [{"cluster": "authz"}]}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(rets(&r, HEADERS, "proxy_http_call"), [0, 0]);
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    let with_body = &r.callouts[0];
    assert_eq!(
        with_body.headers,
        [
            pair(":method", "POST"),
            pair(":path", "/check"),
            pair(":authority", "authz"),
            pair("content-length", "5"),
        ],
        "the body's size replaces the plugin's content-length"
    );
    assert_eq!(with_body.trailers, [pair("x-trailer", "t1")]);
    let without = &r.callouts[1];
    assert_eq!(
        without.headers.last(),
        Some(&pair("content-length", "999")),
        "without a body Envoy leaves the headers as given"
    );
    assert!(without.trailers.is_empty());
}

#[test]
fn a_unary_grpc_success_is_only_received_and_a_failure_closes_with_its_status_message() {
    let r = run_checked(
        &fixture("hc_grpc_unary"),
        r#"{"mocks": {"grpc": [
              {"cluster": "authz", "method": "Check", "message": "pong"},
              {"cluster": "authz", "method": "Deny", "status": 7,
               "status_message": "permission denied"}]}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    let grpc: Vec<(&str, &[i64])> = r
        .callbacks
        .iter()
        .filter(|c| c.name.starts_with("proxy_on_grpc"))
        .map(|c| (c.name.as_str(), c.args.as_slice()))
        .collect();
    assert_eq!(
        grpc,
        [
            ("proxy_on_grpc_receive", &[1, 5, 4][..]),
            ("proxy_on_grpc_close", &[1, 9, 7][..]),
        ],
        "success: receive only; failure: close only"
    );
    assert_eq!(logs_in(&r, "proxy_on_grpc_receive"), ["pong"]);
    assert_eq!(logs_in(&r, "proxy_on_grpc_close"), ["permission denied"]);
    assert_eq!(probes(&r, "proxy_on_grpc_close"), [[7, 17]]);
}

#[test]
fn foreign_functions_are_answered_by_mocks_with_bytes_or_a_status_and_envoy_otherwise() {
    const FOREIGN: &str = "proxy_call_foreign_function";
    let bytes = fixture("hc_foreign_function");
    let details = |r: &Report| -> Vec<String> {
        r.callbacks
            .iter()
            .filter(|c| c.name == HEADERS)
            .flat_map(|c| c.hostcalls.iter())
            .filter(|h| h.name == FOREIGN)
            .map(|h| h.detail.clone())
            .collect()
    };

    // No mocks: Envoy knows neither get_token nor no_such_function (NotFound) and compresses.
    let r = run_checked(&bytes, "{}");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(rets(&r, HEADERS, FOREIGN), [1, 0, 1]);
    let up = r.upstream_request.as_ref().unwrap();
    assert_eq!(header(&up.headers, "x-token"), None);
    assert!(
        r.warnings.iter().all(|w| !w.contains("mocks.foreign")),
        "{:?}",
        r.warnings
    );

    // Mocked: get_token returns bytes the plugin reads back, compress (a built-in) fails
    // with the mock's status, and the trace says a mock answered each.
    let r = run_checked(
        &bytes,
        r#"{"mocks": {"foreign": [
            {"name": "get_token", "result": "tok-42"},
            {"name": "compress", "status": "InternalFailure"}]}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(rets(&r, HEADERS, FOREIGN), [0, 10, 1]);
    assert_eq!(logs_in(&r, HEADERS), ["tok-42"]);
    let up = r.upstream_request.as_ref().unwrap();
    assert_eq!(header(&up.headers, "x-token"), Some("tok-42"));
    let d = details(&r);
    assert_eq!(
        d[0],
        r#"get_token args="req-1" -> "tok-42" (mocks.foreign)"#
    );
    assert_eq!(
        d[1],
        r#"compress args="hello hello hello" -> InternalFailure (mocks.foreign, in place of Envoy's built-in)"#
    );
    assert_eq!(d[2], "no_such_function (not provided by this proxy)");
    assert!(
        r.warnings.contains(
            &"mocks.foreign answers compress in place of Envoy's built-in foreign function".into()
        ),
        "{:?}",
        r.warnings
    );

    // Bytes as base64, and an error status for a name the proxy does not know.
    let r = run_checked(
        &bytes,
        r#"{"mocks": {"foreign": [
            {"name": "get_token", "result": {"base64": "YWJj"}},
            {"name": "no_such_function", "status": "Unimplemented"}]}}"#,
    );
    assert_eq!(rets(&r, HEADERS, FOREIGN), [0, 0, 12]);
    assert_eq!(logs_in(&r, HEADERS), ["abc"]);
}
