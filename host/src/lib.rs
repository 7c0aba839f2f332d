//! An Envoy-faithful proxy-wasm host on the wasmi interpreter.
//!
//! The same code runs natively (the `pwp` CLI, the tests) and inside the browser app
//! (`wasm32-unknown-unknown`). Nothing here touches the OS: time, randomness and callout
//! answers are inputs, so every run is reproducible.
//!
//! Start with [`Session`]: it loads a plugin ([`inspect()`] says what it is), runs a
//! [`Scenario`] through Envoy's sequence of callbacks, and can be paused before each callback
//! and after each host call. The [`Trace`] records everything, and the [`Report`] checks the
//! scenario's expectations.
//!
//! The data (scenario, trace, report, share links, exports) is the `pwp-model` crate, which
//! has no wasm engine; its modules are re-exported here. This crate's own modules form layers,
//! lowest first (a test in `tests/it/layers.rs` keeps them free of cycles): `pairs` and
//! `interrupt` (the host errors wasmi carries), `state` (what a run can observe), `ctx` (what
//! wasmi keeps for the host functions), `memory` and `properties`, `hostcalls`, `inspect`,
//! `plugin`, `vm`, `driver`, `session`. They are private; the re-exports below are what the
//! CLI, the engine worker, the benchmarks and the tests use. (The page does not link this
//! crate: the types it shows of a run, such as [`Pause`], [`Breakpoints`] and [`HttpStream`],
//! are `pwp-model`'s, re-exported here under their old paths.)

mod ctx;
mod driver;
pub mod foreign;
mod hostcalls;
mod inspect;
mod interrupt;
mod memory;
mod pairs;
mod plugin;
mod prepare;
mod properties;
mod session;
mod shape;
mod state;
mod vm;

pub use pwp_model::{
    abi, connection, export, info, outcome, report, run, scenario, share, stream, trace,
};

pub use driver::{CalloutAnswer, Control, GrpcAnswer, Pause};
pub use hostcalls::{Ns, SPECS, Spec};
pub use info::{ImportInfo, ImportStatus, LoadError, PluginInfo, sha256_hex};
pub use inspect::{inspect, inspect_hashed};
pub use pairs::encode as encode_pairs;
pub use plugin::Plugin;
pub use report::Report;
pub use scenario::Scenario;
pub use session::{
    Breakpoints, Refusal, Session, SessionError, Step, StepUntil, load_refusal, run,
};
pub use state::{Access, HttpStream, Resolved, TcpConnection, World, from_pairs};
pub use trace::{Failure, Trace};
