//! The playground's data, without a wasm engine: what a run takes in and what it gives back.
//!
//! A [`Scenario`] is the input (versioned, JSON or YAML, with migrations
//! and a JSON Schema); the [`Trace`], the [`outcome`]s of the requests and the
//! [`Report`] are the output; [`info`] says what a plugin is; [`share`] packs a
//! scenario into a link and [`export`] writes deployment files from it; [`run`] says where a
//! run pauses and how far it steps, and [`stream`] is the stream or connection a paused run
//! shows. `pwp-host` runs plugins
//! and produces these; the CLI and the browser app read and write them, and a page without the
//! engine can too.

pub mod abi;
pub mod connection;
pub mod export;
pub mod growth;
pub mod info;
pub mod json;
mod names;
pub mod outcome;
pub mod report;
pub mod run;
pub mod scenario;
pub mod share;
pub mod stream;
pub mod text;
pub mod trace;

pub use info::{ImportInfo, ImportStatus, LoadError, PluginInfo, hex, sha256_hex};
pub use report::Report;
pub use scenario::Scenario;
pub use trace::{Failure, Trace};
