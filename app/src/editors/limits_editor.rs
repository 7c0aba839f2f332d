use leptos::prelude::*;
use pwp_model::scenario::{Clock, Concurrency, EngineSetting, Limits, MAX_WORKERS, Scenario};

use super::fields::{Check, NumberField};
use super::{edit, part};
use crate::state::use_state;

/// Failure policy, resource limits (defaults shown), replayed requests, the virtual clock and
/// the random seed.
#[component]
pub fn LimitsEditor() -> impl IntoView {
    let state = use_state();
    let d = Limits::default();
    let c = Clock::default();
    let limit = |f: fn(&Limits) -> u64| part(state, move |s| f(&s.settings.limits));
    let set_limit =
        move |f: fn(&mut Limits, u64), n: u64| edit(state, |s| f(&mut s.settings.limits, n));
    let u32_max = u64::from(u32::MAX);
    view! {
        <div class="ed-section" data-testid="limits-editor">
            <div class="ed-checks">
                <Check label="Fail open" testid="fail-open" value=part(state, |s| s.settings.fail_open)
                    hint="When the plugin traps, skip it instead of answering 503 (fail closed)"
                    on_change=move |b| edit(state, |s| s.settings.fail_open = b) />
                <Check label="Strict" testid="strict" value=part(state, |s| s.settings.strict)
                    hint="Host calls Envoy forbids at that moment (during VM start-up, inside the allocator) trap as in Envoy instead of a warning"
                    on_change=move |b| edit(state, |s| s.settings.strict = b) />
                <Check label="Lenient" testid="lenient" value=part(state, |s| s.settings.lenient)
                    hint="Run a plugin the emulated proxy would refuse to load (bad callback signature, missing import, foreign ABI)"
                    on_change=move |b| edit(state, |s| s.settings.lenient = b) />
                <Check label="Interpreter only" testid="interpreter-only" value=part(state, |s| !s.settings.engine.is_auto())
                    hint="Run everything on the interpreter (wasmi), which meters fuel; by default a plain Run uses the browser's own WebAssembly engine, with the same trace"
                    on_change=move |b| edit(state, |s| s.settings.engine = if b { EngineSetting::Interpreter } else { EngineSetting::Auto }) />
            </div>
            <h3 class="ed-sub">"Limits"</h3>
            <div class="ed-grid">
                <NumberField label="Fuel per callback" testid="limit-fuel" default=d.fuel_per_callback
                    value=limit(|l| l.fuel_per_callback) on_change=move |n| set_limit(|l, n| l.fuel_per_callback = n, n) />
                <NumberField label="Memory" unit="64 KiB pages" testid="limit-memory" default=u64::from(d.memory_pages) max=65536
                    value=limit(|l| u64::from(l.memory_pages))
                    on_change=move |n| set_limit(|l, n| l.memory_pages = u32::try_from(n).unwrap_or(u32::MAX), n) />
                <NumberField label="Max body" unit="bytes" testid="limit-body" default=d.max_body_bytes
                    value=limit(|l| l.max_body_bytes) on_change=move |n| set_limit(|l, n| l.max_body_bytes = n, n) />
                <NumberField label="Host calls per callback" testid="limit-hostcalls" default=u64::from(d.max_hostcalls_per_callback) max=u32_max
                    value=limit(|l| u64::from(l.max_hostcalls_per_callback))
                    on_change=move |n| set_limit(|l, n| l.max_hostcalls_per_callback = u32::try_from(n).unwrap_or(u32::MAX), n) />
                <NumberField label="Log lines kept" testid="limit-logs" default=u64::from(d.max_log_lines) max=u32_max
                    value=limit(|l| u64::from(l.max_log_lines))
                    on_change=move |n| set_limit(|l, n| l.max_log_lines = u32::try_from(n).unwrap_or(u32::MAX), n) />
                <NumberField label="Host memory the plugin may fill" unit="bytes" testid="limit-host-bytes" default=d.max_host_bytes
                    value=limit(|l| l.max_host_bytes) on_change=move |n| set_limit(|l, n| l.max_host_bytes = n, n) />
                <NumberField label="Callback deadline" unit="ms, browser engine" testid="limit-deadline" default=u64::from(d.callback_deadline_ms) min=1 max=u32_max
                    value=limit(|l| u64::from(l.callback_deadline_ms))
                    on_change=move |n| set_limit(|l, n| l.callback_deadline_ms = u32::try_from(n).unwrap_or(u32::MAX), n) />
            </div>
            <h3 class="ed-sub">"Replay and time"</h3>
            <div class="ed-grid">
                <NumberField label="Requests to replay" testid="requests" default=1 min=1 max=10_000
                    value=part(state, |s| u64::from(s.requests))
                    on_change=move |n| edit(state, |s| s.requests = u32::try_from(n).unwrap_or(1)) />
                <NumberField label="Concurrent workers" unit="0: one request after another" testid="workers" default=0 max=u64::from(MAX_WORKERS)
                    value=part(state, |s| s.concurrency.as_ref().map_or(0, |c| u64::from(c.workers)))
                    on_change=move |n| edit(state, |s| set_workers(s, n)) />
                <NumberField label="Interval between requests" unit="ms" testid="interval" default=c.interval_ms
                    value=part(state, |s| s.clock.interval_ms) on_change=move |n| edit(state, |s| s.clock.interval_ms = n) />
                <NumberField label="Time per callback" unit="µs" testid="callback-us" default=c.callback_us
                    value=part(state, |s| s.clock.callback_us) on_change=move |n| edit(state, |s| s.clock.callback_us = n) />
                <NumberField label="Clock start" unit="Unix ms" testid="clock-start" default=c.start_unix_ms
                    value=part(state, |s| s.clock.start_unix_ms) on_change=move |n| edit(state, |s| s.clock.start_unix_ms = n) />
                <NumberField label="Random seed" testid="seed" default=1
                    value=part(state, |s| s.settings.seed) on_change=move |n| edit(state, |s| s.settings.seed = n) />
            </div>
        </div>
    }
}

/// Concurrent streams on `n` workers (each its own VM; all requests in flight at once), or
/// none for 0.
fn set_workers(s: &mut Scenario, n: u64) {
    if n == 0 {
        s.concurrency = None;
        return;
    }
    let workers = u32::try_from(n).unwrap_or(MAX_WORKERS).min(MAX_WORKERS);
    s.concurrency
        .get_or_insert_with(Concurrency::default)
        .workers = workers;
}
