//! A run of one scenario against one plugin, which the caller advances step by step or runs
//! to the end. The app steps it from UI events and in fuel slices; `pwp` runs it to the end.

use std::cell::{Ref, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use base64::Engine as _;

use crate::driver::{CalloutAnswer, Control, Driver, Pause, Yielder};
use crate::info::{LoadError, PluginInfo};
use crate::plugin::Plugin;
use crate::report::Report;
use crate::scenario::{PropertyValue, Scenario};
use crate::shape::Shape;
use crate::state::{Resolved, World};
use crate::vm::{ForeignEngine, ForeignModule, Vm};
pub use pwp_model::run::{Breakpoints, Refusal, StepUntil, load_refusal};

/// Why a session could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    /// The bytes are not a usable plugin.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The emulated proxy (Envoy, or Higress under that profile) would refuse to load the
    /// module, and the scenario is not `lenient`.
    #[error("{0}; set settings.lenient to run it anyway")]
    Refused(Refusal),
    /// Compiling, linking or instantiating failed.
    #[error("{0}")]
    Instantiate(String),
}

/// What a step ended on.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Paused here.
    Paused(Pause),
    /// A fuel slice ended; call `step` again to go on (lets a UI breathe).
    Yielded,
    /// The run is over; [`Session::report`] has the result.
    Finished,
}

/// A scenario running against a plugin.
pub struct Session {
    future: Option<Pin<Box<dyn Future<Output = ()>>>>,
    slot: Rc<RefCell<Option<Pause>>>,
    control: Rc<Control>,
    world: Rc<RefCell<World>>,
    info: Rc<PluginInfo>,
    scenario: Scenario,
    /// Where to stop on `StepUntil::Breakpoint`.
    pub breakpoints: Breakpoints,
    paused: Option<Pause>,
    /// On wasmi (not on a foreign engine).
    steppable: bool,
}

/// A VM for `plugin` on a foreign engine: the module's memory capped at `pages`, its imports
/// resolved as wasmi's linker resolves them. wasmi does not compile the module for it; when
/// the engine refuses the module, wasmi's reason is given if wasmi refuses it too, so that
/// both engines name a broken module alike.
fn foreign_vm(
    engine: &dyn ForeignEngine,
    plugin: &Plugin,
    world: Rc<RefCell<World>>,
    pages: u32,
) -> Result<Vm, SessionError> {
    let broken = |engine_says: String| match plugin.compiled() {
        Err(wasmi_says) => SessionError::Instantiate(wasmi_says),
        Ok(_) => SessionError::Instantiate(engine_says),
    };
    let shape = plugin.shape().map_err(broken)?;
    let imports = crate::hostcalls::imports(&shape, pages)
        .map_err(|e| SessionError::Instantiate(format!("linking failed: {e}")))?;
    let exports = Rc::new(shape.func_exports());
    let bytes = plugin.prepared(pages);
    let module = foreign_module(plugin, &bytes, &imports, &shape, pages);
    Vm::new_foreign(engine, &module, exports, world, pages).map_err(broken)
}

fn foreign_module<'a>(
    plugin: &Plugin,
    bytes: &'a [u8],
    imports: &'a [crate::hostcalls::Import],
    shape: &Shape,
    pages: u32,
) -> ForeignModule<'a> {
    ForeignModule {
        key: format!("{}:{pages}", plugin.info().sha256),
        bytes,
        imports,
        allocator: crate::vm::allocator(shape),
    }
}

/// Compiles `plugin` on `engine` for runs whose memory limit is `pages`, ahead of the first
/// one: the worker does it while the page shows the import report, so that Run does not wait.
///
/// # Errors
///
/// Why the module cannot be read or compiled (a run would say the same).
pub fn precompile(engine: &dyn ForeignEngine, plugin: &Plugin, pages: u32) -> Result<(), String> {
    let shape = plugin.shape()?;
    let imports = crate::hostcalls::imports(&shape, pages).map_err(|e| e.to_string())?;
    let bytes = plugin.prepared(pages);
    engine.precompile(&foreign_module(plugin, &bytes, &imports, &shape, pages))
}

impl Session {
    /// Loads `bytes` and prepares `scenario`. Nothing runs until the first step.
    ///
    /// # Errors
    ///
    /// [`SessionError`] says why the plugin cannot run.
    pub fn new(bytes: &[u8], scenario: Scenario) -> Result<Session, SessionError> {
        Session::with_plugin(&Plugin::load(bytes)?, scenario)
    }

