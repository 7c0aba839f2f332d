//! The scenario: everything one run of a plugin needs, as a versioned document.
//!
//! A scenario is what the app's session edits, what a share link carries and what `pwp run`
//! reads from a file (JSON, or YAML on input). Every field has a default, so `{}` is a useful
//! scenario: `GET /` to `example.com`, answered by a 200 from the upstream.
//!
//! Unknown fields are rejected (`deny_unknown_fields`) so that a typo in a CI scenario is an
//! error naming the field, never a silently ignored expectation.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::abi::Status;

/// The current version of the scenario format.
///
/// Version 2 adds optional fields only (each defaults to what version 1 did); the one change
/// of meaning is the proxy's load check: a plugin the emulated proxy refuses to load is
/// refused unless `settings.lenient` says to run it anyway. Older documents are migrated on
/// load, one version at a time (see [`Scenario::from_value`]).
pub const SCENARIO_VERSION: u32 = 2;

/// One run of a plugin: its settings, the traffic, the mocks and what to expect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Optional pointer to the JSON Schema, for editors.
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Format version: 2, the current one, when absent; version 1 documents are migrated on
    /// load.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = SCENARIO_VERSION)))]
    pub version: u32,
    /// A short title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What the scenario shows.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Which plugin to run; the CLI may also be given one on its command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginRef>,
    /// Plugin and VM settings, and the host's Envoy-version toggles.
    pub settings: Settings,
    /// The downstream request.
    pub request: Request,
    /// The upstream's answer, if the request reaches it.
    pub response: Response,
    /// Property overrides, by dotted path (`xds.route_name`, `source.address`, `my_key`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, PropertyValue>,
    /// Route and upstream cluster the request is matched to (Higress rule matching reads these).
    pub route: Route,
    /// Upstream clusters that exist, for callouts. Clusters named by mocks exist too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    /// Answers to HTTP, gRPC and Redis callouts.
    pub mocks: Mocks,
    /// The virtual clock.
    pub clock: Clock,
    /// How many times the request is replayed in the same VM (at most 100,000). With
    /// `events`, leave it at 1: the events list the requests one by one.
    pub requests: u32,
    /// A timeline of events after the plugin starts, in order: ticks, clock advances and
    /// requests. Empty: `requests` requests, `clock.interval_ms` apart. A request that the
    /// plugin pauses waits while the events after it run (several streams may be in flight);
    /// after the last event the clock runs on until every delayed callout answer due has
    /// arrived, and a request still waiting then ends as stalled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// An L4 connection: when present, the plugin runs as a network filter
    /// (`envoy.filters.network.wasm` before `tcp_proxy`) on these frames, and `request`,
    /// `response` and `requests` are not used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<crate::connection::Connection>,
    /// Assertions about the last request's outcome.
    pub expect: Expect,
    /// More plugins on the same stream, after the scenario's own `plugin` (filter 1): filters
    /// 2..N in order, as later entries of Envoy's `http_filters`. The request walks them
    /// forward and the response backward; each has its own configuration, root id and VM, or
    /// shares a VM with an earlier filter of the same module and `vm_id`. A request that one
    /// filter pauses waits there while later events run; when a tick, a late callout answer
    /// or another stream's callback resumes it, it goes on from that filter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainFilter>,
    /// Several Envoy worker threads (one VM each) and several requests in flight at once,
    /// their callbacks interleaved. Absent: one VM, one request after another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
}

/// Envoy runs one VM per worker thread, each with its own root context and context ids
/// (root 1, streams 2, 3, ...); shared data and shared queues are process-wide; one VM never
/// runs two callbacks at once.
///
/// All requests arrive at once (at most `in_flight` in flight; the next starts when one
/// ends). Request `k` runs on worker `worker` of its `request` event, else on worker
/// `(k - 1) % workers + 1`. Once every worker has started, the run switches between the
/// requests in flight at *switch points*: before each callback, and (between workers) after
/// each shared-data or shared-queue host call, where another worker's callback may run while
/// this one waits in the middle of its own. A VM is never entered twice: a request of a
/// worker whose VM is inside another request's callback is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Concurrency {
    /// Worker threads, each with its own VM (1 to 16).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_WORKERS)))]
    pub workers: u32,
    /// Requests in flight at once; absent: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub in_flight: Option<u32>,
    /// Who runs first and at each switch point after that, as request numbers (1 is the
    /// first request): `[2, 1, 1, 2]` starts with request 2, then lets request 1 run twice,
    /// then request 2. An entry whose request has ended or cannot run now is skipped; past the
    /// end (and when empty), round robin: the next request in flight after the one that ran
    /// last. The run's timeline shows each switch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<u32>,
}

/// The most workers a scenario may ask for.
pub const MAX_WORKERS: u32 = 16;

/// The most requests a scenario with `concurrency` may have (each is a lane of its own).
pub const MAX_CONCURRENT_REQUESTS: u32 = 1000;

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency {
            workers: 1,
            in_flight: None,
            order: Vec::new(),
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            schema: None,
            version: SCENARIO_VERSION,
            name: String::new(),
            description: String::new(),
            plugin: None,
            settings: Settings::default(),
            request: Request::default(),
            response: Response::default(),
            properties: BTreeMap::new(),
            route: Route::default(),
            clusters: Vec::new(),
            mocks: Mocks::default(),
            clock: Clock::default(),
            requests: 1,
            events: Vec::new(),
            connection: None,
            expect: Expect::default(),
            chain: Vec::new(),
            concurrency: None,
        }
    }
}

/// Why a scenario document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The text is neither valid JSON nor valid YAML for a scenario.
    #[error("invalid scenario: {0}")]
    Invalid(String),
    /// The document is from a newer version of the playground.
    #[error(
        "scenario version {found} is newer than this playground understands (up to {SCENARIO_VERSION})"
    )]
    TooNew {
        /// The version the document declares.
        found: u64,
    },
}

