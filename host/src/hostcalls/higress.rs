//! Foreign functions, and Higress's additions: Redis, injected data, upstream hosts.

use crate::memory::Guest;

use super::callouts::register;
use super::misc::world;
use super::{note, show};
use crate::abi::Status;
use crate::memory::{self, HostResult};
use crate::pairs;
use crate::trace::CalloutKind;

const OK: HostResult = Ok(Status::Ok as i32);

/// Foreign functions upstream Envoy registers (`source/extensions/common/wasm/foreign.cc`).
const ENVOY_FOREIGN: [&str; 5] = [
    "compress",
    "uncompress",
    "clear_route_cache",
    "set_envoy_filter_state",
    "declare_property",
];

/// Foreign functions Higress's Envoy adds (used by wasm-go).
const HIGRESS_FOREIGN: [&str; 3] = [
    "get_log_level",
    "set_global_max_requests_per_io_cycle",
    "inject_encoded_data_to_filter_chain_on_header",
];

/// The proxy whose built-in foreign function `name` is, if it is one under this profile.
fn builtin_of(name: &str, higress: bool) -> Option<&'static str> {
    if ENVOY_FOREIGN.contains(&name) {
        Some(if higress { "Higress's" } else { "Envoy's" })
    } else if higress && HIGRESS_FOREIGN.contains(&name) {
        Some("Higress's")
    } else {
        None
    }
}

pub(super) fn call_foreign_function(
    c: &mut dyn Guest,
    name_ptr: u32,
    name_len: u32,
    args_ptr: u32,
    args_len: u32,
    results_ptr_ptr: u32,
    results_len_ptr: u32,
) -> HostResult {
    let name = memory::read_string(c, name_ptr, name_len)?;
    let args = memory::read(c, args_ptr, args_len)?;
    let (higress, level, mock) = {
        let w = world(c);
        let w = w.borrow();
        let mock = w.foreign_mocks.iter().find(|m| m.name == name).cloned();
        (w.cfg().higress, w.cfg().log_level, mock)
    };
    if let Some(mock) = mock {
        return mocked_foreign_function(
            c,
            &name,
            &args,
            &mock,
            higress,
            results_ptr_ptr,
            results_len_ptr,
        );
    }
    let result: Result<Vec<u8>, Status> = match name.as_str() {
        // Upstream Envoy (source/extensions/common/wasm/foreign.cc).
        "compress" => Ok(miniz_oxide::deflate::compress_to_vec_zlib(&args, 6)),
        // Bounded: a zlib bomb must not take the page down.
        "uncompress" => miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&args, 64 << 20)
            .map_err(|_| Status::SerializationFailure),
        "clear_route_cache" | "set_envoy_filter_state" | "declare_property" => Ok(Vec::new()),
        // Higress's Envoy (used by wasm-go).
        "get_log_level" if higress => Ok(level.abi().to_le_bytes().to_vec()),
        "set_global_max_requests_per_io_cycle"
        | "inject_encoded_data_to_filter_chain_on_header"
            if higress =>
        {
            Ok(Vec::new())
        }
        _ => Err(Status::NotFound),
    };
    match result {
        Ok(bytes) => {
            note(
                c,
                format_args!("{name} args={} -> {}", show(&args), show(&bytes)),
            );
            if results_ptr_ptr != 0 {
                memory::return_bytes(c, &bytes, results_ptr_ptr, results_len_ptr)?;
            }
            OK
        }
        Err(s) => {
            note(c, format_args!("{name} (not provided by this proxy)"));
            Err(s.into())
        }
    }
}

/// Answers a foreign function from `mocks.foreign`; the trace says a mock answered, and the
/// report says when it stood in for one of the proxy's built-ins.
fn mocked_foreign_function(
    c: &mut dyn Guest,
    name: &str,
    args: &[u8],
    mock: &crate::scenario::ForeignMock,
    higress: bool,
    results_ptr_ptr: u32,
    results_len_ptr: u32,
) -> HostResult {
    let by = match builtin_of(name, higress) {
        Some(proxy) => {
            let w = world(c);
            let mut w = w.borrow_mut();
            let msg = format!(
                "mocks.foreign answers {name} in place of {proxy} built-in foreign function"
            );
            if !w.warnings.contains(&msg) {
                w.warnings.push(msg);
            }
            format!("mocks.foreign, in place of {proxy} built-in")
        }
        None => "mocks.foreign".to_string(),
    };
    match mock.status.unwrap_or(Status::Ok) {
        Status::Ok => {
            // Checked when the scenario was read.
            let bytes = mock
                .result
                .as_ref()
                .and_then(|r| r.bytes().ok())
                .unwrap_or_default();
            note(
                c,
                format_args!("{name} args={} -> {} ({by})", show(args), show(&bytes)),
            );
            if results_ptr_ptr != 0 {
                memory::return_bytes(c, &bytes, results_ptr_ptr, results_len_ptr)?;
            }
            OK
        }
        status => {
            note(
                c,
                format_args!("{name} args={} -> {status} ({by})", show(args)),
            );
            Err(status.into())
        }
    }
}

