//! A minimal proxy-wasm host, independent of the engine: the reference point for "how fast
//! can this plugin run at all".
//!
//! Every import is linked generically. The few host calls a lifecycle needs get real answers
//! (configuration, request and response headers and bodies, the route properties, time, WASI
//! sizes and writes, Higress's `get_log_level`; `fd_prestat_get` says EBADF); every other one
//! returns 0 (`Ok`) and writes nothing. There is no trace, no fuel slicing, no
//! pausing and no checking: it is what an embedder that only wants the plugin's answer pays.
//! The callback sequence is Envoy's (context create, request headers, response headers, the
//! response body when the scenario has one, log, done, delete) whatever the plugin returns, so
//! that both engines run exactly the same code path.

use pwp_host::Resolved;
use pwp_host::Scenario;

/// What the minimal host serves, taken from a scenario.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `PLUGIN_CONFIGURATION` as `pwp_host` passes it (Higress `_rules_` included).
    pub plugin_config: Vec<u8>,
    /// `VM_CONFIGURATION`.
    pub vm_config: Vec<u8>,
    /// Request headers, pseudo-headers first.
    pub request_headers: Vec<(String, String)>,
    /// The request body (empty: none).
    pub request_body: Vec<u8>,
    /// Response headers, `:status` first.
    pub response_headers: Vec<(String, String)>,
    /// The response body (empty: none).
    pub response_body: Vec<u8>,
    /// Properties by dotted path: the route and its cluster (Higress matches rules on them).
    pub properties: Vec<(String, Vec<u8>)>,
}

impl Inputs {
    /// The inputs of `scenario` for a plugin with `bytes`.
    ///
    /// # Panics
    ///
    /// When the plugin does not parse.
    pub fn new(bytes: &[u8], scenario: &Scenario) -> Inputs {
        let info = pwp_host::inspect(bytes).expect("the plugin parses");
        let cfg = Resolved::new(scenario, &info);
        let rq = &scenario.request;
        let mut request_headers = vec![
            (":authority".to_string(), rq.authority.clone()),
            (":path".to_string(), rq.path.clone()),
            (":method".to_string(), rq.method.clone()),
            (":scheme".to_string(), rq.scheme.clone()),
        ];
        request_headers.extend(rq.headers.0.iter().cloned());
        let rs = &scenario.response;
        let mut response_headers = vec![(":status".to_string(), rs.status.to_string())];
        response_headers.extend(rs.headers.0.iter().cloned());
        let body = |b: &Option<pwp_host::scenario::Body>| {
            b.as_ref()
                .map(|b| b.bytes().unwrap_or_default())
                .unwrap_or_default()
        };
        Inputs {
            plugin_config: cfg.plugin_config,
            vm_config: cfg.vm_config,
            request_headers,
            request_body: body(&rq.body),
            response_headers,
            response_body: body(&rs.body),
            properties: vec![
                (
                    "route_name".into(),
                    scenario.route.name.clone().into_bytes(),
                ),
                (
                    "xds.route_name".into(),
                    scenario.route.name.clone().into_bytes(),
                ),
                (
                    "cluster_name".into(),
                    scenario.route.cluster.clone().into_bytes(),
                ),
                (
                    "xds.cluster_name".into(),
                    scenario.route.cluster.clone().into_bytes(),
                ),
            ],
        }
    }
}

/// The guest's memory and allocator, as each engine reaches them from a host function.
pub trait Guest {
    /// The whole linear memory.
    fn memory(&mut self) -> &mut [u8];
    /// Allocates `size` bytes in the guest (`malloc` or `proxy_on_memory_allocate`).
    ///
    /// # Errors
    ///
    /// When the plugin has no allocator or it fails.
    fn alloc(&mut self, size: u32) -> Result<u32, String>;
}

fn slot(mem: &mut [u8], ptr: i64, len: usize) -> Result<&mut [u8], String> {
    let start = usize::try_from(ptr).map_err(|_| format!("bad pointer {ptr}"))?;
    mem.get_mut(start..start.saturating_add(len))
        .ok_or_else(|| format!("out of bounds: {ptr}+{len}"))
}

