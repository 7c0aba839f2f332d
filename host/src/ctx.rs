//! What wasmi keeps in the store beside the guest: the host's [`Ctx`], which every host
//! function sees.

use std::cell::RefCell;
use std::rc::Rc;

use wasmi::{Func, Memory, StoreLimits};

use crate::state::World;

/// Data wasmi keeps in the store, visible to every host function.
pub struct Ctx {
    /// All observable state (shared with the session, which reads it between steps).
    pub world: Rc<RefCell<World>>,
    /// The plugin's exported memory.
    pub memory: Option<Memory>,
    /// The allocator of record (`malloc`, else `proxy_on_memory_allocate`).
    pub alloc: Option<Func>,
    /// Depth of nested calls into the guest made by host functions (allocator calls).
    pub nested_depth: u32,
    /// Fuel used by nested calls beyond the current slice.
    pub nested_fuel: u64,
    /// Pause after each host call (step into).
    pub pause_on_hostcalls: bool,
    /// Pause after each shared-data and shared-queue host call (a switch point between
    /// workers, with concurrent streams).
    pub pause_on_shared: bool,
    /// Decoded arguments and results of the current host call, for the trace.
    pub detail: String,
    /// Host calls made in the current callback.
    pub hostcalls_in_callback: u32,
    /// How far the guest's memory may grow.
    pub(crate) limits: Limiter,
}

impl Ctx {
    /// The store data for a new instance: nothing linked yet, no host call under way.
    pub(crate) fn new(world: Rc<RefCell<World>>, limits: StoreLimits) -> Ctx {
        let limits = Limiter {
            inner: limits,
            refused_growth: None,
        };
        Ctx {
            world,
            memory: None,
            alloc: None,
            nested_depth: 0,
            nested_fuel: 0,
            pause_on_hostcalls: false,
            pause_on_shared: false,
            detail: String::new(),
            hostcalls_in_callback: 0,
            limits,
        }
    }
}

/// The store's limits, remembering the last memory growth they refused: a plugin whose
/// `memory.grow` answers -1 usually aborts next, and the failure should name the cause.
#[derive(Debug)]
pub struct Limiter {
    inner: StoreLimits,
    refused_growth: Option<(usize, usize)>,
}

impl Limiter {
    /// The last refused growth as (current, desired) bytes, forgotten once taken.
    pub fn take_refused_growth(&mut self) -> Option<(usize, usize)> {
        self.refused_growth.take()
    }

    /// Records a growth another engine refused, as (current, desired) bytes.
    pub(crate) fn set_refused_growth(&mut self, current: usize, desired: usize) {
        self.refused_growth = Some((current, desired));
    }
}

impl wasmi::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if !allowed || maximum.is_some_and(|m| desired > m) {
            self.refused_growth = Some((current, desired));
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
