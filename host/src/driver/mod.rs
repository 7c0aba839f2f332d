//! The driver: Envoy's sequence of callbacks, written as straight-line async code.
//!
//! The lifecycle (start-up, then the scenario's events in order: requests, ticks and clock
//! advances; per request: context create, request headers, body chunks, trailers, response
//! headers, ..., log, done, delete) reads top to bottom. A request the plugin pauses waits,
//! as data ([`http::Parked`]), while later events run; the callback that resumes it (a tick, a
//! callout answer due on the virtual clock, another stream's callback) picks it up where it
//! stopped. Every call into
//! the plugin is a point where the driver may pause: before a callback, after a host call,
//! when a fuel slice ends, or while a callout waits for an answer. The async function is
//! polled by [`crate::Session`] with a no-op waker; a pause is simply `Pending`, so stepping,
//! breakpoints and "never freeze the page" all fall out of one mechanism.
//!
//! Concurrent streams ([`concurrent`]) reuse it unchanged: each request in flight is its own
//! driver (a lane), and a small scheduler polls one lane at a time, switching between them at
//! switch points that are `Pending` without a [`Pause`], so the session never sees them.

pub(crate) mod call;
mod chain;
pub(crate) mod concurrent;
mod http;
mod network;
mod timeline;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::scenario::{Event, Scenario};
use crate::state::World;
use crate::trace::{Failure, FailureKind};
use crate::vm::Vm;

pub(crate) use call::CallOutcome;
pub use pwp_model::run::{CalloutAnswer, GrpcAnswer, Pause};

/// Settings the session can change between steps.
#[derive(Debug)]
pub struct Control {
    /// Fuel per slice before the driver yields.
    pub slice_fuel: Cell<u64>,
    /// Pause after each host call.
    pub step_into: Cell<bool>,
    /// [`Session::step`](crate::Session::step) also returns [`Step::Yielded`](crate::Step)
    /// before each callback it does not stop at, so that a caller with other work (the engine
    /// worker reading a Cancel) gets control back between callbacks too: fuel slices are per
    /// callback, and a replay of small callbacks never ends one.
    pub yield_between_callbacks: Cell<bool>,
    /// Pause on callouts no mock answers, instead of answering them with a reset.
    pub interactive_callouts: Cell<bool>,
    /// Answers given by the user, by token.
    pub answers: RefCell<BTreeMap<u32, CalloutAnswer>>,
    /// Mocks that replace the scenario's for the rest of the run (edited while paused).
    pub mocks: RefCell<Option<crate::scenario::Mocks>>,
    /// Wall-clock microseconds, for durations (performance.now in the browser).
    pub now_us: Cell<fn() -> f64>,
    /// Events added while paused (the app's Tick and Advance clock): they run at the next
    /// point where the plugin is not running, then the driver pauses with
    /// [`Pause::Injected`].
    pub injected: RefCell<VecDeque<Event>>,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            slice_fuel: Cell::new(u64::MAX),
            step_into: Cell::new(false),
            yield_between_callbacks: Cell::new(false),
            interactive_callouts: Cell::new(false),
            answers: RefCell::new(BTreeMap::new()),
            mocks: RefCell::new(None),
            now_us: Cell::new(default_now_us),
            injected: RefCell::new(VecDeque::new()),
        }
    }
}

/// A duration in microseconds to 0.01 µs (10 ns, below any clock's useful resolution): the
/// difference of two clock readings in floating point is `5279.009999999998` where `5279.01`
/// is meant, and reports print it.
pub(crate) fn round_us(us: f64) -> f64 {
    (us * 100.0).round() / 100.0
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn default_now_us() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e6
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn default_now_us() -> f64 {
    0.0
}

/// Where the driver reports pauses.
#[derive(Clone, Default)]
pub(crate) struct Yielder {
    slot: Rc<RefCell<Option<Pause>>>,
}

impl Yielder {
    pub(crate) fn slot(&self) -> Rc<RefCell<Option<Pause>>> {
        self.slot.clone()
    }

    /// Suspends the driver once, reporting `p`.
    pub(crate) async fn pause(&self, p: Pause) {
        *self.slot.borrow_mut() = Some(p);
        YieldOnce(false).await;
    }
}

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

/// The VM a driver runs: always there, except in a concurrent run's lane whose worker's VM
/// another lane holds ([`concurrent`]).
pub(crate) struct Held(Option<Vm>);

impl Held {
    pub(crate) fn new(vm: Vm) -> Held {
        Held(Some(vm))
    }

    /// None yet: a lane gets its worker's VM when it first runs.
    pub(crate) fn none() -> Held {
        Held(None)
    }

    pub(crate) fn take(&mut self) -> Vm {
        self.0.take().expect("the driver holds its VM")
    }

    pub(crate) fn put(&mut self, vm: Vm) {
        self.0 = Some(vm);
    }
}

impl std::ops::Deref for Held {
    type Target = Vm;
    fn deref(&self) -> &Vm {
        self.0.as_ref().expect("the driver holds its VM")
    }
}

impl std::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut Vm {
        self.0.as_mut().expect("the driver holds its VM")
    }
}

