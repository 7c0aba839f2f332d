//! The engine driven natively as the web glue drives it: messages, then slices.

use pwp_host::StepUntil;
use pwp_host::{Breakpoints, Scenario};
use pwp_proto::{EngineChoice, FromWorker, LOG_TAIL, RunId, Stop, ToWorker, apply, apply_summary};

use crate::engine::Engine;

fn example(name: &str) -> (String, Vec<u8>, Scenario) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public/examples");
    let bytes = std::fs::read(dir.join(format!("{name}.wasm")))
        .unwrap_or_else(|e| panic!("{name}.wasm (run bash examples/build.sh): {e}"));
    let json = std::fs::read_to_string(dir.join(format!("{name}.scenario.json"))).unwrap();
    let sha = pwp_host::sha256_hex(&bytes);
    (sha, bytes, Scenario::parse(&json).unwrap())
}

/// A clock that moves 20 ms each time it is read, so that progress is reported.
fn ticking() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NOW: AtomicU64 = AtomicU64::new(0);
    NOW.fetch_add(20_000, Ordering::Relaxed) as f64
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../host/tests/fixtures/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Sends `message`, returns what the worker answered, with what it did before it would read
/// the next message (a Load's compilations).
fn send(engine: &mut Engine, message: ToWorker, bytes: Vec<Vec<u8>>) -> Vec<FromWorker> {
    let loads = match &message {
        ToWorker::Load { plugins, .. } => plugins.len(),
        _ => 0,
    };
    let loaded = |out: &[FromWorker]| {
        out.iter()
            .filter(|m| matches!(m, FromWorker::Loaded { .. }))
            .count()
    };
    let mut out = Vec::new();
    engine.handle(message, bytes, &mut |m| out.push(m));
    while loaded(&out) < loads && engine.pump(&mut |m| out.push(m)) {}
    out
}

/// Pumps up to `slices` slices; returns the messages.
fn pump(engine: &mut Engine, slices: usize) -> Vec<FromWorker> {
    let mut out = Vec::new();
    for _ in 0..slices {
        if !engine.pump(&mut |m| out.push(m)) {
            break;
        }
    }
    out
}

fn load(engine: &mut Engine, sha: &str, bytes: Vec<u8>) {
    let out = send(
        engine,
        ToWorker::Load {
            plugins: vec![sha.to_string()],
            browser_pages: None,
        },
        vec![bytes],
    );
    assert!(
        matches!(&out[..], [FromWorker::Loaded { error: None, sha256 }] if sha256 == sha),
        "{out:?}"
    );
}

fn start(run: RunId, sha: &str, scenario: Scenario) -> ToWorker {
    ToWorker::Start {
        run,
        plugins: vec![sha.to_string()],
        scenario: Box::new(scenario),
        engine: EngineChoice::Interpreter,
    }
}

fn step(run: RunId, until: StepUntil) -> ToWorker {
    ToWorker::Step {
        run,
        until,
        breakpoints: Breakpoints::default(),
        summaries: false,
    }
}

