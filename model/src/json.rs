//! JSON text through one serializer. The app's wasm holds one copy of every type's `Serialize`
//! code per serializer it is used with; serializing pretty (`PrettyFormatter`) or to a
//! [`Value`] beside the compact text cost ~40 KB of the page's code. These helpers write the
//! compact text only and derive the rest from it, with the same result as `serde_json`'s own
//! `to_string_pretty` and `to_value` (bench/size-experiments.md).

use serde::Serialize;
use serde_json::Value;

/// As [`serde_json::to_string_pretty`] (two-space indent), byte for byte.
///
/// # Errors
///
/// As [`serde_json::to_string`].
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(value).map(|compact| reindent(&compact))
}

/// As [`serde_json::to_value`], for values whose maps are keyed by strings (a map with
/// other keys is written with quoted keys instead of refused). A float is read back from its
/// shortest text by `serde_json`'s parser, which is not exact in the last bit for some floats:
/// the value is then the one a stored copy of the text (a saved session) reads back.
///
/// # Errors
///
/// As [`serde_json::to_string`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Value> {
    serde_json::from_str(&serde_json::to_string(value)?)
}

/// Compact JSON text (as `serde_json` writes it: no whitespace outside strings) laid out as
/// `serde_json`'s `PrettyFormatter` does: one member or element per line, two spaces per
/// level, `": "` after keys, and `{}` / `[]` for empty objects and arrays.
pub fn reindent(compact: &str) -> String {
    let bytes = compact.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                if !matches!(bytes.get(i + 1), Some(b'}' | b']')) {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                if i == 0 || !matches!(bytes[i - 1], b'{' | b'[') {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
    // Only ASCII bytes were added, and only outside strings, between whole characters.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn arb_json(floats: bool) -> impl Strategy<Value = Value> {
        let float = if floats {
            any::<f64>().boxed()
        } else {
            Just(0.5).boxed()
        };
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            float.prop_map(Value::from),
            ".*".prop_map(Value::String),
            r#"[\[\]{}:,"\\ a]*"#.prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(r#"[\[\]{}:,"\\ a-z]{0,6}"#, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn pretty_is_serde_json_pretty(v in arb_json(true)) {
            prop_assert_eq!(to_string_pretty(&v).unwrap(), serde_json::to_string_pretty(&v).unwrap());
        }

        #[test]
        fn value_is_serde_json_value(v in arb_json(false)) {
            prop_assert_eq!(to_value(&v).unwrap(), serde_json::to_value(&v).unwrap());
        }

        #[test]
        fn value_with_floats_is_what_its_stored_text_reads_back(v in arb_json(true)) {
            let stored = serde_json::to_string(&serde_json::to_value(&v).unwrap()).unwrap();
            prop_assert_eq!(to_value(&v).unwrap(), serde_json::from_str::<Value>(&stored).unwrap());
        }
    }

    #[test]
    fn nested_empty_containers_and_escapes() {
        let v = json!({"a": {}, "b": [], "c": [[], {}, [1, {"d": "}\"{,:["}]], "": ""});
        assert_eq!(
            to_string_pretty(&v).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
        assert_eq!(reindent("{}"), "{}");
        assert_eq!(reindent("[]"), "[]");
        assert_eq!(reindent("\"x\""), "\"x\"");
    }

    #[test]
    fn every_example_scenario_is_written_as_serde_json_writes_it() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
        let mut seen = 0;
        for dir in std::fs::read_dir(root).unwrap() {
            for file in std::fs::read_dir(dir.unwrap().path()).into_iter().flatten() {
                let path = file.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if !(name.starts_with("scenario") && name.ends_with(".json")) {
                    continue;
                }
                let s = crate::scenario::Scenario::parse(&std::fs::read_to_string(&path).unwrap())
                    .unwrap();
                assert_eq!(
                    to_string_pretty(&s).unwrap(),
                    serde_json::to_string_pretty(&s).unwrap(),
                    "{name}"
                );
                assert_eq!(to_value(&s).unwrap(), serde_json::to_value(&s).unwrap());
                seen += 1;
            }
        }
        assert!(seen > 10, "{seen} example scenarios");
    }
}