impl Scenario {
    /// Reads a scenario from JSON or YAML text, migrating older versions.
    ///
    /// # Errors
    ///
    /// [`ScenarioError::Invalid`] names the offending field or syntax error;
    /// [`ScenarioError::TooNew`] when the document's version is unknown.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let trimmed = text.trim_start();
        let value: serde_json::Value = if trimmed.starts_with('{') {
            serde_json::from_str(text).map_err(|e| ScenarioError::Invalid(format!("JSON: {e}")))?
        } else if trimmed.is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            check_yaml_nesting(text).map_err(ScenarioError::Invalid)?;
            yaml_serde::from_str(text).map_err(|e| ScenarioError::Invalid(format!("YAML: {e}")))?
        };
        Scenario::from_value(value)
    }

    /// Reads a scenario from an already parsed JSON value, migrating older versions.
    ///
    /// # Errors
    ///
    /// As [`Scenario::parse`].
    pub fn from_value(mut value: serde_json::Value) -> Result<Scenario, ScenarioError> {
        let Some(object) = value.as_object_mut() else {
            return Err(ScenarioError::Invalid(
                "a scenario must be an object".into(),
            ));
        };
        let version = match object.get("version") {
            None => u64::from(SCENARIO_VERSION),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| ScenarioError::Invalid("`version` must be a number".into()))?,
        };
        if version > u64::from(SCENARIO_VERSION) {
            return Err(ScenarioError::TooNew { found: version });
        }
        // One step per version, so that every file and link ever written keeps opening.
        if version <= 1 {
            migrate_v1_to_v2(object);
        }
        object.insert("version".into(), SCENARIO_VERSION.into());
        let scenario: Scenario =
            serde_json::from_value(value).map_err(|e| ScenarioError::Invalid(e.to_string()))?;
        if scenario.requests > MAX_REQUESTS {
            return Err(ScenarioError::Invalid(format!(
                "`requests` is {}; at most {MAX_REQUESTS} requests are replayed in one run",
                scenario.requests
            )));
        }
        for (i, m) in scenario.mocks.foreign.iter().enumerate() {
            let problem = if m.result.is_some() && m.status.is_some_and(|s| s != Status::Ok) {
                Some(format!(
                    "`result` is returned only with status Ok, not {}; keep one of them",
                    m.status.unwrap_or(Status::Ok)
                ))
            } else {
                m.result.as_ref().and_then(|r| r.bytes().err())
            };
            if let Some(problem) = problem {
                return Err(ScenarioError::Invalid(format!(
                    "mocks.foreign[{i}] ({:?}): {problem}",
                    m.name
                )));
            }
        }
        scenario.check_events().map_err(ScenarioError::Invalid)?;
        let frames = scenario.connection.iter().flat_map(|c| c.frames.iter());
        if let Some((i, f)) = frames
            .enumerate()
            .find(|(_, f)| f.after_ms > MAX_ADVANCE_MS)
        {
            return Err(ScenarioError::Invalid(format!(
                "connection.frames[{i}]: `after_ms` is {}; at most {MAX_ADVANCE_MS} ms (one day) per frame",
                f.after_ms
            )));
        }
        scenario
            .check_concurrency()
            .map_err(ScenarioError::Invalid)?;
        Ok(scenario)
    }

    /// The events the run goes through: `events`, or for a version 1 scenario without them,
    /// `requests` requests with `clock.interval_ms` between them.
    pub fn timeline(&self) -> Vec<Event> {
        if !self.events.is_empty() {
            return self.events.clone();
        }
        let mut out = Vec::new();
        for i in 0..self.requests.max(1) {
            if i > 0 {
                out.push(Event::AdvanceMs(self.clock.interval_ms));
            }
            out.push(Event::Request(Box::default()));
        }
        out
    }

    /// How many requests the run has: the `request` events, else `requests`.
    pub fn request_count(&self) -> u32 {
        if self.events.is_empty() {
            self.requests.max(1)
        } else {
            self.events
                .iter()
                .filter(|e| matches!(e, Event::Request(_)))
                .count() as u32
        }
    }

    /// Refuses what concurrent streams do not run (yet), naming it: a chain, a connection,
    /// ticks and clock advances among the events, delayed mocks, requests spaced by
    /// `clock.interval_ms`; and out-of-range workers and request numbers.
    ///
    /// # Errors
    ///
    /// A message naming the field.
    pub fn check_concurrency(&self) -> Result<(), String> {
        let Some(c) = &self.concurrency else {
            if self
                .events
                .iter()
                .any(|e| matches!(e, Event::Request(r) if r.worker.is_some()))
            {
                return Err(
                    "`worker` on a request event needs `concurrency` (with `workers`)".into(),
                );
            }
            return Ok(());
        };
        if !(1..=MAX_WORKERS).contains(&c.workers) {
            return Err(format!(
                "concurrency.workers is {}; it must be 1 to {MAX_WORKERS}",
                c.workers
            ));
        }
        if c.in_flight == Some(0) {
            return Err("concurrency.in_flight must be at least 1".into());
        }
        if !self.chain.is_empty() {
            return Err("`concurrency` together with `chain`: concurrent streams run with one plugin only, not yet with a chain".into());
        }
        if self.connection.is_some() {
            return Err("`concurrency` together with `connection`: concurrent streams are HTTP streams; an L4 run has one connection".into());
        }
        if self.events.iter().any(|e| !matches!(e, Event::Request(_))) {
            return Err("`concurrency` together with `tick` or `advance_ms` events: concurrent requests all arrive at once; list only `request` events".into());
        }
        let delayed = self
            .mocks
            .http
            .iter()
            .map(|m| ("http", m.delay_ms))
            .chain(self.mocks.grpc.iter().map(|m| ("grpc", m.delay_ms)))
            .chain(self.mocks.redis.iter().map(|m| ("redis", m.delay_ms)))
            .find(|(_, d)| *d > 0);
        if let Some((kind, _)) = delayed {
            return Err(format!(
                "mocks.{kind}: `delay_ms` together with `concurrency`: concurrent requests get their callout answers at once, not later on the virtual clock"
            ));
        }
        if self.clock.interval_ms > 0 {
            return Err("`concurrency` together with `clock.interval_ms`: concurrent requests all arrive at once, not spaced in time".into());
        }
        let n = self.request_count();
        if n > MAX_CONCURRENT_REQUESTS {
            return Err(format!(
                "`concurrency` with {n} requests: at most {MAX_CONCURRENT_REQUESTS} requests run concurrently in one run"
            ));
        }
        if let Some(bad) = c.order.iter().find(|k| **k == 0 || **k > n) {
            return Err(format!(
                "concurrency.order names request {bad}, but the scenario has requests 1 to {n}"
            ));
        }
        for (i, e) in self.events.iter().enumerate() {
            if let Event::Request(r) = e
                && let Some(w) = r.worker
                && (w == 0 || w > c.workers)
            {
                return Err(format!(
                    "events[{i}].request.worker is {w}, but there are workers 1 to {}",
                    c.workers
                ));
            }
        }
        Ok(())
    }

    /// Checks `events` against the rest of the scenario and against the limits.
    ///
    /// # Errors
    ///
    /// A message naming the problem.
    pub fn check_events(&self) -> Result<(), String> {
        if self.events.is_empty() {
            return Ok(());
        }
        if self.connection.is_some() {
            return Err(
                "`events` together with `connection`: an L4 scenario runs its `connection.frames` in order (a frame's `after_ms` moves the clock before it); timeline events apply to HTTP requests only".into(),
            );
        }
        if self.requests > 1 {
            return Err(format!(
                "`requests` is {} together with `events`: with `events` each request is its own `request` event; leave `requests` out",
                self.requests
            ));
        }
        if self.events.len() > MAX_EVENTS {
            return Err(format!(
                "`events` lists {} events; at most {MAX_EVENTS} run in one scenario",
                self.events.len()
            ));
        }
        let requests = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Request(_)))
            .count();
        if requests > MAX_REQUESTS as usize {
            return Err(format!(
                "`events` starts {requests} requests; at most {MAX_REQUESTS} run in one scenario"
            ));
        }
        for (i, e) in self.events.iter().enumerate() {
            match e {
                Event::Tick(t) if t.count == 0 || t.count > MAX_TICKS_PER_EVENT => {
                    return Err(format!(
                        "events[{i}]: `tick.count` is {}; give 1 to {MAX_TICKS_PER_EVENT}",
                        t.count
                    ));
                }
                Event::AdvanceMs(ms) if *ms > MAX_ADVANCE_MS => {
                    return Err(format!(
                        "events[{i}]: `advance_ms` is {ms}; at most {MAX_ADVANCE_MS} ms (one day) per event"
                    ));
                }
                Event::Request(r) => {
                    if let Some(b) = &r.body {
                        b.bytes()
                            .map_err(|e| format!("events[{i}].request.body: {e}"))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The scenario as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        crate::json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Version 1 to 2: every key of version 1 keeps its name and meaning, and the keys version 2
/// adds are optional with defaults that behave as version 1 did, so the document is already
/// valid. What changes is not in the document: a plugin the emulated proxy refuses to load
/// (say, a callback with a bad signature) ran under version 1 unless `strict` was set, and is
/// now refused with the reasons unless `settings.lenient` is set. That is deliberately not
/// written into migrated documents: whether a plugin loads is a property of the plugin, and
/// an old link to such a plugin now says why the proxy refuses it and offers to run it anyway.
///
/// So the step has nothing to rewrite; it is here so that the next version's step has its
/// place, and so that a version 1 document holding a version 2 key (a hand-edited file that
/// kept `"version": 1`) is read as version 2 reads it rather than refused.
fn migrate_v1_to_v2(_document: &mut serde_json::Map<String, serde_json::Value>) {}

/// The most requests one run replays: each leaves a record in the report, and a link or file
/// asking for billions must not make a run that never ends.
pub const MAX_REQUESTS: u32 = 100_000;

/// The most events one scenario lists.
pub const MAX_EVENTS: usize = 100_000;

/// The most ticks one `tick` event fires.
pub const MAX_TICKS_PER_EVENT: u32 = 10_000;

/// The longest clock advance of one `advance_ms` event: a day.
pub const MAX_ADVANCE_MS: u64 = 86_400_000;

/// One event of a scenario's timeline (`events`), written as a one-key map:
/// `{"tick": {}}`, `{"advance_ms": 5000}` or `{"request": {"path": "/b"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// Moves the virtual clock to the next tick due and fires it (`proxy_on_tick` on the root
    /// context), firing on the way any callout answers due earlier. As in Envoy, nothing fires
    /// when the plugin has set no tick period (`proxy_set_tick_period_milliseconds`); the trace
    /// says so.
    Tick(TickEvent),
    /// Moves the virtual clock forward by this many milliseconds (at most a day), firing the
    /// ticks and the delayed callout answers that fall due, in virtual-time order.
    AdvanceMs(u64),
    /// Starts a request: the scenario's `request` (and `response`) with the fields given here
    /// replaced. It runs until it ends or waits (the plugin paused it and nothing answers at
    /// once: a callout whose mock has `delay_ms`, or a pause a later tick or callout answer
    /// resumes); while it waits, the next events run.
    Request(Box<RequestEvent>),
}

/// A `tick` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct TickEvent {
    /// How many ticks to fire one after another (1 to 10,000).
    #[serde(skip_serializing_if = "is_one")]
    pub count: u32,
}

impl Default for TickEvent {
    fn default() -> Self {
        TickEvent { count: 1 }
    }
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// A `request` event: what differs from the scenario's `request` and `response`. Absent
/// fields are the scenario's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RequestEvent {
    /// `:method`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `:path`, with the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `:authority`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Headers after the pseudo-headers, replacing the scenario's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    /// The body in one piece, replacing the scenario's body and chunks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Trailers, replacing the scenario's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailers: Option<Headers>,
    /// The upstream's answer to this request, replacing the scenario's `response`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    /// The worker (1 is the first) that runs this request, with `concurrency`; absent: round
    /// robin over the workers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_WORKERS)))]
    pub worker: Option<u32>,
}

impl RequestEvent {
    /// The scenario's request with this event's fields replaced.
    pub fn apply(&self, base: &Request) -> Request {
        let mut r = base.clone();
        if let Some(v) = &self.method {
            r.method = v.clone();
        }
        if let Some(v) = &self.path {
            r.path = v.clone();
        }
        if let Some(v) = &self.authority {
            r.authority = v.clone();
        }
        if let Some(v) = &self.headers {
            r.headers = v.clone();
        }
        if let Some(v) = &self.body {
            r.body = Some(v.clone());
            r.chunks = Vec::new();
        }
        if let Some(v) = &self.trailers {
            r.trailers = v.clone();
        }
        r
    }
}

/// YAML flow collections (`[...]`, `{...}`) nested deeper than this are refused before the
/// YAML parser sees them: its scanner is quadratic in the nesting depth (64 KB of `{a: ` took
/// 6 s in a debug build, 400 KB minutes), and serde gives up past 128 levels anyway.
pub const MAX_YAML_FLOW_DEPTH: usize = 1000;

/// Refuses YAML whose flow collections nest more than [`MAX_YAML_FLOW_DEPTH`] levels, before
/// any YAML parser sees it (a deep enough `[[[...` overflows the parser's stack).
///
/// # Errors
///
/// A message saying so, prefixed `YAML: `.
pub fn check_yaml_nesting(text: &str) -> Result<(), String> {
    if yaml_flow_depth(text) > MAX_YAML_FLOW_DEPTH {
        return Err(format!(
            "YAML: `[` and `{{` nest more than {MAX_YAML_FLOW_DEPTH} levels deep"
        ));
    }
    Ok(())
}

/// An upper estimate of how deeply flow collections nest in YAML `text`: brackets count
/// everywhere except in comments and in quoted scalars (recognised only where a YAML token can
/// start, so that a stray quote cannot hide the brackets after it).
pub fn yaml_flow_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut quote, mut escaped, mut comment) = (None, false, false);
    // The previous character, and the previous one that is not a space or tab.
    let (mut prev, mut last) = ('\n', '\n');
    for c in text.chars() {
        if comment {
            comment = c != '\n';
        } else if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else {
            let token_start = if depth == 0 {
                prev.is_whitespace() && matches!(last, '\n' | ':' | '-' | '?' | ',' | '[' | '{')
            } else {
                (prev.is_whitespace() || matches!(prev, '[' | '{' | ','))
                    && matches!(last, '\n' | ':' | '?' | ',' | '[' | '{')
            };
            match c {
                '#' if prev.is_whitespace() => comment = true,
                '"' | '\'' if token_start => quote = Some(c),
                '[' | '{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev = c;
        if c == '\n' || !c.is_whitespace() {
            last = c;
        }
    }
    max
}

/// Where the plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PluginRef {
    /// A bundled example, by name (`go-headers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// A URL to fetch the `.wasm` from; it must match `sha256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A file path, relative to the scenario file (CLI only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The plugin itself, base64, for small plugins in share links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// Lower-case hex sha256 of the plugin bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The file name the user loaded, to tell them which file to drop in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Size in bytes of the plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// One more filter of the chain: its plugin and the settings that are its own (the profile,
/// toggles, limits, log level, environment and seed are the scenario's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ChainFilter {
    /// Which plugin, as the scenario's `plugin`.
    pub plugin: PluginRef,
    /// Its plugin configuration (`proxy_on_configure`), encoded as `settings.config`.
    pub config: serde_json::Value,
    /// Its VM configuration (`proxy_on_vm_start`), encoded as `settings.vm_config`.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub vm_config: serde_json::Value,
    /// Its `root_id`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub root_id: String,
    /// Its `vm_id`: with the same module and VM configuration as an earlier filter, the two
    /// share one VM (one root context each), as in Envoy.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vm_id: String,
    /// Its plugin `name`.
    pub plugin_name: String,
    /// Fail open (skip this filter) instead of closed (503) when it traps.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fail_open: bool,
    /// Istio/Higress phase for export (`AUTHN`, `AUTHZ`, `STATS`; absent: just before the
    /// router).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<crate::export::Phase>,
    /// Istio/Higress priority for export (higher runs first within a phase); absent: one that
    /// keeps the chain's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

impl Default for ChainFilter {
    fn default() -> Self {
        ChainFilter {
            plugin: PluginRef::default(),
            config: serde_json::Value::Null,
            vm_config: serde_json::Value::Null,
            root_id: String::new(),
            vm_id: String::new(),
            plugin_name: "playground".into(),
            fail_open: false,
            phase: None,
            priority: None,
        }
    }
}

impl Scenario {
    /// The scenario as filter `index` of the chain sees it: 0 is the scenario itself, `k > 0`
    /// takes the plugin and the settings of `chain[k - 1]`. `None` past the end.
    pub fn filter(&self, index: usize) -> Option<Scenario> {
        if index == 0 {
            return Some(self.clone());
        }
        let f = self.chain.get(index - 1)?;
        let mut s = self.clone();
        s.plugin = Some(f.plugin.clone());
        s.settings.config = f.config.clone();
        s.settings.vm_config = f.vm_config.clone();
        s.settings.root_id = f.root_id.clone();
        s.settings.vm_id = f.vm_id.clone();
        s.settings.plugin_name = f.plugin_name.clone();
        s.settings.fail_open = f.fail_open;
        Some(s)
    }

    /// How many filters run on the stream: 1 plus the chain.
    pub fn filter_count(&self) -> usize {
        1 + self.chain.len()
    }
}

/// Plugin and VM settings as Envoy's `PluginConfig` and `VmConfig` carry them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The plugin configuration (`proxy_on_configure`). A string is passed as is; any other
    /// JSON value is passed as compact JSON, as Istio does with `pluginConfig`; null is empty.
    pub config: serde_json::Value,
    /// The VM configuration (`proxy_on_vm_start`), same encoding as `config`.
    pub vm_config: serde_json::Value,
    /// Envoy's `root_id` (Istio's `pluginName`); empty by default, as with Istio.
    pub root_id: String,
    /// Envoy's `vm_id`.
    pub vm_id: String,
    /// Envoy's plugin `name` (Istio: `<namespace>.<name>`).
    pub plugin_name: String,
    /// VM environment variables (`vm_config.environment_variables`).
    pub env: BTreeMap<String, String>,
    /// The level of the `wasm` logger (`proxy_get_log_level`); lower lines are dropped.
    pub log_level: LogLevel,
    /// Which proxy to emulate.
    pub profile: Profile,
    /// Overrides of the profile's version-dependent behaviour.
    pub toggles: Toggles,
    /// Fail open (skip the filter) instead of closed (503) when the plugin traps.
    pub fail_open: bool,
    /// Host calls Envoy refuses at the moment they are made (anything but logging and WASI
    /// during VM start-up; anything but logging, `fd_write`, `clock_time_get` and `poll_oneoff`
    /// inside the allocator) trap as in Envoy ("restricted_callback") instead of being
    /// answered with a warning. Whether the plugin loads at all is `lenient`'s business.
    pub strict: bool,
    /// Run a plugin that the emulated proxy (Envoy, or Higress under that profile) would
    /// refuse to load: callbacks with a bad signature, imports the proxy lacks or does not
    /// give this ABI, a foreign ABI, no allocator. Off by default (version 2): such a plugin
    /// is refused, naming why. A lenient run says in its report that the proxy would refuse
    /// it, and calls a callback with a bad signature with the arguments it declares.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lenient: bool,
    /// Resource limits.
    pub limits: Limits,
    /// The engine the app runs a plain Run on (`pwp` always uses the interpreter).
    #[serde(skip_serializing_if = "EngineSetting::is_auto")]
    pub engine: EngineSetting,
    /// Seed of `random_get`.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: serde_json::Value::Null,
            vm_config: serde_json::Value::Null,
            root_id: String::new(),
            vm_id: String::new(),
            plugin_name: "playground".into(),
            env: BTreeMap::new(),
            log_level: LogLevel::Trace,
            profile: Profile::Auto,
            toggles: Toggles::default(),
            fail_open: false,
            strict: false,
            lenient: false,
            limits: Limits::default(),
            engine: EngineSetting::Auto,
            seed: 1,
        }
    }
}

