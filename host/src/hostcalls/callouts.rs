//! HTTP and gRPC callouts. A call is only recorded here; its answer (from a mock, or from
//! the user) is delivered by the driver after the current VM call returns, to the root
//! context, as Envoy does.

use crate::memory::Guest;

use super::misc::world;
use super::{note, show};
use crate::abi::Status;
use crate::memory::{self, HostResult};
use crate::pairs;
use crate::state::{Callout, World, header};
use crate::trace::CalloutKind;

const OK: HostResult = Ok(Status::Ok as i32);

/// Registers a callout of `kind` to `cluster`, owned by the root of the target context,
/// with `fill` setting what the plugin sent, and returns its token (Envoy's numbering:
/// `seq * 4 + kind`).
pub(super) fn register(
    w: &mut World,
    kind: CalloutKind,
    cluster: String,
    fill: impl FnOnce(&mut Callout),
) -> u32 {
    if w.next_callout_seq == 0 {
        w.next_callout_seq = 1;
    }
    let kind_bits = match kind {
        CalloutKind::Http => 0,
        CalloutKind::Grpc => 1,
        CalloutKind::GrpcStream => 2,
        CalloutKind::Redis => 3,
    };
    let token = w.next_callout_seq * 4 + kind_bits;
    w.next_callout_seq += 1;
    let issuer = w.target_context();
    let mut callout = Callout::pending(kind, w.root_of(issuer), issuer, cluster);
    fill(&mut callout);
    callout.token = token;
    callout.request = w.request_of(issuer);
    callout.issued_ns = w.mono_ns;
    callout.filter = w.filter();
    w.callouts.push(callout);
    w.pending_callouts += 1;
    token
}

#[allow(clippy::too_many_arguments)]
pub(super) fn http_call(
    c: &mut dyn Guest,
    cluster_ptr: u32,
    cluster_len: u32,
    headers_ptr: u32,
    headers_len: u32,
    body_ptr: u32,
    body_len: u32,
    trailers_ptr: u32,
    trailers_len: u32,
    timeout: u32,
    token_ptr: u32,
) -> HostResult {
    // cpp-host checks the token pointer before anything else.
    memory::check(c, token_ptr, 4)?;
    let cluster = memory::read_string(c, cluster_ptr, cluster_len)?;
    let headers = pairs::decode(&memory::read(c, headers_ptr, headers_len)?).unwrap_or_default();
    let body = memory::read(c, body_ptr, body_len)?;
    let trailers = pairs::decode(&memory::read(c, trailers_ptr, trailers_len)?).unwrap_or_default();
    let path = header(&headers, ":path").unwrap_or_default();
    let detail = format!(
        "cluster={} {path} body={}",
        show(cluster.as_bytes()),
        show(&body)
    );
    let w = world(c);
    let mut w = w.borrow_mut();
    if !w.cfg().clusters.contains(&cluster) {
        w.note(format!(
            "proxy_http_call: there is no cluster named {cluster:?}, so Envoy answers BadArgument. The first argument is an Envoy cluster name, not a host name or URL; add the cluster (or a mock for it) to the scenario."
        ));
        drop(w);
        note(c, format_args!("{detail}"));
        return Err(Status::BadArgument.into());
    }
    for required in [":method", ":path", ":authority"] {
        if header(&headers, required).is_none() {
            w.note(format!(
                "proxy_http_call: the callout has no {required} header, so Envoy answers BadArgument (callouts need :method, :path and :authority)"
            ));
            drop(w);
            note(c, format_args!("{detail}"));
            return Err(Status::BadArgument.into());
        }
    }
    if timeout >= 1 << 31 {
        drop(w);
        note(c, format_args!("{detail}"));
        return Err(Status::BadArgument.into());
    }
    let headers = with_content_length(headers, &body);
    let token = register(&mut w, CalloutKind::Http, cluster, |c| {
        c.headers = headers;
        c.body = body;
        c.trailers = trailers;
        c.timeout_ms = timeout;
    });
    drop(w);
    memory::write_u32(c, token_ptr, token)?;
    note(c, format_args!("{detail} -> token {token}"));
    OK
}

