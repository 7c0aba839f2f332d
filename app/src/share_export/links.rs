//! Share links as plain data (no `leptos`, no `web_sys`; unit-tested natively): which plugin
//! reference a link carries, what to tell the sender about it, and how the receiver gets the
//! plugin back.

use pwp_model::Scenario;
use pwp_model::scenario::PluginRef;
use pwp_model::share::{self, INLINE_LIMIT, PluginOrigin};
use pwp_model::text::thousands;

/// Links longer than this may be cut by chat tools, e-mail clients and some servers.
pub const CAUTIOUS_LENGTH: usize = 2_000;
/// Links longer than this are cut by many of them (RFC 9110 asks for at least 8,000 octets).
pub const LONG_LENGTH: usize = 8_000;

/// A link built for the current session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The whole link.
    pub link: String,
    /// How the plugin travels (or that it does not).
    pub plugin_note: String,
    /// True when the receiver cannot get the plugin from the link alone.
    pub plugin_missing: bool,
    /// A warning when the link is long.
    pub length_warning: Option<String>,
}

/// The link to `scenario` with the plugin reference `plugin` (see [`plugin_for_link`]), at
/// `base` (`origin + pathname`).
pub fn build(base: &str, scenario: &Scenario, plugin: Option<PluginRef>) -> Built {
    let mut scenario = scenario.clone();
    scenario.plugin = plugin;
    let link = format!("{base}{}", share::encode(&scenario));
    let (plugin_note, plugin_missing) = plugin_note(scenario.plugin.as_ref());
    Built {
        length_warning: length_warning(link.len()),
        link,
        plugin_note,
        plugin_missing,
    }
}

/// Where a loaded plugin came from, by what the app recorded when loading it.
pub fn origin<'a>(source: &'a PluginRef, name: &'a str) -> PluginOrigin<'a> {
    if let Some(example) = &source.example {
        PluginOrigin::Example(example)
    } else if let Some(url) = &source.url {
        PluginOrigin::Url(url)
    } else if let Some(file) = &source.file_name {
        PluginOrigin::File(file)
    } else {
        PluginOrigin::File(name)
    }
}

/// The plugin reference a link carries for the loaded plugin (example name, URL + sha256,
/// the module inline when small, else file name + size + sha256).
pub fn plugin_for_link(bytes: &[u8], source: &PluginRef, name: &str) -> PluginRef {
    share::plugin_ref(bytes, origin(source, name))
}

/// What the sender should know about the plugin reference, and whether the receiver must
/// supply the plugin themselves.
pub fn plugin_note(plugin: Option<&PluginRef>) -> (String, bool) {
    let Some(p) = plugin else {
        return (
            "No plugin is loaded: the link carries the scenario only, and the receiver must load a plugin."
                .into(),
            true,
        );
    };
    if let Some(example) = &p.example {
        return (
            format!(
                "The plugin is the bundled example {example}: the receiver's playground loads it by name."
            ),
            false,
        );
    }
    if let Some(url) = &p.url {
        let check = match &p.sha256 {
            Some(sha) => format!(" and checks its sha256 ({})", short_sha(sha)),
            None => String::new(),
        };
        return (
            format!("The receiver's browser downloads the plugin from {url}{check}."),
            false,
        );
    }
    if p.inline.is_some() {
        return (
            format!("The plugin ({}) is inside the link.", describe_file(p)),
            false,
        );
    }
    (
        format!(
            "The plugin is not included (it is larger than {} KiB): the receiver must drop {}.",
            INLINE_LIMIT / 1024,
            describe_file(p)
        ),
        true,
    )
}

/// `name (size, sha256 …)` of a file reference.
pub fn describe_file(p: &PluginRef) -> String {
    let name = p.file_name.as_deref().unwrap_or("the plugin");
    let mut facts = Vec::new();
    if let Some(size) = p.size {
        facts.push(human_size(size));
    }
    if let Some(sha) = &p.sha256 {
        facts.push(format!("sha256 {sha}"));
    }
    if facts.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({})", facts.join(", "))
    }
}

/// A warning for a link of `len` characters, or `None` when it is short enough for anywhere.
pub fn length_warning(len: usize) -> Option<String> {
    if len > LONG_LENGTH {
        Some(format!(
            "This link is {} characters long: many chat tools, e-mail clients and servers cut \
             links beyond {} characters. Check that the receiver gets all of it, or share a \
             plugin URL instead of an inline plugin.",
            thousands(len as u64),
            thousands(LONG_LENGTH as u64)
        ))
    } else if len > CAUTIOUS_LENGTH {
        Some(format!(
            "This link is {} characters long: a few tools cut links beyond {} characters.",
            thousands(len as u64),
            thousands(CAUTIOUS_LENGTH as u64)
        ))
    } else {
        None
    }
}