fn write_u32(g: &mut impl Guest, ptr: i64, v: u32) -> Result<(), String> {
    slot(g.memory(), ptr, 4)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn read(g: &mut impl Guest, ptr: i64, len: i64) -> Result<Vec<u8>, String> {
    let len = usize::try_from(len).map_err(|_| format!("bad length {len}"))?;
    Ok(slot(g.memory(), ptr, len)?.to_vec())
}

/// Copies `bytes` into a fresh guest allocation and writes its address and size.
fn give(g: &mut impl Guest, ptr_ptr: i64, size_ptr: i64, bytes: &[u8]) -> Result<i64, String> {
    let ptr = if bytes.is_empty() {
        0
    } else {
        let p = g.alloc(bytes.len() as u32)?;
        slot(g.memory(), i64::from(p), bytes.len())?.copy_from_slice(bytes);
        p
    };
    write_u32(g, ptr_ptr, ptr)?;
    write_u32(g, size_ptr, bytes.len() as u32)?;
    Ok(0)
}

const OK: i64 = 0;
const NOT_FOUND: i64 = 1;
const FAKE_TIME_NS: u64 = 1_750_000_000_000_000_000;

/// Answers host call `name` with arguments `a`; the value is the call's result (when it has
/// one).
///
/// # Errors
///
/// A trap: bad pointers, `proc_exit`.
pub fn hostcall(name: &str, a: &[i64], inputs: &Inputs, g: &mut impl Guest) -> Result<i64, String> {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    match name {
        "proxy_get_buffer_bytes" => {
            let bytes: &[u8] = match arg(0) {
                0 => &inputs.request_body,
                1 => &inputs.response_body,
                6 => &inputs.vm_config,
                7 => &inputs.plugin_config,
                _ => return Ok(NOT_FOUND),
            };
            let start = usize::try_from(arg(1)).unwrap_or(0).min(bytes.len());
            let end = start
                .saturating_add(usize::try_from(arg(2)).unwrap_or(0))
                .min(bytes.len());
            give(g, arg(3), arg(4), &bytes[start..end])
        }
        "proxy_get_header_map_pairs" => {
            let pairs = match arg(0) {
                0 => pwp_host::encode_pairs(&inputs.request_headers),
                2 => pwp_host::encode_pairs(&inputs.response_headers),
                _ => Vec::new(),
            };
            give(g, arg(1), arg(2), &pairs)
        }
        "proxy_get_header_map_value" => {
            let key = read(g, arg(1), arg(2))?;
            let map = match arg(0) {
                0 => &inputs.request_headers,
                2 => &inputs.response_headers,
                _ => return Ok(NOT_FOUND),
            };
            match map.iter().find(|(k, _)| k.as_bytes() == key.as_slice()) {
                Some((_, v)) => give(g, arg(3), arg(4), v.as_bytes()),
                None => Ok(NOT_FOUND),
            }
        }
        "proxy_get_property" => {
            let path: Vec<u8> = read(g, arg(0), arg(1))?
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(&b'.');
            match inputs.properties.iter().find(|(k, _)| k.as_bytes() == path) {
                Some((_, v)) if !v.is_empty() => give(g, arg(2), arg(3), v),
                _ => Ok(NOT_FOUND),
            }
        }
        // Higress's wasm-go asks for the log level while configuring.
        "proxy_call_foreign_function" => {
            if read(g, arg(0), arg(1))? == b"get_log_level" {
                give(g, arg(4), arg(5), &[0, 0, 0, 0])
            } else {
                Ok(NOT_FOUND)
            }
        }
        "proxy_get_current_time_nanoseconds" => {
            slot(g.memory(), arg(0), 8)?.copy_from_slice(&FAKE_TIME_NS.to_le_bytes());
            Ok(OK)
        }
        "clock_time_get" => {
            slot(g.memory(), arg(2), 8)?.copy_from_slice(&FAKE_TIME_NS.to_le_bytes());
            Ok(OK)
        }
        "environ_sizes_get" | "args_sizes_get" => {
            write_u32(g, arg(0), 0)?;
            write_u32(g, arg(1), 0)?;
            Ok(OK)
        }
        "fd_write" => {
            let mut total = 0u32;
            for i in 0..arg(2) {
                let iov = read(g, arg(1) + i * 8 + 4, 4)?;
                total = total.wrapping_add(u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]));
            }
            write_u32(g, arg(3), total)?;
            Ok(OK)
        }
        "random_get" => {
            let len = usize::try_from(arg(1)).unwrap_or(0);
            for (i, b) in slot(g.memory(), arg(0), len)?.iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(151).wrapping_add(7);
            }
            Ok(OK)
        }
        // No preopened directories (Go's syscall init asks until EBADF).
        "fd_prestat_get" => Ok(8),
        "proc_exit" => Err(format!("proc_exit({})", arg(0))),
        _ => Ok(OK),
    }
}

