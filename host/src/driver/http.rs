//! One HTTP request through the filter, as Envoy (>= 1.33, or Higress) runs it.

use super::Driver;
use crate::abi::{AbiVersion, Action, StreamType};
use crate::outcome::{ClientResponse, Message, RequestOutcome};
use crate::pairs::Pair;
use crate::scenario::{Body, Request, RequestEvent, Response, body_chunks};
use crate::state::{Access, Deferred, HttpStream, LocalReply, World, from_pairs, header, to_pairs};
use crate::trace::TimelineEvent;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Request,
    Response,
}

/// Why a side of the stream stopped early.
pub(super) enum Stop {
    /// The plugin sent a local reply.
    LocalReply(LocalReply),
    /// The plugin reset the stream.
    Reset,
    /// The VM failed.
    Failed,
    /// A stop is still in effect and nothing can resume it.
    Stalled(String),
}

/// How a side of the stream ended for now.
enum Sided {
    /// Everything went through: the forwarded body.
    Done(Vec<u8>),
    /// The plugin paused it and nothing resumed it yet (why, in words).
    Waiting(Flow, String),
}

/// A request in flight: its stream context, what it sends and gets, and its outcome so far.
pub(crate) struct InFlight {
    /// The stream's context id.
    id: u32,
    /// The request's number (0-based, in the order requests start).
    index: u32,
    /// The request (the scenario's, with a `request` event's fields replaced).
    request: Request,
    /// The upstream's answer to it.
    response: Response,
    /// Trace index of its first callback.
    first: usize,
    out: RequestOutcome,
}

/// A request waiting for a resume: where it stopped and what it holds.
pub(crate) struct Parked {
    st: InFlight,
    dir: Dir,
    flow: Flow,
    why: String,
}

/// State of one direction while it flows through the filter.
#[derive(Default)]
pub(crate) struct Flow {
    /// Headers are held (the header callback did not return Continue).
    pub(super) headers_held: bool,
    /// Body callbacks are withheld until resumed (StopAll).
    pub(super) withhold: bool,
    /// Bytes that arrived while withheld.
    pub(super) withheld: Vec<u8>,
    /// All chunks have arrived.
    pub(super) complete: bool,
    /// Trailers arrived while withheld.
    pub(super) trailers_withheld: bool,
    /// The body callback returned StopIterationAndBuffer.
    pub(super) buffering: bool,
    /// Bytes retained by Envoy's filter manager (watermark) for later forwarding.
    pub(super) retained: Vec<u8>,
    /// Paused by a body or trailer callback.
    pub(super) paused: bool,
    /// What has been forwarded.
    pub(super) forwarded: Vec<u8>,
    /// The trailers callback ran.
    pub(super) trailers_done: bool,
}

impl Driver {
    /// Starts request `index` (the scenario's request with `event`'s fields replaced): it
    /// runs until it ends, or until it waits (then it is parked and later events run).
    pub(crate) async fn request(&mut self, index: u32, event: &RequestEvent) {
        if self.world.borrow().chain.is_some() {
            return self.run_chain_request(index, event).await;
        }
        let mut st = InFlight {
            id: 0,
            index,
            request: event.apply(&self.scenario.request),
            response: event
                .response
                .clone()
                .unwrap_or_else(|| self.scenario.response.clone()),
            first: self.world.borrow().trace.callbacks.len(),
            out: RequestOutcome {
                index,
                upstream_request: None,
                client_response: None,
                reset: false,
                stalled: None,
                duration_us: 0.0,
                memory_pages: 0,
            },
        };
        let (req_headers, req_chunks, req_trailers) = self.request_parts(&st.request);
        if self.failed {
            let fail_open = self.world.borrow().cfg().fail_open;
            if fail_open {
                // The filter is skipped: traffic passes untouched.
                let body: Vec<u8> = req_chunks.concat();
                st.out.upstream_request = Some(message(&req_headers, &body, &req_trailers));
                st.out.client_response = Some(upstream_response_untouched(&st.response));
            } else {
                st.out.client_response = Some(fail_reply());
            }
            self.record_outcome(st.out);
            return;
        }
        let (id, before) = {
            let mut w = self.world.borrow_mut();
            let id = w.next_context_id;
            w.next_context_id += 1;
            let root = w.root_id;
            w.contexts.insert(id, root);
            let now = w.now_ns;
            let grpc = header(&req_headers, "content-type")
                .is_some_and(|c| c.starts_with("application/grpc"));
            w.streams.insert(
                id,
                HttpStream {
                    id,
                    index,
                    request_headers: req_headers,
                    request_trailers: Vec::new(),
                    start_ns: now,
                    grpc,
                    protocol: st.request.protocol.clone(),
                    ..HttpStream::default()
                },
            );
            (id, w.request_index)
        };
        st.id = id;
        self.enter(index, id);
        self.mark(TimelineEvent::Request {
            request: index,
            context_id: id,
        });
        let root = self.world.borrow().root_id;
        let _ = self
            .call(
                "proxy_on_context_create",
                &[i64::from(id), i64::from(root)],
                id,
            )
            .await;

        let request = self.side(Dir::Request, id, req_chunks, req_trailers).await;
        self.proceed(st, Dir::Request, request).await;
        self.leave(before);
    }

