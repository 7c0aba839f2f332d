//! The one L4 connection of a network-filter run: the connection buffers Envoy hands the
//! plugin, and what its host calls changed in them.

use serde::{Deserialize, Serialize};

use super::changes::buffer_change;
use crate::connection::{Connection, Peer};
use crate::trace::{Change, ChangeTarget};

/// The connection being proxied.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TcpConnection {
    /// Context id.
    pub id: u32,
    /// The scenario's connection (addresses, TLS facts for the properties).
    pub props: Connection,
    /// The client's bytes not yet passed upstream: the connection's read buffer, which keeps
    /// what a StopIteration held and gathers the next reads behind it.
    pub downstream: Vec<u8>,
    /// The upstream's bytes not yet passed to the client.
    pub upstream: Vec<u8>,
    /// Envoy holds a pointer to the downstream buffer (inside `proxy_on_downstream_data`, and
    /// after it while it stopped): `DOWNSTREAM_DATA` is readable and writable.
    pub downstream_open: bool,
    /// Likewise for `UPSTREAM_DATA`.
    pub upstream_open: bool,
    /// `tcp_proxy` has connected upstream: `upstream.address` and `upstream.port` exist.
    pub upstream_connected: bool,
    /// Filter state written with `proxy_set_property`.
    pub filter_state: std::collections::BTreeMap<String, Vec<u8>>,
    /// The buffers as they were before the current callback first changed them.
    #[serde(skip)]
    originals: [Option<Vec<u8>>; 2],
}

impl TcpConnection {
    /// A new connection with context `id`.
    pub fn new(id: u32, props: Connection) -> TcpConnection {
        TcpConnection {
            id,
            props,
            ..TcpConnection::default()
        }
    }

    /// The buffer of `peer`, and whether the plugin may use it now.
    pub fn buffer(&self, peer: Peer) -> (&Vec<u8>, bool) {
        match peer {
            Peer::Downstream => (&self.downstream, self.downstream_open),
            Peer::Upstream => (&self.upstream, self.upstream_open),
        }
    }

    /// The buffer of `peer` for a host call to change; what it was before the current
    /// callback's first change is kept for [`TcpConnection::take_changes`].
    pub fn buffer_to_change(&mut self, peer: Peer) -> &mut Vec<u8> {
        let (buf, original) = match peer {
            Peer::Downstream => (&mut self.downstream, &mut self.originals[0]),
            Peer::Upstream => (&mut self.upstream, &mut self.originals[1]),
        };
        original.get_or_insert_with(|| buf.clone());
        buf
    }

    /// Starts a callback: changes are recorded from here.
    pub fn forget_changes(&mut self) {
        self.originals = [None, None];
    }

    /// What the host calls changed since [`TcpConnection::forget_changes`]; starts over.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let [down, up] = std::mem::take(&mut self.originals);
        let down = buffer_change(ChangeTarget::DownstreamData, down, &self.downstream);
        let up = buffer_change(ChangeTarget::UpstreamData, up, &self.upstream);
        down.into_iter().chain(up).collect()
    }
}
