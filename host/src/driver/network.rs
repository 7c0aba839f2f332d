//! One L4 connection through the plugin, as Envoy's network filter
//! (`source/extensions/common/wasm/context.cc`: `onNewConnection`, `onData`, `onWrite`,
//! `onEvent`, `onCloseTCP`) runs it in front of `tcp_proxy`. The semantics are summed up in
//! [`crate::connection`].

use super::{CallOutcome, Driver};
use crate::abi::{Action, StreamType};
use crate::connection::{
    CloseBy, CloseReport, ConnectionOutcome, Frame, FrameOutcome, Peer, PeerType,
};
use crate::scenario::Body;
use crate::state::{Deferred, TcpConnection};

/// What the plugin asked for during a callback (and the callout answers after it), which
/// Envoy applies once the VM call returns.
#[derive(Default)]
struct Asked {
    /// `proxy_continue_stream(DOWNSTREAM)`: `continueReading()`.
    continue_reading: bool,
    /// `proxy_close_stream(DOWNSTREAM|UPSTREAM)`: close the client's connection.
    close: Option<StreamType>,
}

/// The connection while it runs.
struct Net {
    id: u32,
    /// `tcp_proxy` has been reached (its `onNewConnection` connects upstream): until then the
    /// upstream cannot send anything.
    upstream_connected: bool,
    /// The client's end of stream arrived while its bytes were held; it goes upstream with them.
    downstream_eos_held: bool,
    /// Likewise for the upstream's.
    upstream_eos_held: bool,
    /// Bytes each peer sent.
    received: [Vec<u8>; 2],
    /// Bytes that reached the other peer.
    forwarded: [Vec<u8>; 2],
    /// The context ended (or the VM failed): nothing more reaches the plugin.
    ended: bool,
    /// The VM failed under `fail_open`: the filter steps aside and bytes pass untouched.
    passthrough: bool,
    out: ConnectionOutcome,
}

fn slot(peer: Peer) -> usize {
    match peer {
        Peer::Downstream => 0,
        Peer::Upstream => 1,
    }
}

impl Driver {
    /// Runs the scenario's connection: accept, each frame in order, closes.
    pub(crate) async fn connection(&mut self) {
        let Some(conn) = self.scenario.connection.clone() else {
            return;
        };
        if self.failed {
            return;
        }
        // Frames that come later on the clock put its moves and the ticks on the timeline.
        self.marks = conn.frames.iter().any(|f| f.after_ms > 0);
        let (id, root) = {
            let mut w = self.world.borrow_mut();
            let id = w.next_context_id;
            w.next_context_id += 1;
            let root = w.root_id;
            w.contexts.insert(id, root);
            w.connection = Some(TcpConnection::new(id, conn.clone()));
            (id, root)
        };
        let mut n = Net {
            id,
            upstream_connected: false,
            downstream_eos_held: false,
            upstream_eos_held: false,
            received: [Vec::new(), Vec::new()],
            forwarded: [Vec::new(), Vec::new()],
            ended: false,
            passthrough: false,
            out: ConnectionOutcome {
                context_id: id,
                ..ConnectionOutcome::default()
            },
        };
        self.publish(&n);
        let _ = self
            .call(
                "proxy_on_context_create",
                &[i64::from(id), i64::from(root)],
                id,
            )
            .await;
        let ret = self
            .call("proxy_on_new_connection", &[i64::from(id)], id)
            .await;
        let action = self.network_action(ret);
        n.out.new_connection = Some(action);
        // A stop here keeps `tcp_proxy` from connecting until data continues or the plugin
        // resumes reading.
        if action == Action::Continue {
            self.connect_upstream(&mut n);
        }
        let mut first = FrameOutcome {
            index: 0,
            from: Peer::Downstream,
            data: Body::default(),
            end_of_stream: false,
            callback: None,
            seen: None,
            changed_to: None,
            action: None,
            forwarded: Body::default(),
            held: 0,
            note: String::new(),
        };
        self.after_callback(&mut n, &mut first).await;
        for (index, frame) in conn.frames.iter().enumerate() {
            let fo = self.frame(&mut n, index as u32, frame).await;
            n.out.frames.push(fo);
            self.publish(&n);
        }
        if !n.ended {
            self.world.borrow_mut().note(
                "the connection is still open at the end of the scenario: Envoy calls proxy_on_done, proxy_on_log and proxy_on_delete only when it closes (add a frame with \"close\")",
            );
        }
        self.publish(&n);
    }

