use pwp_host::{Session, Step, StepUntil, run};

use crate::{fixture, scenario};

#[test]
fn a_request_flows_through_the_whole_lifecycle_in_envoys_order() {
    let report = run(&fixture("basic"), scenario("{}")).unwrap();
    let names: Vec<&str> = report.callbacks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "_initialize",
            "proxy_on_context_create",
            "proxy_on_vm_start",
            "proxy_on_configure",
            "proxy_on_context_create",
            "proxy_on_request_headers",
            "proxy_on_response_headers",
            "proxy_on_log",
            "proxy_on_done",
            "proxy_on_delete",
        ]
    );
    // Root is context 1 and gets vm_start with its own id; the stream is 2, child of 1.
    assert_eq!(report.callbacks[2].args, [1, 0]);
    assert_eq!(report.callbacks[4].args, [2, 1]);
    let up = report.upstream_request.clone().unwrap();
    assert!(up.headers.contains(&("x-added".into(), "yes".into())));
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.message == "hello from request headers")
    );
    // Reading request headers in the response phase is refused, as in Envoy.
    assert!(
        report.logs.iter().any(|l| l.message == "status 2"),
        "{:?}",
        report.logs
    );
    assert_eq!(report.client_response.as_ref().unwrap().status, 200);
    assert!(report.passed());
}

#[test]
fn stepping_pauses_before_each_callback_and_after_each_host_call() {
    let mut s = Session::new(&fixture("basic"), scenario("{}")).unwrap();
    let mut names = Vec::new();
    while let Step::Paused(_) = s.step(StepUntil::Callback) {
        names.push(s.world().trace.callbacks.last().unwrap().name.clone());
    }
    assert_eq!(names.len(), 10);
    let mut s = Session::new(&fixture("basic"), scenario("{}")).unwrap();
    let mut hostcalls = 0;
    loop {
        match s.step(StepUntil::HostCall) {
            Step::Paused(pwp_host::Pause::HostCall { .. }) => hostcalls += 1,
            Step::Finished => break,
            _ => {}
        }
    }
    assert_eq!(hostcalls, 4);
}