/// Everything the driver works with.
pub(crate) struct Driver {
    pub vm: Held,
    pub world: Rc<RefCell<World>>,
    pub scenario: Scenario,
    pub y: Yielder,
    pub control: Rc<Control>,
    /// The VM failed (trap in a callback): later callbacks are skipped, as in Envoy.
    pub failed: bool,
    /// Trace index of the last callback called, if it ran.
    pub last_callback: Option<usize>,
    /// Requests that wait for a resume, by stream context id.
    pub parked: BTreeMap<u32, http::Parked>,
    /// A chain's requests that wait for a resume, by request index.
    pub chain_parked: BTreeMap<u32, chain::ChainParked>,
    /// Requests started so far.
    pub started: u32,
    /// Record timeline marks (runs with `events`, or once events are injected).
    pub marks: bool,
    /// Running injected events now.
    pub injecting: bool,
    /// Waking waiting streams now ([`Driver::wake_parked`]).
    pub waking: bool,
    /// The other VMs of a chain, by VM index (`None` for the one in `vm`), with whether each
    /// has failed.
    pub other_vms: Vec<Option<(Vm, bool)>>,
    /// A lane of a concurrent run: its worker and the scheduler's switch state.
    pub lane: Option<concurrent::LaneOf>,
}

impl Driver {
    /// Runs the whole scenario: plugin start, then its events (v1: `requests` requests,
    /// `clock.interval_ms` apart), then what is still due; a request still waiting stalls.
    pub(crate) async fn run(mut self) {
        let started = if self.world.borrow().chain.is_some() {
            self.start_chain().await
        } else {
            self.start().await
        };
        if let Err(f) = started {
            self.world.borrow_mut().failure = Some(f);
            self.world.borrow_mut().finished = true;
            return;
        }
        if self.scenario.connection.is_some() {
            self.connection().await;
            self.world.borrow_mut().finished = true;
            return;
        }
        let v1 = self.scenario.events.is_empty();
        self.marks = !v1;
        for event in self.scenario.timeline() {
            self.run_injected().await;
            self.event(&event).await;
            // Events added while the last callback was paused run before anything ends.
            self.run_injected().await;
            if v1 {
                // Version 1: a request does not wait for the next one; it ends first.
                self.drain().await;
                self.stall_waiting().await;
            }
        }
        self.drain().await;
        self.stall_waiting().await;
        self.run_injected().await;
        // The report reads the first filter's VM and shared data as the current ones.
        self.activate(0);
        self.world.borrow_mut().finished = true;
    }

    /// Makes filter `to` of a chain the current one: its VM, its root and its view of the
    /// stream (a no-op for a single plugin).
    pub(crate) fn activate(&mut self, to: usize) {
        let (from_vm, to_vm) = self.world.borrow_mut().switch_filter(to);
        if from_vm != to_vm
            && let Some((vm, failed)) = self.other_vms.get_mut(to_vm).and_then(Option::take)
        {
            let old_vm = std::mem::replace(&mut self.vm, Held::new(vm)).take();
            let old_failed = std::mem::replace(&mut self.failed, failed);
            self.other_vms[from_vm] = Some((old_vm, old_failed));
        }
    }

    /// Start-up of a chain: each VM's start functions once (in the order of the first filter
    /// that uses it), and each filter's root context, in chain order.
    async fn start_chain(&mut self) -> Result<(), Failure> {
        let vm_of = self
            .world
            .borrow()
            .chain
            .as_ref()
            .map(|c| c.vm_of.clone())
            .unwrap_or_default();
        let mut started = std::collections::BTreeSet::new();
        for (i, vm) in vm_of.iter().enumerate() {
            self.activate(i);
            if started.insert(*vm) {
                self.start_functions().await?;
            }
            self.start_root().await?;
        }
        self.activate(0);
        Ok(())
    }