#[test]
fn a_run_in_the_engine_streams_progress_and_ends_with_the_whole_report() {
    let (sha, bytes, mut scenario) = example("go-headers");
    scenario.requests = 30;
    let expected = pwp_host::run(&bytes, scenario.clone()).unwrap();
    let mut engine = Engine::new(ticking, None);
    load(&mut engine, &sha, bytes);
    assert!(send(&mut engine, start(1, &sha, scenario), vec![]).is_empty());
    assert!(send(&mut engine, step(1, StepUntil::End), vec![]).is_empty());
    let out = pump(&mut engine, 10_000);
    let mut report = None;
    let mut progress = 0;
    let mut last = None;
    for m in out {
        match m {
            FromWorker::Progress { run, snapshot } => {
                assert_eq!(run, 1);
                progress += 1;
                report = Some(apply(report.take(), snapshot.report).unwrap());
            }
            FromWorker::Stopped { run, how, snapshot } => {
                assert_eq!(run, 1);
                report = Some(apply(report.take(), snapshot.report).unwrap());
                last = Some(how);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(last, Some(Stop::Finished));
    assert!(
        progress >= 1,
        "a 30-request replay of a Go plugin reports progress"
    );
    let mut report = report.unwrap();
    // Durations are wall time: the same run elsewhere differs only there.
    let mut expected = expected;
    for r in [&mut report, &mut expected] {
        r.callbacks.iter_mut().for_each(|c| c.duration_us = 0.0);
        r.requests.iter_mut().for_each(|q| q.duration_us = 0.0);
    }
    assert_eq!(report, expected);
}

#[test]
fn inspect_answers_what_the_host_finds_and_keeps_the_module_for_load() {
    let (sha, bytes, scenario) = example("rust-basic-auth");
    let expected = pwp_host::inspect(&bytes).unwrap();
    let mut engine = Engine::new(ticking, None);
    let out = send(
        &mut engine,
        ToWorker::Inspect {
            id: 5,
            sha256: Some(sha.clone()),
            browser_pages: None,
        },
        vec![bytes.clone()],
    );
    match &out[..] {
        [
            FromWorker::Inspected {
                id: 5,
                info: Ok(info),
            },
        ] => assert_eq!(**info, expected),
        other => panic!("{other:?}"),
    }
    // The module is kept: a Load of it needs no bytes (the page sends them; they are not read
    // again), and it runs.
    load(&mut engine, &sha, Vec::new());
    assert!(send(&mut engine, start(1, &sha, scenario.clone()), vec![]).is_empty());
    assert!(send(&mut engine, step(1, StepUntil::End), vec![]).is_empty());
    let finished = pump(&mut engine, 10_000).into_iter().any(|m| {
        matches!(m, FromWorker::Stopped { how: Stop::Finished, ref snapshot, .. }
            if snapshot.report.report.error.is_none())
    });
    assert!(finished);

    // Bytes that are not a plugin: the host's reason, and nothing kept.
    let junk = b"not wasm".to_vec();
    let junk_sha = pwp_host::sha256_hex(&junk);
    let out = send(
        &mut engine,
        ToWorker::Inspect {
            id: 6,
            sha256: None,
            browser_pages: None,
        },
        vec![junk.clone()],
    );
    match &out[..] {
        [
            FromWorker::Inspected {
                id: 6,
                info: Err(e),
            },
        ] => {
            assert_eq!(*e, pwp_host::inspect(&junk).unwrap_err());
        }
        other => panic!("{other:?}"),
    }
    let out = send(
        &mut engine,
        ToWorker::Load {
            plugins: vec![junk_sha],
            browser_pages: None,
        },
        vec![junk],
    );
    assert!(
        matches!(&out[..], [FromWorker::Loaded { error: Some(_), .. }]),
        "{out:?}"
    );
}

#[test]
fn cancel_stops_a_runaway_plugin_at_the_next_slice_and_keeps_what_ran() {
    let bytes = fixture("hostile_loop_headers");
    let sha = pwp_host::sha256_hex(&bytes);
    let scenario = Scenario::parse(
        r#"{"request": {"headers": [["x-evil", ""]]},
            "settings": {"limits": {"fuel_per_callback": 1000000000000}}}"#,
    )
    .unwrap();
    let mut engine = Engine::new(ticking, None);
    load(&mut engine, &sha, bytes.clone());
    let out = send(&mut engine, start(5, &sha, scenario.clone()), vec![]);
    assert!(out.is_empty(), "{out:?}");
    send(&mut engine, step(5, StepUntil::Breakpoint), vec![]);
    let out = pump(&mut engine, 20);
    let mut report = None;
    for m in out {
        let FromWorker::Progress { snapshot, .. } = m else {
            panic!("still running after 20 slices: {m:?}");
        };
        report = Some(apply(report.take(), snapshot.report).unwrap());
    }
    // A cancel for another run changes nothing.
    assert!(send(&mut engine, ToWorker::Cancel { run: 4 }, vec![]).is_empty());
    let out = send(&mut engine, ToWorker::Cancel { run: 5 }, vec![]);
    let [
        FromWorker::Stopped {
            run: 5,
            how: Stop::Cancelled,
            snapshot,
        },
    ] = &out[..]
    else {
        panic!("{out:?}");
    };
    let report = apply(report.take(), snapshot.report.clone()).unwrap();
    let names: Vec<&str> = report.callbacks.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"proxy_on_request_headers"), "{names:?}");
    assert!(
        pump(&mut engine, 5).is_empty(),
        "nothing runs after the cancel"
    );
    // A new run on the same module starts clean and finishes.
    let clean = Scenario::parse("{}").unwrap();
    send(&mut engine, start(6, &sha, clean), vec![]);
    send(&mut engine, step(6, StepUntil::End), vec![]);
    let out = pump(&mut engine, 100);
    assert!(
        matches!(
            out.last(),
            Some(FromWorker::Stopped {
                run: 6,
                how: Stop::Finished,
                ..
            })
        ),
        "{out:?}"
    );
}

