//! The VM: wasmi engine, module, store and instance, and calls into the plugin that can be
//! paused (at host calls, when stepping) and sliced (by fuel, so a page never freezes).

use std::cell::RefCell;
use std::rc::Rc;

use wasmi::errors::ErrorKind;
use wasmi::{Extern, Func, Instance, Linker, ResumableCall, Store, StoreLimitsBuilder, Val};

use crate::ctx::Ctx;
use crate::hostcalls;
use crate::interrupt::{HostPause, LimitExceeded};
use crate::plugin::Compiled;
use crate::state::World;
use crate::trace::{Failure, FailureKind};

/// A loaded, linked and instantiated plugin.
pub struct Vm {
    /// The store (owns the guest's memory and the host's [`Ctx`]).
    pub store: Store<Ctx>,
    /// The instance.
    pub instance: Instance,
    /// The first compile error of a lazily translated function, shared by every VM on the same
    /// compiled module: wasmi reports it once, then only that "lazy compilation failed".
    compile_error: Rc<RefCell<Option<String>>>,
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

impl Vm {
    /// Links and instantiates a compiled plugin. Start functions are not run here.
    ///
    /// # Errors
    ///
    /// A [`Failure`] of kind `load` that says why linking or instantiation failed.
    pub(crate) fn new(
        compiled: &Compiled,
        world: Rc<RefCell<World>>,
        memory_pages: u32,
    ) -> Result<Vm, Failure> {
        let Compiled {
            engine,
            module,
            compile_error,
        } = compiled;
        let limits = StoreLimitsBuilder::new()
            .memory_size((memory_pages as usize).saturating_mul(65536))
            .instances(1)
            .build();
        let mut store = Store::new(engine, Ctx::new(world, limits));
        store.limiter(|c| &mut c.limits);
        // A `start` section runs during instantiation; bound it like any callback.
        let _ = store.set_fuel(crate::scenario::Limits::default().fuel_per_callback);
        let mut linker = Linker::<Ctx>::new(engine);
        hostcalls::link(&mut linker, module, &mut store)
            .map_err(|e| load_failure(format!("linking failed: {e}")))?;
        let instance = linker
            .instantiate_and_start(&mut store, module)
            .map_err(|e| load_failure(format!("instantiation failed: {e}")))?;
        let memory = instance.get_memory(&store, "memory");
        let alloc = ["malloc", "proxy_on_memory_allocate"]
            .iter()
            .filter_map(|n| instance.get_func(&store, n))
            .find(|f| {
                let ty = f.ty(&store);
                ty.params() == [wasmi::ValType::I32] && ty.results() == [wasmi::ValType::I32]
            });
        store.data_mut().memory = memory;
        store.data_mut().alloc = alloc;
        Ok(Vm {
            store,
            instance,
            compile_error: compile_error.clone(),
        })
    }

    /// The exported function `name`, if any.
    pub fn func(&self, name: &str) -> Option<Func> {
        match self.instance.get_export(&self.store, name) {
            Some(Extern::Func(f)) => Some(f),
            _ => None,
        }
    }

    /// Current memory size in pages.
    pub fn memory_pages(&self) -> u32 {
        self.store
            .data()
            .memory
            .map(|m| (m.data_size(&self.store) / 65536) as u32)
            .unwrap_or(0)
    }

    /// Starts calling `func` with `args` and runs it for at most `fuel`.
    pub fn start_call(&mut self, func: Func, args: &[Val], fuel: u64) -> Progress {
        let _ = self.store.set_fuel(fuel);
        let n = func.ty(&self.store).results().len();
        let mut out = vec![Val::I32(0); n];
        let r = func.call_resumable(&mut self.store, args, &mut out);
        self.progress(r, out)
    }

    /// Resumes a call paused after a host call.
    pub fn resume_host(
        &mut self,
        call: wasmi::ResumableCallHostTrap,
        results: &[Val],
        n_out: usize,
    ) -> Progress {
        let mut out = vec![Val::I32(0); n_out];
        let r = call.resume(&mut self.store, results, &mut out);
        self.progress(r, out)
    }

    /// Resumes a call that used up its fuel, with `fuel` more.
    pub fn resume_fuel(
        &mut self,
        call: wasmi::ResumableCallOutOfFuel,
        fuel: u64,
        n_out: usize,
    ) -> Progress {
        let _ = self.store.set_fuel(fuel);
        let mut out = vec![Val::I32(0); n_out];
        let r = call.resume(&mut self.store, &mut out);
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

    /// Names `e`, giving a function that failed to compile in an earlier VM on the same module
    /// the message it failed with then.
    fn compile_failure(&self, e: &wasmi::Error) -> Failure {
        let mut failure = failure_from_error(e);
        let mut first = self.compile_error.borrow_mut();
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

    /// Remaining fuel in the store.
    pub fn fuel_left(&self) -> u64 {
        self.store.get_fuel().unwrap_or(0)
    }
}

fn load_failure(message: String) -> Failure {
    Failure {
        kind: FailureKind::Load,
        message,
        callback: None,
        backtrace: Vec::new(),
        panic: None,
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
    }
}