/// Turns a configuration value into the bytes the plugin reads.
pub fn config_bytes(value: &serde_json::Value) -> Vec<u8> {
    match value {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::String(s) => s.as_bytes().to_vec(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

/// proxy-wasm log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// 0
    #[default]
    Trace,
    /// 1
    Debug,
    /// 2
    Info,
    /// 3
    #[serde(alias = "warning")]
    Warn,
    /// 4
    Error,
    /// 5
    Critical,
}

impl LogLevel {
    /// From the ABI value; `None` above 5.
    pub fn from_abi(level: u32) -> Option<LogLevel> {
        Some(match level {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }

    /// The ABI value.
    pub fn abi(self) -> u32 {
        self as u32
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
        }
    }
}

/// Which proxy the host emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Higress for plugins built for it (the `0_2_100` ABI marker, a Higress wasm-go module
    /// path in the code, imports only Higress provides), upstream Envoy otherwise.
    #[default]
    Auto,
    /// Upstream Envoy >= 1.33 (also what Istio ships).
    Envoy,
    /// Higress's Envoy fork: ABI 0.2.100, Redis, legacy top-level properties.
    Higress,
}

/// Version-dependent behaviour; each `None` takes the profile's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Toggles {
    /// Body buffering after a body callback returned `StopIterationAndBuffer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_buffering: Option<BodyBuffering>,
    /// What `proxy_replace_header_map_value` does with a repeated header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace_header: Option<ReplaceHeader>,
    /// Envoy's `allow_on_headers_stop_iteration`: header callbacks may return real StopIteration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_on_headers_stop_iteration: Option<bool>,
    /// Serve `route_name`, `cluster_name`, `node`, ... at the top level (Envoy < 1.33, Higress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_properties: Option<bool>,
    /// Show each `fd_write` as its own log line, as Envoy does, instead of whole lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_stdio: Option<bool>,
}

/// Body buffering semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BodyBuffering {
    /// Envoy >= 1.33: each callback sees everything buffered so far, including its own chunk.
    Cumulative,
    /// Envoy 1.27 (old Higress): a later callback sees only the previously buffered bytes.
    Legacy,
}

