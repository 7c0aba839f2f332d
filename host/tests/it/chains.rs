//! Several plugins on one stream: Envoy's filter-manager order, local replies, shared VMs
//! and shared data across filters (the `chain_filter` fixture, configured per filter).

use pwp_host::{Plugin, Report, Session};

use crate::{fixture, scenario};

/// Runs the fixture as every filter of `json`'s chain.
fn run_chain(json: &str) -> Report {
    let s = scenario(json);
    let plugin = Plugin::load(fixture("chain_filter")).unwrap();
    let plugins: Vec<&Plugin> = (0..s.filter_count()).map(|_| &plugin).collect();
    Session::with_chain(&plugins, s).unwrap().run_to_end()
}

/// `[filter] callback(args)` for each callback of the request, from the first stream one on.
fn stream_calls(r: &Report) -> Vec<String> {
    r.callbacks
        .iter()
        .filter(|c| c.request.is_some())
        .map(|c| {
            let args: Vec<String> = c.args.iter().map(i64::to_string).collect();
            format!(
                "{} {}({})",
                c.filter.map_or("-".to_string(), |f| f.to_string()),
                c.name.trim_start_matches("proxy_on_"),
                args.join(",")
            )
        })
        .collect()
}

fn logs_of(r: &Report) -> Vec<String> {
    r.logs.iter().map(|l| l.message.clone()).collect()
}

fn header_values(headers: &[(String, String)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

const TWO_VMS: &str = r#"{
  "settings": {"config": "Ap", "vm_id": "a", "plugin_name": "first"},
  "chain": [{"config": "Bp", "vm_id": "b", "plugin_name": "second"}]
}"#;

#[test]
fn the_request_walks_the_chain_forward_and_the_response_backward() {
    let r = run_chain(TWO_VMS);
    assert_eq!(
        stream_calls(&r),
        [
            "0 context_create(2,1)",
            "0 request_headers(2,6,1)",
            "1 context_create(2,1)",
            "1 request_headers(2,7,1)",
            "1 response_headers(2,1,1)",
            "0 response_headers(2,2,1)",
            "0 log(2)",
            "1 log(2)",
            "0 done(2)",
            "0 delete(2)",
            "1 done(2)",
            "1 delete(2)",
        ]
    );
    // One header map: the second filter sees the first one's header, upstream sees both.
    let up = r.upstream_request.clone().unwrap();
    assert_eq!(header_values(&up.headers, "x-chain"), ["A", "B"]);
    let down = r.client_response.clone().unwrap();
    assert_eq!(header_values(&down.message.headers, "x-resp"), ["B", "A"]);
    // "A" is logged once: the header; shared data is scoped by vm_id, and they differ.
    assert_eq!(logs_of(&r), ["A"]);
    assert_eq!(r.shared_data.len(), 2, "{:?}", r.shared_data);
    assert!(r.shared_data.contains_key("last") && r.shared_data.contains_key("b/last"));
    assert!(r.passed());
    // Each VM starts once and has its own root context 1.
    let starts: Vec<(Option<u32>, &str)> = r
        .callbacks
        .iter()
        .filter(|c| c.request.is_none())
        .map(|c| (c.filter, c.name.as_str()))
        .collect();
    assert_eq!(
        starts,
        [
            (Some(0), "_initialize"),
            (Some(0), "proxy_on_context_create"),
            (Some(0), "proxy_on_vm_start"),
            (Some(0), "proxy_on_configure"),
            (Some(1), "_initialize"),
            (Some(1), "proxy_on_context_create"),
            (Some(1), "proxy_on_vm_start"),
            (Some(1), "proxy_on_configure"),
        ]
    );
}

#[test]
fn filters_with_the_same_module_and_vm_id_share_one_vm_and_its_shared_data() {
    let r = run_chain(
        r#"{"settings": {"config": "Ap"}, "chain": [{"config": "Bp", "plugin_name": "second"}]}"#,
    );
    let starts: Vec<String> = r
        .callbacks
        .iter()
        .filter(|c| c.request.is_none())
        .map(|c| format!("{:?} {}{:?}", c.filter, c.name, c.args))
        .collect();
    // One `_initialize`; the second root is context 2 of the same VM.
    assert_eq!(
        starts,
        [
            "Some(0) _initialize[]",
            "Some(0) proxy_on_context_create[1, 0]",
            "Some(0) proxy_on_vm_start[1, 0]",
            "Some(0) proxy_on_configure[1, 2]",
            "Some(1) proxy_on_context_create[2, 0]",
            "Some(1) proxy_on_vm_start[2, 0]",
            "Some(1) proxy_on_configure[2, 2]",
        ]
    );
    let calls = stream_calls(&r);
    assert_eq!(calls[0], "0 context_create(3,1)");
    assert_eq!(calls[2], "1 context_create(4,2)");
    // The second filter reads the first one's header and its shared data.
    assert_eq!(logs_of(&r), ["A", "A"]);
    assert_eq!(r.shared_data.len(), 1);
}

#[test]
fn a_local_reply_keeps_later_filters_from_the_request() {
    let r = run_chain(
        r#"{"settings": {"config": "Ad", "vm_id": "a"},
            "chain": [{"config": "Bp", "vm_id": "b", "plugin_name": "second"}]}"#,
    );
    assert_eq!(
        stream_calls(&r),
        [
            "0 context_create(2,1)",
            "0 request_headers(2,6,1)",
            // The reply goes back through the filter that sent it only.
            "0 response_headers(2,3,0)",
            "0 response_body(2,6,1)",
            // The second filter gets its context from the access log path.
            "0 log(2)",
            "1 context_create(2,1)",
            "1 log(2)",
            "0 done(2)",
            "0 delete(2)",
            "1 done(2)",
            "1 delete(2)",
        ]
    );
    let down = r.client_response.clone().unwrap();
    assert_eq!(down.status, 401);
    assert!(down.local_reply);
    assert_eq!(header_values(&down.message.headers, "x-resp"), ["A"]);
    assert!(r.upstream_request.is_none());
}