    /// One scenario frame: its bytes, then its close.
    async fn frame(&mut self, n: &mut Net, index: u32, frame: &Frame) -> FrameOutcome {
        let data = match frame.data.as_ref().map(Body::bytes).transpose() {
            Ok(d) => d.unwrap_or_default(),
            Err(e) => {
                self.world
                    .borrow_mut()
                    .note(format!("connection frame {index}: {e}"));
                Vec::new()
            }
        };
        let mut fo = FrameOutcome {
            index,
            from: frame.from,
            data: Body::from_bytes(&data),
            end_of_stream: frame.end_of_stream,
            callback: None,
            seen: None,
            changed_to: None,
            action: None,
            forwarded: Body::default(),
            held: 0,
            note: String::new(),
        };
        if frame.after_ms > 0 && !self.failed {
            // The root's ticks and late callout answers fall due while the connection waits
            // for this frame; what they asked of the connection happens before it arrives.
            self.advance_clock(frame.after_ms.saturating_mul(1_000_000))
                .await;
            if !n.ended && !n.passthrough {
                let mut meanwhile = fo.clone();
                self.after_callback(n, &mut meanwhile).await;
                if let Ok(bytes) = meanwhile.forwarded.bytes()
                    && !bytes.is_empty()
                {
                    fo.note = format!(
                        "before it, on the clock, the plugin let {} held bytes from the client through",
                        bytes.len()
                    );
                }
            }
        }
        if n.ended {
            fo.note = "not delivered: the connection is closed".into();
            return fo;
        }
        n.received[slot(frame.from)].extend_from_slice(&data);
        if n.passthrough {
            n.forwarded[slot(frame.from)].extend_from_slice(&data);
            fo.forwarded = Body::from_bytes(&data);
            fo.note = "passed on untouched: the plugin failed and fails open".into();
            if frame.close.is_some() {
                n.ended = true;
            }
            return fo;
        }
        if !data.is_empty() || frame.end_of_stream {
            self.data(n, &mut fo, frame.from, data, frame.end_of_stream)
                .await;
        }
        if let Some(by) = frame.close
            && !n.ended
        {
            let (peer_type, reason) = match (frame.from, by) {
                (Peer::Downstream, CloseBy::Remote) => {
                    (PeerType::Remote, "the client closed the connection")
                }
                (Peer::Downstream, CloseBy::Local) => {
                    (PeerType::Local, "Envoy closed the client's connection")
                }
                (Peer::Upstream, _) => (
                    PeerType::Local,
                    "the upstream connection closed, so tcp_proxy closed the client's connection",
                ),
            };
            self.close_downstream(n, peer_type, reason).await;
        }
        fo.held = self.buffer(frame.from).len() as u64;
        fo
    }

    /// Bytes (and end of stream) from `from`: appended to the connection buffer, which the
    /// plugin sees whole.
    async fn data(
        &mut self,
        n: &mut Net,
        fo: &mut FrameOutcome,
        from: Peer,
        data: Vec<u8>,
        eos: bool,
    ) {
        if from == Peer::Upstream && !n.upstream_connected {
            fo.note = "not delivered: proxy_on_new_connection stopped and nothing continued, so tcp_proxy never connected upstream".into();
            return;
        }
        let seen = {
            let mut w = self.world.borrow_mut();
            let c = w
                .connection
                .as_mut()
                .expect("the connection lives until the run ends");
            let buf = match from {
                Peer::Downstream => {
                    c.downstream_open = true;
                    &mut c.downstream
                }
                Peer::Upstream => {
                    c.upstream_open = true;
                    &mut c.upstream
                }
            };
            buf.extend_from_slice(&data);
            buf.clone()
        };
        let name = match from {
            Peer::Downstream => "proxy_on_downstream_data",
            Peer::Upstream => "proxy_on_upstream_data",
        };
        let ret = self
            .call(
                name,
                &[i64::from(n.id), seen.len() as i64, i64::from(eos)],
                n.id,
            )
            .await;
        fo.callback = self.last_callback;
        let action = self.network_action(ret);
        fo.action = Some(action);
        fo.seen = Some(Body::from_bytes(&seen));
        let after = self.buffer(from);
        if after != seen {
            fo.changed_to = Some(Body::from_bytes(&after));
        }
        if eos {
            match from {
                Peer::Downstream => n.downstream_eos_held = true,
                Peer::Upstream => n.upstream_eos_held = true,
            }
        }
        if action == Action::Continue {
            if from == Peer::Downstream {
                self.connect_upstream(n);
            }
            self.release(n, fo, from);
        }
        self.after_callback(n, fo).await;
        if from == Peer::Upstream && eos && !self.failed && !n.ended {
            // Envoy infers the upstream close from the end of stream it writes to the client,
            // whatever the callback returned (after what the callback asked for).
            let _ = self
                .call(
                    "proxy_on_upstream_connection_close",
                    &[i64::from(n.id), i64::from(PeerType::Unknown.abi())],
                    n.id,
                )
                .await;
            n.out.closes.push(CloseReport {
                side: Peer::Upstream,
                peer_type: PeerType::Unknown,
                reason: "the upstream sent end of stream".into(),
            });
            self.after_callback(n, fo).await;
        }
    }

