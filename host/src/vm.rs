//! The VM: a linked, instantiated plugin, on one of two engines, and calls into it.
//!
//! On wasmi (the interpreter) a call can be paused after a host call (when stepping) and is
//! sliced by fuel, so a page never freezes. On a [`ForeignEngine`] (the browser's own
//! `WebAssembly`, provided by the worker) a call runs to its end at native speed: no pauses,
//! no fuel. Both answer imports with the same host functions (`hostcalls`), through the
//! engine's [`Guest`](crate::memory::Guest).

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

use wasmi::errors::ErrorKind;
use wasmi::{
    Extern, Func, FuncType, Instance, Linker, ResumableCall, Store, StoreLimits,
    StoreLimitsBuilder, Val,
};

use crate::ctx::Ctx;
use crate::hostcalls::{self, Import};
use crate::interrupt::{HostPause, LimitExceeded};
use crate::plugin::Compiled;
use crate::shape::Shape;
use crate::state::World;
use crate::trace::{Failure, FailureKind};

/// An engine other than wasmi that runs plugins (the browser's `WebAssembly`, in the worker).
/// It compiles and instantiates a module whose imports the host describes, and answers each
/// import with [`HostImport::call`](crate::hostcalls::HostImport::call) on a [`Guest`](crate::memory::Guest) of its own.
pub trait ForeignEngine {
    /// Instantiates `module` (its start section runs here). The host functions see `ctx`.
    ///
    /// # Errors
    ///
    /// Why the engine could not compile, link or instantiate the module.
    fn instantiate(
        &self,
        module: &ForeignModule<'_>,
        ctx: Rc<RefCell<Ctx>>,
    ) -> Result<Box<dyn ForeignInstance>, String>;

    /// Compiles `module` ahead of its first [`ForeignEngine::instantiate`], for an engine that
    /// keeps compiled modules by [`ForeignModule::key`] (nothing by default).
    ///
    /// # Errors
    ///
    /// Why the engine could not compile the module.
    fn precompile(&self, module: &ForeignModule<'_>) -> Result<(), String> {
        let _ = module;
        Ok(())
    }
}

/// A module for a [`ForeignEngine`]: its bytes (memory capped) and its imports, resolved.
pub struct ForeignModule<'a> {
    /// Identifies the bytes (sha256 and the memory cap), for an engine that caches compiled
    /// modules.
    pub key: String,
    /// The module, its memory maximum lowered to the scenario's memory limit.
    pub bytes: &'a [u8],
    /// Every import, in the module's order.
    pub imports: &'a [Import],
    /// The allocator of record (`malloc`, else `proxy_on_memory_allocate`, of type
    /// `(i32) -> i32`), which the host calls to return data to the guest.
    pub allocator: Option<&'static str>,
}

/// An instance on a [`ForeignEngine`].
pub trait ForeignInstance {
    /// Calls export `name` to its end. A trap is returned as wasmi would name it (its
    /// [`TrapCode`](wasmi::TrapCode), or the host function's error), with the engine's
    /// backtrace beside it.
    fn call(&mut self, name: &str, args: &[Val], ty: &FuncType) -> Result<Vec<Val>, ForeignTrap>;
    /// The size of its memory in 64 KiB pages.
    fn memory_pages(&self) -> u32;
    /// The last `memory.grow` the module refused since this was last asked, as (pages then,
    /// pages asked for): the globals [`REFUSED_FROM`](crate::prepare::REFUSED_FROM) and
    /// [`REFUSED_TO`](crate::prepare::REFUSED_TO) of the prepared module, read and reset.
    fn take_refused_growth(&mut self) -> Option<(u32, u32)>;
}

/// How a call on a [`ForeignEngine`] failed.
#[derive(Debug)]
pub struct ForeignTrap {
    /// The failure as wasmi would report it.
    pub error: wasmi::Error,
    /// The engine's wasm stack, innermost frame first.
    pub backtrace: Vec<String>,
}

/// A loaded, linked and instantiated plugin.
pub struct Vm {
    inner: Inner,
}

