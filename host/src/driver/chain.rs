//! Several filters on one stream, as Envoy's HTTP filter manager iterates them.
//!
//! The request walks the filters in chain order, the response in reverse order. Each event
//! (headers, one body chunk, trailers) goes through filter 1, and what filter 1 passes on goes
//! to filter 2 at once, so chunks interleave (`A.body(1)`, `B.body(1)`, `A.body(2)`, ...). A
//! filter that stops holds everything behind it until it resumes; what it then releases
//! flows on. Each filter keeps its own [`Flow`] (the single-plugin state machine of
//! `http.rs`, unchanged) and its own body buffer; the header maps are the stream's, shared.
//!
//! A local reply during the request ends the request path (later filters never see it); the
//! reply's response goes through the encoder callbacks of every filter whose context exists,
//! last first, as Envoy's `sendLocalReplyViaFilterChain` runs all encoder filters and a Wasm
//! filter whose context was never created lets it pass without calling the VM.
//!
//! A request that a filter holds when its events have all arrived waits as data
//! ([`ChainParked`]: each filter's flow state and buffer, in the direction it is in) while the
//! scenario's later events run, several at once. The callback that resumes it (run in the
//! filter that holds it: a late callout answer goes to the filter that made the call, a tick
//! to the filter whose period is due) releases what that filter holds, which then flows
//! through the later filters. While a filter runs, every stream in flight is kept under that
//! filter's context id for it ([`crate::state::World::switch_filter`]).

use super::Driver;
use super::http::{Dir, Flow, Stop};
use crate::outcome::{ClientResponse, Message, RequestOutcome};
use crate::pairs::Pair;
use crate::scenario::{Body, RequestEvent, Response};
use crate::state::{Access, HttpStream, from_pairs, header};
use crate::trace::TimelineEvent;

/// What one filter was given and has passed on, in one direction.
#[derive(Default)]
struct Stage {
    /// The single-filter flow state.
    f: Flow,
    /// The filter got the headers.
    started: bool,
    /// The headers were passed on.
    headers_passed: bool,
    /// The end of the body (or of a headers-only message) was passed on.
    end_passed: bool,
    /// The trailers were passed on.
    trailers_passed: bool,
    /// The filter's own body buffer while another filter runs.
    buffer: Vec<u8>,
    /// The filter failed open (or never saw the stream): events pass through it untouched.
    bypass: bool,
}

/// One event of a direction.
enum Event {
    /// The headers.
    Headers,
    /// A body chunk; `true` when no more body follows.
    Data(Vec<u8>, bool),
    /// The trailers.
    Trailers,
}

/// One direction through the chain.
struct Pipe {
    dir: Dir,
    /// Filter index at each position (the response walks the chain backward).
    order: Vec<usize>,
    stages: Vec<Stage>,
    /// No body and no trailers.
    headers_only: bool,
    /// Trailers follow the body.
    has_trailers: bool,
    /// What came out of the last filter: the end was reached, and the body.
    out_end: bool,
    out_body: Vec<u8>,
}

impl Pipe {
    fn new(dir: Dir, order: Vec<usize>, chunks: usize, trailers: bool) -> Pipe {
        let stages = order.iter().map(|_| Stage::default()).collect();
        Pipe {
            dir,
            order,
            stages,
            headers_only: chunks == 0 && !trailers,
            has_trailers: trailers,
            out_end: false,
            out_body: Vec::new(),
        }
    }
}

/// A chain's request in flight: where it stands in the chain (each filter's flow state and
/// what it holds, in the direction it is in) and its outcome so far.
pub(crate) struct ChainParked {
    index: u32,
    /// Filter 1's context for the stream (named on the timeline).
    context_id: u32,
    response: Response,
    /// Trace index of its first callback.
    first: usize,
    out: RequestOutcome,
    pipe: Pipe,
}

fn names(dir: Dir) -> (&'static str, &'static str, &'static str) {
    match dir {
        Dir::Request => (
            "proxy_on_request_headers",
            "proxy_on_request_body",
            "proxy_on_request_trailers",
        ),
        Dir::Response => (
            "proxy_on_response_headers",
            "proxy_on_response_body",
            "proxy_on_response_trailers",
        ),
    }
}

