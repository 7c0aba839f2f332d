//! Logging, time, context control, stream control, local replies and properties.

use std::cell::RefCell;
use std::rc::Rc;

use crate::memory::Guest;

use super::{note, show};
use crate::abi::{Status, StreamType};
use crate::memory::{self, HostResult};
use crate::pairs;
use crate::scenario::LogLevel;
use crate::state::{Deferred, LocalReply, World};
use crate::trace::LogSource;

pub(super) fn world(caller: &dyn Guest) -> Rc<RefCell<World>> {
    caller.data().world.clone()
}

const OK: HostResult = Ok(Status::Ok as i32);

pub(super) fn log(c: &mut dyn Guest, level: u32, msg_ptr: u32, msg_len: u32) -> HostResult {
    let Some(level) = LogLevel::from_abi(level) else {
        note(c, format_args!("level={level} (invalid)"));
        return Err(Status::BadArgument.into());
    };
    let msg = memory::read_string(c, msg_ptr, msg_len)?;
    world(c)
        .borrow_mut()
        .retain(msg.len() as u64)
        .map_err(wasmi::Error::host)?;
    note(
        c,
        format_args!("{} {}", level.as_str(), show(msg.as_bytes())),
    );
    world(c).borrow_mut().log(level, LogSource::ProxyLog, msg);
    OK
}

pub(super) fn get_log_level(c: &mut dyn Guest, level_ptr: u32) -> HostResult {
    let level = world(c).borrow().cfg().log_level;
    memory::write_u32(c, level_ptr, level.abi())?;
    note(c, format_args!("-> {}", level.as_str()));
    OK
}

pub(super) fn get_current_time(c: &mut dyn Guest, time_ptr: u32) -> HostResult {
    let now = world(c).borrow().now_ns;
    memory::write_u64(c, time_ptr, now)?;
    note(c, format_args!("-> {now}"));
    OK
}

pub(super) fn set_tick_period(c: &mut dyn Guest, ms: u32) -> HostResult {
    let w = world(c);
    let mut w = w.borrow_mut();
    w.tick_period_ms = ms;
    w.next_tick_ns = w.mono_ns.saturating_add(u64::from(ms) * 1_000_000);
    note(c, format_args!("{ms} ms"));
    OK
}

pub(super) fn get_status(
    c: &mut dyn Guest,
    code_ptr: u32,
    message_ptr_ptr: u32,
    message_len_ptr: u32,
) -> HostResult {
    let (code, msg) = {
        let w = world(c);
        let w = w.borrow();
        let (code, msg) = w.call_status.code_and_message();
        (code, msg.to_string())
    };
    memory::write_u32(c, code_ptr, code)?;
    memory::return_bytes(c, msg.as_bytes(), message_ptr_ptr, message_len_ptr)?;
    note(c, format_args!("-> {code} {}", show(msg.as_bytes())));
    OK
}

pub(super) fn set_effective_context(c: &mut dyn Guest, id: u32) -> HostResult {
    let w = world(c);
    let mut w = w.borrow_mut();
    if !w.contexts.contains_key(&id) {
        drop(w);
        note(c, format_args!("context {id} (unknown)"));
        return Err(Status::BadArgument.into());
    }
    w.effective = Some(id);
    drop(w);
    note(c, format_args!("context {id}"));
    OK
}

pub(super) fn done(c: &mut dyn Guest) -> HostResult {
    let w = world(c);
    let mut w = w.borrow_mut();
    if w.root_pending_done {
        w.root_pending_done = false;
        OK
    } else {
        Err(Status::NotFound.into())
    }
}

fn continue_stream_of(c: &mut dyn Guest, t: StreamType) -> HostResult {
    let w = world(c);
    let mut w = w.borrow_mut();
    let target = w.target_context();
    if let Some(s) = w.stream_for(target) {
        // Envoy drops its pointers to the request side at once (host reference §5.2).
        if matches!(t, StreamType::Request | StreamType::Response) {
            s.req_headers = crate::state::Access::None;
            s.req_body = crate::state::Access::None;
            s.req_trailers = crate::state::Access::None;
        }
        w.deferred.push(Deferred::Continue(target, t));
    } else if t == StreamType::Downstream && w.connection_for(target).is_some() {
        // `continueReading()` after the VM call; the other types have no callbacks on a
        // connection and do nothing.
        w.deferred.push(Deferred::Continue(target, t));
    }
    OK
}

pub(super) fn continue_request(c: &mut dyn Guest) -> HostResult {
    continue_stream_of(c, StreamType::Request)
}

pub(super) fn continue_response(c: &mut dyn Guest) -> HostResult {
    continue_stream_of(c, StreamType::Response)
}

pub(super) fn clear_route_cache(_c: &mut dyn Guest) -> HostResult {
    OK
}

