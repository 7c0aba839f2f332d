//! The host's observable state: contexts, the HTTP stream, shared data, queues, metrics,
//! callouts, the virtual clock and the trace. Plain data, shared between the store (host
//! functions write it) and the session (the UI reads it between steps).

pub use pwp_model::run::emulates_higress;
pub use pwp_model::stream::{
    Access, HttpStream, LocalReply, StreamMap, TcpConnection, from_pairs, header, to_pairs,
};

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use pwp_model::abi::{AbiVersion, MetricType, StreamType};
use pwp_model::info::PluginInfo;
use pwp_model::report::{CalloutReport, Emulated, Report, check};
use pwp_model::scenario::{Body, BodyBuffering, Expect, Limits, LogLevel, ReplaceHeader, Scenario};
use pwp_model::trace::{CalloutKind, Failure, LogLine, LogSource, Trace};

use crate::interrupt::LimitExceeded;
use crate::pairs::Pair;

/// Longest stdout/stderr line buffered before it is shown as is.
const MAX_PARTIAL_LINE: usize = 64 * 1024;

/// Settings after applying the profile and the ABI.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    /// Emulating Higress's Envoy.
    pub higress: bool,
    /// The plugin's ABI.
    pub abi: AbiVersion,
    /// `PLUGIN_CONFIGURATION`
    pub plugin_config: Vec<u8>,
    /// `VM_CONFIGURATION`
    pub vm_config: Vec<u8>,
    /// Envoy's plugin name.
    pub plugin_name: String,
    /// Envoy's root id.
    pub root_id: String,
    /// Envoy's vm id.
    pub vm_id: String,
    /// Environment variables, in order.
    pub env: Vec<(String, String)>,
    /// The wasm logger's level.
    pub log_level: LogLevel,
    /// Body buffering semantics.
    pub body_buffering: BodyBuffering,
    /// Replace-header semantics.
    pub replace_header: ReplaceHeader,
    /// A request-headers return of 1 is real StopIteration.
    pub request_headers_real_stop: bool,
    /// A response-headers return of 1 is real StopIteration.
    pub response_headers_real_stop: bool,
    /// Serve `route_name`, `cluster_name`, ... at the top level.
    pub legacy_properties: bool,
    /// Each `fd_write` is its own log line.
    pub raw_stdio: bool,
    /// Fail open on traps.
    pub fail_open: bool,
    /// Host calls Envoy refuses at that moment trap instead of being answered.
    pub strict: bool,
    /// Limits.
    pub limits: Limits,
    /// Clusters that exist.
    pub clusters: BTreeSet<String>,
}

impl Resolved {
    /// Resolves a scenario's settings for the plugin `info` describes. `profile: auto` picks
    /// Higress for a plugin that looks built for it ([`PluginInfo::higress_evidence`]).
    pub fn new(s: &Scenario, info: &PluginInfo) -> Resolved {
        let abi = info.abi.unwrap_or(AbiVersion::V0_2_1);
        let t = &s.settings.toggles;
        let higress = emulates_higress(s, info);
        let allow_stop = t.allow_on_headers_stop_iteration.unwrap_or(false);
        let mut clusters: BTreeSet<String> = s.clusters.iter().cloned().collect();
        clusters.extend(s.mocks.http.iter().map(|m| m.cluster.clone()));
        clusters.extend(s.mocks.grpc.iter().map(|m| m.cluster.clone()));
        clusters.extend(s.mocks.redis.iter().filter_map(|m| m.cluster.clone()));
        if !s.route.cluster.is_empty() {
            clusters.insert(s.route.cluster.clone());
        }
        Resolved {
            higress,
            abi,
            plugin_config: pwp_model::scenario::config_bytes(&s.settings.config),
            vm_config: pwp_model::scenario::config_bytes(&s.settings.vm_config),
            plugin_name: s.settings.plugin_name.clone(),
            root_id: s.settings.root_id.clone(),
            vm_id: s.settings.vm_id.clone(),
            env: s
                .settings
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            log_level: s.settings.log_level,
            body_buffering: t.body_buffering.unwrap_or(BodyBuffering::Cumulative),
            replace_header: t.replace_header.unwrap_or(ReplaceHeader::RemoveAndAppend),
            request_headers_real_stop: allow_stop || abi == AbiVersion::V0_2_100,
            response_headers_real_stop: allow_stop,
            legacy_properties: t.legacy_properties.unwrap_or(higress),
            raw_stdio: t.raw_stdio.unwrap_or(false),
            fail_open: s.settings.fail_open,
            strict: s.settings.strict,
            limits: s.settings.limits.clone(),
            clusters,
        }
    }
}