/// `6.1 MB`, `197.8 KiB`, `812 bytes`.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    // Display only: precision loss above 2^52 bytes does not matter.
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if bytes >= MIB {
        format!("{:.1} MiB", b / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.1} KiB", b / KIB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// The first 12 digits of a digest, for sentences.
pub fn short_sha(sha: &str) -> String {
    let s: String = sha.chars().take(12).collect();
    if sha.chars().count() > 12 {
        format!("{s}…")
    } else {
        s
    }
}

/// How the receiver gets the plugin of an opened link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The link names no plugin.
    Nothing,
    /// The module is in the link (already checked against its sha256 by `share::decode`).
    Inline(Vec<u8>),
    /// A bundled example.
    Example(String),
    /// A download, checked against `sha256` when given.
    Url {
        /// Where.
        url: String,
        /// The expected digest.
        sha256: Option<String>,
    },
    /// A file the user must drop in.
    File(PluginRef),
    /// A reference the receiver cannot follow (the message says why).
    Unusable(String),
}

/// What to do about the plugin of an opened link.
pub fn plan(plugin: Option<&PluginRef>, inline: Option<Vec<u8>>) -> Plan {
    let Some(p) = plugin else {
        return Plan::Nothing;
    };
    if let Some(bytes) = inline {
        return Plan::Inline(bytes);
    }
    if let Some(example) = &p.example {
        return if is_example_name(example) {
            Plan::Example(example.clone())
        } else {
            Plan::Unusable(format!(
                "the link names an example `{example}` that cannot exist"
            ))
        };
    }
    if let Some(url) = &p.url {
        let lower = url.to_ascii_lowercase();
        return if lower.starts_with("https://") || lower.starts_with("http://") {
            Plan::Url {
                url: url.clone(),
                sha256: p.sha256.clone(),
            }
        } else {
            Plan::Unusable(format!(
                "the plugin URL `{url}` is not an http(s) URL, so it was not fetched"
            ))
        };
    }
    if p.file_name.is_some() || p.sha256.is_some() || p.path.is_some() {
        let mut file = p.clone();
        if file.file_name.is_none() {
            file.file_name = p
                .path
                .as_deref()
                .map(|path| path.rsplit(['/', '\\']).next().unwrap_or(path).to_string());
        }
        return Plan::File(file);
    }
    Plan::Nothing
}