#[test]
fn a_module_the_engine_does_not_hold_is_refused_by_name() {
    let mut engine = Engine::new(ticking, None);
    let out = send(
        &mut engine,
        start(1, &"00".repeat(32), Scenario::default()),
        vec![],
    );
    let [
        FromWorker::Refused {
            run: 1,
            message,
            refusal: None,
        },
    ] = &out[..]
    else {
        panic!("{out:?}");
    };
    assert!(message.contains("no module for filter 1"), "{message}");
    let out = send(
        &mut engine,
        ToWorker::Load {
            plugins: vec!["11".repeat(32)],
            browser_pages: None,
        },
        vec![b"not wasm".to_vec()],
    );
    assert!(
        matches!(&out[..], [FromWorker::Loaded { error: Some(_), .. }]),
        "{out:?}"
    );
}

#[test]
fn the_warm_up_runs_in_slices_and_gives_way_to_a_run_for_good() {
    let mut engine = Engine::new(ticking, None);
    send(&mut engine, ToWorker::WarmUp, vec![]);
    let out = pump(&mut engine, 100_000);
    assert!(matches!(&out[..], [FromWorker::Warm]), "{out:?}");

    let mut engine = Engine::new(ticking, None);
    send(&mut engine, ToWorker::WarmUp, vec![]);
    assert!(pump(&mut engine, 1).is_empty());
    let (sha, bytes, scenario) = example("rust-basic-auth");
    load(&mut engine, &sha, bytes);
    send(&mut engine, start(1, &sha, scenario), vec![]);
    send(&mut engine, step(1, StepUntil::End), vec![]);
    let out = pump(&mut engine, 100_000);
    assert!(
        !out.iter().any(|m| matches!(m, FromWorker::Warm)),
        "{out:?}"
    );
    send(&mut engine, ToWorker::WarmUp, vec![]);
    assert!(
        pump(&mut engine, 10).is_empty(),
        "the warm-up does not come back"
    );
}

#[test]
fn a_replay_of_small_callbacks_gives_control_back_between_callbacks() {
    // rust-basic-auth's callbacks each use far less than a fuel slice: without a yield between
    // callbacks the whole replay would be one pump, deaf to Cancel.
    let (sha, bytes, mut scenario) = example("rust-basic-auth");
    scenario.requests = 20;
    let mut engine = Engine::new(ticking, None);
    load(&mut engine, &sha, bytes);
    send(&mut engine, start(1, &sha, scenario), vec![]);
    send(&mut engine, step(1, StepUntil::End), vec![]);
    let mut pumps = 0;
    while engine.pump(&mut |_| {}) {
        pumps += 1;
    }
    assert!(pumps > 20 * 4, "one pump per callback at least: {pumps}");
}

/// A clock the test sets (µs).
static CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn set_clock() -> f64 {
    CLOCK.load(std::sync::atomic::Ordering::Relaxed) as f64
}

/// A foreign engine that only remembers what it was asked to compile.
#[derive(Default)]
struct Compiles(std::rc::Rc<std::cell::RefCell<Vec<String>>>);

impl pwp_host::foreign::ForeignEngine for Compiles {
    fn instantiate(
        &self,
        _: &pwp_host::foreign::ForeignModule<'_>,
        _: std::rc::Rc<std::cell::RefCell<pwp_host::foreign::Ctx>>,
    ) -> Result<Box<dyn pwp_host::foreign::ForeignInstance>, String> {
        Err("not an engine".into())
    }

    fn precompile(&self, module: &pwp_host::foreign::ForeignModule<'_>) -> Result<(), String> {
        self.0.borrow_mut().push(module.key.clone());
        Ok(())
    }
}

