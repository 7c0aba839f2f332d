//! `cargo bench -p pwp-bench [--features wasmtime] [-- FILTER]`
//!
//! - `host`: pwp-host on wasmi, as the app and `pwp` run plugins.
//! - `mini_wasmi`: a minimal host on wasmi (same engine settings): the engine's share.
//! - `wasmtime` (with `--features wasmtime`): the same minimal host on wasmtime.
//!
//! `requests_1000` replays the example's request 1,000 times in one started VM and times only
//! the requests: divide by 1,000 for one request. `first_request` is the first request of a
//! started VM alone (it includes wasmi's lazy compilation of the request path).

use std::sync::Arc;

use divan::Bencher;
use pwp_bench::{EXAMPLES, example, with_requests};

fn main() {
    divan::main();
}

/// pwp-host on wasmi (what the app and `pwp` do).
mod host {
    use super::*;
    use pwp_bench::{finish, new_session, start, started};

    /// Parse and classify the module (`pwp_host::inspect`, wasmparser), without compiling.
    #[divan::bench(args = EXAMPLES, sample_count = 30)]
    fn inspect(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        b.bench(|| pwp_host::inspect(&ex.bytes).expect("parses"));
    }

    /// `wasmi::Module::new` with the host's configuration (lazy: validate, translate on first
    /// call).
    #[divan::bench(args = EXAMPLES, sample_count = 30)]
    fn compile(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let engine = pwp_bench::host_engine(wasmi::CompilationMode::Lazy);
        b.bench(|| pwp_bench::compile(&engine, &ex.bytes));
    }

    /// The same, translating every function up front (information only; the host is lazy).
    #[divan::bench(args = EXAMPLES, sample_count = 10)]
    fn compile_eager(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let engine = pwp_bench::host_engine(wasmi::CompilationMode::Eager);
        b.bench(|| pwp_bench::compile(&engine, &ex.bytes));
    }

    /// `Session::new`: inspect, compile, link, instantiate (no plugin code runs).
    #[divan::bench(args = EXAMPLES, sample_count = 30)]
    fn session_new(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        b.bench(|| new_session(&ex.bytes, &ex.scenario));
    }

    /// Plugin start on a new session: start functions, root context, vm start, configure, up
    /// to the first request callback.
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn start_up(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        b.with_inputs(|| new_session(&ex.bytes, &ex.scenario))
            .bench_local_values(|mut s| {
                start(&mut s);
                s
            });
    }

    /// The first request of a started VM: every callback of the scenario's request.
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn first_request(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let scenario = with_requests(&ex.scenario, 1);
        b.with_inputs(|| started(&ex.bytes, &scenario))
            .bench_local_values(|mut s| {
                finish(&mut s);
                s
            });
    }

    /// 1,000 replayed requests on a started VM (divide by 1,000 for one).
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn requests_1000(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let scenario = with_requests(&ex.scenario, 1000);
        b.with_inputs(|| started(&ex.bytes, &scenario))
            .bench_local_values(|mut s| {
                finish(&mut s);
                s
            });
    }

    /// `pwp_host::run` of the default scenario (one request), report included: what
    /// `pwp run` does after reading the files.
    #[divan::bench(args = EXAMPLES, sample_count = 20)]
    fn run_1(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let scenario = with_requests(&ex.scenario, 1);
        b.bench(|| pwp_host::run(&ex.bytes, scenario.clone()).expect("runs"));
    }

    /// The same with `requests: 1001`; (run_1001 - run_1) / 1000 is one request.
    #[divan::bench(args = EXAMPLES, sample_count = 10)]
    fn run_1001(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let scenario = with_requests(&ex.scenario, 1001);
        b.bench(|| pwp_host::run(&ex.bytes, scenario.clone()).expect("runs"));
    }
}

/// The minimal host on wasmi, with pwp-host's engine settings (fuel on, lazy compilation).
mod mini_wasmi {
    use super::*;
    use pwp_bench::mini::{self, Inputs};
    use pwp_bench::mini_wasmi::{MiniWasmi, engine};