    /// Goes on from a side that ended (or stopped, or waits): upstream and the response
    /// after the request side, the client's response and the stream's end after the response.
    async fn proceed(&mut self, mut st: InFlight, dir: Dir, side: Result<Sided, Stop>) {
        let id = st.id;
        let body = match side {
            Err(stop) => {
                self.stopped(stop, &mut st, dir == Dir::Response).await;
                return self.end_request(st).await;
            }
            Ok(Sided::Waiting(flow, why)) => return self.park(st, dir, flow, why),
            Ok(Sided::Done(body)) => body,
        };
        if dir == Dir::Response {
            st.out.client_response = Some({
                let w = self.world.borrow();
                let s = &w.streams[&id];
                ClientResponse {
                    status: st.response.status,
                    message: message(&s.response_headers, &body, &s.response_trailers),
                    local_reply: false,
                    details: s.code_details.clone(),
                }
            });
            return self.end_request(st).await;
        }
        st.out.upstream_request = Some({
            let w = self.world.borrow();
            let s = &w.streams[&id];
            message(&s.request_headers, &body, &s.request_trailers)
        });
        let (headers, chunks, trailers) = response_parts(&st.response);
        {
            let mut w = self.world.borrow_mut();
            let s = w.streams.get_mut(&id).expect("stream");
            s.response_headers = headers;
            s.response_code = Some(u32::from(st.response.status));
            s.code_details = "via_upstream".into();
            s.req_headers = Access::None;
            s.req_body = Access::None;
            s.req_trailers = Access::None;
        }
        let response = self.side(Dir::Response, id, chunks, trailers).await;
        Box::pin(self.proceed(st, Dir::Response, response)).await;
    }

    /// The stream waits: it is kept as data until a callback resumes, replies to or resets
    /// it ([`Driver::wake_parked`]), or the run ends ([`Driver::stall_waiting`]).
    fn park(&mut self, st: InFlight, dir: Dir, flow: Flow, why: String) {
        self.mark(TimelineEvent::Waiting {
            request: st.index,
            context_id: st.id,
        });
        self.parked.insert(st.id, Parked { st, dir, flow, why });
    }

    /// Goes on with the waiting streams that a callback resumed, replied to or reset (Envoy
    /// applies these right after the VM call returns). Stream actions for contexts that no
    /// longer wait are dropped.
    pub(crate) async fn wake_parked(&mut self) {
        // One at a time: a stream woken here runs until it ends or waits again before the
        // next one goes on (what its own callbacks resume waits for that too).
        if self.waking {
            return;
        }
        self.waking = true;
        for _ in 0..10_000 {
            let next = {
                let w = self.world.borrow();
                self.parked.keys().copied().find(|id| {
                    w.applied.iter().any(|a| acts_on(a) == *id)
                        || w.streams.get(id).is_some_and(|s| s.local_reply.is_some())
                })
            };
            let Some(id) = next else { break };
            let Some(p) = self.parked.remove(&id) else {
                break;
            };
            let Parked {
                st, dir, mut flow, ..
            } = p;
            let before = self.world.borrow().request_index;
            self.enter(st.index, st.id);
            let side = self.wake_side(dir, st.id, st.index, &mut flow).await;
            let side = side.map(|()| self.side_end(dir, flow));
            Box::pin(self.proceed(st, dir, side)).await;
            self.leave(before);
        }
        // A chain's waiting requests, one at a time likewise.
        for _ in 0..10_000 {
            if !Box::pin(self.wake_chain()).await {
                break;
            }
        }
        self.waking = false;
        let mut w = self.world.borrow_mut();
        if self.lane.is_some() {
            // Concurrent streams: another lane's stream of this VM may wait for the action.
            let World {
                applied, streams, ..
            } = &mut *w;
            applied.retain(|a| streams.contains_key(&acts_on(a)));
            return;
        }
        let active = w.active_stream;
        // An L4 connection's actions are the network driver's to take (after a tick).
        let connection = w.connection.as_ref().map(|c| c.id);
        let parked = &self.parked;
        let chain = w.chain.is_some();
        let streams: Vec<u32> = w.streams.keys().copied().collect();
        w.applied.retain(|a| {
            let on = Some(acts_on(a));
            on == active
                || on == connection
                || parked.contains_key(&acts_on(a))
                || (chain && streams.contains(&acts_on(a)))
        });
    }