/// Something a host function asked for that Envoy applies after the VM call returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Deferred {
    /// `proxy_continue_stream` / `proxy_continue_request|response` on a stream context.
    Continue(u32, StreamType),
    /// `proxy_close_stream` on a stream context.
    Close(u32, StreamType),
    /// Something was enqueued on a queue registered by `root`.
    QueueReady {
        /// The filter of a chain the root belongs to (0 for a single plugin).
        filter: usize,
        /// The root context to call.
        root: u32,
        /// The queue.
        token: u32,
    },
}

/// One callout the plugin made.
#[derive(Debug, Clone, Serialize)]
pub struct Callout {
    /// Envoy's token (HTTP 4, 8, ...; gRPC call 5, 9, ...; stream 6, 10; Redis 7, 11).
    pub token: u32,
    /// Kind.
    pub kind: CalloutKind,
    /// The root context that owns it.
    pub root: u32,
    /// The context that was current (or effective) when it was made.
    pub issuer: u32,
    /// Cluster (or gRPC target).
    pub cluster: String,
    /// HTTP headers, or gRPC initial metadata.
    pub headers: Vec<Pair>,
    /// HTTP body, gRPC message, or the RESP-encoded Redis query.
    pub body: Vec<u8>,
    /// HTTP trailers.
    pub trailers: Vec<Pair>,
    /// gRPC service / method, or the Redis command.
    pub method: String,
    /// Timeout in ms (0 = none).
    pub timeout_ms: u32,
    /// Still waiting for an answer.
    pub pending: bool,
    /// How it was answered.
    pub answer: String,
    /// Replayed request it belongs to.
    pub request: Option<u32>,
    /// When it was made (virtual monotonic ns).
    pub issued_ns: u64,
    /// When its delayed answer (`delay_ms` on its mock) arrives, once known.
    pub due_ns: Option<u64>,
    /// Its timeout elapses before the delayed answer: it is answered as timed out.
    pub timed_out: bool,
    /// The filter of a chain that made it (0 for a single plugin).
    #[serde(skip)]
    pub filter: usize,
}

impl Callout {
    /// A new pending callout of `kind` to `cluster`, owned by `root`, made by `issuer`; the
    /// token is handed out when it is registered.
    pub fn pending(kind: CalloutKind, root: u32, issuer: u32, cluster: String) -> Callout {
        Callout {
            token: 0,
            kind,
            root,
            issuer,
            cluster,
            headers: Vec::new(),
            body: Vec::new(),
            trailers: Vec::new(),
            method: String::new(),
            timeout_ms: 0,
            pending: true,
            answer: String::new(),
            request: None,
            issued_ns: 0,
            due_ns: None,
            timed_out: false,
            filter: 0,
        }
    }

    /// The callout as the report shows it.
    pub fn report(&self) -> CalloutReport {
        CalloutReport {
            kind: self.kind,
            token: self.token,
            cluster: self.cluster.clone(),
            path: self.path(),
            headers: from_pairs(&self.headers),
            body: Body::from_bytes(&self.body),
            trailers: from_pairs(&self.trailers),
            timeout_ms: self.timeout_ms,
            answer: self.answer.clone(),
            request: self.request,
        }
    }

    /// The HTTP `:path` (or gRPC method, Redis command).
    pub fn path(&self) -> String {
        match self.kind {
            CalloutKind::Http => header(&self.headers, ":path").unwrap_or_default(),
            _ => self.method.clone(),
        }
    }
}

/// What `proxy_get_status` reports: how the callout whose answer is being delivered ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CalloutStatus {
    /// No callout answer is being delivered, or the HTTP or Redis callout was answered.
    #[default]
    Ok,
    /// The callout was reset (`BrokenConnection`, message `reset`).
    Reset,
    /// A gRPC callout closed with this gRPC status and message (the message is cleared
    /// once `proxy_on_grpc_close` returns; the code stays, as in Envoy).
    Grpc(u32, String),
}

impl CalloutStatus {
    /// The code and the message `proxy_get_status` returns.
    pub fn code_and_message(&self) -> (u32, &str) {
        match self {
            CalloutStatus::Ok => (0, ""),
            CalloutStatus::Reset => (crate::abi::Status::BrokenConnection as u32, "reset"),
            CalloutStatus::Grpc(status, message) => (*status, message),
        }
    }
}

/// A shared queue.
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    /// The filter of a chain whose root registered it (0 for a single plugin).
    pub filter: usize,
    /// The vm id it belongs to.
    pub vm_id: String,
    /// Its name.
    pub name: String,
    /// The root context notified on enqueue.
    pub root: u32,
    /// Items, oldest first.
    pub items: VecDeque<Vec<u8>>,
}

/// A metric.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    /// Id handed to the plugin.
    pub id: u32,
    /// Kind.
    pub kind: MetricType,
    /// Name as defined.
    pub name: String,
    /// Counter or gauge value; histogram: last recorded value.
    pub value: i64,
    /// Histogram samples.
    pub samples: u64,
}

