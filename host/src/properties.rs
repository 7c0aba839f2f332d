//! Properties as Envoy resolves them (`proxy_get_property`): CEL stream attributes, the
//! Wasm-specific names, the legacy top-level names Higress still serves, then filter state
//! written with `proxy_set_property`. Scenario overrides win over everything.
//!
//! Encodings (host reference §4.4): strings raw, integers 8 bytes little-endian, booleans
//! 1 byte, timestamps and durations int64 nanoseconds, maps in the pairs encoding.

use crate::abi::Status;
use crate::pairs;
use crate::state::{Access, HttpStream, TcpConnection, World, header};

/// Source address the emulated downstream connects from.
pub const SOURCE_ADDRESS: &str = "10.0.0.2:54321";
/// Address of the emulated listener.
pub const DESTINATION_ADDRESS: &str = "10.0.0.1:8080";
/// Address of the emulated upstream host.
pub const UPSTREAM_ADDRESS: &str = "10.0.0.10:80";

fn int(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// Encodes a small protobuf message of string fields (`(field number, value)`).
fn proto_strings(fields: &[(u8, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (num, value) in fields {
        out.push((num << 3) | 2);
        let mut len = value.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// Resolves a NUL-separated property path.
///
/// # Errors
///
/// `NotFound` for unknown or unavailable properties; `SerializationFailure` for an empty path.
pub fn get(w: &World, raw_path: &[u8]) -> Result<Vec<u8>, Status> {
    let path: Vec<String> = raw_path
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    if path.is_empty() {
        return Err(Status::SerializationFailure);
    }
    let dotted = path.join(".");
    if let Some(v) = w.properties.get(&dotted) {
        return Ok(v.clone());
    }
    let target = w.target_context();
    let stream = w.streams.get(&target);
    let segs: Vec<&str> = path.iter().map(String::as_str).collect();
    if let Some(c) = w.connection.as_ref().filter(|c| c.id == target) {
        if let Some(v) = connection_attribute(w, c, &segs) {
            return v;
        }
        let key = String::from_utf8_lossy(raw_path.strip_suffix(&[0]).unwrap_or(raw_path));
        if let Some(v) = c.filter_state.get(key.as_ref()) {
            return Ok(v.clone());
        }
    }
    if let Some(v) = builtin(w, stream, &segs) {
        return v;
    }
    // Filter state written by the plugin (single segment, the raw path as the key).
    if let Some(s) = stream {
        let key = String::from_utf8_lossy(raw_path.strip_suffix(&[0]).unwrap_or(raw_path));
        if let Some(v) = s.filter_state.get(key.as_ref()) {
            return Ok(v.clone());
        }
    }
    Err(Status::NotFound)
}

fn node_id() -> &'static str {
    "router~10.0.0.1~playground-gateway.default~default.svc.cluster.local"
}

fn builtin(w: &World, s: Option<&HttpStream>, path: &[&str]) -> Option<Result<Vec<u8>, Status>> {
    let cfg = w.cfg();
    let found = |v: Vec<u8>| Some(Ok(v));
    let text = |v: &str| Some(Ok(v.as_bytes().to_vec()));
    let not_found = Some(Err(Status::NotFound));
    match path {
        ["plugin_name"] => text(&cfg.plugin_name),
        ["plugin_root_id"] => text(&cfg.root_id),
        ["plugin_vm_id"] => text(&cfg.vm_id),
        ["xds", "node"] => found(proto_strings(&[(1, node_id()), (2, "playground-gateway")])),
        ["xds", "node", "id"] => text(node_id()),
        ["xds", "node", "cluster"] => text("playground-gateway"),
        ["xds", "node", "metadata", ..] => not_found,
        ["node"] if cfg.legacy_properties => {
            found(proto_strings(&[(1, node_id()), (2, "playground-gateway")]))
        }
        ["node", "id"] if cfg.legacy_properties => text(node_id()),
        ["node", "cluster"] if cfg.legacy_properties => text("playground-gateway"),
        ["plugin_vm_memory"] if cfg.higress => found(int(w.memory_bytes as i64)),
        _ => {
            let s = s?;
            stream_attribute(w, s, path)
        }
    }
}

fn stream_attribute(w: &World, s: &HttpStream, path: &[&str]) -> Option<Result<Vec<u8>, Status>> {
    let cfg = w.cfg();
    let text = |v: &str| Some(Ok(v.as_bytes().to_vec()));
    let found = |v: Vec<u8>| Some(Ok(v));
    let not_found = Some(Err(Status::NotFound));
    // Header-derived attributes follow request-header availability (and the log phase).
    let req = s.req_headers != Access::None;
    let h = |name: &str| header(&s.request_headers, name);
    let path_header = h(":path").unwrap_or_default();
    match path {
        ["request", "path"] if req => text(&path_header),
        ["request", "url_path"] if req => text(path_header.split('?').next().unwrap_or("")),
        ["request", "query"] if req => text(path_header.split_once('?').map(|x| x.1).unwrap_or("")),
        ["request", "host"] if req => text(&h(":authority").unwrap_or_default()),
        ["request", "scheme"] if req => text(&h(":scheme").unwrap_or_default()),
        ["request", "method"] if req => text(&h(":method").unwrap_or_default()),
        ["request", "referer"] if req => h("referer").map_or(not_found, |v| text(&v)),
        ["request", "useragent"] if req => h("user-agent").map_or(not_found, |v| text(&v)),
        ["request", "id"] if req => h("x-request-id").map_or(not_found, |v| text(&v)),
        ["request", "headers"] if req => found(pairs::encode(&joined(&s.request_headers))),
        ["request", "headers", name] if req => {
            let all: Vec<String> = s
                .request_headers
                .iter()
                .filter(|(k, _)| k.as_slice() == name.as_bytes())
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .collect();
            if all.is_empty() {
                not_found
            } else {
                text(&all.join(","))
            }
        }
        ["request", "time"] => found(int(s.start_ns as i64)),
        ["request", "protocol"] => text(&s.protocol),
        ["request", "size"] => found(int(s.request_size as i64)),
        ["response", "code"] => s
            .response_code
            .map_or(not_found, |c| found(int(i64::from(c)))),
        ["response", "code_details"] => {
            if s.code_details.is_empty() {
                not_found
            } else {
                text(&s.code_details)
            }
        }
        ["response", "flags"] => found(int(0)),
        ["response", "headers"] if s.resp_headers != Access::None => {
            found(pairs::encode(&joined(&s.response_headers)))
        }
        ["response", "headers", name] if s.resp_headers != Access::None => {
            header(&s.response_headers, name).map_or(not_found, |v| text(&v))
        }
        ["source", "address"] => text(SOURCE_ADDRESS),
        ["source", "port"] => found(int(54321)),
        ["destination", "address"] => text(DESTINATION_ADDRESS),
        ["destination", "port"] => found(int(8080)),
        ["connection", "id"] | ["connection_id"] => found(int(i64::from(s.index) + 1)),
        ["connection", "mtls"] => found(vec![0]),
        ["connection", "requested_server_name"] => text(""),
        ["upstream", "address"] if s.response_code.is_some() => text(UPSTREAM_ADDRESS),
        ["upstream", "port"] if s.response_code.is_some() => found(int(80)),
        ["xds", "route_name"] => text(&w.route_name),
        ["xds", "cluster_name"] => text(&w.route_cluster),
        ["xds", "virtual_host_name"] => text("playground"),
        ["xds", "listener_direction"] => found(int(0)),
        ["route_name"] if cfg.legacy_properties => text(&w.route_name),
        ["cluster_name"] if cfg.legacy_properties => text(&w.route_cluster),
        ["listener_direction"] if cfg.legacy_properties => found(int(0)),
        _ => None,
    }
}

/// The port of an `ip:port` address (0 when it has none).
fn port_of(address: &str) -> i64 {
    address
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0)
}

/// What a network filter's context resolves: the connection's addresses and TLS facts (Envoy
/// serves the TLS ones only on TLS connections), then the names every context has.
fn connection_attribute(
    w: &World,
    c: &TcpConnection,
    path: &[&str],
) -> Option<Result<Vec<u8>, Status>> {
    let p = &c.props;
    let text = |v: &str| Some(Ok(v.as_bytes().to_vec()));
    let found = |v: Vec<u8>| Some(Ok(v));
    let tls = !p.tls_version.is_empty();
    match path {
        ["source", "address"] => text(&p.source_address),
        ["source", "port"] => found(int(port_of(&p.source_address))),
        ["destination", "address"] => text(&p.destination_address),
        ["destination", "port"] => found(int(port_of(&p.destination_address))),
        // Envoy knows the upstream host only once `tcp_proxy` has connected to it: before that
        // (in `proxy_on_new_connection`, or while the plugin holds the first bytes) CEL's
        // `upstream.address` and `upstream.port` are absent, so `NotFound`.
        ["upstream", "address"] if c.upstream_connected => text(&p.upstream_address),
        ["upstream", "port"] if c.upstream_connected => found(int(port_of(&p.upstream_address))),
        ["upstream", "address" | "port"] => Some(Err(Status::NotFound)),
        ["connection", "id"] | ["connection_id"] => found(int(p.id as i64)),
        ["connection", "mtls"] => found(vec![u8::from(p.mtls)]),
        ["connection", "requested_server_name"] => text(&p.requested_server_name),
        ["connection", "tls_version"] if tls => text(&p.tls_version),
        ["xds", "cluster_name"] => text(&w.route_cluster),
        ["xds", "listener_direction"] => found(int(0)),
        ["request", ..] | ["response", ..] => Some(Err(Status::NotFound)),
        _ => builtin(w, None, path),
    }
}

/// Repeated headers joined with commas, as CEL's `request.headers` map shows them.
fn joined(pairs: &[pairs::Pair]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(key, _)| key == k) {
            Some((_, existing)) => {
                existing.push(b',');
                existing.extend_from_slice(v);
            }
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}
