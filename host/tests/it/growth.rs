//! The replay's memory verdict (`pwp_model::growth`) on real runs: the go-headers example
//! is flat over the second half of 500 requests, and a fixture that allocates on each request
//! and never frees is called a leak, at the rate it leaks.
//!
//! (go-headers' Go heap grows 8 pages every ~450 requests from request ~500 to ~3,400, then
//! stays: replays of 1,000–5,000 requests see that growth to their end, and say so. The
//! model's tests cover that shape; 500 requests keep this test quick.)

use pwp_host::{Report, Scenario, run};
use pwp_model::growth::{LEAK_BYTES_PER_1000, Verdict, memory_growth};

use crate::{fixture, scenario};

fn example(name: &str) -> (Vec<u8>, Scenario) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public/examples");
    let bytes = std::fs::read(dir.join(format!("{name}.wasm")))
        .expect("the example plugin (bash examples/build.sh)");
    let text =
        std::fs::read_to_string(dir.join(format!("{name}.scenario.json"))).expect("scenario");
    (bytes, Scenario::parse(&text).expect("valid scenario"))
}

fn pages(r: &Report) -> Vec<u32> {
    r.requests.iter().map(|q| q.memory_pages).collect()
}

#[test]
fn go_headers_replayed_500_times_is_flat_after_warm_up() {
    let (bytes, mut s) = example("go-headers");
    s.requests = 500;
    let r = run(&bytes, s).expect("session starts");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.requests.len(), 500);
    let g = memory_growth(&pages(&r));
    assert_eq!(g.verdict, Verdict::Flat, "{g:?}");
    assert!(g.bytes_per_1000 < LEAK_BYTES_PER_1000, "{g:?}");
    assert!(
        g.describe().starts_with("flat after warm-up"),
        "{}",
        g.describe()
    );
}

#[test]
fn a_plugin_that_never_frees_2_kib_per_request_is_a_leak_of_2_mib_per_1000() {
    let bytes = fixture("leak_per_request");
    let mut s = scenario("{}");
    s.requests = 400;
    let r = run(&bytes, s).expect("session starts");
    assert!(r.error.is_none(), "{:?}", r.error);
    let p = pages(&r);
    assert!(p.last() > p.first(), "memory grew: {p:?}");
    let g = memory_growth(&p);
    assert_eq!(g.verdict, Verdict::Leak, "{g:?}");
    // 2 KiB x 1,000 = 2,000 KiB, seen in whole pages.
    let kib = g.bytes_per_1000 / 1024.0;
    assert!(
        (1900.0..2100.0).contains(&kib),
        "{kib} KiB per 1,000 requests"
    );
    assert!(g.describe().ends_with("likely a leak"), "{}", g.describe());
}
