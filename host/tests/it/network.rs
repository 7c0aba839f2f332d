//! L4 connections: the plugin as an Envoy network filter, on a WAT fixture.

use pwp_host::abi::Action;
use pwp_host::connection::{Peer, PeerType};
use pwp_host::scenario::Body;

use crate::fixture;
use crate::support::run_checked;

fn order(r: &pwp_host::Report) -> Vec<String> {
    r.callbacks
        .iter()
        .filter(|c| c.context_id == 2)
        .map(|c| {
            let args: Vec<String> = c.args.iter().map(i64::to_string).collect();
            format!("{}({})", c.name, args.join(", "))
        })
        .collect()
}

fn text(s: &str) -> Body {
    Body::Text(s.into())
}

#[test]
fn callbacks_come_in_envoys_order_and_held_bytes_gather_until_continue() {
    let r = run_checked(
        &fixture("net_tcp"),
        r#"{"connection": {"requested_server_name": "db.internal", "frames": [
            {"data": "abc"},
            {"data": "defgh"},
            {"from": "upstream", "data": "pong", "end_of_stream": true},
            {"close": "remote"}
        ]}, "expect": {"connection": {"to_upstream": "[abcdefgh", "to_downstream": "pong!",
            "closes": ["upstream unknown", "downstream remote"], "closed": true,
            "closed_by_plugin": null}}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(r.passed(), "{:?}", r.expectations);
    assert_eq!(
        order(&r),
        [
            "proxy_on_context_create(2, 1)",
            "proxy_on_new_connection(2)",
            "proxy_on_downstream_data(2, 3, 0)",
            "proxy_on_downstream_data(2, 8, 0)",
            "proxy_on_upstream_data(2, 4, 1)",
            "proxy_on_upstream_connection_close(2, 0)",
            "proxy_on_downstream_connection_close(2, 2)",
            "proxy_on_done(2)",
            "proxy_on_log(2)",
            "proxy_on_delete(2)",
        ]
    );
    let logs: Vec<&str> = r.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        logs,
        [
            "10.0.0.2:54321",
            "db.internal",
            "upstream close",
            "downstream close",
            "done",
            "log"
        ]
    );
    let c = r.connection.as_ref().expect("a connection outcome");
    assert_eq!(c.new_connection, Some(Action::Continue));
    let f = &c.frames;
    assert_eq!(f[0].action, Some(Action::StopIteration));
    assert_eq!(f[0].held, 3);
    assert_eq!(f[0].forwarded, text(""));
    assert_eq!(f[1].seen, Some(text("abcdefgh")));
    assert_eq!(f[1].changed_to, Some(text("[abcdefgh")));
    assert_eq!(f[1].forwarded, text("[abcdefgh"));
    assert_eq!(f[2].changed_to, Some(text("pong!")));
    assert!(c.upstream.end_of_stream);
    assert_eq!(c.downstream.received, text("abcdefgh"));
    let changes = &r.callbacks[f[1].callback.unwrap()].changes;
    assert_eq!(changes[0].target.name(), "downstream_data");
    assert_eq!(
        rets(&r, "proxy_on_upstream_data", "proxy_continue_stream"),
        [0, 12]
    );
}

fn rets(r: &pwp_host::Report, callback: &str, hostcall: &str) -> Vec<i64> {
    crate::support::rets(r, callback, hostcall)
}

#[test]
fn continue_stream_from_another_callback_releases_the_held_client_bytes() {
    let r = run_checked(
        &fixture("net_tcp"),
        r#"{"connection": {"frames": [
            {"data": "ab"},
            {"from": "upstream", "data": "x"},
            {"data": "cd", "end_of_stream": true}
        ]}}"#,
    );
    let c = r.connection.as_ref().unwrap();
    // "ab" was held, then released by proxy_continue_stream(DOWNSTREAM) in the upstream
    // callback; "cd" is a new buffer (held again: shorter than 8 bytes).
    assert_eq!(c.frames[1].forwarded, text("x!ab"));
    assert_eq!(c.downstream.forwarded, text("ab"));
    assert_eq!(c.downstream.held, text("cd"));
    assert!(
        !c.downstream.end_of_stream,
        "the end of stream is held with the bytes"
    );
    assert_eq!(c.frames[2].seen, Some(text("cd")));
    assert!(!c.closed, "no close: the context stays open");
    assert!(
        !r.callbacks.iter().any(|cb| cb.name == "proxy_on_done"),
        "an open connection is not done"
    );
    assert!(r.logs.iter().any(|l| l.message.contains("still open")));
}

