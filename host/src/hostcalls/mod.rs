//! The host functions: one table row per import Envoy provides, from which linking, the
//! import report (`pwp inspect`) and the trace names are all derived.
//!
//! Each row names a body: a Rust function with named, typed parameters whose signature is the
//! import's wasm type (see `typed.rs`). Every body has the same shape: check guest ranges (a
//! bad one is an `InvalidMemoryAccess` answer), act on the [`World`](crate::state::World),
//! write results last. Around each call, `begin` enforces the per-callback host-call limit and
//! Envoy's start-phase and allocator restrictions, and `finish` records the call in the trace
//! and pauses the guest when the user steps into host calls.

mod buffers;
mod callouts;
mod headers;
mod higress;
mod misc;
mod shared;
mod typed;
mod wasi;

use std::collections::HashSet;

use wasmi::{FuncType, Linker, Memory, MemoryType, Store, Val, ValType};

use typed::Param;
pub(crate) use typed::signature;

use crate::abi::{AbiVersion, Status};
use crate::ctx::Ctx;
use crate::interrupt::{HostPause, LimitExceeded};
use crate::memory::{Guest, HostErr, HostResult};
use crate::shape::{Extern, Shape};
use crate::trace::{CallStatus, FailureKind};

/// The import namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ns {
    /// `env`
    Env,
    /// `wasi_snapshot_preview1` and `wasi_unstable`
    Wasi,
}

/// For which ABI versions Envoy registers an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Avail {
    /// Every version.
    All,
    /// 0.1.0 only.
    V010,
    /// 0.2.x only.
    V02,
    /// 0.2.1 and Higress 0.2.100.
    V021,
    /// Higress's Envoy only.
    Higress,
    /// Envoy-specific extra (not part of the spec).
    EnvoyExtra,
}

/// One host function.
#[derive(Debug)]
pub struct Spec {
    /// Namespace.
    pub ns: Ns,
    /// Import name.
    pub name: &'static str,
    /// Availability in Envoy.
    pub avail: Avail,
    /// The wasm parameter types.
    params: &'static [ValType],
    /// The wasm result types: none, or one `i32`.
    results: &'static [ValType],
}

impl Spec {
    /// The wasm parameter types, from the body's signature.
    pub fn params(&self) -> &'static [ValType] {
        self.params
    }

    /// The wasm result types: none, or one `i32`.
    pub fn results(&self) -> &'static [ValType] {
        self.results
    }

    /// Whether an import of this type is this host function.
    pub fn has_type(&self, params: &[ValType], results: &[ValType]) -> bool {
        self.params() == params && self.results() == results
    }

    /// The import's type as the import report shows it.
    pub fn signature(&self) -> String {
        signature(self.params(), self.results())
    }
}

macro_rules! table {
    ($( $ns:ident $name:literal, $avail:ident, $body:path; )*) => {
        /// Every host function the playground implements.
        pub static SPECS: &[Spec] = &[
            $( Spec {
                ns: Ns::$ns,
                name: $name,
                avail: Avail::$avail,
                params: typed::params_of($body),
                results: typed::results_of($body),
            }, )*
        ];
        /// The bodies of [`SPECS`], row by row. A separate table: only linking reaches it.
        static BODIES: &[&dyn typed::Body] = &[ $( &typed::body($body), )* ];
    };
}

