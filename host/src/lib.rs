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
//! The modules form layers, lowest first (a test in `tests/it/layers.rs` keeps them free of
//! cycles): the data (`abi`, `scenario`, `trace`, `outcome`, `report`, `share`, `export`),
//! `state` (what a run can observe), `ctx` and `interrupt` (what wasmi carries for the host),
//! `memory` and `properties`, `hostcalls`, `inspect`, `plugin` and `vm`, `driver`, `session`.
//! Only the data modules are public; the rest is reached through the re-exports below.

pub mod abi;
mod ctx;
mod driver;
pub mod export;
mod hostcalls;
mod inspect;
mod interrupt;
mod memory;
mod names;
pub mod outcome;
mod pairs;
mod plugin;
mod properties;
pub mod report;
pub mod scenario;
mod session;
pub mod share;
mod state;
pub mod trace;
mod vm;

pub use driver::{CalloutAnswer, Control, Pause};
pub use hostcalls::{Ns, SPECS, Spec};
pub use inspect::{
    ImportInfo, ImportStatus, LoadError, PluginInfo, inspect, inspect_hashed, sha256_hex,
};
pub use pairs::encode as encode_pairs;
pub use plugin::Plugin;
pub use report::Report;
pub use scenario::Scenario;
pub use session::{Breakpoints, Session, SessionError, Step, StepUntil, run};
pub use state::{HttpStream, Resolved, World, from_pairs};
pub use trace::{Failure, Trace};