    fn fresh(bytes: &[u8]) -> (wasmi::Engine, wasmi::Module) {
        let e = engine();
        let m = pwp_bench::compile(&e, bytes);
        (e, m)
    }

    fn started(bytes: &[u8], inputs: &Arc<Inputs>) -> MiniWasmi {
        let (e, m) = fresh(bytes);
        let mut p = MiniWasmi::new(&e, &m, inputs.clone());
        mini::start(&mut p, inputs).expect("starts");
        p
    }

    /// Link, instantiate and start a freshly compiled module (lazy translation included).
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn start_up(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let inputs = Arc::new(Inputs::new(&ex.bytes, &ex.scenario));
        b.with_inputs(|| fresh(&ex.bytes))
            .bench_local_values(|(e, m)| {
                let mut p = MiniWasmi::new(&e, &m, inputs.clone());
                mini::start(&mut p, &inputs).expect("starts");
                (p, e, m)
            });
    }

    /// The first request of a started instance.
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn first_request(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let inputs = Arc::new(Inputs::new(&ex.bytes, &ex.scenario));
        b.with_inputs(|| started(&ex.bytes, &inputs))
            .bench_local_values(|mut p| {
                mini::request(&mut p, &inputs, 2).expect("runs");
                p
            });
    }

    /// 1,000 requests on a started instance (divide by 1,000 for one).
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn requests_1000(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let inputs = Arc::new(Inputs::new(&ex.bytes, &ex.scenario));
        b.with_inputs(|| started(&ex.bytes, &inputs))
            .bench_local_values(|mut p| {
                mini::requests(&mut p, &inputs, 2, 1000).expect("runs");
                p
            });
    }
}

/// The minimal host on wasmtime 48 (Cranelift): the reference engine.
#[cfg(feature = "wasmtime")]
mod wasmtime {
    use super::*;
    use pwp_bench::mini::{self, Inputs};
    use pwp_bench::mini_wasmtime::{MiniWasmtime, compile, engine};

    fn started(
        e: &::wasmtime::Engine,
        m: &::wasmtime::Module,
        inputs: &Arc<Inputs>,
    ) -> MiniWasmtime {
        let mut p = MiniWasmtime::new(e, m, inputs.clone());
        mini::start(&mut p, inputs).expect("starts");
        p
    }

    /// `wasmtime::Module::new`: validation and Cranelift compilation of every function, on
    /// one thread.
    #[divan::bench(args = EXAMPLES, sample_count = 5, sample_size = 1)]
    fn compile_module(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let e = engine();
        b.bench(|| compile(&e, &ex.bytes));
    }

    /// Link, instantiate and start a compiled module.
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn start_up(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let inputs = Arc::new(Inputs::new(&ex.bytes, &ex.scenario));
        let e = engine();
        let m = compile(&e, &ex.bytes);
        b.bench_local(|| started(&e, &m, &inputs));
    }

    /// The first request of a started instance.
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn first_request(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let inputs = Arc::new(Inputs::new(&ex.bytes, &ex.scenario));
        let e = engine();
        let m = compile(&e, &ex.bytes);
        b.with_inputs(|| started(&e, &m, &inputs))
            .bench_local_values(|mut p| {
                mini::request(&mut p, &inputs, 2).expect("runs");
                p
            });
    }

    /// 1,000 requests on a started instance (divide by 1,000 for one).
    #[divan::bench(args = EXAMPLES, sample_count = 30, sample_size = 1)]
    fn requests_1000(b: Bencher<'_, '_>, name: &str) {
        let ex = example(name);
        let inputs = Arc::new(Inputs::new(&ex.bytes, &ex.scenario));
        let e = engine();
        let m = compile(&e, &ex.bytes);
        b.with_inputs(|| started(&e, &m, &inputs))
            .bench_local_values(|mut p| {
                mini::requests(&mut p, &inputs, 2, 1000).expect("runs");
                p
            });
    }
}