    /// What woke a waiting side: a local reply, a reset or a continue (then withheld data
    /// is delivered).
    async fn wake_side(&mut self, dir: Dir, id: u32, index: u32, f: &mut Flow) -> Result<(), Stop> {
        let mark = TimelineEvent::Resumed {
            request: index,
            context_id: id,
        };
        if let Some(reply) = self.take_local_reply(id) {
            self.mark(mark);
            return Err(Stop::LocalReply(reply));
        }
        if self.take_applied(id, dir)? {
            self.mark(mark);
            self.resume(dir, id, f, names(dir).1).await?;
        }
        Ok(())
    }

    /// The end of the run: each stream still waiting ends as stalled (or failed, if the VM
    /// failed meanwhile).
    pub(crate) async fn stall_waiting(&mut self) {
        while let Some((_, p)) = self.parked.pop_first() {
            let Parked {
                mut st, dir, why, ..
            } = p;
            let before = self.world.borrow().request_index;
            self.enter(st.index, st.id);
            let stop = if self.failed {
                Stop::Failed
            } else {
                Stop::Stalled(why)
            };
            self.stopped(stop, &mut st, dir == Dir::Response).await;
            self.end_request(st).await;
            self.leave(before);
        }
        self.stall_chain_waiting().await;
    }

    /// The driver runs request `index`'s stream now.
    pub(super) fn enter(&mut self, index: u32, id: u32) {
        let mut w = self.world.borrow_mut();
        w.request_index = Some(index);
        w.active_stream = Some(id);
    }

    /// Back to what ran before (`before`: the request then).
    pub(super) fn leave(&mut self, before: Option<u32>) {
        let mut w = self.world.borrow_mut();
        w.request_index = before;
        // (A chain keeps its streams under the running filter's keys.)
        w.active_stream = before.and_then(|i| {
            w.streams
                .iter()
                .find(|(_, s)| s.index == i)
                .map(|(key, _)| *key)
        });
    }

    /// Log, done, delete, and the request's outcome.
    async fn end_request(&mut self, mut st: InFlight) {
        self.finish_stream(st.id).await;
        st.out.memory_pages = self.vm.memory_pages();
        let mut w = self.world.borrow_mut();
        // Its callbacks are among those recorded since it started (summing the whole trace
        // would cost a pass over every earlier request's callbacks).
        st.out.duration_us = super::round_us(
            w.trace.callbacks[st.first..]
                .iter()
                .filter(|c| c.request == Some(st.index))
                .map(|c| c.duration_us)
                .sum(),
        );
        w.streams.remove(&st.id);
        drop(w);
        self.record_outcome(st.out);
    }

    /// Keeps a request's outcome, in the order requests started.
    pub(super) fn record_outcome(&mut self, out: RequestOutcome) {
        let mut w = self.world.borrow_mut();
        let at = w.outcomes.partition_point(|o| o.index <= out.index);
        w.outcomes.insert(at, out);
    }

    /// Handles a side that stopped early.
    async fn stopped(&mut self, stop: Stop, st: &mut InFlight, response_phase: bool) {
        let id = st.id;
        let out = &mut st.out;
        match stop {
            Stop::LocalReply(reply) => {
                out.client_response = Some(self.local_reply(id, reply, response_phase).await);
            }
            Stop::Reset => {
                out.reset = true;
                self.world.borrow_mut().note("the plugin reset the stream (proxy_close_stream): the client sees a reset, not a response");
            }
            Stop::Failed => {
                let fail_open = self.world.borrow().cfg().fail_open;
                if !fail_open {
                    out.client_response = Some(fail_reply());
                } else if response_phase {
                    // Fail open: the filter steps aside and the response goes on as it is.
                    let w = self.world.borrow();
                    let s = &w.streams[&id];
                    out.client_response = Some(ClientResponse {
                        status: st.response.status,
                        message: message(
                            &s.response_headers,
                            &s.response_body,
                            &s.response_trailers,
                        ),
                        local_reply: false,
                        details: s.code_details.clone(),
                    });
                } else {
                    // Fail open: the request continues upstream as the plugin left it.
                    let chunks =
                        body_chunks(&st.request.body, &st.request.chunks).unwrap_or_default();
                    let w = self.world.borrow();
                    let s = &w.streams[&id];
                    out.upstream_request = Some(message(
                        &s.request_headers,
                        &chunks.concat(),
                        &s.request_trailers,
                    ));
                    drop(w);
                    out.client_response = Some(upstream_response_untouched(&st.response));
                }
            }
            Stop::Stalled(why) => {
                self.world
                    .borrow_mut()
                    .note(format!("the stream stalled: {why}"));
                out.stalled = Some(why);
            }
        }
    }

