//! Helpers shared by the fixture tests: every run is also inspected and stepped host call by
//! host call to the end, and the stepped run must tell the same story as the plain run.

use pwp_host::{Report, Session, Step, StepUntil, inspect, run};

use crate::scenario;

/// What must not depend on how a run is driven.
#[derive(Debug, PartialEq)]
struct Story {
    callbacks: Vec<(String, Vec<i64>, Option<i64>)>,
    hostcalls: Vec<(String, Option<i64>)>,
    logs: Vec<String>,
    error: Option<(pwp_host::trace::FailureKind, Option<String>)>,
    client: Option<(u16, String)>,
}

fn story(r: &Report) -> Story {
    Story {
        callbacks: r
            .callbacks
            .iter()
            .map(|c| (c.name.clone(), c.args.clone(), c.ret))
            .collect(),
        hostcalls: r
            .callbacks
            .iter()
            .flat_map(|c| c.hostcalls.iter().map(|h| (h.name.clone(), h.ret)))
            .collect(),
        logs: r.logs.iter().map(|l| l.message.clone()).collect(),
        error: r.error.as_ref().map(|e| (e.kind, e.callback.clone())),
        client: r
            .client_response
            .as_ref()
            .map(|c| (c.status, c.details.clone())),
    }
}

/// Drives a new session with `StepUntil::HostCall` until it is finished.
pub fn step_to_end(bytes: &[u8], json: &str) -> Report {
    let mut s = Session::new(bytes, scenario(json)).expect("session starts");
    let mut steps = 0u32;
    while s.step(StepUntil::HostCall) != Step::Finished {
        steps += 1;
        assert!(steps < 100_000, "stepping never reaches the end");
    }
    assert!(s.finished());
    s.report()
}

/// Inspects `bytes`, runs `json` against them, steps the same run host call by host call,
/// checks both runs agree, and returns the report.
pub fn run_checked(bytes: &[u8], json: &str) -> Report {
    inspect(bytes).expect("inspect reads the fixture");
    let report = run(bytes, scenario(json)).expect("session starts");
    let stepped = step_to_end(bytes, json);
    assert_eq!(
        story(&report),
        story(&stepped),
        "stepping tells another story than running"
    );
    report
}

/// Arguments of every probe (`pthread_equal(a, b)`) made in callbacks named `callback`.
pub fn probes(r: &Report, callback: &str) -> Vec<[i64; 2]> {
    r.callbacks
        .iter()
        .filter(|c| c.name == callback)
        .flat_map(|c| c.hostcalls.iter())
        .filter(|h| h.name == "pthread_equal")
        .map(|h| [h.args[0], h.args[1]])
        .collect()
}

/// Return values of the host calls named `hostcall` made in callbacks named `callback`.
pub fn rets(r: &Report, callback: &str, hostcall: &str) -> Vec<i64> {
    r.callbacks
        .iter()
        .filter(|c| c.name == callback)
        .flat_map(|c| c.hostcalls.iter())
        .filter(|h| h.name == hostcall)
        .map(|h| h.ret.expect("host call returned a value"))
        .collect()
}

/// Messages of the log lines written during callbacks named `callback`.
pub fn logs_in(r: &Report, callback: &str) -> Vec<String> {
    r.logs
        .iter()
        .filter(|l| l.callback.as_deref() == Some(callback))
        .map(|l| l.message.clone())
        .collect()
}

/// Names of the callbacks, in call order.
pub fn names(r: &Report) -> Vec<&str> {
    r.callbacks.iter().map(|c| c.name.as_str()).collect()
}

/// A header's first value.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