#[test]
fn close_stream_closes_the_client_connection_locally_and_ends_the_context() {
    let r = run_checked(
        &fixture("net_tcp"),
        r#"{"connection": {"frames": [
            {"data": "Quit now"},
            {"data": "more"},
            {"close": "remote"}
        ]}}"#,
    );
    let c = r.connection.as_ref().unwrap();
    assert_eq!(c.closed_by_plugin.as_deref(), Some("downstream"));
    assert_eq!(c.closes.len(), 1);
    assert_eq!(c.closes[0].side, Peer::Downstream);
    assert_eq!(c.closes[0].peer_type, PeerType::Local);
    assert_eq!(c.downstream.forwarded, text(""));
    assert_eq!(c.frames[1].note, "not delivered: the connection is closed");
    assert!(c.closed);
    assert_eq!(
        order(&r)[2..],
        [
            "proxy_on_downstream_data(2, 8, 0)",
            "proxy_on_downstream_connection_close(2, 1)",
            "proxy_on_done(2)",
            "proxy_on_log(2)",
            "proxy_on_delete(2)",
        ]
    );
}

#[test]
fn an_upstream_close_reaches_the_plugin_as_a_local_downstream_close() {
    let r = run_checked(
        &fixture("net_tcp"),
        r#"{"connection": {"mtls": true, "frames": [{"from": "upstream", "close": "remote"}]}}"#,
    );
    let c = r.connection.as_ref().unwrap();
    let closes: Vec<String> = c.closes.iter().map(|c| c.label()).collect();
    assert_eq!(closes, ["downstream local"]);
    assert!(c.closed);
}

#[test]
fn connection_buffers_are_not_found_outside_their_callbacks_and_http_runs_have_no_connection() {
    let r = run_checked(&fixture("hc_set_buffer_bytes"), "{}");
    assert!(r.connection.is_none());
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        !json.contains("\"connection\""),
        "v1 reports keep their shape"
    );
}

#[test]
fn a_trap_closes_the_connection_or_under_fail_open_lets_it_pass() {
    let frames =
        r#""frames": [{"data": "Trap!"}, {"from": "upstream", "data": "late"}, {"data": "more"}]"#;
    let closed = run_checked(
        &fixture("net_tcp"),
        &format!(r#"{{"connection": {{{frames}}}}}"#),
    );
    assert!(closed.error.is_some());
    let c = closed.connection.as_ref().unwrap();
    assert_eq!(c.downstream.forwarded, text(""));
    assert_eq!(c.frames[1].note, "not delivered: the connection is closed");
    assert!(c.closes.is_empty(), "a failed VM gets no close callback");
    let open = run_checked(
        &fixture("net_tcp"),
        &format!(r#"{{"settings": {{"fail_open": true}}, "connection": {{{frames}}}}}"#),
    );
    let c = open.connection.as_ref().unwrap();
    assert_eq!(c.downstream.forwarded, text("Trap!more"));
    assert_eq!(c.upstream.forwarded, text("late"));
    assert_eq!(
        open.callbacks
            .iter()
            .filter(|cb| cb.name == "proxy_on_downstream_data")
            .count(),
        1
    );
}

#[test]
fn a_stopped_new_connection_keeps_tcp_proxy_from_connecting_until_data_continues() {
    let r = run_checked(
        &fixture("net_tcp"),
        r#"{"connection": {"requested_server_name": "hold.example", "frames": [
            {"from": "upstream", "data": "too early"},
            {"data": "12345678"},
            {"from": "upstream", "data": "now"}
        ]}}"#,
    );
    let c = r.connection.as_ref().unwrap();
    assert_eq!(c.new_connection, Some(Action::StopIteration));
    assert!(
        c.frames[0].note.contains("never connected upstream"),
        "{:?}",
        c.frames[0]
    );
    assert_eq!(c.frames[0].callback, None);
    assert_eq!(c.downstream.forwarded, text("[12345678"));
    assert_eq!(c.upstream.forwarded, text("now!"));
}

