//! Concurrent streams, as Envoy runs them: one VM per worker thread (each runs its own
//! start-up and counts its own context ids: root 1, streams 2, 3, ...), shared data and
//! shared queues process-wide, and one VM never inside two callbacks at once.
//!
//! Every request in flight is a *lane*: an ordinary [`Driver`] running that one request
//! through the single-plugin code, unchanged. The [`Scheduler`] polls one lane at a time.
//! A lane stops at a *switch point* (before each callback; after each shared-data or
//! shared-queue host call, in the middle of a callback) by yielding without a [`Pause`]:
//! the scheduler then picks who runs next (the scenario's `order`, else round robin), swaps
//! the per-worker and per-request state of the [`World`] and polls that lane at once. A
//! switch is never a pause the user sees; a lane's own pauses (before a callback, after a host
//! call when stepping, a fuel slice, a callout waiting for an answer) go up to the session
//! as they always do, so stepping, breakpoints and injected events work in every lane.
//!
//! A worker's VM lives in [`Switcher::vms`] while no lane runs a callback in it. A lane that
//! stops before a callback gives the VM back; one that stops in the middle of a callback
//! keeps it, and until it goes on no other lane of that worker may run.
//!
//! [`Pause`]: super::Pause

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{Control, Driver, Held, YieldOnce, Yielder};
use crate::scenario::{Event, RequestEvent, Scenario};
use crate::state::{LaneSlot, World};
use crate::trace::{Failure, TimelineEvent, TimelineMark};
use crate::vm::Vm;

/// What the lanes and the scheduler share.
#[derive(Default)]
pub(crate) struct Switcher {
    /// Every worker has started: lanes stop at switch points.
    on: Cell<bool>,
    /// Set by a lane that stops at a switch point: `Some(None)` before a callback,
    /// `Some(Some(at))` in the middle of one.
    asked: RefCell<Option<Option<After>>>,
    /// Each worker's VM and whether it failed, while no lane holds it.
    vms: RefCell<Vec<Option<(Vm, bool)>>>,
    /// Callbacks begun by any lane so far.
    progress: Cell<u64>,
    /// Requests not ended yet.
    live: Cell<usize>,
}

/// Where a lane stopped in the middle of a callback.
pub(crate) struct After {
    /// The host call just made.
    pub name: String,
    /// The callback's index in the trace.
    pub callback: usize,
    /// The host call's position in it.
    pub hostcall: usize,
}

/// A driver that is a lane of a concurrent run.
pub(crate) struct LaneOf {
    /// Its worker (0-based).
    pub worker: usize,
    /// The scheduler's switch state.
    pub sw: Rc<Switcher>,
    /// It ran a callback, or is inside one, since it was last switched in.
    pub ran: bool,
    /// No switch before the next callbacks: a callout answer is staged for them.
    pub hold: bool,
}

impl Driver {
    /// Switch points are live (a lane, after start-up).
    pub(crate) fn interleaving(&self) -> bool {
        self.lane.as_ref().is_some_and(|l| l.sw.on.get())
    }

    /// Takes the worker's VM (the scheduler runs a lane only when it is free).
    fn acquire_vm(&mut self) {
        let Some(l) = &self.lane else { return };
        let (vm, failed) = l.sw.vms.borrow_mut()[l.worker]
            .take()
            .expect("the scheduler runs a lane only when its worker's VM is free");
        self.vm.put(vm);
        self.failed = failed;
    }

    /// Gives the worker's VM back.
    fn release_vm(&mut self) {
        let Some(l) = &self.lane else { return };
        let vm = self.vm.take();
        l.sw.vms.borrow_mut()[l.worker] = Some((vm, self.failed));
    }

    /// A callback begins (another lane's waiting stream may be woken by it).
    pub(crate) fn lane_progress(&mut self) {
        if let Some(l) = self.lane.as_mut() {
            l.ran = true;
            l.sw.progress.set(l.sw.progress.get() + 1);
        }
    }

    /// The lane's request waits (paused, nothing resumed it yet): while other requests run,
    /// one of their callbacks may resume it (another stream's callback, a callout answer to
    /// the root). It stops waiting when it goes on, when it is the last request left, or when
    /// the others ran no callback since it last looked.
    async fn wait_parked(&mut self) {
        let Some(sw) = self.lane.as_ref().map(|l| l.sw.clone()) else {
            return;
        };
        let mut seen = None;
        loop {
            if !self.parked.is_empty() {
                self.wake_parked().await;
            }
            let progress = sw.progress.get();
            if self.parked.is_empty() || sw.live.get() <= 1 || seen == Some(progress) {
                return;
            }
            seen = Some(progress);
            self.switch_point(None).await;
        }
    }