/// What Envoy's `Context::httpCall` sends: a callout with a body carries `content-length`
/// set to the body's size (replacing one the plugin gave, in its place); one without a body
/// is left as the plugin built it.
fn with_content_length(mut headers: Vec<pairs::Pair>, body: &[u8]) -> Vec<pairs::Pair> {
    if body.is_empty() {
        return headers;
    }
    let name = b"content-length";
    let at = headers
        .iter()
        .position(|(k, _)| k.eq_ignore_ascii_case(name));
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    let entry = (name.to_vec(), body.len().to_string().into_bytes());
    match at {
        Some(i) => headers.insert(i, entry),
        None => headers.push(entry),
    }
    headers
}

/// The cluster a gRPC `service` argument names: a bare cluster name, or a serialized
/// `envoy.config.core.v3.GrpcService` whose `envoy_grpc.cluster_name` is set.
fn grpc_cluster(service: &[u8]) -> String {
    fn field(bytes: &[u8], want: u64) -> Option<&[u8]> {
        let mut i = 0;
        while i < bytes.len() {
            let (key, n) = varint(&bytes[i..])?;
            i += n;
            match key & 7 {
                0 => {
                    let (_, n) = varint(&bytes[i..])?;
                    i += n;
                }
                2 => {
                    let (len, n) = varint(&bytes[i..])?;
                    i += n;
                    let end = i.checked_add(len as usize)?;
                    let data = bytes.get(i..end)?;
                    if key >> 3 == want {
                        return Some(data);
                    }
                    i = end;
                }
                _ => return None,
            }
        }
        None
    }
    fn varint(b: &[u8]) -> Option<(u64, usize)> {
        let mut v = 0u64;
        for (i, byte) in b.iter().enumerate().take(10) {
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Some((v, i + 1));
            }
        }
        None
    }
    if let Some(name) = field(service, 1).and_then(|eg| field(eg, 1)) {
        return String::from_utf8_lossy(name).into_owned();
    }
    String::from_utf8_lossy(service).into_owned()
}

/// Guest ranges of what opens a gRPC call or stream: the service, its name, the method and
/// the initial metadata.
struct GrpcTarget {
    service_ptr: u32,
    service_len: u32,
    service_name_ptr: u32,
    service_name_len: u32,
    method_ptr: u32,
    method_len: u32,
    metadata_ptr: u32,
    metadata_len: u32,
}

/// The message and timeout of a unary gRPC call.
struct GrpcMessage {
    ptr: u32,
    len: u32,
    timeout: u32,
}

/// Opens a unary gRPC call (with a message) or, without one, a stream.
fn grpc_open(
    c: &mut dyn Guest,
    t: GrpcTarget,
    message: Option<GrpcMessage>,
    token_ptr: u32,
) -> HostResult {
    memory::check(c, token_ptr, 4)?;
    let service_raw = memory::read(c, t.service_ptr, t.service_len)?;
    let service_name = memory::read_string(c, t.service_name_ptr, t.service_name_len)?;
    let method = memory::read_string(c, t.method_ptr, t.method_len)?;
    let metadata =
        pairs::decode(&memory::read(c, t.metadata_ptr, t.metadata_len)?).unwrap_or_default();
    let stream = message.is_none();
    let (message, timeout) = match message {
        None => (Vec::new(), 0),
        Some(m) => (memory::read(c, m.ptr, m.len)?, m.timeout),
    };
    let cluster = grpc_cluster(&service_raw);
    let detail = format!("{cluster} {service_name}/{method}");
    let w = world(c);
    let mut w = w.borrow_mut();
    if !w.cfg().clusters.contains(&cluster) {
        w.note(format!(
            "gRPC callout to unknown cluster {cluster:?}: Envoy answers ParseFailure"
        ));
        drop(w);
        note(c, format_args!("{detail}"));
        return Err(Status::ParseFailure.into());
    }
    let kind = if stream {
        CalloutKind::GrpcStream
    } else {
        CalloutKind::Grpc
    };
    let token = register(&mut w, kind, cluster, |c| {
        c.headers = metadata;
        c.body = message;
        c.method = format!("{service_name}/{method}");
        c.timeout_ms = timeout;
    });
    drop(w);
    memory::write_u32(c, token_ptr, token)?;
    note(c, format_args!("{detail} -> token {token}"));
    OK
}

