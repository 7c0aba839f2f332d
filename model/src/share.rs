//! Share links: a whole session in the URL fragment.
//!
//! A link carries `#s=<payload>`. The payload is the JSON document `{"v": 1, "scenario": …}`,
//! compressed with raw deflate when that makes it smaller, then base64url without padding. One
//! character in front says which: `z` for deflate, `j` for plain JSON. The fragment never
//! reaches a server, so a shared session stays between the people who have the link.
//!
//! The plugin travels inside the scenario ([`PluginRef`]): a bundled example by name, a URL
//! with its sha256, the module itself (base64) when it is at most [`INLINE_LIMIT`] bytes, or
//! else its file name, size and sha256 so that the receiver can drop the same file in.
//! [`plugin_ref`] applies that policy.
//!
//! Links are forever: [`decode`] reads every version ever written (migrating older ones) and
//! the tests keep fixed links from each version decoding to fixed scenarios.

use crate::info::sha256_hex;
use crate::scenario::{PluginRef, Scenario, ScenarioError};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Serialize;
use serde_json::{Map, Value};

/// The current version of the share payload (`"v"`).
pub const SHARE_VERSION: u32 = 1;

/// Plugins up to this size (32 KiB) travel inside the link.
pub const INLINE_LIMIT: usize = 32 * 1024;

/// The fragment key that holds the payload.
const KEY: &str = "s";
/// Prefix of a raw-deflate payload.
const DEFLATE: char = 'z';
/// Prefix of a plain JSON payload.
const PLAIN: char = 'j';
/// Decompressed payloads larger than this are refused (a link is at most a few MB).
const MAX_JSON: usize = 16 << 20;

/// base64url; decoding also accepts padding, which some tools add.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a link could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The text has no `s=` payload in its fragment.
    #[error("not a share link: expected `#s=…` in the URL")]
    NotAShareLink,
    /// The payload does not decode: the link was cut short or changed.
    #[error("the share link is truncated or corrupted ({0}); copy the whole link again")]
    Corrupted(String),
    /// The payload comes from a newer playground (or from no playground at all).
    #[error(
        "share link version {found} is not one this playground reads (up to {SHARE_VERSION}); open it in a newer playground"
    )]
    UnknownVersion {
        /// The version the payload declares.
        found: u64,
    },
    /// The payload decodes but its scenario does not.
    #[error("the shared scenario is invalid: {0}")]
    InvalidScenario(String),
}

/// An opened share link.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The session.
    pub scenario: Scenario,
    /// The payload version the link was written with; older ones have been migrated.
    pub version: u32,
    /// The plugin bytes when the link carries them (checked against their sha256 and size).
    pub plugin: Option<Vec<u8>>,
}

#[derive(Serialize)]
struct Payload<'a> {
    v: u32,
    scenario: &'a Scenario,
}

/// The fragment of a link to `scenario`, `#s=` included: append it to the app's URL.
pub fn encode(scenario: &Scenario) -> String {
    let json = serde_json::to_vec(&Payload {
        v: SHARE_VERSION,
        scenario,
    })
    .unwrap_or_default();
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, 9);
    let (prefix, bytes) = if deflated.len() < json.len() {
        (DEFLATE, deflated)
    } else {
        (PLAIN, json)
    };
    format!("#{KEY}={prefix}{}", B64.encode(bytes))
}

