//! Guest memory access: the only place that touches raw guest bytes.
//!
//! Every range is checked; a bad one becomes an `InvalidMemoryAccess` answer (or WASI's
//! `FAULT`), never a panic. Returned data is written in cpp-host's order: allocate in the
//! guest, copy, then write pointer and length. Empty data is never allocated: the host writes
//! pointer 0 and length 0 (the Go SDKs' allocator panics on a zero-size request).

use wasmi::{AsContext, AsContextMut, Caller, Val};

use crate::abi::Status;
use crate::ctx::Ctx;
use crate::interrupt::LimitExceeded;

/// Fuel a nested allocator call may use on top of the current slice.
const NESTED_CALL_FUEL: u64 = 200_000_000;

/// How deep host calls may nest through the allocator (a host call runs the allocator, which
/// makes a host call that allocates, ...). Each level is a native call into the interpreter,
/// so without a bound a plugin overflows the host's own stack and takes the process (or the
/// page) down. Envoy allows no allocating host call inside the allocator at all.
const MAX_ALLOCATOR_NESTING: u32 = 4;

/// How a host function ends early: with a return value, or with a trap.
#[derive(Debug)]
pub enum HostErr {
    /// Return this value (a status or an errno) to the guest.
    Ret(i32),
    /// Trap the guest.
    Trap(wasmi::Error),
}

impl From<Status> for HostErr {
    fn from(s: Status) -> Self {
        HostErr::Ret(s as i32)
    }
}

impl From<wasmi::Error> for HostErr {
    fn from(e: wasmi::Error) -> Self {
        HostErr::Trap(e)
    }
}

/// Result of a host function body: its return value.
pub type HostResult = Result<i32, HostErr>;

/// A plugin instance as host functions see it: the host's [`Ctx`], the guest's linear memory
/// and its allocator. Each engine implements it once (wasmi's [`Caller`] below; the browser's
/// `WebAssembly` in the worker), and every host function body is written against it, so both
/// engines run the same bodies. The raw accessors take ranges this module has already checked.
pub trait Guest {
    /// The host's context.
    fn data(&self) -> &Ctx;
    /// The host's context, mutably.
    fn data_mut(&mut self) -> &mut Ctx;
    /// The size of the guest's memory in bytes; `None` when it exports none.
    fn memory_size(&self) -> Option<usize>;
    /// Copies guest bytes at `start` into `dst` (the range is in bounds).
    fn read_raw(&self, start: usize, dst: &mut [u8]);
    /// Copies `src` into guest memory at `start` (the range is in bounds).
    fn write_raw(&mut self, start: usize, src: &[u8]);
    /// Runs the guest's allocator for `size` bytes: `None` when the plugin exports none, else
    /// the pointer it returned or its trap.
    fn call_allocator(&mut self, size: u32) -> Option<Result<u32, wasmi::Error>>;
}

/// The range `ptr..ptr + len` if it lies inside the guest's memory.
fn range(g: &dyn Guest, ptr: u32, len: usize) -> Result<usize, HostErr> {
    let size = g
        .memory_size()
        .ok_or(HostErr::Ret(Status::InvalidMemoryAccess as i32))?;
    let end = (ptr as usize)
        .checked_add(len)
        .ok_or(Status::InvalidMemoryAccess)?;
    if end > size {
        return Err(Status::InvalidMemoryAccess.into());
    }
    Ok(ptr as usize)
}

/// Reads `len` bytes at `ptr`.
///
/// # Errors
///
/// `InvalidMemoryAccess` when the range is outside memory.
pub fn read(g: &dyn Guest, ptr: u32, len: u32) -> Result<Vec<u8>, HostErr> {
    let start = range(g, ptr, len as usize)?;
    let mut out = vec![0; len as usize];
    g.read_raw(start, &mut out);
    Ok(out)
}

/// Reads `len` bytes at `ptr` as (lossy) UTF-8.
///
/// # Errors
///
/// As [`read`].
pub fn read_string(g: &dyn Guest, ptr: u32, len: u32) -> Result<String, HostErr> {
    Ok(String::from_utf8_lossy(&read(g, ptr, len)?).into_owned())
}

/// Writes bytes at `ptr`.
///
/// # Errors
///
/// `InvalidMemoryAccess` when the range is outside memory.
pub fn write(g: &mut dyn Guest, ptr: u32, bytes: &[u8]) -> Result<(), HostErr> {
    let start = range(g, ptr, bytes.len())?;
    g.write_raw(start, bytes);
    Ok(())
}

/// Writes a little-endian u32.
///
/// # Errors
///
/// As [`write`].
pub fn write_u32(g: &mut dyn Guest, ptr: u32, v: u32) -> Result<(), HostErr> {
    write(g, ptr, &v.to_le_bytes())
}

