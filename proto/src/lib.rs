//! The messages between the playground's page and its engine worker.
//!
//! The page (UI, scenario and report types) never runs plugin code: a dedicated Web Worker
//! holds the host and the interpreter and runs sessions. They talk in two typed messages,
//! [`ToWorker`] and [`FromWorker`], each sent as JSON in a versioned [`Envelope`]:
//!
//! ```text
//!  page                                          worker (pwp-host + wasmi)
//!   | Inspect { id, browser_pages } + file ----->  reads and hashes it; imports, exports, ABI,
//!   |                                              toolchain; compiles for the browser at once
//!   | <------------------------------------------  Inspected { id, info }
//!   | Load { plugins, browser_pages } + bytes -->  keeps by sha256; compiles when idle:
//!   |                                              the browser's engine first, then wasmi
//!   | <------------------------------------------  Loaded { sha256, error }
//!   | Start { run, plugins, scenario } --------->  a new Session (or Refused)
//!   | Step { run, until, breakpoints } --------->  fuel slices; between them it reads messages
//!   | <------------------------------------------  Progress { run, snapshot }   (repeatedly)
//!   | <------------------------------------------  Stopped { run, how, snapshot }
//!   | Cancel { run } --------------------------->  Stopped { how: Cancelled } at the next slice
//!   | AnswerCallout / Inject / UpdateMocks ----->  changes the paused session
//!   | Detail { run, callback } ----------------->  (a summarised run: what one callback did)
//!   | <------------------------------------------  Detail { run, callback, detail }
//! ```
//!
//! A module's bytes are not JSON: they travel beside the message (the page posts
//! `[json, bytes...]`), in the order [`ToWorker::Load`] names them, or the one module of
//! [`ToWorker::Inspect`] (there a `File` too: the worker reads what the user chose). The page holds no WebAssembly parser: what a module is (the import
//! report, whether the proxy would load it) comes from the worker.
//!
//! Reports grow with the run (a 10,000-request replay has tens of thousands of callbacks), so
//! a [`Snapshot`] carries a [`ReportDelta`]: only what changed since the snapshot before. A
//! step the page asks to summarise (a run of many requests) sends less still: the callbacks
//! without their host calls, the newest log lines, the requests without their messages (see
//! [`Summary`]); the page asks for one callback's host calls and logs when it shows them.

mod summary;

pub use summary::{
    CallbackDetail, CallbackRow, LOG_TAIL, RunLists, Summary, SummaryWriter, apply_summary,
};

use pwp_model::info::{LoadError, PluginInfo};
use pwp_model::report::Report;
use pwp_model::run::{Breakpoints, CalloutAnswer, Pause, Refusal, StepUntil};
use pwp_model::scenario::{Event, Mocks, Scenario};
use pwp_model::stream::{HttpStream, TcpConnection};
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The protocol's version: a page and a worker of different builds refuse each other's
/// messages with [`ProtoError::Version`] rather than misreading them.
pub const VERSION: u32 = 4;

/// A message with the protocol version it was written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// [`VERSION`] of the sender.
    pub v: u32,
    /// The message.
    pub m: T,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The other side speaks another version of the protocol (a stale cached worker).
    #[error(
        "the engine worker speaks protocol version {got}, the page version {want}: reload the page"
    )]
    Version {
        /// The version in the message.
        got: u32,
        /// [`VERSION`].
        want: u32,
    },
    /// Not a message of this protocol.
    #[error("malformed engine message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// The text of `message` in an envelope of the current version.
pub fn encode<T: Serialize>(message: &T) -> String {
    // Every message type serializes: its fields are plain data without maps keyed by non-strings.
    serde_json::to_string(&Envelope {
        v: VERSION,
        m: message,
    })
    .expect("protocol messages serialize")
}