#[test]
fn upstream_address_is_not_found_until_tcp_proxy_connects() {
    // Envoy's CEL `upstream.address` is absent until tcp_proxy has an upstream host: here
    // proxy_on_new_connection stops, so that is only after the first read continues.
    let r = run_checked(
        &fixture("net_upstream_address"),
        r#"{"connection": {"upstream_address": "10.0.0.30:6379",
            "frames": [{"data": "one"}, {"data": "two"}]}}"#,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    let logs: Vec<(&str, &str)> = r
        .logs
        .iter()
        .filter_map(|l| Some((l.callback.as_deref()?, l.message.as_str())))
        .collect();
    assert_eq!(
        logs,
        [
            ("proxy_on_new_connection", "absent"),
            ("proxy_on_downstream_data", "absent"),
            ("proxy_on_downstream_data", "10.0.0.30:6379"),
        ]
    );
    let statuses = crate::support::rets(&r, "proxy_on_new_connection", "proxy_get_property");
    assert_eq!(statuses, [1], "NotFound");
}

#[test]
fn a_frame_after_ms_later_lets_the_plugins_tick_fire_between_reads() {
    // The client's bytes wait for the filter's timer (1 s): without `after_ms` the frames come
    // at once and no tick fires; with it, the clock moves before the upstream's frame, the
    // tick continues the connection and the held bytes go upstream before the answer.
    let frames = |after: &str| {
        format!(
            r#"{{"connection": {{"frames": [{{"data": "hello"}},
                {{"from": "upstream", "data": "ok"{after}}}]}}}}"#
        )
    };
    let at_once = run_checked(&fixture("net_tick"), &frames(""));
    assert!(at_once.error.is_none(), "{:?}", at_once.error);
    let out = at_once.connection.as_ref().unwrap();
    assert_eq!(
        out.downstream.forwarded,
        Body::default(),
        "nothing continued"
    );
    assert!(at_once.timeline.is_empty());

    let r = run_checked(&fixture("net_tick"), &frames(r#", "after_ms": 1500"#));
    assert!(r.error.is_none(), "{:?}", r.error);
    let logs: Vec<&str> = r.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(logs[..3], ["data", "tick", "upstream"]);
    let out = r.connection.as_ref().unwrap();
    assert_eq!(out.downstream.forwarded, text("hello"));
    assert_eq!(out.upstream.forwarded, text("ok"));
    // The release happened before the upstream's frame, which says so.
    assert_eq!(out.frames[1].forwarded, text("ok"));
    assert_eq!(
        out.frames[1].note,
        "before it, on the clock, the plugin let 5 held bytes from the client through"
    );
    // The timeline shows the clock: to the tick at 1 s, then on to 1.5 s.
    let clock: Vec<(u64, u64)> = r
        .timeline
        .iter()
        .filter_map(|m| match m.event {
            pwp_host::trace::TimelineEvent::Clock { by_ns } => Some((by_ns, m.at_ns)),
            _ => None,
        })
        .collect();
    assert_eq!(
        clock,
        [(1_000_000_000, 1_000_000_000), (500_000_000, 1_500_000_000)]
    );
    let tick = r
        .callbacks
        .iter()
        .position(|c| c.name == "proxy_on_tick")
        .expect("the tick fired");
    let upstream = r
        .callbacks
        .iter()
        .position(|c| c.name == "proxy_on_upstream_data")
        .unwrap();
    assert!(tick < upstream);
}