/// `proxy_replace_header_map_value` semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplaceHeader {
    /// Current Envoy: remove every entry of the key, then append one.
    RemoveAndAppend,
    /// Envoy 1.27: overwrite the first entry in place, keep later duplicates.
    InPlace,
}

/// Which engine the app runs a scenario on. The trace is the same on both (a test holds them
/// to it); they differ in speed and in what they can do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EngineSetting {
    /// A plain Run (to the end, or to breakpoints on callbacks) on the browser's own
    /// `WebAssembly`, at native speed; stepping, host-call breakpoints and concurrent workers
    /// on the interpreter.
    #[default]
    Auto,
    /// Everything on the interpreter (wasmi), which meters fuel.
    Interpreter,
}

impl EngineSetting {
    /// The default, left out of saved scenarios.
    pub fn is_auto(&self) -> bool {
        *self == EngineSetting::Auto
    }
}

/// Limits that keep a looping or greedy plugin from hurting the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) one callback may use.
    pub fuel_per_callback: u64,
    /// Maximum linear memory in 64 KiB pages.
    pub memory_pages: u32,
    /// Maximum buffered body in bytes (Envoy's default buffer limit is 1 MiB).
    pub max_body_bytes: u64,
    /// Host calls one callback may make before it is stopped.
    pub max_hostcalls_per_callback: u32,
    /// Wall-clock milliseconds one callback may run on the browser's engine, which has no
    /// fuel: past it the app stops the engine and repeats the run on the interpreter, whose
    /// fuel limit names the callback that loops.
    pub callback_deadline_ms: u32,
    /// Log lines kept per run; later ones are counted, not stored.
    pub max_log_lines: u32,
    /// Bytes the plugin may make the host keep (logs, shared data, queues, properties) and
    /// gather in one call; past it the plugin is stopped before the page runs out of memory.
    pub max_host_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_callback: 200_000_000,
            memory_pages: 4096,
            max_body_bytes: 1 << 20,
            max_hostcalls_per_callback: 100_000,
            callback_deadline_ms: 2_000,
            max_log_lines: 10_000,
            max_host_bytes: 256 << 20,
        }
    }
}