/// All observable state of one VM.
#[derive(Debug, Default)]
pub struct World {
    /// Resolved settings.
    pub cfg: Option<Resolved>,
    /// Virtual wall clock, ns since the epoch.
    pub now_ns: u64,
    /// Virtual monotonic clock, ns.
    pub mono_ns: u64,
    /// `random_get` state.
    pub rng: u64,
    /// Next context id.
    pub next_context_id: u32,
    /// The plugin's root context id.
    pub root_id: u32,
    /// Live contexts: id → parent (0 for roots).
    pub contexts: BTreeMap<u32, u32>,
    /// The context the current VM call is for (0: VM context, during start).
    pub current_context: u32,
    /// The current callback: name and index in the trace.
    pub current_callback: Option<(String, usize)>,
    /// `proxy_set_effective_context` for the rest of this VM call.
    pub effective: Option<u32>,
    /// Inside the start functions (only logging and WASI are allowed).
    pub in_start: bool,
    /// Buffer 7 is readable (root create and configure only).
    pub plugin_config_readable: bool,
    /// HTTP streams in flight, by context id.
    pub streams: BTreeMap<u32, HttpStream>,
    /// The stream whose callbacks the driver is running (the others wait).
    pub active_stream: Option<u32>,
    /// The L4 connection (network-filter runs only).
    pub connection: Option<TcpConnection>,
    /// What has happened on the connection so far (network-filter runs only).
    pub connection_outcome: Option<pwp_model::connection::ConnectionOutcome>,
    /// Shared data: key → (value, cas).
    pub shared_data: BTreeMap<String, (Vec<u8>, u32)>,
    /// Last CAS handed out.
    pub cas_counter: u32,
    /// Queues by token.
    pub queues: BTreeMap<u32, Queue>,
    /// Metrics in definition order.
    pub metrics: Vec<Metric>,
    /// Every callout, in order.
    pub callouts: Vec<Callout>,
    /// How many of them still wait for an answer (so that runs with many answered callouts
    /// do not scan them all after every callback).
    pub pending_callouts: usize,
    /// Next callout sequence number (token = seq * 4 + kind).
    pub next_callout_seq: u32,
    /// Tick period of the root context (0 = off).
    pub tick_period_ms: u32,
    /// When the next tick is due (virtual monotonic ns).
    pub next_tick_ns: u64,
    /// Actions applied after the current VM call.
    pub deferred: Vec<Deferred>,
    /// HTTP callout response during `proxy_on_http_call_response`.
    pub http_call_response: Option<(Vec<Pair>, Vec<u8>, Vec<Pair>)>,
    /// gRPC metadata during the metadata callbacks.
    pub grpc_metadata: Option<Vec<Pair>>,
    /// gRPC message during `proxy_on_grpc_receive`.
    pub grpc_message: Option<Vec<u8>>,
    /// Redis reply during `proxy_on_redis_call_response`.
    pub redis_response: Option<Vec<u8>>,
    /// Foreign-function arguments (buffer 8).
    pub call_data: Vec<u8>,
    /// The scenario's `mocks.foreign` (kept in step with mock edits during a run).
    pub foreign_mocks: Vec<pwp_model::scenario::ForeignMock>,
    /// What `proxy_get_status` reports (the root's last callout status).
    pub call_status: CalloutStatus,
    /// The trace.
    pub trace: Trace,
    /// Partial stdout/stderr lines.
    pub stdio: [Vec<u8>; 2],
    /// Property overrides by dotted path.
    pub properties: BTreeMap<String, Vec<u8>>,
    /// The root asked to finish later (`proxy_on_done` returned false).
    pub root_pending_done: bool,
    /// Notes for the user (strict-mode findings, unmatched mocks, ...).
    pub warnings: Vec<String>,
    /// Higress `proxy_set_upstream_override_host`.
    pub upstream_override_host: Option<String>,
    /// Higress Redis clusters initialised with `proxy_redis_init`, with the timeout (ms) each
    /// was given: Higress's client fails a command not answered within it.
    pub redis_clusters: BTreeMap<String, u32>,
    /// Data injected with `proxy_inject_encoded_data_to_filter_chain`.
    pub injected: Vec<u8>,
    /// Replayed request in progress.
    pub request_index: Option<u32>,
    /// The route the request matched (`xds.route_name`).
    pub route_name: String,
    /// The route's cluster (`xds.cluster_name`).
    pub route_cluster: String,
    /// Guest memory size in bytes, as last seen.
    pub memory_bytes: u64,
    /// Stream actions (continue, close) applied after the last call, for the HTTP flow.
    pub applied: Vec<Deferred>,
    /// The first failure of the run (plugin start, or a trap).
    pub failure: Option<Failure>,
    /// The run is over.
    pub finished: bool,
    /// One outcome per replayed request.
    pub outcomes: Vec<pwp_model::outcome::RequestOutcome>,
    /// Bytes the plugin made the host keep so far (see `limits.max_host_bytes`).
    pub host_bytes: u64,
    /// Several filters on the stream: what belongs to the filters and VMs not running now.
    pub chain: Option<Chain>,
    /// Several workers (concurrent streams): what belongs to the workers not running now.
    pub workers: Option<Workers>,
}

