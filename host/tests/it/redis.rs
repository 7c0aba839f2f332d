//! Higress Redis calls on the virtual clock: the timeout the plugin gives `proxy_redis_init`
//! applies to each command, on the real higress-redis-counter example.

use std::path::PathBuf;

use pwp_host::scenario::Event;
use pwp_host::trace::TimelineEvent;
use pwp_host::{Scenario, run};

use crate::support::header;

fn example(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../public/examples")
        .join(file)
}

/// The example's own scenario (its plugin asks `proxy_redis_init` for a 1000 ms timeout),
/// with the INCR reply `delay_ms` late.
fn counter_with_delay(delay_ms: u64) -> pwp_host::Report {
    let bytes = std::fs::read(example("higress-redis-counter.wasm"))
        .expect("built example (bash examples/build.sh)");
    let text = std::fs::read_to_string(example("higress-redis-counter.scenario.json")).unwrap();
    let mut scenario = Scenario::parse(&text).unwrap();
    scenario.mocks.redis[0].delay_ms = delay_ms;
    // One request event, so the report keeps the timeline's marks.
    scenario.events = vec![Event::Request(Box::default())];
    scenario.expect = Default::default();
    run(&bytes, scenario).unwrap()
}

#[test]
fn a_redis_reply_later_than_the_init_timeout_fails_when_the_timeout_elapses() {
    let r = counter_with_delay(1500);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.callouts.len(), 1);
    assert_eq!(r.callouts[0].timeout_ms, 1000, "from proxy_redis_init");
    // The command fails at 1 s, not when the reply would have come.
    assert_eq!(late_answers(&r), [(1000, true)]);
    // As Higress's client reports it: a non-zero status and no reply.
    let response = r
        .callbacks
        .iter()
        .find(|c| c.name == "proxy_on_redis_call_response")
        .expect("the plugin hears of it");
    assert_eq!(response.args[2..], [1, 0]);
    assert!(
        r.logs
            .iter()
            .any(|l| l.message.contains("failed") && l.message.contains("uncounted")),
        "{:?}",
        r.logs
    );
    // The plugin lets the request through uncounted.
    let up = r.upstream_request.as_ref().expect("reached the upstream");
    assert_eq!(header(&up.headers, "x-request-count"), None);
}

#[test]
fn a_redis_reply_within_the_init_timeout_arrives_late_but_whole() {
    let r = counter_with_delay(400);
    assert_eq!(late_answers(&r), [(400, false)]);
    let up = r.upstream_request.as_ref().expect("reached the upstream");
    assert_eq!(header(&up.headers, "x-request-count"), Some("3"));
}

/// The late answers on the run's timeline: after how many ms, and whether they timed out.
fn late_answers(r: &pwp_host::Report) -> Vec<(u64, bool)> {
    r.timeline
        .iter()
        .filter_map(|m| match m.event {
            TimelineEvent::Answer {
                after_ms,
                timed_out,
                ..
            } => Some((after_ms, timed_out)),
            _ => None,
        })
        .collect()
}