    /// Sends a local reply: through this plugin's response callbacks if the response had not
    /// started, directly otherwise (Envoy's `sendLocalReplyViaFilterChain`).
    async fn local_reply(
        &mut self,
        id: u32,
        reply: LocalReply,
        response_phase: bool,
    ) -> ClientResponse {
        let (details, body) = self.prepare_local_reply(id, &reply);
        let mut sent_body = body.clone();
        if !response_phase && !self.failed {
            // The reply flows back through this same plugin's encoder callbacks.
            sent_body = self.local_reply_callbacks(id, body).await;
        }
        self.local_reply_response(id, reply.status, details, sent_body)
    }

    /// Builds a local reply's response (Envoy's `prepareLocalReply`) into stream `id`: its
    /// headers and body, status and details. Returns the details and the body.
    pub(super) fn prepare_local_reply(&mut self, id: u32, reply: &LocalReply) -> (String, Vec<u8>) {
        let grpc = self.world.borrow().streams.get(&id).is_some_and(|s| s.grpc);
        let details = reply.details.replace(' ', "_");
        let mut headers: Vec<Pair> =
            vec![(b":status".to_vec(), reply.status.to_string().into_bytes())];
        let mut body = reply.body.clone();
        if grpc {
            headers[0].1 = b"200".to_vec();
            headers.push((b"content-type".to_vec(), b"application/grpc".to_vec()));
            let status = if (0..=16).contains(&reply.grpc_status) {
                reply.grpc_status
            } else {
                grpc_status_for_http(reply.status)
            };
            headers.push((b"grpc-status".to_vec(), status.to_string().into_bytes()));
            if !body.is_empty() {
                headers.push((b"grpc-message".to_vec(), percent_encode(&body).into_bytes()));
            }
            body.clear();
        } else {
            headers.extend(
                reply
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
            );
            if !body.is_empty() {
                headers.push((
                    b"content-length".to_vec(),
                    body.len().to_string().into_bytes(),
                ));
                if header(&headers, "content-type").is_none() {
                    headers.push((b"content-type".to_vec(), b"text/plain".to_vec()));
                }
            }
        }
        {
            let mut w = self.world.borrow_mut();
            let s = w.streams.get_mut(&id).expect("stream");
            s.response_code = Some(reply.status);
            s.code_details = details.clone();
            s.req_headers = Access::None;
            s.req_body = Access::None;
            s.req_trailers = Access::None;
            s.response_headers = headers;
            s.response_body = body.clone();
            s.local_reply = None;
        }
        (details, body)
    }

    /// One filter's response callbacks for a local reply that had not started: headers, and
    /// the body if there is one. Returns the body as it leaves the filter.
    pub(super) async fn local_reply_callbacks(&mut self, id: u32, body: Vec<u8>) -> Vec<u8> {
        let mut sent_body = body.clone();
        let eos = body.is_empty();
        let n = self
            .world
            .borrow()
            .streams
            .get(&id)
            .map_or(0, |s| s.response_headers.len());
        self.set_access(id, Dir::Response, Access::ReadWrite, Access::None);
        let ret = self
            .call(
                "proxy_on_response_headers",
                &self.header_args(id, n, eos),
                id,
            )
            .await;
        // The reply goes out whatever they return; the trace still names the action.
        if let super::CallOutcome::Returned(r) = ret {
            let real_stop = self.world.borrow().cfg().response_headers_real_stop;
            let action = Action::from_headers(r.unwrap_or(0) as u32, real_stop);
            self.set_action(self.last_callback, action);
        }
        self.discard_stream_requests(id);
        if !eos && !self.failed {
            self.set_access(id, Dir::Response, Access::ReadWrite, Access::ReadWrite);
            let len = body.len() as i64;
            let ret = self
                .call("proxy_on_response_body", &[i64::from(id), len, 1], id)
                .await;
            if let super::CallOutcome::Returned(r) = ret {
                let action = Action::from_body(r.unwrap_or(0) as u32);
                self.set_action(self.last_callback, action);
            }
            self.discard_stream_requests(id);
            sent_body = self
                .world
                .borrow()
                .streams
                .get(&id)
                .map_or(body, |s| s.response_body.clone());
        }
        sent_body
    }

    /// The local reply as the client gets it, once the filters have seen it.
    pub(super) fn local_reply_response(
        &self,
        id: u32,
        status: u32,
        details: String,
        sent_body: Vec<u8>,
    ) -> ClientResponse {
        let w = self.world.borrow();
        let s = &w.streams[&id];
        let status = header(&s.response_headers, ":status")
            .and_then(|v| v.parse().ok())
            .unwrap_or(status as u16);
        ClientResponse {
            status,
            message: message(&s.response_headers, &sent_body, &[]),
            local_reply: true,
            details,
        }
    }

    /// Local replies and resets requested inside the local reply's own callbacks are ignored.
    pub(super) fn discard_stream_requests(&mut self, id: u32) {
        let mut w = self.world.borrow_mut();
        w.applied.retain(|a| acts_on(a) != id);
        if let Some(s) = w.streams.get_mut(&id) {
            s.local_reply = None;
        }
    }