    /// Prepares `scenario` on a plugin that is already loaded, compiling it if that has not
    /// happened yet. Sessions made from one [`Plugin`] share its compiled code.
    ///
    /// # Errors
    ///
    /// [`SessionError`] says why the plugin cannot run.
    pub fn with_plugin(plugin: &Plugin, scenario: Scenario) -> Result<Session, SessionError> {
        if !scenario.chain.is_empty() {
            return Err(SessionError::Instantiate(format!(
                "the scenario chains {} filters: load every plugin of the chain (Session::with_chain)",
                scenario.filter_count()
            )));
        }
        Session::with_chain(&[plugin], scenario)
    }

    /// Prepares a scenario whose `chain` lists more filters: `plugins[0]` is the scenario's
    /// own plugin, `plugins[k]` the plugin of `chain[k - 1]`. Filters with the same module,
    /// `vm_id` and VM configuration share one VM, as in Envoy; the others get their own.
    ///
    /// # Errors
    ///
    /// [`SessionError`] says why a plugin cannot run, or that the plugins do not match the
    /// chain.
    pub fn with_chain(plugins: &[&Plugin], scenario: Scenario) -> Result<Session, SessionError> {
        Session::with_chain_on(plugins, scenario, None)
    }

    /// [`Session::with_chain`] with the plugins instantiated on `engine` (the browser's own
    /// `WebAssembly`) instead of wasmi, when one is given and the run can do without what
    /// only wasmi has: pausing inside a callback (stepping into host calls, concurrent
    /// workers) and fuel. Such a run pauses only between callbacks; [`Session::steppable`]
    /// says which engine was used.
    ///
    /// # Errors
    ///
    /// As [`Session::with_chain`].
    pub fn with_chain_on(
        plugins: &[&Plugin],
        scenario: Scenario,
        engine: Option<&dyn ForeignEngine>,
    ) -> Result<Session, SessionError> {
        if plugins.len() != scenario.filter_count() {
            return Err(SessionError::Instantiate(format!(
                "the scenario has {} filters but {} plugins were given",
                scenario.filter_count(),
                plugins.len()
            )));
        }
        // A scenario built in code, not parsed, is checked here.
        scenario
            .check_concurrency()
            .map_err(SessionError::Instantiate)?;
        let plugin = plugins[0];
        let info = plugin.shared_info();
        let cfg = Resolved::new(&scenario, &info);
        let refusal = load_refusal(&info, &scenario);
        if let Some(refusal) = &refusal
            && !scenario.settings.lenient
        {
            return Err(SessionError::Refused(refusal.clone()));
        }
        let pages = cfg.limits.memory_pages;
        let mut world = World {
            now_ns: scenario.clock.start_unix_ms.saturating_mul(1_000_000),
            mono_ns: 1_000_000_000,
            rng: scenario.settings.seed,
            next_context_id: 1,
            route_name: scenario.route.name.clone(),
            route_cluster: scenario.route.cluster.clone(),
            foreign_mocks: scenario.mocks.foreign.clone(),
            ..World::default()
        };
        for (path, value) in &scenario.properties {
            world.properties.insert(path.clone(), property_bytes(value));
        }
        if let Some(refusal) = refusal {
            world.warnings.push(format!(
                "settings.lenient: running a plugin {} would refuse to load: {}",
                refusal.proxy,
                refusal.problems.join("; ")
            ));
        }
        world.cfg = Some(cfg);
        // Each further filter: its settings, and the VM it runs in.
        let mut cfgs = Vec::new();
        let mut vm_of = vec![0];
        let mut vm_keys = vec![(
            info.sha256.clone(),
            scenario.settings.vm_id.clone(),
            world.cfg().vm_config.clone(),
        )];
        let mut vm_plugins = vec![plugin];
        for (k, p) in plugins.iter().enumerate().skip(1) {
            let s = scenario.filter(k).expect("one plugin per filter");
            let cfg = Resolved::new(&s, p.info());
            if let Some(refusal) = load_refusal(p.info(), &s) {
                if !scenario.settings.lenient {
                    return Err(SessionError::Refused(refusal));
                }
                world.warnings.push(format!(
                    "settings.lenient: running filter {} of the chain, a plugin {} would refuse to load: {}",
                    k + 1,
                    refusal.proxy,
                    refusal.problems.join("; ")
                ));
            }
            let key = (
                p.info().sha256.clone(),
                s.settings.vm_id.clone(),
                cfg.vm_config.clone(),
            );
            let vm = match vm_keys.iter().position(|k| *k == key) {
                Some(v) => v,
                None => {
                    vm_keys.push(key);
                    vm_plugins.push(p);
                    vm_keys.len() - 1
                }
            };
            vm_of.push(vm);
            cfgs.push(cfg);
        }
        if plugins.len() > 1 {
            world.trace.filters = filter_labels(&scenario);
            let sha256 = plugins.iter().map(|p| p.info().sha256.clone()).collect();
            world.chain = Some(crate::state::Chain::new(vm_of, cfgs, vm_keys.len(), sha256));
        }
        let world = Rc::new(RefCell::new(world));
        // Concurrent workers switch inside callbacks: only wasmi can.
        let engine = engine.filter(|_| scenario.concurrency.is_none());
        let mut vms = Vec::new();
        for p in &vm_plugins {
            let vm = match engine {
                Some(engine) => foreign_vm(engine, p, world.clone(), pages),
                None => p
                    .compiled()
                    .map_err(SessionError::Instantiate)
                    .and_then(|compiled| {
                        Vm::new(&compiled, world.clone(), pages).map_err(SessionError::Instantiate)
                    }),
            }?;
            vms.push(vm);
        }
        let steppable = engine.is_none();
        let y = Yielder::default();
        let slot = y.slot();
        let control = Rc::new(Control::default());
        // The driver: the concurrent scheduler, or one driver for a plugin or a chain.
        let future: Pin<Box<dyn Future<Output = ()>>> = if let Some(c) = &scenario.concurrency {
            // One VM per worker, all of the scenario's plugin.
            let workers = c.workers.clamp(1, crate::scenario::MAX_WORKERS) as usize;
            world.borrow_mut().workers = Some(crate::state::Workers::new(workers));
            let compiled = plugin.compiled().map_err(SessionError::Instantiate)?;
            for _ in 1..workers {
                let vm =
                    Vm::new(&compiled, world.clone(), pages).map_err(SessionError::Instantiate)?;
                vms.push(vm);
            }
            let scheduler = crate::driver::concurrent::Scheduler::new(
                world.clone(),
                vms,
                scenario.clone(),
                y,
                control.clone(),
            );
            Box::pin(scheduler)
        } else {
            let mut vms = vms.into_iter();
            let vm = vms.next().expect("the first filter's VM");
            let other_vms = std::iter::once(None)
                .chain(vms.map(|v| Some((v, false))))
                .collect();
            let driver = Driver {
                vm: crate::driver::Held::new(vm),
                world: world.clone(),
                scenario: scenario.clone(),
                y,
                control: control.clone(),
                failed: false,
                last_callback: None,
                parked: Default::default(),
                chain_parked: Default::default(),
                started: 0,
                marks: false,
                injecting: false,
                waking: false,
                other_vms,
                lane: None,
            };
            Box::pin(driver.run())
        };
        Ok(Session {
            steppable,
            future: Some(future),
            slot,
            control,
            world,
            info,
            scenario,
            breakpoints: Breakpoints::default(),
            paused: None,
        })
    }