    /// A switch point: before a callback (`after` is `None`) or after a host call. The
    /// scheduler may run other lanes before this one goes on.
    pub(crate) async fn switch_point(&mut self, after: Option<After>) {
        if !self.interleaving() {
            return;
        }
        let mid = after.is_some();
        if !mid {
            self.release_vm();
        }
        let sw = self.lane.as_ref().map(|l| l.sw.clone());
        if let Some(sw) = sw {
            *sw.asked.borrow_mut() = Some(after);
        }
        YieldOnce(false).await;
        if !mid {
            self.acquire_vm();
        }
        if let Some(l) = self.lane.as_mut() {
            l.ran = mid;
        }
    }
}

type Lane = Pin<Box<dyn Future<Output = ()>>>;
type Start = Pin<Box<dyn Future<Output = Result<(), Failure>>>>;

/// One request of the run.
struct LaneState {
    worker: usize,
    event: RequestEvent,
    /// Running (admitted and not ended).
    fut: Option<Lane>,
    admitted: bool,
    done: bool,
    /// Its request state while another lane runs.
    slot: LaneSlot,
}

/// Runs the workers' start-up one after another, then the requests' lanes, switching between
/// them at switch points.
pub(crate) struct Scheduler {
    world: Rc<RefCell<World>>,
    sw: Rc<Switcher>,
    scenario: Scenario,
    y: Yielder,
    control: Rc<Control>,
    starts: VecDeque<(usize, Start)>,
    lanes: Vec<LaneState>,
    in_flight: usize,
    order: Vec<u32>,
    cursor: usize,
    /// The lane running now.
    current: Option<usize>,
    /// Per worker: the lane stopped in the middle of a callback in its VM.
    holder: Vec<Option<usize>>,
    began: bool,
}

impl Scheduler {
    /// A run of `scenario` (with `concurrency`) on `vms`, one per worker, all sharing `world`.
    pub(crate) fn new(
        world: Rc<RefCell<World>>,
        vms: Vec<Vm>,
        scenario: Scenario,
        y: Yielder,
        control: Rc<Control>,
    ) -> Scheduler {
        let c = scenario.concurrency.clone().unwrap_or_default();
        let workers = vms.len().max(1);
        let sw = Rc::new(Switcher {
            vms: RefCell::new(vms.into_iter().map(|v| Some((v, false))).collect()),
            ..Switcher::default()
        });
        let lanes: Vec<LaneState> = scenario
            .timeline()
            .into_iter()
            .filter_map(|e| match e {
                Event::Request(r) => Some(*r),
                _ => None,
            })
            .enumerate()
            .map(|(k, event)| LaneState {
                worker: event
                    .worker
                    .map_or(k % workers, |w| (w as usize).saturating_sub(1) % workers),
                event,
                fut: None,
                admitted: false,
                done: false,
                slot: LaneSlot::default(),
            })
            .collect();
        let in_flight = c.in_flight.map_or(lanes.len(), |n| n as usize).max(1);
        let mut s = Scheduler {
            world,
            sw,
            scenario,
            y,
            control,
            starts: VecDeque::new(),
            lanes,
            in_flight,
            order: c.order,
            cursor: 0,
            current: None,
            holder: vec![None; workers],
            began: false,
        };
        for w in 0..workers {
            let mut d = s.driver(w, false);
            s.starts.push_back((
                w,
                Box::pin(async move {
                    d.acquire_vm();
                    let r = d.start().await;
                    d.release_vm();
                    r
                }),
            ));
        }
        s
    }

    fn driver(&self, worker: usize, marks: bool) -> Driver {
        Driver {
            vm: Held::none(),
            world: self.world.clone(),
            scenario: self.scenario.clone(),
            y: self.y.clone(),
            control: self.control.clone(),
            failed: false,
            last_callback: None,
            parked: Default::default(),
            chain_parked: Default::default(),
            started: 0,
            marks,
            injecting: false,
            waking: false,
            other_vms: vec![None],
            lane: Some(LaneOf {
                worker,
                sw: self.sw.clone(),
                ran: false,
                hold: false,
            }),
        }
    }

    /// Starts lanes, in request order, while fewer than `in_flight` run.
    fn admit(&mut self) {
        let running = self.lanes.iter().filter(|l| l.admitted && !l.done).count();
        let mut room = self.in_flight.saturating_sub(running);
        for k in 0..self.lanes.len() {
            if room == 0 {
                break;
            }
            if self.lanes[k].admitted {
                continue;
            }
            let mut d = self.driver(self.lanes[k].worker, true);
            let event = self.lanes[k].event.clone();
            let index = k as u32;
            self.lanes[k].fut = Some(Box::pin(async move {
                d.acquire_vm();
                d.request(index, &event).await;
                d.wait_parked().await;
                d.drain().await;
                d.stall_waiting().await;
                d.release_vm();
            }));
            self.lanes[k].admitted = true;
            room -= 1;
        }
    }