    /// Access log, done, delete.
    async fn finish_stream(&mut self, id: u32) {
        {
            let mut w = self.world.borrow_mut();
            if let Some(s) = w.streams.get_mut(&id) {
                s.req_headers = Access::ReadOnly;
                s.req_body = Access::None;
                s.req_trailers = Access::None;
                s.resp_headers = Access::ReadOnly;
                s.resp_body = Access::None;
                s.resp_trailers = Access::ReadOnly;
            }
        }
        let _ = self.call("proxy_on_log", &[i64::from(id)], id).await;
        let _ = self.call("proxy_on_done", &[i64::from(id)], id).await;
        let _ = self.call("proxy_on_delete", &[i64::from(id)], id).await;
        self.settle().await;
        self.wake_parked().await;
        let mut w = self.world.borrow_mut();
        w.contexts.remove(&id);
        w.applied.retain(|a| acts_on(a) != id);
    }

    pub(super) fn header_args(&self, id: u32, n: usize, eos: bool) -> Vec<i64> {
        if self.world.borrow().cfg().abi == AbiVersion::V0_1_0 {
            vec![i64::from(id), n as i64]
        } else {
            vec![i64::from(id), n as i64, i64::from(eos)]
        }
    }

    pub(super) fn set_access(&mut self, id: u32, dir: Dir, headers: Access, body: Access) {
        let mut w = self.world.borrow_mut();
        if let Some(s) = w.streams.get_mut(&id) {
            match dir {
                Dir::Request => {
                    s.req_headers = headers;
                    s.req_body = body;
                }
                Dir::Response => {
                    s.resp_headers = headers;
                    s.resp_body = body;
                }
            }
        }
    }

    pub(super) fn take_local_reply(&mut self, id: u32) -> Option<LocalReply> {
        self.world
            .borrow_mut()
            .streams
            .get_mut(&id)
            .and_then(|s| s.local_reply.take())
    }

    /// After a stream callback: the failure, local reply or reset it caused, if any; and
    /// whether it (or a callout answered since) resumed this direction.
    pub(super) async fn after(&mut self, id: u32, dir: Dir) -> Result<bool, Stop> {
        if self.failed {
            return Err(Stop::Failed);
        }
        if let Some(reply) = self.take_local_reply(id) {
            return Err(Stop::LocalReply(reply));
        }
        self.settle().await;
        if self.failed {
            return Err(Stop::Failed);
        }
        if let Some(reply) = self.take_local_reply(id) {
            return Err(Stop::LocalReply(reply));
        }
        // Other streams this callback resumed go on first (they wait as data, not here).
        self.wake_parked().await;
        if self.failed {
            return Err(Stop::Failed);
        }
        if let Some(reply) = self.take_local_reply(id) {
            return Err(Stop::LocalReply(reply));
        }
        self.take_applied(id, dir)
    }

    /// Takes the stream actions applied to stream `id`: a reset, or whether `dir` resumed.
    pub(super) fn take_applied(&mut self, id: u32, dir: Dir) -> Result<bool, Stop> {
        let mine: Vec<Deferred> = {
            let mut w = self.world.borrow_mut();
            let (mine, rest) = std::mem::take(&mut w.applied)
                .into_iter()
                .partition(|a| acts_on(a) == id);
            w.applied = rest;
            mine
        };
        let mut resumed = false;
        for a in mine {
            match a {
                Deferred::Close(..) => return Err(Stop::Reset),
                Deferred::Continue(_, StreamType::Request) if dir == Dir::Request => resumed = true,
                Deferred::Continue(_, StreamType::Response) if dir == Dir::Response => {
                    resumed = true;
                }
                _ => {}
            }
        }
        Ok(resumed)
    }

    /// One direction: headers, body chunks, trailers, and waiting for resumes. Returns the
    /// forwarded body.
    async fn side(
        &mut self,
        dir: Dir,
        id: u32,
        chunks: Vec<Vec<u8>>,
        trailers: Vec<Pair>,
    ) -> Result<Sided, Stop> {
        let names = names(dir);
        let mut f = Flow::default();
        let eos = chunks.is_empty() && trailers.is_empty();
        self.headers_callback(dir, id, &mut f, eos, names).await?;
        let last = chunks.len();
        for (k, chunk) in chunks.into_iter().enumerate() {
            self.with_stream(id, |s| {
                if dir == Dir::Request {
                    s.request_size += chunk.len() as u64;
                }
            });
            let eos = k + 1 == last && trailers.is_empty();
            if k + 1 == last {
                f.complete = true;
            }
            if f.withhold {
                f.withheld.extend_from_slice(&chunk);
                continue;
            }
            self.body_callback(dir, id, &mut f, chunk, eos, names.1)
                .await?;
        }
        if last == 0 {
            f.complete = true;
        }
        if !trailers.is_empty() {
            self.with_stream(id, |s| *trailers_of(s, dir) = trailers.clone());
            if f.withhold {
                f.trailers_withheld = true;
            } else {
                self.trailers_callback(dir, id, &mut f, names.2).await?;
            }
        } else {
            f.trailers_done = true;
        }
        Ok(self.side_end(dir, f))
    }