/// What belongs to one worker's VM while another worker runs: its contexts and context-id
/// counter, its root, streams, callouts, metrics and whatever the call into it in progress
/// left behind. Shared data, queues, the clock, the trace and the outcomes are process-wide.
#[derive(Debug, Default)]
pub struct WorkerSlot {
    next_context_id: u32,
    root_id: u32,
    contexts: BTreeMap<u32, u32>,
    current_context: u32,
    current_callback: Option<(String, usize)>,
    effective: Option<u32>,
    streams: BTreeMap<u32, HttpStream>,
    metrics: Vec<Metric>,
    callouts: Vec<Callout>,
    pending_callouts: usize,
    next_callout_seq: u32,
    tick_period_ms: u32,
    next_tick_ns: u64,
    deferred: Vec<Deferred>,
    http_call_response: Option<(Vec<Pair>, Vec<u8>, Vec<Pair>)>,
    grpc_metadata: Option<Vec<Pair>>,
    grpc_message: Option<Vec<u8>>,
    redis_response: Option<Vec<u8>>,
    call_data: Vec<u8>,
    call_status: CalloutStatus,
    stdio: [Vec<u8>; 2],
    root_pending_done: bool,
    upstream_override_host: Option<String>,
    redis_clusters: BTreeMap<String, u32>,
    injected: Vec<u8>,
    memory_bytes: u64,
    applied: Vec<Deferred>,
}

/// What belongs to one request in flight while another runs (concurrent streams): which
/// request and stream the driver runs.
#[derive(Debug, Default)]
pub struct LaneSlot {
    request_index: Option<u32>,
    active_stream: Option<u32>,
}

/// The workers of a concurrent run: the one running now, the parked state of the others,
/// and metric values, which Envoy keeps process-wide by name.
#[derive(Debug, Default)]
pub struct Workers {
    /// The worker running now (0-based; its state is in [`World`]).
    pub current: usize,
    /// Parked worker state, by worker (the current one's is empty).
    pub slots: Vec<WorkerSlot>,
    /// The value (and samples) of every metric by name, as of the last switch.
    metric_values: BTreeMap<String, (i64, u64)>,
}

impl Workers {
    /// `n` workers, the first one current.
    pub fn new(n: usize) -> Workers {
        Workers {
            current: 0,
            slots: (0..n)
                .map(|_| WorkerSlot {
                    next_context_id: 1,
                    ..WorkerSlot::default()
                })
                .collect(),
            metric_values: BTreeMap::new(),
        }
    }
}

/// What belongs to one VM: its contexts, callouts and metrics, and what the current call into
/// it left behind. Each VM of a chain keeps its own; the one running is in [`World`].
#[derive(Debug, Default)]
pub struct VmSlot {
    next_context_id: u32,
    contexts: BTreeMap<u32, u32>,
    metrics: Vec<Metric>,
    callouts: Vec<Callout>,
    pending_callouts: usize,
    next_callout_seq: u32,
    call_status: CalloutStatus,
    stdio: [Vec<u8>; 2],
    memory_bytes: u64,
    redis_clusters: BTreeMap<String, u32>,
    upstream_override_host: Option<String>,
    injected: Vec<u8>,
}

/// What belongs to one filter (one root context): its settings, its root and tick, and its
/// view of the stream (its context id and which maps it may touch now).
#[derive(Debug, Default)]
pub struct RootSlot {
    cfg: Option<Resolved>,
    root_id: u32,
    tick_period_ms: u32,
    next_tick_ns: u64,
    root_pending_done: bool,
    /// The filter's view of each stream in flight, by request: its context id (0 before the
    /// filter sees the stream) and which maps it may touch now.
    views: BTreeMap<u32, (u32, [Access; 6])>,
}

/// The filters of a chain: which VM each runs in, and the parked state of every filter and VM
/// but the current ones.
#[derive(Debug, Default)]
pub struct Chain {
    /// The filter running now (its state is in [`World`]).
    pub current: usize,
    /// The VM of each filter (filters sharing a VM share an index).
    pub vm_of: Vec<usize>,
    /// Parked filter state, by filter (the current one's is empty).
    pub roots: Vec<RootSlot>,
    /// Parked VM state, by VM (the current one's is empty).
    pub vms: Vec<VmSlot>,
    /// Shared data of the other `vm_id`s (Envoy scopes shared data by `vm_id`).
    pub spaces: BTreeMap<String, BTreeMap<String, (Vec<u8>, u32)>>,
    /// Each filter's plugin sha256.
    pub sha256: Vec<String>,
}