#[test]
fn a_later_filters_local_reply_goes_back_through_the_earlier_ones() {
    let r = run_chain(
        r#"{"settings": {"config": "Ap", "vm_id": "a"},
            "chain": [{"config": "Bd", "vm_id": "b", "plugin_name": "second"}]}"#,
    );
    let calls = stream_calls(&r);
    let i = calls
        .iter()
        .position(|c| c == "1 request_headers(2,7,1)")
        .unwrap_or_else(|| panic!("{calls:?}"));
    assert_eq!(
        calls[i + 1..i + 5],
        [
            "1 response_headers(2,3,0)",
            "1 response_body(2,6,1)",
            "0 response_headers(2,4,0)",
            "0 response_body(2,6,1)",
        ]
    );
    let down = r.client_response.clone().unwrap();
    assert_eq!(down.status, 401);
    assert_eq!(header_values(&down.message.headers, "x-resp"), ["B", "A"]);
}

#[test]
fn body_chunks_flow_through_the_chain_one_by_one() {
    let chunked = r#"{
      "settings": {"config": "Ap", "vm_id": "a"},
      "request": {"method": "POST", "chunks": ["one", "two", "three"]},
      "chain": [{"config": "Bp", "vm_id": "b", "plugin_name": "second"}]
    }"#;
    let r = run_chain(chunked);
    let bodies: Vec<String> = stream_calls(&r)
        .into_iter()
        .filter(|c| c.contains("request_body"))
        .collect();
    assert_eq!(
        bodies,
        [
            "0 request_body(2,3,0)",
            "1 request_body(2,3,0)",
            "0 request_body(2,3,0)",
            "1 request_body(2,3,0)",
            "0 request_body(2,5,1)",
            "1 request_body(2,5,1)",
        ]
    );
    assert_eq!(
        r.upstream_request.clone().unwrap().body.bytes().unwrap(),
        b"onetwothree"
    );
    // A buffering first filter holds the chunks; the second gets them at once, at the end.
    let r = run_chain(&chunked.replace("\"Ap\"", "\"Ab\""));
    let bodies: Vec<String> = stream_calls(&r)
        .into_iter()
        .filter(|c| c.contains("request_body"))
        .collect();
    assert_eq!(
        bodies,
        [
            "0 request_body(2,3,0)",
            "0 request_body(2,6,0)",
            "0 request_body(2,11,1)",
            "1 request_body(2,11,1)",
        ]
    );
    assert_eq!(
        r.upstream_request.clone().unwrap().body.bytes().unwrap(),
        b"onetwothree"
    );
}

#[test]
fn a_filter_that_holds_the_headers_holds_every_later_filter() {
    let r = run_chain(
        r#"{"settings": {"config": "Ah", "vm_id": "a", "plugin_name": "holder"},
            "request": {"method": "POST", "body": "data"},
            "chain": [{"config": "Bp", "vm_id": "b", "plugin_name": "second"}]}"#,
    );
    let calls = stream_calls(&r);
    assert!(
        !calls.iter().any(|c| c.starts_with("1 request")),
        "{calls:?}"
    );
    let stalled = r.requests[0].stalled.clone().unwrap();
    assert!(
        stalled.starts_with("holder: proxy_on_request_headers paused the request"),
        "{stalled}"
    );
}