    /// The headers callback of one direction, and what its action means for the flow.
    pub(super) async fn headers_callback(
        &mut self,
        dir: Dir,
        id: u32,
        f: &mut Flow,
        eos: bool,
        names: (&str, &str, &str),
    ) -> Result<(), Stop> {
        let n = self.with_stream(id, |s| headers_of(s, dir).len());
        self.set_access(id, dir, Access::ReadWrite, Access::None);
        let ret = self.call(names.0, &self.header_args(id, n, eos), id).await;
        let index = self.last_callback;
        let real_stop = {
            let w = self.world.borrow();
            match dir {
                Dir::Request => w.cfg().request_headers_real_stop,
                Dir::Response => w.cfg().response_headers_real_stop,
            }
        };
        let action = match ret {
            super::CallOutcome::Returned(r) => {
                Action::from_headers(r.unwrap_or(0) as u32, real_stop)
            }
            _ => Action::Continue,
        };
        // Named before a local reply or failure in `after` ends the stream: the plugin
        // returned it whatever came next.
        self.set_action(index, action);
        let resumed = self.after(id, dir).await?;
        f.headers_held = action.is_stop();
        f.withhold = matches!(
            action,
            Action::StopAllIterationAndBuffer | Action::StopAllIterationAndWatermark
        );
        if !f.headers_held {
            self.release_headers(id, dir);
        }
        if resumed {
            self.resume(dir, id, f, names.1).await?;
        }
        Ok(())
    }

    /// A side whose data has all arrived: done, or waiting when a stop is still in effect.
    fn side_end(&self, dir: Dir, mut f: Flow) -> Sided {
        if f.headers_held || f.withhold || f.paused || f.buffering {
            let names = names(dir);
            let why = format!(
                "{} paused the {} and nothing resumed it (no proxy_continue_stream). In Envoy the stream would wait until a timeout.",
                if f.headers_held && !f.paused && !f.buffering {
                    names.0
                } else {
                    names.1
                },
                if dir == Dir::Request {
                    "request"
                } else {
                    "response"
                },
            );
            return Sided::Waiting(f, why);
        }
        Sided::Done(std::mem::take(&mut f.forwarded))
    }

    pub(super) async fn body_callback(
        &mut self,
        dir: Dir,
        id: u32,
        f: &mut Flow,
        chunk: Vec<u8>,
        eos: bool,
        name: &str,
    ) -> Result<(), Stop> {
        let (legacy, max_body) = {
            let w = self.world.borrow();
            (
                w.cfg().body_buffering == crate::scenario::BodyBuffering::Legacy,
                w.cfg().limits.max_body_bytes,
            )
        };
        let visible = if f.buffering {
            let mut b = self.with_stream(id, |s| body_of(s, dir).clone());
            if !legacy {
                b.extend_from_slice(&chunk);
            }
            b
        } else {
            chunk.clone()
        };
        if f.buffering && visible.len() as u64 > max_body {
            return Err(Stop::LocalReply(too_large(dir)));
        }
        let len = visible.len();
        self.with_stream(id, |s| *body_of(s, dir) = visible);
        self.set_body_access(id, dir, Access::ReadWrite, eos);
        let ret = self
            .call(name, &[i64::from(id), len as i64, i64::from(eos)], id)
            .await;
        let index = self.last_callback;
        let action = match ret {
            super::CallOutcome::Returned(r) => Action::from_body(r.unwrap_or(0) as u32),
            _ => Action::Continue,
        };
        self.set_action(index, action);
        let resumed = self.after(id, dir).await?;
        let mut after = self.with_stream(id, |s| body_of(s, dir).clone());
        if legacy && f.buffering {
            after.extend_from_slice(&chunk);
        }
        match action {
            Action::Continue => {
                f.forwarded.append(&mut f.retained);
                f.forwarded.extend_from_slice(&after);
                f.buffering = false;
                f.paused = false;
                if f.headers_held {
                    f.headers_held = false;
                    self.release_headers(id, dir);
                }
                self.set_body_access(id, dir, Access::None, false);
            }
            Action::StopIterationAndBuffer => {
                f.buffering = true;
                f.paused = false;
                self.with_stream(id, |s| *body_of(s, dir) = after);
            }
            Action::StopIterationAndWatermark => {
                f.retained.extend_from_slice(&after);
                f.buffering = false;
                f.paused = true;
                self.set_body_access(id, dir, Access::None, false);
            }
            _ => {
                // StopIterationNoBuffer: the chunk is dropped.
                f.buffering = false;
                f.paused = true;
                self.set_body_access(id, dir, Access::None, false);
            }
        }
        if resumed {
            self.resume(dir, id, f, name).await?;
        }
        Ok(())
    }

