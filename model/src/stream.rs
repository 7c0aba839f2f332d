//! The live state of a run that a paused view shows: the HTTP stream in flight (its header
//! maps, bodies and trailers, and what the plugin may do with each now) and the one L4
//! connection of a network-filter run. `pwp-host` keeps and changes them while a plugin runs,
//! and records in the trace what each callback changed ([`HttpStream::take_changes`]); the
//! page shows them as they are at a pause.

mod changes;
mod tcp;

pub use changes::Originals;
pub use tcp::TcpConnection;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::trace::ChangeTarget;

/// A header entry as bytes (values need not be UTF-8).
pub type Pair = (Vec<u8>, Vec<u8>);

/// Whether a header map or body may be read or written now (Envoy keeps raw pointers to
/// them only at certain moments; see the host reference §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Not available.
    #[default]
    None,
    /// Readable.
    ReadOnly,
    /// Readable and writable.
    ReadWrite,
}

/// A local reply the plugin asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u32,
    /// Response code details, as given.
    pub details: String,
    /// Body.
    pub body: Vec<u8>,
    /// Extra headers.
    pub headers: Vec<Pair>,
    /// gRPC status, or -1.
    pub grpc_status: i32,
}

/// An HTTP stream in flight (one per request; several while requests wait).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HttpStream {
    /// Context id.
    pub id: u32,
    /// Which replayed request (0-based).
    pub index: u32,
    /// Request headers, pseudo-headers first.
    pub request_headers: Vec<Pair>,
    /// The request body visible to the plugin now.
    pub request_body: Vec<u8>,
    /// Request trailers.
    pub request_trailers: Vec<Pair>,
    /// Response headers.
    pub response_headers: Vec<Pair>,
    /// The response body visible to the plugin now.
    pub response_body: Vec<u8>,
    /// Response trailers.
    pub response_trailers: Vec<Pair>,
    /// Access to request headers.
    pub req_headers: Access,
    /// Access to the request body.
    pub req_body: Access,
    /// Access to request trailers (may be created during the last body chunk).
    pub req_trailers: Access,
    /// Access to response headers.
    pub resp_headers: Access,
    /// Access to the response body.
    pub resp_body: Access,
    /// Access to response trailers.
    pub resp_trailers: Access,
    /// The local reply requested during the current callback.
    pub local_reply: Option<LocalReply>,
    /// Local replies requested over the stream's life.
    pub local_replies: u32,
    /// Filter state written with `proxy_set_property` (`wasm.` prefix left out).
    pub filter_state: BTreeMap<String, Vec<u8>>,
    /// `response.code` once known.
    pub response_code: Option<u32>,
    /// `response.code_details` once known.
    pub code_details: String,
    /// Whether the request is gRPC (`content-type: application/grpc...`).
    pub grpc: bool,
    /// Bytes received from downstream.
    pub request_size: u64,
    /// Request start, virtual ns since epoch.
    pub start_ns: u64,
    /// `request.protocol`
    pub protocol: String,
    /// What the current callback changed: maps and bodies as they were before its first change
    /// (the host's bookkeeping for the trace; never sent, and empty between callbacks).
    #[serde(skip)]
    pub originals: Originals,
}

/// A header or trailer map of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMap {
    /// `request_headers`
    RequestHeaders,
    /// `response_headers`
    ResponseHeaders,
    /// `request_trailers`
    RequestTrailers,
    /// `response_trailers`
    ResponseTrailers,
}

impl StreamMap {
    /// Every map, in the order the trace lists their changes.
    pub const ALL: [StreamMap; 4] = [
        StreamMap::RequestHeaders,
        StreamMap::ResponseHeaders,
        StreamMap::RequestTrailers,
        StreamMap::ResponseTrailers,
    ];

    /// What the trace calls it ([`Change::target`](crate::trace::Change::target)).
    pub fn target(self) -> ChangeTarget {
        match self {
            StreamMap::RequestHeaders => ChangeTarget::RequestHeaders,
            StreamMap::ResponseHeaders => ChangeTarget::ResponseHeaders,
            StreamMap::RequestTrailers => ChangeTarget::RequestTrailers,
            StreamMap::ResponseTrailers => ChangeTarget::ResponseTrailers,
        }
    }

    /// The name in the trace.
    pub fn name(self) -> &'static str {
        self.target().name()
    }
}

impl HttpStream {
    /// Where a chain keeps the stream while a filter runs: the filter's context id, or for a
    /// filter that has not seen it yet a key no context id reaches.
    pub fn chain_key(&self) -> u32 {
        if self.id != 0 {
            self.id
        } else {
            u32::MAX - self.index
        }
    }

    /// Which maps the running filter may touch now (request headers, body, trailers, then
    /// the response's).
    pub fn views(&self) -> [Access; 6] {
        [
            self.req_headers,
            self.req_body,
            self.req_trailers,
            self.resp_headers,
            self.resp_body,
            self.resp_trailers,
        ]
    }

    /// Sets what [`HttpStream::views`] returns.
    pub fn set_views(&mut self, a: [Access; 6]) {
        [
            self.req_headers,
            self.req_body,
            self.req_trailers,
            self.resp_headers,
            self.resp_body,
            self.resp_trailers,
        ] = a;
    }

    /// A header or trailer map.
    pub fn map(&self, m: StreamMap) -> &Vec<Pair> {
        match m {
            StreamMap::RequestHeaders => &self.request_headers,
            StreamMap::ResponseHeaders => &self.response_headers,
            StreamMap::RequestTrailers => &self.request_trailers,
            StreamMap::ResponseTrailers => &self.response_trailers,
        }
    }

    /// What the plugin may do with a map now.
    pub fn access(&self, m: StreamMap) -> Access {
        match m {
            StreamMap::RequestHeaders => self.req_headers,
            StreamMap::ResponseHeaders => self.resp_headers,
            StreamMap::RequestTrailers => self.req_trailers,
            StreamMap::ResponseTrailers => self.resp_trailers,
        }
    }
}

/// The first value of header `name` (already lower-case) in `pairs`.
pub fn header(pairs: &[Pair], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k.as_slice() == name.as_bytes())
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// Converts string pairs to byte pairs, lower-casing names.
pub fn to_pairs(headers: &[(String, String)]) -> Vec<Pair> {
    headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase().into_bytes(), v.as_bytes().to_vec()))
        .collect()
}

/// Converts byte pairs to (lossy) string pairs.
pub fn from_pairs(pairs: &[Pair]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}
