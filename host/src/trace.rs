//! The trace: what the plugin did, as typed data that the app, the CLI and golden tests read.

use serde::{Deserialize, Serialize};

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
    pub action: Option<String>,
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
    /// The status name for proxy-wasm functions (`Ok`, `NotFound`, ...).
    pub status: Option<String>,
    /// Set when the import is not implemented by the host (a generated stub answered).
    pub stub: bool,
}

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

/// A change a callback made to a header map, body or trailers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `request_headers`, `request_body`, `response_headers`, ...
    pub target: String,
    /// `added`, `removed`, `changed`.
    pub op: String,
    /// The header name (empty for bodies).
    pub name: String,
    /// The value before (headers) or a summary of the old body.
    pub old: Option<String>,
    /// The value after.
    pub new: Option<String>,
}

/// Why a callback, the plugin start or the whole run failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// `trap`, `out_of_fuel`, `memory_limit`, `start_failed`, `configure_failed`,
    /// `vm_start_failed`, `hostcall_limit`, `stalled`, `load`.
    pub kind: String,
    /// What happened, in words.
    pub message: String,
    /// The callback it happened in.
    pub callback: Option<String>,
    /// What is known of where: the callback, the last host calls, and the plugin's own report.
    pub backtrace: Vec<String>,
    /// The plugin's panic text, collected from its stderr, stdout or critical logs.
    pub panic: Option<String>,
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
        for cb in &self.callbacks {
            let args: Vec<String> = cb.args.iter().map(i64::to_string).collect();
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
                    .clone()
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
        out
    }
}
