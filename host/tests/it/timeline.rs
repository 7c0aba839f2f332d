//! The scenario's timeline of events: ticks anywhere, clock advances, requests that wait
//! while time passes (several in flight), delayed callout answers, events added while paused.

use pwp_host::trace::TimelineEvent;
use pwp_host::{Pause, Session, Step, StepUntil, run};

use crate::{fixture, scenario};

fn names(r: &pwp_host::Report) -> Vec<String> {
    r.callbacks
        .iter()
        .map(|c| format!("{}({})", c.name, c.context_id))
        .collect()
}

#[test]
fn ticks_resume_requests_that_wait_each_on_its_own_context() {
    let r = run(
        &fixture("timeline_tick_resume"),
        scenario(
            r#"{"events": [{"request": {"path": "/a"}}, {"request": {"path": "/b"}},
                           {"tick": {}}, {"tick": {}}]}"#,
        ),
    )
    .unwrap();
    let after_start: Vec<String> = names(&r).into_iter().skip(3).collect();
    assert_eq!(
        after_start,
        [
            "proxy_on_context_create(2)",
            "proxy_on_request_headers(2)",
            "proxy_on_context_create(3)",
            "proxy_on_request_headers(3)",
            "proxy_on_tick(1)",
            "proxy_on_response_headers(2)",
            "proxy_on_log(2)",
            "proxy_on_tick(1)",
            "proxy_on_response_headers(3)",
            "proxy_on_log(3)",
        ]
    );
    // Each stream's callbacks belong to its own request; ticks to none.
    let req = |i: usize| r.callbacks[i].request;
    assert_eq!(
        (req(4), req(6), req(7), req(8)),
        (Some(0), Some(1), None, Some(0))
    );
    assert_eq!(req(11), Some(1));
    assert_eq!(r.requests.len(), 2);
    for (o, path) in r.requests.iter().zip(["/a", "/b"]) {
        assert!(o.stalled.is_none(), "{o:?}");
        let up = o.upstream_request.as_ref().expect("reached upstream");
        assert!(up.headers.contains(&(":path".into(), path.into())));
    }
    // The clock moved a tick period before each tick; both requests waited, then went on.
    let events: Vec<&TimelineEvent> = r.timeline.iter().map(|m| &m.event).collect();
    let clock: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            TimelineEvent::Clock { by_ns } => Some(*by_ns),
            _ => None,
        })
        .collect();
    assert_eq!(clock, [1_000_000_000, 1_000_000_000]);
    let waits = events
        .iter()
        .filter(|e| matches!(e, TimelineEvent::Waiting { .. }))
        .count();
    assert_eq!(waits, 2);
    let tick = r
        .timeline
        .iter()
        .find(|m| matches!(m.event, TimelineEvent::Clock { .. }));
    assert_eq!(tick.map(|m| (m.before, m.at_ns)), Some((7, 1_000_000_000)));
    assert!(r.passed(), "{:?}", r.expectations);
}

