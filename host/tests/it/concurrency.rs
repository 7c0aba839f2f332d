//! Concurrent streams on the real examples: several worker VMs racing for shared data (the
//! rate limiter's CAS loop), per-worker context ids, several streams of one VM interleaved by
//! phase, and stepping or slicing a concurrent run tells the same story as running it.

use std::path::PathBuf;

use pwp_host::trace::TimelineEvent;
use pwp_host::{Report, Scenario, Session, Step, StepUntil, run};

use crate::scenario;

fn example(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../public/examples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the examples first: bash examples/build.sh",
            path.display()
        )
    })
}

fn cas_scenario() -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/go-rate-limit/scenario-cas-conflict.json");
    Scenario::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `w<worker> <callback>(<context>)` for every callback after start-up.
fn stream_calls(r: &Report) -> Vec<String> {
    r.callbacks
        .iter()
        .filter(|c| c.request.is_some())
        .map(|c| {
            format!(
                "w{} {}({})",
                c.worker.unwrap_or(0),
                c.name.trim_start_matches("proxy_on_"),
                c.context_id
            )
        })
        .collect()
}

/// (worker, status) of every `proxy_set_shared_data` call after start-up.
fn shared_sets(r: &Report) -> Vec<(u32, String)> {
    r.callbacks
        .iter()
        .filter(|c| c.request.is_some())
        .flat_map(|c| {
            c.hostcalls
                .iter()
                .filter(|h| h.name == "proxy_set_shared_data")
                .map(move |h| {
                    (
                        c.worker.unwrap_or(0),
                        h.status.map(|s| s.name().to_string()).unwrap_or_default(),
                    )
                })
        })
        .collect()
}

#[test]
fn two_workers_race_for_the_bucket_and_the_loser_retries_after_cas_mismatch() {
    let r = run(&example("go-rate-limit.wasm"), cas_scenario()).unwrap();
    for e in &r.expectations {
        assert!(e.passed, "{}: {}", e.name, e.detail);
    }
    // Worker 1 writes first; worker 2 read the same cas, is refused, reads again and wins.
    assert_eq!(
        shared_sets(&r),
        [
            (1, "Ok".to_string()),
            (2, "CasMismatch".to_string()),
            (2, "Ok".to_string())
        ]
    );
    // Worker 2's write came after worker 1 had read the bucket: the switch is on the timeline.
    assert!(r.timeline.iter().any(|m| matches!(
        &m.event,
        TimelineEvent::Switch { worker: 2, from_worker: 1, after: Some(h), .. }
            if h == "proxy_get_shared_data"
    )));
    // Shared data is process-wide: the bucket lost exactly two tokens.
    assert_eq!(r.shared_data["go-rate-limit/tokens"].bytes().unwrap(), b"1");
    assert_eq!(r.metrics["go_rate_limit_allowed"], 2);
    assert_eq!(r.requests.len(), 2);
    for o in &r.requests {
        assert_eq!(o.client_response.as_ref().map(|c| c.status), Some(200));
    }
}

#[test]
fn the_order_decides_who_wins_the_race() {
    let mut s = cas_scenario();
    // Request 2 (worker 2) runs first and at the first switch point too: it reads and writes
    // before worker 1 reads, so nobody is refused; then request 1 goes on.
    s.concurrency.as_mut().unwrap().order = vec![2, 2, 2, 1];
    s.expect = Default::default();
    let r = run(&example("go-rate-limit.wasm"), s).unwrap();
    let first = stream_calls(&r);
    assert_eq!(first[0], "w2 context_create(2)");
    // With order [1, 2, 1, 2] the first writer is worker 1 and worker 2 is refused; with
    // [2, 1, 2, 1] (same interleaving, other worker first) it is the other way round.
    let mut s = cas_scenario();
    s.concurrency.as_mut().unwrap().order = vec![2, 1, 2, 1, 2, 1];
    s.expect = Default::default();
    let r = run(&example("go-rate-limit.wasm"), s).unwrap();
    assert_eq!(
        shared_sets(&r),
        [
            (2, "Ok".to_string()),
            (1, "CasMismatch".to_string()),
            (1, "Ok".to_string())
        ]
    );
}

