//! Buffers: bodies, configurations, callout responses (spec "Buffers").

use crate::memory::Guest;

use super::misc::world;
use super::{note, show};
use crate::abi::{BufferType, Status};
use crate::memory::{self, HostErr, HostResult};
use crate::state::{Access, World};
use pwp_model::connection::Peer;

const OK: HostResult = Ok(Status::Ok as i32);

/// A copy of the buffer, or `NotFound` when it is not available now.
fn read_buffer(w: &mut World, bt: BufferType) -> Result<Vec<u8>, Status> {
    let target = w.target_context();
    match bt {
        BufferType::RequestBody | BufferType::ResponseBody => {
            let s = w.stream_for(target).ok_or(Status::NotFound)?;
            let (access, body) = if bt == BufferType::RequestBody {
                (s.req_body, &s.request_body)
            } else {
                (s.resp_body, &s.response_body)
            };
            if access == Access::None {
                return Err(Status::NotFound);
            }
            Ok(body.clone())
        }
        BufferType::HttpCallResponseBody => w
            .http_call_response
            .as_ref()
            .map(|r| r.1.clone())
            .ok_or(Status::NotFound),
        BufferType::GrpcReceiveBuffer => w.grpc_message.clone().ok_or(Status::NotFound),
        BufferType::VmConfiguration => Ok(w.cfg().vm_config.clone()),
        BufferType::PluginConfiguration => {
            if w.plugin_config_readable {
                Ok(w.cfg().plugin_config.clone())
            } else {
                Err(Status::NotFound)
            }
        }
        BufferType::CallData => Ok(w.call_data.clone()),
        BufferType::RedisCallResponse => w.redis_response.clone().ok_or(Status::NotFound),
        BufferType::DownstreamData | BufferType::UpstreamData => {
            let c = w.connection_for(target).ok_or(Status::NotFound)?;
            let (buf, open) = c.buffer(peer_of(bt));
            if open {
                Ok(buf.clone())
            } else {
                Err(Status::NotFound)
            }
        }
    }
}

/// The connection buffer a buffer type names.
fn peer_of(bt: BufferType) -> Peer {
    if bt == BufferType::DownstreamData {
        Peer::Downstream
    } else {
        Peer::Upstream
    }
}

fn buffer_type(c: &mut dyn Guest, v: u32) -> Result<BufferType, HostErr> {
    let higress = world(c).borrow().cfg().higress;
    BufferType::from_abi(v, higress).ok_or_else(|| {
        note(c, format_args!("buffer type {v} (invalid)"));
        HostErr::from(Status::BadArgument)
    })
}

pub(super) fn get_bytes(
    c: &mut dyn Guest,
    buffer_type_id: u32,
    start: u32,
    max_size: u32,
    data_ptr_ptr: u32,
    data_len_ptr: u32,
) -> HostResult {
    let bt = buffer_type(c, buffer_type_id)?;
    let (start, max) = (start as usize, max_size as usize);
    let buf = {
        let w = world(c);
        let mut w = w.borrow_mut();
        read_buffer(&mut w, bt)
    };
    let buf = match buf {
        Ok(b) => b,
        Err(s) => {
            note(c, format_args!("{} (not available)", bt.name()));
            return Err(s.into());
        }
    };
    // Out-of-range requests are clamped, never refused (wasm-go over-asks on purpose).
    let from = start.min(buf.len());
    let to = from.saturating_add(max).min(buf.len());
    let slice = &buf[from..to];
    note(
        c,
        format_args!("{} [{start}, +{max}) -> {}", bt.name(), show(slice)),
    );
    memory::return_bytes(c, slice, data_ptr_ptr, data_len_ptr)?;
    OK
}

pub(super) fn get_status(
    c: &mut dyn Guest,
    buffer_type_id: u32,
    length_ptr: u32,
    flags_ptr: u32,
) -> HostResult {
    let bt = buffer_type(c, buffer_type_id)?;
    let buf = {
        let w = world(c);
        let mut w = w.borrow_mut();
        read_buffer(&mut w, bt)
    };
    let buf = buf.map_err(HostErr::from)?;
    memory::write_u32(c, length_ptr, buf.len() as u32)?;
    memory::write_u32(c, flags_ptr, 0)?;
    note(c, format_args!("{} -> {} bytes", bt.name(), buf.len()));
    OK
}

pub(super) fn set_bytes(
    c: &mut dyn Guest,
    buffer_type_id: u32,
    start: u32,
    size: u32,
    data_ptr: u32,
    data_len: u32,
) -> HostResult {
    let bt = buffer_type(c, buffer_type_id)?;
    let (start, len) = (start as usize, size as usize);
    let data = memory::read(c, data_ptr, data_len)?;
    note(
        c,
        format_args!("{} [{start}, +{len}) <- {}", bt.name(), show(&data)),
    );
    let w = world(c);
    let mut w = w.borrow_mut();
    if matches!(bt, BufferType::DownstreamData | BufferType::UpstreamData) {
        let target = w.target_context();
        let Some(conn) = w.connection_for(target) else {
            return Err(Status::NotFound.into());
        };
        let peer = peer_of(bt);
        let (buf, open) = conn.buffer(peer);
        if !open {
            return Err(Status::NotFound.into());
        }
        let size = buf.len();
        return copy_from(conn.buffer_to_change(peer), size, start, len, data);
    }
    if !matches!(bt, BufferType::RequestBody | BufferType::ResponseBody) {
        return Err(if read_buffer(&mut w, bt).is_ok() {
            Status::BadArgument
        } else {
            Status::NotFound
        }
        .into());
    }
    let target = w.target_context();
    let Some(s) = w.stream_for(target) else {
        return Err(Status::NotFound.into());
    };
    let request = bt == BufferType::RequestBody;
    let (access, size) = if request {
        (s.req_body, s.request_body.len())
    } else {
        (s.resp_body, s.response_body.len())
    };
    match access {
        Access::None => return Err(Status::NotFound.into()),
        Access::ReadOnly => return Err(Status::BadArgument.into()),
        Access::ReadWrite => {}
    }
    copy_from(s.body_to_change(request), size, start, len, data)
}

/// Envoy's `Buffer::copyFrom`, for bodies and connection data alike: prepend, replace a
/// prefix, or append; no splicing.
fn copy_from(
    body: &mut Vec<u8>,
    size: usize,
    start: usize,
    len: usize,
    data: Vec<u8>,
) -> HostResult {
    if start != 0 && start < size {
        return Err(Status::BadArgument.into());
    }
    if start == 0 {
        let keep = body.split_off(len.min(body.len()));
        *body = data;
        body.extend_from_slice(&keep);
    } else {
        body.extend_from_slice(&data);
    }
    OK
}

/// ABI 0.1.0: plugin configuration inside root create/configure, VM configuration otherwise.
pub(super) fn get_configuration(
    c: &mut dyn Guest,
    data_ptr_ptr: u32,
    data_len_ptr: u32,
) -> HostResult {
    let bytes = {
        let w = world(c);
        let w = w.borrow();
        if w.plugin_config_readable {
            w.cfg().plugin_config.clone()
        } else {
            w.cfg().vm_config.clone()
        }
    };
    note(c, format_args!("-> {}", show(&bytes)));
    memory::return_bytes(c, &bytes, data_ptr_ptr, data_len_ptr)?;
    OK
}
