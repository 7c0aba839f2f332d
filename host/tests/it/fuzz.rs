//! Property-based fuzzing of everything a hostile plugin, file or link controls: module bytes,
//! every host function's arguments, scenario documents and share links. Every property has the
//! same shape: never a panic, never a hang, always an answer (a typed error or a report).
//!
//! Case counts are small by default so that the whole module stays around 20 s in a debug
//! `cargo test` (CI). `PROPTEST_CASES` overrides every count here (for the host-call property
//! it is the count *per host function*). Before a release, run it longer:
//!
//! ```text
//! PROPTEST_CASES=5000 cargo test -p pwp-host --test it fuzz --release
//! ```
//!
//! Inputs are random on every run; `PROPTEST_RNG_SEED=<n>` replays one seed. A failure
//! prints the shrunk input: turn it into a named regression test at the end of this file
//! (failure persistence files are off, so nothing is written next to the sources).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestRunner};
use pwp_host::scenario::{
    Body, Clock, Headers, Limits, LogLevel, PluginRef, Profile, PropertyValue, Request, Settings,
};
use pwp_host::share::{self, PluginOrigin, ShareError};
use pwp_host::trace::CallStatus;
use pwp_host::{LoadError, Report, Scenario, Session, SessionError, inspect, run};
use pwp_host::{Ns, SPECS, Spec};
use wasmi::ValType;

use crate::fixture;

/// The number of cases for a property: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Tight limits, so that a mutated module that loops or grows costs milliseconds.
const QUICK: &str = r#"{
    "request": {"method": "POST", "headers": [["x-evil", ""], ["x-a", "1"]], "body": "hello body"},
    "response": {"headers": [["server", "up"]], "body": "world"},
    "clusters": ["auth"],
    "settings": {
        "config": "plugin config", "vm_config": {"k": 1}, "env": {"EVIL": "1", "HOME": "/"},
        "lenient": true,
        "limits": {"fuel_per_callback": 3000000, "memory_pages": 32,
                   "max_hostcalls_per_callback": 2000, "max_log_lines": 200}
    }
}"#;

fn quick() -> Scenario {
    Scenario::parse(QUICK).expect("the quick scenario parses")
}

// ---------------------------------------------------------------------------------------------
// 1. Module loading: arbitrary bytes and mutated real modules.
// ---------------------------------------------------------------------------------------------

/// Small modules of varied shapes: a reactor, a TinyGo-like command, WASI users, ABI 0.1.0,
/// host-call fixtures and a re-entrant allocator.
const SEED_FIXTURES: &[&str] = &[
    "basic",
    "shape_tinygo",
    "shape_abi010",
    "shape_emscripten",
    "wasi_runtime",
    "hc_bad_pointers",
    "hc_http_call_response",
    "hostile_reentrant_alloc",
];

fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| SEED_FIXTURES.iter().map(|n| fixture(n)).collect())
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to a parser: LEB128 extremes, section ids, opcodes, zeroes.
    let chunk = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..8),
        Just(vec![0xff, 0xff, 0xff, 0xff, 0x0f]),
        Just(vec![0x80, 0x80, 0x80, 0x80, 0x80]),
        Just(vec![0x00]),
        Just(vec![0x0b]),
        Just(vec![0x40, 0x00]),
    ];
    prop_oneof![
        4 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<Index>(), chunk).prop_map(|(i, c)| Mutation::Insert(i, c)),
        2 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        if let Mutation::Insert(_, c) = m {
            bytes.extend_from_slice(c);
        }
        return;
    }
    match m {
        Mutation::Flip(i, bit) => {
            let at = i.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        Mutation::Set(i, b) => {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        Mutation::Insert(i, c) => {
            let at = i.index(bytes.len() + 1);
            bytes.splice(at..at, c.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let at = i.index(bytes.len());
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
    }
}

/// Loads and runs `bytes`: `inspect` and `Session::new` agree on load errors, and a session
/// that starts runs to the end with a report. Panics (the property's failure) otherwise.
fn load_and_run(bytes: &[u8]) -> Result<(), TestCaseError> {
    let inspected = inspect(bytes);
    match Session::new(bytes, quick()) {
        Err(SessionError::Load(e)) => {
            prop_assert_eq!(inspected.err(), Some(e));
        }
        Err(SessionError::Instantiate(msg)) => {
            prop_assert!(
                inspected.is_ok(),
                "instantiated what inspect refused: {msg}"
            );
            prop_assert!(!msg.is_empty());
        }
        Err(SessionError::Refused(r)) => {
            prop_assert!(false, "refused though lenient: {r}");
        }
        Ok(mut session) => {
            prop_assert!(inspected.is_ok());
            let report = session.run_to_end();
            prop_assert!(session.finished());
            check_report(&report, &quick().settings.limits)?;
        }
    }
    Ok(())
}

/// What every report must satisfy, whatever the plugin did within `limits`.
fn check_report(r: &Report, limits: &Limits) -> Result<(), TestCaseError> {
    for (i, cb) in r.callbacks.iter().enumerate() {
        prop_assert_eq!(cb.index, i);
        prop_assert!(
            cb.hostcalls.len() as u64 <= u64::from(limits.max_hostcalls_per_callback),
            "host call limit ignored: {}",
            cb.hostcalls.len()
        );
    }
    prop_assert!(
        r.logs.len() as u64 <= u64::from(limits.max_log_lines),
        "log limit ignored: {}",
        r.logs.len()
    );
    if let Some(e) = &r.error {
        prop_assert!(!e.message.is_empty(), "{e:?}");
    }
    // The app and `pwp run --json` serialize every report.
    let json = serde_json::to_string(r).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: Result<Report, _> = serde_json::from_str(&json);
    prop_assert!(
        back.is_ok(),
        "the report does not read back: {:?}",
        back.err()
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_are_refused_with_a_load_error(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        load_and_run(&bytes)?;
        if bytes.len() < 8 || bytes[..4] != *b"\0asm" {
            prop_assert!(matches!(inspect(&bytes), Err(LoadError::NotWasm(_))));
        }
    }

    #[test]
    fn arbitrary_bytes_after_the_wasm_header_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend_from_slice(&body);
        load_and_run(&bytes)?;
    }

    #[test]
    fn mutated_modules_load_or_are_refused_and_always_run_to_a_report(
        seed in 0..SEED_FIXTURES.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = seeds()[seed].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        load_and_run(&bytes)?;
    }
}

#[test]
fn mutated_example_plugins_load_or_are_refused_and_always_run_to_a_report() {
    // The compiled examples are built by examples/build.sh; the bounded CI run above relies
    // on WAT fixtures only, so this one says loudly when it has nothing to mutate.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../public/examples/rust-basic-auth.wasm"
    );
    let Ok(original) = std::fs::read(path) else {
        eprintln!("SKIPPED: {path} is missing; build it with `bash examples/build.sh`");
        return;
    };
    let mut runner = TestRunner::new(config(32));
    let result = runner.run(&prop::collection::vec(mutation(), 1..4), |ms| {
        let mut bytes = original.clone();
        for m in &ms {
            apply(&mut bytes, m);
        }
        load_and_run(&bytes)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Every host function's argument decoding.
// ---------------------------------------------------------------------------------------------

/// Where the generated module keeps data worth pointing at.
const DATA: u32 = 1024;
/// The generated module's memory size (one page).
const MEMORY_END: u32 = 65536;

/// The data segment: strings, a header map, iovecs and a gRPC service, at fixed offsets from
/// [`DATA`], so that small random pointers often land on something meaningful.
fn data_segment() -> Vec<u8> {
    let mut d = Vec::new();
    let mut put = |at: usize, bytes: &[u8]| {
        if d.len() < at + bytes.len() {
            d.resize(at + bytes.len(), 0);
        }
        d[at..at + bytes.len()].copy_from_slice(bytes);
    };
    put(0, b":path");
    put(8, b"auth");
    put(16, b"compress");
    put(32, b"x-a\0x-b");
    put(
        48,
        &pwp_host::encode_pairs(&[(":method", "GET"), (":path", "/x"), (":authority", "auth")]),
    );
    // iovecs {DATA, 5} and {DATA + 8, 4}
    let iov = |p: u32, l: u32| [p.to_le_bytes(), l.to_le_bytes()].concat();
    put(160, &[iov(DATA, 5), iov(DATA + 8, 4)].concat());
    // GrpcService { envoy_grpc { cluster_name: "auth" } }
    put(176, &[0x0a, 0x06, 0x0a, 0x04, b'a', b'u', b't', b'h']);
    put(192, b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
    put(224, b"plugin_root_id\0source\0address");
    d
}

fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// Offsets into the data segment where something starts, and the lengths of those things.
const DATA_OFFSETS: &[u32] = &[0, 8, 16, 32, 48, 160, 176, 192, 224];
const DATA_LENGTHS: &[u32] = &[1, 2, 3, 4, 5, 7, 8, 14, 16, 22, 29, 65];

/// An argument a real plugin might pass: a small enum or fd, a pointer to something in the
/// data segment, or a length that fits.
fn plausible_i32() -> BoxedStrategy<i64> {
    prop_oneof![
        0u32..8,
        prop::sample::select(DATA_OFFSETS).prop_map(|o| DATA + o),
        prop::sample::select(DATA_LENGTHS),
        0u32..64,
    ]
    .prop_map(i64::from)
    .boxed()
}

/// Any constant argument: 0, small, into the data, near or past the end of memory, maximal,
/// or anything. i32 values are kept zero-extended, as the trace records them.
fn arg_i32() -> BoxedStrategy<i64> {
    prop_oneof![
        2 => Just(0u32),
        3 => 1u32..16,
        3 => DATA..DATA + 256,
        2 => (MEMORY_END - 16)..=(MEMORY_END + 16),
        2 => Just(u32::MAX),
        1 => (u32::MAX - 16)..=u32::MAX,
        1 => Just(i32::MAX as u32),
        2 => any::<u32>(),
    ]
    .prop_map(i64::from)
    .boxed()
}

fn arg_i64() -> BoxedStrategy<i64> {
    prop_oneof![
        Just(0i64),
        -16i64..16,
        Just(i64::MAX),
        Just(i64::MIN),
        arg_i32(),
        any::<i64>(),
    ]
    .boxed()
}

/// Arguments for a parameter list: all plausible (to get past the first check), or each one
/// anything.
fn args_for(params: &'static [ValType]) -> BoxedStrategy<Vec<i64>> {
    let each = |i32s: fn() -> BoxedStrategy<i64>| -> Vec<BoxedStrategy<i64>> {
        params
            .iter()
            .map(|t| {
                if *t == ValType::I64 {
                    arg_i64()
                } else {
                    i32s()
                }
            })
            .collect()
    };
    prop_oneof![each(plausible_i32), each(arg_i32)].boxed()
}

/// The callback the generated plugin makes its host call from.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Configure,
    RequestHeaders,
    RequestBody,
    ResponseHeaders,
    Log,
}

impl Phase {
    fn export(self) -> &'static str {
        match self {
            Phase::Configure => "proxy_on_configure",
            Phase::RequestHeaders => "proxy_on_request_headers",
            Phase::RequestBody => "proxy_on_request_body",
            Phase::ResponseHeaders => "proxy_on_response_headers",
            Phase::Log => "proxy_on_log",
        }
    }

    /// (params, result, return value)
    fn signature(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Phase::Configure => ("(param i32 i32)", "(result i32)", "i32.const 1"),
            Phase::Log => ("(param i32)", "", ""),
            _ => ("(param i32 i32 i32)", "(result i32)", "i32.const 0"),
        }
    }
}

fn phase() -> impl Strategy<Value = Phase> {
    prop_oneof![
        3 => Just(Phase::RequestHeaders),
        1 => Just(Phase::Configure),
        1 => Just(Phase::RequestBody),
        1 => Just(Phase::ResponseHeaders),
        1 => Just(Phase::Log),
    ]
}

/// What the plugin's allocator answers: a bump allocator, or a hostile one whose pointers
/// are 0, the last byte of memory or far past it. Either way the host answers, never traps.
#[derive(Debug, Clone, Copy)]
enum Alloc {
    Bump,
    Zero,
    LastByte,
    Wild,
}

impl Alloc {
    fn body(self) -> &'static str {
        match self {
            Alloc::Bump => {
                "(global.get $heap) (global.set $heap (i32.add (global.get $heap) (local.get $n)))"
            }
            Alloc::Zero => "(i32.const 0)",
            Alloc::LastByte => "(i32.const 65535)",
            Alloc::Wild => "(i32.const -16)",
        }
    }
}

fn alloc() -> impl Strategy<Value = Alloc> {
    prop_oneof![
        6 => Just(Alloc::Bump),
        1 => Just(Alloc::Zero),
        1 => Just(Alloc::LastByte),
        1 => Just(Alloc::Wild),
    ]
}

/// One host call the plugin makes: the table row and constant arguments.
type Call = (&'static Spec, Vec<i64>);

/// A reactor that imports each host function of `calls` with its declared type and calls them
/// in order, once, from `phase`.
fn plugin_wat(calls: &[Call], phase: Phase, higress: bool, alloc: Alloc) -> String {
    let types = |types: &[ValType]| -> String {
        types
            .iter()
            .map(|t| if *t == ValType::I64 { " i64" } else { " i32" })
            .collect()
    };
    let mut imports = String::new();
    let mut body = String::new();
    for (i, (spec, args)) in calls.iter().enumerate() {
        let ns = match spec.ns {
            Ns::Env => "env",
            Ns::Wasi => "wasi_snapshot_preview1",
        };
        let result = if spec.results().is_empty() {
            String::new()
        } else {
            format!("(result{})", types(spec.results()))
        };
        imports.push_str(&format!(
            "  (import \"{ns}\" \"{}\" (func $f{i} (param{}) {result}))\n",
            spec.name,
            types(spec.params())
        ));
        let consts: String = spec
            .params()
            .iter()
            .zip(args)
            .map(|(t, a)| {
                if *t == ValType::I64 {
                    format!(" (i64.const {a})")
                } else {
                    format!(" (i32.const {})", *a as u32 as i32)
                }
            })
            .collect();
        let drop = if spec.results().is_empty() {
            ""
        } else {
            "drop"
        };
        body.push_str(&format!("    (call $f{i}{consts})\n    {drop}\n"));
    }
    let marker = if higress { "0_2_100" } else { "0_2_1" };
    let (cb_params, cb_result, cb_ret) = phase.signature();
    format!(
        r#"(module
{imports}  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 32768))
  (data (i32.const {DATA}) "{data}")
  (func (export "proxy_abi_version_{marker}"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32) {alloc})
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "{export}") {cb_params} {cb_result}
{body}    {cb_ret}))"#,
        data = wat_bytes(&data_segment()),
        alloc = alloc.body(),
        export = phase.export(),
    )
}