    pub(super) async fn trailers_callback(
        &mut self,
        dir: Dir,
        id: u32,
        f: &mut Flow,
        name: &str,
    ) -> Result<(), Stop> {
        let n = self.with_stream(id, |s| trailers_of(s, dir).len());
        self.with_stream(id, |s| match dir {
            Dir::Request => s.req_trailers = Access::ReadWrite,
            Dir::Response => s.resp_trailers = Access::ReadWrite,
        });
        let ret = self.call(name, &[i64::from(id), n as i64], id).await;
        let index = self.last_callback;
        let action = match ret {
            super::CallOutcome::Returned(r) => Action::from_trailers(r.unwrap_or(0) as u32),
            _ => Action::Continue,
        };
        self.set_action(index, action);
        let resumed = self.after(id, dir).await?;
        f.trailers_done = true;
        if action == Action::Continue {
            self.with_stream(id, |s| match dir {
                Dir::Request => s.req_trailers = Access::None,
                Dir::Response => s.resp_trailers = Access::None,
            });
            // Trailers continuing also releases a buffered body.
            if f.buffering {
                let body = self.with_stream(id, |s| body_of(s, dir).clone());
                f.forwarded.append(&mut f.retained);
                f.forwarded.extend_from_slice(&body);
                f.buffering = false;
            }
            if f.headers_held && !f.withhold {
                f.headers_held = false;
                self.release_headers(id, dir);
            }
        } else {
            f.paused = true;
        }
        if resumed {
            self.resume(dir, id, f, name).await?;
        }
        Ok(())
    }

    /// `proxy_continue_stream` for this direction: release what is held and deliver what was
    /// withheld (the whole body so far, as one callback).
    pub(super) async fn resume(
        &mut self,
        dir: Dir,
        id: u32,
        f: &mut Flow,
        body_name: &str,
    ) -> Result<(), Stop> {
        f.headers_held = false;
        f.paused = false;
        if f.buffering {
            let body = self.with_stream(id, |s| body_of(s, dir).clone());
            f.forwarded.append(&mut f.retained);
            f.forwarded.extend_from_slice(&body);
            f.buffering = false;
        } else {
            f.forwarded.append(&mut f.retained);
        }
        self.release_headers(id, dir);
        if f.withhold {
            f.withhold = false;
            if !f.withheld.is_empty() {
                let data = std::mem::take(&mut f.withheld);
                let eos = f.complete && !f.trailers_withheld && f.trailers_done;
                let eos = eos || (f.complete && !f.trailers_withheld);
                Box::pin(self.body_callback(dir, id, f, data, eos, body_name)).await?;
            }
            if f.trailers_withheld {
                f.trailers_withheld = false;
                let name = if dir == Dir::Request {
                    "proxy_on_request_trailers"
                } else {
                    "proxy_on_response_trailers"
                };
                Box::pin(self.trailers_callback(dir, id, f, name)).await?;
            }
        }
        Ok(())
    }

    fn release_headers(&mut self, id: u32, dir: Dir) {
        self.with_stream(id, |s| match dir {
            Dir::Request => s.req_headers = Access::None,
            // `continue_stream` does not clear Envoy's response-headers pointer.
            Dir::Response => {
                if s.resp_headers == Access::ReadWrite {
                    s.resp_headers = Access::None;
                }
            }
        });
    }

    fn set_body_access(&mut self, id: u32, dir: Dir, access: Access, last_chunk: bool) {
        self.with_stream(id, |s| match dir {
            Dir::Request => {
                s.req_body = access;
                if last_chunk {
                    // Trailers may be created during the last chunk.
                    s.req_trailers = Access::ReadWrite;
                }
            }
            Dir::Response => {
                s.resp_body = access;
                if last_chunk {
                    s.resp_trailers = Access::ReadWrite;
                }
            }
        });
    }

    pub(super) fn set_action(&mut self, index: Option<usize>, action: Action) {
        let mut w = self.world.borrow_mut();
        if let Some(cb) = index.and_then(|i| w.trace.callbacks.get_mut(i))
            && cb.error.is_none()
        {
            cb.action = Some(action);
        }
    }

    pub(super) fn with_stream<R>(&mut self, id: u32, f: impl FnOnce(&mut HttpStream) -> R) -> R {
        let mut w = self.world.borrow_mut();
        f(w.streams
            .get_mut(&id)
            .expect("the stream lives until the request ends"))
    }

