//! What an engine other than wasmi needs from the host: the module with its memory capped,
//! its imports resolved to host functions, and wasmi's names for the engine's traps.
//!
//! The worker runs plain runs on the browser's own `WebAssembly`. It implements
//! [`ForeignEngine`] with `js-sys`; everything here is plain Rust, tested natively.

use std::collections::HashMap;

use wasmparser::{Parser, Payload};

pub use crate::ctx::Ctx;
pub use crate::hostcalls::{HostImport, Import};
pub use crate::memory::Guest;
pub use crate::vm::{ForeignEngine, ForeignInstance, ForeignModule, ForeignTrap};
/// The value and type vocabulary an engine speaks with the host (wasmi's).
pub use wasmi::{Error, FuncType, Val, ValType};

/// `bytes` with every defined memory's maximum lowered to `pages` (64 KiB each), so that an
/// engine without a store limiter refuses `memory.grow` past the scenario's memory limit
/// exactly where wasmi's limiter does: `memory.grow` answers -1. `None` when the module
/// defines no memory (an imported one is created by the host, capped) or cannot be read.
pub fn cap_memory(bytes: &[u8], pages: u32) -> Option<Vec<u8>> {
    let mut section = None;
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::MemorySection(reader) = payload.ok()? {
            let mut body = Vec::new();
            leb(&mut body, u64::from(reader.count()));
            for memory in reader {
                let memory = memory.ok()?;
                // memory64 and shared memories: left as they are (Envoy runs neither).
                if memory.memory64 || memory.shared {
                    return None;
                }
                let maximum = memory
                    .maximum
                    .map_or(u64::from(pages), |m| m.min(u64::from(pages)));
                body.push(0x01);
                leb(&mut body, memory.initial);
                leb(&mut body, maximum);
            }
            section = Some((section_range(bytes, 5)?, body));
            break;
        }
    }
    let ((start, end), body) = section?;
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..start]);
    out.push(5);
    leb(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    out.extend_from_slice(&bytes[end..]);
    Some(out)
}

/// The byte range of the whole section `wanted` (id, size and contents) in `bytes`.
fn section_range(bytes: &[u8], wanted: u8) -> Option<(usize, usize)> {
    let mut at = 8;
    while at < bytes.len() {
        let id = bytes[at];
        let (size, n) = read_leb(&bytes[at + 1..])?;
        let end = at + 1 + n + usize::try_from(size).ok()?;
        if id == wanted {
            return Some((at, end));
        }
        at = end;
    }
    None
}

fn leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The exported functions of a compiled module and their types.
pub(crate) fn export_types(module: &wasmi::Module) -> HashMap<String, FuncType> {
    module
        .exports()
        .filter_map(|e| match e.ty() {
            wasmi::ExternType::Func(f) => Some((e.name().to_string(), f.clone())),
            _ => None,
        })
        .collect()
}

/// The allocator the host returns data with: `malloc`, else `proxy_on_memory_allocate`, of
/// type `(i32) -> i32` (as on wasmi, in `Vm::new`).
pub(crate) fn allocator(exports: &HashMap<String, FuncType>) -> Option<&'static str> {
    ["malloc", "proxy_on_memory_allocate"]
        .into_iter()
        .find(|n| {
            exports
                .get(*n)
                .is_some_and(|ty| ty.params() == [ValType::I32] && ty.results() == [ValType::I32])
        })
}

/// The trap wasmi would report for an engine's trap message (V8's and SpiderMonkey's
/// `RuntimeError` texts, and the stack overflow `RangeError`), so both engines name a failure
/// alike. `None` for a message that is not a wasm trap.
pub fn trap_from_message(message: &str) -> Option<Error> {
    use wasmi::TrapCode as T;
    let m = message.to_ascii_lowercase();
    let code = if m.contains("unreachable") {
        T::UnreachableCodeReached
    } else if m.contains("call stack") || m.contains("too much recursion") {
        T::StackOverflow
    } else if m.contains("out of bounds memory") || m.contains("memory access out of bounds") {
        T::MemoryOutOfBounds
    } else if m.contains("divide by zero") || m.contains("division by zero") {
        T::IntegerDivisionByZero
    } else if m.contains("integer overflow") || m.contains("divide result unrepresentable") {
        T::IntegerOverflow
    } else if m.contains("unrepresentable") || m.contains("invalid conversion") {
        T::BadConversionToInteger
    } else if m.contains("signature mismatch") || m.contains("indirect call type mismatch") {
        T::BadSignature
    } else if m.contains("null function")
        || m.contains("table index is out of bounds")
        || m.contains("index out of bounds")
    {
        T::IndirectCallToNull
    } else if m.contains("table") && m.contains("out of bounds") {
        T::TableOutOfBounds
    } else {
        return None;
    };
    Some(Error::from(code))
}