#[test]
fn a_load_compiles_for_the_browsers_engine_first_and_for_wasmi_once_the_page_is_quiet() {
    let (sha, bytes, _) = example("go-headers");
    let compiles = Compiles::default();
    let asked = compiles.0.clone();
    let mut engine = Engine::new(set_clock, Some(Box::new(compiles)));
    let load = ToWorker::Load {
        plugins: vec![sha.clone()],
        browser_pages: Some(512),
    };
    let mut out = Vec::new();
    engine.handle(load, vec![bytes], &mut |m| out.push(m));
    while engine.pump(&mut |m| out.push(m)) {}
    assert_eq!(*asked.borrow(), [format!("{sha}:512")]);
    // wasmi's compilation waits: a Run sent now would not queue behind it.
    assert!(out.is_empty(), "{out:?}");
    let wait = engine.wake_in_ms().expect("a compilation waits");
    assert!(wait > 1.0, "{wait}");
    CLOCK.fetch_add((wait * 1000.0) as u64, std::sync::atomic::Ordering::Relaxed);
    while engine.pump(&mut |m| out.push(m)) {}
    assert!(
        matches!(&out[..], [FromWorker::Loaded { error: None, sha256 }] if *sha256 == sha),
        "{out:?}"
    );
    assert_eq!(engine.wake_in_ms(), None);
}

#[test]
fn a_file_handed_over_unread_is_hashed_and_compiled_for_the_browser_before_older_work() {
    let (example_sha, example_bytes, _) = example("go-headers");
    let (sha, bytes, _) = example("rust-basic-auth");
    let compiles = Compiles::default();
    let asked = compiles.0.clone();
    let mut engine = Engine::new(set_clock, Some(Box::new(compiles)));
    let mut out = Vec::new();
    // An example loaded a moment ago, its compilations still queued.
    let load = ToWorker::Load {
        plugins: vec![example_sha.clone()],
        browser_pages: Some(512),
    };
    engine.handle(load, vec![example_bytes], &mut |m| out.push(m));
    let inspect = ToWorker::Inspect {
        id: 9,
        sha256: None,
        browser_pages: Some(256),
    };
    engine.handle(inspect, vec![bytes], &mut |m| out.push(m));
    match &out[..] {
        [
            FromWorker::Inspected {
                id: 9,
                info: Ok(info),
            },
        ] => assert_eq!(info.sha256, sha),
        other => panic!("{other:?}"),
    }
    while engine.pump(&mut |m| out.push(m)) {}
    assert_eq!(
        *asked.borrow(),
        [format!("{sha}:256"), format!("{example_sha}:512")],
        "the file first"
    );

    // A module that is not a plugin is answered, and nothing is compiled for it.
    asked.borrow_mut().clear();
    out.clear();
    let inspect = ToWorker::Inspect {
        id: 10,
        sha256: None,
        browser_pages: Some(256),
    };
    engine.handle(inspect, vec![b"not wasm".to_vec()], &mut |m| out.push(m));
    assert!(
        matches!(
            &out[..],
            [FromWorker::Inspected {
                id: 10,
                info: Err(_)
            }]
        ),
        "{out:?}"
    );
    while engine.pump(&mut |m| out.push(m)) {}
    assert!(asked.borrow().is_empty(), "{:?}", asked.borrow());
}

/// `report` as a summary shows it: callbacks without host calls and changes, the newest log
/// lines, requests without their messages, durations zeroed (wall time).
fn summarised(mut report: pwp_host::Report) -> pwp_host::Report {
    for c in &mut report.callbacks {
        c.hostcalls.clear();
        c.changes.clear();
        c.duration_us = 0.0;
    }
    let tail = report.logs.len().saturating_sub(LOG_TAIL);
    report.logs.drain(..tail);
    for r in &mut report.requests {
        r.upstream_request = None;
        r.client_response = None;
        r.duration_us = 0.0;
    }
    report
}

