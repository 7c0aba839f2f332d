//! The ABI's enumerations, with the values Envoy uses (proxy-wasm spec "Types", cpp-host
//! `proxy_wasm_common.h`), and the conversions Envoy applies to callback return values.

use serde::{Deserialize, Serialize};

use crate::names::named_values;

/// ABI versions, from the marker export `proxy_abi_version_X_Y_Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbiVersion {
    /// `proxy_abi_version_0_1_0`
    #[serde(rename = "0.1.0")]
    V0_1_0,
    /// `proxy_abi_version_0_2_0`
    #[serde(rename = "0.2.0")]
    V0_2_0,
    /// `proxy_abi_version_0_2_1`
    #[serde(rename = "0.2.1")]
    V0_2_1,
    /// `proxy_abi_version_0_2_100`: Higress only; upstream Envoy refuses it.
    #[serde(rename = "0.2.100")]
    V0_2_100,
}

impl AbiVersion {
    /// From the name of an export, if it is a marker.
    pub fn from_marker(name: &str) -> Option<AbiVersion> {
        Some(match name {
            "proxy_abi_version_0_1_0" => AbiVersion::V0_1_0,
            "proxy_abi_version_0_2_0" => AbiVersion::V0_2_0,
            "proxy_abi_version_0_2_1" => AbiVersion::V0_2_1,
            "proxy_abi_version_0_2_100" => AbiVersion::V0_2_100,
            _ => return None,
        })
    }

    /// `0.2.1` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            AbiVersion::V0_1_0 => "0.1.0",
            AbiVersion::V0_2_0 => "0.2.0",
            AbiVersion::V0_2_1 => "0.2.1",
            AbiVersion::V0_2_100 => "0.2.100",
        }
    }

    /// True for 0.2.x (including Higress's 0.2.100).
    pub fn is_v2(self) -> bool {
        !matches!(self, AbiVersion::V0_1_0)
    }
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

named_values! {
    /// Host function results (`proxy_status_t`, cpp-host `WasmResult`), with the SDKs' names.
    pub enum Status {
        /// 0
        Ok = 0 => "Ok",
        /// 1
        NotFound = 1 => "NotFound",
        /// 2
        BadArgument = 2 => "BadArgument",
        /// 3
        SerializationFailure = 3 => "SerializationFailure",
        /// 4
        ParseFailure = 4 => "ParseFailure",
        /// 5: not used by Envoy any more.
        BadExpression = 5 => "BadExpression",
        /// 6
        InvalidMemoryAccess = 6 => "InvalidMemoryAccess",
        /// 7
        Empty = 7 => "Empty",
        /// 8
        CasMismatch = 8 => "CasMismatch",
        /// 9: not used by Envoy any more.
        ResultMismatch = 9 => "ResultMismatch",
        /// 10
        InternalFailure = 10 => "InternalFailure",
        /// 11
        BrokenConnection = 11 => "BrokenConnection",
        /// 12
        Unimplemented = 12 => "Unimplemented",
    }
}

named_values! {
    /// The WASI errno values the host answers with (`wasi_snapshot_preview1`), with the names
    /// traces show.
    pub enum Errno {
        /// 0
        Success = 0 => "SUCCESS",
        /// 8: bad file descriptor.
        Badf = 8 => "BADF",
        /// 20
        Notdir = 20 => "NOTDIR",
        /// 21: bad address.
        Fault = 21 => "FAULT",
        /// 28
        Inval = 28 => "INVAL",
        /// 44
        Noent = 44 => "NOENT",
        /// 52: function not supported.
        Nosys = 52 => "NOSYS",
        /// 58
        Notsup = 58 => "NOTSUP",
        /// 76
        Notcapable = 76 => "NOTCAPABLE",
    }
}

/// Header map types (`proxy_map_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapType {
    /// 0
    RequestHeaders,
    /// 1
    RequestTrailers,
    /// 2
    ResponseHeaders,
    /// 3
    ResponseTrailers,
    /// 4: received gRPC initial metadata.
    GrpcInitialMetadata,
    /// 5: received gRPC trailing metadata.
    GrpcTrailingMetadata,
    /// 6
    HttpCallResponseHeaders,
    /// 7
    HttpCallResponseTrailers,
}