/// Opens a share link: a whole URL, its fragment (`#s=…`) or just `s=…`.
///
/// # Errors
///
/// [`ShareError`] says whether the text is no share link at all, was cut short or changed,
/// comes from a newer version, or holds an invalid scenario (with serde's message).
pub fn decode(link: &str) -> Result<Decoded, ShareError> {
    let payload = payload_of(link).ok_or(ShareError::NotAShareLink)?;
    let payload: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
    let mut chars = payload.chars();
    let prefix = chars
        .next()
        .ok_or_else(|| ShareError::Corrupted("the payload is empty".into()))?;
    let bytes = B64
        .decode(chars.as_str())
        .map_err(|e| ShareError::Corrupted(format!("not base64url: {e}")))?;
    let json = match prefix {
        DEFLATE => inflate(&bytes)?,
        PLAIN => bytes,
        other => {
            return Err(ShareError::Corrupted(format!(
                "unknown encoding `{other}`; a newer playground may have written it"
            )));
        }
    };
    let value: Value = serde_json::from_slice(&json).map_err(|e| {
        ShareError::Corrupted(if e.is_eof() {
            "the data ends too early".into()
        } else {
            format!("not JSON: {e}")
        })
    })?;
    let Value::Object(object) = value else {
        return Err(ShareError::Corrupted(
            "the payload is not a JSON object".into(),
        ));
    };
    let version = object
        .get("v")
        .and_then(Value::as_u64)
        .ok_or_else(|| ShareError::Corrupted("the payload has no version".into()))?;
    let mut object = migrate(version, object)?;
    let scenario = object
        .remove("scenario")
        .ok_or_else(|| ShareError::InvalidScenario("the link has no scenario".into()))?;
    let scenario = Scenario::from_value(scenario).map_err(|e| match e {
        ScenarioError::Invalid(msg) => ShareError::InvalidScenario(msg),
        too_new @ ScenarioError::TooNew { .. } => ShareError::InvalidScenario(too_new.to_string()),
    })?;
    let plugin = inline_plugin(scenario.plugin.as_ref())?;
    Ok(Decoded {
        scenario,
        // `migrate` refuses anything above SHARE_VERSION, so this fits.
        version: u32::try_from(version).unwrap_or(SHARE_VERSION),
        plugin,
    })
}

/// The value of `s=` in the fragment of `link` (or in `link` itself when it has no `#`).
fn payload_of(link: &str) -> Option<&str> {
    let link = link.trim();
    let fragment = match link.split_once('#') {
        Some((_, fragment)) => fragment,
        None => link,
    };
    fragment
        .split('&')
        .find_map(|part| part.strip_prefix(KEY)?.strip_prefix('='))
}

fn inflate(bytes: &[u8]) -> Result<Vec<u8>, ShareError> {
    use miniz_oxide::inflate::TINFLStatus;
    miniz_oxide::inflate::decompress_to_vec_with_limit(bytes, MAX_JSON).map_err(|e| {
        ShareError::Corrupted(match e.status {
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                "the compressed data ends too early".into()
            }
            TINFLStatus::HasMoreOutput => format!("more than {MAX_JSON} bytes of data"),
            _ => "the compressed data is damaged".into(),
        })
    })
}

/// Brings a payload of an older version up to [`SHARE_VERSION`], one version at a time.
///
/// Version 1 is the first published format, so there is nothing to migrate yet. When the
/// payload changes, bump [`SHARE_VERSION`], add a `migrate_v1_to_v2` step here and a golden
/// link of the new version to the tests; the version 1 golden links must keep passing.
/// (Changes inside the scenario are migrated by [`Scenario::from_value`] instead.)
fn migrate(version: u64, payload: Map<String, Value>) -> Result<Map<String, Value>, ShareError> {
    if version == 0 || version > u64::from(SHARE_VERSION) {
        return Err(ShareError::UnknownVersion { found: version });
    }
    Ok(payload)
}

/// The plugin bytes a link carries inline, checked against the sha256 and size next to them.
fn inline_plugin(plugin: Option<&PluginRef>) -> Result<Option<Vec<u8>>, ShareError> {
    let Some(plugin) = plugin else {
        return Ok(None);
    };
    let Some(inline) = &plugin.inline else {
        return Ok(None);
    };
    let compact: String = inline.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| ShareError::Corrupted(format!("the inline plugin is not base64: {e}")))?;
    if plugin
        .sha256
        .as_deref()
        .is_some_and(|s| !s.eq_ignore_ascii_case(&sha256_hex(&bytes)))
    {
        return Err(ShareError::Corrupted(
            "the inline plugin does not match its sha256".into(),
        ));
    }
    if plugin.size.is_some_and(|size| size != bytes.len() as u64) {
        return Err(ShareError::Corrupted(
            "the inline plugin does not have its stated size".into(),
        ));
    }
    Ok(Some(bytes))
}

