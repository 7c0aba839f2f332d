//! WASI preview 1 as Envoy provides it (cpp-host `exports.cc`): stdout and stderr become log
//! lines, the environment is the VM's, clocks are virtual, randomness is seeded, files and
//! sockets do not exist, and `poll_oneoff` succeeds with no events (Go's runtime needs that).

use crate::memory::Guest;

use super::misc::world;
use super::note;
use crate::abi::Errno;
use crate::memory::{self, HostErr, HostResult};

// The errno values come from the one table traces name them by.
const SUCCESS: i32 = Errno::Success as i32;
const BADF: i32 = Errno::Badf as i32;
const NOTDIR: i32 = Errno::Notdir as i32;
const FAULT: i32 = Errno::Fault as i32;
const INVAL: i32 = Errno::Inval as i32;
const NOENT: i32 = Errno::Noent as i32;
const NOSYS: i32 = Errno::Nosys as i32;
const NOTSUP: i32 = Errno::Notsup as i32;

/// Memory errors are `FAULT` in WASI.
fn fault(e: HostErr) -> HostErr {
    match e {
        HostErr::Ret(_) => HostErr::Ret(FAULT),
        trap => trap,
    }
}

// Answers that do not depend on anything.

fn stdio_ok_else_badf(fd: u32) -> HostResult {
    Ok(if matches!(fd, 1 | 2) { SUCCESS } else { BADF })
}

pub(super) fn args_get(_c: &mut dyn Guest, _argv: u32, _argv_buf: u32) -> HostResult {
    Ok(SUCCESS)
}

pub(super) fn fd_advise(
    _c: &mut dyn Guest,
    _fd: u32,
    _offset: u64,
    _len: u64,
    _advice: u32,
) -> HostResult {
    Ok(SUCCESS)
}

pub(super) fn sched_yield(_c: &mut dyn Guest) -> HostResult {
    Ok(SUCCESS)
}

pub(super) fn fd_allocate(_c: &mut dyn Guest, fd: u32, _offset: u64, _len: u64) -> HostResult {
    stdio_ok_else_badf(fd)
}

pub(super) fn fd_datasync(_c: &mut dyn Guest, fd: u32) -> HostResult {
    stdio_ok_else_badf(fd)
}

pub(super) fn fd_fdstat_set_rights(
    _c: &mut dyn Guest,
    fd: u32,
    _rights_base: u64,
    _rights_inheriting: u64,
) -> HostResult {
    stdio_ok_else_badf(fd)
}

pub(super) fn fd_filestat_set_size(_c: &mut dyn Guest, fd: u32, _size: u64) -> HostResult {
    stdio_ok_else_badf(fd)
}

pub(super) fn fd_filestat_set_times(
    _c: &mut dyn Guest,
    fd: u32,
    _atime: u64,
    _mtime: u64,
    _fst_flags: u32,
) -> HostResult {
    stdio_ok_else_badf(fd)
}

pub(super) fn fd_sync(_c: &mut dyn Guest, fd: u32) -> HostResult {
    stdio_ok_else_badf(fd)
}

pub(super) fn fd_filestat_get(_c: &mut dyn Guest, _fd: u32, _buf: u32) -> HostResult {
    Ok(BADF)
}

pub(super) fn fd_prestat_get(_c: &mut dyn Guest, _fd: u32, _buf: u32) -> HostResult {
    Ok(BADF)
}

pub(super) fn fd_renumber(_c: &mut dyn Guest, _fd: u32, _to: u32) -> HostResult {
    Ok(BADF)
}

pub(super) fn fd_fdstat_set_flags(_c: &mut dyn Guest, _fd: u32, _flags: u32) -> HostResult {
    Ok(NOSYS)
}

pub(super) fn fd_pread(
    _c: &mut dyn Guest,
    _fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _offset: u64,
    _nread_ptr: u32,
) -> HostResult {
    Ok(NOSYS)
}

