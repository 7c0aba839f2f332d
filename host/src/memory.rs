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

fn memory(caller: &Caller<'_, Ctx>) -> Result<wasmi::Memory, HostErr> {
    caller
        .data()
        .memory
        .ok_or(HostErr::Ret(Status::InvalidMemoryAccess as i32))
}

/// Reads `len` bytes at `ptr`.
///
/// # Errors
///
/// `InvalidMemoryAccess` when the range is outside memory.
pub fn read(caller: &Caller<'_, Ctx>, ptr: u32, len: u32) -> Result<Vec<u8>, HostErr> {
    let mem = memory(caller)?;
    let data = mem.data(caller.as_context());
    let start = ptr as usize;
    let end = start
        .checked_add(len as usize)
        .ok_or(Status::InvalidMemoryAccess)?;
    data.get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or(Status::InvalidMemoryAccess.into())
}

/// Reads `len` bytes at `ptr` as (lossy) UTF-8.
///
/// # Errors
///
/// As [`read`].
pub fn read_string(caller: &Caller<'_, Ctx>, ptr: u32, len: u32) -> Result<String, HostErr> {
    Ok(String::from_utf8_lossy(&read(caller, ptr, len)?).into_owned())
}

/// Writes bytes at `ptr`.
///
/// # Errors
///
/// `InvalidMemoryAccess` when the range is outside memory.
pub fn write(caller: &mut Caller<'_, Ctx>, ptr: u32, bytes: &[u8]) -> Result<(), HostErr> {
    let mem = memory(caller)?;
    let data = mem.data_mut(caller.as_context_mut());
    let start = ptr as usize;
    let end = start
        .checked_add(bytes.len())
        .ok_or(Status::InvalidMemoryAccess)?;
    let dst = data
        .get_mut(start..end)
        .ok_or(Status::InvalidMemoryAccess)?;
    dst.copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian u32.
///
/// # Errors
///
/// As [`write`].
pub fn write_u32(caller: &mut Caller<'_, Ctx>, ptr: u32, v: u32) -> Result<(), HostErr> {
    write(caller, ptr, &v.to_le_bytes())
}

/// Writes a little-endian u64.
///
/// # Errors
///
/// As [`write`].
pub fn write_u64(caller: &mut Caller<'_, Ctx>, ptr: u32, v: u64) -> Result<(), HostErr> {
    write(caller, ptr, &v.to_le_bytes())
}

/// Reads a little-endian u32.
///
/// # Errors
///
/// As [`read`].
pub fn read_u32(caller: &Caller<'_, Ctx>, ptr: u32) -> Result<u32, HostErr> {
    let b = read(caller, ptr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks that `len` bytes at `ptr` are inside memory, without copying.
///
/// # Errors
///
/// As [`read`].
pub fn check(caller: &Caller<'_, Ctx>, ptr: u32, len: u32) -> Result<(), HostErr> {
    let mem = memory(caller)?;
    let size = mem.data(caller.as_context()).len();
    let end = (ptr as usize)
        .checked_add(len as usize)
        .ok_or(Status::InvalidMemoryAccess)?;
    if end > size {
        return Err(Status::InvalidMemoryAccess.into());
    }
    Ok(())
}

/// Copies `bytes` into freshly allocated guest memory and writes its pointer and length to
/// `ret_ptr` and `ret_len`. Empty data writes 0/0 without allocating.
///
/// # Errors
///
/// `InvalidMemoryAccess` for bad return pointers or when the allocator returns 0; a trap
/// when the allocator itself traps.
pub fn return_bytes(
    caller: &mut Caller<'_, Ctx>,
    bytes: &[u8],
    ret_ptr: u32,
    ret_len: u32,
) -> Result<(), HostErr> {
    // cpp-host validates the return pointers before doing anything else.
    check(caller, ret_ptr, 4)?;
    check(caller, ret_len, 4)?;
    if bytes.is_empty() {
        write_u32(caller, ret_ptr, 0)?;
        write_u32(caller, ret_len, 0)?;
        return Ok(());
    }
    let ptr = allocate(caller, bytes.len() as u32)?;
    write(caller, ptr, bytes)?;
    write_u32(caller, ret_ptr, ptr)?;
    write_u32(caller, ret_len, bytes.len() as u32)?;
    Ok(())
}

/// Calls the plugin's allocator (`malloc`, else `proxy_on_memory_allocate`) for `size > 0`.
///
/// # Errors
///
/// `InvalidMemoryAccess` when there is no allocator or it returns 0; a trap if it traps.
pub fn allocate(caller: &mut Caller<'_, Ctx>, size: u32) -> Result<u32, HostErr> {
    debug_assert!(size > 0, "the host never asks for 0 bytes");
    let Some(alloc) = caller.data().alloc else {
        return Err(Status::InvalidMemoryAccess.into());
    };
    if caller.data().nested_depth >= MAX_ALLOCATOR_NESTING {
        return Err(HostErr::Trap(wasmi::Error::host(LimitExceeded {
            kind: crate::trace::FailureKind::RestrictedCallback,
            message: format!(
                "host calls nest through the allocator without end: the allocator made a host call that allocates again, {MAX_ALLOCATOR_NESTING} levels deep. Envoy allows only proxy_log, fd_write, clock_time_get and poll_oneoff inside the allocator and traps with \"restricted_callback\""
            ),
        })));
    }
    // A nested call cannot be paused, so give it fuel of its own on top of the slice.
    let before = caller.get_fuel().unwrap_or(0);
    let _ = caller.set_fuel(before.saturating_add(NESTED_CALL_FUEL));
    caller.data_mut().nested_depth += 1;
    let mut out = [Val::I32(0)];
    let result = alloc.call(&mut *caller, &[Val::I32(size as i32)], &mut out);
    caller.data_mut().nested_depth -= 1;
    let after = caller.get_fuel().unwrap_or(0);
    let used = before
        .saturating_add(NESTED_CALL_FUEL)
        .saturating_sub(after);
    caller.data_mut().nested_fuel += used.saturating_sub(before.min(used));
    let _ = caller.set_fuel(after.saturating_sub(NESTED_CALL_FUEL));
    result.map_err(HostErr::Trap)?;
    let ptr = match out[0] {
        Val::I32(p) => p as u32,
        _ => 0,
    };
    if ptr == 0 {
        return Err(Status::InvalidMemoryAccess.into());
    }
    Ok(ptr)
}