/// Bytes given as text, or as `{"base64": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Body {
    /// UTF-8 text.
    Text(String),
    /// Arbitrary bytes.
    Base64 {
        /// Standard base64.
        base64: String,
    },
}

impl Body {
    /// The bytes; invalid base64 yields an error message.
    ///
    /// # Errors
    ///
    /// When the base64 form does not decode.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Body::Text(s) => Ok(s.as_bytes().to_vec()),
            Body::Base64 { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64.trim())
                .map_err(|e| format!("invalid base64 body: {e}")),
        }
    }

    /// Text when the bytes are UTF-8, base64 otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Body {
        match std::str::from_utf8(bytes) {
            Ok(s) => Body::Text(s.to_string()),
            Err(_) => Body::Base64 {
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        }
    }
}

/// An ordered header list. Reads `[["name","value"], ...]` or `{"name": "value", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Headers(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(untagged)]
        enum Form {
            Pairs(Vec<(String, String)>),
            Map(BTreeMap<String, String>),
        }
        Ok(match Form::deserialize(d)? {
            Form::Pairs(p) => Headers(p),
            Form::Map(m) => Headers(m.into_iter().collect()),
        })
    }
}

impl Headers {
    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The downstream request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Request {
    /// `:method`
    pub method: String,
    /// `:path`, with the query.
    pub path: String,
    /// `:authority`
    pub authority: String,
    /// `:scheme`
    pub scheme: String,
    /// `request.protocol`
    pub protocol: String,
    /// Headers after the pseudo-headers, in order.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// The body in one piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// The body as separate DATA chunks; used instead of `body` when not empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Body>,
    /// Trailers; when present the last body chunk does not end the stream.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub trailers: Headers,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            method: "GET".into(),
            path: "/".into(),
            authority: "example.com".into(),
            scheme: "http".into(),
            protocol: "HTTP/1.1".into(),
            headers: Headers::default(),
            body: None,
            chunks: Vec::new(),
            trailers: Headers::default(),
        }
    }
}

