//! The worker's state and what it does with each message, without the browser: the web glue
//! (`web.rs`) feeds it messages and calls [`Engine::pump`] between them, one fuel slice at a
//! time, so a [`ToWorker::Cancel`] is read at the next slice.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use pwp_host::foreign::ForeignEngine;
use pwp_host::{LoadError, Plugin, Session, SessionError, Step, StepUntil};
use pwp_proto::{
    CallbackDetail, DeltaWriter, EngineChoice, FromWorker, ReportDelta, RunId, RunLists, Snapshot,
    Stop, Summary, SummaryWriter, ToWorker, WireRefusal,
};

use crate::warmup;

/// Fuel per slice: 15-50 ms of interpretation in Chromium (BENCHMARKS.md). Between slices the
/// worker reads its messages (Cancel).
pub const SLICE_FUEL: u64 = 3_000_000;

/// A progress message at most this often (µs of the engine's clock): each one carries a
/// report delta; building a whole report's is linear in the run so far (a summary's is not).
const PROGRESS_EVERY_US: f64 = 250_000.0;

/// A summarised run's progress goes out sooner once this many callbacks wait to be sent:
/// ~300 KB of JSON, which the page reads within a frame or two even before the browser has
/// optimised its decoder (a fast replay makes ~40,000 callbacks a second).
const PROGRESS_ROWS: usize = 3_000;

/// How long one pump may go on through yields (between callbacks, fuel slices) before the
/// worker reads its messages: a Cancel waits at most this plus one fuel slice.
const PUMP_US: f64 = 10_000.0;

/// How long the worker must have heard nothing before it compiles a module for wasmi that a
/// run on the browser's engine does not need: ~100 ms of work that a file chosen or a Run
/// clicked must not queue behind. Stepping, which needs it, comes later than this.
const QUIET_US: f64 = 1_500_000.0;

/// Work done while the page has asked for nothing else.
enum Job {
    /// Compile a module for the browser's engine, its memory capped at `pages`.
    Browser { sha256: String, pages: u32 },
    /// Compile a module for wasmi (stepping, breakpoints), then say [`FromWorker::Loaded`];
    /// `quiet` waits for [`QUIET_US`] without a message first.
    Wasmi { sha256: String, quiet: bool },
}

