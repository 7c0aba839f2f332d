//! The worker's state and what it does with each message, without the browser: the web glue
//! (`web.rs`) feeds it messages and calls [`Engine::pump`] between them, one fuel slice at a
//! time, so a [`ToWorker::Cancel`] is read at the next slice.

use std::collections::HashMap;
use std::rc::Rc;

use pwp_host::foreign::ForeignEngine;
use pwp_host::{Plugin, Session, SessionError, Step, StepUntil};
use pwp_proto::{
    DeltaWriter, EngineChoice, FromWorker, RunId, Snapshot, Stop, ToWorker, WireRefusal,
};

use crate::warmup;

/// Fuel per slice: 15-50 ms of interpretation in Chromium (BENCHMARKS.md). Between slices the
/// worker reads its messages (Cancel).
pub const SLICE_FUEL: u64 = 3_000_000;

/// A progress message at most this often (µs of the engine's clock): each one carries a
/// report delta, and building the report is linear in the run so far.
const PROGRESS_EVERY_US: f64 = 250_000.0;

/// How long one pump may go on through yields (between callbacks, fuel slices) before the
/// worker reads its messages: a Cancel waits at most this plus one fuel slice.
const PUMP_US: f64 = 10_000.0;

/// The session of the page's current run.
struct Live {
    run: RunId,
    session: Session,
    writer: DeltaWriter,
    /// Set while a [`ToWorker::Step`] runs.
    drive: Option<Drive>,
}

/// A step being run.
struct Drive {
    until: StepUntil,
    /// Yields so far: fuel slices, and the points between callbacks.
    slices: u32,
    /// When progress was last reported (or the step began).
    reported_us: f64,
}

/// The warm-up: not started, running, or over (done, or given up for the user's run).
enum Warm {
    NotYet,
    Running(Box<Session>),
    Over,
}

/// Everything the worker holds.
pub struct Engine {
    /// Inspected or loaded modules by sha256, compiled once (on [`ToWorker::Load`]).
    plugins: HashMap<String, Rc<Plugin>>,
    live: Option<Live>,
    warm: Warm,
    /// The clock for callback durations, microseconds.
    now_us: fn() -> f64,
    /// The browser's own engine, for [`EngineChoice::Browser`] (none natively).
    browser: Option<Box<dyn ForeignEngine>>,
}

impl Engine {
    /// An engine with nothing loaded; `now_us` times callbacks; `browser` runs sessions that
    /// ask for the browser's engine (without one they run on the interpreter).
    pub fn new(now_us: fn() -> f64, browser: Option<Box<dyn ForeignEngine>>) -> Engine {
        Engine {
            plugins: HashMap::new(),
            live: None,
            warm: Warm::NotYet,
            now_us,
            browser,
        }
    }

    /// Handles one message; `bytes` are the modules a [`ToWorker::Load`] names, in order, or
    /// the one of [`ToWorker::Inspect`].
    pub fn handle(
        &mut self,
        message: ToWorker,
        bytes: Vec<Vec<u8>>,
        out: &mut dyn FnMut(FromWorker),
    ) {
        match message {
            ToWorker::Inspect { id, sha256 } => {
                let bytes = bytes.into_iter().next().unwrap_or_default();
                let info = Plugin::load_hashed(bytes, Some(sha256.clone())).map(|plugin| {
                    let info = Box::new(plugin.info().clone());
                    self.plugins.insert(sha256, Rc::new(plugin));
                    info
                });
                out(FromWorker::Inspected { id, info });
            }
            ToWorker::Load { plugins } => {
                for (sha256, bytes) in plugins.into_iter().zip(bytes) {
                    // A module inspected before is read already.
                    let plugin = match self.plugins.get(&sha256) {
                        Some(plugin) => Ok(plugin.clone()),
                        None => Plugin::load_hashed(bytes, Some(sha256.clone())).map(Rc::new),
                    };
                    let error = match plugin {
                        Ok(plugin) => {
                            let error = plugin.compile().err();
                            self.plugins.insert(sha256.clone(), plugin);
                            error
                        }
                        Err(e) => Some(e.to_string()),
                    };
                    out(FromWorker::Loaded { sha256, error });
                }
            }
            ToWorker::Start {
                run,
                plugins,
                scenario,
                engine,
            } => {
                // The user's run warms the engine itself; the warm-up gives way for good.
                self.warm = Warm::Over;
                self.live = None;
                match self.start(&plugins, *scenario, engine) {
                    Ok(session) => {
                        self.live = Some(Live {
                            run,
                            session,
                            writer: DeltaWriter::default(),
                            drive: None,
                        });
                    }
                    Err((message, refusal)) => out(FromWorker::Refused {
                        run,
                        message,
                        refusal,
                    }),
                }
            }
            ToWorker::Step {
                run,
                until,
                breakpoints,
            } => {
                let now = (self.now_us)();
                if let Some(live) = self.live_mut(run) {
                    live.session.breakpoints = breakpoints;
                    live.drive = Some(Drive {
                        until,
                        slices: 0,
                        reported_us: now,
                    });
                }
            }
            ToWorker::Cancel { run } => {
                if let Some(live) = self.live_mut(run)
                    && let Some(drive) = live.drive.take()
                {
                    out(stopped(live, Stop::Cancelled, drive.slices));
                }
            }
            ToWorker::AnswerCallout { run, token, answer } => {
                if let Some(live) = self.live_mut(run) {
                    live.session.answer_callout(token, answer);
                }
            }
            ToWorker::Inject { run, event } => {
                if let Some(live) = self.live_mut(run) {
                    live.session.inject(event);
                }
            }
            ToWorker::UpdateMocks { run, mocks } => {
                if let Some(live) = self.live_mut(run) {
                    let answered = live.session.update_mocks(*mocks);
                    out(FromWorker::MocksUpdated { run, answered });
                }
            }
            ToWorker::Forget => self.live = None,
            ToWorker::WarmUp => {
                if matches!(self.warm, Warm::NotYet) {
                    self.warm =
                        warmup::session().map_or(Warm::Over, |s| Warm::Running(Box::new(s)));
                }
            }
        }
    }