/// The upstream response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Response {
    /// `:status`
    pub status: u16,
    /// Headers after `:status`, in order.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// The body in one piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// The body as separate DATA chunks; used instead of `body` when not empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Body>,
    /// Trailers.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub trailers: Headers,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            status: 200,
            headers: Headers::default(),
            body: None,
            chunks: Vec::new(),
            trailers: Headers::default(),
        }
    }
}

/// Collects a message's body chunks: `chunks` if given, else `body` as one chunk, else none.
///
/// # Errors
///
/// When a base64 chunk does not decode.
pub fn body_chunks(body: &Option<Body>, chunks: &[Body]) -> Result<Vec<Vec<u8>>, String> {
    if !chunks.is_empty() {
        return chunks.iter().map(Body::bytes).collect();
    }
    match body {
        Some(b) => {
            let bytes = b.bytes()?;
            Ok(if bytes.is_empty() {
                Vec::new()
            } else {
                vec![bytes]
            })
        }
        None => Ok(Vec::new()),
    }
}

/// A property override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum PropertyValue {
    /// Served as 1 byte.
    Bool(bool),
    /// Served as 8 bytes little-endian.
    Int(i64),
    /// Served as raw bytes.
    Text(String),
    /// Served as the decoded bytes.
    Bytes {
        /// Standard base64.
        base64: String,
    },
}

/// The route the request matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    /// Route name (`xds.route_name`; Higress `route_name`, e.g. `default/foo`).
    pub name: String,
    /// Upstream cluster (`xds.cluster_name`; Istio form `outbound|80||svc.ns.svc.cluster.local`).
    pub cluster: String,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            name: "default-route".into(),
            cluster: "outbound|80||example.com".into(),
        }
    }
}

/// Callout answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Mocks {
    /// HTTP callouts (`proxy_http_call`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpMock>,
    /// gRPC calls (`proxy_grpc_call`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grpc: Vec<GrpcMock>,
    /// Higress Redis calls (`proxy_redis_call`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redis: Vec<RedisMock>,
    /// Foreign functions (`proxy_call_foreign_function`), by name. A mock named like one of
    /// the proxy's built-ins (`compress`, Higress's `get_log_level`, ...) answers in its place.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignMock>,
}

/// The answer to `proxy_call_foreign_function` for one function name: bytes, or an error
/// status. The first mock with the name answers every call of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ForeignMock {
    /// The function's name, as the plugin passes it (exact match).
    pub name: String,
    /// The bytes the function returns, text or `{"base64": ...}`; none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Body>,
    /// The status the call returns, by its name in the ABI (`Ok`, `NotFound`, `BadArgument`,
    /// `InternalFailure`, ...). `Ok` when absent; any other status returns no bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// The answer to HTTP callouts to a cluster (and path prefix).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct HttpMock {
    /// The cluster the plugin calls.
    pub cluster: String,
    /// Matches when the callout's `:path` starts with this; any path when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Matches only this `:method` when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The response.
    pub response: MockResponse,
    /// Answer with a stream reset (`proxy_get_status` = 11, "reset") instead.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// Answer as Envoy does when the callout times out (504, `upstream request timeout`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timeout: bool,
    /// The answer arrives this many milliseconds after the call on the virtual clock (0: at
    /// once). Past the callout's own timeout it times out instead, as in Envoy (504,
    /// `upstream request timeout`, when the timeout elapses).
    #[serde(skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A mocked HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct MockResponse {
    /// `:status`
    pub status: u16,
    /// Headers after `:status`.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// Body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Trailers.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub trailers: Headers,
}

impl Default for MockResponse {
    fn default() -> Self {
        MockResponse {
            status: 200,
            headers: Headers::default(),
            body: None,
            trailers: Headers::default(),
        }
    }
}

/// The answer to gRPC calls.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct GrpcMock {
    /// The cluster (or the `GrpcService` target) the plugin calls.
    pub cluster: String,
    /// Matches only this service when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Matches only this method when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// gRPC status delivered to `proxy_on_grpc_close` (0 = OK).
    pub status: u32,
    /// Status message (`proxy_get_status`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// The response message (serialized protobuf), delivered to `proxy_on_grpc_receive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Body>,
    /// Initial metadata.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub initial_metadata: Headers,
    /// Trailing metadata.
    #[serde(skip_serializing_if = "Headers::is_empty")]
    pub trailing_metadata: Headers,
    /// The answer arrives this many milliseconds after the call on the virtual clock (0: at
    /// once). Past the call's own timeout it closes when the timeout elapses, as Envoy's
    /// router answers it: status 14 (`UNAVAILABLE`), message `upstream request timeout`.
    #[serde(skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
}

/// The answer to Higress Redis calls.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RedisMock {
    /// Matches only this cluster (the part before `?`) when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Matches only this command (case-insensitive, e.g. `INCR`) when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The RESP-encoded reply, e.g. `":1\r\n"`.
    pub reply: String,
    /// Answer with a network error (status 1) instead.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network_error: bool,
    /// The reply arrives this many milliseconds after the call on the virtual clock (0: at
    /// once). Past the timeout the plugin gave `proxy_redis_init` for the cluster (when not 0)
    /// the command fails instead when the timeout elapses, as Higress's client fails it:
    /// `proxy_on_redis_call_response` with status 1 and no reply, as for `network_error`.
    #[serde(skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
}