#[test]
fn each_worker_counts_its_own_context_ids() {
    let mut s = cas_scenario();
    s.requests = 3;
    s.expect = Default::default();
    let r = run(&example("go-rate-limit.wasm"), s).unwrap();
    // Both roots are context 1, each in its own VM.
    let roots: Vec<(Option<u32>, u32)> = r
        .callbacks
        .iter()
        .filter(|c| c.name == "proxy_on_configure")
        .map(|c| (c.worker, c.context_id))
        .collect();
    assert_eq!(roots, [(Some(1), 1), (Some(2), 1)]);
    // Requests 1 and 3 run on worker 1 (contexts 2 and 3), request 2 on worker 2 (context 2).
    let creates: Vec<(Option<u32>, Option<u32>, u32)> = r
        .callbacks
        .iter()
        .filter(|c| c.name == "proxy_on_context_create" && c.request.is_some())
        .map(|c| (c.request, c.worker, c.context_id))
        .collect();
    assert_eq!(
        creates,
        [
            (Some(0), Some(1), 2),
            (Some(1), Some(2), 2),
            (Some(2), Some(1), 3)
        ]
    );
    // The capacity is 3: all three are allowed, and the outcomes keep their request numbers.
    let idx: Vec<u32> = r.requests.iter().map(|o| o.index).collect();
    assert_eq!(idx, [0, 1, 2]);
    assert_eq!(r.metrics["go_rate_limit_allowed"], 3);
    assert_eq!(r.shared_data["go-rate-limit/tokens"].bytes().unwrap(), b"0");
}