impl Chain {
    /// A chain whose filter `k` runs in VM `vm_of[k]`, filters 1.. with `cfgs[k - 1]` (filter
    /// 0's settings are the world's), over `vms` VMs.
    pub fn new(vm_of: Vec<usize>, cfgs: Vec<Resolved>, vms: usize, sha256: Vec<String>) -> Chain {
        let roots = std::iter::once(RootSlot::default())
            .chain(cfgs.into_iter().map(|cfg| RootSlot {
                cfg: Some(cfg),
                ..RootSlot::default()
            }))
            .collect();
        Chain {
            current: 0,
            vm_of,
            roots,
            vms: (0..vms)
                .map(|_| VmSlot {
                    next_context_id: 1,
                    ..VmSlot::default()
                })
                .collect(),
            spaces: BTreeMap::new(),
            sha256,
        }
    }
}

impl World {
    /// The filter of a chain running now (0 for a single plugin).
    pub fn filter(&self) -> usize {
        self.chain.as_ref().map_or(0, |c| c.current)
    }

    /// Makes filter `to` of the chain the current one: parks the state of the filter (and, if
    /// it changes, the VM and the shared-data space) running now and brings back `to`'s.
    /// Returns the VM index left and the one entered.
    pub(crate) fn switch_filter(&mut self, to: usize) -> (usize, usize) {
        let Some(mut chain) = self.chain.take() else {
            return (0, 0);
        };
        let from = chain.current;
        let (vm_from, vm_to) = (chain.vm_of[from], chain.vm_of[to]);
        if from != to {
            let vm_id_from = self.cfg().vm_id.clone();
            let mut parked = std::mem::take(&mut chain.roots[to]);
            self.swap_root(&mut parked);
            chain.roots[from] = parked;
            if vm_from != vm_to {
                let mut parked = std::mem::take(&mut chain.vms[vm_to]);
                self.swap_vm(&mut parked);
                chain.vms[vm_from] = parked;
            }
            let vm_id_to = self.cfg().vm_id.clone();
            if vm_id_from != vm_id_to {
                let space = chain.spaces.remove(&vm_id_to).unwrap_or_default();
                let old = std::mem::replace(&mut self.shared_data, space);
                chain.spaces.insert(vm_id_from, old);
            }
            chain.current = to;
        }
        self.chain = Some(chain);
        (vm_from, vm_to)
    }

    fn swap_root(&mut self, r: &mut RootSlot) {
        std::mem::swap(&mut self.cfg, &mut r.cfg);
        std::mem::swap(&mut self.root_id, &mut r.root_id);
        std::mem::swap(&mut self.tick_period_ms, &mut r.tick_period_ms);
        std::mem::swap(&mut self.next_tick_ns, &mut r.next_tick_ns);
        std::mem::swap(&mut self.root_pending_done, &mut r.root_pending_done);
        // Each stream is kept under the running filter's context id (a stream it has not
        // seen yet under [`HttpStream::chain_key`]).
        let active = self
            .active_stream
            .and_then(|k| self.streams.get(&k))
            .map(|s| s.index);
        let mut left = BTreeMap::new();
        for (_, mut s) in std::mem::take(&mut self.streams) {
            let (id, access) = r.views.remove(&s.index).unwrap_or_default();
            left.insert(s.index, (s.id, s.views()));
            s.id = id;
            s.set_views(access);
            let key = s.chain_key();
            if active == Some(s.index) {
                self.active_stream = Some(key);
            }
            self.streams.insert(key, s);
        }
        r.views = left;
    }

    fn swap_vm(&mut self, v: &mut VmSlot) {
        std::mem::swap(&mut self.next_context_id, &mut v.next_context_id);
        std::mem::swap(&mut self.contexts, &mut v.contexts);
        std::mem::swap(&mut self.metrics, &mut v.metrics);
        std::mem::swap(&mut self.callouts, &mut v.callouts);
        std::mem::swap(&mut self.pending_callouts, &mut v.pending_callouts);
        std::mem::swap(&mut self.next_callout_seq, &mut v.next_callout_seq);
        std::mem::swap(&mut self.call_status, &mut v.call_status);
        std::mem::swap(&mut self.stdio, &mut v.stdio);
        std::mem::swap(&mut self.memory_bytes, &mut v.memory_bytes);
        std::mem::swap(&mut self.redis_clusters, &mut v.redis_clusters);
        std::mem::swap(
            &mut self.upstream_override_host,
            &mut v.upstream_override_host,
        );
        std::mem::swap(&mut self.injected, &mut v.injected);
    }

    /// The worker running now, 1-based, with concurrent streams.
    pub fn worker(&self) -> Option<u32> {
        self.workers.as_ref().map(|w| w.current as u32 + 1)
    }

    /// A metric defined now starts at the value other workers gave the metric of that name.
    pub(crate) fn shared_metric_value(&self, name: &str) -> Option<(i64, u64)> {
        self.workers
            .as_ref()
            .and_then(|w| w.metric_values.get(name).copied())
    }

