//! One call into the plugin (with pauses, fuel slices and failure reporting), and what
//! happens after each call: deferred actions and callout answers.

use wasmi::{Val, ValType};

use super::{CalloutAnswer, Driver, GrpcAnswer, Pause};
use crate::scenario::{Body, GrpcMock, HttpMock, LogLevel, MockResponse, RedisMock};
use crate::state::{Callout, CalloutStatus, Deferred, to_pairs};
use crate::trace::{CallbackRecord, CalloutKind, Failure, FailureKind, LogSource};
use crate::vm::{CallEnd, Export, Progress};

/// How a call ended.
pub(crate) enum CallOutcome {
    /// The export does not exist (Envoy skips missing callbacks).
    Missing,
    /// It returned (the first result, if any).
    Returned(Option<i64>),
    /// It failed; the VM is now failed.
    Failed(Failure),
}

/// A call whose callback is recorded, ready to run.
struct Begun {
    export: Export,
    args: Vec<Val>,
    /// How many results the export returns.
    n_out: usize,
    /// Its index in the trace.
    index: usize,
}

/// How the slices of a call ended, and what they cost.
struct Ran {
    end: CallEnd,
    /// Fuel, nested allocator calls included.
    fuel: u64,
    /// Wall time in the plugin, pauses left out.
    elapsed_us: f64,
}

impl Driver {
    /// Calls export `name` for `context` with `args`: records the callback, pauses before it,
    /// runs it slice by slice (pausing after host calls and between slices), then records how
    /// it ended.
    pub(crate) async fn call(&mut self, name: &str, args: &[i64], context: u32) -> CallOutcome {
        // Concurrent streams: before each callback, another request may run first.
        if self.lane.as_ref().is_some_and(|l| l.ran && !l.hold) {
            Box::pin(self.switch_point(None)).await;
        }
        // Events added while paused run first, while the plugin is not running.
        if !self.injecting && !self.control.injected.borrow().is_empty() {
            Box::pin(self.run_injected()).await;
        }
        let Some(begun) = self.begin(name, args, context) else {
            return CallOutcome::Missing;
        };
        let index = begun.index;
        self.y.pause(Pause::BeforeCallback { index }).await;
        let ran = self.run_slices(begun).await;
        let outcome = self.finish(name, index, ran);
        if let CallOutcome::Failed(_) = outcome {
            self.y.pause(Pause::Failed { callback: index }).await;
        }
        outcome
    }

    /// Looks the export up and records the callback in the trace (advancing the virtual clock
    /// by the scenario's callback time); `None` when the VM failed or the export is missing.
    fn begin(&mut self, name: &str, args: &[i64], context: u32) -> Option<Begun> {
        self.last_callback = None;
        if self.failed {
            return None;
        }
        let export = self.vm.export(name)?;
        let ty = export.ty();
        let vals: Vec<Val> = ty
            .params()
            .iter()
            .zip(args.iter().chain(std::iter::repeat(&0)))
            .map(|(t, a)| match t {
                ValType::I64 => Val::I64(*a),
                _ => Val::I32(*a as i32),
            })
            .collect();
        let n_out = ty.results().len();
        let index = {
            let mut w = self.world.borrow_mut();
            // Scenario numbers are untrusted (share links): saturate, never overflow.
            let callback_ns = self.scenario.clock.callback_us.saturating_mul(1000);
            w.now_ns = w.now_ns.saturating_add(callback_ns);
            w.mono_ns = w.mono_ns.saturating_add(callback_ns);
            let index = w.trace.callbacks.len();
            let request = w.request_of(context);
            let filter = w.chain.as_ref().map(|c| c.current as u32);
            let worker = w.worker();
            w.trace.callbacks.push(CallbackRecord {
                filter,
                worker,
                index,
                name: name.to_string(),
                context_id: context,
                args: args.to_vec(),
                request,
                ret: None,
                action: None,
                hostcalls: Vec::new(),
                changes: Vec::new(),
                duration_us: 0.0,
                fuel: 0,
                error: None,
            });
            w.current_callback = Some((name.to_string(), index));
            w.current_context = context;
            // The effective context is reset at the start of every host -> VM call.
            w.effective = None;
            index
        };
        self.last_callback = Some(index);
        self.lane_progress();
        for s in self.world.borrow_mut().streams.values_mut() {
            s.forget_changes();
        }
        if let Some(c) = self.world.borrow_mut().connection.as_mut() {
            c.forget_changes();
        }
        Some(Begun {
            export,
            args: vals,
            n_out,
            index,
        })
    }

