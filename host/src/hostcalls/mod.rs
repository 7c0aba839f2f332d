//! The host functions: one table row per import Envoy provides, from which linking, the
//! import report (`pwp inspect`) and the trace names are all derived.
//!
//! Every body has the same shape: decode arguments, check guest ranges (a bad one is an
//! `InvalidMemoryAccess` answer), act on the [`World`](crate::state::World), write results
//! last. A generic wrapper records each call in the trace, enforces the per-callback host-call
//! limit and Envoy's start-phase restrictions, and pauses the guest when the user steps into
//! host calls.

mod buffers;
mod callouts;
mod headers;
mod higress;
mod misc;
mod shared;
mod wasi;

use std::collections::HashSet;

use wasmi::{
    Caller, ExternType, FuncType, Linker, Memory, MemoryType, Module, Store, Val, ValType,
};

use crate::abi::{AbiVersion, Status};
use crate::ctx::Ctx;
use crate::interrupt::{HostPause, LimitExceeded};
use crate::memory::{HostErr, HostResult};
use crate::trace::{CallStatus, FailureKind};

/// A host function body: raw arguments in (i32 zero-extended, i64 as is), return value out.
pub type Imp = fn(&mut Caller<'_, Ctx>, &[i64]) -> HostResult;

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
pub struct Spec {
    /// Namespace.
    pub ns: Ns,
    /// Import name.
    pub name: &'static str,
    /// Parameter types: `i` = i32, `I` = i64.
    pub params: &'static str,
    /// Result types, same letters; empty for none.
    pub results: &'static str,
    /// Availability in Envoy.
    pub avail: Avail,
    /// The body.
    pub imp: Imp,
}

macro_rules! table {
    ($( $ns:ident $name:literal ($params:literal) -> $results:literal, $avail:ident, $imp:path; )*) => {
        /// Every host function the playground implements.
        pub static SPECS: &[Spec] = &[
            $( Spec { ns: Ns::$ns, name: $name, params: $params, results: $results, avail: Avail::$avail, imp: $imp }, )*
        ];
    };
}

table! {
    Env "proxy_log" ("iii") -> "i", All, misc::log;
    Env "proxy_get_log_level" ("i") -> "i", V021, misc::get_log_level;
    Env "proxy_get_current_time_nanoseconds" ("i") -> "i", All, misc::get_current_time;
    Env "proxy_set_tick_period_milliseconds" ("i") -> "i", All, misc::set_tick_period;
    Env "proxy_get_configuration" ("ii") -> "i", V010, buffers::get_configuration;
    Env "proxy_get_status" ("iii") -> "i", All, misc::get_status;
    Env "proxy_set_effective_context" ("i") -> "i", All, misc::set_effective_context;
    Env "proxy_done" ("") -> "i", All, misc::done;
    Env "proxy_continue_request" ("") -> "i", V010, misc::continue_request;
    Env "proxy_continue_response" ("") -> "i", V010, misc::continue_response;
    Env "proxy_clear_route_cache" ("") -> "i", V010, misc::clear_route_cache;
    Env "proxy_continue_stream" ("i") -> "i", V02, misc::continue_stream;
    Env "proxy_close_stream" ("i") -> "i", V02, misc::close_stream;
    Env "proxy_send_local_response" ("iiiiiiii") -> "i", All, misc::send_local_response;
    Env "proxy_get_header_map_value" ("iiiii") -> "i", All, headers::get_value;
    Env "proxy_get_header_map_pairs" ("iii") -> "i", All, headers::get_pairs;
    Env "proxy_set_header_map_pairs" ("iii") -> "i", All, headers::set_pairs;
    Env "proxy_add_header_map_value" ("iiiii") -> "i", All, headers::add_value;
    Env "proxy_replace_header_map_value" ("iiiii") -> "i", All, headers::replace_value;
    Env "proxy_remove_header_map_value" ("iii") -> "i", All, headers::remove_value;
    Env "proxy_get_header_map_size" ("ii") -> "i", All, headers::get_size;
    Env "proxy_get_buffer_bytes" ("iiiii") -> "i", All, buffers::get_bytes;
    Env "proxy_get_buffer_status" ("iii") -> "i", All, buffers::get_status;
    Env "proxy_set_buffer_bytes" ("iiiii") -> "i", All, buffers::set_bytes;
    Env "proxy_http_call" ("iiiiiiiiii") -> "i", All, callouts::http_call;
    Env "proxy_grpc_call" ("iiiiiiiiiiii") -> "i", All, callouts::grpc_call;
    Env "proxy_grpc_stream" ("iiiiiiiii") -> "i", All, callouts::grpc_stream;
    Env "proxy_grpc_send" ("iiii") -> "i", All, callouts::grpc_send;
    Env "proxy_grpc_cancel" ("i") -> "i", All, callouts::grpc_cancel;
    Env "proxy_grpc_close" ("i") -> "i", All, callouts::grpc_close;
    Env "proxy_get_shared_data" ("iiiii") -> "i", All, shared::get_shared_data;
    Env "proxy_set_shared_data" ("iiiii") -> "i", All, shared::set_shared_data;
    Env "proxy_register_shared_queue" ("iii") -> "i", All, shared::register_queue;
    Env "proxy_resolve_shared_queue" ("iiiii") -> "i", All, shared::resolve_queue;
    Env "proxy_enqueue_shared_queue" ("iii") -> "i", All, shared::enqueue;
    Env "proxy_dequeue_shared_queue" ("iii") -> "i", All, shared::dequeue;
    Env "proxy_define_metric" ("iiii") -> "i", All, shared::define_metric;
    Env "proxy_increment_metric" ("iI") -> "i", All, shared::increment_metric;
    Env "proxy_record_metric" ("iI") -> "i", All, shared::record_metric;
    Env "proxy_get_metric" ("ii") -> "i", All, shared::get_metric;
    Env "proxy_get_property" ("iiii") -> "i", All, misc::get_property;
    Env "proxy_set_property" ("iiii") -> "i", All, misc::set_property;
    Env "proxy_call_foreign_function" ("iiiiii") -> "i", All, higress::call_foreign_function;
    Env "proxy_redis_init" ("iiiiiii") -> "i", Higress, higress::redis_init;
    Env "proxy_redis_call" ("iiiii") -> "i", Higress, higress::redis_call;
    Env "proxy_inject_encoded_data_to_filter_chain" ("iii") -> "i", Higress, higress::inject_encoded_data;
    Env "proxy_get_upstream_hosts" ("ii") -> "i", Higress, higress::get_upstream_hosts;
    Env "proxy_set_upstream_override_host" ("ii") -> "i", Higress, higress::set_upstream_override_host;
    Env "envoy_resolve_dns" ("iii") -> "i", EnvoyExtra, higress::resolve_dns;
    Env "pthread_equal" ("ii") -> "i", EnvoyExtra, misc::pthread_equal;
    Env "emscripten_notify_memory_growth" ("i") -> "", EnvoyExtra, misc::nothing;
    Wasi "args_get" ("ii") -> "i", All, wasi::args_get;
    Wasi "args_sizes_get" ("ii") -> "i", All, wasi::args_sizes_get;
    Wasi "environ_get" ("ii") -> "i", All, wasi::environ_get;
    Wasi "environ_sizes_get" ("ii") -> "i", All, wasi::environ_sizes_get;
    Wasi "clock_res_get" ("ii") -> "i", All, wasi::clock_res_get;
    Wasi "clock_time_get" ("iIi") -> "i", All, wasi::clock_time_get;
    Wasi "fd_advise" ("iIIi") -> "i", All, wasi::success;
    Wasi "fd_allocate" ("iII") -> "i", All, wasi::stdio_ok_else_badf;
    Wasi "fd_close" ("i") -> "i", All, wasi::fd_close;
    Wasi "fd_datasync" ("i") -> "i", All, wasi::stdio_ok_else_badf;
    Wasi "fd_fdstat_get" ("ii") -> "i", All, wasi::fd_fdstat_get;
    Wasi "fd_fdstat_set_flags" ("ii") -> "i", All, wasi::nosys;
    Wasi "fd_fdstat_set_rights" ("iII") -> "i", All, wasi::stdio_ok_else_badf;
    Wasi "fd_filestat_get" ("ii") -> "i", All, wasi::badf;
    Wasi "fd_filestat_set_size" ("iI") -> "i", All, wasi::stdio_ok_else_badf;
    Wasi "fd_filestat_set_times" ("iIIi") -> "i", All, wasi::stdio_ok_else_badf;
    Wasi "fd_pread" ("iiiIi") -> "i", All, wasi::nosys;
    Wasi "fd_prestat_get" ("ii") -> "i", All, wasi::badf;
    Wasi "fd_prestat_dir_name" ("iii") -> "i", All, wasi::nosys;
    Wasi "fd_pwrite" ("iiiIi") -> "i", All, wasi::fd_pwrite;
    Wasi "fd_read" ("iiii") -> "i", All, wasi::nosys;
    Wasi "fd_readdir" ("iiiIi") -> "i", All, wasi::fd_readdir;
    Wasi "fd_renumber" ("ii") -> "i", All, wasi::badf;
    Wasi "fd_seek" ("iIii") -> "i", All, wasi::fd_seek;
    Wasi "fd_sync" ("i") -> "i", All, wasi::stdio_ok_else_badf;
    Wasi "fd_tell" ("ii") -> "i", All, wasi::fd_tell;
    Wasi "fd_write" ("iiii") -> "i", All, wasi::fd_write;
    Wasi "path_create_directory" ("iii") -> "i", All, wasi::notsup;
    Wasi "path_filestat_get" ("iiiii") -> "i", All, wasi::notsup;
    Wasi "path_filestat_set_times" ("iiiiIIi") -> "i", All, wasi::notsup;
    Wasi "path_link" ("iiiiiii") -> "i", All, wasi::notsup;
    Wasi "path_open" ("iiiiiIIii") -> "i", All, wasi::noent;
    Wasi "path_readlink" ("iiiiii") -> "i", All, wasi::path_readlink;
    Wasi "path_remove_directory" ("iii") -> "i", All, wasi::notsup;
    Wasi "path_rename" ("iiiiii") -> "i", All, wasi::notsup;
    Wasi "path_symlink" ("iiiii") -> "i", All, wasi::notsup;
    Wasi "path_unlink_file" ("iii") -> "i", All, wasi::notsup;
    Wasi "poll_oneoff" ("iiii") -> "i", All, wasi::poll_oneoff;
    Wasi "proc_exit" ("i") -> "", All, wasi::proc_exit;
    Wasi "proc_raise" ("i") -> "i", All, wasi::nosys;
    Wasi "random_get" ("ii") -> "i", All, wasi::random_get;
    Wasi "sched_yield" ("") -> "i", All, wasi::success;
    Wasi "sock_accept" ("iii") -> "i", All, wasi::notsup;
    Wasi "sock_recv" ("iiiiii") -> "i", All, wasi::sock_notsup;
    Wasi "sock_send" ("iiiii") -> "i", All, wasi::sock_notsup;
    Wasi "sock_shutdown" ("ii") -> "i", All, wasi::notsup;
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

/// A type as table letters.
pub fn letters(types: &[ValType]) -> String {
    types
        .iter()
        .map(|t| match t {
            ValType::I32 => 'i',
            ValType::I64 => 'I',
            ValType::F32 => 'f',
            ValType::F64 => 'F',
            _ => 'r',
        })
        .collect()
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

/// Defines every import of `module` in `linker`: the real body where the name and type match
/// a table row, a generated stub (status 12, `Unimplemented`) otherwise.
///
/// # Errors
///
/// When the module imports a global or a table (Envoy refuses those too).
pub fn link(
    linker: &mut Linker<Ctx>,
    module: &Module,
    store: &mut Store<Ctx>,
) -> Result<(), wasmi::Error> {
    let mut seen = HashSet::new();
    for import in module.imports() {
        let (m, n) = (import.module().to_string(), import.name().to_string());
        if !seen.insert((m.clone(), n.clone())) {
            continue;
        }
        match import.ty() {
            ExternType::Func(ft) => {
                let spec = lookup(&m, &n).filter(|s| {
                    letters(ft.params()) == s.params && letters(ft.results()) == s.results
                });
                define(linker, &m, &n, ft.clone(), spec)?;
            }
            ExternType::Memory(mt) => {
                let ty = MemoryType::new(mt.minimum() as u32, mt.maximum().map(|m| m as u32));
                let mem = Memory::new(&mut *store, ty)?;
                linker.define(&m, &n, mem)?;
            }
            ExternType::Global(_) => {
                return Err(wasmi::Error::new(format!(
                    "the module imports global {m}.{n}; Envoy refuses imported globals"
                )));
            }
            ExternType::Table(_) => {
                return Err(wasmi::Error::new(format!(
                    "the module imports table {m}.{n}; no proxy-wasm host provides tables"
                )));
            }
        }
    }
    Ok(())
}

fn define(
    linker: &mut Linker<Ctx>,
    module: &str,
    name: &str,
    ty: FuncType,
    spec: Option<&'static Spec>,
) -> Result<(), wasmi::Error> {
    let label: String = if namespace(module).is_some() {
        name.to_string()
    } else {
        format!("{module}.{name}")
    };
    linker.func_new(module, name, ty, move |mut caller, params, results| {
        let args: Vec<i64> = params
            .iter()
            .map(|v| match v {
                Val::I32(x) => i64::from(*x as u32),
                Val::I64(x) => *x,
                _ => 0,
            })
            .collect();
        enter(&mut caller, &label, spec)?;
        caller.data_mut().detail.clear();
        let outcome = match spec {
            Some(s) => (s.imp)(&mut caller, &args),
            None => Ok(Status::Unimplemented as i32),
        };
        let (ret, trap) = match outcome {
            Ok(v) | Err(HostErr::Ret(v)) => (v, None),
            Err(HostErr::Trap(e)) => (0, Some(e)),
        };
        let has_result = !results.is_empty() && trap.is_none();
        record(
            &mut caller,
            &label,
            args,
            has_result.then_some(ret),
            trap.is_some(),
            spec,
        );
        if let Some(e) = trap {
            return Err(e);
        }
        for r in results.iter_mut() {
            *r = match r.ty() {
                ValType::I32 => Val::I32(ret),
                ValType::I64 => Val::I64(i64::from(ret)),
                ValType::F32 => Val::F32(0f32.into()),
                ValType::F64 => Val::F64(0f64.into()),
                other => Val::default_for_ty(other),
            };
        }
        let ctx = caller.data();
        if ctx.pause_on_hostcalls && ctx.nested_depth == 0 {
            return Err(wasmi::Error::host(HostPause {
                results: results.to_vec(),
            }));
        }
        Ok(())
    })?;
    Ok(())
}

fn enter(
    caller: &mut Caller<'_, Ctx>,
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
    Ok(())
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
    caller: &mut Caller<'_, Ctx>,
    label: &str,
    args: Vec<i64>,
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
            args,
            detail,
            ret: ret.map(i64::from),
            status,
            stub: spec.is_none(),
        });
    }
}

/// Sets the detail shown for the current host call. It is formatted into a buffer that every
/// host call reuses, and copied once, at its exact size, into the trace.
pub(crate) fn note(caller: &mut Caller<'_, Ctx>, detail: std::fmt::Arguments<'_>) {
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
            assert!(s.params.chars().all(|c| c == 'i' || c == 'I'), "{}", s.name);
            assert!(matches!(s.results, "" | "i"), "{}", s.name);
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