// A few VMs per run, made once and never moved in a hot path: the size of wasmi's store does
// not justify a box.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Wasmi {
        /// The store (owns the guest's memory and the host's [`Ctx`]).
        store: Store<Ctx>,
        instance: Instance,
        /// The first compile error of a lazily translated function, shared by every VM on
        /// the same compiled module: wasmi reports it once, then only that "lazy compilation
        /// failed".
        compile_error: Rc<RefCell<Option<String>>>,
    },
    Foreign {
        ctx: Rc<RefCell<Ctx>>,
        instance: Box<dyn ForeignInstance>,
        /// The exported functions' types, from wasmi's reading of the module.
        exports: Rc<HashMap<String, FuncType>>,
    },
}

/// An exported function, ready to call.
pub struct Export {
    ty: FuncType,
    target: Target,
}

enum Target {
    Wasmi(Func),
    Foreign(String),
}

impl Export {
    /// Its type.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

/// The host's context of a VM, borrowed.
pub enum CtxMut<'a> {
    /// In wasmi's store.
    Store(&'a mut Ctx),
    /// Shared with a foreign engine's import functions.
    Shared(RefMut<'a, Ctx>),
}

impl Deref for CtxMut<'_> {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        match self {
            CtxMut::Store(c) => c,
            CtxMut::Shared(c) => c,
        }
    }
}

impl DerefMut for CtxMut<'_> {
    fn deref_mut(&mut self) -> &mut Ctx {
        match self {
            CtxMut::Store(c) => c,
            CtxMut::Shared(c) => c,
        }
    }
}

/// How a call into the plugin ended.
pub enum CallEnd {
    /// It returned these values.
    Returned(Vec<Val>),
    /// It failed.
    Failed(Failure),
}

/// A call in progress, which the driver resumes slice by slice.
pub enum Progress {
    /// Finished or failed.
    Done(CallEnd),
    /// Paused after a host call; resume with these values.
    HostCall(wasmi::ResumableCallHostTrap, Vec<Val>),
    /// Used up its slice of fuel.
    OutOfFuel(wasmi::ResumableCallOutOfFuel),
}

/// The allocator the host returns data with, on either engine: `malloc`, else
/// `proxy_on_memory_allocate`, of type `(i32) -> i32`.
pub(crate) fn allocator(shape: &Shape) -> Option<&'static str> {
    ["malloc", "proxy_on_memory_allocate"]
        .into_iter()
        .find(|n| {
            shape.export_func(n).is_some_and(|ty| {
                ty.params() == [wasmi::ValType::I32] && ty.results() == [wasmi::ValType::I32]
            })
        })
}

fn limits(memory_pages: u32) -> StoreLimits {
    StoreLimitsBuilder::new()
        .memory_size((memory_pages as usize).saturating_mul(65536))
        .instances(1)
        .build()
}

impl Vm {
    /// Links and instantiates a compiled plugin on wasmi. Start functions are not run here.
    ///
    /// # Errors
    ///
    /// Why linking or instantiation failed.
    pub(crate) fn new(
        compiled: &Compiled,
        world: Rc<RefCell<World>>,
        memory_pages: u32,
    ) -> Result<Vm, String> {
        let Compiled {
            engine,
            module,
            compile_error,
        } = compiled;
        let mut store = Store::new(engine, Ctx::new(world, limits(memory_pages)));
        store.limiter(|c| &mut c.limits);
        // A `start` section runs during instantiation; bound it like any callback.
        let _ = store.set_fuel(crate::scenario::Limits::default().fuel_per_callback);
        let mut linker = Linker::<Ctx>::new(engine);
        let shape = Shape::of(module);
        hostcalls::link(&mut linker, &shape, &mut store)
            .map_err(|e| format!("linking failed: {e}"))?;
        let instance = linker
            .instantiate_and_start(&mut store, module)
            .map_err(|e| format!("instantiation failed: {e}"))?;
        let memory = instance.get_memory(&store, "memory");
        let alloc = allocator(&shape).and_then(|name| instance.get_func(&store, name));
        store.data_mut().memory = memory;
        store.data_mut().alloc = alloc;
        Ok(Vm {
            inner: Inner::Wasmi {
                store,
                instance,
                compile_error: compile_error.clone(),
            },
        })
    }