table! {
    Env "proxy_log", All, misc::log;
    Env "proxy_get_log_level", V021, misc::get_log_level;
    Env "proxy_get_current_time_nanoseconds", All, misc::get_current_time;
    Env "proxy_set_tick_period_milliseconds", All, misc::set_tick_period;
    Env "proxy_get_configuration", V010, buffers::get_configuration;
    Env "proxy_get_status", All, misc::get_status;
    Env "proxy_set_effective_context", All, misc::set_effective_context;
    Env "proxy_done", All, misc::done;
    Env "proxy_continue_request", V010, misc::continue_request;
    Env "proxy_continue_response", V010, misc::continue_response;
    Env "proxy_clear_route_cache", V010, misc::clear_route_cache;
    Env "proxy_continue_stream", V02, misc::continue_stream;
    Env "proxy_close_stream", V02, misc::close_stream;
    Env "proxy_send_local_response", All, misc::send_local_response;
    Env "proxy_get_header_map_value", All, headers::get_value;
    Env "proxy_get_header_map_pairs", All, headers::get_pairs;
    Env "proxy_set_header_map_pairs", All, headers::set_pairs;
    Env "proxy_add_header_map_value", All, headers::add_value;
    Env "proxy_replace_header_map_value", All, headers::replace_value;
    Env "proxy_remove_header_map_value", All, headers::remove_value;
    Env "proxy_get_header_map_size", All, headers::get_size;
    Env "proxy_get_buffer_bytes", All, buffers::get_bytes;
    Env "proxy_get_buffer_status", All, buffers::get_status;
    Env "proxy_set_buffer_bytes", All, buffers::set_bytes;
    Env "proxy_http_call", All, callouts::http_call;
    Env "proxy_grpc_call", All, callouts::grpc_call;
    Env "proxy_grpc_stream", All, callouts::grpc_stream;
    Env "proxy_grpc_send", All, callouts::grpc_send;
    Env "proxy_grpc_cancel", All, callouts::grpc_cancel;
    Env "proxy_grpc_close", All, callouts::grpc_close;
    Env "proxy_get_shared_data", All, shared::get_shared_data;
    Env "proxy_set_shared_data", All, shared::set_shared_data;
    Env "proxy_register_shared_queue", All, shared::register_queue;
    Env "proxy_resolve_shared_queue", All, shared::resolve_queue;
    Env "proxy_enqueue_shared_queue", All, shared::enqueue;
    Env "proxy_dequeue_shared_queue", All, shared::dequeue;
    Env "proxy_define_metric", All, shared::define_metric;
    Env "proxy_increment_metric", All, shared::increment_metric;
    Env "proxy_record_metric", All, shared::record_metric;
    Env "proxy_get_metric", All, shared::get_metric;
    Env "proxy_get_property", All, misc::get_property;
    Env "proxy_set_property", All, misc::set_property;
    Env "proxy_call_foreign_function", All, higress::call_foreign_function;
    Env "proxy_redis_init", Higress, higress::redis_init;
    Env "proxy_redis_call", Higress, higress::redis_call;
    Env "proxy_inject_encoded_data_to_filter_chain", Higress, higress::inject_encoded_data;
    Env "proxy_get_upstream_hosts", Higress, higress::get_upstream_hosts;
    Env "proxy_set_upstream_override_host", Higress, higress::set_upstream_override_host;
    Env "envoy_resolve_dns", EnvoyExtra, higress::resolve_dns;
    Env "pthread_equal", EnvoyExtra, misc::pthread_equal;
    Env "emscripten_notify_memory_growth", EnvoyExtra, misc::notify_memory_growth;
    Wasi "args_get", All, wasi::args_get;
    Wasi "args_sizes_get", All, wasi::args_sizes_get;
    Wasi "environ_get", All, wasi::environ_get;
    Wasi "environ_sizes_get", All, wasi::environ_sizes_get;
    Wasi "clock_res_get", All, wasi::clock_res_get;
    Wasi "clock_time_get", All, wasi::clock_time_get;
    Wasi "fd_advise", All, wasi::fd_advise;
    Wasi "fd_allocate", All, wasi::fd_allocate;
    Wasi "fd_close", All, wasi::fd_close;
    Wasi "fd_datasync", All, wasi::fd_datasync;
    Wasi "fd_fdstat_get", All, wasi::fd_fdstat_get;
    Wasi "fd_fdstat_set_flags", All, wasi::fd_fdstat_set_flags;
    Wasi "fd_fdstat_set_rights", All, wasi::fd_fdstat_set_rights;
    Wasi "fd_filestat_get", All, wasi::fd_filestat_get;
    Wasi "fd_filestat_set_size", All, wasi::fd_filestat_set_size;
    Wasi "fd_filestat_set_times", All, wasi::fd_filestat_set_times;
    Wasi "fd_pread", All, wasi::fd_pread;
    Wasi "fd_prestat_get", All, wasi::fd_prestat_get;
    Wasi "fd_prestat_dir_name", All, wasi::fd_prestat_dir_name;
    Wasi "fd_pwrite", All, wasi::fd_pwrite;
    Wasi "fd_read", All, wasi::fd_read;
    Wasi "fd_readdir", All, wasi::fd_readdir;
    Wasi "fd_renumber", All, wasi::fd_renumber;
    Wasi "fd_seek", All, wasi::fd_seek;
    Wasi "fd_sync", All, wasi::fd_sync;
    Wasi "fd_tell", All, wasi::fd_tell;
    Wasi "fd_write", All, wasi::fd_write;
    Wasi "path_create_directory", All, wasi::path_create_directory;
    Wasi "path_filestat_get", All, wasi::path_filestat_get;
    Wasi "path_filestat_set_times", All, wasi::path_filestat_set_times;
    Wasi "path_link", All, wasi::path_link;
    Wasi "path_open", All, wasi::path_open;
    Wasi "path_readlink", All, wasi::path_readlink;
    Wasi "path_remove_directory", All, wasi::path_remove_directory;
    Wasi "path_rename", All, wasi::path_rename;
    Wasi "path_symlink", All, wasi::path_symlink;
    Wasi "path_unlink_file", All, wasi::path_unlink_file;
    Wasi "poll_oneoff", All, wasi::poll_oneoff;
    Wasi "proc_exit", All, wasi::proc_exit;
    Wasi "proc_raise", All, wasi::proc_raise;
    Wasi "random_get", All, wasi::random_get;
    Wasi "sched_yield", All, wasi::sched_yield;
    Wasi "sock_accept", All, wasi::sock_accept;
    Wasi "sock_recv", All, wasi::sock_recv;
    Wasi "sock_send", All, wasi::sock_send;
    Wasi "sock_shutdown", All, wasi::sock_shutdown;
}

