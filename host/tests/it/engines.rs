//! Two engines, one host, one trace: a run on a [`ForeignEngine`] must report exactly what a
//! run on wasmi reports, apart from fuel and durations.
//!
//! The browser's `WebAssembly` engine lives in the worker and is tested in Chromium
//! (`e2e/tests/engines.test.mjs`). Here a second, separate wasmi plays the foreign engine: it
//! knows nothing of the host but what [`ForeignModule`] tells it, and answers every import
//! through [`HostImport::call`] on a [`Guest`] of its own, exactly as the worker's engine does.
//! So every example, golden scenario and fixture checks the engine-neutral path natively.

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

use pwp_host::foreign::{
    Ctx, ForeignEngine, ForeignInstance, ForeignModule, ForeignTrap, Guest, Import, REFUSED_FROM,
    REFUSED_TO,
};
use pwp_host::{Plugin, Report, Scenario, Session};
use wasmi::{
    AsContext, AsContextMut, Caller, Engine, Extern, Func, FuncType, Instance, Linker, Memory,
    MemoryType, Module, Store, Val,
};

use crate::fixture;

/// wasmi, seen only through the foreign-engine interface.
struct SecondWasmi;

/// What the second engine's store keeps: the host's context, and the instance's memory and
/// allocator once it exists.
struct State {
    ctx: Rc<RefCell<Ctx>>,
    memory: Option<Memory>,
    alloc: Option<Func>,
}

/// The guest as a host function of the second engine sees it. The context is borrowed for
/// the call and let go while the allocator runs (which may call host functions itself).
struct SecondGuest<'a, 'c> {
    caller: &'a mut Caller<'c, State>,
    cell: &'a RefCell<Ctx>,
    ctx: Option<RefMut<'a, Ctx>>,
}

impl Guest for SecondGuest<'_, '_> {
    fn data(&self) -> &Ctx {
        self.ctx.as_ref().expect("held outside the allocator")
    }

    fn data_mut(&mut self) -> &mut Ctx {
        self.ctx.as_mut().expect("held outside the allocator")
    }

    fn memory_size(&self) -> Option<usize> {
        let m = self.caller.data().memory?;
        Some(m.data_size(self.caller.as_context()))
    }

    fn read_raw(&self, start: usize, dst: &mut [u8]) {
        let m = self.caller.data().memory.expect("checked");
        dst.copy_from_slice(&m.data(self.caller.as_context())[start..start + dst.len()]);
    }

    fn write_raw(&mut self, start: usize, src: &[u8]) {
        let m = self.caller.data().memory.expect("checked");
        m.data_mut(self.caller.as_context_mut())[start..start + src.len()].copy_from_slice(src);
    }

    fn call_allocator(&mut self, size: u32) -> Option<Result<u32, wasmi::Error>> {
        let alloc = self.caller.data().alloc?;
        self.ctx = None;
        let mut out = [Val::I32(0)];
        let r = alloc.call(&mut *self.caller, &[Val::I32(size as i32)], &mut out);
        self.ctx = Some(self.cell.borrow_mut());
        Some(r.map(|()| out[0].i32().unwrap_or(0) as u32))
    }
}

struct SecondInstance {
    store: Store<State>,
    instance: Instance,
}