impl MapType {
    /// From the ABI value; `None` is `BadArgument`.
    pub fn from_abi(v: u32) -> Option<MapType> {
        Some(match v {
            0 => MapType::RequestHeaders,
            1 => MapType::RequestTrailers,
            2 => MapType::ResponseHeaders,
            3 => MapType::ResponseTrailers,
            4 => MapType::GrpcInitialMetadata,
            5 => MapType::GrpcTrailingMetadata,
            6 => MapType::HttpCallResponseHeaders,
            7 => MapType::HttpCallResponseTrailers,
            _ => return None,
        })
    }

    /// Short name for traces.
    pub fn name(self) -> &'static str {
        match self {
            MapType::RequestHeaders => "request_headers",
            MapType::RequestTrailers => "request_trailers",
            MapType::ResponseHeaders => "response_headers",
            MapType::ResponseTrailers => "response_trailers",
            MapType::GrpcInitialMetadata => "grpc_initial_metadata",
            MapType::GrpcTrailingMetadata => "grpc_trailing_metadata",
            MapType::HttpCallResponseHeaders => "http_call_response_headers",
            MapType::HttpCallResponseTrailers => "http_call_response_trailers",
        }
    }
}

/// Buffer types (`proxy_buffer_type_t`), with Higress's Redis reply buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferType {
    /// 0
    RequestBody,
    /// 1
    ResponseBody,
    /// 2
    DownstreamData,
    /// 3
    UpstreamData,
    /// 4
    HttpCallResponseBody,
    /// 5
    GrpcReceiveBuffer,
    /// 6
    VmConfiguration,
    /// 7
    PluginConfiguration,
    /// 8
    CallData,
    /// 9: Higress only.
    RedisCallResponse,
}

impl BufferType {
    /// From the ABI value; `None` is `BadArgument`. Type 9 exists only with `higress`.
    pub fn from_abi(v: u32, higress: bool) -> Option<BufferType> {
        Some(match v {
            0 => BufferType::RequestBody,
            1 => BufferType::ResponseBody,
            2 => BufferType::DownstreamData,
            3 => BufferType::UpstreamData,
            4 => BufferType::HttpCallResponseBody,
            5 => BufferType::GrpcReceiveBuffer,
            6 => BufferType::VmConfiguration,
            7 => BufferType::PluginConfiguration,
            8 => BufferType::CallData,
            9 if higress => BufferType::RedisCallResponse,
            _ => return None,
        })
    }

    /// Short name for traces.
    pub fn name(self) -> &'static str {
        match self {
            BufferType::RequestBody => "request_body",
            BufferType::ResponseBody => "response_body",
            BufferType::DownstreamData => "downstream_data",
            BufferType::UpstreamData => "upstream_data",
            BufferType::HttpCallResponseBody => "http_call_response_body",
            BufferType::GrpcReceiveBuffer => "grpc_receive_buffer",
            BufferType::VmConfiguration => "vm_configuration",
            BufferType::PluginConfiguration => "plugin_configuration",
            BufferType::CallData => "call_data",
            BufferType::RedisCallResponse => "redis_call_response",
        }
    }
}

/// Stream types (`proxy_stream_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamType {
    /// 0
    Request,
    /// 1
    Response,
    /// 2
    Downstream,
    /// 3
    Upstream,
}

impl StreamType {
    /// From the ABI value; `None` is `BadArgument`.
    pub fn from_abi(v: u32) -> Option<StreamType> {
        Some(match v {
            0 => StreamType::Request,
            1 => StreamType::Response,
            2 => StreamType::Downstream,
            3 => StreamType::Upstream,
            _ => return None,
        })
    }
}

/// Metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricType {
    /// 0
    Counter,
    /// 1
    Gauge,
    /// 2
    Histogram,
}

impl MetricType {
    /// From the ABI value; `None` is `BadArgument`.
    pub fn from_abi(v: u32) -> Option<MetricType> {
        Some(match v {
            0 => MetricType::Counter,
            1 => MetricType::Gauge,
            2 => MetricType::Histogram,
            _ => return None,
        })
    }
}