/// Reads a message written by [`encode`], in one pass over the text: the version comes first
/// (as [`encode`] writes it), and the message is read straight into `T` once the version is
/// known. A replay's progress is a megabyte of JSON; reading it twice, or into a buffer first,
/// would double the page's work.
///
/// # Errors
///
/// [`ProtoError::Version`] when the envelope has another version (checked before the message
/// is read, so a changed message shape still reports the version), else
/// [`ProtoError::Malformed`] (an envelope whose version does not come first is one).
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ProtoError> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = serde::Deserializer::deserialize_map(&mut reader, EnvelopeVisitor(PhantomData))?;
    reader.end()?;
    match read {
        Read::Message(m) => Ok(m),
        Read::OtherVersion(got) => Err(ProtoError::Version { got, want: VERSION }),
    }
}

/// What [`EnvelopeVisitor`] read.
enum Read<T> {
    Message(T),
    /// An envelope of another version (its message left unread).
    OtherVersion(u32),
}

/// Reads an envelope: `v` first, then `m` as `T` if `v` is [`VERSION`].
struct EnvelopeVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for EnvelopeVisitor<T> {
    type Value = Read<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an envelope {\"v\": version, \"m\": message}, version first")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Read<T>, A::Error> {
        use serde::de::{Error, IgnoredAny};
        if map.next_key::<std::borrow::Cow<'de, str>>()?.as_deref() != Some("v") {
            return Err(A::Error::custom(
                "an envelope starts with its version, \"v\"",
            ));
        }
        let v: u32 = map.next_value()?;
        if v != VERSION {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Read::OtherVersion(v));
        }
        let mut message = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "m" && message.is_none() {
                message = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        message
            .map(Read::Message)
            .ok_or_else(|| A::Error::missing_field("m"))
    }
}

/// Identifies a session: the page numbers its runs, and ignores messages about older ones.
pub type RunId = u64;

/// What the page asks of the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ToWorker {
    /// Keep these modules (by sha256) and compile them while the worker has nothing else to
    /// do; their bytes follow the message, in this order. Answered by one
    /// [`FromWorker::Loaded`] each, once wasmi compiled it.
    Load {
        /// The sha256 (lower-case hex) of each module.
        plugins: Vec<String>,
        /// The memory limit (pages) of the next run on the browser's engine: the worker
        /// compiles the modules for it first, so that a Run does not wait for that. `None`
        /// when the next run will be on the interpreter.
        #[serde(default)]
        browser_pages: Option<u32>,
    },
    /// Say what the module whose bytes follow is (what `pwp_host::inspect` finds): answered by
    /// one [`FromWorker::Inspected`] with the same `id`. The worker keeps a module it could
    /// read, so that a [`ToWorker::Load`] of it does not read it again.
    Inspect {
        /// The page's number for this request.
        id: u64,
        /// The module's sha256 (lower-case hex) if the page computed it; `None` for a file
        /// the page hands over unread: the worker reads and hashes it, and the answer's
        /// [`PluginInfo::sha256`] names it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// Compile the module for the browser's engine with this memory limit (pages) as
        /// soon as it is read: a run on it is next (a file chosen with "Run on upload"), and
        /// compiling need not wait for the page's [`ToWorker::Load`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        browser_pages: Option<u32>,
    },
    /// Start a session of `plugins` (the first, then the chain's further filters, all loaded
    /// before), forgetting any other. Answered by [`FromWorker::Refused`] if it cannot start;
    /// otherwise the session waits for [`ToWorker::Step`].
    Start {
        /// The new run.
        run: RunId,
        /// The sha256 of each filter's module, in chain order.
        plugins: Vec<String>,
        /// The scenario.
        scenario: Box<Scenario>,
        /// The engine to run it on.
        #[serde(default)]
        engine: EngineChoice,
    },
    /// Run until `until`, a breakpoint, the end, or a [`ToWorker::Cancel`]. Answered by
    /// [`FromWorker::Progress`] while it runs and one [`FromWorker::Stopped`].
    Step {
        /// The run.
        run: RunId,
        /// How far.
        until: StepUntil,
        /// Where to stop.
        breakpoints: Breakpoints,
        /// Summarise the run's snapshots (a run of many requests): see [`Summary`]. Once
        /// asked, the rest of the session is summarised.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        summaries: bool,
    },
    /// Stop the run at its next fuel slice, keeping what ran.
    Cancel {
        /// The run.
        run: RunId,
    },
    /// Answer the callout the run is paused on (the page steps on afterwards).
    AnswerCallout {
        /// The run.
        run: RunId,
        /// The callout's token.
        token: u32,
        /// The answer.
        answer: CalloutAnswer,
    },
    /// Add an event (tick, clock advance) where the run is paused.
    Inject {
        /// The run.
        run: RunId,
        /// The event.
        event: Event,
    },
    /// Replace the mocks of the paused run. Answered by [`FromWorker::MocksUpdated`].
    UpdateMocks {
        /// The run.
        run: RunId,
        /// The new mocks.
        mocks: Box<Mocks>,
    },
    /// What callback `callback` of a summarised run did: answered by one
    /// [`FromWorker::Detail`].
    Detail {
        /// The run.
        run: RunId,
        /// The callback's index.
        callback: usize,
    },
    /// Forget the session (the inputs changed).
    Forget,
    /// Run the built-in warm-up plugin if no session has run yet (answered by
    /// [`FromWorker::Warm`]).
    WarmUp,
}