    /// Runs a begun call to its end in slices of fuel, pausing after host calls (when stepping
    /// into them) and between slices; past `limits.fuel_per_callback` it fails as out of fuel.
    async fn run_slices(&mut self, begun: Begun) -> Ran {
        let Begun {
            export,
            args,
            n_out,
            index,
        } = begun;
        let limit = self.world.borrow().cfg().limits.fuel_per_callback;
        let slice = self.control.slice_fuel.get().min(limit).max(1);
        // Only wasmi can pause inside a callback.
        let steppable = self.vm.steppable();
        let control = self.control.clone();
        let step_into = move || steppable && control.step_into.get();
        let interleaving = self.interleaving();
        {
            let mut ctx = self.vm.ctx();
            ctx.hostcalls_in_callback = 0;
            ctx.nested_fuel = 0;
            ctx.limits.take_refused_growth();
            ctx.pause_on_hostcalls = step_into();
            ctx.pause_on_shared = interleaving;
        }
        let now = self.control.now_us.get();
        let mut elapsed = 0.0;
        let mut t0 = now();
        let mut used: u64 = 0;
        let mut given = slice;
        let mut progress = self.vm.start_call(&export, &args, slice);
        let end = loop {
            match progress {
                Progress::Done(end) => {
                    used += given.saturating_sub(self.vm.fuel_left(given));
                    break end;
                }
                Progress::HostCall(t, results) => {
                    let left = self.vm.fuel_left(given);
                    used += given.saturating_sub(left);
                    given = left;
                    elapsed += now() - t0;
                    let (hostcall, name) = {
                        let w = self.world.borrow();
                        let calls = &w.trace.callbacks[index].hostcalls;
                        let name = calls.last().map(|h| h.name.clone()).unwrap_or_default();
                        (calls.len().saturating_sub(1), name)
                    };
                    if self.vm.ctx().pause_on_hostcalls {
                        self.y
                            .pause(Pause::HostCall {
                                callback: index,
                                hostcall,
                            })
                            .await;
                    }
                    if interleaving && crate::hostcalls::is_shared(&name) {
                        // Another worker may run while this one is in the middle of a callback.
                        self.switch_point(Some(super::concurrent::After {
                            name,
                            callback: index,
                            hostcall,
                        }))
                        .await;
                    }
                    t0 = now();
                    self.vm.ctx().pause_on_hostcalls = step_into();
                    progress = self.vm.resume_host(t, &results, n_out);
                }
                Progress::OutOfFuel(t) => {
                    // Fuel left over is fuel not spent: the next instruction needs more.
                    let left = self.vm.fuel_left(given);
                    used +=
                        given.saturating_sub(left) + std::mem::take(&mut self.vm.ctx().nested_fuel);
                    let next = slice.max(t.required_fuel());
                    if used.saturating_add(next) > limit {
                        drop(t);
                        break CallEnd::Failed(crate::vm::failure_from_error(&wasmi::Error::from(
                            wasmi::TrapCode::OutOfFuel,
                        )));
                    }
                    elapsed += now() - t0;
                    self.y.pause(Pause::Slice).await;
                    t0 = now();
                    given = next;
                    self.vm.ctx().pause_on_hostcalls = step_into();
                    progress = self.vm.resume_fuel(t, given, n_out);
                }
            }
        };
        elapsed += now() - t0;
        used += std::mem::take(&mut self.vm.ctx().nested_fuel);
        Ran {
            end,
            fuel: used,
            elapsed_us: elapsed,
        }
    }