#[test]
fn the_trace_names_each_callbacks_filter_and_single_runs_name_none() {
    let r = run_chain(TWO_VMS);
    let text = pwp_host::Trace {
        callbacks: r.callbacks.clone(),
        logs: r.logs.clone(),
        logs_dropped: 0,
        filters: vec!["first".into(), "second".into()],
        timeline: Vec::new(),
    }
    .render();
    assert!(
        text.contains("[second] proxy_on_request_headers(2, 7, 1) -> Continue"),
        "{text}"
    );
    let single = pwp_host::run(
        &fixture("chain_filter"),
        scenario(r#"{"settings": {"config": "Ap"}}"#),
    )
    .unwrap();
    assert!(single.callbacks.iter().all(|c| c.filter.is_none()));
}

#[test]
fn response_chunks_flow_backward_through_the_chain_one_by_one() {
    let r = run_chain(
        r#"{"settings": {"config": "Ap", "vm_id": "a"},
            "response": {"chunks": ["ab", "cd"]},
            "chain": [{"config": "Bp", "vm_id": "b", "plugin_name": "second"}]}"#,
    );
    let bodies: Vec<String> = stream_calls(&r)
        .into_iter()
        .filter(|c| c.contains("response_body"))
        .collect();
    assert_eq!(
        bodies,
        [
            "1 response_body(2,2,0)",
            "0 response_body(2,2,0)",
            "1 response_body(2,2,1)",
            "0 response_body(2,2,1)",
        ]
    );
    assert_eq!(
        r.client_response
            .clone()
            .unwrap()
            .message
            .body
            .bytes()
            .unwrap(),
        b"abcd"
    );
}

#[test]
fn a_shared_queue_carries_a_message_from_one_vm_to_another() {
    // Same vm_id, different VM configuration: two VMs, one queue namespace.
    let r = run_chain(
        r#"{"settings": {"config": "Ar", "vm_id": "gw", "vm_config": "one"},
            "chain": [{"config": "Bs", "vm_id": "gw", "vm_config": "two", "plugin_name": "second"}]}"#,
    );
    let ready: Vec<String> = r
        .callbacks
        .iter()
        .filter(|c| c.name == "proxy_on_queue_ready")
        .map(|c| format!("{:?} {:?}", c.filter, c.args))
        .collect();
    // The receiver's root (filter 0, context 1 of its own VM) is told, token 1.
    assert_eq!(ready, ["Some(0) [1, 1]"]);
    assert!(logs_of(&r).contains(&"B".to_string()), "{:?}", logs_of(&r));
    assert_eq!(r.filters[0].vm, 0);
    assert_eq!(r.filters[1].vm, 1);
}

#[test]
fn a_failed_filter_that_fails_open_steps_aside_and_later_filters_run() {
    let r = run_chain(
        r#"{"settings": {"config": "At", "vm_id": "a", "fail_open": true},
            "chain": [{"config": "Bp", "vm_id": "b", "plugin_name": "second"}]}"#,
    );
    assert!(stream_calls(&r).contains(&"1 request_headers(2,7,1)".to_string()));
    assert_eq!(r.client_response.clone().unwrap().status, 200);
    assert!(r.filters[0].error.is_some());
    // Fail closed: the 503 of a failed Wasm filter, and the second filter never runs.
    let r = run_chain(
        r#"{"settings": {"config": "At", "vm_id": "a"},
            "chain": [{"config": "Bp", "vm_id": "b", "plugin_name": "second"}]}"#,
    );
    assert_eq!(r.client_response.clone().unwrap().status, 503);
    assert!(!stream_calls(&r).iter().any(|c| c.starts_with("1 request")));
}

#[test]
fn stepping_a_chain_host_call_by_host_call_tells_the_same_story() {
    let json = r#"{"settings": {"config": "Ap"},
        "request": {"method": "POST", "chunks": ["x", "y"]},
        "chain": [{"config": "Bb", "plugin_name": "second"}]}"#;
    let whole = run_chain(json);
    let plugin = Plugin::load(fixture("chain_filter")).unwrap();
    let mut s = Session::with_chain(&[&plugin, &plugin], scenario(json)).unwrap();
    let mut steps = 0;
    while s.step(pwp_host::StepUntil::HostCall) != pwp_host::Step::Finished {
        steps += 1;
        assert!(steps < 10_000);
    }
    let stepped = s.report();
    assert_eq!(stream_calls(&stepped), stream_calls(&whole));
    assert_eq!(logs_of(&stepped), logs_of(&whole));
    assert!(steps > 20, "{steps}");
}

