//! The trace: what the plugin did, as typed data that the app, the CLI and golden tests read.

use serde::{Deserialize, Serialize};

use crate::abi::{Action, Errno, Status};
use crate::names::{by_name, names};
use crate::scenario::LogLevel;

/// Everything recorded during a run, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Every callback into the plugin, in call order.
    pub callbacks: Vec<CallbackRecord>,
    /// Every log line (from `proxy_log`, stdout and stderr), in order.
    pub logs: Vec<LogLine>,
    /// Log lines dropped past the limit.
    pub logs_dropped: u64,
    /// The plugin names of a chain's filters, in chain order (empty for a single plugin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// What happened between callbacks on the timeline: clock advances, ticks that found no
    /// period, requests starting and waiting, callout answers arriving late. Only runs with
    /// `events` (or events added while paused) record it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineMark>,
}

/// Something that happened on the timeline just before callback `before` (or at the end, when
/// `before` is the number of callbacks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineMark {
    /// Index of the callback it precedes in [`Trace::callbacks`].
    pub before: usize,
    /// Virtual time since the plugin started, in nanoseconds.
    pub at_ns: u64,
    /// What happened.
    pub event: TimelineEvent,
}

/// What a [`TimelineMark`] records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// The virtual clock moved forward.
    Clock {
        /// By how many nanoseconds.
        by_ns: u64,
    },
    /// A tick was asked for but the plugin set no tick period: Envoy fires nothing.
    NoTick,
    /// A request started, on its own stream context.
    Request {
        /// The request (0-based, in the order they started).
        request: u32,
        /// Its stream's context id.
        context_id: u32,
    },
    /// A request waits: the plugin paused it and nothing answered yet.
    Waiting {
        /// The request.
        request: u32,
        /// Its stream's context id.
        context_id: u32,
    },
    /// A waiting request goes on (a callback resumed it, replied or reset it).
    Resumed {
        /// The request.
        request: u32,
        /// Its stream's context id.
        context_id: u32,
    },
    /// A callout's answer arrived after a delay, or the callout timed out.
    Answer {
        /// The callout's token.
        token: u32,
        /// The delay, in milliseconds after the call.
        after_ms: u64,
        /// The callout's timeout elapsed first.
        timed_out: bool,
    },
    /// Concurrent streams: the run switched to another request (and maybe worker) at a
    /// switch point.
    Switch {
        /// The request that runs now (0-based).
        request: u32,
        /// Its worker (1 is the first).
        worker: u32,
        /// The request that ran until now.
        from_request: u32,
        /// Its worker.
        from_worker: u32,
        /// The host call the request that ran is stopped after, in the middle of a callback;
        /// absent: it stopped before its next callback.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// With `after`: the callback it is in (index in the trace) and the host call's
        /// position in it (0-based).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<(usize, usize)>,
    },
}

impl TimelineEvent {
    /// One line for humans: `clock +1.5 s`, `request 2 starts (context 3)`, ...
    pub fn describe(&self) -> String {
        match self {
            TimelineEvent::Clock { by_ns } => format!("clock +{}", duration(*by_ns)),
            TimelineEvent::NoTick => {
                "tick: the plugin set no tick period, so Envoy fires nothing".into()
            }
            TimelineEvent::Request {
                request,
                context_id,
            } => format!("request {} starts (context {context_id})", request + 1),
            TimelineEvent::Waiting {
                request,
                context_id,
            } => format!("request {} waits (context {context_id})", request + 1),
            TimelineEvent::Resumed {
                request,
                context_id,
            } => format!("request {} goes on (context {context_id})", request + 1),
            TimelineEvent::Answer {
                token,
                after_ms,
                timed_out: false,
            } => format!("callout {token} answered after {after_ms} ms"),
            TimelineEvent::Answer {
                token, after_ms, ..
            } => {
                format!("callout {token} timed out after {after_ms} ms")
            }
            TimelineEvent::Switch {
                request,
                worker,
                from_request,
                from_worker,
                after,
                at,
            } => {
                let at = match (after, at) {
                    (Some(h), Some((cb, n))) => {
                        format!("is after {h} (host call {} of callback #{cb})", n + 1)
                    }
                    (Some(h), None) => format!("is after {h}"),
                    (None, _) => "waits for its next callback".into(),
                };
                format!(
                    "request {} on worker {worker} runs while request {} on worker {from_worker} {at}",
                    request + 1,
                    from_request + 1
                )
            }
        }
    }
}

