//! Header and trailer maps (spec "HTTP fields"), with Envoy's availability rules: a map is
//! readable and writable only in its own callback, or later while that phase is paused.

use crate::memory::Guest;

use super::misc::world;
use super::{note, show};
use crate::abi::{MapType, Status};
use crate::memory::{self, HostErr, HostResult};
use crate::pairs::{self, Pair};
use crate::scenario::ReplaceHeader;
use crate::state::{Access, StreamMap, World};

const OK: HostResult = Ok(Status::Ok as i32);

/// Runs `f` on the map if it is readable now.
fn read_map<R>(w: &World, mt: MapType, f: impl FnOnce(&[Pair]) -> R) -> Result<R, Status> {
    if let Some(m) = stream_map(mt) {
        let target = w.target_context();
        return match w.streams.get(&target) {
            Some(s) if s.access(m) != Access::None => Ok(f(s.map(m))),
            _ => Err(Status::BadArgument),
        };
    }
    match mt {
        MapType::HttpCallResponseHeaders | MapType::HttpCallResponseTrailers => {
            let Some((h, _, t)) = w.http_call_response.as_ref() else {
                return Err(Status::BadArgument);
            };
            Ok(f(if mt == MapType::HttpCallResponseHeaders {
                h
            } else {
                t
            }))
        }
        _ => w.grpc_metadata.as_deref().map(f).ok_or(Status::BadArgument),
    }
}

/// Runs `f` on the map if it is writable now (only the stream's maps ever are). The stream
/// keeps what the map was before, for the trace's change records.
fn change_map<R>(
    w: &mut World,
    mt: MapType,
    f: impl FnOnce(&mut Vec<Pair>) -> R,
) -> Result<R, Status> {
    let m = stream_map(mt).ok_or(Status::BadArgument)?;
    let target = w.target_context();
    match w.stream_for(target) {
        Some(s) if s.access(m) == Access::ReadWrite => Ok(f(s.map_to_change(m))),
        _ => Err(Status::BadArgument),
    }
}

/// The stream's own map for `mt`, if it is one.
fn stream_map(mt: MapType) -> Option<StreamMap> {
    match mt {
        MapType::RequestHeaders => Some(StreamMap::RequestHeaders),
        MapType::RequestTrailers => Some(StreamMap::RequestTrailers),
        MapType::ResponseHeaders => Some(StreamMap::ResponseHeaders),
        MapType::ResponseTrailers => Some(StreamMap::ResponseTrailers),
        _ => None,
    }
}

fn map_type(c: &mut dyn Guest, v: u32) -> Result<MapType, HostErr> {
    MapType::from_abi(v).ok_or_else(|| {
        note(c, format_args!("map type {v} (invalid)"));
        HostErr::from(Status::BadArgument)
    })
}

/// A header name from guest memory, lower-cased in place.
fn lowercase_key(c: &dyn Guest, ptr: u32, len: u32) -> Result<Vec<u8>, HostErr> {
    let mut key = memory::read(c, ptr, len)?;
    key.make_ascii_lowercase();
    Ok(key)
}

/// [`unavailable`] for a change already noted: the note becomes the refusal's detail.
fn unavailable_after_note(c: &mut dyn Guest, mt: MapType) -> HostErr {
    let shown = c.data().detail.clone();
    unavailable(c, mt, &shown)
}

fn unavailable(c: &mut dyn Guest, mt: MapType, rest: &str) -> HostErr {
    note(
        c,
        format_args!("{} {rest} (not available in this phase)", mt.name()),
    );
    Status::BadArgument.into()
}

