//! L4 (TCP) connections: the plugin as an Envoy network filter (`envoy.filters.network.wasm`
//! in front of `tcp_proxy`). The scenario's [`Connection`] lists what happens on the
//! connection; the report's [`ConnectionOutcome`] says what the plugin saw, changed and let
//! through; [`ConnectionExpect`] asserts on it.
//!
//! What Envoy does, and so what the host does:
//! - `proxy_on_context_create(ctx, root)` and `proxy_on_new_connection(ctx)` when the
//!   connection is accepted.
//! - Each read from the client: `proxy_on_downstream_data(ctx, len, end_of_stream)` with the
//!   connection's whole read buffer. A return other than 0 (StopIteration) leaves the bytes in
//!   that buffer: the next read is appended to them and the plugin sees both, until a callback
//!   returns Continue or the plugin calls `proxy_continue_stream(DOWNSTREAM)`; then the
//!   buffer, as the plugin left it, goes to the upstream.
//! - Each read from the upstream: `proxy_on_upstream_data(ctx, len, end_of_stream)` likewise
//!   (held bytes wait for the next upstream read that continues; Envoy has no way to resume
//!   this direction: `proxy_continue_stream(UPSTREAM)` is `Unimplemented`). An upstream end
//!   of stream is followed by `proxy_on_upstream_connection_close(ctx, Unknown)`: Envoy infers
//!   the upstream close from it.
//! - The downstream connection closing: `proxy_on_downstream_connection_close(ctx, peer)`,
//!   `Remote` when the client closed it, `Local` when Envoy did (`tcp_proxy` after the
//!   upstream connection closed, or the plugin's `proxy_close_stream`), then
//!   `proxy_on_done`, `proxy_on_log`, `proxy_on_delete` (that order, unlike HTTP streams).

use serde::{Deserialize, Serialize};

use crate::abi::Action;
use crate::report::ExpectationResult;
use crate::scenario::Body;

/// An L4 connection through the plugin, run as a network filter instead of an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Connection {
    /// What happens on the connection, in order: data from either peer, and closes.
    pub frames: Vec<Frame>,
    /// `source.address`: the client's address, `ip:port` (`source.port` is the port).
    pub source_address: String,
    /// `destination.address`: the listener address the client connected to, `ip:port`.
    pub destination_address: String,
    /// `upstream.address`: the upstream host `tcp_proxy` connected to, `ip:port`.
    pub upstream_address: String,
    /// `connection.id` (also `connection_id`).
    pub id: u64,
    /// `connection.mtls`: the client presented a certificate over TLS.
    pub mtls: bool,
    /// `connection.requested_server_name`: the SNI the client asked for (empty if none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub requested_server_name: String,
    /// `connection.tls_version` (e.g. `TLSv1.3`); empty for a plain TCP connection, where
    /// Envoy serves no TLS properties.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_version: String,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            frames: Vec::new(),
            source_address: "10.0.0.2:54321".into(),
            destination_address: "10.0.0.1:8080".into(),
            upstream_address: "10.0.0.10:80".into(),
            id: 1,
            mtls: false,
            requested_server_name: String::new(),
            tls_version: String::new(),
        }
    }
}

/// Which end of the proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// The client, whose connection Envoy accepted.
    #[default]
    Downstream,
    /// The upstream host `tcp_proxy` connected to.
    Upstream,
}

impl Peer {
    /// `downstream` or `upstream`.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Downstream => "downstream",
            Peer::Upstream => "upstream",
        }
    }
}

/// Who closed a connection: a frame's `close`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CloseBy {
    /// The peer closed its connection (Envoy's `RemoteClose`).
    Remote,
    /// Envoy closed it (a timeout, an error: `LocalClose`).
    Local,
}