/// Which engine runs a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineChoice {
    /// wasmi, the interpreter: pauses anywhere (stepping into host calls, breakpoints on
    /// host calls, concurrent workers), meters fuel, and stops a loop by fuel.
    #[default]
    Interpreter,
    /// The browser's own `WebAssembly`, at native speed: pauses only between callbacks, and a
    /// loop is stopped by the page's deadline. A scenario with concurrent workers runs on the
    /// interpreter anyway.
    Browser,
}

/// How a [`ToWorker::Step`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Paused (where: [`Snapshot::paused`]).
    Paused,
    /// The run is over.
    Finished,
    /// A [`ToWorker::Cancel`] stopped it.
    Cancelled,
}

/// What the worker tells the page: `{"kind": fields}`, or `"kind"` alone. The page reads the
/// fields straight into their variant (an internally tagged enum would first buffer a whole
/// progress message to find its kind, and carry the code to read every message from that
/// buffer as well).
///
/// (Not `PartialEq`: the host's stream and connection types are not; tests compare the JSON.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's module is running and reads messages.
    Ready,
    /// The warm-up ran (or was skipped because a run came first).
    Warm,
    /// What the module of [`ToWorker::Inspect`] `id` is, or why it is not a usable plugin.
    Inspected {
        /// The request's `id`.
        id: u64,
        /// The inspection.
        info: Result<Box<PluginInfo>, LoadError>,
    },
    /// A module of [`ToWorker::Load`] is compiled, or why it is not.
    Loaded {
        /// Its sha256.
        sha256: String,
        /// wasmi's message when it does not compile.
        error: Option<String>,
    },
    /// The session could not start.
    Refused {
        /// The run.
        run: RunId,
        /// Why.
        message: String,
        /// The proxy's load-time refusal, which "Run anyway" can override.
        refusal: Option<WireRefusal>,
    },
    /// The run goes on; what it did so far.
    Progress {
        /// The run.
        run: RunId,
        /// What the panes show.
        snapshot: Box<Snapshot>,
    },
    /// A step ended.
    Stopped {
        /// The run.
        run: RunId,
        /// How.
        how: Stop,
        /// What the panes show.
        snapshot: Box<Snapshot>,
    },
    /// The mocks were replaced; `answered` when they answered the pending callout.
    MocksUpdated {
        /// The run.
        run: RunId,
        /// Whether a waiting callout got its answer from the new mocks.
        answered: bool,
    },
    /// What a callback of a summarised run did (`None`: the run has no such callback).
    Detail {
        /// The run.
        run: RunId,
        /// The callback's index.
        callback: usize,
        /// Its record, host calls included, and its log lines.
        detail: Option<Box<CallbackDetail>>,
    },
    /// A message the worker could not read (a version mismatch names both versions).
    Error {
        /// Why.
        message: String,
    },
}

/// [`Refusal`] on the wire (its proxy name is a `&'static str` in the host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRefusal {
    /// `Envoy` or `Higress`.
    pub proxy: String,
    /// The reasons.
    pub problems: Vec<String>,
}

impl From<&Refusal> for WireRefusal {
    fn from(r: &Refusal) -> WireRefusal {
        WireRefusal {
            proxy: r.proxy.to_string(),
            problems: r.problems.clone(),
        }
    }
}