    /// Makes worker `to` the current one: parks the running worker's state and brings back
    /// `to`'s; metric values follow by name.
    pub(crate) fn switch_worker(&mut self, to: usize) {
        let Some(mut workers) = self.workers.take() else {
            return;
        };
        let from = workers.current;
        if from != to {
            for m in &self.metrics {
                workers
                    .metric_values
                    .insert(m.name.clone(), (m.value, m.samples));
            }
            let mut parked = std::mem::take(&mut workers.slots[to]);
            self.swap_worker(&mut parked);
            workers.slots[from] = parked;
            for m in &mut self.metrics {
                if let Some((value, samples)) = workers.metric_values.get(&m.name) {
                    m.value = *value;
                    m.samples = *samples;
                }
            }
            workers.current = to;
        }
        self.workers = Some(workers);
    }

    fn swap_worker(&mut self, w: &mut WorkerSlot) {
        use std::mem::swap;
        swap(&mut self.next_context_id, &mut w.next_context_id);
        swap(&mut self.root_id, &mut w.root_id);
        swap(&mut self.contexts, &mut w.contexts);
        swap(&mut self.current_context, &mut w.current_context);
        swap(&mut self.current_callback, &mut w.current_callback);
        swap(&mut self.effective, &mut w.effective);
        swap(&mut self.streams, &mut w.streams);
        swap(&mut self.metrics, &mut w.metrics);
        swap(&mut self.callouts, &mut w.callouts);
        swap(&mut self.pending_callouts, &mut w.pending_callouts);
        swap(&mut self.next_callout_seq, &mut w.next_callout_seq);
        swap(&mut self.tick_period_ms, &mut w.tick_period_ms);
        swap(&mut self.next_tick_ns, &mut w.next_tick_ns);
        swap(&mut self.deferred, &mut w.deferred);
        swap(&mut self.http_call_response, &mut w.http_call_response);
        swap(&mut self.grpc_metadata, &mut w.grpc_metadata);
        swap(&mut self.grpc_message, &mut w.grpc_message);
        swap(&mut self.redis_response, &mut w.redis_response);
        swap(&mut self.call_data, &mut w.call_data);
        swap(&mut self.call_status, &mut w.call_status);
        swap(&mut self.stdio, &mut w.stdio);
        swap(&mut self.root_pending_done, &mut w.root_pending_done);
        swap(
            &mut self.upstream_override_host,
            &mut w.upstream_override_host,
        );
        swap(&mut self.redis_clusters, &mut w.redis_clusters);
        swap(&mut self.injected, &mut w.injected);
        swap(&mut self.memory_bytes, &mut w.memory_bytes);
        swap(&mut self.applied, &mut w.applied);
    }

    /// Exchanges the running request's state with `l`'s (concurrent streams).
    pub(crate) fn swap_lane(&mut self, l: &mut LaneSlot) {
        std::mem::swap(&mut self.request_index, &mut l.request_index);
        std::mem::swap(&mut self.active_stream, &mut l.active_stream);
    }

    /// The root whose tick falls due first: (filter, period ms, due ns, root id).
    pub(crate) fn earliest_tick(&self) -> Option<(usize, u32, u64, u32)> {
        let mut best = (self.tick_period_ms != 0).then_some((
            self.filter(),
            self.tick_period_ms,
            self.next_tick_ns,
            self.root_id,
        ));
        if let Some(c) = &self.chain {
            for (i, r) in c.roots.iter().enumerate() {
                if i != c.current
                    && r.tick_period_ms != 0
                    && best.is_none_or(|b| r.next_tick_ns < b.2)
                {
                    best = Some((i, r.tick_period_ms, r.next_tick_ns, r.root_id));
                }
            }
        }
        best
    }

    /// The settings of filter `index` (the current one's, or a parked one's).
    pub fn filter_cfg(&self, index: usize) -> Option<&Resolved> {
        match &self.chain {
            Some(c) if c.current != index => c.roots.get(index)?.cfg.as_ref(),
            _ => self.cfg.as_ref(),
        }
    }

    /// What each filter of a chain did.
    fn filter_reports(&self) -> Vec<pwp_model::report::FilterReport> {
        let Some(c) = &self.chain else {
            return Vec::new();
        };
        (0..c.vm_of.len())
            .map(|i| {
                let mine = || {
                    self.trace
                        .callbacks
                        .iter()
                        .filter(move |cb| cb.filter == Some(i as u32))
                };
                pwp_model::report::FilterReport {
                    name: self.trace.filters.get(i).cloned().unwrap_or_default(),
                    sha256: c.sha256.get(i).cloned().unwrap_or_default(),
                    vm: c.vm_of[i],
                    callbacks: mine().count(),
                    request_headers: mine()
                        .filter(|cb| cb.name == "proxy_on_request_headers")
                        .count(),
                    error: mine().find_map(|cb| cb.error.clone()),
                }
            })
            .collect()
    }

