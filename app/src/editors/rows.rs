//! Plain logic behind the tables and small fields: complete rows, maps, typed property values,
//! RESP escapes, numbers with defaults, enum names and the session file name.

use std::collections::BTreeMap;

use pwp_model::scenario::PropertyValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A name/value row list.
pub type Pairs = Vec<(String, String)>;

/// The rows the scenario keeps: those with a name (trimmed), in order, duplicates included.
pub fn complete_pairs(rows: Pairs) -> Pairs {
    rows.into_iter()
        .filter_map(|(k, v)| {
            let k = k.trim().to_string();
            (!k.is_empty()).then_some((k, v))
        })
        .collect()
}

/// Rows as a map keeps them: sorted by name, the last duplicate wins.
pub fn as_map(rows: Pairs) -> Pairs {
    rows.into_iter()
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

/// The type of a property override.
pub const PROPERTY_KINDS: &[(&str, &str)] = &[
    ("text", "text"),
    ("int", "int (8 bytes LE)"),
    ("bool", "bool (1 byte)"),
    ("base64", "bytes (base64)"),
];

/// A property value as a row shows it: its type and its text.
pub fn property_row(v: &PropertyValue) -> (String, String) {
    match v {
        PropertyValue::Text(s) => ("text".into(), s.clone()),
        PropertyValue::Int(i) => ("int".into(), i.to_string()),
        PropertyValue::Bool(b) => ("bool".into(), b.to_string()),
        PropertyValue::Bytes { base64 } => ("base64".into(), base64.clone()),
    }
}

/// Reads a property row back.
///
/// # Errors
///
/// When an int or a bool does not parse.
pub fn parse_property(kind: &str, text: &str) -> Result<PropertyValue, String> {
    match kind {
        "int" => text
            .trim()
            .parse()
            .map(PropertyValue::Int)
            .map_err(|_| format!("{text:?} is not a whole number")),
        "bool" => match text.trim() {
            "true" | "1" => Ok(PropertyValue::Bool(true)),
            "false" | "0" => Ok(PropertyValue::Bool(false)),
            _ => Err(format!("{text:?} is not true or false")),
        },
        "base64" => Ok(PropertyValue::Bytes {
            base64: text.trim().to_string(),
        }),
        _ => Ok(PropertyValue::Text(text.to_string())),
    }
}

/// Shows `\r`, `\n` and `\` escaped, so a RESP reply fits on one line.
pub fn escape_resp(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

/// Reads [`escape_resp`] back; other backslashes stay as they are.
pub fn unescape_resp(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('r')) => out.push('\r'),
            ('\\', Some('n')) => out.push('\n'),
            ('\\', Some('\\')) => out.push('\\'),
            _ => {
                out.push(c);
                continue;
            }
        }
        chars.next();
    }
    out
}

/// Reads a whole number; empty text means the default.
///
/// # Errors
///
/// When it is not a number or is above `max`.
pub fn parse_number(text: &str, default: u64, max: u64) -> Result<u64, String> {
    let t: String = text
        .chars()
        .filter(|c| !matches!(c, '_' | ',' | ' '))
        .collect();
    if t.is_empty() {
        return Ok(default);
    }
    let n: u64 = t
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    if n > max {
        return Err(format!("{n} is above the maximum {max}"));
    }
    Ok(n)
}

/// The serde name of an enum value (`"cumulative"`), or `default` for `None`.
pub fn enum_name<T: Serialize>(v: Option<&T>) -> String {
    v.and_then(|v| pwp_model::json::to_value(v).ok())
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "default".into())
}

/// Reads [`enum_name`] back.
pub fn enum_value<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.into())).ok()
}

/// A toggle's `Option<bool>` as a select shows it.
pub fn tri_name(v: Option<bool>) -> String {
    match v {
        None => "default",
        Some(true) => "on",
        Some(false) => "off",
    }
    .into()
}

/// Reads [`tri_name`] back.
pub fn tri_value(name: &str) -> Option<bool> {
    match name {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// `<name>.scenario.json`: the scenario's name, else the plugin's, made file-name safe.
pub fn scenario_file_name(name: &str, plugin: Option<&str>) -> String {
    let base = if name.trim().is_empty() {
        plugin.unwrap_or("playground").trim_end_matches(".wasm")
    } else {
        name
    };
    let mut slug = String::new();
    for c in base.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches(['-', '.']).chars().take(60).collect();
    let slug = slug.trim_end_matches(['-', '.']);
    format!(
        "{}.scenario.json",
        if slug.is_empty() { "playground" } else { slug }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pwp_model::scenario::{BodyBuffering, LogLevel};

    #[test]
    fn rows_keep_order_and_duplicates_and_maps_sort() {
        let rows = vec![
            ("b ".into(), "1".into()),
            ("".into(), "x".into()),
            ("b".into(), "2".into()),
        ];
        assert_eq!(
            complete_pairs(rows.clone()),
            vec![("b".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(
            as_map(complete_pairs(rows)),
            vec![("b".to_string(), "2".to_string())]
        );
    }

    #[test]
    fn properties_read_back_with_their_type() {
        for v in [
            PropertyValue::Int(-3),
            PropertyValue::Bool(true),
            PropertyValue::Text("x".into()),
        ] {
            let (k, t) = property_row(&v);
            assert_eq!(parse_property(&k, &t).unwrap(), v);
        }
        assert!(
            parse_property("int", "3x")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(parse_property("bool", "yes").is_err());
    }

    #[test]
    fn resp_escapes_round_trip() {
        let reply = "*2\r\n$1\\a\r\n:1\r\n";
        assert_eq!(escape_resp(reply), "*2\\r\\n$1\\\\a\\r\\n:1\\r\\n");
        assert_eq!(unescape_resp(&escape_resp(reply)), reply);
        assert_eq!(unescape_resp(":1\\r\\n"), ":1\r\n");
    }

    #[test]
    fn numbers_default_group_and_refuse_junk() {
        assert_eq!(parse_number("", 7, 10), Ok(7));
        assert_eq!(parse_number("2,000", 0, u64::MAX), Ok(2000));
        assert!(parse_number("12a", 0, 100).is_err());
        assert!(parse_number("101", 0, 100).unwrap_err().contains("maximum"));
    }

    #[test]
    fn enums_and_toggles_have_names() {
        assert_eq!(enum_name(Some(&BodyBuffering::Cumulative)), "cumulative");
        assert_eq!(enum_name::<BodyBuffering>(None), "default");
        assert_eq!(enum_value::<LogLevel>("warn"), Some(LogLevel::Warn));
        assert_eq!(enum_value::<LogLevel>("default"), None);
        assert_eq!(tri_value(&tri_name(Some(false))), Some(false));
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            scenario_file_name("go-headers: add, replace", None),
            "go-headers-add-replace.scenario.json"
        );
        assert_eq!(scenario_file_name(" ", Some("my.wasm")), "my.scenario.json");
        assert_eq!(scenario_file_name("", None), "playground.scenario.json");
        assert_eq!(
            scenario_file_name("../..", None),
            "playground.scenario.json"
        );
    }
}
