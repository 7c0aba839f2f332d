//! The browser's own `WebAssembly` as the host's second engine: plain runs (no stepping into
//! host calls, no breakpoints inside a callback) run the plugin compiled by the browser, at
//! its speed, with every import answered by the host's functions through the plugin's
//! exported memory.
//!
//! A call cannot be paused or metered here: a plugin that loops is stopped by the page, which
//! replaces the worker when a callback runs past its deadline (`app/src/engine.rs`).

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{
    Array, ArrayBuffer, BigInt, Float64Array, Function, Object, Reflect, Uint8Array, WebAssembly,
};
use pwp_host::foreign::{
    Ctx, Error, ForeignEngine, ForeignInstance, ForeignModule, ForeignTrap, FuncType, Guest,
    HostImport, Import, REFUSED_FROM, REFUSED_TO, Val, ValType, trap_from_message, wasm_frames,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Compiles modules once (by the key the host gives: sha256 and memory cap).
#[derive(Default)]
pub struct BrowserEngine {
    modules: RefCell<HashMap<String, WebAssembly::Module>>,
}

/// What the import functions of one instance share.
struct Shared {
    ctx: Rc<RefCell<Ctx>>,
    memory: RefCell<Option<WebAssembly::Memory>>,
    /// A view of the memory's buffer, kept while the memory does not grow (growing detaches
    /// the buffer, and the view's length becomes 0): reading it costs no call for the buffer.
    view: RefCell<Option<Uint8Array>>,
    alloc: RefCell<Option<Function>>,
    /// The host's error behind the exception an import threw, for the call to report.
    trap: RefCell<Option<Error>>,
}

/// An import function. `Fn`, not `FnMut`: a host call may re-enter the same import (through
/// the allocator), and wasm-bindgen refuses to re-enter an `FnMut` closure.
enum ImportFn {
    /// Any signature: the arguments as an array of numbers and BigInts.
    Any(Closure<dyn Fn(Array) -> Result<JsValue, JsValue>>),
    /// `i32` parameters and at most one `i32` result (most of proxy-wasm's and WASI's): the
    /// arguments in one typed array, the result as a number, without a call per value.
    I32(Closure<dyn Fn(Float64Array) -> Result<f64, JsValue>>),
}

/// Whether [`ImportFn::I32`] can answer an import of type `ty`.
fn only_i32(ty: &FuncType) -> bool {
    ty.params().iter().all(|t| *t == ValType::I32) && matches!(ty.results(), [] | [ValType::I32])
}

struct BrowserInstance {
    shared: Rc<Shared>,
    exports: Object,
    /// The exported functions called so far, by name.
    funcs: RefCell<HashMap<String, Function>>,
    /// The globals [`REFUSED_FROM`] and [`REFUSED_TO`], if the module has them.
    refused: Option<(WebAssembly::Global, WebAssembly::Global)>,
    /// Keeps the import functions alive as long as the instance.
    _imports: Vec<ImportFn>,
}

impl ForeignEngine for BrowserEngine {
    fn instantiate(
        &self,
        module: &ForeignModule<'_>,
        ctx: Rc<RefCell<Ctx>>,
    ) -> Result<Box<dyn ForeignInstance>, String> {
        let compiled = self.compile(module)?;
        let shared = Rc::new(Shared {
            ctx,
            memory: RefCell::new(None),
            view: RefCell::new(None),
            alloc: RefCell::new(None),
            trap: RefCell::new(None),
        });
        let imports = Object::new();
        let mut keep = Vec::new();
        let wrap = Function::new_with_args("f", "return (...a) => f(a);");
        let wrap_i32 = Function::new_with_args("f", "return (...a) => f(new Float64Array(a));");
        for import in module.imports {
            let (module_name, name, value): (&str, &str, JsValue) = match import {
                Import::Func(h) => {
                    let (f, wrap) = if only_i32(&h.ty) {
                        (
                            ImportFn::I32(import_fn_i32(shared.clone(), h.clone())),
                            &wrap_i32,
                        )
                    } else {
                        (ImportFn::Any(import_fn(shared.clone(), h.clone())), &wrap)
                    };
                    let closure: &JsValue = match &f {
                        ImportFn::Any(f) => f.as_ref(),
                        ImportFn::I32(f) => f.as_ref(),
                    };
                    let js = wrap
                        .call1(&JsValue::NULL, closure)
                        .map_err(|e| describe(&e))?;
                    keep.push(f);
                    (&h.module, &h.name, js)
                }
                Import::Memory {
                    module,
                    name,
                    minimum,
                    maximum,
                } => {
                    let descriptor = Object::new();
                    set(&descriptor, "initial", &JsValue::from(*minimum))?;
                    set(&descriptor, "maximum", &JsValue::from(*maximum))?;
                    let memory = WebAssembly::Memory::new(&descriptor).map_err(|e| describe(&e))?;
                    *shared.memory.borrow_mut() = Some(memory.clone());
                    (module, name, memory.into())
                }
            };
            let namespace = match Reflect::get(&imports, &JsValue::from_str(module_name)) {
                Ok(ns) if ns.is_object() => ns.unchecked_into::<Object>(),
                _ => {
                    let ns = Object::new();
                    set(&imports, module_name, &ns)?;
                    ns
                }
            };
            set(&namespace, name, &value)?;
        }
        let instance = WebAssembly::Instance::new(&compiled, &imports).map_err(|e| {
            // A trap in the start section, or a host function's.
            match shared.trap.borrow_mut().take() {
                Some(trap) => trap.to_string(),
                None => describe(&e),
            }
        })?;
        let exports = instance.exports();
        if let Ok(memory) = Reflect::get(&exports, &JsValue::from_str("memory"))
            && let Ok(memory) = memory.dyn_into::<WebAssembly::Memory>()
        {
            *shared.memory.borrow_mut() = Some(memory);
        }
        if let Some(name) = module.allocator {
            let alloc = Reflect::get(&exports, &JsValue::from_str(name))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok());
            *shared.alloc.borrow_mut() = alloc;
        }
        let global = |name: &str| {
            Reflect::get(&exports, &JsValue::from_str(name))
                .ok()?
                .dyn_into::<WebAssembly::Global>()
                .ok()
        };
        let refused = global(REFUSED_FROM).zip(global(REFUSED_TO));
        Ok(Box::new(BrowserInstance {
            shared,
            exports,
            funcs: RefCell::new(HashMap::new()),
            refused,
            _imports: keep,
        }))
    }

    fn precompile(&self, module: &ForeignModule<'_>) -> Result<(), String> {
        self.compile(module).map(|_| ())
    }
}