fn cluster_name(spec: &str) -> &str {
    spec.split('?').next().unwrap_or(spec)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn redis_init(
    c: &mut dyn Guest,
    cluster_ptr: u32,
    cluster_len: u32,
    username_ptr: u32,
    username_len: u32,
    password_ptr: u32,
    password_len: u32,
    timeout: u32,
) -> HostResult {
    let spec = memory::read_string(c, cluster_ptr, cluster_len)?;
    let user = memory::read_string(c, username_ptr, username_len)?;
    let _password = memory::read(c, password_ptr, password_len)?;
    note(
        c,
        format_args!("cluster={spec:?} user={user:?} timeout={timeout}ms"),
    );
    let w = world(c);
    let mut w = w.borrow_mut();
    let cluster = cluster_name(&spec).to_string();
    if !w.cfg().clusters.contains(&cluster) {
        w.note(format!(
            "proxy_redis_init: there is no cluster named {cluster:?}; Higress answers BadArgument. Add a redis mock (or the cluster) to the scenario."
        ));
        return Err(Status::BadArgument.into());
    }
    w.redis_clusters.insert(cluster, timeout);
    OK
}

/// The command of a RESP array, e.g. `INCR key`.
pub(crate) fn resp_command(query: &[u8]) -> String {
    let text = String::from_utf8_lossy(query);
    let parts: Vec<&str> = text
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
        .collect();
    if parts.is_empty() {
        text.trim().to_string()
    } else {
        parts.join(" ")
    }
}

pub(super) fn redis_call(
    c: &mut dyn Guest,
    cluster_ptr: u32,
    cluster_len: u32,
    query_ptr: u32,
    query_len: u32,
    token_ptr: u32,
) -> HostResult {
    memory::check(c, token_ptr, 4)?;
    let spec = memory::read_string(c, cluster_ptr, cluster_len)?;
    let query = memory::read(c, query_ptr, query_len)?;
    let command = resp_command(&query);
    let cluster = cluster_name(&spec).to_string();
    let w = world(c);
    let mut w = w.borrow_mut();
    if !w.cfg().clusters.contains(&cluster) {
        drop(w);
        note(c, format_args!("{cluster} {command} (unknown cluster)"));
        return Err(Status::BadArgument.into());
    }
    // Higress's client applies the timeout given to `proxy_redis_init` to each command: one
    // not answered within it fails (`proxy_on_redis_call_response` with a non-zero status and
    // no reply, as for a lost connection).
    let timeout = w.redis_clusters.get(&cluster).copied().unwrap_or(0);
    let token = register(&mut w, CalloutKind::Redis, cluster.clone(), |c| {
        c.body = query;
        c.method = command.clone();
        c.timeout_ms = timeout;
    });
    drop(w);
    memory::write_u32(c, token_ptr, token)?;
    note(c, format_args!("{cluster} {command} -> token {token}"));
    OK
}

pub(super) fn inject_encoded_data(
    c: &mut dyn Guest,
    data_ptr: u32,
    data_len: u32,
    end_stream: u32,
) -> HostResult {
    let data = memory::read(c, data_ptr, data_len)?;
    note(c, format_args!("{} end_stream={end_stream}", show(&data)));
    world(c).borrow_mut().injected.extend_from_slice(&data);
    OK
}

pub(super) fn get_upstream_hosts(
    c: &mut dyn Guest,
    hosts_ptr_ptr: u32,
    hosts_len_ptr: u32,
) -> HostResult {
    let hosts = pairs::encode(&[("10.0.0.10:80", "{\"health_status\":\"HEALTHY\"}")]);
    note(c, format_args!("-> 1 host (10.0.0.10:80)"));
    memory::return_bytes(c, &hosts, hosts_ptr_ptr, hosts_len_ptr)?;
    OK
}

pub(super) fn set_upstream_override_host(
    c: &mut dyn Guest,
    host_ptr: u32,
    host_len: u32,
) -> HostResult {
    let host = memory::read_string(c, host_ptr, host_len)?;
    note(c, format_args!("{host}"));
    world(c).borrow_mut().upstream_override_host = Some(host);
    OK
}

pub(super) fn resolve_dns(
    c: &mut dyn Guest,
    name_ptr: u32,
    name_len: u32,
    _token_ptr: u32,
) -> HostResult {
    let name = memory::read_string(c, name_ptr, name_len)?;
    note(c, format_args!("{name:?} (DNS is not emulated)"));
    Err(Status::Unimplemented.into())
}
