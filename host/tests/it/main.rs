//! Integration tests of the host: WAT fixtures for what examples cannot reach, and the real
//! example plugins built by `examples/build.sh`.

mod chains;
mod concurrency;
mod engines;
mod examples;
mod fixtures;
mod fuzz;
mod growth;
mod hostcalls;
mod hostile;
mod layers;
mod network;
mod redis;
mod repository;
mod shapes;
mod support;
mod timeline;
mod versions;

use pwp_host::Scenario;

/// Compiles a fixture from `tests/fixtures/<name>.wat`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.wat", env!("CARGO_MANIFEST_DIR"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses an inline scenario.
pub fn scenario(json: &str) -> Scenario {
    Scenario::parse(json).expect("valid scenario")
}