/// The virtual clock: time is an input, so runs are reproducible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Clock {
    /// Wall-clock time at VM start, in milliseconds since the Unix epoch.
    pub start_unix_ms: u64,
    /// Virtual time between replayed requests; ticks due in between fire.
    pub interval_ms: u64,
    /// Virtual time each callback takes (so durations are not all zero).
    pub callback_us: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            // 2026-01-01T00:00:00Z
            start_unix_ms: 1_767_225_600_000,
            interval_ms: 0,
            callback_us: 0,
        }
    }
}

/// Assertions on the outcome of the last request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// What reached the upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_request: Option<MessageExpect>,
    /// What the client received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_response: Option<MessageExpect>,
    /// Log lines that must (or must not) appear.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogExpect>,
    /// Callouts that must have been made, in order: all of the run's. When several requests
    /// ran and every callout belongs to one of them (say `requests: 3`, or `pwp run
    /// --requests N`), the list may instead be one request's, which each request must have
    /// made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callouts: Option<Vec<CalloutExpect>>,
    /// Metric values at the end of the run, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, i64>,
    /// A regex the plugin's failure must match; when absent the run must not fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The connection's outcome (L4 scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<crate::connection::ConnectionExpect>,
    /// Host calls that must have been made (or not), counted over the whole run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostcalls: Vec<HostCallExpect>,
}

/// An expectation on host calls: how many calls of `name` (with that status, on that
/// worker) the run made.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct HostCallExpect {
    /// The import, e.g. `proxy_set_shared_data`.
    pub name: String,
    /// Only calls that ended with this status, as the trace names it (`Ok`, `CasMismatch`,
    /// `NotFound`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only calls made by this worker (with `concurrency`; 1 is the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<u32>,
    /// Exactly this many; absent: at least one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl Expect {
    /// True when nothing is asserted beyond "no failure".
    pub fn is_empty(&self) -> bool {
        *self == Expect::default()
    }
}

/// Assertions on a request or response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct MessageExpect {
    /// Whether the request reached the upstream (upstream request only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reached: Option<bool>,
    /// `:status` (client response only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Whether the response is a local reply (client response only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_reply: Option<bool>,
    /// Header name → a string (equal), `true` (present) or `null` (absent).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, HeaderExpect>,
    /// The whole body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// A substring of the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// Trailer name → as for headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub trailers: BTreeMap<String, HeaderExpect>,
}

/// An expectation on one header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderExpect {
    /// The first value equals this.
    Equals(String),
    /// The header is present with any value.
    Present,
    /// The header is absent.
    Absent,
}

impl Serialize for HeaderExpect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HeaderExpect::Equals(v) => s.serialize_str(v),
            HeaderExpect::Present => s.serialize_bool(true),
            HeaderExpect::Absent => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for HeaderExpect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Option::<serde_json::Value>::deserialize(d)?;
        match v {
            None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => {
                Ok(HeaderExpect::Absent)
            }
            Some(serde_json::Value::Bool(true)) => Ok(HeaderExpect::Present),
            Some(serde_json::Value::String(s)) => Ok(HeaderExpect::Equals(s)),
            Some(serde_json::Value::Number(n)) => Ok(HeaderExpect::Equals(n.to_string())),
            Some(other) => Err(serde::de::Error::custom(format!(
                "a header expectation is a string, true or null, not {other}"
            ))),
        }
    }
}

/// An expectation on the log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct LogExpect {
    /// Only lines at this level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<LogLevel>,
    /// A regex some line must match.
    pub matches: String,
    /// Instead: no line may match.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
}

/// An expectation on one callout.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CalloutExpect {
    /// `http`, `grpc` or `redis`; any when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The `:path` (HTTP), method (gRPC) or command (Redis), as a prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The JSON Schema of the scenario format (draft 2020-12), as published in