    fn live_mut(&mut self, run: RunId) -> Option<&mut Live> {
        self.live.as_mut().filter(|l| l.run == run)
    }

    /// A session of `plugins` (by sha256), or why there is none.
    fn start(
        &self,
        plugins: &[String],
        scenario: pwp_host::Scenario,
        engine: EngineChoice,
    ) -> Result<Session, (String, Option<WireRefusal>)> {
        let mut chain = Vec::new();
        for (k, sha) in plugins.iter().enumerate() {
            let plugin = self.plugins.get(sha).ok_or_else(|| {
                (
                    format!(
                        "the engine has no module for filter {} (load it again)",
                        k + 1
                    ),
                    None,
                )
            })?;
            chain.push(&**plugin);
        }
        let browser = match engine {
            EngineChoice::Browser => self.browser.as_deref(),
            EngineChoice::Interpreter => None,
        };
        let session = Session::with_chain_on(&chain, scenario, browser).map_err(|e| match e {
            SessionError::Refused(refusal) => (
                format!("{} would refuse to load this plugin", refusal.proxy),
                Some(WireRefusal::from(&refusal)),
            ),
            other => (other.to_string(), None),
        })?;
        session.control().slice_fuel.set(SLICE_FUEL);
        session.control().interactive_callouts.set(true);
        session.control().yield_between_callbacks.set(true);
        session.control().now_us.set(self.now_us);
        Ok(session)
    }

    /// Runs one fuel slice of the current step (or of the warm-up); true when there is more
    /// to do.
    pub fn pump(&mut self, out: &mut dyn FnMut(FromWorker)) -> bool {
        if let Some(live) = self.live.as_mut()
            && let Some(drive) = live.drive.as_mut()
        {
            let until = drive.until;
            let started = (self.now_us)();
            loop {
                match live.session.step(until) {
                    Step::Yielded => {
                        drive.slices += 1;
                        let now = (self.now_us)();
                        if now - drive.reported_us >= PROGRESS_EVERY_US {
                            drive.reported_us = now;
                            let slices = drive.slices;
                            out(FromWorker::Progress {
                                run: live.run,
                                snapshot: Box::new(snapshot(live, slices)),
                            });
                            return true;
                        }
                        if now - started >= PUMP_US {
                            return true;
                        }
                    }
                    Step::Paused(_) => {
                        let slices = drive.slices;
                        live.drive = None;
                        out(stopped(live, Stop::Paused, slices));
                        return false;
                    }
                    Step::Finished => {
                        let slices = drive.slices;
                        live.drive = None;
                        out(stopped(live, Stop::Finished, slices));
                        return false;
                    }
                }
            }
        }
        if let Warm::Running(session) = &mut self.warm {
            match session.step(StepUntil::Breakpoint) {
                Step::Yielded => return true,
                // Nothing in the warm-up pauses (no breakpoints, callouts answered by mocks);
                // should it, give up rather than spin.
                Step::Finished | Step::Paused(_) => {
                    self.warm = Warm::Over;
                    out(FromWorker::Warm);
                }
            }
        }
        false
    }
}

fn snapshot(live: &mut Live, slices: u32) -> Snapshot {
    let s = &live.session;
    Snapshot {
        slices,
        paused: s.paused_at().cloned(),
        report: live.writer.delta(s.report()),
        stream: s.world().stream().cloned(),
        connection: s.world().connection.clone(),
        browser_engine: !s.steppable(),
    }
}

fn stopped(live: &mut Live, how: Stop, slices: u32) -> FromWorker {
    FromWorker::Stopped {
        run: live.run,
        how,
        snapshot: Box::new(snapshot(live, slices)),
    }
}
