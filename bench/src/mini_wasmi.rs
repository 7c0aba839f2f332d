//! The minimal host ([`crate::mini`]) on wasmi, configured as `pwp_host` configures it (fuel
//! metering on, lazy compilation), so that the difference to the full host is host work.

use std::sync::Arc;

use wasmi::{
    Caller, Engine, Extern, ExternType, Func, Instance, Linker, Memory, Module, Store, Val,
};

use crate::mini::{Guest, Inputs, Plugin};

/// Data in the store.
pub struct Ctx {
    inputs: Arc<Inputs>,
    memory: Option<Memory>,
    alloc: Option<Func>,
    hostcalls: u64,
}

struct CallerGuest<'a, 'b>(&'a mut Caller<'b, Ctx>);

impl Guest for CallerGuest<'_, '_> {
    fn memory(&mut self) -> &mut [u8] {
        match self.0.data().memory {
            Some(m) => m.data_mut(&mut *self.0),
            None => &mut [],
        }
    }

    fn alloc(&mut self, size: u32) -> Result<u32, String> {
        let f = self.0.data().alloc.ok_or("the plugin has no allocator")?;
        let mut out = [Val::I32(0)];
        f.call(&mut *self.0, &[Val::I32(size as i32)], &mut out)
            .map_err(|e| e.to_string())?;
        match out[0] {
            Val::I32(p) if p != 0 => Ok(p as u32),
            _ => Err("allocation failed".into()),
        }
    }
}

fn to_i64(v: &Val) -> i64 {
    match v {
        Val::I32(x) => i64::from(*x),
        Val::I64(x) => *x,
        _ => 0,
    }
}

/// An instance with the minimal host.
pub struct MiniWasmi {
    store: Store<Ctx>,
    instance: Instance,
}

/// The engine: `pwp_host`'s configuration.
pub fn engine() -> Engine {
    crate::host_engine(wasmi::CompilationMode::Lazy)
}

impl MiniWasmi {
    /// Links every import of `module` generically and instantiates it (no code runs).
    ///
    /// # Panics
    ///
    /// When linking or instantiation fails.
    pub fn new(engine: &Engine, module: &Module, inputs: Arc<Inputs>) -> MiniWasmi {
        let mut store = Store::new(
            engine,
            Ctx {
                inputs,
                memory: None,
                alloc: None,
                hostcalls: 0,
            },
        );
        store.set_fuel(u64::MAX).expect("fuel is on");
        let mut linker = Linker::<Ctx>::new(engine);
        let mut linked = std::collections::HashSet::new();
        for imp in module.imports() {
            let ExternType::Func(ty) = imp.ty() else {
                continue;
            };
            // Go modules import some functions twice.
            if !linked.insert((imp.module().to_string(), imp.name().to_string())) {
                continue;
            }
            let name = imp.name().to_string();
            linker
                .func_new(
                    imp.module(),
                    imp.name(),
                    ty.clone(),
                    move |mut caller: Caller<'_, Ctx>, args: &[Val], results: &mut [Val]| {
                        caller.data_mut().hostcalls += 1;
                        let a: Vec<i64> = args.iter().map(to_i64).collect();
                        let inputs = caller.data().inputs.clone();
                        let r = crate::mini::hostcall(
                            &name,
                            &a,
                            &inputs,
                            &mut CallerGuest(&mut caller),
                        )
                        .map_err(wasmi::Error::new)?;
                        if let Some(out) = results.first_mut() {
                            *out = match out {
                                Val::I64(_) => Val::I64(r),
                                _ => Val::I32(r as i32),
                            };
                        }
                        Ok(())
                    },
                )
                .expect("one definition per import");
        }
        let instance = linker
            .instantiate_and_start(&mut store, module)
            .expect("the plugin instantiates");
        let memory = instance.get_memory(&store, "memory");
        let alloc = ["malloc", "proxy_on_memory_allocate"]
            .iter()
            .find_map(|n| instance.get_func(&store, n));
        store.data_mut().memory = memory;
        store.data_mut().alloc = alloc;
        MiniWasmi { store, instance }
    }
}

impl Plugin for MiniWasmi {
    fn has(&self, name: &str) -> bool {
        matches!(
            self.instance.get_export(&self.store, name),
            Some(Extern::Func(_))
        )
    }

    fn call(&mut self, name: &str, args: &[i64]) -> Result<Option<i64>, String> {
        let Some(f) = self.instance.get_func(&self.store, name) else {
            return Ok(None);
        };
        let ty = f.ty(&self.store);
        let params: Vec<Val> = ty
            .params()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let v = args.get(i).copied().unwrap_or(0);
                match t {
                    wasmi::ValType::I64 => Val::I64(v),
                    _ => Val::I32(v as i32),
                }
            })
            .collect();
        let mut out: Vec<Val> = ty.results().iter().map(|_| Val::I32(0)).collect();
        if let (Some(o), Some(wasmi::ValType::I64)) = (out.first_mut(), ty.results().first()) {
            *o = Val::I64(0);
        }
        f.call(&mut self.store, &params, &mut out)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(out.first().map(to_i64))
    }

    fn hostcalls(&self) -> u64 {
        self.store.data().hostcalls
    }
}