    /// Instantiates a plugin on `engine`. Start functions are not run here.
    ///
    /// # Errors
    ///
    /// Why instantiation failed.
    pub(crate) fn new_foreign(
        engine: &dyn ForeignEngine,
        module: &ForeignModule<'_>,
        exports: Rc<HashMap<String, FuncType>>,
        world: Rc<RefCell<World>>,
        memory_pages: u32,
    ) -> Result<Vm, String> {
        let ctx = Rc::new(RefCell::new(Ctx::new(world, limits(memory_pages))));
        let instance = engine
            .instantiate(module, ctx.clone())
            .map_err(|e| format!("instantiation failed: {e}"))?;
        Ok(Vm {
            inner: Inner::Foreign {
                ctx,
                instance,
                exports,
            },
        })
    }

    /// Whether the plugin runs on wasmi, which can pause inside a callback and meters fuel.
    pub fn steppable(&self) -> bool {
        matches!(self.inner, Inner::Wasmi { .. })
    }

    /// The host's context.
    pub fn ctx(&mut self) -> CtxMut<'_> {
        match &mut self.inner {
            Inner::Wasmi { store, .. } => CtxMut::Store(store.data_mut()),
            Inner::Foreign { ctx, .. } => CtxMut::Shared(ctx.borrow_mut()),
        }
    }

    /// The exported function `name`, if any.
    pub fn export(&self, name: &str) -> Option<Export> {
        match &self.inner {
            Inner::Wasmi {
                store, instance, ..
            } => match instance.get_export(store, name) {
                Some(Extern::Func(f)) => Some(Export {
                    ty: f.ty(store),
                    target: Target::Wasmi(f),
                }),
                _ => None,
            },
            Inner::Foreign { exports, .. } => exports.get(name).map(|ty| Export {
                ty: ty.clone(),
                target: Target::Foreign(name.to_string()),
            }),
        }
    }

    /// Whether the plugin exports a function `name`.
    pub fn has(&self, name: &str) -> bool {
        self.export(name).is_some()
    }

    /// Current memory size in pages.
    pub fn memory_pages(&self) -> u32 {
        match &self.inner {
            Inner::Wasmi { store, .. } => store
                .data()
                .memory
                .map(|m| (m.data_size(store) / 65536) as u32)
                .unwrap_or(0),
            Inner::Foreign { instance, .. } => instance.memory_pages(),
        }
    }

    /// Starts calling `export` with `args` and runs it for at most `fuel` (on wasmi; a foreign
    /// engine runs it to its end).
    pub fn start_call(&mut self, export: &Export, args: &[Val], fuel: u64) -> Progress {
        let n = export.ty.results().len();
        match (&mut self.inner, &export.target) {
            (Inner::Wasmi { store, .. }, Target::Wasmi(func)) => {
                let _ = store.set_fuel(fuel);
                let mut out = vec![Val::I32(0); n];
                let r = func.call_resumable(&mut *store, args, &mut out);
                self.progress(r, out)
            }
            (Inner::Foreign { instance, ctx, .. }, Target::Foreign(name)) => {
                let result = instance.call(name, args, &export.ty);
                if let Some((from, to)) = instance.take_refused_growth() {
                    let bytes = |pages: u32| (pages as usize).saturating_mul(65536);
                    ctx.borrow_mut()
                        .limits
                        .set_refused_growth(bytes(from), bytes(to));
                }
                Progress::Done(match result {
                    Ok(vals) => CallEnd::Returned(vals),
                    Err(trap) => {
                        let mut failure = failure_from_error(&trap.error);
                        failure.wasm_backtrace = trap.backtrace;
                        CallEnd::Failed(failure)
                    }
                })
            }
            _ => unreachable!("an export of another VM"),
        }
    }

    /// Resumes a call paused after a host call.
    pub fn resume_host(
        &mut self,
        call: wasmi::ResumableCallHostTrap,
        results: &[Val],
        n_out: usize,
    ) -> Progress {
        let mut out = vec![Val::I32(0); n_out];
        let r = call.resume(self.store(), results, &mut out);
        self.progress(r, out)
    }

    /// Resumes a call that used up its fuel, with `fuel` more.
    pub fn resume_fuel(
        &mut self,
        call: wasmi::ResumableCallOutOfFuel,
        fuel: u64,
        n_out: usize,
    ) -> Progress {
        let _ = self.store().set_fuel(fuel);
        let mut out = vec![Val::I32(0); n_out];
        let r = call.resume(self.store(), &mut out);
        self.progress(r, out)
    }

    fn progress(&mut self, r: Result<ResumableCall, wasmi::Error>, out: Vec<Val>) -> Progress {
        match r {
            Ok(ResumableCall::Finished) => Progress::Done(CallEnd::Returned(out)),
            Ok(ResumableCall::OutOfFuel(c)) => Progress::OutOfFuel(c),
            Ok(ResumableCall::HostTrap(t)) => {
                if let Some(p) = t.host_error().downcast_ref::<HostPause>() {
                    let results = p.results.clone();
                    Progress::HostCall(t, results)
                } else {
                    let e = t.into_host_error();
                    Progress::Done(CallEnd::Failed(failure_from_error(&e)))
                }
            }
            Err(e) => Progress::Done(CallEnd::Failed(self.compile_failure(&e))),
        }
    }

    /// wasmi's store: only calls started on wasmi pause or run out of fuel.
    fn store(&mut self) -> &mut Store<Ctx> {
        match &mut self.inner {
            Inner::Wasmi { store, .. } => store,
            Inner::Foreign { .. } => unreachable!("a foreign engine's call never pauses"),
        }
    }

    /// Names `e`, giving a function that failed to compile in an earlier VM on the same module
    /// the message it failed with then.
    fn compile_failure(&self, e: &wasmi::Error) -> Failure {
        let mut failure = failure_from_error(e);
        let Inner::Wasmi { compile_error, .. } = &self.inner else {
            return failure;
        };
        let mut first = compile_error.borrow_mut();
        // wasmi does not export the type of `LazyCompilationFailed`; its text names it
        // (a test in tests/it/examples.rs fails if that text changes).
        match e.kind() {
            ErrorKind::Translation(t) if t.to_string().starts_with("lazy function compilation") => {
                if let Some(message) = first.as_ref() {
                    failure.message.clone_from(message);
                }
            }
            ErrorKind::Wasm(_) | ErrorKind::Translation(_) | ErrorKind::Read(_) => {
                first.get_or_insert_with(|| failure.message.clone());
            }
            _ => {}
        }
        failure
    }

    /// Remaining fuel in the store (a foreign engine uses none: what it was given).
    pub fn fuel_left(&self, given: u64) -> u64 {
        match &self.inner {
            Inner::Wasmi { store, .. } => store.get_fuel().unwrap_or(0),
            Inner::Foreign { .. } => given,
        }
    }
}

