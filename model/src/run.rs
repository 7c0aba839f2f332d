//! Driving a run from outside, without the engine: where a run pauses, how far a step goes,
//! where it stops, how a waiting callout is answered, and whether the emulated proxy would
//! refuse to load the plugin. `pwp-host` runs sessions with these; the page shows and sends
//! them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::info::PluginInfo;
use crate::scenario::{MockResponse, Profile, Scenario};

/// Where a run is paused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pause {
    /// About to call a callback (`Trace::callbacks[index]`, already recorded with its args).
    BeforeCallback {
        /// Index in the trace.
        index: usize,
    },
    /// A host call just returned (the last one of `Trace::callbacks[callback]`).
    HostCall {
        /// Index of the callback in the trace.
        callback: usize,
        /// Index of the host call in that callback.
        hostcall: usize,
    },
    /// A callback failed (trap, limit).
    Failed {
        /// Index of the callback in the trace.
        callback: usize,
    },
    /// A callout waits for an answer (interactive mode, no matching mock).
    Callout {
        /// Its token.
        token: u32,
    },
    /// A fuel slice ended; resume to go on.
    Slice,
    /// Events added while paused (a tick, a clock advance) have run.
    Injected,
}

/// A user's answer to a pending callout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CalloutAnswer {
    /// An HTTP response (also used for gRPC: status in `:status`-less form is not needed).
    Http(MockResponse),
    /// A stream reset / network error.
    Reset,
    /// A Redis RESP reply.
    Redis(String),
    /// A gRPC answer.
    Grpc(GrpcAnswer),
}

/// How a gRPC call or stream is answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GrpcAnswer {
    /// gRPC status (0 = OK).
    pub status: u32,
    /// Status message, read with `proxy_get_status` in `proxy_on_grpc_close`.
    pub status_message: String,
    /// The response message (serialized protobuf).
    pub message: Vec<u8>,
    /// Initial metadata (streams).
    pub initial_metadata: Vec<(String, String)>,
    /// Trailing metadata (streams).
    pub trailing_metadata: Vec<(String, String)>,
}

/// How far a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepUntil {
    /// To the next callback (step over).
    Callback,
    /// To the next host call or callback (step into).
    HostCall,
    /// To the next breakpoint (continue).
    Breakpoint,
    /// To the end, ignoring breakpoints.
    End,
}

/// Where to stop when continuing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakpoints {
    /// Callback export names, e.g. `proxy_on_response_headers`.
    pub callbacks: BTreeSet<String>,
    /// Host function names, e.g. `proxy_http_call`.
    pub hostcalls: BTreeSet<String>,
    /// Stop when a callback fails.
    pub traps: bool,
    /// Stop before the callback with this index in the trace: "Step from here" replays a run
    /// to it (on the interpreter, after a run on the browser's engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_callback: Option<usize>,
}

/// Why the emulated proxy would refuse to load a plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{proxy} would refuse to load this plugin: {}", .problems.join("; "))]
pub struct Refusal {
    /// `Envoy` or `Higress`: the proxy the scenario's profile emulates for this plugin.
    pub proxy: &'static str,
    /// Its reasons ([`PluginInfo::load_problems`], or the Higress ones), never empty.
    pub problems: Vec<String>,
}

/// Whether `s` runs the plugin `info` describes under Higress: its profile says so, or is
/// `auto` and the plugin looks built for Higress ([`PluginInfo::higress_evidence`]).
pub fn emulates_higress(s: &Scenario, info: &PluginInfo) -> bool {
    match s.settings.profile {
        Profile::Higress => true,
        Profile::Envoy => false,
        Profile::Auto => info.higress_evidence.is_some(),
    }
}

/// What the proxy `scenario` emulates for the plugin `info` describes would refuse at load
/// time, whether or not the scenario is `lenient`: under Envoy a callback with a bad
/// signature, an import Envoy lacks or does not give this ABI, a foreign ABI, no allocator;
/// under Higress what Higress refuses (it accepts ABI 0.2.100 and its own host calls).
pub fn load_refusal(info: &PluginInfo, scenario: &Scenario) -> Option<Refusal> {
    if emulates_higress(scenario, info) {
        (!info.higress_would_load).then(|| Refusal {
            proxy: "Higress",
            problems: info.higress_load_problems.clone(),
        })
    } else {
        (!info.envoy_would_load).then(|| Refusal {
            proxy: "Envoy",
            problems: info.load_problems.clone(),
        })
    }
}