#[test]
fn a_summarised_replay_streams_summaries_and_answers_each_callback_on_request() {
    let (sha, bytes, mut scenario) = example("go-headers");
    scenario.requests = 40;
    let whole = pwp_host::run(&bytes, scenario.clone()).unwrap();
    let mut engine = Engine::new(ticking, None);
    load(&mut engine, &sha, bytes);
    send(&mut engine, start(1, &sha, scenario), vec![]);
    let ToWorker::Step {
        run,
        until,
        breakpoints,
        ..
    } = step(1, StepUntil::End)
    else {
        unreachable!()
    };
    send(
        &mut engine,
        ToWorker::Step {
            run,
            until,
            breakpoints,
            summaries: true,
        },
        vec![],
    );
    let mut report = None;
    let mut counts = Vec::new();
    let mut progress = 0;
    let mut logs = 0;
    let mut finished = false;
    for m in pump(&mut engine, 100_000) {
        let (FromWorker::Progress { snapshot, .. } | FromWorker::Stopped { snapshot, .. }) = &m
        else {
            panic!("unexpected {m:?}");
        };
        let summary = snapshot
            .summary
            .clone()
            .expect("every snapshot is a summary");
        // Callbacks as rows (no host call records), and never more than the newest log lines.
        assert!(snapshot.report.report.callbacks.is_empty(), "{m:?}");
        assert!(snapshot.report.report.logs.len() <= LOG_TAIL);
        logs = summary.logs;
        let rebuilt;
        (rebuilt, counts) =
            apply_summary(report.take(), counts, snapshot.report.clone(), summary).unwrap();
        report = Some(rebuilt);
        match m {
            FromWorker::Progress { .. } => progress += 1,
            FromWorker::Stopped { how, .. } => finished = how == Stop::Finished,
            _ => unreachable!(),
        }
    }
    assert!(finished);
    assert!(progress >= 1, "a 40-request replay reports progress");
    let report = report.unwrap();
    // The host call counts are the whole report's, and so is the rest of what it holds.
    let want: Vec<u32> = whole
        .callbacks
        .iter()
        .map(|c| c.hostcalls.len() as u32)
        .collect();
    assert_eq!(counts, want);
    assert_eq!(logs, whole.logs.len());
    assert!(
        whole.logs.len() > LOG_TAIL,
        "go-headers logs 6 lines a request"
    );
    assert_eq!(report.expectations, whole.expectations);
    assert!(report.passed());
    assert_eq!(summarised(report), summarised(whole.clone()));

    // A callback late in the run, on request: its host calls, changes and log lines.
    let late = whole
        .callbacks
        .iter()
        .rposition(|c| c.name == "proxy_on_request_headers")
        .unwrap();
    let out = send(
        &mut engine,
        ToWorker::Detail {
            run: 1,
            callback: late,
        },
        vec![],
    );
    let [
        FromWorker::Detail {
            run: 1,
            callback,
            detail: Some(detail),
        },
    ] = &out[..]
    else {
        panic!("{out:?}");
    };
    assert_eq!(*callback, late);
    let mut record = detail.record.clone();
    record.duration_us = whole.callbacks[late].duration_us;
    assert_eq!(record, whole.callbacks[late]);
    assert!(!record.hostcalls.is_empty());
    let lines: Vec<_> = whole
        .logs
        .iter()
        .filter(|l| l.callback_index == Some(late))
        .cloned()
        .collect();
    assert_eq!(detail.logs, lines);
    assert_eq!(detail.logs.len(), 3, "three request edits, each logged");
    // No such callback; another run: nothing, or no answer.
    let out = send(
        &mut engine,
        ToWorker::Detail {
            run: 1,
            callback: whole.callbacks.len(),
        },
        vec![],
    );
    assert!(
        matches!(&out[..], [FromWorker::Detail { detail: None, .. }]),
        "{out:?}"
    );
    let out = send(
        &mut engine,
        ToWorker::Detail {
            run: 2,
            callback: 0,
        },
        vec![],
    );
    assert!(out.is_empty(), "{out:?}");
}

/// Expectations are checked on the whole report, not the summary: a summarised run of a
/// scenario that counts host calls (two workers racing, a CasMismatch each) passes as the
/// whole run does.
#[test]
fn a_summarised_run_checks_its_expectations_on_the_whole_report() {
    let (sha, bytes, _) = example("go-rate-limit");
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public/examples");
    let json =
        std::fs::read_to_string(dir.join("go-rate-limit.scenario-cas-conflict.json")).unwrap();
    let scenario = Scenario::parse(&json).unwrap();
    assert!(!scenario.expect.hostcalls.is_empty());
    let whole = pwp_host::run(&bytes, scenario.clone()).unwrap();
    assert!(whole.passed(), "{:?}", whole.expectations);
    let mut engine = Engine::new(ticking, None);
    load(&mut engine, &sha, bytes);
    send(&mut engine, start(1, &sha, scenario), vec![]);
    let summarised = ToWorker::Step {
        run: 1,
        until: StepUntil::End,
        breakpoints: Breakpoints::default(),
        summaries: true,
    };
    send(&mut engine, summarised, vec![]);
    let out = pump(&mut engine, 100_000);
    let Some(FromWorker::Stopped { snapshot, .. }) = out.last() else {
        panic!("{out:?}")
    };
    assert!(snapshot.summary.is_some());
    assert_eq!(snapshot.report.report.expectations, whole.expectations);
}