/// An example plugin built by `examples/build.sh`.
fn example(name: &str) -> Plugin {
    let path = format!(
        "{}/../public/examples/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}. Build the examples first: bash examples/build.sh")
    });
    Plugin::load(bytes).unwrap()
}

/// Runs `json` with the examples `names` as its filters, in order.
fn run_examples(names: &[&str], json: &str) -> Report {
    let plugins: Vec<Plugin> = names.iter().map(|n| example(n)).collect();
    let refs: Vec<&Plugin> = plugins.iter().collect();
    Session::with_chain(&refs, scenario(json))
        .unwrap()
        .run_to_end()
}

/// The example scenario of go-http-auth chained before go-headers, with `status` as the
/// auth service's late answer.
fn slow_auth_chain(status: u16) -> String {
    let path = format!(
        "{}/../examples/go-http-auth/scenario-chain-slow-auth.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["mocks"]["http"][0]["response"]["status"] = status.into();
    v["expect"] = serde_json::json!({});
    v.to_string()
}

/// Trace indexes of the callbacks of `filter` for request `request` named `name`.
fn calls_of(r: &Report, filter: u32, request: u32, name: &str) -> Vec<usize> {
    r.callbacks
        .iter()
        .filter(|c| c.filter == Some(filter) && c.request == Some(request) && c.name == name)
        .map(|c| c.index)
        .collect()
}

/// The trace index before which the late answer to request `request`'s callout arrived.
fn answer_mark(r: &Report, request: u32) -> (usize, u64) {
    let token = r
        .callouts
        .iter()
        .find(|c| c.request == Some(request))
        .map(|c| c.token)
        .expect("the request's callout");
    r.timeline
        .iter()
        .find_map(|m| match m.event {
            pwp_host::trace::TimelineEvent::Answer { token: t, .. } if t == token => {
                Some((m.before, m.at_ns))
            }
            _ => None,
        })
        .expect("the late answer on the timeline")
}

#[test]
fn chained_requests_wait_at_the_auth_filter_and_go_on_after_their_own_late_answers() {
    let r = run_examples(&["go-http-auth", "go-headers"], &slow_auth_chain(200));
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.requests.len(), 2);
    for i in 0..2u32 {
        let (answered, at_ns) = answer_mark(&r, i);
        // Request 0 is answered at 300 ms, request 1 (sent 100 ms later) at 400 ms.
        assert_eq!(at_ns, 300_000_000 + u64::from(i) * 100_000_000);
        let auth = calls_of(&r, 0, i, "proxy_on_request_headers");
        let response = calls_of(&r, 0, i, "proxy_on_http_call_response");
        let headers = calls_of(&r, 1, i, "proxy_on_request_headers");
        let created = calls_of(&r, 1, i, "proxy_on_context_create");
        assert_eq!((auth.len(), response.len()), (1, 1), "request {i}");
        assert_eq!((headers.len(), created.len()), (1, 1), "request {i}");
        // Filter 2 gets the request only once filter 1's late answer resumed it.
        assert!(auth[0] < answered && answered <= response[0], "request {i}");
        assert!(
            response[0] < created[0] && created[0] < headers[0],
            "request {i}"
        );
        let out = &r.requests[i as usize];
        let up = out.upstream_request.as_ref().expect("reached upstream");
        assert_eq!(header_values(&up.headers, "x-auth-user"), ["alice"]);
        assert_eq!(
            header_values(&up.headers, "x-request-source"),
            ["proxy-wasm"]
        );
        assert!(header_values(&up.headers, "x-remove-me").is_empty());
        let down = out.client_response.as_ref().expect("a response");
        assert_eq!(down.status, 200);
        assert_eq!(
            header_values(&down.message.headers, "x-served-by"),
            ["go-headers"]
        );
    }
    // Both requests waited at filter 1 at once: the second started before the first's
    // answer, and filter 2 saw nothing of either before its answer.
    let second_auth = calls_of(&r, 0, 1, "proxy_on_request_headers")[0];
    let first_in_filter_2 = calls_of(&r, 1, 0, "proxy_on_context_create")[0];
    assert!(second_auth < first_in_filter_2);
    // Each request's response walked back through go-headers, then go-http-auth.
    for i in 0..2u32 {
        let back = calls_of(&r, 1, i, "proxy_on_response_headers")[0];
        let front = calls_of(&r, 0, i, "proxy_on_response_headers")[0];
        assert!(back < front, "request {i}");
    }
}