    /// Records how callback `index` ended: its return value, or its failure (named, with a
    /// backtrace and the plugin's panic text; the VM is failed from then on), and its changes,
    /// fuel and time.
    fn finish(&mut self, name: &str, index: usize, ran: Ran) -> CallOutcome {
        let changes: Vec<_> = {
            let mut w = self.world.borrow_mut();
            let mut changes: Vec<_> = w
                .streams
                .values_mut()
                .flat_map(|s| s.take_changes())
                .collect();
            if let Some(c) = w.connection.as_mut() {
                changes.extend(c.take_changes());
            }
            changes
        };
        let pages = self.vm.memory_pages();
        let refused_growth = self.vm.ctx().limits.take_refused_growth();
        let mut w = self.world.borrow_mut();
        w.flush_stdio();
        w.current_callback = None;
        w.memory_bytes = u64::from(pages) * 65536;
        let outcome = match ran.end {
            CallEnd::Returned(vals) => {
                let ret = vals.first().map(|v| match v {
                    Val::I32(x) => i64::from(*x),
                    Val::I64(x) => *x,
                    _ => 0,
                });
                w.trace.callbacks[index].ret = ret;
                CallOutcome::Returned(ret)
            }
            CallEnd::Failed(mut f) => {
                f.callback = Some(name.to_string());
                let limit_pages = w.cfg().limits.memory_pages;
                let limit_mib = u64::from(limit_pages) * 64 / 1024;
                if f.kind == FailureKind::Trap {
                    // A refused `memory.grow` answers -1 and the plugin's allocator then
                    // aborts: the trap is a symptom, the memory limit the cause.
                    if let Some((current, desired)) = refused_growth {
                        f.kind = FailureKind::MemoryLimit;
                        f.message = format!(
                            "memory limit reached in {name}: the plugin asked to grow its memory from {} to {} MiB, past the limit of {limit_pages} pages = {limit_mib} MiB (settings.limits.memory_pages), was refused, and then trapped: {}",
                            mib(current),
                            mib(desired),
                            f.message,
                        );
                    } else if pages + 1 >= limit_pages {
                        f.kind = FailureKind::MemoryLimit;
                        f.message = format!(
                            "memory limit reached in {name}: memory is at the limit of {limit_pages} pages = {limit_mib} MiB (settings.limits.memory_pages) and the plugin trapped, probably out of memory: {}",
                            f.message,
                        );
                    }
                }
                let cb = &w.trace.callbacks[index];
                f.backtrace.push(format!("in {name}({})", join(&cb.args)));
                for h in cb.hostcalls.iter().rev().take(3) {
                    f.backtrace
                        .push(format!("after host call {} {}", h.name, h.detail));
                }
                f.panic = panic_text(&w.trace.logs, index);
                w.trace.callbacks[index].error = Some(f.clone());
                if w.failure.is_none() {
                    w.failure = Some(f.clone());
                }
                self.failed = true;
                CallOutcome::Failed(f)
            }
        };
        let cb = &mut w.trace.callbacks[index];
        cb.fuel = ran.fuel;
        cb.duration_us = super::round_us(ran.elapsed_us);
        cb.changes = changes;
        outcome
    }