    /// Whether the run is on wasmi, which can pause inside a callback; `false` on a foreign
    /// engine, which pauses only between callbacks.
    pub fn steppable(&self) -> bool {
        self.steppable
    }

    /// Static facts about the plugin.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The live state: trace, stream, shared data, ... (read it between steps).
    pub fn world(&self) -> Ref<'_, World> {
        self.world.borrow()
    }

    /// Run-time knobs: fuel slice, interactive callouts, the clock used for durations.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Where the run is paused now.
    pub fn paused_at(&self) -> Option<&Pause> {
        self.paused.as_ref()
    }

    /// True once the run is over.
    pub fn finished(&self) -> bool {
        self.future.is_none()
    }

    /// Answers a pending callout (after a [`Pause::Callout`]).
    pub fn answer_callout(&self, token: u32, answer: CalloutAnswer) {
        self.control.answers.borrow_mut().insert(token, answer);
    }

    /// Adds an event at the current point of the run (the app's Tick and Advance clock): it
    /// runs as soon as the plugin is not running, and the next step stops after it with
    /// [`Pause::Injected`].
    pub fn inject(&self, event: crate::scenario::Event) {
        self.control.injected.borrow_mut().push_back(event);
    }

    /// Replaces the scenario's mocks for the rest of the run (an edit while paused), and
    /// answers a callout waiting for an answer if one of them matches it. Returns whether it
    /// answered one.
    pub fn update_mocks(&mut self, mocks: crate::scenario::Mocks) -> bool {
        let answer = self
            .world
            .borrow()
            .callouts
            .iter()
            .filter(|c| c.pending)
            .find_map(|c| crate::driver::call::mock_answer(&mocks, c).map(|a| (c.token, a)));
        self.scenario.mocks = mocks.clone();
        self.world.borrow_mut().foreign_mocks = mocks.foreign.clone();
        *self.control.mocks.borrow_mut() = Some(mocks);
        match answer {
            Some((token, a)) => {
                self.answer_callout(token, a);
                true
            }
            None => false,
        }
    }

    /// Runs until `until` is reached, a fuel slice ends, or the run is over.
    pub fn step(&mut self, until: StepUntil) -> Step {
        self.control.step_into.set(
            until == StepUntil::HostCall
                || (until == StepUntil::Breakpoint && !self.breakpoints.hostcalls.is_empty()),
        );
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        loop {
            let Some(fut) = self.future.as_mut() else {
                return Step::Finished;
            };
            if let Poll::Ready(()) = fut.as_mut().poll(&mut cx) {
                self.future = None;
                self.paused = None;
                return Step::Finished;
            }
            let Some(p) = self.slot.borrow_mut().take() else {
                continue;
            };
            if self.stops_at(&p, until) {
                self.paused = Some(p.clone());
                return Step::Paused(p);
            }
            if p == Pause::Slice
                || (matches!(p, Pause::BeforeCallback { .. })
                    && self.control.yield_between_callbacks.get())
            {
                return Step::Yielded;
            }
        }
    }

    fn stops_at(&self, p: &Pause, until: StepUntil) -> bool {
        let w = self.world.borrow();
        let name = |i: usize| {
            w.trace
                .callbacks
                .get(i)
                .map(|c| c.name.as_str())
                .unwrap_or("")
        };
        match (p, until) {
            (Pause::Callout { .. } | Pause::Injected, _) => true,
            (Pause::Slice, _) | (_, StepUntil::End) => false,
            (Pause::BeforeCallback { .. }, StepUntil::Callback | StepUntil::HostCall) => true,
            (Pause::HostCall { .. }, StepUntil::HostCall) => true,
            (Pause::Failed { .. }, StepUntil::Callback | StepUntil::HostCall) => true,
            (Pause::BeforeCallback { index }, StepUntil::Breakpoint) => {
                self.breakpoints.callbacks.contains(name(*index))
                    || self.breakpoints.at_callback == Some(*index)
            }
            (Pause::HostCall { callback, hostcall }, StepUntil::Breakpoint) => w
                .trace
                .callbacks
                .get(*callback)
                .and_then(|c| c.hostcalls.get(*hostcall))
                .is_some_and(|h| self.breakpoints.hostcalls.contains(&h.name)),
            (Pause::Failed { .. }, StepUntil::Breakpoint) => self.breakpoints.traps,
            _ => false,
        }
    }

    /// Runs to the end and returns the report.
    pub fn run_to_end(&mut self) -> Report {
        while self.step(StepUntil::End) != Step::Finished {}
        self.report()
    }

    /// The report (partial while the run is still going).
    pub fn report(&self) -> Report {
        let w = self.world.borrow();
        let pages = w.outcomes.iter().map(|o| o.memory_pages).collect();
        w.report(&self.info, pages, &self.scenario.expect)
    }
}