/// Host functions allowed while the start functions run (cpp-host's start whitelist).
fn allowed_during_start(spec: &Spec) -> bool {
    spec.ns == Ns::Wasi || matches!(spec.name, "proxy_log" | "emscripten_notify_memory_growth")
}

/// Host functions allowed while the allocator runs (cpp-host; Higress lifted the restriction).
fn allowed_in_allocator(spec: &Spec) -> bool {
    matches!(
        spec.name,
        "proxy_log" | "fd_write" | "clock_time_get" | "poll_oneoff"
    )
}

/// The namespace of an import module name.
pub fn namespace(module: &str) -> Option<Ns> {
    match module {
        "env" => Some(Ns::Env),
        "wasi_snapshot_preview1" | "wasi_unstable" => Some(Ns::Wasi),
        _ => None,
    }
}

/// The table row for an import, if the host knows it.
pub fn lookup(module: &str, name: &str) -> Option<&'static Spec> {
    let ns = namespace(module)?;
    SPECS.iter().find(|s| s.ns == ns && s.name == name)
}

/// Whether Envoy registers `spec` for a plugin of `abi` (`higress`: Higress's Envoy).
pub fn envoy_registers(spec: &Spec, abi: AbiVersion, higress: bool) -> bool {
    match spec.avail {
        Avail::All | Avail::EnvoyExtra => true,
        Avail::V010 => abi == AbiVersion::V0_1_0,
        Avail::V02 => abi.is_v2(),
        Avail::V021 => matches!(abi, AbiVersion::V0_2_1 | AbiVersion::V0_2_100),
        Avail::Higress => higress && matches!(abi, AbiVersion::V0_2_1 | AbiVersion::V0_2_100),
    }
}

/// Defines every import of a module of this `shape` in `linker`: the real body where the name
/// and type match a table row, a generated stub (status 12, `Unimplemented`) otherwise.
///
/// # Errors
///
/// When the module imports a global or a table (Envoy refuses those too).
pub fn link(
    linker: &mut Linker<Ctx>,
    shape: &Shape,
    store: &mut Store<Ctx>,
) -> Result<(), wasmi::Error> {
    for import in resolve(shape)? {
        match import {
            Resolved::Func {
                module,
                row: Some(row),
                ..
            } => BODIES[row].define(linker, &module, &SPECS[row])?,
            Resolved::Func {
                module,
                name,
                ty,
                row: None,
            } => define_stub(linker, &module, &name, ty)?,
            Resolved::Memory {
                module,
                name,
                minimum,
                maximum,
            } => {
                let mem = Memory::new(&mut *store, MemoryType::new(minimum, maximum))?;
                linker.define(&module, &name, mem)?;
            }
        }
    }
    Ok(())
}

/// An import of a module as both engines link it: named once (a module may import the same
/// name twice), a function matched against the table by name and type.
enum Resolved {
    Func {
        module: String,
        name: String,
        ty: FuncType,
        /// Its row in [`SPECS`] and [`BODIES`]; `None` for a stub.
        row: Option<usize>,
    },
    Memory {
        module: String,
        name: String,
        minimum: u32,
        maximum: Option<u32>,
    },
}