/// Bundled example names: letters, digits, `-`, `_` and `.` (no path).
pub fn is_example_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The scenario as it is kept after opening a link: the inline module is dropped (it is loaded,
/// and the autosave need not hold it twice).
pub fn without_inline(mut scenario: Scenario) -> Scenario {
    if let Some(p) = scenario.plugin.as_mut() {
        p.inline = None;
    }
    scenario
}

/// What to say when the user loads a plugin while a link's file is awaited: a confirmation
/// when the sha256 matches, a warning when it does not.
pub fn compare_with_expected(
    expected: &PluginRef,
    loaded_name: &str,
    loaded_sha: &str,
) -> (String, bool) {
    let wanted = describe_file(expected);
    match &expected.sha256 {
        Some(sha) if sha.eq_ignore_ascii_case(loaded_sha) => (
            format!("{loaded_name} is the plugin the shared link names (sha256 matches)."),
            true,
        ),
        Some(sha) => (
            format!(
                "{loaded_name} is not the plugin the shared link names: its sha256 is {loaded_sha}, \
                 the link expects {sha} ({wanted}). Results may differ from the sender's."
            ),
            false,
        ),
        None => (
            format!(
                "{loaded_name} was loaded; the link gives no sha256 to check it against ({wanted})."
            ),
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use pwp_model::share::decode;

    use super::*;

    const WASM: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn the_plugin_travels_by_its_origin() {
        let example = PluginRef {
            example: Some("go-headers".into()),
            ..PluginRef::default()
        };
        let r = plugin_for_link(WASM, &example, "go-headers");
        assert_eq!(r.example.as_deref(), Some("go-headers"));
        assert!(!plugin_note(Some(&r)).1);

        let url = PluginRef {
            url: Some("https://x.example/p.wasm".into()),
            ..PluginRef::default()
        };
        let r = plugin_for_link(WASM, &url, "p.wasm");
        assert!(r.sha256.is_some());
        let (note, missing) = plugin_note(Some(&r));
        assert!(
            note.contains("https://x.example/p.wasm") && note.contains("sha256"),
            "{note}"
        );
        assert!(!missing);

        let file = PluginRef {
            file_name: Some("small.wasm".into()),
            ..PluginRef::default()
        };
        let r = plugin_for_link(WASM, &file, "small.wasm");
        assert!(r.inline.is_some());
        assert!(plugin_note(Some(&r)).0.contains("inside the link"));

        let big = vec![0u8; INLINE_LIMIT + 1];
        let r = plugin_for_link(&big, &PluginRef::default(), "dropped.wasm");
        assert!(r.inline.is_none());
        let (note, missing) = plugin_note(Some(&r));
        assert!(missing);
        assert!(
            note.contains("the receiver must drop dropped.wasm (32.0 KiB, sha256 "),
            "{note}"
        );
        assert!(plugin_note(None).1);
    }

    #[test]
    fn links_round_trip_and_long_ones_warn() {
        let mut scenario = Scenario::default();
        scenario.request.path = "/edited".into();
        let built = build(
            "http://127.0.0.1:8080/",
            &scenario,
            Some(plugin_for_link(WASM, &PluginRef::default(), "t.wasm")),
        );
        assert!(built.link.starts_with("http://127.0.0.1:8080/#s="));
        assert_eq!(built.length_warning, None);
        let decoded = decode(&built.link).unwrap();
        assert_eq!(decoded.scenario.request.path, "/edited");
        assert_eq!(decoded.plugin.as_deref(), Some(WASM));
        assert_eq!(
            plan(decoded.scenario.plugin.as_ref(), decoded.plugin),
            Plan::Inline(WASM.to_vec())
        );

        assert_eq!(length_warning(2_000), None);
        assert!(length_warning(2_001).unwrap().contains("2,001"));
        assert!(
            length_warning(45_123)
                .unwrap()
                .contains("45,123 characters long: many")
        );
    }

    #[test]
    fn plans_follow_the_reference() {
        assert_eq!(plan(None, None), Plan::Nothing);
        let r = |json: &str| serde_json::from_str::<PluginRef>(json).unwrap();
        assert_eq!(
            plan(Some(&r(r#"{"example":"go-headers"}"#)), None),
            Plan::Example("go-headers".into())
        );
        assert!(matches!(
            plan(Some(&r(r#"{"example":"../secret"}"#)), None),
            Plan::Unusable(_)
        ));
        assert!(matches!(
            plan(Some(&r(r#"{"url":"javascript:alert(1)"}"#)), None),
            Plan::Unusable(_)
        ));
        assert_eq!(
            plan(
                Some(&r(r#"{"url":"https://a/p.wasm","sha256":"ab"}"#)),
                None
            ),
            Plan::Url {
                url: "https://a/p.wasm".into(),
                sha256: Some("ab".into())
            }
        );
        let Plan::File(f) = plan(Some(&r(r#"{"path":"dir/p.wasm","sha256":"ab"}"#)), None) else {
            panic!("a file plan");
        };
        assert_eq!(f.file_name.as_deref(), Some("p.wasm"));
        assert_eq!(plan(Some(&PluginRef::default()), None), Plan::Nothing);
    }

    #[test]
    fn a_dropped_file_is_compared_with_the_link() {
        let expected = PluginRef {
            file_name: Some("big.wasm".into()),
            size: Some(6_118_090),
            sha256: Some("aa".repeat(32)),
            ..PluginRef::default()
        };
        let (msg, ok) = compare_with_expected(&expected, "big.wasm", &"AA".repeat(32));
        assert!(ok, "{msg}");
        let (msg, ok) = compare_with_expected(&expected, "other.wasm", &"bb".repeat(32));
        assert!(!ok);
        assert!(
            msg.contains("not the plugin") && msg.contains("5.8 MiB"),
            "{msg}"
        );
    }

    #[test]
    fn sizes_and_digests_read_well() {
        assert_eq!(human_size(812), "812 bytes");
        assert_eq!(human_size(202_585), "197.8 KiB");
        assert_eq!(short_sha(&"ab".repeat(32)), "abababababab…");
        assert!(is_example_name("rust-basic-auth") && !is_example_name("a/b"));
        let s = Scenario {
            plugin: Some(PluginRef {
                inline: Some("AAAA".into()),
                ..PluginRef::default()
            }),
            ..Scenario::default()
        };
        assert_eq!(without_inline(s).plugin.unwrap().inline, None);
    }
}
