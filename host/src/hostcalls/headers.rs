//! Header and trailer maps (spec "HTTP fields"), with Envoy's availability rules: a map is
//! readable and writable only in its own callback, or later while that phase is paused.

use wasmi::Caller;

use super::misc::world;
use super::{note, show};
use crate::abi::{MapType, Status};
use crate::memory::{self, HostErr, HostResult};
use crate::pairs::{self, Pair};
use crate::scenario::ReplaceHeader;
use crate::state::{Access, World};
use crate::vm::Ctx;

const OK: HostResult = Ok(Status::Ok as i32);

/// Runs `f` on the map if it is available with at least `need` access.
fn with_map<R>(
    w: &mut World,
    mt: MapType,
    need: Access,
    f: impl FnOnce(&mut Vec<Pair>) -> R,
) -> Result<R, Status> {
    let target = w.target_context();
    let ok = |have: Access| match need {
        Access::ReadWrite => have == Access::ReadWrite,
        _ => have != Access::None,
    };
    match mt {
        MapType::HttpCallResponseHeaders | MapType::HttpCallResponseTrailers => {
            if need == Access::ReadWrite {
                return Err(Status::BadArgument);
            }
            let Some((h, _, t)) = w.http_call_response.as_mut() else {
                return Err(Status::BadArgument);
            };
            Ok(f(if mt == MapType::HttpCallResponseHeaders {
                h
            } else {
                t
            }))
        }
        MapType::GrpcInitialMetadata | MapType::GrpcTrailingMetadata => {
            if need == Access::ReadWrite {
                return Err(Status::BadArgument);
            }
            w.grpc_metadata.as_mut().map(f).ok_or(Status::BadArgument)
        }
        _ => {
            let Some(s) = w.stream_for(target) else {
                return Err(Status::BadArgument);
            };
            let (have, map) = match mt {
                MapType::RequestHeaders => (s.req_headers, &mut s.request_headers),
                MapType::RequestTrailers => (s.req_trailers, &mut s.request_trailers),
                MapType::ResponseHeaders => (s.resp_headers, &mut s.response_headers),
                _ => (s.resp_trailers, &mut s.response_trailers),
            };
            if !ok(have) {
                return Err(Status::BadArgument);
            }
            Ok(f(map))
        }
    }
}

fn map_type(c: &mut Caller<'_, Ctx>, v: i64) -> Result<MapType, HostErr> {
    MapType::from_abi(v as u32).ok_or_else(|| {
        note(c, format!("map type {v} (invalid)"));
        HostErr::from(Status::BadArgument)
    })
}

fn unavailable(c: &mut Caller<'_, Ctx>, mt: MapType, rest: &str) -> HostErr {
    note(
        c,
        format!("{} {rest} (not available in this phase)", mt.name()),
    );
    Status::BadArgument.into()
}

pub(super) fn get_value(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let mt = map_type(c, a[0])?;
    let key = memory::read(c, a[1] as u32, a[2] as u32)?.to_ascii_lowercase();
    let v1 = world(c).borrow().cfg().abi == crate::abi::AbiVersion::V0_1_0;
    let found = {
        let w = world(c);
        let mut w = w.borrow_mut();
        with_map(&mut w, mt, Access::ReadOnly, |m| {
            m.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
        })
    };
    let shown_key = String::from_utf8_lossy(&key).into_owned();
    match found {
        Err(_) => Err(unavailable(c, mt, &shown_key)),
        Ok(None) if !v1 => {
            note(c, format!("{} {shown_key} (absent)", mt.name()));
            Err(Status::NotFound.into())
        }
        Ok(value) => {
            let value = value.unwrap_or_default();
            note(c, format!("{} {shown_key} -> {}", mt.name(), show(&value)));
            memory::return_bytes(c, &value, a[3] as u32, a[4] as u32)?;
            OK
        }
    }
}