/// A virtual duration: `250 ms`, `1.5 s`, `2 min`.
pub fn duration(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 1000.0 {
        format!("{} ms", trim(ms))
    } else if ms < 120_000.0 {
        format!("{} s", trim(ms / 1000.0))
    } else {
        format!("{} min", trim(ms / 60_000.0))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// One call from the host into the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackRecord {
    /// Position in [`Trace::callbacks`].
    pub index: usize,
    /// The export called, e.g. `proxy_on_request_headers`.
    pub name: String,
    /// The context the call is for (0 for start functions).
    pub context_id: u32,
    /// The arguments, as passed.
    pub args: Vec<i64>,
    /// Which replayed request this belongs to (`None` during plugin start and ticks between).
    pub request: Option<u32>,
    /// The raw return value, if the export returns one.
    pub ret: Option<i64>,
    /// Envoy's reading of the return value (`Continue`, `StopIteration`, ...), for stream callbacks.
    pub action: Option<Action>,
    /// Host calls made during the callback.
    pub hostcalls: Vec<HostCallRecord>,
    /// Header, body and trailer changes the callback made.
    pub changes: Vec<Change>,
    /// Wall time spent, in microseconds (not part of golden comparisons).
    pub duration_us: f64,
    /// Fuel used (about one per wasm instruction).
    pub fuel: u64,
    /// The failure that ended the callback, if any.
    pub error: Option<Failure>,
    /// Which filter of a chain it belongs to (0 is the scenario's own plugin); absent for a
    /// single plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<u32>,
    /// Which worker's VM ran it (1 is the first), with `concurrency`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<u32>,
}

/// One host function call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostCallRecord {
    /// The import's name, e.g. `proxy_get_header_map_value` or `fd_write`.
    pub name: String,
    /// Raw arguments.
    pub args: Vec<i64>,
    /// Decoded arguments and results, human readable.
    pub detail: String,
    /// The raw return value (status or errno), if any.
    pub ret: Option<i64>,
    /// The status for proxy-wasm functions (`Ok`, `NotFound`, ...) and WASI (`SUCCESS`, ...).
    pub status: Option<CallStatus>,
    /// Set when the import is not implemented by the host (a generated stub answered).
    pub stub: bool,
}

names! {
    /// Kinds of callouts.
    pub enum CalloutKind {
        /// `proxy_http_call`
        Http => "http",
        /// `proxy_grpc_call`
        Grpc => "grpc",
        /// `proxy_grpc_stream`
        GrpcStream => "grpc_stream",
        /// Higress `proxy_redis_call`
        Redis => "redis",
    }
}

/// How a host call ended, as the trace names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// A proxy-wasm status (`Ok`, `NotFound`, ...).
    Proxy(Status),
    /// A WASI errno (`SUCCESS`, `BADF`, ...).
    Wasi(Errno),
    /// A proxy-wasm status value outside the ABI (`?`).
    UnknownStatus,
    /// An errno value the host does not name (`ERRNO`).
    UnknownErrno,
    /// The call trapped and returned nothing (`trap`).
    Trap,
}

impl CallStatus {
    /// The proxy-wasm status with value `v`.
    pub fn status(v: i32) -> CallStatus {
        Status::from_raw(v).map_or(CallStatus::UnknownStatus, CallStatus::Proxy)
    }

    /// The WASI errno with value `v`.
    pub fn errno(v: i32) -> CallStatus {
        Errno::from_raw(v).map_or(CallStatus::UnknownErrno, CallStatus::Wasi)
    }

