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
    /// Decoded arguments and results of the current host call, for the trace.
    pub detail: String,
    /// Host calls made in the current callback.
    pub hostcalls_in_callback: u32,
    /// How far the guest's memory may grow.
    pub(crate) limits: StoreLimits,
}

impl Ctx {
    /// The store data for a new instance: nothing linked yet, no host call under way.
    pub(crate) fn new(world: Rc<RefCell<World>>, limits: StoreLimits) -> Ctx {
        Ctx {
            world,
            memory: None,
            alloc: None,
            nested_depth: 0,
            nested_fuel: 0,
            pause_on_hostcalls: false,
            detail: String::new(),
            hostcalls_in_callback: 0,
            limits,
        }
    }
}