impl BrowserEngine {
    /// The compiled module for `module.key`, compiling it the first time.
    fn compile(&self, module: &ForeignModule<'_>) -> Result<WebAssembly::Module, String> {
        if let Some(m) = self.modules.borrow().get(&module.key) {
            return Ok(m.clone());
        }
        let bytes = view(module.bytes);
        let compiled = WebAssembly::Module::new(&bytes).map_err(|e| describe(&e))?;
        self.modules
            .borrow_mut()
            .insert(module.key.clone(), compiled.clone());
        Ok(compiled)
    }
}

/// `bytes` as a view of this module's memory, not a copy: megabytes for a Go plugin. A view
/// is only good until the memory grows, so it must be used at once, before anything
/// allocates; `new WebAssembly.Module` copies what it reads before it returns.
fn view(bytes: &[u8]) -> Uint8Array {
    let memory: WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    #[allow(clippy::cast_possible_truncation)] // wasm32: addresses and lengths are 32-bit
    Uint8Array::new_with_byte_offset_and_length(
        &memory.buffer(),
        bytes.as_ptr() as usize as u32,
        bytes.len() as u32,
    )
}

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// The import function for `h`: decodes the arguments, runs the host function, and turns its
/// trap into an exception (the host's error waits in `Shared::trap` for the call to report).
fn import_fn(
    shared: Rc<Shared>,
    h: HostImport,
) -> Closure<dyn Fn(Array) -> Result<JsValue, JsValue>> {
    Closure::new(move |args: Array| -> Result<JsValue, JsValue> {
        let raw: Vec<i64> = args.iter().map(|a| to_i64(&a)).collect();
        let vals = host_call(&shared, &h, &raw)?;
        Ok(match vals.as_slice() {
            [] => JsValue::UNDEFINED,
            [v] => to_js(v),
            many => many.iter().map(to_js).collect::<Array>().into(),
        })
    })
}