    /// Applies what the plugin asked for during the last call, and delivers the callout
    /// answers due now (a mock with `delay_ms` is answered later, on the virtual clock), until
    /// nothing is left. Stream actions (continue, close) are collected in `World::applied`
    /// for the streams they name.
    pub(crate) async fn settle(&mut self) {
        for _ in 0..10_000 {
            if self.failed {
                return;
            }
            let deferred: Vec<Deferred> = std::mem::take(&mut self.world.borrow_mut().deferred);
            let mut did = false;
            for d in deferred {
                did = true;
                match d {
                    Deferred::QueueReady {
                        filter,
                        root,
                        token,
                    } => {
                        // The queue's root may be another filter's, in another VM.
                        let back = self.world.borrow().filter();
                        self.activate(filter);
                        let _ = self
                            .call(
                                "proxy_on_queue_ready",
                                &[i64::from(root), i64::from(token)],
                                root,
                            )
                            .await;
                        if filter != back {
                            // What it asked for (its callouts, what it did to a chain's
                            // waiting streams, whose keys are its context ids) is applied
                            // while that filter runs.
                            Box::pin(self.settle()).await;
                            Box::pin(self.wake_parked()).await;
                        }
                        self.activate(back);
                    }
                    other => self.world.borrow_mut().applied.push(other),
                }
            }
            self.schedule_delayed();
            let pending = {
                let w = self.world.borrow();
                let now = w.mono_ns;
                // A chain's filters sharing a VM share its callouts: each answer goes to the
                // filter that made the call, when that filter runs.
                let filter = w.filter();
                (w.pending_callouts > 0)
                    .then(|| {
                        w.callouts
                            .iter()
                            .find(|c| {
                                c.pending && c.due_ns.is_none_or(|d| d <= now) && c.filter == filter
                            })
                            .cloned()
                    })
                    .flatten()
            };
            if let Some(c) = pending {
                self.answer(c).await;
                did = true;
            }
            if !did {
                return;
            }
        }
    }

    /// Gives each new callout whose mock has `delay_ms` the virtual time its answer arrives:
    /// the call's time plus the delay, or plus its timeout when that is shorter (it then
    /// times out).
    fn schedule_delayed(&mut self) {
        let mocks = self.control.mocks.borrow();
        let mocks = mocks.as_ref().unwrap_or(&self.scenario.mocks);
        let mut w = self.world.borrow_mut();
        if w.pending_callouts == 0 {
            return;
        }
        for c in w
            .callouts
            .iter_mut()
            .filter(|c| c.pending && c.due_ns.is_none())
        {
            let delay = mock_delay_ms(mocks, c);
            if delay == 0 {
                continue;
            }
            let timeout = u64::from(c.timeout_ms);
            c.timed_out = timeout > 0 && delay > timeout;
            let after = if c.timed_out { timeout } else { delay };
            c.due_ns = Some(c.issued_ns.saturating_add(after.saturating_mul(1_000_000)));
        }
    }

    /// Finds the answer to a callout (mock, user or default) and delivers it.
    async fn answer(&mut self, c: Callout) {
        let delayed = c.due_ns.is_some();
        let answer = if c.timed_out {
            timeout_answer(c.kind)
        } else if let Some(a) = self.mock_answer(&c) {
            a
        } else {
            loop {
                if let Some(a) = self.control.answers.borrow_mut().remove(&c.token) {
                    break a;
                }
                if !self.control.interactive_callouts.get() {
                    self.world.borrow_mut().note(format!(
                        "no mock answers the {:?} callout to cluster {:?} ({}); it was answered as a connection reset. Add a mock to the scenario to answer it.",
                        c.kind,
                        c.cluster,
                        c.path()
                    ));
                    break CalloutAnswer::Reset;
                }
                self.y.pause(Pause::Callout { token: c.token }).await;
            }
        };
        {
            let mut w = self.world.borrow_mut();
            if let Some(call) = w.callout_mut(c.token)
                && call.pending
            {
                call.pending = false;
                call.answer = describe(&answer);
                w.pending_callouts = w.pending_callouts.saturating_sub(1);
            }
        }
        if !delayed {
            self.deliver(&c, answer).await;
            return;
        }
        // A delayed answer arrives on its own: it belongs to the request that made the call.
        let after_ms = c.due_ns.unwrap_or(c.issued_ns).saturating_sub(c.issued_ns) / 1_000_000;
        self.mark(crate::trace::TimelineEvent::Answer {
            token: c.token,
            after_ms,
            timed_out: c.timed_out,
        });
        let before = std::mem::replace(&mut self.world.borrow_mut().request_index, c.request);
        self.deliver(&c, answer).await;
        self.world.borrow_mut().request_index = before;
    }