pub(super) fn get_value(
    c: &mut dyn Guest,
    map_type_id: u32,
    key_ptr: u32,
    key_len: u32,
    value_ptr_ptr: u32,
    value_len_ptr: u32,
) -> HostResult {
    let mt = map_type(c, map_type_id)?;
    let key = lowercase_key(c, key_ptr, key_len)?;
    let v1 = world(c).borrow().cfg().abi == crate::abi::AbiVersion::V0_1_0;
    let found = {
        let w = world(c);
        let w = w.borrow();
        read_map(&w, mt, |m| {
            m.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
        })
    };
    let shown_key = String::from_utf8_lossy(&key);
    match found {
        Err(_) => Err(unavailable(c, mt, &shown_key)),
        Ok(None) if !v1 => {
            note(c, format_args!("{} {shown_key} (absent)", mt.name()));
            Err(Status::NotFound.into())
        }
        Ok(value) => {
            let value = value.unwrap_or_default();
            note(
                c,
                format_args!("{} {shown_key} -> {}", mt.name(), show(&value)),
            );
            memory::return_bytes(c, &value, value_ptr_ptr, value_len_ptr)?;
            OK
        }
    }
}

pub(super) fn get_pairs(
    c: &mut dyn Guest,
    map_type_id: u32,
    pairs_ptr_ptr: u32,
    pairs_len_ptr: u32,
) -> HostResult {
    let mt = map_type(c, map_type_id)?;
    let read = {
        let w = world(c);
        let w = w.borrow();
        read_map(&w, mt, |m| (m.len(), pairs::encode(m)))
    };
    // An unavailable map reads as empty, with Ok.
    let (n, encoded) = read.unwrap_or_default();
    note(c, format_args!("{} -> {n} entries", mt.name()));
    memory::return_bytes(c, &encoded, pairs_ptr_ptr, pairs_len_ptr)?;
    OK
}

pub(super) fn set_pairs(
    c: &mut dyn Guest,
    map_type_id: u32,
    pairs_ptr: u32,
    pairs_len: u32,
) -> HostResult {
    let mt = map_type(c, map_type_id)?;
    let raw = memory::read(c, pairs_ptr, pairs_len)?;
    // Malformed input decodes as an empty list: Envoy then wipes the map.
    let decoded = pairs::decode(&raw);
    let malformed = decoded.is_none();
    let new: Vec<Pair> = decoded
        .unwrap_or_default()
        .into_iter()
        .map(|(mut k, v)| {
            k.make_ascii_lowercase();
            (k, v)
        })
        .collect();
    let n = new.len();
    let r = {
        let w = world(c);
        let mut w = w.borrow_mut();
        change_map(&mut w, mt, |m| *m = new)
    };
    if r.is_err() {
        return Err(unavailable(c, mt, "set_pairs"));
    }
    let warn = if malformed {
        " (malformed input: the map was emptied)"
    } else {
        ""
    };
    note(c, format_args!("{} <- {n} entries{warn}", mt.name()));
    OK
}

/// The arguments of `proxy_add_header_map_value` and `proxy_replace_header_map_value`.
struct Entry {
    map_type_id: u32,
    key_ptr: u32,
    key_len: u32,
    value_ptr: u32,
    value_len: u32,
}

pub(super) fn add_value(
    c: &mut dyn Guest,
    map_type_id: u32,
    key_ptr: u32,
    key_len: u32,
    value_ptr: u32,
    value_len: u32,
) -> HostResult {
    let entry = Entry {
        map_type_id,
        key_ptr,
        key_len,
        value_ptr,
        value_len,
    };
    edit(c, entry, "add", |m, k, v, _| m.push((k, v)))
}