/// The imports of `module`, each once, resolved.
///
/// # Errors
///
/// When the module imports a global or a table (Envoy refuses those too).
fn resolve(shape: &Shape) -> Result<Vec<Resolved>, wasmi::Error> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (m, n, ty) in &shape.imports {
        if !seen.insert((m, n)) {
            continue;
        }
        let (m, n) = (m.clone(), n.clone());
        out.push(match ty {
            Extern::Func(ft) => {
                let row = lookup(&m, &n)
                    .filter(|s| s.has_type(ft.params(), ft.results()))
                    .and_then(|spec| SPECS.iter().position(|s| std::ptr::eq(s, spec)));
                Resolved::Func {
                    module: m,
                    name: n,
                    ty: ft.clone(),
                    row,
                }
            }
            &Extern::Memory { minimum, maximum } => Resolved::Memory {
                module: m,
                name: n,
                minimum,
                maximum,
            },
            Extern::Global => {
                return Err(wasmi::Error::new(format!(
                    "the module imports global {m}.{n}; Envoy refuses imported globals"
                )));
            }
            Extern::Table => {
                return Err(wasmi::Error::new(format!(
                    "the module imports table {m}.{n}; no proxy-wasm host provides tables"
                )));
            }
            Extern::Other => {
                return Err(wasmi::Error::new(format!(
                    "the module imports {m}.{n}, which is neither a function nor a memory"
                )));
            }
        });
    }
    Ok(out)
}

/// An import the host does not provide (or not with this type): it answers 12
/// (`Unimplemented`) in every result, and is recorded like any host call.
fn define_stub(
    linker: &mut Linker<Ctx>,
    module: &str,
    name: &str,
    ty: FuncType,
) -> Result<(), wasmi::Error> {
    let label = stub_label(module, name);
    let types = ty.clone();
    linker.func_new(module, name, ty, move |mut caller, params, results| {
        let args: Vec<i64> = params
            .iter()
            .map(|v| match v {
                Val::I32(x) => Param::raw(*x),
                Val::I64(x) => *x,
                _ => 0,
            })
            .collect();
        let ret = stub(&mut caller, &label, &args, types.results())?;
        for r in results.iter_mut() {
            *r = result(r.ty(), ret);
        }
        Ok(())
    })?;
    Ok(())
}

/// How the trace names a stubbed import: its name, with its module when that is not one of
/// the host's namespaces.
fn stub_label(module: &str, name: &str) -> String {
    if namespace(module).is_some() {
        name.to_string()
    } else {
        format!("{module}.{name}")
    }
}

/// A call of a stubbed import: recorded, answered with 12 (`Unimplemented`).
fn stub(
    guest: &mut dyn Guest,
    label: &str,
    args: &[i64],
    results: &[ValType],
) -> Result<i32, wasmi::Error> {
    begin(guest, label, None)?;
    finish(
        guest,
        label,
        None,
        args,
        Ok(Status::Unimplemented as i32),
        results,
    )
}

/// One import of a module as an engine other than wasmi provides it (see
/// [`ForeignEngine`](crate::vm::ForeignEngine)): a host function, or a memory the host
/// creates.
#[derive(Debug, Clone)]
pub enum Import {
    /// A function: a host function of the table, or a stub.
    Func(HostImport),
    /// A memory, in 64 KiB pages, its maximum capped at the scenario's memory limit.
    Memory {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// Initial size.
        minimum: u32,
        /// Maximum size.
        maximum: u32,
    },
}

/// A function import and the host function that answers it.
#[derive(Debug, Clone)]
pub struct HostImport {
    /// The import's module.
    pub module: String,
    /// The import's name.
    pub name: String,
    /// Its type, as the module declares it.
    pub ty: FuncType,
    /// The row of [`SPECS`] and [`BODIES`] that answers it; `None` for a stub.
    row: Option<usize>,
}

impl HostImport {
    /// Runs the host function for a call with `args` (each an `i32` or `i64` as `i64`) on
    /// `guest`: the same checks, body and record as on wasmi. Returns the guest's results.
    ///
    /// # Errors
    ///
    /// The trap the call ends in.
    pub fn call(&self, guest: &mut dyn Guest, args: &[i64]) -> Result<Vec<Val>, wasmi::Error> {
        let ret = match self.row {
            Some(row) => BODIES[row].call(guest, &SPECS[row], args)?.unwrap_or(0),
            None => {
                // As on wasmi: an `i32` argument is recorded zero-extended.
                let args: Vec<i64> = self
                    .ty
                    .params()
                    .iter()
                    .zip(args)
                    .map(|(t, a)| match t {
                        ValType::I32 => Param::raw(*a as i32),
                        _ => *a,
                    })
                    .collect();
                stub(
                    guest,
                    &stub_label(&self.module, &self.name),
                    &args,
                    self.ty.results(),
                )?
            }
        };
        Ok(self.ty.results().iter().map(|t| result(*t, ret)).collect())
    }
}

