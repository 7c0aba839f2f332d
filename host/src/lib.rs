//! An Envoy-faithful proxy-wasm host on the wasmi interpreter.
//!
//! The same code runs natively (the `pwp` CLI, the tests) and inside the browser app
//! (`wasm32-unknown-unknown`). Nothing here touches the OS: time, randomness and callout
//! answers are inputs, so every run is reproducible.
//!
//! Start with [`Session`]: it loads a plugin ([`inspect`] says what it is), runs a
//! [`Scenario`] through Envoy's sequence of callbacks ([`driver`]), and can be paused before
//! each callback and after each host call. The [`Trace`] records everything, and the
//! [`Report`] checks the scenario's expectations.

pub mod abi;
mod changes;
pub mod driver;
pub mod export;
pub mod hostcalls;
pub mod inspect;
pub mod memory;
mod names;
pub mod pairs;
pub mod plugin;
pub mod properties;
pub mod report;
pub mod scenario;
pub mod session;
pub mod share;
pub mod state;
pub mod trace;
pub mod vm;

pub use driver::{CalloutAnswer, Pause};
pub use inspect::{LoadError, PluginInfo, inspect, inspect_hashed};
pub use plugin::Plugin;
pub use report::Report;
pub use scenario::Scenario;
pub use session::{Breakpoints, Session, SessionError, Step, StepUntil, run};
pub use trace::{Failure, Trace};