    fn mock_answer(&self, c: &Callout) -> Option<CalloutAnswer> {
        // Mocks edited while the run is paused (the app) replace the scenario's.
        if let Some(m) = self.control.mocks.borrow().as_ref() {
            return mock_answer(m, c);
        }
        mock_answer(&self.scenario.mocks, c)
    }

    /// Delivers a callout's answer. With concurrent streams, other requests may run before
    /// the answer is staged for the plugin to read, never while it is.
    async fn deliver(&mut self, c: &Callout, answer: CalloutAnswer) {
        if self.lane.as_ref().is_some_and(|l| l.ran) {
            Box::pin(self.switch_point(None)).await;
        }
        if let Some(l) = self.lane.as_mut() {
            l.hold = true;
        }
        self.deliver_now(c, answer).await;
        if let Some(l) = self.lane.as_mut() {
            l.hold = false;
        }
    }

    async fn deliver_now(&mut self, c: &Callout, answer: CalloutAnswer) {
        let root = i64::from(c.root);
        let token = i64::from(c.token);
        match (c.kind, answer) {
            (CalloutKind::Http, CalloutAnswer::Http(r)) => {
                let mut headers = vec![(b":status".to_vec(), r.status.to_string().into_bytes())];
                headers.extend(to_pairs(&r.headers.0));
                let body = r
                    .body
                    .as_ref()
                    .and_then(|b| b.bytes().ok())
                    .unwrap_or_default();
                let trailers = to_pairs(&r.trailers.0);
                let args = [
                    root,
                    token,
                    headers.len() as i64,
                    body.len() as i64,
                    trailers.len() as i64,
                ];
                self.world.borrow_mut().http_call_response = Some((headers, body, trailers));
                let _ = self
                    .call("proxy_on_http_call_response", &args, c.root)
                    .await;
                self.world.borrow_mut().http_call_response = None;
            }
            (CalloutKind::Http, _) => {
                self.world.borrow_mut().call_status = CalloutStatus::Reset;
                let _ = self
                    .call(
                        "proxy_on_http_call_response",
                        &[root, token, 0, 0, 0],
                        c.root,
                    )
                    .await;
                self.world.borrow_mut().call_status = CalloutStatus::Ok;
            }
            (CalloutKind::Redis, CalloutAnswer::Redis(reply)) => {
                let bytes = reply.into_bytes();
                let len = bytes.len() as i64;
                self.world.borrow_mut().redis_response = Some(bytes);
                let _ = self
                    .call(
                        "proxy_on_redis_call_response",
                        &[root, token, 0, len],
                        c.root,
                    )
                    .await;
                self.world.borrow_mut().redis_response = None;
            }
            (CalloutKind::Redis, _) => {
                self.world.borrow_mut().call_status = CalloutStatus::Reset;
                let _ = self
                    .call("proxy_on_redis_call_response", &[root, token, 1, 0], c.root)
                    .await;
                self.world.borrow_mut().call_status = CalloutStatus::Ok;
            }
            (kind, answer) => {
                let a = match answer {
                    CalloutAnswer::Grpc(a) => a,
                    _ => GrpcAnswer {
                        status: 14,
                        ..GrpcAnswer::default()
                    },
                };
                self.deliver_grpc(kind == CalloutKind::GrpcStream, root, token, c.root, a)
                    .await;
            }
        }
    }