pub(super) fn continue_stream(c: &mut dyn Guest, stream_type: u32) -> HostResult {
    let Some(t) = StreamType::from_abi(stream_type) else {
        return Err(Status::BadArgument.into());
    };
    note(c, format_args!("{}", format!("{t:?}").to_lowercase()));
    if t == StreamType::Upstream {
        return Err(Status::Unimplemented.into());
    }
    continue_stream_of(c, t)
}

pub(super) fn close_stream(c: &mut dyn Guest, stream_type: u32) -> HostResult {
    let Some(t) = StreamType::from_abi(stream_type) else {
        return Err(Status::BadArgument.into());
    };
    note(c, format_args!("{}", format!("{t:?}").to_lowercase()));
    let w = world(c);
    let mut w = w.borrow_mut();
    let target = w.target_context();
    if w.stream_for(target).is_some()
        || (matches!(t, StreamType::Downstream | StreamType::Upstream)
            && w.connection_for(target).is_some())
    {
        // On a connection both close the client's connection (FlushWrite) after the VM call.
        w.deferred.push(Deferred::Close(target, t));
    }
    OK
}

#[allow(clippy::too_many_arguments)]
pub(super) fn send_local_response(
    c: &mut dyn Guest,
    status: u32,
    details_ptr: u32,
    details_len: u32,
    body_ptr: u32,
    body_len: u32,
    headers_ptr: u32,
    headers_len: u32,
    grpc_status: i32,
) -> HostResult {
    let details = memory::read_string(c, details_ptr, details_len)?;
    let body = memory::read(c, body_ptr, body_len)?;
    let raw_headers = memory::read(c, headers_ptr, headers_len)?;
    let headers = pairs::decode(&raw_headers).unwrap_or_default();
    note(
        c,
        format_args!(
            "{status} details={} body={} headers={}",
            show(details.as_bytes()),
            show(&body),
            headers.len()
        ),
    );
    let w = world(c);
    let mut w = w.borrow_mut();
    let higress = w.cfg().higress;
    let target = w.target_context();
    let Some(stream) = w.stream_for(target) else {
        // From a root context Envoy silently does nothing.
        return OK;
    };
    if stream.local_reply.is_some() || stream.local_replies > 0 {
        // Envoy 1.27 (Higress) refuses a second local reply; newer Envoy ignores it.
        return if higress {
            Err(Status::BadArgument.into())
        } else {
            OK
        };
    }
    stream.local_reply = Some(LocalReply {
        status,
        details,
        body,
        headers,
        grpc_status,
    });
    stream.local_replies += 1;
    OK
}

pub(super) fn get_property(
    c: &mut dyn Guest,
    path_ptr: u32,
    path_len: u32,
    value_ptr_ptr: u32,
    value_len_ptr: u32,
) -> HostResult {
    let path = memory::read(c, path_ptr, path_len)?;
    memory::check(c, value_ptr_ptr, 4)?;
    memory::check(c, value_len_ptr, 4)?;
    let shown = String::from_utf8_lossy(&path).replace('\0', ".");
    let value = {
        let w = world(c);
        let mut w = w.borrow_mut();
        w.memory_bytes = c.memory_size().unwrap_or(0) as u64;
        crate::properties::get(&w, &path)
    };
    match value {
        Ok(v) => {
            note(c, format_args!("{shown} -> {}", show(&v)));
            memory::return_bytes(c, &v, value_ptr_ptr, value_len_ptr)?;
            OK
        }
        Err(s) => {
            note(c, format_args!("{shown}"));
            Err(s.into())
        }
    }
}

pub(super) fn set_property(
    c: &mut dyn Guest,
    path_ptr: u32,
    path_len: u32,
    value_ptr: u32,
    value_len: u32,
) -> HostResult {
    let path = memory::read(c, path_ptr, path_len)?;
    let value = memory::read(c, value_ptr, value_len)?;
    let key = String::from_utf8_lossy(&path).into_owned();
    note(
        c,
        format_args!("{} = {}", key.replace('\0', "."), show(&value)),
    );
    let w = world(c);
    let mut w = w.borrow_mut();
    w.retain((path.len() + value.len()) as u64)
        .map_err(wasmi::Error::host)?;
    let target = w.target_context();
    if let Some(conn) = w.connection_for(target) {
        // A connection's filter state lives in its stream info, as a request's does.
        conn.filter_state.insert(key, value);
        return OK;
    }
    let Some(stream) = w.stream_for(target) else {
        // No stream, no filter state: Envoy answers NotFound in root contexts.
        return Err(Status::NotFound.into());
    };
    stream.filter_state.insert(key, value);
    OK
}

pub(super) fn pthread_equal(_c: &mut dyn Guest, left: u32, right: u32) -> HostResult {
    Ok(i32::from(left == right))
}

/// Emscripten's memory-growth notice: nothing to do, nothing to answer.
pub(super) fn notify_memory_growth(_c: &mut dyn Guest, _memory_index: u32) {}
