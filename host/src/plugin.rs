//! A loaded plugin: its bytes, what [`inspect`](crate::inspect()) found, and, once asked
//! for, its compiled module.
//!
//! Loading (`inspect`) and compiling are the two costs every run of a plugin pays before its
//! first instruction: a 6 MB Go plugin is a few milliseconds of parsing and ~20 ms of wasmi's
//! (lazy) compilation natively, several times that in a browser tab. A [`Plugin`] pays each
//! once: every [`Session`](crate::Session) made from it shares the compiled module, and with
//! it the function bodies that earlier runs already translated (wasmi translates lazily, on a
//! function's first call). Fuel does not count translation, so a run on a warm module uses
//! exactly the fuel of a run on a fresh one.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use wasmi::{CompilationMode, Config, Engine, Module};

use crate::info::{LoadError, PluginInfo};
use crate::inspect::inspect_hashed;
use crate::shape::Shape;

/// A plugin whose bytes were inspected; compiled on first use (or on [`Plugin::compile`]).
pub struct Plugin {
    bytes: Rc<[u8]>,
    info: Rc<PluginInfo>,
    compiled: OnceCell<Result<Compiled, String>>,
    /// The bytes made ready for a foreign engine ([`crate::prepare::prepare`]) for the memory
    /// limit last asked for: preparing scans every function body and copies the module
    /// (megabytes for a Go plugin), so every run with the same limit shares it.
    prepared: RefCell<Option<(u32, Prepared)>>,
    /// What it imports and exports, read from the bytes on first use by a foreign engine.
    shape: OnceCell<Result<Rc<Shape>, String>>,
}

/// A module as [`Plugin::prepared`] made it: the plugin's own bytes, or a changed copy (kept
/// as built: `Rc<[u8]>` from a `Vec` would copy megabytes once more).
#[derive(Clone)]
pub(crate) enum Prepared {
    Same(Rc<[u8]>),
    Changed(Rc<Vec<u8>>),
}

impl std::ops::Deref for Prepared {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Prepared::Same(bytes) => bytes,
            Prepared::Changed(bytes) => bytes,
        }
    }
}

/// The engine and the module compiled with it: cheap to clone (both are shared handles).
#[derive(Clone)]
pub(crate) struct Compiled {
    pub engine: Engine,
    pub module: Module,
    /// The first error of a function's lazy translation (see [`crate::vm::Vm`]).
    pub compile_error: Rc<RefCell<Option<String>>>,
}

impl Plugin {
    /// Inspects `bytes`. Nothing is compiled yet.
    ///
    /// # Errors
    ///
    /// [`LoadError`] says why the bytes are not a proxy-wasm plugin.
    pub fn load(bytes: impl Into<Rc<[u8]>>) -> Result<Plugin, LoadError> {
        Plugin::load_hashed(bytes, None)
    }

    /// [`Plugin::load`] with the sha256 of `bytes` already known (lower-case hex).
    ///
    /// # Errors
    ///
    /// As [`Plugin::load`].
    pub fn load_hashed(
        bytes: impl Into<Rc<[u8]>>,
        sha256: Option<String>,
    ) -> Result<Plugin, LoadError> {
        let bytes = bytes.into();
        let info = Rc::new(inspect_hashed(&bytes, sha256)?);
        Ok(Plugin {
            bytes,
            info,
            compiled: OnceCell::new(),
            prepared: RefCell::new(None),
            shape: OnceCell::new(),
        })
    }

    /// The module's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The module's bytes, shared.
    pub fn shared_bytes(&self) -> Rc<[u8]> {
        self.bytes.clone()
    }

    /// What [`inspect`](crate::inspect()) found.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    pub(crate) fn shared_info(&self) -> Rc<PluginInfo> {
        self.info.clone()
    }

    /// Compiles the module now (a no-op after the first time), so that the first run does
    /// not wait for it.
    ///
    /// # Errors
    ///
    /// wasmi's message when the module does not compile (invalid code, unsupported
    /// proposals); it is kept and returned again on every later call.
    pub fn compile(&self) -> Result<(), String> {
        self.compiled().map(|_| ())
    }

    /// True once [`Plugin::compile`] ran (successfully or not).
    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }

    /// The module for a foreign engine whose memory may hold at most `pages` (see
    /// [`crate::prepare::prepare`]); the bytes as they are when nothing needs changing.
    pub(crate) fn prepared(&self, pages: u32) -> Prepared {
        let mut cached = self.prepared.borrow_mut();
        if let Some((p, bytes)) = cached.as_ref()
            && *p == pages
        {
            return bytes.clone();
        }
        let bytes = crate::prepare::prepare(&self.bytes, pages).map_or_else(
            || Prepared::Same(self.bytes.clone()),
            |changed| Prepared::Changed(Rc::new(changed)),
        );
        *cached = Some((pages, bytes.clone()));
        bytes
    }

    /// What the module imports and exports, without compiling it.
    pub(crate) fn shape(&self) -> Result<Rc<Shape>, String> {
        self.shape
            .get_or_init(|| Shape::read(&self.bytes).map(Rc::new))
            .clone()
    }

    pub(crate) fn compiled(&self) -> Result<Compiled, String> {
        self.compiled
            .get_or_init(|| {
                let engine = Engine::new(&engine_config());
                Module::new(&engine, &self.bytes)
                    .map(|module| Compiled {
                        engine,
                        module,
                        compile_error: Rc::default(),
                    })
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// The engine every plugin runs on: fuel metering, lazy translation, deep recursion allowed.
fn engine_config() -> Config {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .compilation_mode(CompilationMode::Lazy)
        .set_max_recursion_depth(4096)
        // Lazy translation charges fuel, and running out of fuel there is a trap, not a
        // resumable pause (wasmi 2.0). Fuel measures execution only.
        .fuel_cost(wasmi::CustomFuelCosts {
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        });
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_with_one_memory_limit_share_the_prepared_module() {
        let wat = r#"(module (memory (export "memory") 1)
            (func (export "proxy_abi_version_0_2_1"))
            (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
        let plugin = Plugin::load(wat::parse_str(wat).unwrap()).unwrap();
        let first = plugin.prepared(64);
        assert_ne!(&*first, plugin.bytes(), "capped and routed");
        assert!(
            std::ptr::eq(first.as_ptr(), plugin.prepared(64).as_ptr()),
            "prepared once"
        );
        let other = plugin.prepared(32);
        assert!(
            !std::ptr::eq(first.as_ptr(), other.as_ptr()),
            "another limit, another module"
        );
        assert_eq!(
            &*other,
            &*crate::prepare::prepare(plugin.bytes(), 32).unwrap()
        );
    }
}