/// What Envoy does after a callback returned, once its return value is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Go on with the next filter.
    Continue,
    /// Headers held; body callbacks still come (real StopIteration).
    StopIteration,
    /// Hold everything; withhold body callbacks until resumed.
    StopAllIterationAndBuffer,
    /// As above, with watermark buffering.
    StopAllIterationAndWatermark,
    /// Body: keep buffering; the next callback sees everything so far.
    StopIterationAndBuffer,
    /// Body: keep the chunk for forwarding, the next callback sees only its own chunk.
    StopIterationAndWatermark,
    /// Body: drop the chunk.
    StopIterationNoBuffer,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Action {
    /// Envoy's enum name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Continue => "Continue",
            Action::StopIteration => "StopIteration",
            Action::StopAllIterationAndBuffer => "StopAllIterationAndBuffer",
            Action::StopAllIterationAndWatermark => "StopAllIterationAndWatermark",
            Action::StopIterationAndBuffer => "StopIterationAndBuffer",
            Action::StopIterationAndWatermark => "StopIterationAndWatermark",
            Action::StopIterationNoBuffer => "StopIterationNoBuffer",
        }
    }

    /// True unless `Continue`.
    pub fn is_stop(self) -> bool {
        self != Action::Continue
    }

    /// Converts a header callback's return value as cpp-host and Envoy do. `real_stop` is
    /// true where `1` is passed through as StopIteration (Higress ABI 0.2.100 request headers,
    /// or Envoy's `allow_on_headers_stop_iteration`).
    pub fn from_headers(ret: u32, real_stop: bool) -> Action {
        match ret {
            0 | 2 => Action::Continue,
            1 if real_stop => Action::StopIteration,
            3 => Action::StopAllIterationAndBuffer,
            _ => Action::StopAllIterationAndWatermark,
        }
    }

    /// What Envoy makes of a network filter callback's return value (`proxy_on_new_connection`,
    /// `proxy_on_downstream_data`, `proxy_on_upstream_data`): 0 is Continue, anything else
    /// StopIteration.
    pub fn from_network(ret: u32) -> Action {
        if ret == 0 {
            Action::Continue
        } else {
            Action::StopIteration
        }
    }

    /// What Envoy makes of a body callback's return value.
    pub fn from_body(ret: u32) -> Action {
        match ret {
            0 => Action::Continue,
            1 => Action::StopIterationAndBuffer,
            2 => Action::StopIterationAndWatermark,
            _ => Action::StopIterationNoBuffer,
        }
    }

    /// Converts a trailer callback's return value.
    pub fn from_trailers(ret: u32) -> Action {
        if ret == 0 {
            Action::Continue
        } else {
            Action::StopIteration
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_pause_becomes_stop_all_unless_real_stop_iteration_is_allowed() {
        assert_eq!(
            Action::from_headers(1, false),
            Action::StopAllIterationAndWatermark
        );
        assert_eq!(Action::from_headers(1, true), Action::StopIteration);
        assert_eq!(Action::from_headers(2, false), Action::Continue);
        assert_eq!(
            Action::from_headers(3, false),
            Action::StopAllIterationAndBuffer
        );
        assert_eq!(
            Action::from_headers(77, false),
            Action::StopAllIterationAndWatermark
        );
    }

    #[test]
    fn body_and_trailer_values_follow_envoys_enums() {
        assert_eq!(Action::from_body(1), Action::StopIterationAndBuffer);
        assert_eq!(Action::from_body(9), Action::StopIterationNoBuffer);
        assert_eq!(Action::from_trailers(5), Action::StopIteration);
    }

    #[test]
    fn every_status_from_0_to_12_has_a_name() {
        for v in 0..=12 {
            let s = Status::from_raw(v).unwrap_or_else(|| panic!("status {v}"));
            assert_eq!(s as i32, v);
        }
        assert_eq!(Status::from_raw(13), None);
        assert_eq!(Status::ALL.len(), 13);
    }

    #[test]
    fn buffer_type_nine_exists_only_on_higress() {
        assert_eq!(BufferType::from_abi(9, false), None);
        assert_eq!(
            BufferType::from_abi(9, true),
            Some(BufferType::RedisCallResponse)
        );
        assert_eq!(MapType::from_abi(8), None);
    }
}