impl ForeignEngine for SecondWasmi {
    fn instantiate(
        &self,
        module: &ForeignModule<'_>,
        ctx: Rc<RefCell<Ctx>>,
    ) -> Result<Box<dyn ForeignInstance>, String> {
        let engine = Engine::default();
        let compiled = Module::new(&engine, module.bytes).map_err(|e| e.to_string())?;
        let mut store = Store::new(
            &engine,
            State {
                ctx,
                memory: None,
                alloc: None,
            },
        );
        let mut linker = Linker::<State>::new(&engine);
        for import in module.imports {
            match import {
                Import::Func(h) => {
                    let h = h.clone();
                    let ty: FuncType = h.ty.clone();
                    linker
                        .func_new(
                            &h.module.clone(),
                            &h.name.clone(),
                            ty,
                            move |mut caller, params, results| {
                                let args: Vec<i64> = params
                                    .iter()
                                    .map(|v| match v {
                                        Val::I32(x) => i64::from(*x),
                                        Val::I64(x) => *x,
                                        _ => 0,
                                    })
                                    .collect();
                                let cell = caller.data().ctx.clone();
                                let mut guest = SecondGuest {
                                    caller: &mut caller,
                                    ctx: Some(cell.borrow_mut()),
                                    cell: &cell,
                                };
                                let vals = h.call(&mut guest, &args)?;
                                results.clone_from_slice(&vals);
                                Ok(())
                            },
                        )
                        .map_err(|e| e.to_string())?;
                }
                Import::Memory {
                    module: m,
                    name,
                    minimum,
                    maximum,
                } => {
                    let memory = Memory::new(&mut store, MemoryType::new(*minimum, Some(*maximum)))
                        .map_err(|e| e.to_string())?;
                    store.data_mut().memory = Some(memory);
                    linker.define(m, name, memory).map_err(|e| e.to_string())?;
                }
            }
        }
        let instance = linker
            .instantiate_and_start(&mut store, &compiled)
            .map_err(|e| e.to_string())?;
        if let Some(memory) = instance.get_memory(&store, "memory") {
            store.data_mut().memory = Some(memory);
        }
        store.data_mut().alloc = module.allocator.and_then(|n| instance.get_func(&store, n));
        Ok(Box::new(SecondInstance { store, instance }))
    }
}

impl ForeignInstance for SecondInstance {
    fn call(&mut self, name: &str, args: &[Val], ty: &FuncType) -> Result<Vec<Val>, ForeignTrap> {
        let Some(Extern::Func(f)) = self.instance.get_export(&self.store, name) else {
            unreachable!("the host calls only exports it knows");
        };
        let mut out: Vec<Val> = ty
            .results()
            .iter()
            .map(|t| Val::default_for_ty(*t))
            .collect();
        f.call(&mut self.store, args, &mut out)
            .map_err(|error| ForeignTrap {
                error,
                backtrace: Vec::new(),
            })?;
        Ok(out)
    }

    fn take_refused_growth(&mut self) -> Option<(u32, u32)> {
        let mut read = |name| {
            let g = self.instance.get_global(&self.store, name)?;
            let v = g.get(&self.store).i32()?;
            g.set(&mut self.store, Val::I32(0)).ok()?;
            Some(v as u32)
        };
        let (from, to) = (read(REFUSED_FROM)?, read(REFUSED_TO)?);
        (to != 0).then_some((from, to))
    }

    fn memory_pages(&self) -> u32 {
        self.store
            .data()
            .memory
            .map_or(0, |m| (m.data_size(&self.store) / 65536) as u32)
    }
}

/// The report as both engines must agree on it: without fuel and durations.
fn comparable(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).expect("a report serializes");
    strip(&mut v);
    v
}

fn strip(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for key in ["fuel", "duration_us", "wasm_backtrace"] {
                map.remove(key);
            }
            map.values_mut().for_each(strip);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// Runs `scenario` on wasmi and on the second engine; panics naming the first difference.
fn both(label: &str, plugins: &[&Plugin], scenario: &Scenario) {
    let on_wasmi = Session::with_chain(plugins, scenario.clone()).map(|mut s| s.run_to_end());
    let second =
        Session::with_chain_on(plugins, scenario.clone(), Some(&SecondWasmi)).map(|mut s| {
            assert!(
                !s.steppable() || scenario.concurrency.is_some(),
                "{label}: ran on wasmi"
            );
            s.run_to_end()
        });
    match (on_wasmi, second) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (comparable(&a), comparable(&b));
            if a != b {
                panic!(
                    "{label}: the engines disagree\n{}",
                    first_difference(&a, &b)
                );
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{label}"),
        (a, b) => panic!(
            "{label}: one engine started, the other did not: {:?} / {:?}",
            a.err(),
            b.err()
        ),
    }
}

fn first_difference(a: &serde_json::Value, b: &serde_json::Value) -> String {
    let (a, b) = (
        serde_json::to_string_pretty(a).unwrap(),
        serde_json::to_string_pretty(b).unwrap(),
    );
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  wasmi  {x}\n  second {y}", i + 1);
        }
    }
    "lengths differ".to_string()
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public/examples")
}