    /// Every callout of every VM, the current VM's first.
    fn all_callouts(&self) -> Vec<&Callout> {
        let mut all: Vec<&Callout> = self.callouts.iter().collect();
        if let Some(c) = &self.chain {
            all.extend(c.vms.iter().flat_map(|v| v.callouts.iter()));
        }
        if let Some(w) = &self.workers {
            all.extend(w.slots.iter().flat_map(|v| v.callouts.iter()));
        }
        all
    }

    /// Every metric of every VM, the current VM's first.
    fn all_metrics(&self) -> Vec<&Metric> {
        let mut all: Vec<&Metric> = self.metrics.iter().collect();
        if let Some(c) = &self.chain {
            all.extend(c.vms.iter().flat_map(|v| v.metrics.iter()));
        }
        all
    }

    /// Shared data of every `vm_id`: the current one's keys as they are, the others' as
    /// `<vm_id>/<key>`.
    fn all_shared_data(&self) -> Vec<(String, &Vec<u8>)> {
        let mut all: Vec<(String, &Vec<u8>)> = self
            .shared_data
            .iter()
            .map(|(k, (v, _))| (k.clone(), v))
            .collect();
        if let Some(c) = &self.chain {
            for (vm_id, space) in &c.spaces {
                all.extend(space.iter().map(|(k, (v, _))| (format!("{vm_id}/{k}"), v)));
            }
        }
        all
    }
}

impl World {
    /// The resolved settings. Panics only on a host bug (they are set before any call).
    pub fn cfg(&self) -> &Resolved {
        self.cfg
            .as_ref()
            .expect("settings are resolved before the first call")
    }

    /// The context host calls act on: the effective context, else the current one.
    pub fn target_context(&self) -> u32 {
        self.effective.unwrap_or(self.current_context)
    }

    /// The root of a context.
    pub fn root_of(&self, id: u32) -> u32 {
        match self.contexts.get(&id) {
            Some(0) | None => id,
            Some(parent) => *parent,
        }
    }

    /// The stream, if `id` is its context.
    pub fn stream_for(&mut self, id: u32) -> Option<&mut HttpStream> {
        self.streams.get_mut(&id)
    }

    /// The stream to show: the one host calls act on now, else the one the driver is
    /// running, else the first in flight.
    pub fn stream(&self) -> Option<&HttpStream> {
        self.streams
            .get(&self.target_context())
            .or_else(|| self.active_stream.and_then(|id| self.streams.get(&id)))
            .or_else(|| self.streams.values().next())
    }

    /// The request a callback or callout for context `id` belongs to: its stream's, else
    /// the request being run.
    pub fn request_of(&self, id: u32) -> Option<u32> {
        self.streams
            .get(&id)
            .map(|s| s.index)
            .or(self.request_index)
    }

    /// The connection, if `id` is its context.
    pub fn connection_for(&mut self, id: u32) -> Option<&mut TcpConnection> {
        self.connection.as_mut().filter(|c| c.id == id)
    }

    /// Appends a log line, honouring the log level and the line limit.
    pub fn log(&mut self, level: LogLevel, source: LogSource, message: String) {
        if level
            < self
                .cfg
                .as_ref()
                .map(|c| c.log_level)
                .unwrap_or(LogLevel::Trace)
            && source != LogSource::Host
        {
            return;
        }
        let max = self
            .cfg
            .as_ref()
            .map(|c| c.limits.max_log_lines)
            .unwrap_or(10_000);
        if self.trace.logs.len() >= max as usize {
            self.trace.logs_dropped += 1;
            return;
        }
        let (callback, callback_index) = match &self.current_callback {
            Some((n, i)) => (Some(n.clone()), Some(*i)),
            None => (None, None),
        };
        self.trace.logs.push(LogLine {
            level,
            message,
            callback,
            callback_index,
            source,
        });
    }