#[allow(clippy::too_many_arguments)]
pub(super) fn grpc_call(
    c: &mut dyn Guest,
    service_ptr: u32,
    service_len: u32,
    service_name_ptr: u32,
    service_name_len: u32,
    method_ptr: u32,
    method_len: u32,
    metadata_ptr: u32,
    metadata_len: u32,
    message_ptr: u32,
    message_len: u32,
    timeout: u32,
    token_ptr: u32,
) -> HostResult {
    let target = GrpcTarget {
        service_ptr,
        service_len,
        service_name_ptr,
        service_name_len,
        method_ptr,
        method_len,
        metadata_ptr,
        metadata_len,
    };
    let message = GrpcMessage {
        ptr: message_ptr,
        len: message_len,
        timeout,
    };
    grpc_open(c, target, Some(message), token_ptr)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn grpc_stream(
    c: &mut dyn Guest,
    service_ptr: u32,
    service_len: u32,
    service_name_ptr: u32,
    service_name_len: u32,
    method_ptr: u32,
    method_len: u32,
    metadata_ptr: u32,
    metadata_len: u32,
    token_ptr: u32,
) -> HostResult {
    let target = GrpcTarget {
        service_ptr,
        service_len,
        service_name_ptr,
        service_name_len,
        method_ptr,
        method_len,
        metadata_ptr,
        metadata_len,
    };
    grpc_open(c, target, None, token_ptr)
}

pub(super) fn grpc_send(
    c: &mut dyn Guest,
    token: u32,
    message_ptr: u32,
    message_len: u32,
    _end_stream: u32,
) -> HostResult {
    let msg = memory::read(c, message_ptr, message_len)?;
    note(c, format_args!("token {token} {}", show(&msg)));
    let w = world(c);
    let mut w = w.borrow_mut();
    match w.callout_mut(token) {
        None => Err(Status::NotFound.into()),
        Some(call) if call.kind != CalloutKind::GrpcStream => Err(Status::BadArgument.into()),
        Some(call) => {
            call.body.extend_from_slice(&msg);
            OK
        }
    }
}

fn grpc_end(c: &mut dyn Guest, token: u32, how: &str) -> HostResult {
    note(c, format_args!("token {token}"));
    let w = world(c);
    let mut w = w.borrow_mut();
    match w.callout_mut(token) {
        None => Err(Status::NotFound.into()),
        Some(call) if !matches!(call.kind, CalloutKind::Grpc | CalloutKind::GrpcStream) => {
            Err(Status::BadArgument.into())
        }
        Some(call) => {
            let was_pending = call.pending;
            if was_pending {
                call.pending = false;
                call.answer = how.to_string();
                w.pending_callouts = w.pending_callouts.saturating_sub(1);
            }
            OK
        }
    }
}

pub(super) fn grpc_cancel(c: &mut dyn Guest, token: u32) -> HostResult {
    grpc_end(c, token, "cancelled by the plugin")
}

pub(super) fn grpc_close(c: &mut dyn Guest, token: u32) -> HostResult {
    grpc_end(c, token, "closed by the plugin")
}

#[cfg(test)]
mod tests {
    use super::{grpc_cluster, with_content_length};

    fn pairs(list: &[(&str, &str)]) -> Vec<crate::pairs::Pair> {
        list.iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_callout_body_sets_content_length_in_place_and_no_body_leaves_headers_alone() {
        let given = pairs(&[(":path", "/"), ("Content-Length", "99"), ("x", "1")]);
        assert_eq!(
            with_content_length(given.clone(), b"hello"),
            pairs(&[(":path", "/"), ("content-length", "5"), ("x", "1")])
        );
        assert_eq!(with_content_length(given.clone(), b""), given);
        assert_eq!(
            with_content_length(pairs(&[(":path", "/")]), b"ab"),
            pairs(&[(":path", "/"), ("content-length", "2")])
        );
    }

    #[test]
    fn a_grpc_service_proto_names_its_cluster() {
        // GrpcService { envoy_grpc { cluster_name: "authz" } }
        let proto = [0x0a, 0x07, 0x0a, 0x05, b'a', b'u', b't', b'h', b'z'];
        assert_eq!(grpc_cluster(&proto), "authz");
        assert_eq!(grpc_cluster(b"plain"), "plain");
    }
}