/// Every import of a module of this `shape`, resolved as [`link`] resolves them for wasmi, for another engine;
/// memories are capped at `memory_pages`.
///
/// # Errors
///
/// As [`link`].
pub(crate) fn imports(shape: &Shape, memory_pages: u32) -> Result<Vec<Import>, wasmi::Error> {
    Ok(resolve(shape)?
        .into_iter()
        .map(|import| match import {
            Resolved::Func {
                module,
                name,
                ty,
                row,
            } => Import::Func(HostImport {
                module,
                name,
                ty,
                row,
            }),
            Resolved::Memory {
                module,
                name,
                minimum,
                maximum,
            } => Import::Memory {
                module,
                name,
                minimum,
                maximum: maximum.map_or(memory_pages, |x| x.min(memory_pages)),
            },
        })
        .collect())
}

/// A result of type `ty` for the return value `ret`.
fn result(ty: ValType, ret: i32) -> Val {
    match ty {
        ValType::I32 => Val::I32(ret),
        ValType::I64 => Val::I64(i64::from(ret)),
        ValType::F32 => Val::F32(0f32.into()),
        ValType::F64 => Val::F64(0f64.into()),
        other => Val::default_for_ty(other),
    }
}

/// Before a host call: counts it, refuses calls past the per-callback limit and (in strict
/// mode) calls Envoy restricts at this moment, warns about stubs, and clears the detail.
fn begin(
    caller: &mut dyn Guest,
    label: &str,
    spec: Option<&'static Spec>,
) -> Result<(), wasmi::Error> {
    let ctx = caller.data_mut();
    ctx.hostcalls_in_callback += 1;
    let in_allocator = ctx.nested_depth > 0;
    let world = ctx.world.clone();
    let mut w = world.borrow_mut();
    let limit = w.cfg().limits.max_hostcalls_per_callback;
    if ctx.hostcalls_in_callback > limit {
        return Err(wasmi::Error::host(LimitExceeded {
            kind: FailureKind::HostcallLimit,
            message: format!(
                "the plugin made more than {limit} host calls in one callback (last: {label}); it probably loops"
            ),
        }));
    }
    if w.in_start && !spec.is_some_and(allowed_during_start) {
        restricted(
            &mut w,
            format!(
                "{label} was called during VM start-up (_initialize/_start/main); Envoy allows only logging and WASI there and traps with \"restricted_callback\""
            ),
        )?;
    }
    if in_allocator && !w.cfg().higress && !spec.is_some_and(allowed_in_allocator) {
        restricted(
            &mut w,
            format!(
                "{label} was called from inside the allocator (malloc / proxy_on_memory_allocate) while the host was returning data; Envoy allows only proxy_log, fd_write, clock_time_get and poll_oneoff there and traps with \"restricted_callback\""
            ),
        )?;
    }
    if spec.is_none() {
        let msg = format!(
            "{label} is not provided by Envoy; the playground answered with status 12 (Unimplemented)"
        );
        if !w.warnings.contains(&msg) {
            w.warnings.push(msg);
        }
    }
    drop(w);
    ctx.detail.clear();
    Ok(())
}

/// After a host call: records it with its arguments and outcome, turns a trapping outcome
/// into the trap, and pauses the guest (with `results` of the return value) when stepping.
/// Returns the value for the guest.
fn finish(
    caller: &mut dyn Guest,
    label: &str,
    spec: Option<&'static Spec>,
    args: &[i64],
    outcome: HostResult,
    results: &[ValType],
) -> Result<i32, wasmi::Error> {
    let (ret, trap) = match outcome {
        Ok(v) | Err(HostErr::Ret(v)) => (v, None),
        Err(HostErr::Trap(e)) => (0, Some(e)),
    };
    let has_result = !results.is_empty() && trap.is_none();
    record(
        caller,
        label,
        args,
        has_result.then_some(ret),
        trap.is_some(),
        spec,
    );
    if let Some(e) = trap {
        return Err(e);
    }
    let ctx = caller.data();
    if (ctx.pause_on_hostcalls || (ctx.pause_on_shared && is_shared(label)))
        && ctx.nested_depth == 0
    {
        return Err(wasmi::Error::host(HostPause {
            results: results.iter().map(|t| result(*t, ret)).collect(),
        }));
    }
    Ok(ret)
}