/// Runs `scenario` against `bytes` to the end.
///
/// # Errors
///
/// When the plugin cannot be loaded at all; failures while running are in the report.
pub fn run(bytes: &[u8], scenario: Scenario) -> Result<Report, SessionError> {
    Ok(Session::new(bytes, scenario)?.run_to_end())
}

/// Names for a chain's filters in the trace: each plugin name, numbered when two are the same.
fn filter_labels(scenario: &Scenario) -> Vec<String> {
    let names: Vec<String> = (0..scenario.filter_count())
        .filter_map(|i| scenario.filter(i))
        .map(|s| {
            let name = s.settings.plugin_name.clone();
            if name.is_empty() || name == "playground" {
                s.plugin
                    .as_ref()
                    .and_then(|p| p.example.clone().or_else(|| p.file_name.clone()))
                    .unwrap_or(name)
            } else {
                name
            }
        })
        .collect();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if names.iter().filter(|m| *m == n).count() > 1 || n.is_empty() {
                format!("{n}#{}", i + 1)
            } else {
                n.clone()
            }
        })
        .collect()
}

fn property_bytes(v: &PropertyValue) -> Vec<u8> {
    match v {
        PropertyValue::Bool(b) => vec![u8::from(*b)],
        PropertyValue::Int(i) => i.to_le_bytes().to_vec(),
        PropertyValue::Text(s) => s.as_bytes().to_vec(),
        PropertyValue::Bytes { base64 } => base64::engine::general_purpose::STANDARD
            .decode(base64.trim())
            .unwrap_or_default(),
    }
}