pub(super) fn fd_prestat_dir_name(
    _c: &mut dyn Guest,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> HostResult {
    Ok(NOSYS)
}

pub(super) fn fd_read(
    _c: &mut dyn Guest,
    _fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _nread_ptr: u32,
) -> HostResult {
    Ok(NOSYS)
}

pub(super) fn proc_raise(_c: &mut dyn Guest, _signal: u32) -> HostResult {
    Ok(NOSYS)
}

pub(super) fn path_create_directory(
    _c: &mut dyn Guest,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn path_filestat_get(
    _c: &mut dyn Guest,
    _fd: u32,
    _flags: u32,
    _path: u32,
    _path_len: u32,
    _buf: u32,
) -> HostResult {
    Ok(NOTSUP)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn path_filestat_set_times(
    _c: &mut dyn Guest,
    _fd: u32,
    _flags: u32,
    _path: u32,
    _path_len: u32,
    _atime: u64,
    _mtime: u64,
    _fst_flags: u32,
) -> HostResult {
    Ok(NOTSUP)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn path_link(
    _c: &mut dyn Guest,
    _old_fd: u32,
    _old_flags: u32,
    _old_path: u32,
    _old_path_len: u32,
    _new_fd: u32,
    _new_path: u32,
    _new_path_len: u32,
) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn path_remove_directory(
    _c: &mut dyn Guest,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn path_rename(
    _c: &mut dyn Guest,
    _fd: u32,
    _old_path: u32,
    _old_path_len: u32,
    _new_fd: u32,
    _new_path: u32,
    _new_path_len: u32,
) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn path_symlink(
    _c: &mut dyn Guest,
    _old_path: u32,
    _old_path_len: u32,
    _fd: u32,
    _new_path: u32,
    _new_path_len: u32,
) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn path_unlink_file(
    _c: &mut dyn Guest,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn sock_accept(_c: &mut dyn Guest, _fd: u32, _flags: u32, _fd_ptr: u32) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn sock_shutdown(_c: &mut dyn Guest, _fd: u32, _how: u32) -> HostResult {
    Ok(NOTSUP)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn path_open(
    _c: &mut dyn Guest,
    _fd: u32,
    _dirflags: u32,
    _path: u32,
    _path_len: u32,
    _oflags: u32,
    _rights_base: u64,
    _rights_inheriting: u64,
    _fdflags: u32,
    _fd_ptr: u32,
) -> HostResult {
    Ok(NOENT)
}

// Answers that write something first.

pub(super) fn fd_close(c: &mut dyn Guest, fd: u32) -> HostResult {
    world(c).borrow_mut().note(format!(
        "fd_close({fd}) is not supported; Envoy logs an error and returns success"
    ));
    Ok(SUCCESS)
}

pub(super) fn fd_seek(
    c: &mut dyn Guest,
    fd: u32,
    _offset: i64,
    _whence: u32,
    _new_offset_ptr: u32,
) -> HostResult {
    world(c).borrow_mut().note(format!(
        "fd_seek({fd}) is not supported; Envoy logs an error and returns success"
    ));
    Ok(SUCCESS)
}

pub(super) fn fd_tell(c: &mut dyn Guest, fd: u32, offset_ptr: u32) -> HostResult {
    if !matches!(fd, 1 | 2) {
        return Ok(BADF);
    }
    memory::write_u64(c, offset_ptr, 0).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn fd_readdir(
    c: &mut dyn Guest,
    _fd: u32,
    _buf: u32,
    _buf_len: u32,
    _cookie: u64,
    buf_used_ptr: u32,
) -> HostResult {
    memory::write_u32(c, buf_used_ptr, 0).map_err(fault)?;
    Ok(NOTDIR)
}

pub(super) fn path_readlink(
    c: &mut dyn Guest,
    _fd: u32,
    _path: u32,
    _path_len: u32,
    _buf: u32,
    _buf_len: u32,
    buf_used_ptr: u32,
) -> HostResult {
    memory::write_u32(c, buf_used_ptr, 0).map_err(fault)?;
    Ok(NOTSUP)
}

/// Sockets do not exist; output counters are zeroed before answering.
pub(super) fn sock_recv(
    c: &mut dyn Guest,
    _fd: u32,
    _ri_data: u32,
    _ri_data_len: u32,
    _ri_flags: u32,
    ro_data_len_ptr: u32,
    ro_flags_ptr: u32,
) -> HostResult {
    memory::write_u32(c, ro_data_len_ptr, 0).map_err(fault)?;
    memory::write_u32(c, ro_flags_ptr, 0).map_err(fault)?;
    Ok(NOTSUP)
}

/// As [`sock_recv`].
pub(super) fn sock_send(
    c: &mut dyn Guest,
    _fd: u32,
    _si_data: u32,
    _si_data_len: u32,
    _si_flags: u32,
    so_data_len_ptr: u32,
) -> HostResult {
    memory::write_u32(c, so_data_len_ptr, 0).map_err(fault)?;
    Ok(NOTSUP)
}

fn write_iovecs(c: &mut dyn Guest, fd: u32, iovs: u32, n: u32) -> Result<u32, HostErr> {
    let mut parts = Vec::new();
    let mut total = 0u64;
    for i in 0..n {
        let at = iovs
            .checked_add(i.checked_mul(8).ok_or(HostErr::Ret(FAULT))?)
            .ok_or(HostErr::Ret(FAULT))?;
        let ptr = memory::read_u32(c, at).map_err(fault)?;
        let len = memory::read_u32(c, at + 4).map_err(fault)?;
        memory::check(c, ptr, len).map_err(fault)?;
        total += u64::from(len);
        parts.push((ptr, len));
    }
    // Overlapping iovecs can ask for far more than memory holds: account before gathering.
    world(c)
        .borrow_mut()
        .retain(total)
        .map_err(wasmi::Error::host)?;
    let mut data = Vec::with_capacity(total as usize);
    for (ptr, len) in parts {
        data.extend(memory::read(c, ptr, len).map_err(fault)?);
    }
    note(c, format_args!("fd {fd} {}", super::show(&data)));
    if !data.is_empty() {
        world(c).borrow_mut().stdio(fd, &data);
    }
    Ok(data.len() as u32)
}

pub(super) fn fd_write(
    c: &mut dyn Guest,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten_ptr: u32,
) -> HostResult {
    if fd != 1 && fd != 2 {
        return Ok(BADF);
    }
    let n = write_iovecs(c, fd, iovs, iovs_len)?;
    memory::write_u32(c, nwritten_ptr, n).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn fd_pwrite(
    c: &mut dyn Guest,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    _offset: u64,
    nwritten_ptr: u32,
) -> HostResult {
    if fd != 1 && fd != 2 {
        return Ok(BADF);
    }
    let n = write_iovecs(c, fd, iovs, iovs_len)?;
    memory::write_u32(c, nwritten_ptr, n).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn fd_fdstat_get(c: &mut dyn Guest, fd: u32, stat_ptr: u32) -> HostResult {
    if !matches!(fd, 1 | 2) {
        return Ok(BADF);
    }
    // filetype 0, flags 0, rights_base FD_WRITE (64), rights_inheriting 0.
    let mut stat = [0u8; 24];
    stat[8] = 64;
    memory::write(c, stat_ptr, &stat).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn args_sizes_get(c: &mut dyn Guest, count_ptr: u32, size_ptr: u32) -> HostResult {
    memory::write_u32(c, count_ptr, 0).map_err(fault)?;
    memory::write_u32(c, size_ptr, 0).map_err(fault)?;
    Ok(SUCCESS)
}

fn environ(c: &dyn Guest) -> Vec<Vec<u8>> {
    world(c)
        .borrow()
        .cfg()
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}\0").into_bytes())
        .collect()
}

pub(super) fn environ_sizes_get(c: &mut dyn Guest, count_ptr: u32, size_ptr: u32) -> HostResult {
    let env = environ(c);
    let size: usize = env.iter().map(Vec::len).sum();
    memory::write_u32(c, count_ptr, env.len() as u32).map_err(fault)?;
    memory::write_u32(c, size_ptr, size as u32).map_err(fault)?;
    note(c, format_args!("-> {} variables, {size} bytes", env.len()));
    Ok(SUCCESS)
}

pub(super) fn environ_get(c: &mut dyn Guest, environ_ptr: u32, buf_ptr: u32) -> HostResult {
    let (mut ptrs, mut buf) = (environ_ptr, buf_ptr);
    for entry in environ(c) {
        memory::write_u32(c, ptrs, buf).map_err(fault)?;
        memory::write(c, buf, &entry).map_err(fault)?;
        ptrs += 4;
        buf += entry.len() as u32;
    }
    Ok(SUCCESS)
}

pub(super) fn clock_res_get(c: &mut dyn Guest, clock: u32, resolution_ptr: u32) -> HostResult {
    if !matches!(clock, 0 | 1) {
        return Ok(NOTSUP);
    }
    memory::write_u64(c, resolution_ptr, 1).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn clock_time_get(
    c: &mut dyn Guest,
    clock: u32,
    _precision: u64,
    time_ptr: u32,
) -> HostResult {
    let t = {
        let w = world(c);
        let w = w.borrow();
        match clock {
            0 => w.now_ns,
            1 => w.mono_ns,
            _ => return Ok(NOTSUP),
        }
    };
    memory::write_u64(c, time_ptr, t).map_err(fault)?;
    note(c, format_args!("clock {clock} -> {t}"));
    Ok(SUCCESS)
}

pub(super) fn random_get(c: &mut dyn Guest, buf: u32, len: u32) -> HostResult {
    if len > 65536 {
        return Ok(INVAL);
    }
    let bytes: Vec<u8> = {
        let w = world(c);
        let mut w = w.borrow_mut();
        (0..len.div_ceil(8))
            .flat_map(|_| w.next_random().to_le_bytes())
            .take(len as usize)
            .collect()
    };
    memory::write(c, buf, &bytes).map_err(fault)?;
    note(c, format_args!("{len} bytes (seeded)"));
    Ok(SUCCESS)
}

pub(super) fn poll_oneoff(
    c: &mut dyn Guest,
    _subscriptions: u32,
    _events: u32,
    _nsubscriptions: u32,
    nevents_ptr: u32,
) -> HostResult {
    memory::write_u32(c, nevents_ptr, 0).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn proc_exit(c: &mut dyn Guest, code: i32) {
    // Envoy logs and returns; the guest normally traps right after.
    world(c).borrow_mut().note(format!(
        "the plugin called proc_exit({code}); Envoy logs it and returns"
    ));
}
