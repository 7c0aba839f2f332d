//! The benchmark workloads do what they claim: the host reaches the first request after
//! start-up and finishes, and the minimal host runs the same callbacks on every engine.
//! Skipped (with a note) when the examples have not been built.

use std::sync::Arc;

use pwp_bench::mini::{self, Inputs, Plugin};
use pwp_bench::{EXAMPLES, try_example, with_requests};

#[test]
fn host_starts_then_runs_every_request() {
    for name in EXAMPLES {
        let Ok(ex) = try_example(name) else {
            eprintln!("skipped {name}: build the examples with bash examples/build.sh");
            continue;
        };
        let mut s = pwp_bench::started(&ex.bytes, &with_requests(&ex.scenario, 3));
        assert!(
            s.world().outcomes.is_empty(),
            "{name}: paused before any request"
        );
        pwp_bench::finish(&mut s);
        assert!(
            s.world().failure.is_none(),
            "{name}: {:?}",
            s.world().failure
        );
        assert_eq!(s.world().outcomes.len(), 3, "{name}");
    }
}

fn hostcalls_per_request(p: &mut impl Plugin, inputs: &Inputs) -> (u64, u64) {
    mini::start(p, inputs).expect("starts");
    let started = p.hostcalls();
    mini::requests(p, inputs, 2, 2).expect("runs");
    let two = p.hostcalls() - started;
    (started, two / 2)
}

#[test]
fn minimal_host_runs_the_lifecycle() {
    for name in EXAMPLES {
        let Ok(ex) = try_example(name) else {
            eprintln!("skipped {name}: build the examples with bash examples/build.sh");
            continue;
        };
        let inputs = Arc::new(Inputs::new(&ex.bytes, &ex.scenario));
        let engine = pwp_bench::mini_wasmi::engine();
        let module = pwp_bench::compile(&engine, &ex.bytes);
        let mut p = pwp_bench::mini_wasmi::MiniWasmi::new(&engine, &module, inputs.clone());
        let (start, per_request) = hostcalls_per_request(&mut p, &inputs);
        assert!(per_request > 0, "{name}: no host calls per request");
        eprintln!("{name}: wasmi, {start} host calls to start, {per_request} per request");

        #[cfg(feature = "wasmtime")]
        {
            use pwp_bench::mini_wasmtime::{MiniWasmtime, compile, engine};
            let e = engine();
            let m = compile(&e, &ex.bytes);
            let mut p = MiniWasmtime::new(&e, &m, inputs.clone());
            let counts = hostcalls_per_request(&mut p, &inputs);
            assert_eq!(
                counts,
                (start, per_request),
                "{name}: the engines ran different paths"
            );
        }
    }
}