pub(super) fn get_pairs(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let mt = map_type(c, a[0])?;
    let map = {
        let w = world(c);
        let mut w = w.borrow_mut();
        with_map(&mut w, mt, Access::ReadOnly, |m| m.clone())
    };
    // An unavailable map reads as empty, with Ok.
    let map = map.unwrap_or_default();
    note(c, format!("{} -> {} entries", mt.name(), map.len()));
    memory::return_bytes(c, &pairs::encode(&map), a[1] as u32, a[2] as u32)?;
    OK
}

pub(super) fn set_pairs(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let mt = map_type(c, a[0])?;
    let raw = memory::read(c, a[1] as u32, a[2] as u32)?;
    // Malformed input decodes as an empty list: Envoy then wipes the map.
    let decoded = pairs::decode(&raw);
    let malformed = decoded.is_none();
    let new: Vec<Pair> = decoded
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let n = new.len();
    let r = {
        let w = world(c);
        let mut w = w.borrow_mut();
        with_map(&mut w, mt, Access::ReadWrite, |m| *m = new)
    };
    if r.is_err() {
        return Err(unavailable(c, mt, "set_pairs"));
    }
    let warn = if malformed {
        " (malformed input: the map was emptied)"
    } else {
        ""
    };
    note(c, format!("{} <- {n} entries{warn}", mt.name()));
    OK
}

pub(super) fn add_value(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    edit(c, a, "add", |m, k, v, _| m.push((k, v)))
}

pub(super) fn replace_value(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    edit(c, a, "replace", |m, k, v, mode| match mode {
        ReplaceHeader::RemoveAndAppend => {
            m.retain(|(key, _)| *key != k);
            m.push((k, v));
        }
        ReplaceHeader::InPlace => match m.iter_mut().find(|(key, _)| *key == k) {
            Some(entry) => entry.1 = v,
            None => m.push((k, v)),
        },
    })
}

fn edit(
    c: &mut Caller<'_, Ctx>,
    a: &[i64],
    verb: &str,
    f: impl FnOnce(&mut Vec<Pair>, Vec<u8>, Vec<u8>, ReplaceHeader),
) -> HostResult {
    let mt = map_type(c, a[0])?;
    let key = memory::read(c, a[1] as u32, a[2] as u32)?.to_ascii_lowercase();
    let value = memory::read(c, a[3] as u32, a[4] as u32)?;
    let shown = format!(
        "{} {verb} {}: {}",
        mt.name(),
        String::from_utf8_lossy(&key),
        show(&value)
    );
    let r = {
        let w = world(c);
        let mut w = w.borrow_mut();
        let mode = w.cfg().replace_header;
        with_map(&mut w, mt, Access::ReadWrite, |m| f(m, key, value, mode))
    };
    if r.is_err() {
        return Err(unavailable(c, mt, &shown));
    }
    note(c, shown);
    OK
}

pub(super) fn remove_value(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let mt = map_type(c, a[0])?;
    let key = memory::read(c, a[1] as u32, a[2] as u32)?.to_ascii_lowercase();
    let shown = format!("{} remove {}", mt.name(), String::from_utf8_lossy(&key));
    let r = {
        let w = world(c);
        let mut w = w.borrow_mut();
        with_map(&mut w, mt, Access::ReadWrite, |m| {
            m.retain(|(k, _)| *k != key)
        })
    };
    if r.is_err() {
        return Err(unavailable(c, mt, &shown));
    }
    note(c, shown);
    OK
}

pub(super) fn get_size(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let mt = map_type(c, a[0])?;
    if !matches!(
        mt,
        MapType::RequestHeaders
            | MapType::RequestTrailers
            | MapType::ResponseHeaders
            | MapType::ResponseTrailers
    ) {
        return Err(Status::BadArgument.into());
    }
    let size = {
        let w = world(c);
        let mut w = w.borrow_mut();
        with_map(&mut w, mt, Access::ReadOnly, |m| {
            m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        })
    };
    let size = size.map_err(|_| HostErr::from(Status::BadArgument))?;
    memory::write_u32(c, a[1] as u32, size as u32)?;
    note(c, format!("{} -> {size} bytes", mt.name()));
    OK
}