    /// The name in the trace.
    pub fn name(self) -> &'static str {
        match self {
            CallStatus::Proxy(s) => s.name(),
            CallStatus::Wasi(e) => e.name(),
            CallStatus::UnknownStatus => "?",
            CallStatus::UnknownErrno => "ERRNO",
            CallStatus::Trap => "trap",
        }
    }

    /// The status named `name` (the names of statuses and errnos do not overlap).
    pub fn from_name(name: &str) -> Option<CallStatus> {
        Some(match name {
            "?" => CallStatus::UnknownStatus,
            "ERRNO" => CallStatus::UnknownErrno,
            "trap" => CallStatus::Trap,
            _ => Status::from_name(name)
                .map(CallStatus::Proxy)
                .or_else(|| Errno::from_name(name).map(CallStatus::Wasi))?,
        })
    }
}

by_name!(CallStatus);

/// A log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Level (stdout is info, stderr is error, as in Envoy).
    pub level: LogLevel,
    /// The text.
    pub message: String,
    /// The callback that wrote it.
    pub callback: Option<String>,
    /// Index of that callback in [`Trace::callbacks`].
    pub callback_index: Option<usize>,
    /// Where it came from.
    pub source: LogSource,
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogSource {
    /// `proxy_log`
    ProxyLog,
    /// `fd_write(1)`
    Stdout,
    /// `fd_write(2)`
    Stderr,
    /// The host itself (notes such as "no mock matched").
    Host,
}

names! {
    /// What a [`Change`] changed.
    pub enum ChangeTarget {
        /// The request's headers.
        RequestHeaders => "request_headers",
        /// The response's headers.
        ResponseHeaders => "response_headers",
        /// The request's trailers.
        RequestTrailers => "request_trailers",
        /// The response's trailers.
        ResponseTrailers => "response_trailers",
        /// The request body.
        RequestBody => "request_body",
        /// The response body.
        ResponseBody => "response_body",
        /// The connection's data from the client (L4).
        DownstreamData => "downstream_data",
        /// The connection's data from the upstream (L4).
        UpstreamData => "upstream_data",
    }
}

names! {
    /// How a [`Change`] changed its header or body.
    pub enum ChangeOp {
        /// The header was not there before.
        Added => "added",
        /// The header is gone.
        Removed => "removed",
        /// The header's values or the body differ.
        Changed => "changed",
    }
}

/// A change a callback made to a header map, body or trailers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The map or body.
    pub target: ChangeTarget,
    /// Added, removed or changed.
    pub op: ChangeOp,
    /// The header name (empty for bodies).
    pub name: String,
    /// The value before (headers) or a summary of the old body.
    pub old: Option<String>,
    /// The value after.
    pub new: Option<String>,
}

names! {
    /// What kind of failure a [`Failure`] is.
    pub enum FailureKind {
        /// The plugin trapped (a panic, `unreachable`, a bad memory access, a stack overflow).
        Trap => "trap",
        /// The plugin used up its fuel for one callback.
        OutOfFuel => "out_of_fuel",
        /// The plugin tried to grow its memory past `limits.memory_pages`.
        MemoryLimit => "memory_limit",
        /// The plugin made the host keep more than `limits.max_host_bytes`.
        HostMemoryLimit => "host_memory_limit",
        /// A start function (`_initialize`, `main`, `_start`) trapped.
        StartFailed => "start_failed",
        /// Root context creation or `proxy_on_configure` failed, or configure returned false.
        ConfigureFailed => "configure_failed",
        /// `proxy_on_vm_start` returned false.
        VmStartFailed => "vm_start_failed",
        /// Too many host calls in one callback.
        HostcallLimit => "hostcall_limit",
        /// A host call Envoy refuses at that moment (strict mode), or endless allocator nesting.
        RestrictedCallback => "restricted_callback",
        /// Linking or instantiation failed.
        Load => "load",
    }
}

/// Why a callback, the plugin start or the whole run failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// What happened, in words.
    pub message: String,
    /// The callback it happened in.
    pub callback: Option<String>,
    /// What is known of where: the callback, the last host calls, and the plugin's own report.
    pub backtrace: Vec<String>,
    /// The plugin's panic text, collected from its stderr, stdout or critical logs.
    pub panic: Option<String>,
    /// The wasm stack where a trap happened, innermost frame first, with function names from
    /// the module's name section. Only the browser's engine reports one: the interpreter does
    /// not walk the guest's stack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wasm_backtrace: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(cb) = &self.callback {
            write!(f, " (in {cb})")?;
        }
        Ok(())
    }
}