fn body_of(s: &mut HttpStream, dir: Dir) -> &mut Vec<u8> {
    match dir {
        Dir::Request => &mut s.request_body,
        Dir::Response => &mut s.response_body,
    }
}

fn message(headers: &[Pair], body: &[u8], trailers: &[Pair]) -> Message {
    Message {
        headers: from_pairs(headers),
        body: Body::from_bytes(body),
        trailers: from_pairs(trailers),
    }
}

impl Driver {
    fn filter_count(&self) -> usize {
        self.world
            .borrow()
            .chain
            .as_ref()
            .map_or(1, |c| c.vm_of.len())
    }

    fn filter_label(&self, i: usize) -> String {
        let w = self.world.borrow();
        w.trace
            .filters
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("filter {}", i + 1))
    }

    /// The current filter's context for the stream, created (`proxy_on_context_create`) the
    /// first time the filter sees it.
    async fn stream_context(&mut self) -> u32 {
        let (id, root, created) = {
            let mut w = self.world.borrow_mut();
            let key = w
                .active_stream
                .expect("a chain's request runs as the active stream");
            let existing = w.streams.get(&key).map_or(0, |s| s.id);
            if existing != 0 {
                (existing, 0, false)
            } else {
                let id = w.next_context_id;
                w.next_context_id += 1;
                let root = w.root_id;
                w.contexts.insert(id, root);
                // The stream is kept under the running filter's context id.
                if let Some(mut s) = w.streams.remove(&key) {
                    s.id = id;
                    w.streams.insert(id, s);
                    w.active_stream = Some(id);
                }
                (id, root, true)
            }
        };
        if created {
            let _ = self
                .call(
                    "proxy_on_context_create",
                    &[i64::from(id), i64::from(root)],
                    id,
                )
                .await;
        }
        id
    }

    /// The filter's view of the chain's one stream.
    fn chain_stream<R>(&mut self, f: impl FnOnce(&mut HttpStream) -> R) -> R {
        let mut w = self.world.borrow_mut();
        let id = w
            .active_stream
            .expect("a chain's request runs as the active stream");
        f(w.streams
            .get_mut(&id)
            .expect("the stream lives until the request ends"))
    }

    /// Request `index` (the scenario's, with `event`'s fields replaced) through every filter
    /// of the chain. A filter that pauses it (headers held, body buffered) parks it where it
    /// stands ([`ChainParked`]) while later events run; the callback that resumes it (a tick,
    /// a late callout answer, another stream's callback) lets it go on from that filter.
    pub(super) async fn run_chain_request(&mut self, index: u32, event: &RequestEvent) {
        let request = event.apply(&self.scenario.request);
        let response = event
            .response
            .clone()
            .unwrap_or_else(|| self.scenario.response.clone());
        let first = self.world.borrow().trace.callbacks.len();
        let out = RequestOutcome {
            index,
            upstream_request: None,
            client_response: None,
            reset: false,
            stalled: None,
            duration_us: 0.0,
            memory_pages: 0,
        };
        let (req_headers, req_chunks, req_trailers) = self.request_parts(&request);
        let n = self.filter_count();
        let before = self.world.borrow().request_index;
        let back = self.world.borrow().filter();
        self.activate(0);
        let context_id = {
            let mut w = self.world.borrow_mut();
            let now = w.now_ns;
            let grpc = header(&req_headers, "content-type")
                .is_some_and(|c| c.starts_with("application/grpc"));
            let s = HttpStream {
                id: 0,
                index,
                request_headers: req_headers,
                start_ns: now,
                grpc,
                protocol: request.protocol.clone(),
                ..HttpStream::default()
            };
            let key = s.chain_key();
            w.streams.insert(key, s);
            w.request_index = Some(index);
            w.active_stream = Some(key);
            // Filter 1 creates the stream's first context next.
            w.next_context_id
        };
        self.mark(TimelineEvent::Request {
            request: index,
            context_id,
        });
        let mut pipe = Pipe::new(
            Dir::Request,
            (0..n).collect(),
            req_chunks.len(),
            !req_trailers.is_empty(),
        );
        let walked = self.walk(&mut pipe, req_chunks, req_trailers).await;
        let st = ChainParked {
            index,
            context_id,
            response,
            first,
            out,
            pipe,
        };
        self.chain_proceed(st, walked).await;
        self.activate(back);
        self.leave(before);
    }

    /// Goes on from a direction that ended, stopped or waits: upstream and the response after
    /// the request, the client's response and the stream's end after the response.
    async fn chain_proceed(&mut self, mut st: ChainParked, walked: Result<(), Stop>) {
        let dir = st.pipe.dir;
        match walked {
            Err(stop) => {
                self.chain_stopped(stop, &mut st.out, dir == Dir::Response)
                    .await;
            }
            Ok(()) if !st.pipe.out_end => {
                self.mark(TimelineEvent::Waiting {
                    request: st.index,
                    context_id: st.context_id,
                });
                self.chain_parked.insert(st.index, st);
                return;
            }
            Ok(()) if dir == Dir::Request => {
                let upstream = self.chain_stream(|s| {
                    message(&s.request_headers, &st.pipe.out_body, &s.request_trailers)
                });
                st.out.upstream_request = Some(upstream);
                let response = st.response.clone();
                let (pipe, walked) = self.response_through_chain(&response).await;
                st.pipe = pipe;
                return Box::pin(self.chain_proceed(st, walked)).await;
            }
            Ok(()) => {
                let status = st.response.status;
                let client = self.chain_stream(|s| ClientResponse {
                    status,
                    message: message(&s.response_headers, &st.pipe.out_body, &s.response_trailers),
                    local_reply: false,
                    details: s.code_details.clone(),
                });
                st.out.client_response = Some(client);
            }
        }
        self.chain_end(st).await;
    }

    /// The end of a chain's request: every filter's log, done and delete, and its outcome.
    async fn chain_end(&mut self, mut st: ChainParked) {
        self.chain_finish_stream().await;
        st.out.memory_pages = self.vm.memory_pages();
        {
            let mut w = self.world.borrow_mut();
            st.out.duration_us = super::round_us(
                w.trace.callbacks[st.first..]
                    .iter()
                    .filter(|c| c.request == Some(st.index))
                    .map(|c| c.duration_us)
                    .sum(),
            );
            if let Some(key) = w.active_stream {
                w.streams.remove(&key);
            }
            w.active_stream = None;
        }
        self.record_outcome(st.out);
        // What its last callbacks resumed goes on.
        self.wake_parked().await;
    }

    /// Goes on with a chain's waiting request that the last callback (of the filter running
    /// now) resumed, replied to or reset, from that filter. Returns false when none was.
    pub(super) async fn wake_chain(&mut self) -> bool {
        let next = {
            let w = self.world.borrow();
            self.chain_parked.keys().copied().find_map(|i| {
                let (key, s) = w.streams.iter().find(|(_, s)| s.index == i)?;
                (s.id != 0
                    && (s.local_reply.is_some()
                        || w.applied.iter().any(|a| super::http::acts_on(a) == *key)))
                .then_some((i, *key))
            })
        };
        let Some((index, key)) = next else {
            return false;
        };
        let Some(mut st) = self.chain_parked.remove(&index) else {
            return false;
        };
        let before = self.world.borrow().request_index;
        let back = self.world.borrow().filter();
        self.enter(index, key);
        let woke = self.chain_wake(&mut st, back).await;
        self.chain_proceed(st, woke).await;
        self.activate(back);
        self.leave(before);
        true
    }

    /// What woke a waiting request at `filter`: a local reply, a reset, or a continue (the
    /// filter releases what it holds and what it passes on flows through the later filters).
    async fn chain_wake(&mut self, st: &mut ChainParked, filter: usize) -> Result<(), Stop> {
        let pipe = &mut st.pipe;
        let dir = pipe.dir;
        let id = self.chain_stream(|s| s.id);
        let mark = TimelineEvent::Resumed {
            request: st.index,
            context_id: st.context_id,
        };
        if let Some(reply) = self.take_local_reply(id) {
            self.mark(mark);
            return Err(Stop::LocalReply(reply));
        }
        let resumed = self
            .take_applied(id, dir)
            .inspect_err(|_| self.mark(mark.clone()))?;
        let Some(p) = pipe.order.iter().position(|f| *f == filter) else {
            return Ok(());
        };
        if !resumed || !pipe.stages[p].started || pipe.stages[p].bypass {
            return Ok(());
        }
        self.mark(mark);
        let mut f = std::mem::take(&mut pipe.stages[p].f);
        let buffer = std::mem::take(&mut pipe.stages[p].buffer);
        self.chain_stream(|s| *body_of(s, dir) = buffer);
        let r = self.resume(dir, id, &mut f, names(dir).1).await;
        pipe.stages[p].f = f;
        pipe.stages[p].buffer = self.chain_stream(|s| std::mem::take(body_of(s, dir)));
        r?;
        Box::pin(self.propagate(pipe, p)).await
    }

    /// The end of the run: each chain request still waiting ends as stalled.
    pub(super) async fn stall_chain_waiting(&mut self) {
        while let Some((_, mut st)) = self.chain_parked.pop_first() {
            let before = self.world.borrow().request_index;
            let key = self
                .world
                .borrow()
                .streams
                .iter()
                .find(|(_, s)| s.index == st.index)
                .map(|(key, _)| *key);
            let Some(key) = key else { continue };
            self.enter(st.index, key);
            let why = self.stall_reason(&st.pipe);
            let response_phase = st.pipe.dir == Dir::Response;
            self.chain_stopped(Stop::Stalled(why), &mut st.out, response_phase)
                .await;
            self.chain_end(st).await;
            self.leave(before);
        }
    }

    /// The upstream's response, into the last filter (the filters from the last to the
    /// first): the pipe, and whether it stopped early.
    async fn response_through_chain(&mut self, response: &Response) -> (Pipe, Result<(), Stop>) {
        let n = self.filter_count();
        let (headers, chunks, trailers) = super::http::response_parts(response);
        self.chain_stream(|s| {
            s.response_headers = headers;
            s.response_code = Some(u32::from(response.status));
            s.code_details = "via_upstream".into();
        });
        self.each_filter(|s| {
            s.req_headers = Access::None;
            s.req_body = Access::None;
            s.req_trailers = Access::None;
        });
        let mut pipe = Pipe::new(
            Dir::Response,
            (0..n).rev().collect(),
            chunks.len(),
            !trailers.is_empty(),
        );
        let walked = self.walk(&mut pipe, chunks, trailers).await;
        (pipe, walked)
    }

    /// Changes every filter's view of the stream.
    fn each_filter(&mut self, change: impl Fn(&mut HttpStream)) {
        let back = self.world.borrow().filter();
        for i in 0..self.filter_count() {
            self.activate(i);
            self.chain_stream(&change);
        }
        self.activate(back);
    }

    /// Feeds one direction into the first filter: headers, each chunk, trailers.
    async fn walk(
        &mut self,
        pipe: &mut Pipe,
        chunks: Vec<Vec<u8>>,
        trailers: Vec<Pair>,
    ) -> Result<(), Stop> {
        let dir = pipe.dir;
        self.feed(pipe, 0, Event::Headers).await?;
        let last = chunks.len();
        for (k, chunk) in chunks.into_iter().enumerate() {
            if dir == Dir::Request {
                self.chain_stream(|s| s.request_size += chunk.len() as u64);
            }
            self.feed(pipe, 0, Event::Data(chunk, k + 1 == last))
                .await?;
        }
        if !trailers.is_empty() {
            self.chain_stream(|s| match dir {
                Dir::Request => s.request_trailers = trailers,
                Dir::Response => s.response_trailers = trailers,
            });
            self.feed(pipe, 0, Event::Trailers).await?;
        }
        Ok(())
    }

    /// Gives `event` to the filter at position `p` (past the last: the upstream or the
    /// client), then passes on whatever that filter released.
    async fn feed(&mut self, pipe: &mut Pipe, p: usize, event: Event) -> Result<(), Stop> {
        if p == pipe.order.len() {
            match event {
                Event::Headers => pipe.out_end |= pipe.headers_only,
                Event::Data(bytes, last) => {
                    pipe.out_body.extend_from_slice(&bytes);
                    pipe.out_end |= last && !pipe.has_trailers;
                }
                Event::Trailers => pipe.out_end = true,
            }
            return Ok(());
        }
        let dir = pipe.dir;
        self.activate(pipe.order[p]);
        let (fail_open, unseen) = {
            let w = self.world.borrow();
            let unseen = dir == Dir::Response
                && w.active_stream
                    .and_then(|k| w.streams.get(&k))
                    .is_none_or(|s| s.id == 0);
            (w.cfg().fail_open, unseen)
        };
        if unseen || pipe.stages[p].bypass || (self.failed && fail_open) {
            pipe.stages[p].bypass = true;
            return Box::pin(self.pass_through(pipe, p, event)).await;
        }
        if self.failed {
            return Err(Stop::Failed);
        }
        let names = names(dir);
        let mut f = std::mem::take(&mut pipe.stages[p].f);
        let buffer = std::mem::take(&mut pipe.stages[p].buffer);
        self.chain_stream(|s| *body_of(s, dir) = buffer);
        let pass = match &event {
            Event::Data(bytes, _) => Event::Data(bytes.clone(), false),
            Event::Headers => Event::Headers,
            Event::Trailers => Event::Trailers,
        };
        let r = match event {
            Event::Headers => {
                let id = self.stream_context().await;
                pipe.stages[p].started = true;
                self.headers_callback(dir, id, &mut f, pipe.headers_only, names)
                    .await
            }
            Event::Data(bytes, last) => {
                let id = self.chain_stream(|s| s.id);
                f.complete |= last;
                if f.withhold {
                    f.withheld.extend_from_slice(&bytes);
                    Ok(())
                } else {
                    let eos = last && !pipe.has_trailers;
                    self.body_callback(dir, id, &mut f, bytes, eos, names.1)
                        .await
                }
            }
            Event::Trailers => {
                let id = self.chain_stream(|s| s.id);
                f.complete = true;
                if f.withhold {
                    f.trailers_withheld = true;
                    Ok(())
                } else {
                    self.trailers_callback(dir, id, &mut f, names.2).await
                }
            }
        };
        pipe.stages[p].f = f;
        pipe.stages[p].buffer = self.chain_stream(|s| std::mem::take(body_of(s, dir)));
        match r {
            Err(Stop::Failed) if fail_open => {
                // Fail open: the filter steps aside; what it was given goes on.
                pipe.stages[p].bypass = true;
                let pass = match pass {
                    Event::Data(bytes, _) => {
                        Event::Data(bytes, pipe.stages[p].f.complete && !pipe.has_trailers)
                    }
                    other => other,
                };
                Box::pin(self.pass_through(pipe, p, pass)).await
            }
            Err(stop) => Err(stop),
            Ok(()) => Box::pin(self.propagate(pipe, p)).await,
        }
    }

    /// A filter that is out of the way passes `event` on as it came.
    async fn pass_through(&mut self, pipe: &mut Pipe, p: usize, event: Event) -> Result<(), Stop> {
        let st = &mut pipe.stages[p];
        if !st.headers_passed {
            st.headers_passed = true;
            st.end_passed = pipe.headers_only;
            self.feed(pipe, p + 1, Event::Headers).await?;
            if matches!(event, Event::Headers) {
                return Ok(());
            }
        }
        let st = &mut pipe.stages[p];
        match event {
            Event::Headers => Ok(()),
            Event::Data(bytes, last) => {
                st.end_passed |= last;
                self.feed(pipe, p + 1, Event::Data(bytes, last)).await
            }
            Event::Trailers => {
                st.end_passed = true;
                st.trailers_passed = true;
                self.feed(pipe, p + 1, Event::Trailers).await
            }
        }
    }

    /// Passes on what the filter at position `p` released since the last time: its headers,
    /// the body it forwarded, the end of the body, its trailers.
    async fn propagate(&mut self, pipe: &mut Pipe, p: usize) -> Result<(), Stop> {
        let st = &mut pipe.stages[p];
        if st.started && !st.headers_passed && !st.f.headers_held {
            st.headers_passed = true;
            st.end_passed = pipe.headers_only;
            self.feed(pipe, p + 1, Event::Headers).await?;
        }
        let st = &mut pipe.stages[p];
        if st.headers_passed && !st.end_passed {
            let f = &mut st.f;
            let data = std::mem::take(&mut f.forwarded);
            let last = f.complete
                && !f.withhold
                && !f.buffering
                && !f.paused
                && f.withheld.is_empty()
                && !f.trailers_withheld;
            if last {
                st.end_passed = true;
            }
            if !data.is_empty() || (last && !pipe.has_trailers) {
                self.feed(pipe, p + 1, Event::Data(data, last)).await?;
            }
        }
        let st = &mut pipe.stages[p];
        if pipe.has_trailers
            && st.end_passed
            && st.f.trailers_done
            && !st.f.paused
            && !st.trailers_passed
        {
            st.trailers_passed = true;
            self.feed(pipe, p + 1, Event::Trailers).await?;
        }
        Ok(())
    }

    /// Names the first filter that holds the direction and what holds it.
    fn stall_reason(&self, pipe: &Pipe) -> String {
        let names = names(pipe.dir);
        let side = if pipe.dir == Dir::Request {
            "request"
        } else {
            "response"
        };
        for (p, st) in pipe.stages.iter().enumerate() {
            let f = &st.f;
            if st.started && (f.headers_held || f.withhold || f.paused || f.buffering) {
                let callback = if f.headers_held && !f.paused && !f.buffering {
                    names.0
                } else {
                    names.1
                };
                return format!(
                    "{}: {callback} paused the {side} and nothing resumed it (no proxy_continue_stream). In Envoy the stream would wait until a timeout.",
                    self.filter_label(pipe.order[p]),
                );
            }
        }
        format!("the {side} did not reach its end")
    }

    /// Handles a direction that stopped early.
    async fn chain_stopped(&mut self, stop: Stop, out: &mut RequestOutcome, response_phase: bool) {
        match stop {
            Stop::LocalReply(reply) => {
                let id_now = self.chain_stream(|s| s.id);
                let (details, body) = self.prepare_local_reply(id_now, &reply);
                let mut sent = body.clone();
                if !response_phase {
                    // Every filter whose context exists sees the reply's response, last first.
                    let from = self.world.borrow().filter();
                    self.each_filter(|s| {
                        s.req_headers = Access::None;
                        s.req_body = Access::None;
                        s.req_trailers = Access::None;
                    });
                    self.activate(from);
                    for i in (0..self.filter_count()).rev() {
                        self.activate(i);
                        let id = self.chain_stream(|s| s.id);
                        if id == 0 || self.failed {
                            continue;
                        }
                        self.chain_stream(|s| s.response_body.clone_from(&sent));
                        sent = self.local_reply_callbacks(id, sent).await;
                    }
                }
                let id_now = self.chain_stream(|s| s.id);
                out.client_response =
                    Some(self.local_reply_response(id_now, reply.status, details, sent));
            }
            Stop::Reset => {
                out.reset = true;
                let name = self.filter_label(self.world.borrow().filter());
                self.world.borrow_mut().note(format!("{name} reset the stream (proxy_close_stream): the client sees a reset, not a response"));
            }
            Stop::Failed => {
                // Fail closed (a fail-open filter steps aside in `deliver`).
                out.client_response = Some(super::http::fail_reply());
            }
            Stop::Stalled(why) => {
                self.world
                    .borrow_mut()
                    .note(format!("the stream stalled: {why}"));
                out.stalled = Some(why);
            }
        }
    }

    /// The end of the stream in every filter: all access logs (a filter that never saw the
    /// request gets its context from the log path first), then each filter's done and delete.
    async fn chain_finish_stream(&mut self) {
        let n = self.filter_count();
        for i in 0..n {
            self.activate(i);
            if self.failed {
                continue;
            }
            let id = self.stream_context().await;
            self.chain_stream(|s| {
                s.req_headers = Access::ReadOnly;
                s.req_body = Access::None;
                s.req_trailers = Access::None;
                s.resp_headers = Access::ReadOnly;
                s.resp_body = Access::None;
                s.resp_trailers = Access::ReadOnly;
            });
            let _ = self.call("proxy_on_log", &[i64::from(id)], id).await;
        }
        for i in 0..n {
            self.activate(i);
            let id = self.chain_stream(|s| s.id);
            if id == 0 {
                continue;
            }
            let _ = self.call("proxy_on_done", &[i64::from(id)], id).await;
            let _ = self.call("proxy_on_delete", &[i64::from(id)], id).await;
            self.settle().await;
            let mut w = self.world.borrow_mut();
            w.contexts.remove(&id);
            w.applied.clear();
        }
        self.activate(0);
    }
}
