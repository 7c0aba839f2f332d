//! Logging, time, context control, stream control, local replies and properties.

use std::cell::RefCell;
use std::rc::Rc;

use wasmi::Caller;

use super::{note, show};
use crate::abi::{Status, StreamType};
use crate::ctx::Ctx;
use crate::memory::{self, HostResult};
use crate::pairs;
use crate::scenario::LogLevel;
use crate::state::{Deferred, LocalReply, World};
use crate::trace::LogSource;

pub(super) fn world(caller: &Caller<'_, Ctx>) -> Rc<RefCell<World>> {
    caller.data().world.clone()
}

const OK: HostResult = Ok(Status::Ok as i32);

pub(super) fn log(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let Some(level) = LogLevel::from_abi(a[0] as u32) else {
        note(c, format_args!("level={} (invalid)", a[0]));
        return Err(Status::BadArgument.into());
    };
    let msg = memory::read_string(c, a[1] as u32, a[2] as u32)?;
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

pub(super) fn get_log_level(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let level = world(c).borrow().cfg().log_level;
    memory::write_u32(c, a[0] as u32, level.abi())?;
    note(c, format_args!("-> {}", level.as_str()));
    OK
}

pub(super) fn get_current_time(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let now = world(c).borrow().now_ns;
    memory::write_u64(c, a[0] as u32, now)?;
    note(c, format_args!("-> {now}"));
    OK
}

pub(super) fn set_tick_period(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let ms = a[0] as u32;
    let w = world(c);
    let mut w = w.borrow_mut();
    w.tick_period_ms = ms;
    w.next_tick_ns = w.mono_ns.saturating_add(u64::from(ms) * 1_000_000);
    note(c, format_args!("{ms} ms"));
    OK
}

pub(super) fn get_status(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let (code, msg) = world(c).borrow().call_status.code_and_message();
    memory::write_u32(c, a[0] as u32, code)?;
    memory::return_bytes(c, msg.as_bytes(), a[1] as u32, a[2] as u32)?;
    note(c, format_args!("-> {code} {}", show(msg.as_bytes())));
    OK
}

pub(super) fn set_effective_context(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let id = a[0] as u32;
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

pub(super) fn done(c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    let w = world(c);
    let mut w = w.borrow_mut();
    if w.root_pending_done {
        w.root_pending_done = false;
        OK
    } else {
        Err(Status::NotFound.into())
    }
}

fn continue_stream_of(c: &mut Caller<'_, Ctx>, t: StreamType) -> HostResult {
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
        w.deferred.push(Deferred::Continue(t));
    }
    OK
}

pub(super) fn continue_request(c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    continue_stream_of(c, StreamType::Request)
}

pub(super) fn continue_response(c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    continue_stream_of(c, StreamType::Response)
}

pub(super) fn clear_route_cache(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    OK
}

pub(super) fn continue_stream(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let Some(t) = StreamType::from_abi(a[0] as u32) else {
        return Err(Status::BadArgument.into());
    };
    note(c, format_args!("{}", format!("{t:?}").to_lowercase()));
    if t == StreamType::Upstream {
        return Err(Status::Unimplemented.into());
    }
    continue_stream_of(c, t)
}

pub(super) fn close_stream(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let Some(t) = StreamType::from_abi(a[0] as u32) else {
        return Err(Status::BadArgument.into());
    };
    note(c, format_args!("{}", format!("{t:?}").to_lowercase()));
    let w = world(c);
    let mut w = w.borrow_mut();
    let target = w.target_context();
    if w.stream_for(target).is_some() {
        w.deferred.push(Deferred::Close(t));
    }
    OK
}

pub(super) fn send_local_response(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let status = a[0] as u32;
    let details = memory::read_string(c, a[1] as u32, a[2] as u32)?;
    let body = memory::read(c, a[3] as u32, a[4] as u32)?;
    let raw_headers = memory::read(c, a[5] as u32, a[6] as u32)?;
    let grpc_status = a[7] as u32 as i32;
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

pub(super) fn get_property(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let path = memory::read(c, a[0] as u32, a[1] as u32)?;
    memory::check(c, a[2] as u32, 4)?;
    memory::check(c, a[3] as u32, 4)?;
    let shown = String::from_utf8_lossy(&path).replace('\0', ".");
    let value = {
        let w = world(c);
        let mut w = w.borrow_mut();
        w.memory_bytes = c
            .data()
            .memory
            .map(|m| m.data_size(&*c) as u64)
            .unwrap_or(0);
        crate::properties::get(&w, &path)
    };
    match value {
        Ok(v) => {
            note(c, format_args!("{shown} -> {}", show(&v)));
            memory::return_bytes(c, &v, a[2] as u32, a[3] as u32)?;
            OK
        }
        Err(s) => {
            note(c, format_args!("{shown}"));
            Err(s.into())
        }
    }
}

pub(super) fn set_property(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let path = memory::read(c, a[0] as u32, a[1] as u32)?;
    let value = memory::read(c, a[2] as u32, a[3] as u32)?;
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
    let Some(stream) = w.stream_for(target) else {
        // No stream, no filter state: Envoy answers NotFound in root contexts.
        return Err(Status::NotFound.into());
    };
    stream.filter_state.insert(key, value);
    OK
}

pub(super) fn pthread_equal(_c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    Ok(i32::from(a[0] == a[1]))
}

pub(super) fn nothing(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    Ok(0)
}
