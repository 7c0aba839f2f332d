//! WASI preview 1 as Envoy provides it (cpp-host `exports.cc`): stdout and stderr become log
//! lines, the environment is the VM's, clocks are virtual, randomness is seeded, files and
//! sockets do not exist, and `poll_oneoff` succeeds with no events (Go's runtime needs that).

use wasmi::Caller;

use super::misc::world;
use super::note;
use crate::ctx::Ctx;
use crate::memory::{self, HostErr, HostResult};

const SUCCESS: i32 = 0;
const BADF: i32 = 8;
const NOTDIR: i32 = 20;
const FAULT: i32 = 21;
const INVAL: i32 = 28;
const NOENT: i32 = 44;
const NOSYS: i32 = 52;
const NOTSUP: i32 = 58;

/// Memory errors are `FAULT` in WASI.
fn fault(e: HostErr) -> HostErr {
    match e {
        HostErr::Ret(_) => HostErr::Ret(FAULT),
        trap => trap,
    }
}

pub(super) fn success(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    Ok(SUCCESS)
}

pub(super) fn nosys(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    Ok(NOSYS)
}

pub(super) fn notsup(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    Ok(NOTSUP)
}

pub(super) fn noent(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    Ok(NOENT)
}

pub(super) fn badf(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    Ok(BADF)
}

pub(super) fn stdio_ok_else_badf(_c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    Ok(if matches!(a[0], 1 | 2) { SUCCESS } else { BADF })
}

pub(super) fn fd_close(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    world(c).borrow_mut().note(format!(
        "fd_close({}) is not supported; Envoy logs an error and returns success",
        a[0]
    ));
    Ok(SUCCESS)
}

pub(super) fn fd_seek(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    world(c).borrow_mut().note(format!(
        "fd_seek({}) is not supported; Envoy logs an error and returns success",
        a[0]
    ));
    Ok(SUCCESS)
}

pub(super) fn fd_tell(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    if !matches!(a[0], 1 | 2) {
        return Ok(BADF);
    }
    memory::write_u64(c, a[1] as u32, 0).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn fd_readdir(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    memory::write_u32(c, a[4] as u32, 0).map_err(fault)?;
    Ok(NOTDIR)
}

pub(super) fn path_readlink(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    memory::write_u32(c, a[5] as u32, 0).map_err(fault)?;
    Ok(NOTSUP)
}

pub(super) fn sock_notsup(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    // Output counters are zeroed before answering.
    let outs: &[usize] = if a.len() == 6 { &[4, 5] } else { &[4] };
    for i in outs {
        memory::write_u32(c, a[*i] as u32, 0).map_err(fault)?;
    }
    Ok(NOTSUP)
}

fn write_iovecs(c: &mut Caller<'_, Ctx>, fd: u32, iovs: u32, n: u32) -> Result<u32, HostErr> {
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

pub(super) fn fd_write(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let fd = a[0] as u32;
    if fd != 1 && fd != 2 {
        return Ok(BADF);
    }
    let n = write_iovecs(c, fd, a[1] as u32, a[2] as u32)?;
    memory::write_u32(c, a[3] as u32, n).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn fd_pwrite(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let fd = a[0] as u32;
    if fd != 1 && fd != 2 {
        return Ok(BADF);
    }
    let n = write_iovecs(c, fd, a[1] as u32, a[2] as u32)?;
    memory::write_u32(c, a[4] as u32, n).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn fd_fdstat_get(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    if !matches!(a[0], 1 | 2) {
        return Ok(BADF);
    }
    // filetype 0, flags 0, rights_base FD_WRITE (64), rights_inheriting 0.
    let mut stat = [0u8; 24];
    stat[8] = 64;
    memory::write(c, a[1] as u32, &stat).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn args_sizes_get(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    memory::write_u32(c, a[0] as u32, 0).map_err(fault)?;
    memory::write_u32(c, a[1] as u32, 0).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn args_get(_c: &mut Caller<'_, Ctx>, _a: &[i64]) -> HostResult {
    Ok(SUCCESS)
}

fn environ(c: &Caller<'_, Ctx>) -> Vec<Vec<u8>> {
    world(c)
        .borrow()
        .cfg()
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}\0").into_bytes())
        .collect()
}

pub(super) fn environ_sizes_get(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let env = environ(c);
    let size: usize = env.iter().map(Vec::len).sum();
    memory::write_u32(c, a[0] as u32, env.len() as u32).map_err(fault)?;
    memory::write_u32(c, a[1] as u32, size as u32).map_err(fault)?;
    note(c, format_args!("-> {} variables, {size} bytes", env.len()));
    Ok(SUCCESS)
}

pub(super) fn environ_get(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let (mut ptrs, mut buf) = (a[0] as u32, a[1] as u32);
    for entry in environ(c) {
        memory::write_u32(c, ptrs, buf).map_err(fault)?;
        memory::write(c, buf, &entry).map_err(fault)?;
        ptrs += 4;
        buf += entry.len() as u32;
    }
    Ok(SUCCESS)
}

pub(super) fn clock_res_get(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    if !matches!(a[0], 0 | 1) {
        return Ok(NOTSUP);
    }
    memory::write_u64(c, a[1] as u32, 1).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn clock_time_get(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let t = {
        let w = world(c);
        let w = w.borrow();
        match a[0] {
            0 => w.now_ns,
            1 => w.mono_ns,
            _ => return Ok(NOTSUP),
        }
    };
    memory::write_u64(c, a[2] as u32, t).map_err(fault)?;
    note(c, format_args!("clock {} -> {t}", a[0]));
    Ok(SUCCESS)
}

pub(super) fn random_get(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    let len = a[1] as u32;
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
    memory::write(c, a[0] as u32, &bytes).map_err(fault)?;
    note(c, format_args!("{len} bytes (seeded)"));
    Ok(SUCCESS)
}

pub(super) fn poll_oneoff(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    memory::write_u32(c, a[3] as u32, 0).map_err(fault)?;
    Ok(SUCCESS)
}

pub(super) fn proc_exit(c: &mut Caller<'_, Ctx>, a: &[i64]) -> HostResult {
    // Envoy logs and returns; the guest normally traps right after.
    world(c).borrow_mut().note(format!(
        "the plugin called proc_exit({}); Envoy logs it and returns",
        a[0] as i32
    ));
    Ok(0)
}