#[test]
fn a_request_nothing_resumes_stalls_after_the_last_event() {
    let r = run(
        &fixture("timeline_tick_resume"),
        scenario(r#"{"events": [{"request": {}}, {"advance_ms": 500}]}"#),
    )
    .unwrap();
    assert!(!names(&r).contains(&"proxy_on_tick(1)".to_string()));
    let o = &r.requests[0];
    assert!(
        o.stalled
            .as_ref()
            .is_some_and(|s| s.contains("paused the request")),
        "{o:?}"
    );
    assert!(o.upstream_request.is_none());
}

#[test]
fn a_tick_without_a_period_fires_nothing_and_says_so() {
    let r = run(
        &fixture("basic"),
        scenario(r#"{"events": [{"tick": {"count": 3}}, {"request": {}}]}"#),
    )
    .unwrap();
    assert!(!names(&r).iter().any(|n| n.starts_with("proxy_on_tick")));
    assert_eq!(r.timeline[0].event, TimelineEvent::NoTick);
    assert!(
        r.logs
            .iter()
            .any(|l| l.message.contains("set no tick period"))
    );
    let text = pwp_host::Trace {
        callbacks: r.callbacks.clone(),
        logs: r.logs.clone(),
        logs_dropped: 0,
        timeline: r.timeline.clone(),
        filters: Vec::new(),
    }
    .render();
    assert!(
        text.contains("== tick: the plugin set no tick period"),
        "{text}"
    );
}

#[test]
fn ticks_fire_after_start_up_before_any_request() {
    let r = run(
        &fixture("timeline_tick_resume"),
        scenario(r#"{"events": [{"tick": {"count": 2}}, {"advance_ms": 1500}]}"#),
    )
    .unwrap();
    let ticks = names(&r)
        .iter()
        .filter(|n| *n == "proxy_on_tick(1)")
        .count();
    // Two ticks at 1 s and 2 s, then 1.5 s more: the tick due at 3 s fires too.
    assert_eq!(ticks, 3);
    assert!(r.requests.is_empty());
    assert!(r.client_response.is_none());
}

#[test]
fn a_delayed_callout_answer_arrives_on_the_virtual_clock() {
    let s = r#"{"clusters": ["authz"], "events": [{"request": {}}, {"advance_ms": 100}],
        "mocks": {"http": [{"cluster": "authz", "path": "/ok", "delay_ms": 250},
                           {"cluster": "authz", "path": "/reset", "reset": true, "delay_ms": 5000}]}}"#;
    let r = run(&fixture("hc_http_call_response"), scenario(s)).unwrap();
    let callouts: Vec<(u32, &str)> = r
        .callouts
        .iter()
        .map(|c| (c.token, c.answer.as_str()))
        .collect();
    // /ok answers after 250 ms; /reset (timeout 1000 ms) times out first, as a 504.
    assert_eq!(callouts, [(4, "HTTP 200"), (8, "HTTP 504")]);
    let answers: Vec<(u32, u64, bool)> = r
        .timeline
        .iter()
        .filter_map(|m| match m.event {
            TimelineEvent::Answer {
                token,
                after_ms,
                timed_out,
            } => Some((token, after_ms, timed_out)),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [(4, 250, false), (8, 1000, true)]);
    // Both answers came after the 100 ms advance, while the request waited.
    let responses: Vec<usize> = r
        .callbacks
        .iter()
        .filter(|c| c.name == "proxy_on_http_call_response")
        .map(|c| c.index)
        .collect();
    let at = |i: usize| r.timeline.iter().rfind(|m| m.before <= i).map(|m| m.at_ns);
    assert_eq!(at(responses[0]), Some(250_000_000));
    assert_eq!(at(responses[1]), Some(1_000_000_000));
    assert_eq!(r.callbacks[responses[0]].request, Some(0));
    // Nothing resumed the request on a 200 (the fixture only resumes after a failure), and the
    // 504 is a success to the SDK, so the request stalls at the end.
    assert!(r.requests[0].stalled.is_some());
}

#[test]
fn requests_together_with_events_is_refused_naming_both() {
    let e = pwp_host::Scenario::parse(r#"{"requests": 3, "events": [{"tick": {}}]}"#).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("`requests` is 3 together with `events`"),
        "{msg}"
    );
    let e = pwp_host::Scenario::parse(
        r#"{"version": 2, "connection": {"frames": []}, "events": [{"tick": {}}]}"#,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("`events` together with `connection`"),
        "{e}"
    );
    let e = pwp_host::Scenario::parse(r#"{"events": [{"tick": {"count": 0}}]}"#).unwrap_err();
    assert!(
        e.to_string().contains("events[0]: `tick.count` is 0"),
        "{e}"
    );
    let e = pwp_host::Scenario::parse(r#"{"events": [{"sleep": 1}]}"#).unwrap_err();
    assert!(e.to_string().contains("sleep"), "{e}");
    let yaml = "events:\n  - tick: {}\n  - advance_ms: 5000\n  - request: {path: /b}\n";
    let s = pwp_host::Scenario::parse(yaml).unwrap();
    assert_eq!(s.events.len(), 3);
}

#[test]
fn a_tick_added_while_paused_runs_at_the_next_point_between_callbacks() {
    let mut s = Session::new(&fixture("timeline_tick_resume"), scenario("{}")).unwrap();
    // Pause before the request headers of the (version 1) request.
    loop {
        match s.step(StepUntil::Callback) {
            Step::Paused(Pause::BeforeCallback { index }) => {
                if s.world().trace.callbacks[index].name == "proxy_on_request_headers" {
                    break;
                }
            }
            other => panic!("{other:?}"),
        }
    }
    s.inject(pwp_host::scenario::Event::Tick(Default::default()));
    assert_eq!(s.step(StepUntil::End), Step::Paused(Pause::Injected));
    {
        let w = s.world();
        let names: Vec<&str> = w.trace.callbacks.iter().map(|c| c.name.as_str()).collect();
        // The paused callback ran first; the tick right after it resumed the request.
        assert_eq!(
            names[names.len() - 4..],
            [
                "proxy_on_request_headers",
                "proxy_on_tick",
                "proxy_on_response_headers",
                "proxy_on_log"
            ]
        );
        assert!(w.trace.timeline.iter().any(|m| m.event
            == TimelineEvent::Clock {
                by_ns: 1_000_000_000
            }));
    }
    s.inject(pwp_host::scenario::Event::AdvanceMs(2500));
    assert_eq!(s.step(StepUntil::End), Step::Paused(Pause::Injected));
    let r = s.run_to_end();
    let ticks = names(&r)
        .iter()
        .filter(|n| *n == "proxy_on_tick(1)")
        .count();
    assert_eq!(ticks, 3);
    // The first tick resumed the request that was paused when it was added.
    assert!(r.requests[0].stalled.is_none(), "{:?}", r.requests[0]);
}

#[test]
fn a_grpc_answer_later_than_the_call_timeout_closes_the_call_as_envoy_does() {
    let r = run(
        &fixture("hc_grpc_unary"),
        scenario(
            r#"{"events": [{"request": {}}],
                "mocks": {"grpc": [
                  {"cluster": "authz", "method": "Check", "message": "pong", "delay_ms": 5000},
                  {"cluster": "authz", "method": "Deny", "message": "late", "delay_ms": 400}]}}"#,
        ),
    )
    .unwrap();
    let grpc: Vec<(&str, &[i64])> = r
        .callbacks
        .iter()
        .filter(|c| c.name.starts_with("proxy_on_grpc"))
        .map(|c| (c.name.as_str(), c.args.as_slice()))
        .collect();
    // Deny answers after 400 ms; Check (timeout 1000 ms) is closed as UNAVAILABLE at 1 s.
    assert_eq!(
        grpc,
        [
            ("proxy_on_grpc_receive", &[1, 9, 4][..]),
            ("proxy_on_grpc_close", &[1, 5, 14][..]),
        ]
    );
    let messages: Vec<&str> = r
        .logs
        .iter()
        .filter(|l| l.callback.as_deref() == Some("proxy_on_grpc_close"))
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(messages, ["upstream request timeout"]);
}