#[test]
fn streams_of_one_vm_interleave_by_phase() {
    let r = run(
        &example("go-headers.wasm"),
        scenario(r#"{"requests": 3, "concurrency": {"workers": 1}}"#),
    )
    .unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    let calls = stream_calls(&r);
    let phase = |name: &str| -> Vec<&str> {
        calls
            .iter()
            .filter(|c| c.contains(name))
            .map(String::as_str)
            .collect()
    };
    assert_eq!(
        phase("context_create"),
        [
            "w1 context_create(2)",
            "w1 context_create(3)",
            "w1 context_create(4)"
        ]
    );
    // Round robin at callback boundaries: each phase of the three streams in turn.
    assert_eq!(
        calls[..9],
        [
            "w1 context_create(2)",
            "w1 context_create(3)",
            "w1 context_create(4)",
            "w1 request_headers(2)",
            "w1 request_headers(3)",
            "w1 request_headers(4)",
            "w1 response_headers(2)",
            "w1 response_headers(3)",
            "w1 response_headers(4)",
        ]
    );
    // The report keeps the streams apart: each request's callbacks are on its own context.
    for c in r.callbacks.iter().filter(|c| c.request.is_some()) {
        assert_eq!(c.context_id, c.request.unwrap() + 2, "{}", c.name);
    }
    assert_eq!(r.requests.len(), 3);
    for o in &r.requests {
        assert_eq!(o.client_response.as_ref().map(|c| c.status), Some(200));
    }
}

#[test]
fn in_flight_limits_how_many_streams_run_at_once() {
    let r = run(
        &example("go-headers.wasm"),
        scenario(r#"{"requests": 3, "concurrency": {"workers": 1, "in_flight": 2}}"#),
    )
    .unwrap();
    let calls = stream_calls(&r);
    // The third stream starts only when one of the first two has ended (its context 4 is
    // created after a delete).
    let third = calls
        .iter()
        .position(|c| c == "w1 context_create(4)")
        .unwrap();
    let first_delete = calls.iter().position(|c| c.contains("delete")).unwrap();
    assert!(first_delete < third, "{calls:?}");
}

#[test]
fn callout_answers_reach_their_own_stream_while_other_streams_of_the_worker_run() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../public/examples/go-http-auth.scenario.json");
    let mut s = Scenario::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Three requests on two workers: worker 1 has two streams waiting for the auth service.
    s.requests = 3;
    s.concurrency = Some(pwp_host::scenario::Concurrency {
        workers: 2,
        ..Default::default()
    });
    s.expect = Default::default();
    let r = run(&example("go-http-auth.wasm"), s).unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(
        r.logs.iter().all(|l| !l.message.contains("not found")),
        "{:?}",
        r.logs
    );
    // Each answer goes to the worker and stream that asked: every request is let through
    // with the user the auth service named.
    let answers: Vec<(Option<u32>, Option<u32>)> = r
        .callbacks
        .iter()
        .filter(|c| c.name == "proxy_on_http_call_response")
        .map(|c| (c.worker, c.request))
        .collect();
    assert_eq!(answers.len(), 3);
    for (worker, request) in answers {
        assert_eq!(worker, Some(request.unwrap() % 2 + 1));
    }
    assert_eq!(r.requests.len(), 3);
    for o in &r.requests {
        let up = o.upstream_request.as_ref().expect("reached the upstream");
        assert!(
            up.headers
                .iter()
                .any(|(k, v)| k == "x-auth-user" && v == "alice"),
            "{:?}",
            up.headers
        );
        assert_eq!(o.client_response.as_ref().map(|c| c.status), Some(200));
    }
}

#[test]
fn a_stream_waits_while_another_streams_callback_resumes_it() {
    let json = r#"{"requests": 2, "concurrency": {"workers": 1}}"#;
    let r = run(&crate::fixture("concurrent_resume"), scenario(json)).unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    // Request 1 waits; request 2's headers callback resumes it; both reach the upstream.
    let calls = stream_calls(&r);
    let resumed_by = calls
        .iter()
        .position(|c| c == "w1 request_headers(3)")
        .unwrap();
    let first_response = calls
        .iter()
        .position(|c| c == "w1 response_headers(2)")
        .unwrap();
    assert!(resumed_by < first_response, "{calls:?}");
    assert!(r.timeline.iter().any(|m| matches!(
        m.event,
        TimelineEvent::Resumed {
            request: 0,
            context_id: 2
        }
    )));
    for o in &r.requests {
        assert!(o.stalled.is_none(), "{:?}", o.stalled);
        assert!(o.upstream_request.is_some());
        assert_eq!(o.client_response.as_ref().map(|c| c.status), Some(200));
    }
    // With only one request, nothing resumes it: it stalls, named as such.
    let r = run(
        &crate::fixture("concurrent_resume"),
        scenario(r#"{"concurrency": {"workers": 1}}"#),
    )
    .unwrap();
    assert!(r.requests[0].stalled.is_some());
}

/// What must not depend on how a run is driven.
fn story(r: &Report) -> Vec<String> {
    let mut out: Vec<String> = r
        .callbacks
        .iter()
        .map(|c| {
            let calls: Vec<String> = c
                .hostcalls
                .iter()
                .map(|h| format!("{} {}", h.name, h.detail))
                .collect();
            format!(
                "w{:?} {}({:?}) -> {:?} [{}]",
                c.worker,
                c.name,
                c.args,
                c.ret,
                calls.join("; ")
            )
        })
        .collect();
    out.extend(
        r.timeline
            .iter()
            .map(|m| format!("{} {:?}", m.before, m.event)),
    );
    out.extend(r.logs.iter().map(|l| l.message.clone()));
    out
}

#[test]
fn stepping_and_slicing_a_concurrent_run_tell_the_same_story_as_running_it() {
    let bytes = example("go-rate-limit.wasm");
    let plain = run(&bytes, cas_scenario()).unwrap();
    // Host call by host call: the user's pauses never replace a switch or add one.
    let mut s = Session::new(&bytes, cas_scenario()).unwrap();
    let mut steps = 0;
    while s.step(StepUntil::HostCall) != Step::Finished {
        steps += 1;
        assert!(steps < 100_000);
    }
    let stepped = s.report();
    assert!(steps > plain.callbacks.len(), "{steps} steps");
    assert_eq!(story(&plain), story(&stepped));
    // In small fuel slices, callback by callback.
    let mut s = Session::new(&bytes, cas_scenario()).unwrap();
    s.control().slice_fuel.set(20_000);
    let mut slices = 0;
    loop {
        match s.step(StepUntil::Callback) {
            Step::Finished => break,
            Step::Yielded => slices += 1,
            Step::Paused(_) => {}
        }
    }
    assert!(slices > 10, "{slices} slices");
    assert_eq!(story(&plain), story(&s.report()));
}

#[test]
fn a_breakpoint_on_a_host_call_stops_in_each_worker() {
    let mut s = Session::new(&example("go-rate-limit.wasm"), cas_scenario()).unwrap();
    s.breakpoints
        .hostcalls
        .insert("proxy_set_shared_data".to_string());
    let mut hits = Vec::new();
    loop {
        match s.step(StepUntil::Breakpoint) {
            Step::Finished => break,
            Step::Paused(pwp_host::Pause::HostCall { callback, hostcall }) => {
                let w = s.world();
                let cb = &w.trace.callbacks[callback];
                hits.push((
                    cb.worker.unwrap_or(0),
                    cb.hostcalls[hostcall]
                        .status
                        .map(|st| st.name().to_string())
                        .unwrap_or_default(),
                ));
            }
            _ => {}
        }
    }
    // Start-up's bucket creation (worker 1), then the race.
    assert_eq!(
        hits,
        [
            (1, "Ok".to_string()),
            (1, "Ok".to_string()),
            (2, "CasMismatch".to_string()),
            (2, "Ok".to_string())
        ]
    );
}

#[test]
fn a_tick_added_while_paused_fires_on_the_worker_that_runs() {
    let mut s = Session::new(&example("go-rate-limit.wasm"), cas_scenario()).unwrap();
    // Pause before worker 2's request headers.
    loop {
        match s.step(StepUntil::Callback) {
            Step::Paused(pwp_host::Pause::BeforeCallback { index }) => {
                let w = s.world();
                let cb = &w.trace.callbacks[index];
                if cb.name == "proxy_on_request_headers" && cb.worker == Some(2) {
                    break;
                }
            }
            Step::Finished => panic!("never paused before worker 2's request headers"),
            _ => {}
        }
    }
    s.inject(pwp_host::scenario::Event::Tick(Default::default()));
    loop {
        match s.step(StepUntil::Callback) {
            Step::Paused(pwp_host::Pause::Injected) => break,
            Step::Finished => panic!("the tick never ran"),
            _ => {}
        }
    }
    while s.step(StepUntil::End) != Step::Finished {}
    let r = s.report();
    assert!(r.error.is_none(), "{:?}", r.error);
    // The tick runs where the plugin is next between callbacks: worker 2 stops in the middle
    // of its request headers (after proxy_get_shared_data), worker 1 finishes its own and
    // reaches its next callback first, so worker 1's root (context 1 of its VM) ticks.
    let ticks: Vec<(Option<u32>, u32)> = r
        .callbacks
        .iter()
        .filter(|c| c.name == "proxy_on_tick")
        .map(|c| (c.worker, c.context_id))
        .collect();
    assert_eq!(ticks, [(Some(1), 1)]);
    assert_eq!(r.metrics["go_rate_limit_allowed"], 2);
    assert_eq!(r.requests.len(), 2);
}

#[test]
fn without_concurrency_callbacks_name_no_worker() {
    let r = run(
        &example("go-rate-limit.wasm"),
        scenario(r#"{"requests": 2}"#),
    )
    .unwrap();
    assert!(r.callbacks.iter().all(|c| c.worker.is_none()));
    assert!(
        !r.timeline
            .iter()
            .any(|m| matches!(m.event, TimelineEvent::Switch { .. }))
    );
    let json = serde_json::to_string(&r.callbacks).unwrap();
    assert!(!json.contains("\"worker\""));
}

#[test]
fn what_concurrency_does_not_run_is_refused_by_name() {
    let refused = |json: &str| Scenario::parse(json).unwrap_err().to_string();
    assert!(
        refused(r#"{"concurrency": {"workers": 2}, "chain": [{"config": "x"}]}"#)
            .contains("`concurrency` together with `chain`")
    );
    assert!(
        refused(r#"{"concurrency": {"workers": 2}, "events": [{"tick": {}}]}"#)
            .contains("`tick` or `advance_ms`")
    );
    assert!(refused(r#"{"concurrency": {"workers": 17}}"#).contains("1 to 16"));
    assert!(
        refused(r#"{"concurrency": {}, "mocks": {"http": [{"cluster": "c", "delay_ms": 5}]}}"#)
            .contains("mocks.http: `delay_ms` together with `concurrency`")
    );
    assert!(
        refused(r#"{"requests": 2, "concurrency": {"order": [3]}}"#).contains("requests 1 to 2")
    );
    assert!(refused(r#"{"events": [{"request": {"worker": 2}}]}"#).contains("needs `concurrency`"));
    assert!(
        refused(r#"{"concurrency": {"workers": 2}, "events": [{"request": {"worker": 3}}]}"#)
            .contains("workers 1 to 2")
    );
}