/// `schema/scenario.schema.json`.
#[cfg(feature = "schema")]
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default();
    if let Some(o) = schema.as_object_mut() {
        o.insert(
            "$id".into(),
            "https://proxy-wasm-playground.dev/schema/scenario.schema.json".into(),
        );
        o.insert("title".into(), "Proxy-Wasm Playground scenario".into());
    }
    schema
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Headers {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Headers".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Headers in order: a list of [name, value] pairs (repeats allowed), or an object",
            "oneOf": [
                {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}], "minItems": 2, "maxItems": 2}},
                {"type": "object", "additionalProperties": {"type": "string"}}
            ]
        })
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Status {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.name()).collect();
        schemars::json_schema!({
            "description": "A proxy-wasm status (`proxy_status_t`), by name",
            "type": "string",
            "enum": names
        })
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for HeaderExpect {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HeaderExpect".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A string (the first value equals it), true (present) or null/false (absent)",
            "type": ["string", "number", "boolean", "null"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_is_the_default_scenario() {
        let s = Scenario::parse("{}").unwrap();
        assert_eq!(s, Scenario::default());
        assert_eq!(s.request.method, "GET");
        assert_eq!(s.request.authority, "example.com");
        assert_eq!(s.response.status, 200);
        assert_eq!(Scenario::parse("").unwrap(), Scenario::default());
    }

    #[test]
    fn headers_read_as_pairs_or_as_a_map() {
        let s = Scenario::parse(r#"{"request":{"headers":[["a","1"],["a","2"]]}}"#).unwrap();
        assert_eq!(
            s.request.headers.0,
            vec![("a".into(), "1".into()), ("a".into(), "2".into())]
        );
        let s = Scenario::parse("request:\n  headers:\n    b: '2'\n").unwrap();
        assert_eq!(s.request.headers.0, vec![("b".into(), "2".into())]);
    }

    #[test]
    fn a_misspelled_field_is_named_in_the_error() {
        let err = Scenario::parse(r#"{"requst":{}}"#).unwrap_err().to_string();
        assert!(err.contains("requst"), "{err}");
        let err = Scenario::parse(r#"{"expect":{"client_response":{"stauts":200}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("stauts"), "{err}");
    }

    #[test]
    fn older_and_unversioned_documents_are_read_as_the_current_version() {
        for doc in [
            r#"{"version": 1, "name": "a"}"#,
            r#"{"name": "a"}"#,
            "version: 2\nname: a\n",
        ] {
            let s = Scenario::parse(doc).unwrap();
            assert_eq!(
                (s.version, s.name.as_str()),
                (SCENARIO_VERSION, "a"),
                "{doc}"
            );
        }
        assert_eq!(SCENARIO_VERSION, 2);
        assert!(
            Scenario::default()
                .to_json_pretty()
                .contains(r#""version": 2"#)
        );
    }

    #[test]
    fn foreign_mocks_read_bytes_or_a_status_by_name_and_say_what_is_wrong() {
        let s = Scenario::parse(
            r#"{"mocks": {"foreign": [
                {"name": "get_token", "result": "t-1"},
                {"name": "blob", "result": {"base64": "/wA="}},
                {"name": "compress", "status": "InternalFailure"}]}}"#,
        )
        .unwrap();
        let f = &s.mocks.foreign;
        assert_eq!(f[0].result.as_ref().unwrap().bytes().unwrap(), b"t-1");
        assert_eq!(f[1].result.as_ref().unwrap().bytes().unwrap(), [0xff, 0]);
        assert_eq!(f[2].status, Some(Status::InternalFailure));
        // Absent from v1-shaped documents, absent from their JSON.
        assert!(!Scenario::default().to_json_pretty().contains("foreign"));
        for (doc, says) in [
            (
                r#"{"name": "f", "status": "Nope"}"#,
                "unknown Status \"Nope\"",
            ),
            (
                r#"{"name": "f", "status": "NotFound", "result": "x"}"#,
                "only with status Ok, not NotFound",
            ),
            (
                r#"{"name": "f", "result": {"base64": "!"}}"#,
                "invalid base64",
            ),
            (r#"{"name": "f", "reslt": "x"}"#, "reslt"),
        ] {
            let err = Scenario::parse(&format!(r#"{{"mocks": {{"foreign": [{doc}]}}}}"#))
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{doc}: {err}");
        }
    }

    #[test]
    fn a_newer_version_is_refused_with_its_number() {
        let err = Scenario::parse(r#"{"version": 9}"#).unwrap_err();
        assert!(matches!(err, ScenarioError::TooNew { found: 9 }));
    }

    #[test]
    fn header_expectations_read_strings_true_and_null() {
        let s = Scenario::parse(
            r#"{"expect":{"upstream_request":{"headers":{"a":"x","b":true,"c":null}}}}"#,
        )
        .unwrap();
        let h = &s.expect.upstream_request.unwrap().headers;
        assert_eq!(h["a"], HeaderExpect::Equals("x".into()));
        assert_eq!(h["b"], HeaderExpect::Present);
        assert_eq!(h["c"], HeaderExpect::Absent);
    }

    #[test]
    fn config_values_become_the_bytes_istio_delivers() {
        assert_eq!(config_bytes(&serde_json::Value::Null), b"");
        assert_eq!(config_bytes(&serde_json::json!("raw text")), b"raw text");
        assert_eq!(
            config_bytes(&serde_json::json!({"a": [1, 2]})),
            br#"{"a":[1,2]}"#
        );
    }

    #[test]
    fn absurd_request_counts_are_refused() {
        let e = Scenario::parse(r#"{"requests": 4000000000}"#).unwrap_err();
        assert!(e.to_string().contains("at most 100000"), "{e}");
        assert_eq!(
            Scenario::parse(r#"{"requests": 100000}"#).unwrap().requests,
            MAX_REQUESTS
        );
    }

    #[test]
    fn yaml_nesting_is_estimated_from_above_and_ignores_quotes_and_comments() {
        assert_eq!(yaml_flow_depth("a: [1, {b: [2]}]\n"), 3);
        assert_eq!(yaml_flow_depth("a: '[[[' # [[[\nb: \"[\\\"[\"\n"), 0);
        assert_eq!(yaml_flow_depth("a: [ '[', \"{\" ]"), 1);
        // A quote inside a plain scalar starts nothing: the brackets after it count.
        assert_eq!(yaml_flow_depth("a: don't [[["), 3);
        assert_eq!(yaml_flow_depth("[a:'b [[["), 4);
        let deep = format!(
            "settings:\n  config: {}",
            "{a: ".repeat(MAX_YAML_FLOW_DEPTH + 1)
        );
        let err = Scenario::parse(&deep).unwrap_err().to_string();
        assert!(err.contains("levels deep"), "{err}");
    }

    #[test]
    fn a_scenario_survives_a_json_round_trip() {
        let mut s = Scenario::default();
        s.request.body = Some(Body::from_bytes(&[0xff, 0, 1]));
        s.expect.metrics.insert("m".into(), 3);
        let back = Scenario::parse(&s.to_json_pretty()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_v1_scenario_is_its_requests_apart_and_serializes_without_the_new_fields() {
        let s = Scenario::parse(
            r#"{"requests": 3, "clock": {"interval_ms": 250},
                "mocks": {"http": [{"cluster": "auth"}]}}"#,
        )
        .unwrap();
        let json = s.to_json_pretty();
        assert!(
            !json.contains("events") && !json.contains("delay_ms"),
            "{json}"
        );
        assert_eq!(
            s.timeline(),
            [
                Event::Request(Box::default()),
                Event::AdvanceMs(250),
                Event::Request(Box::default()),
                Event::AdvanceMs(250),
                Event::Request(Box::default()),
            ]
        );
    }

    #[test]
    fn events_are_one_key_maps_and_a_request_event_replaces_only_what_it_names() {
        let s = Scenario::parse(
            "request: {path: /a, headers: {x-a: '1'}}\nevents:\n  - tick: {count: 2}\n  - advance_ms: 1500\n  - request: {path: /b, response: {status: 503}}\n",
        )
        .unwrap();
        assert_eq!(s.events[0], Event::Tick(TickEvent { count: 2 }));
        assert_eq!(s.events[1], Event::AdvanceMs(1500));
        let Event::Request(r) = &s.events[2] else {
            panic!("{:?}", s.events[2]);
        };
        let req = r.apply(&s.request);
        assert_eq!((req.path.as_str(), req.method.as_str()), ("/b", "GET"));
        assert_eq!(req.headers, s.request.headers);
        assert_eq!(r.response.as_ref().map(|x| x.status), Some(503));
        let back = Scenario::parse(&s.to_json_pretty()).unwrap();
        assert_eq!(back, s);
        assert!(s.to_json_pretty().contains(
            r#""tick": {
        "count": 2
      }"#
        ));
        let e = Scenario::parse(r#"{"events": [{"advance_ms": 86400001}]}"#).unwrap_err();
        assert!(e.to_string().contains("at most 86400000 ms"), "{e}");
    }
}