    /// Envoy's order: a unary call that succeeds gets only `proxy_on_grpc_receive` (no
    /// metadata callbacks, no close); one that fails gets only `proxy_on_grpc_close`. A stream
    /// gets initial metadata, the message and trailing metadata when the status is OK, and
    /// then `proxy_on_grpc_close`. In `proxy_on_grpc_close`, `proxy_get_status` reads the
    /// status and its message; the message is cleared afterwards, the code stays.
    async fn deliver_grpc(&mut self, stream: bool, root: i64, token: i64, ctx: u32, a: GrpcAnswer) {
        if a.status == 0 {
            if stream {
                self.world.borrow_mut().grpc_metadata = Some(to_pairs(&a.initial_metadata));
                let n = a.initial_metadata.len() as i64;
                let _ = self
                    .call(
                        "proxy_on_grpc_receive_initial_metadata",
                        &[root, token, n],
                        ctx,
                    )
                    .await;
                self.world.borrow_mut().grpc_metadata = None;
            }
            let len = a.message.len() as i64;
            self.world.borrow_mut().grpc_message = Some(a.message);
            let _ = self
                .call("proxy_on_grpc_receive", &[root, token, len], ctx)
                .await;
            self.world.borrow_mut().grpc_message = None;
            if !stream {
                return;
            }
            self.world.borrow_mut().grpc_metadata = Some(to_pairs(&a.trailing_metadata));
            let n = a.trailing_metadata.len() as i64;
            let _ = self
                .call(
                    "proxy_on_grpc_receive_trailing_metadata",
                    &[root, token, n],
                    ctx,
                )
                .await;
            self.world.borrow_mut().grpc_metadata = None;
        }
        self.world.borrow_mut().call_status = CalloutStatus::Grpc(a.status, a.status_message);
        let _ = self
            .call(
                "proxy_on_grpc_close",
                &[root, token, i64::from(a.status)],
                ctx,
            )
            .await;
        self.world.borrow_mut().call_status = CalloutStatus::Grpc(a.status, String::new());
    }
}

/// How Envoy answers a callout whose timeout elapsed: its async client's router answers 504
/// `upstream request timeout`; a gRPC call sees that local reply as trailers-only, status 14
/// (`UNAVAILABLE`, Envoy's mapping of 504) with that message. A Redis command past the
/// timeout given to `proxy_redis_init` fails as Higress's client fails it: a non-zero status
/// and no reply, the same callback as a lost connection.
fn timeout_answer(kind: CalloutKind) -> CalloutAnswer {
    match kind {
        CalloutKind::Http => CalloutAnswer::Http(upstream_timeout()),
        CalloutKind::Grpc | CalloutKind::GrpcStream => CalloutAnswer::Grpc(GrpcAnswer {
            status: 14,
            status_message: "upstream request timeout".into(),
            ..GrpcAnswer::default()
        }),
        CalloutKind::Redis => CalloutAnswer::Reset,
    }
}

/// Envoy's own answer to an HTTP callout that timed out.
fn upstream_timeout() -> MockResponse {
    MockResponse {
        status: 504,
        headers: crate::scenario::Headers(vec![("content-type".into(), "text/plain".into())]),
        body: Some(Body::Text("upstream request timeout".into())),
        trailers: Default::default(),
    }
}

fn describe(a: &CalloutAnswer) -> String {
    match a {
        CalloutAnswer::Http(r) => format!("HTTP {}", r.status),
        CalloutAnswer::Reset => "reset".into(),
        CalloutAnswer::Redis(r) => format!("redis {}", r.trim_end()),
        CalloutAnswer::Grpc(a) => format!("gRPC status {}", a.status),
    }
}