/// One thing that happens on the connection: bytes from a peer, or a peer's connection
/// closing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Frame {
    /// Which peer sends the bytes or closes: `downstream` (the client) or `upstream`.
    pub from: Peer,
    /// The bytes, as text or `{"base64": "..."}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Body>,
    /// The peer half-closes after these bytes (TCP FIN): the callback's `end_of_stream`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub end_of_stream: bool,
    /// The peer's connection closes (after `data`, if any). A downstream close reaches the
    /// plugin as `proxy_on_downstream_connection_close` with this peer type; an upstream close
    /// makes `tcp_proxy` close the client's connection, which the plugin sees as a `local`
    /// downstream close (Envoy reports no upstream close event to network filters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close: Option<CloseBy>,
    /// The frame comes this many milliseconds (at most a day) after the one before it (or
    /// after the connection opened): the virtual clock moves that far first, firing the
    /// plugin's ticks (`proxy_on_tick`) and the delayed callout answers due on the way, and
    /// what they ask of the connection (`proxy_continue_stream`, `proxy_close_stream`) is done
    /// before the frame arrives. 0 or absent: at once, no tick fires.
    #[serde(skip_serializing_if = "is_zero")]
    pub after_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Envoy's peer type for the close callbacks (`proxy_peer_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerType {
    /// 0: not known (an upstream close inferred from an end of stream).
    Unknown,
    /// 1: Envoy closed the connection.
    Local,
    /// 2: the peer closed it.
    Remote,
}

impl PeerType {
    /// The ABI value.
    pub fn abi(self) -> u32 {
        match self {
            PeerType::Unknown => 0,
            PeerType::Local => 1,
            PeerType::Remote => 2,
        }
    }

    /// `unknown`, `local` or `remote`.
    pub fn name(self) -> &'static str {
        match self {
            PeerType::Unknown => "unknown",
            PeerType::Local => "local",
            PeerType::Remote => "remote",
        }
    }
}

/// One close callback the plugin received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseReport {
    /// Which connection's close callback.
    pub side: Peer,
    /// The peer type passed to it.
    pub peer_type: PeerType,
    /// Why, in words.
    pub reason: String,
}

impl CloseReport {
    /// `downstream remote`, `upstream unknown`, ...: what `expect.connection.closes` lists.
    pub fn label(&self) -> String {
        format!("{} {}", self.side.name(), self.peer_type.name())
    }
}

/// What became of one scenario frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameOutcome {
    /// Index in `connection.frames`.
    pub index: u32,
    /// The sending peer.
    pub from: Peer,
    /// The frame's own bytes.
    pub data: Body,
    /// The frame carried end of stream.
    pub end_of_stream: bool,
    /// The data callback that ran for it (index in the trace), if one did.
    pub callback: Option<usize>,
    /// What the plugin was shown: the connection buffer, held bytes included.
    pub seen: Option<Body>,
    /// The buffer as the plugin left it, when it changed it.
    pub changed_to: Option<Body>,
    /// What the callback returned.
    pub action: Option<Action>,
    /// Bytes passed on to the other peer because of this frame (held bytes released too).
    pub forwarded: Body,
    /// Bytes still held in the connection buffer after it.
    pub held: u64,
    /// What else happened (not delivered, connection closed, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One direction of the connection, summed over its frames.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Direction {
    /// Bytes the peer sent (all its frames).
    pub received: Body,
    /// Bytes that reached the other peer, as the plugin left them.
    pub forwarded: Body,
    /// Bytes held in the connection buffer at the end (StopIteration with nothing after it).
    pub held: Body,
    /// The peer sent end of stream and it was passed on.
    pub end_of_stream: bool,
}

impl Default for Body {
    fn default() -> Self {
        Body::Text(String::new())
    }
}

/// What happened on the connection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectionOutcome {
    /// The connection's context id.
    pub context_id: u32,
    /// What `proxy_on_new_connection` returned.
    pub new_connection: Option<Action>,
    /// Each scenario frame, in order.
    pub frames: Vec<FrameOutcome>,
    /// Client to upstream.
    pub downstream: Direction,
    /// Upstream to client.
    pub upstream: Direction,
    /// Close callbacks, in order.
    pub closes: Vec<CloseReport>,
    /// The plugin closed the connection (`proxy_close_stream`), naming the stream type.
    pub closed_by_plugin: Option<String>,
    /// The context ended (`proxy_on_done`, `proxy_on_log`, `proxy_on_delete` ran). False
    /// when the scenario ends with the connection still open.
    pub closed: bool,
}

/// Assertions on the connection (L4 scenarios).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionExpect {
    /// Every byte that reached the upstream, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_upstream: Option<Body>,
    /// Every byte that reached the client, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_downstream: Option<Body>,
    /// The close callbacks, in order: `downstream remote`, `downstream local`,
    /// `upstream unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes: Option<Vec<String>>,
    /// Whether the connection's context ended (done, log, delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
    /// The stream type the plugin closed with `proxy_close_stream` (`downstream`, `upstream`),
    /// or `null` for none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub closed_by_plugin: Option<Option<String>>,
}