/// Runs a plugin making `calls` from `phase` and checks every answer: the run ends with a
/// report, nothing traps, and each call is in the trace, in order, with its arguments and a
/// status (proxy_*) or errno (WASI) the ABI defines.
fn check_calls(
    calls: &[Call],
    phase: Phase,
    higress: bool,
    alloc: Alloc,
) -> Result<(), TestCaseError> {
    let wat = plugin_wat(calls, phase, higress, alloc);
    let bytes = wat::parse_str(&wat).map_err(|e| TestCaseError::fail(format!("{e}\n{wat}")))?;
    let report = run(&bytes, quick()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    check_report(&report, &quick().settings.limits)?;
    let export = phase.export();
    let cb = report
        .callbacks
        .iter()
        .find(|c| c.name == export)
        .ok_or_else(|| TestCaseError::fail(format!("{export} was never called")))?;
    // Bad pointers, lengths, enums, ids and allocators are answers, never traps.
    prop_assert!(cb.error.is_none(), "{export} failed: {:?}", cb.error);
    prop_assert!(report.error.is_none(), "the run failed: {:?}", report.error);
    prop_assert_eq!(cb.hostcalls.len(), calls.len(), "{:?}", cb.hostcalls);
    for ((spec, args), h) in calls.iter().zip(&cb.hostcalls) {
        prop_assert_eq!(h.name.as_str(), spec.name);
        prop_assert_eq!(&h.args, args);
        prop_assert!(!h.stub);
        if spec.results().is_empty() {
            prop_assert_eq!(h.ret, None);
            continue;
        }
        let ret = h
            .ret
            .and_then(|r| i32::try_from(r).ok())
            .ok_or_else(|| TestCaseError::fail(format!("{}: no return value", spec.name)))?;
        match spec.ns {
            Ns::Wasi => {
                prop_assert_ne!(
                    CallStatus::errno(ret),
                    CallStatus::UnknownErrno,
                    "{}: errno {}",
                    spec.name,
                    ret
                );
                prop_assert_eq!(h.status, Some(CallStatus::errno(ret)));
            }
            Ns::Env if spec.name.starts_with("proxy_") => {
                prop_assert_ne!(
                    CallStatus::status(ret),
                    CallStatus::UnknownStatus,
                    "{}: status {}",
                    spec.name,
                    ret
                );
                prop_assert_eq!(h.status, Some(CallStatus::status(ret)));
            }
            // pthread_equal, envoy_resolve_dns: a plain return value.
            Ns::Env => {}
        }
    }
    Ok(())
}

#[test]
fn every_host_function_answers_any_arguments_with_a_status_and_never_traps() {
    let per_spec = config(16);
    let mut failures = Vec::new();
    for spec in SPECS {
        let mut runner = TestRunner::new(per_spec.clone());
        let strategy = (args_for(spec.params()), phase(), any::<bool>(), alloc());
        let result = runner.run(&strategy, |(args, phase, higress, alloc)| {
            check_calls(&[(spec, args)], phase, higress, alloc)
        });
        if let Err(e) = result {
            failures.push(format!("{}: {e}", spec.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_host_function_answers_pointers_past_the_end_of_memory_without_trapping() {
    // The deterministic corner of the property above: every argument at, just before or far
    // past the end of memory, with maximal lengths.
    for spec in SPECS {
        for fill in [MEMORY_END - 1, MEMORY_END, u32::MAX] {
            let args: Vec<i64> = spec
                .params()
                .iter()
                .map(|t| {
                    if *t == ValType::I64 {
                        -1
                    } else {
                        i64::from(fill)
                    }
                })
                .collect();
            let calls = [(spec, args)];
            if let Err(e) = check_calls(&calls, Phase::RequestHeaders, false, Alloc::Bump) {
                panic!("{} with every argument {fill}: {e}", spec.name);
            }
        }
    }
}

/// A host function by its row in [`SPECS`], shown by name.
#[derive(Clone, Copy)]
struct Row(usize);

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(SPECS[self.0].name)
    }
}

/// A few host calls in a row, so that state one creates (callouts, queues, metrics, shared
/// data, local replies, effective contexts) meets the next.
fn call_sequence() -> impl Strategy<Value = Vec<(Row, Vec<i64>)>> {
    prop::collection::vec(
        (0..SPECS.len())
            .prop_flat_map(|i| args_for(SPECS[i].params()).prop_map(move |a| (Row(i), a))),
        1..8,
    )
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn sequences_of_host_calls_with_any_arguments_never_trap(
        calls in call_sequence(),
        phase in phase(),
        higress in any::<bool>(),
        alloc in alloc(),
    ) {
        let calls: Vec<Call> = calls.into_iter().map(|(row, args)| (&SPECS[row.0], args)).collect();
        check_calls(&calls, phase, higress, alloc)?;
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Scenario documents and share links.
// ---------------------------------------------------------------------------------------------

/// A scenario using most of the format, as JSON.
const RICH_JSON: &str = r#"{
  "version": 1,
  "name": "Block swagger",
  "description": "request-block answers 403",
  "plugin": {"example": "go-headers"},
  "settings": {
    "config": {"block_urls": ["swagger.html"], "blocked_code": 403},
    "env": {"TRUST_DOMAIN": "cluster.local"},
    "log_level": "debug", "profile": "envoy", "toggles": {"replace_header": "in_place"},
    "limits": {"fuel_per_callback": 1000000, "memory_pages": 64},
    "seed": 7
  },
  "request": {
    "method": "POST", "path": "/swagger.html?x=1",
    "headers": [["content-type", "application/json"], ["x-a", "1"]],
    "chunks": ["{\"hello\":", {"base64": "/wAB"}],
    "trailers": {"grpc-status": "0"}
  },
  "response": {"status": 200, "headers": {"server": "upstream"}, "body": {"base64": "/wAB"}},
  "properties": {"a.b": true, "n": 5, "t": "text", "raw": {"base64": "AAE="}},
  "route": {"name": "default/foo", "cluster": "outbound|80||httpbin"},
  "clusters": ["auth"],
  "mocks": {
    "http": [{"cluster": "auth", "path": "/check", "response": {"status": 200}}],
    "grpc": [{"cluster": "grpc", "status": 0, "message": "hi"}],
    "redis": [{"command": "INCR", "reply": ":1\r\n"}]
  },
  "clock": {"start_unix_ms": 1767225600000, "interval_ms": 10, "callback_us": 5},
  "requests": 2,
  "expect": {
    "client_response": {"status": 403, "local_reply": true, "headers": {"x-blocked": true, "x-no": null}},
    "logs": [{"matches": "blocked", "level": "info"}],
    "callouts": [{"kind": "http", "cluster": "auth"}],
    "metrics": {"hits": 1},
    "error": "trap.*"
  }
}"#;

/// The same kind of scenario as YAML, with anchors and block scalars.
const RICH_YAML: &str = r#"# a scenario
name: &n Block swagger
description: *n
settings:
  config: |
    block_urls:
      - swagger.html
  log_level: warning
  limits: {fuel_per_callback: 1000000}
request:
  method: POST
  headers:
    x-a: "1"
    x-b: two
  body: {base64: /wAB}
properties:
  a.b: true
  n: 5
mocks:
  http:
    - cluster: auth
      response: {status: 503, body: no}
expect:
  client_response: {status: 200, headers: {x-a: "1"}}
"#;

/// Snippets that stress a JSON or YAML parser and the scenario's types.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "-1",
    "1e999",
    "-0",
    "18446744073709551616",
    "99999999999999999999999",
    "0.5",
    "\\u0000",
    "\\ud800",
    "\u{0}",
    "&a ",
    "*a",
    "!!binary ",
    "<<: *a",
    "---\n",
    "...\n",
    "? ",
    "- ",
    "|\n",
    ">-\n",
    "\t",
    "\n  ",
    "#",
    "'",
    "%YAML 1.2\n",
    "!!str ",
    "\u{feff}",
    "\"version\": 2",
    "\"requests\": 4294967296",
    "\"base64\": \"***\"",
    "\"$schema\": 1",
];

/// An edit of a text.
#[derive(Debug, Clone)]
enum TextEdit {
    Bytes(Mutation),
    Token(Index, usize),
}

fn text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        2 => mutation().prop_map(TextEdit::Bytes),
        3 => (any::<Index>(), 0..TOKENS.len()).prop_map(|(i, t)| TextEdit::Token(i, t)),
    ]
}

fn edit_text(text: &str, edits: &[TextEdit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        match e {
            TextEdit::Bytes(m) => apply(&mut bytes, m),
            TextEdit::Token(i, t) => {
                let at = i.index(bytes.len() + 1);
                bytes.splice(at..at, TOKENS[*t].bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A scenario that parsed must survive a JSON round trip unchanged.
fn parsed_round_trips(text: &str) -> Result<(), TestCaseError> {
    if let Ok(s) = Scenario::parse(text) {
        let again = Scenario::parse(&s.to_json_pretty())
            .map_err(|e| TestCaseError::fail(format!("re-reading our own JSON: {e}")))?;
        prop_assert_eq!(again, s);
    }
    Ok(())
}

fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9 /._:-]{0,12}",
        "\\PC{0,8}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("{\"a\": 1}".to_string()),
    ]
    .boxed()
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        short_text().prop_map(Body::Text),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|b| Body::Base64 {
            base64: base64::engine::general_purpose::STANDARD.encode(b)
        }),
    ]
}

fn headers() -> impl Strategy<Value = Headers> {
    prop::collection::vec((short_text(), short_text()), 0..4).prop_map(Headers)
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        short_text().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        prop::collection::btree_map(short_text(), any::<i64>(), 0..3)
            .prop_map(|m| serde_json::json!(m)),
    ]
}

fn property_value() -> impl Strategy<Value = PropertyValue> {
    prop_oneof![
        any::<bool>().prop_map(PropertyValue::Bool),
        any::<i64>().prop_map(PropertyValue::Int),
        short_text().prop_map(PropertyValue::Text),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| PropertyValue::Bytes {
            base64: base64::engine::general_purpose::STANDARD.encode(b)
        }),
    ]
}