/// [`import_fn`] for an import of `i32`s ([`only_i32`]).
fn import_fn_i32(
    shared: Rc<Shared>,
    h: HostImport,
) -> Closure<dyn Fn(Float64Array) -> Result<f64, JsValue>> {
    Closure::new(move |args: Float64Array| -> Result<f64, JsValue> {
        let raw: Vec<i64> = args.to_vec().into_iter().map(|a| a as i64).collect();
        let vals = host_call(&shared, &h, &raw)?;
        Ok(match vals.first() {
            Some(Val::I32(x)) => f64::from(*x),
            _ => 0.0,
        })
    })
}

/// Runs the host function of `h` with `raw`; its trap waits in `Shared::trap`, and the
/// exception that unwinds the guest is returned.
fn host_call(shared: &Shared, h: &HostImport, raw: &[i64]) -> Result<Vec<Val>, JsValue> {
    let outcome = {
        let mut guest = BrowserGuest {
            shared,
            ctx: Some(shared.ctx.borrow_mut()),
        };
        h.call(&mut guest, raw)
    };
    outcome.map_err(|e| {
        *shared.trap.borrow_mut() = Some(e);
        js_sys::Error::new("the host function trapped").into()
    })
}

/// The guest as the browser engine's host functions see it.
struct BrowserGuest<'a> {
    shared: &'a Shared,
    /// Held for the host call; let go while the allocator runs (it may call host functions).
    ctx: Option<RefMut<'a, Ctx>>,
}

impl Shared {
    /// `f` of a view of the whole memory (`None` without a memory).
    fn with_view<T>(&self, f: impl FnOnce(&Uint8Array) -> T) -> Option<T> {
        let mut view = self.view.borrow_mut();
        // A view of a detached buffer (the memory grew) has length 0; so has a view of an
        // empty memory, which costs a new view each time.
        if view.as_ref().is_none_or(|v| v.length() == 0) {
            let memory = self.memory.borrow();
            let buffer: ArrayBuffer = memory.as_ref()?.buffer().unchecked_into();
            *view = Some(Uint8Array::new(&buffer));
        }
        view.as_ref().map(f)
    }

    /// The memory's size in bytes.
    fn memory_bytes(&self) -> Option<usize> {
        self.with_view(byte_length)
    }
}

impl Guest for BrowserGuest<'_> {
    fn data(&self) -> &Ctx {
        self.ctx.as_ref().expect("held outside the allocator")
    }

    fn data_mut(&mut self) -> &mut Ctx {
        self.ctx.as_mut().expect("held outside the allocator")
    }

    fn memory_size(&self) -> Option<usize> {
        self.shared.memory_bytes()
    }

    fn read_raw(&self, start: usize, dst: &mut [u8]) {
        self.shared
            .with_view(|v| part(v, start, dst.len()).copy_to(dst));
    }

    fn write_raw(&mut self, start: usize, src: &[u8]) {
        self.shared
            .with_view(|v| part(v, start, src.len()).copy_from(src));
    }

    fn call_allocator(&mut self, size: u32) -> Option<Result<u32, Error>> {
        let alloc = self.shared.alloc.borrow().clone()?;
        self.ctx = None;
        let result = alloc.call1(&JsValue::UNDEFINED, &JsValue::from(size as i32));
        self.ctx = Some(self.shared.ctx.borrow_mut());
        Some(match result {
            Ok(ptr) => Ok(ptr.as_f64().unwrap_or(0.0) as i32 as u32),
            Err(e) => Err(trap_of(self.shared, &e).error),
        })
    }
}

impl ForeignInstance for BrowserInstance {
    fn call(&mut self, name: &str, args: &[Val], ty: &FuncType) -> Result<Vec<Val>, ForeignTrap> {
        let cached = self.funcs.borrow().get(name).cloned();
        let func = match cached {
            Some(f) => f,
            None => {
                let f = Reflect::get(&self.exports, &JsValue::from_str(name))
                    .ok()
                    .and_then(|f| f.dyn_into::<Function>().ok())
                    .ok_or_else(|| ForeignTrap {
                        error: Error::new(format!("the plugin exports no function {name}")),
                        backtrace: Vec::new(),
                    })?;
                self.funcs.borrow_mut().insert(name.to_string(), f.clone());
                f
            }
        };
        let js_args: Array = args.iter().map(to_js).collect();
        let out = Reflect::apply(&func, &JsValue::UNDEFINED, &js_args)
            .map_err(|e| trap_of(&self.shared, &e))?;
        Ok(match ty.results() {
            [] => Vec::new(),
            [t] => vec![from_js(&out, *t)],
            many => {
                let items: Array = out.unchecked_into();
                many.iter()
                    .enumerate()
                    .map(|(i, t)| from_js(&items.get(i as u32), *t))
                    .collect()
            }
        })
    }

