//! What an engine other than wasmi needs from the host: the module with its memory capped,
//! its imports resolved to host functions, and wasmi's names for the engine's traps.
//!
//! The worker runs plain runs on the browser's own `WebAssembly`. It implements
//! [`ForeignEngine`] with `js-sys`; everything here is plain Rust, tested natively.

pub use crate::ctx::Ctx;
pub use crate::hostcalls::{HostImport, Import};
pub use crate::memory::Guest;
pub use crate::prepare::{REFUSED_FROM, REFUSED_TO, prepare};
pub use crate::session::precompile;
pub use crate::vm::{ForeignEngine, ForeignInstance, ForeignModule, ForeignTrap};
/// The value and type vocabulary an engine speaks with the host (wasmi's).
pub use wasmi::{Error, FuncType, Val, ValType};

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