    /// VM start as Envoy does it: start functions, root context, vm start, configure.
    async fn start(&mut self) -> Result<(), Failure> {
        self.start_functions().await?;
        self.start_root().await
    }

    /// The module's start functions (`_initialize` and `main`, or `_start`).
    async fn start_functions(&mut self) -> Result<(), Failure> {
        self.world.borrow_mut().in_start = true;
        let start = if self.vm.has("_initialize") {
            let r = self.call_checked("_initialize", &[], 0).await;
            if r.is_ok() {
                if self.vm.has("main") {
                    self.call_checked("main", &[0, 0], 0).await.map(|_| ())
                } else if self.vm.has("__main_void") {
                    self.call_checked("__main_void", &[], 0).await.map(|_| ())
                } else {
                    Ok(())
                }
            } else {
                r.map(|_| ())
            }
        } else if self.vm.has("_start") {
            self.call_checked("_start", &[], 0).await.map(|_| ())
        } else {
            Ok(())
        };
        self.world.borrow_mut().in_start = false;
        start.map_err(|mut f| {
            if f.kind == FailureKind::Trap {
                f.kind = FailureKind::StartFailed;
            }
            f
        })
    }

    /// A root context: create, VM start, configure, as Envoy starts a plugin in its VM.
    async fn start_root(&mut self) -> Result<(), Failure> {
        let root = {
            let mut w = self.world.borrow_mut();
            let id = w.next_context_id;
            w.next_context_id += 1;
            w.root_id = id;
            w.contexts.insert(id, 0);
            w.plugin_config_readable = true;
            id
        };
        self.configure(root).await.map_err(|mut f| {
            if f.kind == FailureKind::Trap {
                f.kind = FailureKind::ConfigureFailed;
                f.message = format!(
                    "{}; Envoy refuses the plugin and rejects the whole configuration update",
                    f.message
                );
            }
            f
        })?;
        self.world.borrow_mut().plugin_config_readable = false;
        self.settle().await;
        if self.failed {
            return Err(self.world.borrow().failure.clone().unwrap_or_else(|| {
                refused(
                    FailureKind::ConfigureFailed,
                    "the plugin failed while starting",
                )
            }));
        }
        Ok(())
    }

    /// Root context create, VM start and configure (buffer 7 readable throughout).
    async fn configure(&mut self, root: u32) -> Result<(), Failure> {
        self.call_checked("proxy_on_context_create", &[i64::from(root), 0], root)
            .await?;
        let (vm_len, cfg_len) = {
            let w = self.world.borrow();
            (
                w.cfg().vm_config.len() as i64,
                w.cfg().plugin_config.len() as i64,
            )
        };
        if self.vm.has("proxy_on_vm_start") {
            let ok = self
                .call_checked("proxy_on_vm_start", &[i64::from(root), vm_len], root)
                .await?;
            if ok == Some(0) {
                return Err(refused(
                    FailureKind::VmStartFailed,
                    "proxy_on_vm_start returned false",
                ));
            }
        }
        if self.vm.has("proxy_on_configure") {
            let ok = self
                .call_checked("proxy_on_configure", &[i64::from(root), cfg_len], root)
                .await?;
            if ok == Some(0) {
                return Err(refused(
                    FailureKind::ConfigureFailed,
                    "proxy_on_configure returned false: the plugin rejected its configuration",
                ));
            }
        }
        Ok(())
    }

    /// Calls a callback; a failure is returned as `Err` (and marks the VM failed).
    pub(crate) async fn call_checked(
        &mut self,
        name: &str,
        args: &[i64],
        context: u32,
    ) -> Result<Option<i64>, Failure> {
        match self.call(name, args, context).await {
            CallOutcome::Missing => Ok(None),
            CallOutcome::Returned(r) => Ok(r),
            CallOutcome::Failed(f) => Err(f),
        }
    }
}

/// A start-up failure that is the plugin's own answer, not a trap.
fn refused(kind: FailureKind, message: &str) -> Failure {
    Failure {
        kind,
        message: format!(
            "{message}; Envoy refuses the plugin and rejects the whole configuration update"
        ),
        callback: None,
        backtrace: Vec::new(),
        panic: None,
        wasm_backtrace: Vec::new(),
    }
}