/// A plugin reference, with the plugin bytes the link must carry.
fn plugin() -> impl Strategy<Value = (Option<PluginRef>, Option<Vec<u8>>)> {
    prop_oneof![
        Just((None, None)),
        short_text().prop_map(|n| (
            Some(share::plugin_ref(b"", PluginOrigin::Example(&n))),
            None
        )),
        short_text().prop_map(|u| (Some(share::plugin_ref(b"x", PluginOrigin::Url(&u))), None)),
        (short_text(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(name, bytes)| (
            Some(share::plugin_ref(&bytes, PluginOrigin::File(&name))),
            Some(bytes)
        )),
    ]
}

prop_compose! {
    /// A scenario with a few varied fields in every part of the format.
    fn scenario_strategy()(
        (name, description, schema) in (short_text(), short_text(), prop::option::of(short_text())),
        plugin in plugin(),
        (method, path, req_headers, req_body, chunks) in (
            short_text(), short_text(), headers(), prop::option::of(body()),
            prop::collection::vec(body(), 0..3),
        ),
        (status, resp_headers, trailers) in (any::<u16>(), headers(), headers()),
        (config, vm_config, env) in (
            json_value(), json_value(),
            prop::collection::btree_map(short_text(), short_text(), 0..3),
        ),
        (log_level, profile, seed, strict) in (
            0u32..6, 0u8..3, any::<u64>(), any::<bool>(),
        ),
        (fuel, pages, hostcalls) in (any::<u64>(), any::<u32>(), any::<u32>()),
        properties in prop::collection::btree_map(short_text(), property_value(), 0..3),
        (clock, requests) in (
            (any::<u64>(), any::<u64>(), any::<u64>()),
            0..=pwp_host::scenario::MAX_REQUESTS,
        ),
    ) -> (Scenario, Option<Vec<u8>>) {
        let defaults = Scenario::default();
        let s = Scenario {
            schema,
            name,
            description,
            plugin: plugin.0,
            settings: Settings {
                config,
                vm_config,
                env,
                log_level: LogLevel::from_abi(log_level).unwrap_or_default(),
                profile: [Profile::Auto, Profile::Envoy, Profile::Higress][profile as usize],
                seed,
                strict,
                limits: Limits {
                    fuel_per_callback: fuel,
                    memory_pages: pages,
                    max_hostcalls_per_callback: hostcalls,
                    ..Limits::default()
                },
                ..defaults.settings.clone()
            },
            request: Request {
                method,
                path,
                headers: req_headers,
                body: req_body,
                chunks,
                ..Request::default()
            },
            response: pwp_host::scenario::Response {
                status,
                headers: resp_headers,
                trailers,
                ..Default::default()
            },
            properties,
            clock: Clock {
                start_unix_ms: clock.0,
                interval_ms: clock.1,
                callback_us: clock.2,
            },
            requests,
            ..defaults
        };
        (s, plugin.1)
    }
}

/// A share link edited: cut, a character changed, whitespace added, a character removed.
#[derive(Debug, Clone)]
enum LinkEdit {
    Cut(Index),
    Replace(Index, char),
    FlipBit(Index, u8),
    Whitespace(Index),
    Remove(Index),
}

fn link_edit() -> impl Strategy<Value = LinkEdit> {
    prop_oneof![
        any::<Index>().prop_map(LinkEdit::Cut),
        (any::<Index>(), any::<char>()).prop_map(|(i, c)| LinkEdit::Replace(i, c)),
        (any::<Index>(), 0u8..7).prop_map(|(i, b)| LinkEdit::FlipBit(i, b)),
        any::<Index>().prop_map(LinkEdit::Whitespace),
        any::<Index>().prop_map(LinkEdit::Remove),
    ]
}

/// Links are ASCII, so edits work on characters.
fn edit_link(link: &str, e: &LinkEdit) -> String {
    let mut chars: Vec<char> = link.chars().collect();
    let n = chars.len();
    match e {
        LinkEdit::Cut(i) => chars.truncate(i.index(n)),
        LinkEdit::Replace(i, c) => chars[i.index(n)] = *c,
        LinkEdit::FlipBit(i, b) => {
            let at = i.index(n);
            chars[at] = char::from((chars[at] as u8) ^ (1 << b));
        }
        LinkEdit::Whitespace(i) => chars.insert(i.index(n + 1), '\n'),
        LinkEdit::Remove(i) => {
            chars.remove(i.index(n));
        }
    }
    chars.into_iter().collect()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_text_is_a_scenario_or_an_error(text in any::<String>()) {
        parsed_round_trips(&text)?;
    }

    #[test]
    fn text_made_of_json_and_yaml_syntax_is_a_scenario_or_an_error(
        parts in prop::collection::vec(0..TOKENS.len(), 0..24),
    ) {
        let text: String = parts.iter().map(|i| TOKENS[*i]).collect();
        parsed_round_trips(&text)?;
    }

    #[test]
    fn mutated_json_scenarios_are_a_scenario_or_an_error(
        edits in prop::collection::vec(text_edit(), 1..5),
    ) {
        parsed_round_trips(&edit_text(RICH_JSON, &edits))?;
    }

    #[test]
    fn mutated_yaml_scenarios_are_a_scenario_or_an_error(
        edits in prop::collection::vec(text_edit(), 1..5),
    ) {
        parsed_round_trips(&edit_text(RICH_YAML, &edits))?;
    }

    #[test]
    fn arbitrary_text_is_a_share_link_or_a_share_error(text in any::<String>()) {
        let _ = share::decode(&text);
        let _ = share::decode(&format!("#s={text}"));
    }

    #[test]
    fn arbitrary_payloads_are_a_share_link_or_a_share_error(
        kind in prop_oneof![Just('z'), Just('j'), any::<char>()],
        payload in "[A-Za-z0-9_=-]{0,120}",
    ) {
        let _ = share::decode(&format!("#s={kind}{payload}"));
    }

    #[test]
    fn mutated_payloads_inside_well_formed_links_are_a_scenario_or_a_share_error(
        edits in prop::collection::vec(text_edit(), 1..5),
        deflate in any::<bool>(),
    ) {
        let json = format!(r#"{{"v": 1, "scenario": {RICH_JSON}}}"#);
        let json = edit_text(&json, &edits);
        let link = if deflate {
            format!("#s=z{}", b64url(&miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 6)))
        } else {
            format!("#s=j{}", b64url(json.as_bytes()))
        };
        match share::decode(&link) {
            Ok(d) => prop_assert_eq!(d.version, 1),
            Err(ShareError::NotAShareLink) => prop_assert!(false, "a link with #s= is a share link"),
            Err(_) => {}
        }
    }

    #[test]
    fn generated_scenarios_round_trip_through_share_links_and_json(
        (scenario, inline) in scenario_strategy(),
    ) {
        let link = share::encode(&scenario);
        let d = share::decode(&link).map_err(|e| TestCaseError::fail(format!("{e}: {link}")))?;
        prop_assert_eq!(&d.scenario, &scenario);
        prop_assert_eq!(d.version, share::SHARE_VERSION);
        prop_assert_eq!(d.plugin, inline);
        let again = Scenario::parse(&scenario.to_json_pretty())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again, scenario);
    }

    #[test]
    fn truncated_and_edited_share_links_are_a_scenario_or_a_share_error(
        (scenario, _) in scenario_strategy(),
        edit in link_edit(),
    ) {
        let link = share::encode(&scenario);
        let edited = edit_link(&link, &edit);
        let result = share::decode(&edited);
        if let LinkEdit::Cut(_) = edit {
            // A link cut short never opens, and says so.
            match result {
                Ok(_) => prop_assert!(edited == link, "a cut link opened: {edited}"),
                Err(ShareError::Corrupted(_) | ShareError::NotAShareLink) => {}
                Err(e) => prop_assert!(false, "a cut link is {e:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Scenario values the driver must survive: extreme clocks, limits and settings.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn any_generated_scenario_runs_a_plugin_to_a_report(
        (mut scenario, _) in scenario_strategy(),
        requests in 1u32..4,
        fuel in prop_oneof![Just(0u64), 1u64..100_000, Just(5_000_000u64)],
        pages in 0u32..40,
    ) {
        // The scenario's text fields and numbers as generated; the work bounded.
        scenario.requests = requests;
        scenario.settings.limits.fuel_per_callback = fuel;
        scenario.settings.limits.memory_pages = pages;
        scenario.settings.limits.max_hostcalls_per_callback %= 5000;
        for bytes in [fixture("basic"), fixture("hostile_end_of_memory")] {
            match Session::new(&bytes, scenario.clone()) {
                Ok(mut s) => check_report(&s.run_to_end(), &scenario.settings.limits)?,
                Err(SessionError::Refused(_) | SessionError::Instantiate(_)) => {}
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions and hand-picked hostile inputs.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_yaml_alias_bomb_is_refused_quickly() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (prev, next) in ('a'..'p').zip('b'..='p') {
        text.push_str(&format!(
            "{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    let started = std::time::Instant::now();
    assert!(Scenario::parse(&text).is_err());
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

#[test]
fn deeply_nested_documents_are_refused_quickly_without_overflowing_the_stack() {
    // Regression: 100 000 levels of YAML flow nesting kept the YAML scanner busy for minutes
    // (it is quadratic in the depth) before serde's recursion limit could refuse them.
    let started = std::time::Instant::now();
    for text in [
        "[".repeat(100_000),
        format!("settings:\n  config: {}", "{a: ".repeat(100_000)),
        format!("settings:\n  config: {}", "[".repeat(100_000)),
        format!("{{\"settings\": {{\"config\": {}}}}}", "[".repeat(100_000)),
        "- ".repeat(50_000),
    ] {
        assert!(Scenario::parse(&text).is_err());
    }
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    let deep = format!(
        r#"{{"v":1,"scenario":{{"settings":{{"config":{}}}}}}}"#,
        "[".repeat(100_000)
    );
    let link = format!(
        "#s=z{}",
        b64url(&miniz_oxide::deflate::compress_to_vec(deep.as_bytes(), 6))
    );
    assert!(matches!(
        share::decode(&link),
        Err(ShareError::Corrupted(_))
    ));
}

#[test]
fn a_deflate_bomb_in_a_share_link_is_refused() {
    let json = format!(
        r#"{{"v":1,"scenario":{{"name":"{}"}}}}"#,
        "a".repeat(40 << 20)
    );
    let link = format!(
        "#s=z{}",
        b64url(&miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9))
    );
    assert!(link.len() < 200_000, "{}", link.len());
    assert!(
        matches!(share::decode(&link), Err(ShareError::Corrupted(m)) if m.contains("more than"))
    );
}

#[test]
fn scenario_numbers_at_their_limits_run_to_a_report() {
    let json = r#"{
        "requests": 3,
        "clock": {"start_unix_ms": 18446744073709551615, "interval_ms": 18446744073709551615,
                  "callback_us": 18446744073709551615},
        "settings": {"limits": {"memory_pages": 4294967295, "fuel_per_callback": 18446744073709551615,
                                "max_body_bytes": 18446744073709551615,
                                "max_hostcalls_per_callback": 4294967295,
                                "max_log_lines": 4294967295}, "seed": 18446744073709551615},
        "response": {"status": 65535}
    }"#;
    let r = run(&fixture("basic"), Scenario::parse(json).unwrap()).unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.requests.len(), 3);
}

#[test]
fn an_environment_with_many_variables_and_pointers_at_the_end_answers_fault() {
    let mut env = BTreeMap::new();
    for i in 0..50 {
        env.insert(format!("K{i}"), "v".repeat(100));
    }
    let mut scenario = quick();
    scenario.settings.env = env;
    let spec = SPECS.iter().find(|s| s.name == "environ_get").unwrap();
    for (ptrs, buf) in [
        (MEMORY_END - 8, DATA),
        (DATA, MEMORY_END - 300),
        (u32::MAX - 3, 0),
    ] {
        let calls = [(spec, vec![i64::from(ptrs), i64::from(buf)])];
        let wat = plugin_wat(&calls, Phase::RequestHeaders, false, Alloc::Bump);
        let r = run(&wat::parse_str(&wat).unwrap(), scenario.clone()).unwrap();
        assert!(r.error.is_none(), "{:?}", r.error);
        let h = r
            .callbacks
            .iter()
            .flat_map(|c| &c.hostcalls)
            .find(|h| h.name == "environ_get")
            .unwrap();
        assert_eq!(h.ret, Some(21), "{h:?}");
    }
}