impl Trace {
    /// Renders the trace as text, one line per callback and indented host calls and logs;
    /// stable across runs (no timings), so it serves as a golden file.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut logs = self.logs.iter().peekable();
        let mut marks = self.timeline.iter().peekable();
        for cb in &self.callbacks {
            while let Some(m) = marks.next_if(|m| m.before <= cb.index) {
                out.push_str(&format!("== {}\n", m.event.describe()));
            }
            let args: Vec<String> = cb.args.iter().map(i64::to_string).collect();
            if let Some(f) = cb.filter {
                let name = self.filters.get(f as usize).map_or("?", String::as_str);
                out.push_str(&format!("[{}] ", name));
            }
            if let Some(w) = cb.worker {
                out.push_str(&format!("[worker {w}] "));
            }
            out.push_str(&format!("{}({})", cb.name, args.join(", ")));
            match (&cb.ret, &cb.action) {
                (_, Some(a)) => out.push_str(&format!(" -> {a}")),
                (Some(r), None) => out.push_str(&format!(" -> {r}")),
                _ => {}
            }
            out.push('\n');
            for h in &cb.hostcalls {
                let status = h
                    .status
                    .map(|s| s.name().to_string())
                    .or(h.ret.map(|r| r.to_string()))
                    .unwrap_or_default();
                out.push_str(&format!("  {} {} => {}\n", h.name, h.detail, status));
            }
            for c in &cb.changes {
                out.push_str(&format!(
                    "  ~ {} {} {} {:?} -> {:?}\n",
                    c.target, c.op, c.name, c.old, c.new
                ));
            }
            while let Some(l) = logs.next_if(|l| l.callback_index == Some(cb.index)) {
                out.push_str(&format!("  [{}] {}\n", l.level.as_str(), l.message));
            }
            if let Some(e) = &cb.error {
                out.push_str(&format!("  !! {e}\n"));
            }
        }
        for m in marks {
            out.push_str(&format!("== {}\n", m.event.describe()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each name reads back as its value, in Rust and in JSON.
    fn round_trips<T>(all: &[T], name: fn(&T) -> &'static str, from_name: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + Serialize + for<'de> Deserialize<'de>,
    {
        for v in all {
            assert_eq!(from_name(name(v)), Some(*v));
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{}\"", name(v)));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
        }
    }

    #[test]
    fn closed_sets_serialize_as_their_names() {
        round_trips(FailureKind::ALL, |k| k.name(), FailureKind::from_name);
        round_trips(ChangeTarget::ALL, |k| k.name(), ChangeTarget::from_name);
        round_trips(ChangeOp::ALL, |k| k.name(), ChangeOp::from_name);
        round_trips(CalloutKind::ALL, |k| k.name(), CalloutKind::from_name);
        round_trips(Status::ALL, |k| k.name(), Status::from_name);
        round_trips(Errno::ALL, |k| k.name(), Errno::from_name);
        assert!(serde_json::from_str::<FailureKind>("\"stalled\"").is_err());
    }

    #[test]
    fn host_call_statuses_name_every_value_once() {
        for v in -1..100 {
            for s in [CallStatus::status(v), CallStatus::errno(v)] {
                assert_eq!(CallStatus::from_name(s.name()), Some(s), "{v}");
            }
        }
        assert_eq!(CallStatus::status(5).name(), "BadExpression");
        assert_eq!(CallStatus::status(9).name(), "ResultMismatch");
        assert_eq!(CallStatus::status(13).name(), "?");
        assert_eq!(CallStatus::errno(8).name(), "BADF");
        assert_eq!(CallStatus::errno(1).name(), "ERRNO");
        assert_eq!(
            serde_json::to_string(&CallStatus::Trap).unwrap(),
            "\"trap\""
        );
    }
}