/// A field that is present, even as `null`, is `Some` (plain serde reads `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn or_none(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "none".into())
}

fn text(b: &Body) -> String {
    match b.bytes() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => e,
    }
}

fn result(name: String, passed: bool, detail: String) -> ExpectationResult {
    ExpectationResult {
        name,
        passed,
        detail: if passed { String::new() } else { detail },
    }
}

/// Checks `e` against the connection outcome (`None`: the run had no connection).
pub fn check(
    c: Option<&ConnectionOutcome>,
    e: &ConnectionExpect,
    out: &mut Vec<ExpectationResult>,
) {
    let Some(c) = c else {
        out.push(result(
            "connection exists".into(),
            false,
            "the run had no connection (the scenario has no `connection`, or the plugin failed to start)".into(),
        ));
        return;
    };
    for (name, want, got) in [
        ("to_upstream", &e.to_upstream, &c.downstream.forwarded),
        ("to_downstream", &e.to_downstream, &c.upstream.forwarded),
    ] {
        if let Some(want) = want {
            let (want, got) = (text(want), text(got));
            out.push(result(
                format!("connection.{name} == {want:?}"),
                want == got,
                format!("expected {want:?}\n     got {got:?}"),
            ));
        }
    }
    if let Some(want) = &e.closes {
        let got: Vec<String> = c.closes.iter().map(CloseReport::label).collect();
        out.push(result(
            format!("connection.closes == {want:?}"),
            *want == got,
            format!("expected {want:?}, got {got:?}"),
        ));
    }
    if let Some(want) = e.closed {
        out.push(result(
            format!("connection.closed == {want}"),
            want == c.closed,
            format!("expected {want}, got {}", c.closed),
        ));
    }
    if let Some(want) = &e.closed_by_plugin {
        out.push(result(
            format!("connection.closed_by_plugin == {}", or_none(want)),
            *want == c.closed_by_plugin,
            format!(
                "expected {}, got {}",
                or_none(want),
                or_none(&c.closed_by_plugin)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_from_yaml_friendly_json() {
        let c: Connection = serde_json::from_str(
            r#"{"frames": [{"data": "hi"}, {"from": "upstream", "data": {"base64": "AAE="}, "end_of_stream": true}, {"close": "remote"}]}"#,
        )
        .unwrap();
        assert_eq!(c.frames[0].from, Peer::Downstream);
        assert_eq!(
            c.frames[1].data.as_ref().unwrap().bytes().unwrap(),
            vec![0, 1]
        );
        assert!(c.frames[1].end_of_stream);
        assert_eq!(c.frames[2].close, Some(CloseBy::Remote));
        assert_eq!(c.source_address, "10.0.0.2:54321");
        assert!(serde_json::from_str::<Frame>(r#"{"form": "upstream"}"#).is_err());
        let e: ConnectionExpect = serde_json::from_str(r#"{"closed_by_plugin": null}"#).unwrap();
        assert_eq!(e.closed_by_plugin, Some(None));
        let e: ConnectionExpect = serde_json::from_str("{}").unwrap();
        assert_eq!(e.closed_by_plugin, None);
    }

    #[test]
    fn expectations_compare_bytes_and_closes() {
        let c = ConnectionOutcome {
            downstream: Direction {
                forwarded: Body::Text("ping".into()),
                ..Direction::default()
            },
            closes: vec![CloseReport {
                side: Peer::Downstream,
                peer_type: PeerType::Remote,
                reason: String::new(),
            }],
            closed: true,
            ..ConnectionOutcome::default()
        };
        let e = ConnectionExpect {
            to_upstream: Some(Body::Text("ping".into())),
            to_downstream: Some(Body::Text("pong".into())),
            closes: Some(vec!["downstream remote".into()]),
            closed: Some(true),
            closed_by_plugin: Some(None),
        };
        let mut out = Vec::new();
        check(Some(&c), &e, &mut out);
        let failed: Vec<&str> = out
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(failed, vec!["connection.to_downstream == \"pong\""]);
        let mut out = Vec::new();
        check(None, &e, &mut out);
        assert!(!out[0].passed);
    }
}