pub(super) fn replace_value(
    c: &mut dyn Guest,
    map_type_id: u32,
    key_ptr: u32,
    key_len: u32,
    value_ptr: u32,
    value_len: u32,
) -> HostResult {
    let entry = Entry {
        map_type_id,
        key_ptr,
        key_len,
        value_ptr,
        value_len,
    };
    edit(c, entry, "replace", |m, k, v, mode| match mode {
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
    c: &mut dyn Guest,
    entry: Entry,
    verb: &str,
    f: impl FnOnce(&mut Vec<Pair>, Vec<u8>, Vec<u8>, ReplaceHeader),
) -> HostResult {
    let mt = map_type(c, entry.map_type_id)?;
    let key = lowercase_key(c, entry.key_ptr, entry.key_len)?;
    let value = memory::read(c, entry.value_ptr, entry.value_len)?;
    note(
        c,
        format_args!(
            "{} {verb} {}: {}",
            mt.name(),
            String::from_utf8_lossy(&key),
            show(&value)
        ),
    );
    let r = {
        let w = world(c);
        let mut w = w.borrow_mut();
        let mode = w.cfg().replace_header;
        change_map(&mut w, mt, |m| f(m, key, value, mode))
    };
    if r.is_err() {
        return Err(unavailable_after_note(c, mt));
    }
    OK
}

pub(super) fn remove_value(
    c: &mut dyn Guest,
    map_type_id: u32,
    key_ptr: u32,
    key_len: u32,
) -> HostResult {
    let mt = map_type(c, map_type_id)?;
    let key = lowercase_key(c, key_ptr, key_len)?;
    note(
        c,
        format_args!("{} remove {}", mt.name(), String::from_utf8_lossy(&key)),
    );
    let r = {
        let w = world(c);
        let mut w = w.borrow_mut();
        change_map(&mut w, mt, |m| m.retain(|(k, _)| *k != key))
    };
    if r.is_err() {
        return Err(unavailable_after_note(c, mt));
    }
    OK
}

pub(super) fn get_size(c: &mut dyn Guest, map_type_id: u32, size_ptr: u32) -> HostResult {
    let mt = map_type(c, map_type_id)?;
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
        let w = w.borrow();
        read_map(&w, mt, |m| {
            m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        })
    };
    let size = size.map_err(|_| HostErr::from(Status::BadArgument))?;
    memory::write_u32(c, size_ptr, size as u32)?;
    note(c, format_args!("{} -> {size} bytes", mt.name()));
    OK
}

#[cfg(test)]
mod tests {
    use crate::{Scenario, run};

    /// Writes to a map outside its phase are refused with the attempted change as the detail;
    /// allowed ones show the change.
    #[test]
    fn header_changes_are_shown_in_the_trace_whether_allowed_or_not() {
        let wat = r#"(module
          (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
          (import "env" "proxy_replace_header_map_value" (func $replace (param i32 i32 i32 i32 i32) (result i32)))
          (import "env" "proxy_remove_header_map_value" (func $remove (param i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "X-Late")
          (data (i32.const 120) "v\ff")
          (data (i32.const 140) "x-gone")
          (func (export "proxy_abi_version_0_2_1"))
          (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 4096))
          (func (export "proxy_on_context_create") (param i32 i32))
          (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
            (drop (call $add (i32.const 0) (i32.const 100) (i32.const 6) (i32.const 120) (i32.const 2)))
            (drop (call $remove (i32.const 0) (i32.const 100) (i32.const 6)))
            (drop (call $replace (i32.const 2) (i32.const 100) (i32.const 6) (i32.const 120) (i32.const 2)))
            (drop (call $remove (i32.const 2) (i32.const 140) (i32.const 6)))
            (i32.const 0)))"#;
        let bytes = wat::parse_str(wat).expect("wat");
        let report = run(&bytes, Scenario::parse("{}").expect("scenario")).expect("runs");
        let cb = report
            .callbacks
            .iter()
            .find(|c| c.name == "proxy_on_response_headers")
            .expect("called");
        let details: Vec<(&str, &str)> = cb
            .hostcalls
            .iter()
            .map(|h| (h.detail.as_str(), h.status.map_or("", |s| s.name())))
            .collect();
        assert_eq!(
            details,
            [
                (
                    "request_headers request_headers add x-late: \"v\u{fffd}\" (not available in this phase)",
                    "BadArgument"
                ),
                (
                    "request_headers request_headers remove x-late (not available in this phase)",
                    "BadArgument"
                ),
                ("response_headers replace x-late: \"v\u{fffd}\"", "Ok"),
                ("response_headers remove x-gone", "Ok"),
            ]
        );
        let changes: Vec<String> = cb
            .changes
            .iter()
            .map(|c| format!("{} {} {} {:?} {:?}", c.target, c.op, c.name, c.old, c.new))
            .collect();
        assert_eq!(
            changes,
            ["response_headers added x-late None Some(\"v\u{fffd}\")"]
        );
    }
}