/// Frames of a JavaScript error's `stack` that are the plugin's wasm functions, innermost
/// first: `proxy_on_request_headers (wasm-function[412]:0x1a2b3)`. A module compiled from
/// bytes has `wasm://wasm/<hash>` frames; the host's own (the worker's module, loaded from a
/// URL) are left out.
pub fn wasm_frames(stack: &str) -> Vec<String> {
    stack
        .lines()
        .filter(|line| line.contains("wasm://wasm/"))
        .filter_map(|line| {
            let line = line.trim().strip_prefix("at ").unwrap_or(line.trim());
            let at = line.find("wasm-function[")?;
            let tail = &line[at..];
            let tail = tail.split_once(')').map_or(tail, |(t, _)| t);
            // `name (wasm://wasm/<hash>:wasm-function[12]:0x34)`, or no name at all.
            let name = line[..at]
                .split(" (")
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches('$');
            let location = tail
                .split_once("]:")
                .map_or(tail.to_string(), |(f, off)| format!("{f}]:{off}"));
            Some(if name.is_empty() || name.starts_with("wasm://") {
                location
            } else {
                format!("{name} ({location})")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_limits(bytes: &[u8]) -> Vec<(u64, Option<u64>)> {
        let mut out = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            if let Payload::MemorySection(r) = payload.unwrap() {
                out.extend(r.into_iter().map(|m| {
                    let m = m.unwrap();
                    (m.initial, m.maximum)
                }));
            }
        }
        out
    }

    #[test]
    fn capping_lowers_or_adds_the_maximum_and_keeps_the_module_valid() {
        let open =
            wat::parse_str(r#"(module (memory (export "memory") 2) (func (export "f")))"#).unwrap();
        let capped = cap_memory(&open, 16).unwrap();
        assert_eq!(memory_limits(&capped), vec![(2, Some(16))]);
        wasmparser::validate(&capped).unwrap();

        let bounded =
            wat::parse_str(r#"(module (memory 1 300) (data (i32.const 0) "hi"))"#).unwrap();
        assert_eq!(
            memory_limits(&cap_memory(&bounded, 1024).unwrap()),
            vec![(1, Some(300))]
        );
        assert_eq!(
            memory_limits(&cap_memory(&bounded, 64).unwrap()),
            vec![(1, Some(64))]
        );
        wasmparser::validate(&cap_memory(&bounded, 64).unwrap()).unwrap();

        let none = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        assert!(cap_memory(&none, 64).is_none());
    }

    #[test]
    fn engine_trap_messages_map_to_wasmis_traps() {
        let code = |m: &str| trap_from_message(m).and_then(|e| e.as_trap_code());
        assert_eq!(
            code("unreachable"),
            Some(wasmi::TrapCode::UnreachableCodeReached)
        );
        assert_eq!(
            code("RuntimeError: memory access out of bounds"),
            Some(wasmi::TrapCode::MemoryOutOfBounds)
        );
        assert_eq!(
            code("Maximum call stack size exceeded"),
            Some(wasmi::TrapCode::StackOverflow)
        );
        assert_eq!(
            code("divide by zero"),
            Some(wasmi::TrapCode::IntegerDivisionByZero)
        );
        assert_eq!(code("TypeError: x is not a function"), None);
    }

    #[test]
    fn wasm_frames_keep_names_and_offsets() {
        let stack = "RuntimeError: unreachable\n    at runtime.abort (wasm://wasm/0a1b2c3d:wasm-function[42]:0x1f00)\n    at proxy_on_request_headers (wasm://wasm/0a1b2c3d:wasm-function[7]:0x200)\n    at wasm://wasm/0a1b2c3d:wasm-function[3]:0x10\n    at http://127.0.0.1/pwp-worker_bg.wasm: (wasm-function[507]:0x1190e5)\n    at Engine.call (worker.js:1:2)";
        assert_eq!(
            wasm_frames(stack),
            vec![
                "runtime.abort (wasm-function[42]:0x1f00)",
                "proxy_on_request_headers (wasm-function[7]:0x200)",
                "wasm-function[3]:0x10",
            ]
        );
    }
}
