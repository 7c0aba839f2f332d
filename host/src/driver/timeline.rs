//! The virtual clock and the scenario's events: ticks, clock advances and delayed callout
//! answers fire in virtual-time order; requests start; injected events run while paused.

use super::{Driver, Pause};
use crate::scenario::Event;
use crate::trace::{TimelineEvent, TimelineMark};

/// The most ticks and delayed answers one clock advance fires (a plugin ticking every
/// millisecond while the clock moves a day must not make a run that never ends).
const MAX_FIRED_PER_ADVANCE: u32 = 10_000;

/// How far past the last event the clock runs on to deliver answers still due: a day.
const MAX_DRAIN_NS: u64 = 86_400_000_000_000;

/// What falls due next on the virtual clock.
enum Due {
    /// A root context's timer (of this filter of a chain; 0 for a single plugin).
    Tick(usize),
    /// A delayed callout answer (to this filter of a chain; 0 for a single plugin).
    Answer(usize),
}

impl Driver {
    /// Runs one event of the timeline.
    pub(crate) async fn event(&mut self, event: &Event) {
        match event {
            Event::Tick(t) => {
                for _ in 0..t.count {
                    if !self.tick().await {
                        break;
                    }
                }
            }
            Event::AdvanceMs(ms) => self.advance_clock(ms.saturating_mul(1_000_000)).await,
            Event::Request(r) => {
                let index = self.started;
                self.started += 1;
                self.request(index, r).await;
            }
        }
    }

    /// Moves the clock to the next tick due and fires it (and what falls due before it).
    /// Returns false when the plugin set no tick period: Envoy has no timer to fire then.
    async fn tick(&mut self) -> bool {
        // In a chain, the filter whose tick falls due first.
        let (period, due) = self
            .world
            .borrow()
            .earliest_tick()
            .map_or((0, 0), |(_, period, due, _)| (period, due));
        if period == 0 || self.failed {
            if period == 0 {
                self.world.borrow_mut().note(
                    "tick: the plugin set no tick period (proxy_set_tick_period_milliseconds), so Envoy fires nothing",
                );
                self.mark(TimelineEvent::NoTick);
            }
            return false;
        }
        let now = self.world.borrow().mono_ns;
        self.advance_clock(due.saturating_sub(now)).await;
        true
    }

    /// Moves the virtual clock forward by `ns`, firing the ticks and the delayed callout
    /// answers that fall due, in virtual-time order.
    pub(crate) async fn advance_clock(&mut self, ns: u64) {
        let target = self.world.borrow().mono_ns.saturating_add(ns);
        // In a chain, each tick and answer runs in its own filter; the one running before
        // (an advance injected while a request runs) is back afterwards.
        let back = self.world.borrow().filter();
        let mut fired = 0;
        while fired < MAX_FIRED_PER_ADVANCE && !self.failed {
            let Some((at, due)) = self.next_due().filter(|(at, _)| *at <= target) else {
                break;
            };
            self.set_clock(at);
            match due {
                Due::Answer(filter) => {
                    self.activate(filter);
                    self.settle().await;
                }
                Due::Tick(filter) => {
                    self.activate(filter);
                    let (period, root) = {
                        let w = self.world.borrow();
                        (w.tick_period_ms, w.root_id)
                    };
                    self.world.borrow_mut().next_tick_ns =
                        at.saturating_add(u64::from(period) * 1_000_000);
                    // A tick belongs to no request, even while requests are in flight.
                    let before = self.world.borrow_mut().request_index.take();
                    let _ = self.call("proxy_on_tick", &[i64::from(root)], root).await;
                    self.settle().await;
                    self.world.borrow_mut().request_index = before;
                }
            }
            self.wake_parked().await;
            fired += 1;
        }
        self.activate(back);
        self.set_clock(target);
    }

    /// The earliest of the next tick and the next delayed answer, if any.
    fn next_due(&self) -> Option<(u64, Due)> {
        let w = self.world.borrow();
        let answer = w.next_answer_due_in_chain();
        let tick = w.earliest_tick().map(|(filter, _, due, _)| (due, filter));
        match (answer, tick) {
            (Some((a, _)), Some((t, f))) if t < a => Some((t, Due::Tick(f))),
            (Some((a, f)), _) => Some((a, Due::Answer(f))),
            (None, Some((t, f))) => Some((t, Due::Tick(f))),
            (None, None) => None,
        }
    }

    /// After the last event: the clock runs on until the delayed answers still due have
    /// arrived (ticks due on the way fire), at most a day of virtual time.
    pub(crate) async fn drain(&mut self) {
        let start = self.world.borrow().mono_ns;
        for _ in 0..MAX_FIRED_PER_ADVANCE {
            if self.failed {
                return;
            }
            let (now, due) = {
                let w = self.world.borrow();
                (w.mono_ns, w.next_answer_due_in_chain())
            };
            let Some((due, _)) = due else { return };
            if due.saturating_sub(start) > MAX_DRAIN_NS {
                self.world.borrow_mut().note(
                    "a delayed callout answer is due more than a day after the last event; it was not delivered",
                );
                return;
            }
            self.advance_clock(due.saturating_sub(now)).await;
        }
    }

    /// Moves both clocks to virtual monotonic time `mono` (never backwards).
    pub(crate) fn set_clock(&mut self, mono: u64) {
        let moved = {
            let mut w = self.world.borrow_mut();
            if mono > w.mono_ns {
                let d = mono - w.mono_ns;
                w.mono_ns = mono;
                w.now_ns = w.now_ns.saturating_add(d);
                d
            } else {
                0
            }
        };
        if moved > 0 {
            self.mark(TimelineEvent::Clock { by_ns: moved });
        }
    }

    /// Records a timeline mark before the next callback (runs with events only).
    pub(crate) fn mark(&mut self, event: TimelineEvent) {
        if !self.marks {
            return;
        }
        let mut w = self.world.borrow_mut();
        let before = w.trace.callbacks.len();
        // Virtual time since the plugin started (the monotonic clock starts at 1 s).
        let at_ns = w.mono_ns.saturating_sub(1_000_000_000);
        // Two clock moves in a row are one.
        if let (Some(last), TimelineEvent::Clock { by_ns }) = (w.trace.timeline.last_mut(), &event)
            && last.before == before
            && let TimelineEvent::Clock { by_ns: prev } = &mut last.event
        {
            *prev = prev.saturating_add(*by_ns);
            last.at_ns = at_ns;
            return;
        }
        w.trace.timeline.push(TimelineMark {
            before,
            at_ns,
            event,
        });
    }

    /// Runs the events added while paused, if any (not while the plugin runs, and not
    /// nested), then pauses so the caller sees what they did.
    pub(crate) async fn run_injected(&mut self) {
        if self.injecting || self.control.injected.borrow().is_empty() {
            return;
        }
        self.injecting = true;
        self.marks = true;
        loop {
            let next = self.control.injected.borrow_mut().pop_front();
            let Some(event) = next else { break };
            Box::pin(self.event(&event)).await;
        }
        self.injecting = false;
        self.y.pause(Pause::Injected).await;
    }
}