    /// Passes the buffer of `from` on to the other peer, as the plugin left it.
    fn release(&mut self, n: &mut Net, fo: &mut FrameOutcome, from: Peer) {
        let bytes = {
            let mut w = self.world.borrow_mut();
            let c = w.connection.as_mut().expect("connection");
            match from {
                Peer::Downstream => {
                    c.downstream_open = false;
                    std::mem::take(&mut c.downstream)
                }
                Peer::Upstream => {
                    c.upstream_open = false;
                    std::mem::take(&mut c.upstream)
                }
            }
        };
        n.forwarded[slot(from)].extend_from_slice(&bytes);
        let mut shown = fo.forwarded.bytes().unwrap_or_default();
        shown.extend_from_slice(&bytes);
        fo.forwarded = Body::from_bytes(&shown);
        let direction = match from {
            Peer::Downstream => &mut n.out.downstream,
            Peer::Upstream => &mut n.out.upstream,
        };
        let held = match from {
            Peer::Downstream => &mut n.downstream_eos_held,
            Peer::Upstream => &mut n.upstream_eos_held,
        };
        if std::mem::take(held) {
            direction.end_of_stream = true;
        }
    }

    /// After a callback: what it asked for (answering callouts first), applied as Envoy does.
    async fn after_callback(&mut self, n: &mut Net, fo: &mut FrameOutcome) {
        if self.vm_failed(n) {
            return;
        }
        self.settle().await;
        if self.vm_failed(n) {
            return;
        }
        let mut asked = Asked::default();
        let mine: Vec<Deferred> = {
            let mut w = self.world.borrow_mut();
            let (mine, rest) = std::mem::take(&mut w.applied).into_iter().partition(
                |a| matches!(a, Deferred::Continue(id, _) | Deferred::Close(id, _) if *id == n.id),
            );
            w.applied = rest;
            mine
        };
        for a in mine {
            match a {
                Deferred::Continue(_, StreamType::Downstream) => asked.continue_reading = true,
                Deferred::Close(_, t) => {
                    asked.close.get_or_insert(t);
                }
                _ => {}
            }
        }
        if asked.continue_reading {
            // `continueReading()` runs the filters after this one: `tcp_proxy` connects (if it
            // had not) and takes the buffer.
            self.connect_upstream(n);
            let held = !self.buffer(Peer::Downstream).is_empty() || n.downstream_eos_held;
            if held {
                self.release(n, fo, Peer::Downstream);
            }
        }
        if let Some(t) = asked.close {
            let name = format!("{t:?}").to_lowercase();
            n.out.closed_by_plugin = Some(name.clone());
            let reason = format!("the plugin closed the connection (proxy_close_stream({name}))");
            self.close_downstream(n, PeerType::Local, &reason).await;
        }
    }

    /// `tcp_proxy` is reached and connects upstream (at once, on the virtual clock): from now
    /// on the upstream can send, and the plugin can read `upstream.*`.
    fn connect_upstream(&self, n: &mut Net) {
        n.upstream_connected = true;
        if let Some(c) = self.world.borrow_mut().connection.as_mut() {
            c.upstream_connected = true;
        }
    }

