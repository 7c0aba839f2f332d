//! What each replayed request produced: what reached the upstream and what the client got.

use serde::{Deserialize, Serialize};

use crate::scenario::Body;

/// A request or response as it left the filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Headers (pseudo-headers included), in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
    /// Trailers.
    pub trailers: Vec<(String, String)>,
}

/// What the client received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientResponse {
    /// `:status`
    pub status: u16,
    /// Headers (with `:status`), body and trailers.
    #[serde(flatten)]
    pub message: Message,
    /// Sent by a plugin (`proxy_send_local_response`) or by Envoy on the plugin's behalf.
    pub local_reply: bool,
    /// `response.code_details`.
    pub details: String,
}

/// The outcome of one replayed request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestOutcome {
    /// 0-based index.
    pub index: u32,
    /// What reached the upstream, if anything did.
    pub upstream_request: Option<Message>,
    /// What the client received; `None` when the stream was reset or stalled.
    pub client_response: Option<ClientResponse>,
    /// The stream was reset (`proxy_close_stream`).
    pub reset: bool,
    /// Why the stream never finished, if it did not.
    pub stalled: Option<String>,
    /// Wall time of the request's callbacks, in microseconds.
    pub duration_us: f64,
    /// Guest memory after the request, in pages.
    pub memory_pages: u32,
}