fn join(args: &[i64]) -> String {
    args.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plugin's own account of a crash: stderr/stdout lines (Go, TinyGo) or a critical
/// `proxy_log` (Rust's panic hook) written during the failing callback.
fn panic_text(logs: &[crate::trace::LogLine], index: usize) -> Option<String> {
    let lines: Vec<&str> = logs
        .iter()
        .filter(|l| l.callback_index == Some(index))
        .filter(|l| {
            matches!(l.source, LogSource::Stderr)
                || l.level == LogLevel::Critical
                || l.message.starts_with("panic")
                || l.message.contains("panicked at")
        })
        .map(|l| l.message.as_str())
        .collect();
    if lines.is_empty() {
        None
    } else {
        Some(lines.join("\n"))
    }
}

/// Bytes as MiB, rounded up (for memory-limit messages).
fn mib(bytes: usize) -> usize {
    bytes.div_ceil(1 << 20)
}

fn http_mock<'m>(m: &'m crate::scenario::Mocks, c: &Callout) -> Option<&'m HttpMock> {
    let path = c.path();
    let method = crate::state::header(&c.headers, ":method").unwrap_or_default();
    m.http.iter().find(|h| {
        h.cluster == c.cluster
            && h.path.as_ref().is_none_or(|p| path.starts_with(p.as_str()))
            && h.method
                .as_ref()
                .is_none_or(|x| x.eq_ignore_ascii_case(&method))
    })
}

fn grpc_mock<'m>(m: &'m crate::scenario::Mocks, c: &Callout) -> Option<&'m GrpcMock> {
    m.grpc.iter().find(|g| {
        g.cluster == c.cluster
            && g.service
                .as_ref()
                .is_none_or(|s| c.method.starts_with(s.as_str()))
            && g.method
                .as_ref()
                .is_none_or(|x| c.method.ends_with(x.as_str()))
    })
}

fn redis_mock<'m>(m: &'m crate::scenario::Mocks, c: &Callout) -> Option<&'m RedisMock> {
    let command = c.method.split_whitespace().next().unwrap_or("").to_string();
    m.redis.iter().find(|r| {
        r.cluster.as_ref().is_none_or(|x| *x == c.cluster)
            && r.command
                .as_ref()
                .is_none_or(|x| x.eq_ignore_ascii_case(&command))
    })
}

/// How long after the call the mock matching callout `c` answers it (0: at once, or no mock).
fn mock_delay_ms(m: &crate::scenario::Mocks, c: &Callout) -> u64 {
    match c.kind {
        CalloutKind::Http => http_mock(m, c).map_or(0, |x| x.delay_ms),
        CalloutKind::Grpc | CalloutKind::GrpcStream => grpc_mock(m, c).map_or(0, |x| x.delay_ms),
        CalloutKind::Redis => redis_mock(m, c).map_or(0, |x| x.delay_ms),
    }
}

/// The answer `mocks` give to callout `c`, if one matches.
pub(crate) fn mock_answer(m: &crate::scenario::Mocks, c: &Callout) -> Option<CalloutAnswer> {
    match c.kind {
        CalloutKind::Http => {
            let mock = http_mock(m, c)?;
            Some(if mock.reset {
                CalloutAnswer::Reset
            } else if mock.timeout {
                CalloutAnswer::Http(upstream_timeout())
            } else {
                CalloutAnswer::Http(mock.response.clone())
            })
        }
        CalloutKind::Grpc | CalloutKind::GrpcStream => {
            let mock = grpc_mock(m, c)?;
            let message = mock
                .message
                .as_ref()
                .and_then(|b| b.bytes().ok())
                .unwrap_or_default();
            Some(CalloutAnswer::Grpc(GrpcAnswer {
                status: mock.status,
                status_message: mock.status_message.clone(),
                message,
                initial_metadata: mock.initial_metadata.0.clone(),
                trailing_metadata: mock.trailing_metadata.0.clone(),
            }))
        }
        CalloutKind::Redis => {
            let mock = redis_mock(m, c)?;
            Some(if mock.network_error {
                CalloutAnswer::Reset
            } else {
                CalloutAnswer::Redis(mock.reply.clone())
            })
        }
    }
}