/// Names a wasmi error as a [`Failure`].
pub fn failure_from_error(e: &wasmi::Error) -> Failure {
    let (kind, message) = if let Some(limit) = e.downcast_ref::<LimitExceeded>() {
        (limit.kind, limit.message.clone())
    } else if let Some(code) = e.as_trap_code() {
        use wasmi::TrapCode as T;
        match code {
            T::OutOfFuel => (
                FailureKind::OutOfFuel,
                "the plugin used up its fuel: it probably loops forever (raise the fuel limit if it really needs more)".to_string(),
            ),
            T::StackOverflow => (
                FailureKind::Trap,
                "stack overflow: the plugin recursed too deeply".to_string(),
            ),
            T::GrowthOperationLimited => (
                FailureKind::MemoryLimit,
                "the plugin tried to grow its memory past the limit".to_string(),
            ),
            T::UnreachableCodeReached => (
                FailureKind::Trap,
                "unreachable executed: the plugin aborted (a panic, usually; see its output)"
                    .to_string(),
            ),
            other => (FailureKind::Trap, other.to_string()),
        }
    } else if let Some(code) = e.i32_exit_status() {
        (
            FailureKind::Trap,
            format!("the plugin exited with status {code}"),
        )
    } else {
        (FailureKind::Trap, e.to_string())
    };
    Failure {
        kind,
        message,
        callback: None,
        backtrace: Vec::new(),
        panic: None,
        wasm_backtrace: Vec::new(),
    }
}