    pub(super) fn request_parts(&self, r: &Request) -> (Vec<Pair>, Vec<Vec<u8>>, Vec<Pair>) {
        let mut headers: Vec<Pair> = vec![
            (b":authority".to_vec(), r.authority.as_bytes().to_vec()),
            (b":path".to_vec(), r.path.as_bytes().to_vec()),
            (b":method".to_vec(), r.method.as_bytes().to_vec()),
            (b":scheme".to_vec(), r.scheme.as_bytes().to_vec()),
        ];
        headers.extend(to_pairs(&r.headers.0));
        let chunks = match body_chunks(&r.body, &r.chunks) {
            Ok(c) => c,
            Err(e) => {
                self.world.borrow_mut().note(format!("request body: {e}"));
                Vec::new()
            }
        };
        if !chunks.is_empty() && header(&headers, "content-length").is_none() && r.chunks.is_empty()
        {
            let len: usize = chunks.iter().map(Vec::len).sum();
            headers.push((b"content-length".to_vec(), len.to_string().into_bytes()));
        }
        // Envoy's connection manager adds these before any filter runs.
        if header(&headers, "x-forwarded-proto").is_none() {
            headers.push((b"x-forwarded-proto".to_vec(), r.scheme.as_bytes().to_vec()));
        }
        if header(&headers, "x-request-id").is_none() {
            let id = self.request_id();
            headers.push((b"x-request-id".to_vec(), id.into_bytes()));
        }
        (headers, chunks, to_pairs(&r.trailers.0))
    }

    fn request_id(&self) -> String {
        let mut w = self.world.borrow_mut();
        let a = w.next_random();
        let b = w.next_random();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The upstream's response as headers, body chunks and trailers.
pub(super) fn response_parts(r: &Response) -> (Vec<Pair>, Vec<Vec<u8>>, Vec<Pair>) {
    let mut headers: Vec<Pair> = vec![(b":status".to_vec(), r.status.to_string().into_bytes())];
    headers.extend(to_pairs(&r.headers.0));
    let chunks = body_chunks(&r.body, &r.chunks).unwrap_or_default();
    if !chunks.is_empty() && header(&headers, "content-length").is_none() && r.chunks.is_empty() {
        let len: usize = chunks.iter().map(Vec::len).sum();
        headers.push((b"content-length".to_vec(), len.to_string().into_bytes()));
    }
    (headers, chunks, to_pairs(&r.trailers.0))
}

/// The upstream's response as the client gets it when the filter is skipped.
fn upstream_response_untouched(r: &Response) -> ClientResponse {
    let (headers, chunks, trailers) = response_parts(r);
    ClientResponse {
        status: r.status,
        message: message(&headers, &chunks.concat(), &trailers),
        local_reply: false,
        details: "via_upstream".into(),
    }
}

/// The stream context a stream action names.
pub(super) fn acts_on(a: &Deferred) -> u32 {
    match a {
        Deferred::Continue(id, _) | Deferred::Close(id, _) => *id,
        Deferred::QueueReady { .. } => 0,
    }
}

/// The header, body and trailer callbacks of a direction.
pub(super) fn names(dir: Dir) -> (&'static str, &'static str, &'static str) {
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

fn headers_of(s: &mut HttpStream, dir: Dir) -> &mut Vec<Pair> {
    match dir {
        Dir::Request => &mut s.request_headers,
        Dir::Response => &mut s.response_headers,
    }
}

fn body_of(s: &mut HttpStream, dir: Dir) -> &mut Vec<u8> {
    match dir {
        Dir::Request => &mut s.request_body,
        Dir::Response => &mut s.response_body,
    }
}

fn trailers_of(s: &mut HttpStream, dir: Dir) -> &mut Vec<Pair> {
    match dir {
        Dir::Request => &mut s.request_trailers,
        Dir::Response => &mut s.response_trailers,
    }
}

pub(super) fn message(headers: &[Pair], body: &[u8], trailers: &[Pair]) -> Message {
    Message {
        headers: from_pairs(headers),
        body: Body::from_bytes(body),
        trailers: from_pairs(trailers),
    }
}

/// Envoy's reply when a fail-closed plugin has failed.
pub(super) fn fail_reply() -> ClientResponse {
    ClientResponse {
        status: 503,
        message: Message {
            headers: vec![(":status".into(), "503".into())],
            body: Body::Text(String::new()),
            trailers: Vec::new(),
        },
        local_reply: true,
        details: "wasm_fail_stream".into(),
    }
}

fn too_large(dir: Dir) -> LocalReply {
    let (status, body, details) = match dir {
        Dir::Request => (413, "Payload Too Large", "request_payload_too_large"),
        Dir::Response => (500, "Internal Server Error", "response_payload_too_large"),
    };
    LocalReply {
        status,
        details: details.into(),
        body: body.as_bytes().to_vec(),
        headers: Vec::new(),
        grpc_status: -1,
    }
}

fn grpc_status_for_http(status: u32) -> i32 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502..=504 => 14,
        _ => 2,
    }
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_graphic() && *b != b'%' || *b == b' ' {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