#[test]
fn every_example_scenario_runs_alike_on_both_engines() {
    let index = std::fs::read_to_string(examples_dir().join("index.json"))
        .expect("examples built (bash examples/build.sh)");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&index).unwrap();
    let mut plugins = BTreeMap::new();
    let mut load = |file: &str| -> Rc<Plugin> {
        plugins
            .entry(file.to_string())
            .or_insert_with(|| {
                Rc::new(Plugin::load(std::fs::read(examples_dir().join(file)).unwrap()).unwrap())
            })
            .clone()
    };
    let mut ran = 0;
    for e in &entries {
        let wasm = e["wasm"].as_str().unwrap();
        let files =
            std::iter::once(&e["scenario"]).chain(e["scenarios"].as_array().into_iter().flatten());
        for file in files {
            let file = file.as_str().unwrap();
            let text = std::fs::read_to_string(examples_dir().join(file)).unwrap();
            let scenario = Scenario::parse(&text).unwrap();
            let mut chain = vec![load(wasm)];
            for f in &scenario.chain {
                let name = f
                    .plugin
                    .example
                    .as_deref()
                    .expect("chain filters name examples");
                chain.push(load(&format!("{name}.wasm")));
            }
            let refs: Vec<&Plugin> = chain.iter().map(|p| &**p).collect();
            both(file, &refs, &scenario);
            ran += 1;
        }
    }
    assert!(ran >= 25, "only {ran} example scenarios");
}

#[test]
fn every_fixture_runs_alike_on_both_engines() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            name.strip_suffix(".wat").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "{} fixtures", names.len());
    for name in names {
        let Ok(plugin) = Plugin::load(fixture(&name)) else {
            continue;
        };
        // Lenient: fixtures of shapes Envoy refuses still run, as in the fixture tests.
        let mut scenario = Scenario::default();
        scenario.settings.lenient = true;
        both(&name, &[&plugin], &scenario);
        // The hostile ones misbehave when the request carries `x-evil`; all but the loops
        // (which only fuel or the page's deadline stop) end on their own.
        let text = std::fs::read_to_string(dir.join(format!("{name}.wat"))).unwrap();
        if text.contains("\"x-evil\"") && !name.contains("loop") {
            scenario
                .request
                .headers
                .0
                .push(("x-evil".into(), String::new()));
            both(&format!("{name} (x-evil)"), &[&plugin], &scenario);
        }
    }
}

/// A module whose exports do not validate: the foreign engine refuses it, and the failure is
/// named with wasmi's words, as a run on the interpreter names it. (A function body that does
/// not validate is another matter: wasmi finds it when the function is first called.)
#[test]
fn a_module_both_engines_refuse_is_named_alike() {
    let bytes = wat::parse_str(
        r#"(module
             (memory (export "memory") 1)
             (func (export "_initialize"))
             (func (export "proxy_abi_version_0_2_0"))
             (func (export "malloc") (param i32) (result i32) i32.const 0)
             (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0)
             (export "proxy_on_response_headers" (func 99)))"#,
    )
    .unwrap();
    let plugin = Plugin::load(bytes).expect("inspect reads no function body");
    let scenario = Scenario::default();
    let refused = |engine: Option<&dyn ForeignEngine>| {
        let session = Session::with_chain_on(&[&plugin], scenario.clone(), engine);
        session
            .err()
            .expect("an invalid module does not run")
            .to_string()
    };
    let on_wasmi = refused(None);
    assert!(on_wasmi.contains("99"), "{on_wasmi}");
    assert_eq!(refused(Some(&SecondWasmi)), on_wasmi);
}