/// Where the session's plugin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginOrigin<'a> {
    /// A bundled example, by name.
    Example(&'a str),
    /// Fetched from a URL.
    Url(&'a str),
    /// A file the user loaded, by name.
    File(&'a str),
}

/// The plugin reference a share link should carry for `bytes` from `origin`:
///
/// * an example: its name only (examples are rebuilt from source, so their hash may vary);
/// * a URL: the URL and the sha256 the receiver checks the download against;
/// * a file of at most [`INLINE_LIMIT`] bytes: the module itself, base64, with file name,
///   size and sha256;
/// * a larger file: file name, size and sha256, for the receiver to drop the same file in.
pub fn plugin_ref(bytes: &[u8], origin: PluginOrigin<'_>) -> PluginRef {
    let sha256 = Some(sha256_hex(bytes));
    match origin {
        PluginOrigin::Example(name) => PluginRef {
            example: Some(name.to_string()),
            ..PluginRef::default()
        },
        PluginOrigin::Url(url) => PluginRef {
            url: Some(url.to_string()),
            sha256,
            ..PluginRef::default()
        },
        PluginOrigin::File(name) => PluginRef {
            inline: (bytes.len() <= INLINE_LIMIT)
                .then(|| base64::engine::general_purpose::STANDARD.encode(bytes)),
            sha256,
            file_name: Some(name.to_string()),
            size: Some(bytes.len() as u64),
            ..PluginRef::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Body, HeaderExpect, HttpMock};

    /// The module in the inline golden link: the 8-byte wasm header.
    const TINY_WASM: &[u8] = b"\0asm\x01\0\0\0";

    /// A scenario that uses most of the format, written out in full so that a change of a
    /// default cannot change what the golden links must decode to.
    const GOLDEN_SCENARIO: &str = r#"{
      "version": 1,
      "name": "Block swagger",
      "description": "request-block answers 403 for /swagger.html",
      "plugin": {
        "inline": "AGFzbQEAAAA=",
        "sha256": "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476",
        "file_name": "request_block.wasm",
        "size": 8
      },
      "settings": {
        "config": {"block_urls": ["swagger.html"], "blocked_code": 403},
        "vm_config": null,
        "root_id": "",
        "vm_id": "",
        "plugin_name": "playground",
        "env": {"TRUST_DOMAIN": "cluster.local"},
        "log_level": "debug",
        "profile": "envoy",
        "toggles": {},
        "fail_open": false,
        "strict": true,
        "limits": {
          "fuel_per_callback": 2000000000,
          "memory_pages": 4096,
          "max_body_bytes": 1048576,
          "max_hostcalls_per_callback": 100000,
          "max_log_lines": 10000
        },
        "seed": 7
      },
      "request": {
        "method": "POST",
        "path": "/swagger.html?x=1",
        "authority": "api.example.com",
        "scheme": "https",
        "protocol": "HTTP/2",
        "headers": [["content-type", "application/json"], ["x-a", "1"], ["x-a", "2"]],
        "body": "{\"hello\":\"world\"}"
      },
      "response": {"status": 200, "headers": [["server", "upstream"]], "body": {"base64": "/wAB"}},
      "route": {"name": "default/foo", "cluster": "outbound|80||httpbin.default.svc.cluster.local"},
      "clusters": ["auth"],
      "mocks": {"http": [{"cluster": "auth", "path": "/check", "response": {"status": 200}}]},
      "clock": {"start_unix_ms": 1767225600000, "interval_ms": 0, "callback_us": 5},
      "requests": 2,
      "expect": {
        "client_response": {"status": 403, "local_reply": true, "headers": {"x-blocked": true}},
        "logs": [{"matches": "blocked"}]
      }
    }"#;

    /// Written once by `encode` (deflate) from GOLDEN_SCENARIO with `plugin` removed; frozen.
    const GOLDEN_V1_DEFLATE: &str = concat!(
        "#s=zdVTJbtswEP2VgGfHWx27NVAUCXpoD22Cxj3FBkFTI5kNRbJcZAuO_r0ztNwkXXQiZ3nDefNGR9aw5WTA",
        "ggQjvLJseWQN-KCsyXYjamBLdqOtfLwIe1FV4NmAFRCkVy7mMObhZ4IQL7c5SpiwR4SL2fjNRWn9xahPG-5i",
        "rTE3QIzKVIFKSWtKVdEp5_LkNdof2KuUzeDkhYJLW-BzELkbsKbm53STtB4wb23kqsAHsew9H51OlTK8b8Vp",
        "0VbeJlOgC0xDxVffvt-v-MfbL9efv2KI1ClErI5FhWZYStuKa2hAo7OAbaoI1dtSaUJEENuiJdqq0kB9YUop",
        "lObWAfJTCh0A-45eyciW0Se8aVWrmDkoE2juwHMsprdCPrLldHz-BqyG2vqWO1ER9Gz8bo42ceBbW7R820ay",
        "Tsazt1eL3rGzIRJU-AN0cgbEmNyQMqdc_DoaCyBfCzz146S31RB3lmi8u71fUdMi7vD2aqQfDu8n6BIJQ72K",
        "LfqFU0M4iNppGEpb09DlDjL9uxhdONEXrbTE6KfV6m40RdsORIHKQQE8kDIimHgZWweE7pxWUpDgRj8Cqm4z",
        "eGCHS4GuyYvzlG1ILUgN4h7XiKi1XbPlmu2t18WadSw3GJw1AajDEEVMIVP--gEBfJO1nhxODkT9AhrlKgLM",
        "Z0TF_vqGdQRqU8yIvc4KKEXScVRaiyC9pNCOYVtS39Pb8dMTsbFVZtgHD0Mjh3-przfkxSCWaSFq3IesHkJA",
        "x_FFhRzzPCtkHsf_3667bpNrWNJI9vjIk1EHXpM6FvPFdHo177WjcCi-ETr78H5WFyewq2ftEDRu18GBzDqS",
        "WuEw-b-egMtMC4ZI6Ha6PS_I71kccbb9_p983WkjQ267FhEbxPP5H8Gwn677BQ",
    );

    /// Written once by `encode` from GOLDEN_SCENARIO as is (inline plugin); frozen.
    const GOLDEN_V1_INLINE: &str = concat!(
        "#s=zdVTLcts6DP2VDNeOIynyc6ZzJ517b9tF3-4qyXAoCpLZUqJKUn7U8b_3kJbbpA-tSAA8wAEOdGAbtkxH",
        "zElqhVWGLQ9sQ9Yp00Z7KxpiS_ZcG_nlwm1FXZNlI1aSk1Z1PoYxS197cv6yiFGidVsgXOTJ9UVl7MXV8Gy8",
        "9o3G2073tWpDItVq1Qb4mxf_fyve_3eD7xki3Fpkkynsi2uR50VRLKZyNkmzdE65TJIyny1wSPPryTzNMnE9",
        "XwgpRTrNkkmRUl4mpZxUi3w2BValNPGBxVAnj3WOt8I1IZn6Bt_8iBN5r9rahdKkaStVh1MM5r3VsN-yJ1zu",
        "RycvlVyaEiigDJxNw8_P217rEbPGeK5KVMCi93w8deJcXafFvramb0u4qN2E5KsPnz6u-L9vX9-8eoMQqXvn",
        "kR1JhWZIpU3NNW1Iw1lS0dcB1ZpAGhaAmD0s3tS1psALTyqhNDcdYQKV0I7A21slPVt62-OmVaN87EHVk-Yd",
        "WY5kuhDyC1tmyfkbsYYaY_e8E3WAzpPFFDax44Up97zY-2BNk3w-mQ2OtXE-QLlfQNMzIGIiIYjCDeY4FkK_",
        "ZjgN8wu1NeTXJrTx3duPq0Ba-DVuT7T2z-5ZCpfoEWqV38MvOjWmnWg6TWNp4vjlmmL719537tQ-b6QJHX25",
        "Wr27ymBbkyghaQjgNijDU-sv_b6jgN51WkkRNuHqs8M63I9u2e5SwJU-OmfsPqgFrQHu4Q6IWps7trxjW2N1",
        "eceOLBJ0nWkdBYbOC9-72PKnBTiym7iEfYfJkWgeQUOuwtE0D63Y3jxnxwBqeh8RB52VVIle-6vKGIAMkoId",
        "YUVQ38M8eXgI3ShUOx6Cx24jx7-pbzDExQhdDgvRYB-iegICHIdHGWLMz1mh8xj_X1kfj_cxhwkaiR7red-q",
        "HW-COmbTWYa_xKAdhaHYjdDRh_tZXTyATX5qJ0Bju3YdyagjqRWGyf9UApY5LBiQ4O70_rwgP2ZxwGyH_T_5",
        "jqeNdJF2IzwI4nz-RzDwOR6_Aw",
    );

    /// A plain-JSON (`j`) link, written by hand: base64url of `{"v":1,"scenario":{"name":"tiny"}}`.
    const GOLDEN_V1_PLAIN: &str =
        "https://play.example/#s=jeyJ2IjoxLCJzY2VuYXJpbyI6eyJuYW1lIjoidGlueSJ9fQ";

    fn golden() -> Scenario {
        Scenario::parse(GOLDEN_SCENARIO).unwrap()
    }

    fn without_plugin() -> Scenario {
        Scenario {
            plugin: None,
            ..golden()
        }
    }

    #[test]
    fn golden_links_decode_to_the_same_scenario_forever() {
        let d = decode(GOLDEN_V1_DEFLATE).unwrap();
        assert_eq!(d.scenario, without_plugin());
        assert_eq!((d.version, d.plugin), (1, None));
        // Spot checks, in case GOLDEN_SCENARIO itself is ever edited by mistake.
        assert_eq!(d.scenario.request.headers.0[2], ("x-a".into(), "2".into()));
        assert_eq!(
            d.scenario.response.body,
            Some(Body::Base64 {
                base64: "/wAB".into()
            })
        );
        assert_eq!(
            d.scenario.mocks.http[0],
            HttpMock {
                cluster: "auth".into(),
                path: Some("/check".into()),
                ..HttpMock::default()
            }
        );
        let expect = d.scenario.expect.client_response.as_ref().unwrap();
        assert_eq!(expect.headers["x-blocked"], HeaderExpect::Present);

        let d = decode(GOLDEN_V1_INLINE).unwrap();
        assert_eq!(d.scenario, golden());
        assert_eq!(d.plugin.as_deref(), Some(TINY_WASM));

        let d = decode(GOLDEN_V1_PLAIN).unwrap();
        assert_eq!(
            d.scenario,
            Scenario {
                name: "tiny".into(),
                ..Scenario::default()
            }
        );
    }

    #[test]
    fn links_round_trip() {
        for scenario in [Scenario::default(), golden(), without_plugin()] {
            let link = encode(&scenario);
            assert!(link.starts_with("#s=z"), "{link}");
            assert!(
                link[4..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            let d = decode(&format!("https://play.example/app/{link}")).unwrap();
            assert_eq!(d.scenario, scenario);
            assert_eq!(decode(&link).unwrap().scenario, scenario);
            assert_eq!(decode(&link[1..]).unwrap().scenario, scenario);
        }
        // Other fragment parameters and stray whitespace from chat clients are ignored.
        let link = encode(&golden());
        let (head, tail) = link[1..].split_at(40);
        assert_eq!(
            decode(&format!("#step=3&{head}\n  {tail}&x=1"))
                .unwrap()
                .scenario,
            golden()
        );
    }

    #[test]
    fn deflate_is_used_only_when_it_is_smaller() {
        let link = encode(&golden());
        let json = serde_json::to_vec(&Payload {
            v: 1,
            scenario: &golden(),
        })
        .unwrap();
        assert!(
            link.len() < B64.encode(&json).len(),
            "{} vs {}",
            link.len(),
            json.len()
        );
        // A plain payload decodes too (the encoder picks it for tiny payloads).
        let plain = format!("#s=j{}", B64.encode(&json));
        assert_eq!(decode(&plain).unwrap().scenario, golden());
    }

    #[test]
    fn truncated_and_tampered_links_are_reported_as_such() {
        let link = encode(&without_plugin());
        // Cut anywhere: never a scenario, always "corrupted".
        for cut in [5, link.len() / 2, link.len() - 3, link.len() - 1] {
            let err = decode(&link[..cut]).unwrap_err();
            assert!(
                matches!(err, ShareError::Corrupted(_)),
                "cut at {cut}: {err:?}"
            );
        }
        let err = decode(&link[..link.len() / 2]).unwrap_err().to_string();
        assert!(err.contains("truncated or corrupted"), "{err}");
        // A character that is not base64url.
        let err = decode(&format!("{}!{}", &link[..20], &link[21..])).unwrap_err();
        assert!(
            matches!(err, ShareError::Corrupted(ref m) if m.contains("base64")),
            "{err:?}"
        );
        // A damaged compressed stream.
        let mut bytes = B64.decode(&link[4..]).unwrap();
        bytes[0] ^= 0xff;
        let err = decode(&format!("#s=z{}", B64.encode(&bytes))).unwrap_err();
        assert!(matches!(err, ShareError::Corrupted(_)), "{err:?}");
        // A plain payload cut short.
        let err = decode(&format!("#s=j{}", B64.encode(br#"{"v":1,"scenario":{"na"#))).unwrap_err();
        assert_eq!(err, ShareError::Corrupted("the data ends too early".into()));
        // An unknown encoding letter and an empty payload.
        assert!(
            matches!(decode("#s=qAAAA"), Err(ShareError::Corrupted(m)) if m.contains("unknown encoding"))
        );
        assert!(matches!(decode("#s="), Err(ShareError::Corrupted(_))));
        // A tampered inline plugin no longer matches its sha256.
        let mut s = golden();
        s.plugin.as_mut().unwrap().inline = Some("AGFzbQEAAAE=".into());
        let err = decode(&encode(&s)).unwrap_err();
        assert!(
            matches!(err, ShareError::Corrupted(ref m) if m.contains("sha256")),
            "{err:?}"
        );
    }

    #[test]
    fn other_text_is_not_a_share_link() {
        for text in [
            "",
            "https://play.example/",
            "https://play.example/#",
            "#code=abc",
            "hello",
        ] {
            assert_eq!(
                decode(text).unwrap_err(),
                ShareError::NotAShareLink,
                "{text:?}"
            );
        }
    }

    #[test]
    fn versions_and_scenarios_are_checked() {
        let link = |json: &str| format!("#s=j{}", B64.encode(json));
        assert_eq!(
            decode(&link(r#"{"v":2,"scenario":{}}"#)).unwrap_err(),
            ShareError::UnknownVersion { found: 2 }
        );
        assert_eq!(
            decode(&link(r#"{"v":0,"scenario":{}}"#)).unwrap_err(),
            ShareError::UnknownVersion { found: 0 }
        );
        assert!(
            decode(&link(r#"{"v":2}"#))
                .unwrap_err()
                .to_string()
                .contains("version 2")
        );
        assert!(matches!(
            decode(&link(r#"{"scenario":{}}"#)),
            Err(ShareError::Corrupted(_))
        ));
        assert!(matches!(
            decode(&link("[1]")),
            Err(ShareError::Corrupted(_))
        ));
        // serde's message names the field.
        let err = decode(&link(r#"{"v":1,"scenario":{"requst":{}}}"#)).unwrap_err();
        assert!(
            matches!(err, ShareError::InvalidScenario(ref m) if m.contains("requst")),
            "{err:?}"
        );
        let err = decode(&link(r#"{"v":1,"scenario":{"version":9}}"#)).unwrap_err();
        assert!(
            matches!(err, ShareError::InvalidScenario(ref m) if m.contains("newer")),
            "{err:?}"
        );
        assert!(matches!(
            decode(&link(r#"{"v":1}"#)),
            Err(ShareError::InvalidScenario(_))
        ));
        // A scenario written before `version` existed in it still opens (scenario migration).
        let d = decode(&link(r#"{"v":1,"scenario":{"name":"old"}}"#)).unwrap();
        assert_eq!(d.scenario.version, crate::scenario::SCENARIO_VERSION);
    }

    #[test]
    fn plugin_refs_follow_the_size_policy() {
        let small = vec![7u8; INLINE_LIMIT];
        let r = plugin_ref(&small, PluginOrigin::File("a.wasm"));
        assert_eq!(r.size, Some(INLINE_LIMIT as u64));
        assert_eq!(r.file_name.as_deref(), Some("a.wasm"));
        let mut s = Scenario {
            plugin: Some(r),
            ..Scenario::default()
        };
        assert_eq!(decode(&encode(&s)).unwrap().plugin, Some(small));

        let big = vec![7u8; INLINE_LIMIT + 1];
        let r = plugin_ref(&big, PluginOrigin::File("b.wasm"));
        assert_eq!(
            (r.inline.as_ref(), r.size),
            (None, Some(INLINE_LIMIT as u64 + 1))
        );
        assert_eq!(r.sha256.as_deref(), Some(sha256_hex(&big).as_str()));
        s.plugin = Some(r);
        assert_eq!(decode(&encode(&s)).unwrap().plugin, None);

        let r = plugin_ref(TINY_WASM, PluginOrigin::Url("https://x.example/p.wasm"));
        assert_eq!(r.url.as_deref(), Some("https://x.example/p.wasm"));
        assert_eq!(
            r.sha256.as_deref(),
            Some("93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476")
        );
        assert_eq!(r.inline, None);
        let r = plugin_ref(TINY_WASM, PluginOrigin::Example("go-headers"));
        assert_eq!(
            r,
            PluginRef {
                example: Some("go-headers".into()),
                ..PluginRef::default()
            }
        );
    }

    #[test]
    #[ignore = "prints the golden links; run once when adding a payload version"]
    fn print_golden_links() {
        println!("deflate: {}", encode(&without_plugin()));
        println!("inline:  {}", encode(&golden()));
    }
}