/// The session of the page's current run.
struct Live {
    run: RunId,
    session: Session,
    writer: DeltaWriter,
    /// Set once a step asked for summaries: every snapshot after is one.
    summaries: Option<SummaryWriter>,
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
    /// Inspected or loaded modules by sha256, compiled once (after [`ToWorker::Load`]).
    plugins: HashMap<String, Rc<Plugin>>,
    /// Compilations to do when nothing else runs, in order.
    jobs: VecDeque<Job>,
    /// When the last message came (µs of `now_us`).
    heard_us: f64,
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
            jobs: VecDeque::new(),
            heard_us: now_us(),
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
        self.heard_us = (self.now_us)();
        match message {
            ToWorker::Inspect {
                id,
                sha256,
                browser_pages,
            } => {
                let bytes = bytes.into_iter().next().unwrap_or_default();
                let sha256 = sha256.unwrap_or_else(|| pwp_host::sha256_hex(&bytes));
                let info = self
                    .hold(sha256.clone(), bytes)
                    .map(|plugin| Box::new(plugin.info().clone()));
                // The module the user just chose is compiled before anything queued earlier.
                if let Some(pages) = browser_pages.filter(|_| self.browser.is_some())
                    && info.is_ok()
                {
                    self.jobs.push_front(Job::Browser { sha256, pages });
                }
                out(FromWorker::Inspected { id, info });
            }
            ToWorker::Load {
                plugins,
                browser_pages,
            } => {
                let pages = browser_pages.filter(|_| self.browser.is_some());
                for (sha256, bytes) in plugins.into_iter().zip(bytes) {
                    if let Err(e) = self.hold(sha256.clone(), bytes) {
                        let error = Some(e.to_string());
                        out(FromWorker::Loaded { sha256, error });
                        continue;
                    }
                    if let Some(pages) = pages {
                        let sha256 = sha256.clone();
                        self.jobs.push_back(Job::Browser { sha256, pages });
                    }
                    let quiet = pages.is_some();
                    self.jobs.push_back(Job::Wasmi { sha256, quiet });
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
                            summaries: None,
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
                summaries,
            } => {
                let now = (self.now_us)();
                if let Some(live) = self.live_mut(run) {
                    live.session.breakpoints = breakpoints;
                    if summaries && live.summaries.is_none() {
                        live.summaries = Some(SummaryWriter::default());
                    }
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
            ToWorker::Detail { run, callback } => {
                if let Some(live) = self.live_mut(run) {
                    let detail = {
                        let world = live.session.world();
                        let trace = &world.trace;
                        CallbackDetail::of(&trace.callbacks, &trace.logs, callback).map(Box::new)
                    };
                    out(FromWorker::Detail {
                        run,
                        callback,
                        detail,
                    });
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

    /// The module `sha256`, read from `bytes` unless it is held already: a module inspected
    /// before, or chosen again, keeps what was compiled for it.
    fn hold(&mut self, sha256: String, bytes: Vec<u8>) -> Result<&Rc<Plugin>, LoadError> {
        match self.plugins.entry(sha256) {
            Entry::Occupied(held) => Ok(held.into_mut()),
            Entry::Vacant(slot) => {
                let plugin = Plugin::load_hashed(bytes, Some(slot.key().clone()))?;
                Ok(slot.insert(Rc::new(plugin)))
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

    /// Runs one fuel slice of the current step (or one compilation, or a slice of the
    /// warm-up); true when there is more to do now ([`Engine::wake_in_ms`] says when a job that
    /// waits for silence may run).
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
                        let waiting = live.summaries.as_ref().map_or(0, |w| {
                            live.session
                                .world()
                                .trace
                                .callbacks
                                .len()
                                .saturating_sub(w.sent())
                        });
                        if now - drive.reported_us >= PROGRESS_EVERY_US || waiting >= PROGRESS_ROWS
                        {
                            drive.reported_us = now;
                            let slices = drive.slices;
                            out(FromWorker::Progress {
                                run: live.run,
                                snapshot: Box::new(snapshot(live, slices, false)),
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
        if self.live.as_ref().is_none_or(|l| l.drive.is_none())
            && let Some(job) = self.next_job()
        {
            self.run(job, out);
            return true;
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

impl Engine {
    /// The next job that may run now: the browser's compilations at once, wasmi's after
    /// [`QUIET_US`] of silence when asked.
    fn next_job(&mut self) -> Option<Job> {
        let quiet = (self.now_us)() - self.heard_us >= QUIET_US;
        let at = self
            .jobs
            .iter()
            .position(|j| !matches!(j, Job::Wasmi { quiet: true, .. }) || quiet)?;
        self.jobs.remove(at)
    }

    /// Milliseconds until a job waiting for silence may run, if one waits (the web glue
    /// sets a timer to pump again then).
    pub fn wake_in_ms(&self) -> Option<f64> {
        self.jobs
            .iter()
            .any(|j| matches!(j, Job::Wasmi { quiet: true, .. }))
            .then(|| ((self.heard_us + QUIET_US - (self.now_us)()) / 1000.0).max(0.0) + 1.0)
    }

    fn run(&mut self, job: Job, out: &mut dyn FnMut(FromWorker)) {
        match job {
            Job::Browser { sha256, pages } => {
                if let (Some(plugin), Some(engine)) = (self.plugins.get(&sha256), &self.browser) {
                    // A module the engine refuses is named by the run that uses it.
                    let _ = pwp_host::foreign::precompile(engine.as_ref(), plugin, pages);
                }
            }
            Job::Wasmi { sha256, .. } => {
                if let Some(plugin) = self.plugins.get(&sha256) {
                    let error = plugin.compile().err();
                    out(FromWorker::Loaded { sha256, error });
                }
            }
        }
    }
}

/// What the panes show now; `end`: the step ended (a summary then checks the expectations).
fn snapshot(live: &mut Live, slices: u32, end: bool) -> Snapshot {
    let s = &live.session;
    let (report, summary) = match &mut live.summaries {
        None => (live.writer.delta(s.report()), None),
        Some(writer) => {
            let (delta, summary) = summarise(s, writer, end);
            (delta, Some(summary))
        }
    };
    Snapshot {
        slices,
        paused: s.paused_at().cloned(),
        report,
        stream: s.world().stream().cloned(),
        connection: s.world().connection.clone(),
        browser_engine: !s.steppable(),
        summary,
    }
}

/// A summarised snapshot's report: the head of the report and the summaries of what was
/// added since the last; at the end of a step, with the scenario's expectations checked
/// against the whole run (what they read, the callbacks aside).
fn summarise(s: &Session, writer: &mut SummaryWriter, end: bool) -> (ReportDelta, Summary) {
    let world = s.world();
    let head = world.report_head(s.info());
    // Checked on the whole report once, at the end: an expectation may count host calls,
    // which the summary leaves out.
    let expectations = end.then(|| s.report().expectations);
    let (mut delta, summary) = writer.delta(
        head,
        RunLists {
            callbacks: &world.trace.callbacks,
            logs: &world.trace.logs,
            timeline: &world.trace.timeline,
            requests: &world.outcomes,
        },
    );
    if let Some(e) = expectations {
        delta.report.expectations = e;
    }
    (delta, summary)
}

fn stopped(live: &mut Live, how: Stop, slices: u32) -> FromWorker {
    FromWorker::Stopped {
        run: live.run,
        how,
        snapshot: Box::new(snapshot(live, slices, true)),
    }
}