/// A plugin instance in some engine.
pub trait Plugin {
    /// Whether the module exports function `name`.
    fn has(&self, name: &str) -> bool;
    /// Calls export `name` with the first arguments of `args` that it takes (skipped when it
    /// does not exist); returns its result, if any.
    ///
    /// # Errors
    ///
    /// A trap.
    fn call(&mut self, name: &str, args: &[i64]) -> Result<Option<i64>, String>;
    /// Host calls answered so far.
    fn hostcalls(&self) -> u64;
}

/// Root context id.
pub const ROOT: i64 = 1;

/// Plugin start as Envoy does it: `_initialize` (or `_start`), root context, vm start,
/// configure.
///
/// # Errors
///
/// A trap, or a start callback that returns false.
pub fn start(p: &mut impl Plugin, inputs: &Inputs) -> Result<(), String> {
    if p.has("_initialize") {
        p.call("_initialize", &[])?;
        if p.has("main") {
            p.call("main", &[0, 0])?;
        }
    } else if p.has("_start") {
        p.call("_start", &[])?;
    }
    p.call("proxy_on_context_create", &[ROOT, 0])?;
    let vm = p.call("proxy_on_vm_start", &[ROOT, inputs.vm_config.len() as i64])?;
    if vm == Some(0) {
        return Err("proxy_on_vm_start returned false".into());
    }
    let ok = p.call(
        "proxy_on_configure",
        &[ROOT, inputs.plugin_config.len() as i64],
    )?;
    if ok == Some(0) {
        return Err("proxy_on_configure returned false".into());
    }
    Ok(())
}

/// One request on context `id`: every stream callback once, in Envoy's order.
///
/// # Errors
///
/// A trap.
pub fn request(p: &mut impl Plugin, inputs: &Inputs, id: i64) -> Result<(), String> {
    let req_body = !inputs.request_body.is_empty();
    let resp_body = !inputs.response_body.is_empty();
    p.call("proxy_on_context_create", &[id, ROOT])?;
    p.call(
        "proxy_on_request_headers",
        &[
            id,
            inputs.request_headers.len() as i64,
            i64::from(!req_body),
        ],
    )?;
    if req_body {
        p.call(
            "proxy_on_request_body",
            &[id, inputs.request_body.len() as i64, 1],
        )?;
    }
    p.call(
        "proxy_on_response_headers",
        &[
            id,
            inputs.response_headers.len() as i64,
            i64::from(!resp_body),
        ],
    )?;
    if resp_body {
        p.call(
            "proxy_on_response_body",
            &[id, inputs.response_body.len() as i64, 1],
        )?;
    }
    p.call("proxy_on_log", &[id])?;
    p.call("proxy_on_done", &[id])?;
    p.call("proxy_on_delete", &[id])?;
    Ok(())
}

/// `n` requests on contexts `first..first + n`.
///
/// # Errors
///
/// A trap.
pub fn requests(p: &mut impl Plugin, inputs: &Inputs, first: i64, n: u32) -> Result<(), String> {
    for i in 0..i64::from(n) {
        request(p, inputs, first + i)?;
    }
    Ok(())
}