    fn take_refused_growth(&mut self) -> Option<(u32, u32)> {
        let (from, to) = self.refused.as_ref()?;
        let read = |global: &WebAssembly::Global| {
            let value = global.value().as_f64()? as i32 as u32;
            if value != 0 {
                global.set_value(&JsValue::from(0));
            }
            Some(value)
        };
        let (from, to) = (read(from)?, read(to)?);
        (to != 0).then_some((from, to))
    }

    fn memory_pages(&self) -> u32 {
        self.shared
            .memory_bytes()
            .map_or(0, |bytes| (bytes / 65536) as u32)
    }
}

#[wasm_bindgen]
extern "C" {
    /// Any object with a `byteLength` (a typed array), read as a number: `Uint8Array`'s
    /// `byte_length` is a `u32`, which a 4 GiB memory overflows.
    type ByteLength;
    #[wasm_bindgen(method, getter, js_name = byteLength)]
    fn byte_length(this: &ByteLength) -> f64;
}

/// The `len` bytes at `start` of the memory `view` covers (a range inside it).
fn part(view: &Uint8Array, start: usize, len: usize) -> Uint8Array {
    match u32::try_from(start + len) {
        Ok(end) => view.subarray(start as u32, end),
        // To the end of a 4 GiB memory, beyond what `subarray` takes as a `u32`.
        Err(_) => {
            Uint8Array::new_with_byte_offset_and_length(&view.buffer(), start as u32, len as u32)
        }
    }
}

/// The size of the buffer `view` covers whole, in bytes.
fn byte_length(view: &Uint8Array) -> usize {
    view.unchecked_ref::<ByteLength>().byte_length() as usize
}

/// The trap behind exception `e`: the host function's own error if one threw it, else the
/// engine's trap named as wasmi names it, with the engine's wasm backtrace.
fn trap_of(shared: &Shared, e: &JsValue) -> ForeignTrap {
    let stack = Reflect::get(e, &JsValue::from_str("stack"))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    let backtrace = wasm_frames(&stack);
    if let Some(error) = shared.trap.borrow_mut().take() {
        return ForeignTrap { error, backtrace };
    }
    let message = describe(e);
    let error = trap_from_message(&message).unwrap_or_else(|| Error::new(message));
    ForeignTrap { error, backtrace }
}

/// An exception's message (`RuntimeError: unreachable`).
fn describe(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => {
            let name = err.name().as_string().unwrap_or_default();
            let message = err.message().as_string().unwrap_or_default();
            if name.is_empty() {
                message
            } else {
                format!("{name}: {message}")
            }
        }
        None => e.as_string().unwrap_or_else(|| format!("{e:?}")),
    }
}

fn to_i64(v: &JsValue) -> i64 {
    if let Some(n) = v.as_f64() {
        return n as i64;
    }
    v.dyn_ref::<BigInt>()
        .and_then(|b| i64::try_from(b.clone()).ok())
        .unwrap_or(0)
}

fn to_js(v: &Val) -> JsValue {
    match v {
        Val::I32(x) => JsValue::from(*x),
        Val::I64(x) => BigInt::from(*x).into(),
        Val::F32(x) => JsValue::from(f32::from(*x)),
        Val::F64(x) => JsValue::from(f64::from(*x)),
        _ => JsValue::NULL,
    }
}

fn from_js(v: &JsValue, t: ValType) -> Val {
    match t {
        ValType::I32 => Val::I32(v.as_f64().unwrap_or(0.0) as i64 as i32),
        ValType::I64 => Val::I64(to_i64(v)),
        ValType::F32 => Val::F32((v.as_f64().unwrap_or(0.0) as f32).into()),
        ValType::F64 => Val::F64(v.as_f64().unwrap_or(0.0).into()),
        other => Val::default_for_ty(other),
    }
}