#[test]
fn a_denied_late_answer_keeps_the_next_filter_from_the_request() {
    let r = run_examples(&["go-http-auth", "go-headers"], &slow_auth_chain(401));
    assert!(r.error.is_none(), "{:?}", r.error);
    for i in 0..2u32 {
        let (answered, _) = answer_mark(&r, i);
        assert!(calls_of(&r, 0, i, "proxy_on_http_call_response")[0] >= answered);
        // go-headers never sees the request nor the reply's response (its context comes
        // from the access-log path only).
        assert!(calls_of(&r, 1, i, "proxy_on_request_headers").is_empty());
        assert!(calls_of(&r, 1, i, "proxy_on_response_headers").is_empty());
        assert_eq!(calls_of(&r, 1, i, "proxy_on_log").len(), 1);
        let out = &r.requests[i as usize];
        assert!(out.upstream_request.is_none());
        let down = out.client_response.as_ref().expect("a local reply");
        assert_eq!(down.status, 403);
        assert!(down.local_reply);
        assert!(header_values(&down.message.headers, "x-served-by").is_empty());
    }
}

#[test]
fn a_tick_in_a_chain_fires_the_filter_whose_period_is_due() {
    // go-headers sets no tick period; go-rate-limit (filter 2) refills its bucket each second.
    let r = run_examples(
        &["go-headers", "go-rate-limit"],
        r#"{"version": 2,
            "settings": {"plugin_name": "go-headers", "config": {}},
            "chain": [{"plugin": {"example": "go-rate-limit"}, "plugin_name": "go-rate-limit",
                       "config": {"capacity": 1, "refill_per_tick": 1, "tick_ms": 1000}}],
            "events": [{"request": {}}, {"request": {}}, {"tick": {}}, {"request": {}}]}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    let ticks: Vec<_> = r
        .callbacks
        .iter()
        .filter(|c| c.name == "proxy_on_tick")
        .collect();
    assert_eq!(ticks.len(), 1);
    assert_eq!(ticks[0].filter, Some(1));
    assert_eq!(ticks[0].request, None);
    // Filter 2's root context (its own VM's first context).
    let root = r
        .callbacks
        .iter()
        .find(|c| c.filter == Some(1) && c.name == "proxy_on_configure")
        .map(|c| c.args[0]);
    assert_eq!(Some(ticks[0].args[0]), root);
    let statuses: Vec<u16> = r
        .requests
        .iter()
        .map(|o| o.client_response.as_ref().map_or(0, |c| c.status))
        .collect();
    // The bucket's one token goes to the first request; the tick puts one back.
    assert_eq!(statuses, [200, 429, 200]);
    assert!(ticks[0].index > calls_of(&r, 1, 1, "proxy_on_request_headers")[0]);
    assert!(ticks[0].index < calls_of(&r, 1, 2, "proxy_on_request_headers")[0]);
}

#[test]
fn a_late_answer_goes_to_the_later_filter_that_made_the_callout() {
    // go-headers first, go-http-auth second (its own VM): the request waits at filter 2.
    let mut v: serde_json::Value = serde_json::from_str(&slow_auth_chain(200)).unwrap();
    let auth = v["settings"].clone();
    v["settings"] = v["chain"][0].clone();
    v["settings"].as_object_mut().unwrap().remove("plugin");
    v["chain"][0] = auth;
    v["chain"][0]["plugin"] = serde_json::json!({"example": "go-http-auth"});
    v["events"] = serde_json::json!([{"request": {}}, {"advance_ms": 1000}]);
    let r = run_examples(&["go-headers", "go-http-auth"], &v.to_string());
    assert!(r.error.is_none(), "{:?}", r.error);
    let (answered, at_ns) = answer_mark(&r, 0);
    assert_eq!(at_ns, 300_000_000);
    let response = calls_of(&r, 1, 0, "proxy_on_http_call_response");
    assert_eq!(response.len(), 1);
    assert!(answered <= response[0]);
    // go-headers saw the request before filter 2 paused it, and its response after.
    assert!(calls_of(&r, 0, 0, "proxy_on_request_headers")[0] < answered);
    assert!(calls_of(&r, 0, 0, "proxy_on_response_headers")[0] > response[0]);
    let out = &r.requests[0];
    let up = out.upstream_request.as_ref().expect("reached upstream");
    assert_eq!(header_values(&up.headers, "x-auth-user"), ["alice"]);
    assert_eq!(
        header_values(&up.headers, "x-request-source"),
        ["proxy-wasm"]
    );
    assert_eq!(out.client_response.as_ref().map(|c| c.status), Some(200));
}
