//! The protocol read natively: every message survives the round trip, another version is
//! refused by name, and a run streamed as report deltas adds up to the whole report.

use std::path::PathBuf;

use pwp_host::scenario::{Event, MockResponse, Mocks, TickEvent};
use pwp_host::{Breakpoints, CalloutAnswer, Pause, Refusal, Scenario, Session, Step, StepUntil};
use pwp_proto::{
    CallbackDetail, DeltaWriter, EngineChoice, Envelope, FromWorker, LOG_TAIL, ProtoError,
    ReportDelta, RunLists, Snapshot, Stop, Summary, SummaryWriter, ToWorker, VERSION, WireRefusal,
    apply, apply_summary, decode, encode,
};

fn example(name: &str) -> (Vec<u8>, Scenario) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public/examples");
    let bytes = std::fs::read(dir.join(format!("{name}.wasm")))
        .unwrap_or_else(|e| panic!("{name}.wasm (run bash examples/build.sh): {e}"));
    let json = std::fs::read_to_string(dir.join(format!("{name}.scenario.json"))).unwrap();
    (
        bytes,
        Scenario::parse(&json).expect("the example's scenario"),
    )
}

fn round_trip<T>(message: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = encode(message);
    let back: T = decode(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(&back, message, "{text}");
}

/// For messages without `PartialEq`: the text reads back to the same text.
fn text_round_trip(message: &FromWorker) {
    let text = encode(message);
    let back: FromWorker = decode(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(encode(&back), text);
}

#[test]
fn every_page_message_survives_the_round_trip() {
    let (_, scenario) = example("go-headers");
    let mut breakpoints = Breakpoints::default();
    breakpoints
        .callbacks
        .insert("proxy_on_request_headers".into());
    breakpoints.hostcalls.insert("proxy_http_call".into());
    breakpoints.traps = true;
    let messages = [
        ToWorker::Load {
            plugins: vec!["ab".repeat(32), "cd".repeat(32)],
            browser_pages: None,
        },
        ToWorker::Inspect {
            id: 3,
            sha256: Some("ab".repeat(32)),
            browser_pages: None,
        },
        ToWorker::Inspect {
            id: 4,
            sha256: None,
            browser_pages: Some(1024),
        },
        ToWorker::Start {
            run: 7,
            plugins: vec!["ab".repeat(32)],
            scenario: Box::new(scenario.clone()),
            engine: EngineChoice::Browser,
        },
        ToWorker::Step {
            run: 7,
            until: StepUntil::HostCall,
            breakpoints: breakpoints.clone(),
            summaries: false,
        },
        ToWorker::Step {
            run: 7,
            until: StepUntil::Breakpoint,
            breakpoints,
            summaries: true,
        },
        ToWorker::Detail {
            run: 7,
            callback: 12,
        },
        ToWorker::Cancel { run: 7 },
        ToWorker::AnswerCallout {
            run: 7,
            token: 4,
            answer: CalloutAnswer::Http(MockResponse {
                status: 201,
                ..MockResponse::default()
            }),
        },
        ToWorker::AnswerCallout {
            run: 7,
            token: 8,
            answer: CalloutAnswer::Redis(":1\r\n".into()),
        },
        ToWorker::AnswerCallout {
            run: 7,
            token: 9,
            answer: CalloutAnswer::Reset,
        },
        ToWorker::Inject {
            run: 7,
            event: Event::Tick(TickEvent { count: 2 }),
        },
        ToWorker::Inject {
            run: 7,
            event: Event::AdvanceMs(1500),
        },
        ToWorker::UpdateMocks {
            run: 7,
            mocks: Box::new(Mocks::default()),
        },
        ToWorker::Forget,
        ToWorker::WarmUp,
    ];
    for m in &messages {
        round_trip(m);
    }
}

#[test]
fn the_worker_messages_of_a_stepped_run_survive_the_round_trip() {
    // A real run, stepped callback by callback: every snapshot (pause, report delta, the HTTP
    // stream with its headers and bodies) reads back equal.
    let (bytes, scenario) = example("go-headers");
    let mut session = Session::new(&bytes, scenario).unwrap();
    let mut writer = DeltaWriter::default();
    let mut stops = 0;
    loop {
        let step = session.step(StepUntil::Callback);
        let snapshot = Snapshot {
            slices: 1,
            paused: session.paused_at().cloned(),
            report: writer.delta(session.report()),
            stream: session.world().stream().cloned(),
            connection: session.world().connection.clone(),
            browser_engine: false,
            summary: None,
        };
        let how = match step {
            Step::Finished => Stop::Finished,
            _ => Stop::Paused,
        };
        text_round_trip(&FromWorker::Stopped {
            run: 1,
            how,
            snapshot: Box::new(snapshot),
        });
        stops += 1;
        if how == Stop::Finished {
            break;
        }
    }
    assert!(stops > 5, "go-headers pauses before each callback: {stops}");
    let refusal = Refusal {
        proxy: "Higress",
        problems: vec!["no allocator".into()],
    };
    let wire = WireRefusal::from(&refusal);
    text_round_trip(&FromWorker::Refused {
        run: 2,
        message: "Higress would refuse to load this plugin".into(),
        refusal: Some(wire.clone()),
    });
    assert_eq!(Refusal::from(wire), refusal);
    for m in [
        FromWorker::Ready,
        FromWorker::Warm,
        FromWorker::Loaded {
            sha256: "ab".repeat(32),
            error: Some("invalid code".into()),
        },
        FromWorker::MocksUpdated {
            run: 3,
            answered: true,
        },
        FromWorker::Error {
            message: "x".into(),
        },
    ] {
        text_round_trip(&m);
    }
}

#[test]
fn an_inspection_and_a_load_error_read_back_equal() {
    // The page shows the worker's inspection (import report, the proxy's load check): it must
    // arrive whole, for a plugin and for bytes that are not one.
    let (bytes, _) = example("go-headers");
    let info = pwp_host::inspect(&bytes).expect("go-headers is a plugin");
    assert!(!info.imports.is_empty() && !info.callbacks.is_empty());
    let not_wasm = pwp_host::inspect(b"hello").expect_err("not WebAssembly");
    for (id, result) in [(1, Ok(Box::new(info))), (2, Err(not_wasm))] {
        let text = encode(&FromWorker::Inspected {
            id,
            info: result.clone(),
        });
        match decode::<FromWorker>(&text).unwrap() {
            FromWorker::Inspected { id: back, info } => {
                assert_eq!(back, id);
                assert_eq!(info, result, "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_message_of_another_version_is_refused_naming_both_versions() {
    let text = serde_json::to_string(&Envelope {
        v: VERSION + 1,
        m: ToWorker::Forget,
    })
    .unwrap();
    let err = decode::<ToWorker>(&text).unwrap_err();
    assert!(
        matches!(err, ProtoError::Version { got, want } if got == VERSION + 1 && want == VERSION),
        "{err:?}"
    );
    let said = err.to_string();
    assert!(
        said.contains(&format!("version {}", VERSION + 1))
            && said.contains(&format!("version {VERSION}")),
        "{said}"
    );
    // A future message shape under another version still reports the version, not a parse error.
    let future = format!(r#"{{"v": {}, "m": {{"t": "teleport"}}}}"#, VERSION + 1);
    assert!(matches!(
        decode::<ToWorker>(&future),
        Err(ProtoError::Version { .. })
    ));
    // Same version, unknown message: malformed.
    let unknown = format!(r#"{{"v": {VERSION}, "m": {{"t": "teleport"}}}}"#);
    assert!(matches!(
        decode::<ToWorker>(&unknown),
        Err(ProtoError::Malformed(_))
    ));
    assert!(matches!(
        decode::<FromWorker>("not json"),
        Err(ProtoError::Malformed(_))
    ));
}

/// Runs `name` to the end in small fuel slices, sending a delta after every slice (as the
/// worker does, but more often), and checks that the page's report equals the session's at
/// every step. Returns the total JSON size of the deltas and of full reports.
fn stream(name: &str, requests: u32, slice_fuel: u64) -> (usize, usize) {
    let (bytes, mut scenario) = example(name);
    if requests > 0 {
        scenario.requests = requests;
    }
    let mut session = Session::new(&bytes, scenario).unwrap();
    session.control().slice_fuel.set(slice_fuel);
    let mut writer = DeltaWriter::default();
    let mut page = None;
    let (mut delta_bytes, mut full_bytes) = (0, 0);
    let mut steps = 0;
    loop {
        let step = session.step(StepUntil::End);
        let report = session.report();
        let delta = writer.delta(report.clone());
        let text = encode(&delta);
        delta_bytes += text.len();
        full_bytes += encode(&report).len();
        let delta: ReportDelta = decode(&text).unwrap();
        let rebuilt = apply(page.take(), delta).unwrap();
        assert_eq!(
            rebuilt, report,
            "{name}: the page's report after step {steps}"
        );
        page = Some(rebuilt);
        steps += 1;
        match step {
            Step::Finished => break,
            Step::Yielded => {}
            Step::Paused(p) => panic!("{name}: paused at {p:?} while running to the end"),
        }
    }
    assert!(steps > 3, "{name}: several slices ({steps})");
    (delta_bytes, full_bytes)
}

#[test]
fn a_run_streamed_as_report_deltas_adds_up_to_the_whole_report() {
    for name in ["go-headers", "go-rate-limit", "go-network"] {
        stream(name, 0, 200_000);
    }
    stream("rust-basic-auth", 0, 2_000);
}

#[test]
fn a_replay_streams_far_less_than_whole_reports() {
    let (deltas, full) = stream("go-headers", 60, 200_000);
    assert!(
        deltas * 5 < full,
        "60 requests: {deltas} bytes of deltas against {full} of whole reports"
    );
}

/// `report` as a summary carries it (see `pwp_proto::summary`), expectations left out.
fn light(mut report: pwp_host::Report) -> pwp_host::Report {
    for c in &mut report.callbacks {
        c.hostcalls.clear();
        c.changes.clear();
    }
    let tail = report.logs.len().saturating_sub(LOG_TAIL);
    report.logs.drain(..tail);
    for r in &mut report.requests {
        r.upstream_request = None;
        r.client_response = None;
    }
    report.expectations.clear();
    report
}

/// Runs go-headers' scenario replayed `requests` times in slices of `slice_fuel`, summarising
/// it after every slice as the worker does, and checks that the page's summary equals the
/// summary of the session's whole report at every step. Returns the JSON size of the
/// summaries and of report deltas, and the session.
fn summarised(requests: u32, slice_fuel: u64) -> (usize, usize, Session) {
    let (bytes, mut scenario) = example("go-headers");
    scenario.requests = requests;
    let mut session = Session::new(&bytes, scenario).unwrap();
    session.control().slice_fuel.set(slice_fuel);
    let (mut writer, mut deltas) = (SummaryWriter::default(), DeltaWriter::default());
    let (mut page, mut counts) = (None, Vec::new());
    let (mut summary_bytes, mut delta_bytes, mut steps) = (0, 0, 0);
    loop {
        let step = session.step(StepUntil::End);
        let world = session.world();
        let (delta, summary) = writer.delta(
            world.report_head(session.info()),
            RunLists {
                callbacks: &world.trace.callbacks,
                logs: &world.trace.logs,
                timeline: &world.trace.timeline,
                requests: &world.outcomes,
            },
        );
        drop(world);
        let text = encode(&(&delta, &summary));
        summary_bytes += text.len();
        delta_bytes += encode(&deltas.delta(session.report())).len();
        let (delta, summary): (ReportDelta, Summary) = decode(&text).unwrap();
        assert!(delta.report.callbacks.is_empty(), "callbacks go as rows");
        let rebuilt;
        (rebuilt, counts) = apply_summary(page.take(), counts, delta, summary.clone()).unwrap();
        let whole = session.report();
        assert_eq!(rebuilt, light(whole.clone()), "after slice {steps}");
        let want: Vec<u32> = whole
            .callbacks
            .iter()
            .map(|c| c.hostcalls.len() as u32)
            .collect();
        assert_eq!(counts, want, "after slice {steps}");
        assert_eq!(summary.logs, whole.logs.len());
        page = Some(rebuilt);
        steps += 1;
        if matches!(step, Step::Finished) {
            break;
        }
    }
    assert!(steps > 3, "{steps} slices");
    (summary_bytes, delta_bytes, session)
}

#[test]
fn a_summarised_replay_adds_up_to_the_summary_of_the_whole_report_at_every_slice() {
    // Slices small enough to end inside callbacks: a callback sent while it ran is sent again.
    let (_, _, session) = summarised(30, 100_000);
    // A callback's detail reads back equal.
    let world = session.world();
    let late = world
        .trace
        .callbacks
        .iter()
        .rposition(|c| c.name == "proxy_on_request_headers")
        .unwrap();
    let detail = CallbackDetail::of(&world.trace.callbacks, &world.trace.logs, late).unwrap();
    assert!(!detail.record.hostcalls.is_empty());
    assert_eq!(detail.logs.len(), 3, "three request edits, each logged");
    round_trip(&detail);
    text_round_trip(&FromWorker::Detail {
        run: 1,
        callback: late,
        detail: Some(Box::new(detail)),
    });
}

#[test]
fn a_summarised_replay_streams_far_less_than_report_deltas() {
    // The worker's fuel slices (it reports at most every 250 ms, so less often still).
    let (summaries, deltas, _) = summarised(200, 3_000_000);
    assert!(
        summaries * 3 < deltas,
        "200 requests: {summaries} bytes of summaries against {deltas} of deltas"
    );
}

#[test]
fn a_delta_without_its_base_is_an_error_not_a_wrong_report() {
    let (bytes, scenario) = example("go-headers");
    let mut session = Session::new(&bytes, scenario).unwrap();
    let mut writer = DeltaWriter::default();
    session.step(StepUntil::Callback);
    session.step(StepUntil::Callback);
    writer.delta(session.report());
    session.step(StepUntil::Callback);
    session.step(StepUntil::Callback);
    let second = writer.delta(session.report());
    assert!(second.from[0] > 0, "the first callbacks were sent before");
    assert!(apply(None, second.clone()).is_err());
    let empty = pwp_host::Report {
        callbacks: Vec::new(),
        ..(*second.report).clone()
    };
    assert!(apply(Some(empty), second).is_err());
}

#[test]
fn the_paused_position_reads_back() {
    for p in [
        Pause::BeforeCallback { index: 3 },
        Pause::HostCall {
            callback: 1,
            hostcall: 2,
        },
        Pause::Failed { callback: 4 },
        Pause::Callout { token: 4 },
        Pause::Slice,
        Pause::Injected,
    ] {
        round_trip(&p);
    }
}

#[test]
fn an_envelope_is_read_version_first() {
    let message = FromWorker::Loaded {
        sha256: "ab".into(),
        error: None,
    };
    let text = encode(&message);
    assert!(
        text.starts_with(&format!(r#"{{"v":{VERSION},"m":{{"loaded":"#)),
        "{text}"
    );
    match decode::<FromWorker>(&text).unwrap() {
        FromWorker::Loaded { sha256, error } => assert_eq!((sha256.as_str(), error), ("ab", None)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        encode(&FromWorker::Ready),
        format!(r#"{{"v":{VERSION},"m":"ready"}}"#)
    );
    // Fields the reader does not know are passed over.
    let extra = format!(r#"{{"v": {VERSION}, "x": [1, {{"m": 2}}], "m": "warm"}}"#);
    assert!(matches!(decode::<FromWorker>(&extra), Ok(FromWorker::Warm)));
    for broken in [
        format!(r#"{{"m": "ready", "v": {VERSION}}}"#),
        r#"{"m": "ready"}"#.to_string(),
        format!(r#"{{"v": {VERSION}}}"#),
        format!(r#"{{"v": {VERSION}, "m": "ready"}} trailing"#),
    ] {
        assert!(
            matches!(decode::<FromWorker>(&broken), Err(ProtoError::Malformed(_))),
            "{broken}"
        );
    }
}