/// Writes a little-endian u64.
///
/// # Errors
///
/// As [`write`].
pub fn write_u64(g: &mut dyn Guest, ptr: u32, v: u64) -> Result<(), HostErr> {
    write(g, ptr, &v.to_le_bytes())
}

/// Reads a little-endian u32.
///
/// # Errors
///
/// As [`read`].
pub fn read_u32(g: &dyn Guest, ptr: u32) -> Result<u32, HostErr> {
    let b = read(g, ptr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks that `len` bytes at `ptr` are inside memory, without copying.
///
/// # Errors
///
/// As [`read`].
pub fn check(g: &dyn Guest, ptr: u32, len: u32) -> Result<(), HostErr> {
    range(g, ptr, len as usize).map(|_| ())
}

/// Copies `bytes` into freshly allocated guest memory and writes its pointer and length to
/// `ret_ptr` and `ret_len`. Empty data writes 0/0 without allocating.
///
/// # Errors
///
/// `InvalidMemoryAccess` for bad return pointers or when the allocator returns 0; a trap
/// when the allocator itself traps.
pub fn return_bytes(
    g: &mut dyn Guest,
    bytes: &[u8],
    ret_ptr: u32,
    ret_len: u32,
) -> Result<(), HostErr> {
    // cpp-host validates the return pointers before doing anything else.
    check(g, ret_ptr, 4)?;
    check(g, ret_len, 4)?;
    if bytes.is_empty() {
        write_u32(g, ret_ptr, 0)?;
        write_u32(g, ret_len, 0)?;
        return Ok(());
    }
    let ptr = allocate(g, bytes.len() as u32)?;
    write(g, ptr, bytes)?;
    write_u32(g, ret_ptr, ptr)?;
    write_u32(g, ret_len, bytes.len() as u32)?;
    Ok(())
}

/// Calls the plugin's allocator (`malloc`, else `proxy_on_memory_allocate`) for `size > 0`.
///
/// # Errors
///
/// `InvalidMemoryAccess` when there is no allocator or it returns 0; a trap if it traps.
pub fn allocate(g: &mut dyn Guest, size: u32) -> Result<u32, HostErr> {
    debug_assert!(size > 0, "the host never asks for 0 bytes");
    if g.data().nested_depth >= MAX_ALLOCATOR_NESTING {
        return Err(HostErr::Trap(wasmi::Error::host(LimitExceeded {
            kind: crate::trace::FailureKind::RestrictedCallback,
            message: format!(
                "host calls nest through the allocator without end: the allocator made a host call that allocates again, {MAX_ALLOCATOR_NESTING} levels deep. Envoy allows only proxy_log, fd_write, clock_time_get and poll_oneoff inside the allocator and traps with \"restricted_callback\""
            ),
        })));
    }
    g.data_mut().nested_depth += 1;
    let result = g.call_allocator(size);
    g.data_mut().nested_depth -= 1;
    match result {
        None | Some(Ok(0)) => Err(Status::InvalidMemoryAccess.into()),
        Some(Ok(ptr)) => Ok(ptr),
        Some(Err(trap)) => Err(HostErr::Trap(trap)),
    }
}

impl Guest for Caller<'_, Ctx> {
    fn data(&self) -> &Ctx {
        Caller::data(self)
    }

    fn data_mut(&mut self) -> &mut Ctx {
        Caller::data_mut(self)
    }

    fn memory_size(&self) -> Option<usize> {
        let mem = Caller::data(self).memory?;
        Some(mem.data_size(self.as_context()))
    }

    fn read_raw(&self, start: usize, dst: &mut [u8]) {
        if let Some(mem) = Caller::data(self).memory {
            let data = mem.data(self.as_context());
            dst.copy_from_slice(&data[start..start + dst.len()]);
        }
    }

    fn write_raw(&mut self, start: usize, src: &[u8]) {
        if let Some(mem) = Caller::data(self).memory {
            let data = mem.data_mut(self.as_context_mut());
            data[start..start + src.len()].copy_from_slice(src);
        }
    }

    fn call_allocator(&mut self, size: u32) -> Option<Result<u32, wasmi::Error>> {
        let alloc = Caller::data(self).alloc?;
        // A nested call cannot be paused, so give it fuel of its own on top of the slice.
        let before = self.get_fuel().unwrap_or(0);
        let _ = self.set_fuel(before.saturating_add(NESTED_CALL_FUEL));
        let mut out = [Val::I32(0)];
        let result = alloc.call(&mut *self, &[Val::I32(size as i32)], &mut out);
        let after = self.get_fuel().unwrap_or(0);
        let used = before
            .saturating_add(NESTED_CALL_FUEL)
            .saturating_sub(after);
        Caller::data_mut(self).nested_fuel += used.saturating_sub(before.min(used));
        let _ = self.set_fuel(after.saturating_sub(NESTED_CALL_FUEL));
        Some(result.map(|()| match out[0] {
            Val::I32(p) => p as u32,
            _ => 0,
        }))
    }
}