    /// The lane may run now: admitted, not ended, and its worker's VM is free or its own.
    fn runnable(&self, k: usize) -> bool {
        let l = &self.lanes[k];
        l.admitted
            && !l.done
            && (self.sw.vms.borrow()[l.worker].is_some() || self.holder[l.worker] == Some(k))
    }

    /// Who runs next: the next runnable entry of `order`, else the next runnable lane after
    /// `after` (round robin).
    fn pick(&mut self, after: Option<usize>) -> Option<usize> {
        while self.cursor < self.order.len() {
            let k = (self.order[self.cursor] as usize).saturating_sub(1);
            self.cursor += 1;
            if k < self.lanes.len() && self.runnable(k) {
                return Some(k);
            }
        }
        let n = self.lanes.len();
        let start = after.map_or(0, |a| a + 1);
        (0..n).map(|i| (start + i) % n).find(|k| self.runnable(*k))
    }

    /// Makes lane `to` the running one (its worker's and its request's state), marking the
    /// switch on the timeline when `from` stopped at a switch point (`after`).
    fn go(&mut self, from: Option<usize>, to: usize, after: Option<Option<After>>) {
        if from == Some(to) {
            return;
        }
        let mut w = self.world.borrow_mut();
        if let Some(f) = from {
            let mut s = LaneSlot::default();
            w.swap_lane(&mut s);
            self.lanes[f].slot = s;
        }
        w.switch_worker(self.lanes[to].worker);
        let mut s = std::mem::take(&mut self.lanes[to].slot);
        w.swap_lane(&mut s);
        if let (Some(f), Some(after)) = (from, after) {
            let before = w.trace.callbacks.len();
            let at_ns = w.mono_ns.saturating_sub(1_000_000_000);
            w.trace.timeline.push(TimelineMark {
                before,
                at_ns,
                event: TimelineEvent::Switch {
                    request: to as u32,
                    worker: self.lanes[to].worker as u32 + 1,
                    from_request: f as u32,
                    from_worker: self.lanes[f].worker as u32 + 1,
                    at: after.as_ref().map(|a| (a.callback, a.hostcall)),
                    after: after.map(|a| a.name),
                },
            });
        }
        self.current = Some(to);
    }

    fn finish(&mut self) {
        let mut w = self.world.borrow_mut();
        let mut s = LaneSlot::default();
        w.swap_lane(&mut s);
        // The report reads the first worker's state as the current one.
        w.switch_worker(0);
        w.finished = true;
    }
}

impl Future for Scheduler {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Start-up: each worker's VM in turn, as each worker thread starts its own.
        while let Some((w, start)) = this.starts.front_mut() {
            this.world.borrow_mut().switch_worker(*w);
            match start.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(f)) => {
                    let mut w = this.world.borrow_mut();
                    w.failure = Some(f);
                    w.switch_worker(0);
                    w.finished = true;
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(())) => {
                    this.starts.pop_front();
                }
            }
        }
        if !this.began {
            this.began = true;
            this.sw.on.set(true);
            this.sw.live.set(this.lanes.len());
            this.admit();
            match this.pick(None) {
                Some(first) => this.go(None, first, None),
                None => {
                    this.finish();
                    return Poll::Ready(());
                }
            }
        }
        loop {
            let Some(cur) = this.current else {
                this.finish();
                return Poll::Ready(());
            };
            let worker = this.lanes[cur].worker;
            let Some(fut) = this.lanes[cur].fut.as_mut() else {
                this.finish();
                return Poll::Ready(());
            };
            match fut.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let lane = &mut this.lanes[cur];
                    lane.done = true;
                    lane.fut = None;
                    this.sw.live.set(this.sw.live.get().saturating_sub(1));
                    this.holder[worker] = None;
                    this.admit();
                    match this.pick(Some(cur)) {
                        Some(next) => this.go(Some(cur), next, None),
                        None => {
                            this.finish();
                            return Poll::Ready(());
                        }
                    }
                }
                Poll::Pending => {
                    let Some(after) = this.sw.asked.borrow_mut().take() else {
                        // A pause the session shows (the lane set it).
                        return Poll::Pending;
                    };
                    this.holder[worker] = after.is_some().then_some(cur);
                    let next = this.pick(Some(cur)).unwrap_or(cur);
                    this.go(Some(cur), next, Some(after));
                }
            }
        }
    }
}