    /// The VM failed in the last callback: Envoy closes the connection (`failStream`) and
    /// calls nothing more in the plugin.
    /// Under `fail_open` the filter steps aside instead, and the connection goes on untouched.
    fn vm_failed(&mut self, n: &mut Net) -> bool {
        if self.failed && !n.ended && !n.passthrough {
            let fail_open = self.world.borrow().cfg().fail_open;
            if fail_open {
                n.passthrough = true;
                // What the failed callback held goes on as it is.
                for peer in [Peer::Downstream, Peer::Upstream] {
                    let bytes = self.buffer(peer);
                    n.forwarded[slot(peer)].extend_from_slice(&bytes);
                }
                let mut w = self.world.borrow_mut();
                if let Some(c) = w.connection.as_mut() {
                    c.downstream.clear();
                    c.upstream.clear();
                }
                w.note("the plugin failed and fails open: the connection goes on without it");
            } else {
                n.ended = true;
                let mut w = self.world.borrow_mut();
                if let Some(c) = w.connection.as_mut() {
                    c.downstream.clear();
                    c.upstream.clear();
                }
                w.note(
                    "the plugin failed: Envoy closes the connection and calls nothing more in the plugin",
                );
            }
        }
        self.failed
    }

    /// The client's connection closed: the close callback, then done, log and delete
    /// (`onCloseTCP`).
    async fn close_downstream(&mut self, n: &mut Net, peer_type: PeerType, reason: &str) {
        n.ended = true;
        let id = i64::from(n.id);
        let _ = self
            .call(
                "proxy_on_downstream_connection_close",
                &[id, i64::from(peer_type.abi())],
                n.id,
            )
            .await;
        // Bytes still held in the connection buffers go nowhere.
        let dropped = {
            let mut w = self.world.borrow_mut();
            let c = w.connection.as_mut().expect("connection");
            c.downstream_open = false;
            c.upstream_open = false;
            [
                std::mem::take(&mut c.downstream).len(),
                std::mem::take(&mut c.upstream).len(),
            ]
        };
        let mut reason = reason.to_string();
        for (bytes, from) in dropped.iter().zip(["the client", "the upstream"]) {
            if *bytes > 0 {
                reason.push_str(&format!("; {bytes} held bytes from {from} dropped"));
            }
        }
        n.out.closes.push(CloseReport {
            side: Peer::Downstream,
            peer_type,
            reason,
        });
        let _ = self.call("proxy_on_done", &[id], n.id).await;
        let _ = self.call("proxy_on_log", &[id], n.id).await;
        let _ = self.call("proxy_on_delete", &[id], n.id).await;
        self.settle().await;
        let mut w = self.world.borrow_mut();
        w.contexts.remove(&n.id);
        w.applied.retain(
            |a| !matches!(a, Deferred::Continue(id, _) | Deferred::Close(id, _) if *id == n.id),
        );
        n.out.closed = !self.failed;
    }

    /// The action a network callback's return value means (and records it in the trace). A
    /// missing export is Continue; a failed callback is StopIteration, or Continue under
    /// `fail_open` (cpp-host's `CHECK_FAIL_NET`).
    fn network_action(&mut self, ret: CallOutcome) -> Action {
        match ret {
            CallOutcome::Returned(r) => {
                let action = Action::from_network(r.unwrap_or(0) as u32);
                self.set_action(self.last_callback, action);
                action
            }
            CallOutcome::Missing => Action::Continue,
            CallOutcome::Failed(_) => {
                if self.world.borrow().cfg().fail_open {
                    Action::Continue
                } else {
                    Action::StopIteration
                }
            }
        }
    }

    /// A copy of the buffer of `peer`.
    fn buffer(&self, peer: Peer) -> Vec<u8> {
        let w = self.world.borrow();
        w.connection
            .as_ref()
            .map(|c| c.buffer(peer).0.clone())
            .unwrap_or_default()
    }

    /// Makes the outcome so far visible in the world (the report and a paused session read it).
    fn publish(&self, n: &Net) {
        let mut out = n.out.clone();
        out.downstream.received = Body::from_bytes(&n.received[0]);
        out.downstream.forwarded = Body::from_bytes(&n.forwarded[0]);
        out.downstream.held = Body::from_bytes(&self.buffer(Peer::Downstream));
        out.upstream.received = Body::from_bytes(&n.received[1]);
        out.upstream.forwarded = Body::from_bytes(&n.forwarded[1]);
        out.upstream.held = Body::from_bytes(&self.buffer(Peer::Upstream));
        self.world.borrow_mut().connection_outcome = Some(out);
    }
}