/// Shared data and shared queues: process-wide, so another worker may touch them between two
/// such calls of one callback.
pub(crate) fn is_shared(name: &str) -> bool {
    matches!(
        name,
        "proxy_get_shared_data"
            | "proxy_set_shared_data"
            | "proxy_register_shared_queue"
            | "proxy_resolve_shared_queue"
            | "proxy_enqueue_shared_queue"
            | "proxy_dequeue_shared_queue"
    )
}

/// A call Envoy would refuse at this moment: a trap in strict mode, a warning otherwise.
fn restricted(w: &mut crate::state::World, msg: String) -> Result<(), wasmi::Error> {
    if w.cfg().strict {
        return Err(wasmi::Error::host(LimitExceeded {
            kind: FailureKind::RestrictedCallback,
            message: msg,
        }));
    }
    if !w.warnings.contains(&msg) {
        w.warnings.push(msg);
    }
    Ok(())
}

fn record(
    caller: &mut dyn Guest,
    label: &str,
    args: &[i64],
    ret: Option<i32>,
    trapped: bool,
    spec: Option<&'static Spec>,
) {
    let ctx = caller.data_mut();
    let detail = ctx.detail.as_str().to_owned();
    ctx.detail.clear();
    let mut w = ctx.world.borrow_mut();
    let Some(index) = w.current_callback.as_ref().map(|(_, i)| *i) else {
        return;
    };
    let proxy = spec.is_some_and(|s| s.ns == Ns::Env && s.name.starts_with("proxy_"));
    let status = match (proxy, ret) {
        // No value: the call trapped (e.g. in the allocator) and never returned.
        (_, None) if trapped => Some(CallStatus::Trap),
        (true, Some(r)) => Some(CallStatus::status(r)),
        (false, Some(r)) if spec.is_some_and(|s| s.ns == Ns::Wasi) => Some(CallStatus::errno(r)),
        (false, Some(r)) if spec.is_none() => Some(CallStatus::status(r)),
        _ => None,
    };
    if let Some(cb) = w.trace.callbacks.get_mut(index) {
        cb.hostcalls.push(crate::trace::HostCallRecord {
            name: label.to_string(),
            args: args.to_vec(),
            detail,
            ret: ret.map(i64::from),
            status,
            stub: spec.is_none(),
        });
    }
}

/// Sets the detail shown for the current host call. It is formatted into a buffer that every
/// host call reuses, and copied once, at its exact size, into the trace.
pub(crate) fn note(caller: &mut dyn Guest, detail: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    let buffer = &mut caller.data_mut().detail;
    buffer.clear();
    // Writing to a String cannot fail.
    let _ = buffer.write_fmt(detail);
}

/// Shorthand: a value as a bounded, escaped string for trace details, formatted where it is
/// used (no String of its own).
pub(crate) fn show(bytes: &[u8]) -> Shown<'_> {
    Shown(bytes)
}

/// See [`show`].
pub(crate) struct Shown<'a>(&'a [u8]);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MAX: usize = 200;
        let bytes = self.0;
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]);
        write!(f, "{:?}", text.as_ref())?;
        if bytes.len() > MAX {
            write!(f, "…(+{} bytes)", bytes.len() - MAX)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_unique_and_well_formed() {
        let mut names = HashSet::new();
        for s in SPECS {
            assert!(names.insert((s.ns, s.name)), "duplicate row {}", s.name);
            assert!(
                s.params()
                    .iter()
                    .all(|t| matches!(t, ValType::I32 | ValType::I64)),
                "{}",
                s.name
            );
            assert!(matches!(s.results(), [] | [ValType::I32]), "{}", s.name);
        }
    }

    #[test]
    fn version_restricted_imports_follow_envoys_registration() {
        let level = lookup("env", "proxy_get_log_level").unwrap();
        assert!(!envoy_registers(level, AbiVersion::V0_2_0, false));
        assert!(envoy_registers(level, AbiVersion::V0_2_1, false));
        let cont = lookup("env", "proxy_continue_request").unwrap();
        assert!(envoy_registers(cont, AbiVersion::V0_1_0, false));
        assert!(!envoy_registers(cont, AbiVersion::V0_2_1, false));
        let redis = lookup("env", "proxy_redis_call").unwrap();
        assert!(!envoy_registers(redis, AbiVersion::V0_2_100, false));
        assert!(envoy_registers(redis, AbiVersion::V0_2_100, true));
        assert!(lookup("wasi_unstable", "fd_write").is_some());
    }
}