impl From<WireRefusal> for Refusal {
    fn from(r: WireRefusal) -> Refusal {
        Refusal {
            proxy: if r.proxy == "Higress" {
                "Higress"
            } else {
                "Envoy"
            },
            problems: r.problems,
        }
    }
}

/// What the run panes show of a session: where it is paused, the report (as a delta), the
/// stream or connection as they are now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Fuel slices run in this step.
    pub slices: u32,
    /// Where the run is paused.
    pub paused: Option<Pause>,
    /// The report, as a change to the one sent before.
    pub report: ReportDelta,
    /// The HTTP stream now (while paused inside a request).
    pub stream: Option<HttpStream>,
    /// The L4 connection now.
    pub connection: Option<TcpConnection>,
    /// The session runs on the browser's engine (else on the interpreter).
    #[serde(default)]
    pub browser_engine: bool,
    /// Set when the report is summarised: it then holds the callbacks without their host
    /// calls and changes, the newest log lines and the requests without their messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
}

/// A report as the change to the previous one of the same run: each of the lists that grow
/// holds only its items from `from[i]` on (the earlier ones are unchanged); the rest is
/// whole. The first delta of a run has every `from` at 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDelta {
    /// Where each list's items start: callbacks, logs, timeline, memory pages, requests.
    pub from: [usize; 5],
    /// The report with those lists cut.
    pub report: Box<Report>,
}

/// The first index where `a` and `b` differ (the shorter length if one is a prefix).
pub(crate) fn common_prefix<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The worker's side of [`ReportDelta`]: remembers the report it sent last.
#[derive(Debug, Default)]
pub struct DeltaWriter {
    sent: Option<Report>,
}

impl DeltaWriter {
    /// The delta from the report sent last to `report` (all of it the first time).
    pub fn delta(&mut self, report: Report) -> ReportDelta {
        let mut from = [0; 5];
        let mut cut = report.clone();
        if let Some(prev) = &self.sent {
            from = [
                common_prefix(&prev.callbacks, &report.callbacks),
                common_prefix(&prev.logs, &report.logs),
                common_prefix(&prev.timeline, &report.timeline),
                common_prefix(&prev.memory_pages, &report.memory_pages),
                common_prefix(&prev.requests, &report.requests),
            ];
            cut.callbacks.drain(..from[0]);
            cut.logs.drain(..from[1]);
            cut.timeline.drain(..from[2]);
            cut.memory_pages.drain(..from[3]);
            cut.requests.drain(..from[4]);
        }
        self.sent = Some(report);
        ReportDelta {
            from,
            report: Box::new(cut),
        }
    }
}

/// The page's side of [`ReportDelta`]: the whole report, from the one before (`None` for a
/// run's first delta). Takes the report before, so that only the delta is copied.
///
/// # Errors
///
/// A delta that starts beyond the report it applies to (a message lost or out of order).
pub fn apply(before: Option<Report>, delta: ReportDelta) -> Result<Report, String> {
    let ReportDelta { from, report } = delta;
    let mut out = *report;
    if from == [0; 5] {
        return Ok(out);
    }
    let Some(mut before) = before else {
        return Err("a report delta arrived without the report it changes".into());
    };
    fn splice<T>(mut head: Vec<T>, from: usize, tail: &mut Vec<T>) -> Result<(), String> {
        if from > head.len() {
            return Err(format!("a report delta starts at {from} of {}", head.len()));
        }
        head.truncate(from);
        head.append(tail);
        *tail = head;
        Ok(())
    }
    splice(
        std::mem::take(&mut before.callbacks),
        from[0],
        &mut out.callbacks,
    )?;
    splice(std::mem::take(&mut before.logs), from[1], &mut out.logs)?;
    splice(
        std::mem::take(&mut before.timeline),
        from[2],
        &mut out.timeline,
    )?;
    splice(
        std::mem::take(&mut before.memory_pages),
        from[3],
        &mut out.memory_pages,
    )?;
    splice(
        std::mem::take(&mut before.requests),
        from[4],
        &mut out.requests,
    )?;
    Ok(out)
}