    /// Writes stdout (fd 1) or stderr (fd 2) output as log lines: info and error, as Envoy.
    pub fn stdio(&mut self, fd: u32, bytes: &[u8]) {
        let (level, source, slot) = if fd == 1 {
            (LogLevel::Info, LogSource::Stdout, 0)
        } else {
            (LogLevel::Error, LogSource::Stderr, 1)
        };
        if self.cfg().raw_stdio {
            let text = String::from_utf8_lossy(bytes);
            let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
            if !text.is_empty() {
                self.log(level, source, text);
            }
            return;
        }
        self.stdio[slot].extend_from_slice(bytes);
        if self.stdio[slot].len() > MAX_PARTIAL_LINE && !self.stdio[slot].contains(&b'\n') {
            // A line that never ends is shown in pieces rather than buffered forever.
            let piece = std::mem::take(&mut self.stdio[slot]);
            self.log(level, source, String::from_utf8_lossy(&piece).into_owned());
        }
        while let Some(pos) = self.stdio[slot].iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.stdio[slot].drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            self.log(level, source, text);
        }
    }

    /// Flushes partial stdout/stderr lines (at the end of each callback).
    pub fn flush_stdio(&mut self) {
        for (slot, fd) in [(0usize, 1u32), (1, 2)] {
            if !self.stdio[slot].is_empty() {
                let rest = std::mem::take(&mut self.stdio[slot]);
                let mut rest = rest;
                rest.push(b'\n');
                self.stdio(fd, &rest);
            }
        }
    }

    /// A note from the host itself, shown with the logs.
    pub fn note(&mut self, message: impl Into<String>) {
        self.log(LogLevel::Info, LogSource::Host, message.into());
    }

    /// Next pseudo-random u64 (splitmix64; seeded by the scenario).
    pub fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Accounts for `bytes` the plugin makes the host keep (or gather at once).
    ///
    /// # Errors
    ///
    /// A `host_memory_limit` failure to trap the plugin with, past `limits.max_host_bytes`.
    pub fn retain(&mut self, bytes: u64) -> Result<(), LimitExceeded> {
        let max = self.cfg().limits.max_host_bytes;
        self.host_bytes = self.host_bytes.saturating_add(bytes);
        if self.host_bytes > max {
            return Err(LimitExceeded {
                kind: crate::trace::FailureKind::HostMemoryLimit,
                message: format!(
                    "the plugin made the host keep more than {} MiB (logs, output, shared data, queues, properties); raise limits.max_host_bytes if it really needs that",
                    max >> 20
                ),
            });
        }
        Ok(())
    }

    /// When the next delayed callout answer is due, if one is waiting.
    pub fn next_answer_due(&self) -> Option<u64> {
        if self.pending_callouts == 0 {
            return None;
        }
        self.callouts
            .iter()
            .filter(|c| c.pending)
            .filter_map(|c| c.due_ns)
            .min()
    }

    /// When the next delayed callout answer of any VM of a chain is due, and the filter that
    /// made the call (for a single plugin: [`World::next_answer_due`], filter 0).
    pub(crate) fn next_answer_due_in_chain(&self) -> Option<(u64, usize)> {
        let Some(c) = &self.chain else {
            return self.next_answer_due().map(|due| (due, 0));
        };
        std::iter::once((self.pending_callouts, &self.callouts))
            .chain(c.vms.iter().map(|v| (v.pending_callouts, &v.callouts)))
            .filter(|(pending, _)| *pending > 0)
            .flat_map(|(_, callouts)| callouts.iter())
            .filter(|c| c.pending)
            .filter_map(|c| c.due_ns.map(|d| (d, c.filter)))
            .min()
    }

    /// The callout with `token`.
    pub fn callout_mut(&mut self, token: u32) -> Option<&mut Callout> {
        self.callouts.iter_mut().find(|c| c.token == token)
    }

    /// The report of the run so far, with `expect` checked against it.
    pub fn report(&self, info: &PluginInfo, memory_pages: Vec<u32>, expect: &Expect) -> Report {
        let mut r = self.report_head(info);
        r.callbacks = self.trace.callbacks.clone();
        r.logs = self.trace.logs.clone();
        r.timeline = self.trace.timeline.clone();
        r.memory_pages = memory_pages;
        r.requests = self.outcomes.clone();
        r.expectations = check(&r, expect);
        r
    }

    /// The report of the run so far without the lists that grow with it: no callbacks, log
    /// lines, timeline, memory pages or requests, and no expectations (they need those). Its
    /// cost does not grow with the number of requests (a chain's filter summaries aside).
    pub fn report_head(&self, info: &PluginInfo) -> Report {
        let last = self.outcomes.last();
        let mut r = Report {
            abi: info.abi,
            plugin: info.clone(),
            profile: if self.cfg.as_ref().is_some_and(|c| c.higress) {
                Emulated::Higress
            } else {
                Emulated::Envoy
            },
            callbacks: Vec::new(),
            logs: Vec::new(),
            timeline: Vec::new(),
            upstream_request: last.and_then(|o| o.upstream_request.clone()),
            client_response: last.and_then(|o| o.client_response.clone()),
            callouts: self
                .all_callouts()
                .into_iter()
                .map(Callout::report)
                .collect(),
            metrics: self
                .all_metrics()
                .into_iter()
                .map(|m| (m.name.clone(), m.value))
                .collect(),
            shared_data: self
                .all_shared_data()
                .into_iter()
                .map(|(k, v)| (k, Body::from_bytes(v)))
                .collect(),
            memory_pages: Vec::new(),
            requests: Vec::new(),
            expectations: Vec::new(),
            warnings: self.warnings.clone(),
            error: self.failure.clone(),
            connection: self.connection_outcome.clone(),
            filters: self.filter_reports(),
        };
        if self.trace.logs_dropped > 0 {
            r.warnings.push(format!(
                "{} log lines were dropped after the first {} (raise limits.max_log_lines to keep more)",
                self.trace.logs_dropped,
                self.trace.logs.len()
            ));
        }
        r
    }
}
