//! The configuration editors' text: what they show for a value, and how typed text becomes
//! one. JSON first, then YAML (mappings and lists); errors name the line and column.

use serde_json::Value;

/// The configuration as the editor shows it: pretty JSON for structured values, the text as
/// is for strings, nothing for null.
pub fn config_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => pwp_model::json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// Reads the editor's text. In text mode (`raw`) the text is passed as is; otherwise it must be
/// JSON, or YAML that is a mapping or a list. Empty text means "no configuration".
///
/// # Errors
///
/// A message naming the line and column of the first syntax error.
pub fn parse_config(text: &str, raw: bool) -> Result<Value, String> {
    if text.is_empty() || (!raw && text.trim().is_empty()) {
        return Ok(Value::Null);
    }
    if raw {
        return Ok(Value::String(text.to_string()));
    }
    let json = serde_json::from_str::<Value>(text);
    let looks_like_json = matches!(text.trim_start().chars().next(), Some('{' | '[' | '"'));
    match json {
        Ok(v) => Ok(v),
        Err(e) if looks_like_json => Err(json_error(&e)),
        Err(_) => match pwp_model::scenario::check_yaml_nesting(text)
            .and_then(|()| yaml_serde::from_str::<Value>(text).map_err(|e| yaml_error(&e)))
        {
            Ok(v) if v.is_object() || v.is_array() => Ok(v),
            Ok(_) => Err(
                "this is neither JSON nor a YAML mapping or list; choose \"text\" to pass it as is"
                    .into(),
            ),
            Err(e) => Err(e),
        },
    }
}

/// `JSON: line 3, column 1: trailing comma`.
pub fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let message = full.split(" at line ").next().unwrap_or(&full);
    format!("JSON: line {}, column {}: {message}", e.line(), e.column())
}

/// `YAML: line 2, column 5: mapping values are not allowed in this context`.
pub fn yaml_error(e: &yaml_serde::Error) -> String {
    let full = e.to_string();
    let message = full.split(" at line ").next().unwrap_or(&full);
    match e.location() {
        Some(l) => format!("YAML: line {}, column {}: {message}", l.line(), l.column()),
        None => format!("YAML: {message}"),
    }
}

/// What the plugin receives, in one line: how Istio-style `pluginConfig` reaches
/// `proxy_on_configure` (or the VM configuration `proxy_on_vm_start`).
pub fn config_summary(v: &Value) -> String {
    let bytes = pwp_model::scenario::config_bytes(v).len();
    match v {
        Value::Null => "The plugin reads an empty configuration (0 bytes).".into(),
        Value::String(_) => format!("The plugin reads this text as is ({bytes} bytes)."),
        _ => format!(
            "The plugin reads it as compact JSON ({bytes} bytes), as Istio passes pluginConfig."
        ),
    }
}

/// What is stored to keep an invalid draft across a reload: the text, and the value it was
/// meant to replace.
pub fn keep_draft(base: &Value, text: &str) -> String {
    serde_json::json!({ "base": base, "text": text }).to_string()
}

/// The kept draft's text, if it was meant to replace `current` (so a configuration that changed
/// since, by a share link or an example, is not hidden behind an old draft).
pub fn kept_draft(stored: &str, current: &Value) -> Option<String> {
    let v: Value = serde_json::from_str(stored).ok()?;
    (v.get("base")? == current).then(|| v.get("text")?.as_str().map(String::from))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_nested_too_deep_is_refused_before_parsing() {
        let deep = format!("a: {}{}", "[".repeat(200_000), "]".repeat(200_000));
        let e = parse_config(&deep, false).unwrap_err();
        assert!(e.contains("nest more than"), "{e}");
    }

    #[test]
    fn json_yaml_and_text_are_read() {
        assert_eq!(parse_config("{\"a\": 1}", false).unwrap(), json!({"a": 1}));
        assert_eq!(
            parse_config("a: 1\nb: [x]\n", false).unwrap(),
            json!({"a": 1, "b": ["x"]})
        );
        assert_eq!(parse_config("42", false).unwrap(), json!(42));
        assert_eq!(parse_config("  \n", false).unwrap(), Value::Null);
        assert_eq!(parse_config("k=v", true).unwrap(), json!("k=v"));
        assert_eq!(parse_config("", true).unwrap(), Value::Null);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_config("{\n  \"a\": 1,\n}", false).unwrap_err();
        assert!(e.starts_with("JSON: line 3, column 1"), "{e}");
        let e = parse_config("a: 1\n b: 2\n  - c", false).unwrap_err();
        assert!(e.starts_with("YAML: line 2"), "{e}");
        let e = parse_config("just words", false).unwrap_err();
        assert!(e.contains("\"text\""), "{e}");
    }

    #[test]
    fn the_shown_text_reads_back_to_the_same_value() {
        for v in [json!({"a": [1, {"b": null}]}), json!("raw"), Value::Null] {
            let text = config_text(&v);
            assert_eq!(parse_config(&text, v.is_string()).unwrap(), v);
        }
        assert!(config_summary(&json!({"a": 1})).contains("7 bytes"));
    }

    #[test]
    fn a_kept_draft_comes_back_only_over_the_value_it_was_meant_to_replace() {
        let stored = keep_draft(&json!({"a": 1}), "{\"a\": ");
        assert_eq!(
            kept_draft(&stored, &json!({"a": 1})).as_deref(),
            Some("{\"a\": ")
        );
        assert_eq!(kept_draft(&stored, &json!({"a": 2})), None);
        assert_eq!(kept_draft("not json", &Value::Null), None);
    }
}
