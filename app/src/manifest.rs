//! The example manifest, `examples/index.json`, written by `examples/build.sh`.
//!
//! The URL is relative: it resolves against the document base, which Trunk sets to the
//! `--public-url`, so a build hosted under a sub-path finds its own examples.
//! `examples/build.sh` writes a list of objects with `name`, `title`, `wasm`, `scenario`, ….
//! Parsing is lenient for now (the placeholder only lists them): the manifest may also be an
//! object with an `examples` list, and an entry a bare name.

use serde_json::Value;

/// Where the manifest lives, relative to the document base.
pub const MANIFEST_PATH: &str = "examples/index.json";

/// One example of the manifest, as the picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The identifier (`go-headers`).
    pub name: String,
    /// What the picker shows; the name when the manifest has no title.
    pub title: String,
    /// Scenario files: the main one first, then the extra ones.
    pub scenarios: Vec<String>,
}

/// The examples of a manifest, in manifest order. Entries without a name are skipped.
///
/// # Errors
///
/// A message when the text is not JSON or has no recognisable list of examples.
pub fn examples(json: &str) -> Result<Vec<Example>, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let list = match &value {
        Value::Array(list) => list,
        Value::Object(map) => match map.get("examples") {
            Some(Value::Array(list)) => list,
            _ => return Err("no \"examples\" list".to_owned()),
        },
        _ => return Err("neither a list nor an object".to_owned()),
    };
    Ok(list.iter().filter_map(entry).collect())
}

fn entry(value: &Value) -> Option<Example> {
    let (name, title) = match value {
        Value::String(name) => (name.as_str(), None),
        Value::Object(map) => (
            map.get("name").and_then(Value::as_str)?,
            map.get("title").and_then(Value::as_str),
        ),
        _ => return None,
    };
    let mut scenarios: Vec<String> = Vec::new();
    if let Value::Object(map) = value {
        if let Some(main) = map.get("scenario").and_then(Value::as_str) {
            scenarios.push(main.to_owned());
        }
        for extra in map
            .get("scenarios")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(s) = extra.as_str() {
                scenarios.push(s.to_owned());
            }
        }
    }
    Some(Example {
        name: name.to_owned(),
        title: title.unwrap_or(name).to_owned(),
        scenarios,
    })
}

/// The scenario files the picker offers for `example`: its own list, or the conventional name.
pub fn scenario_files(example: &Example) -> Vec<String> {
    if example.scenarios.is_empty() {
        vec![format!("{}.scenario.json", example.name)]
    } else {
        example.scenarios.clone()
    }
}

/// The picker's first line, counting what it lists: one entry per scenario.
pub fn menu_prompt(list: &[Example]) -> String {
    let entries: usize = list.iter().map(|e| scenario_files(e).len()).sum();
    match (entries, list.len()) {
        (0, _) => "No examples".to_owned(),
        (1, _) => "Pick the example".to_owned(),
        (e, p) if e == p => format!("Pick one of {e} examples"),
        (e, p) => format!("Pick one of {e} examples ({p} plugins)"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Example, examples, menu_prompt, scenario_files};

    #[test]
    fn the_prompt_counts_the_entries_it_lists() {
        let list = examples(
            r#"[{"name": "a", "scenario": "a.scenario.json", "scenarios": ["a.scenario-x.json"]}, {"name": "b"}]"#,
        )
        .unwrap();
        assert_eq!(scenario_files(&list[1]), ["b.scenario.json"]);
        assert_eq!(menu_prompt(&list), "Pick one of 3 examples (2 plugins)");
        assert_eq!(menu_prompt(&list[1..]), "Pick the example");
        assert_eq!(menu_prompt(&[]), "No examples");
    }

    fn names(json: &str) -> Vec<(String, String)> {
        let list = examples(json).expect("a valid manifest");
        list.into_iter()
            .map(|Example { name, title, .. }| (name, title))
            .collect()
    }

    #[test]
    fn the_build_script_manifest_gives_names_and_titles_in_order() {
        let json = r#"[
          {"name": "go-headers", "title": "Add headers", "wasm": "go-headers.wasm", "size": 1},
          {"name": "rust-basic-auth", "title": "Basic auth", "scenarios": []}
        ]"#;
        assert_eq!(
            names(json),
            [
                ("go-headers".into(), "Add headers".into()),
                ("rust-basic-auth".into(), "Basic auth".into())
            ]
        );
    }

    #[test]
    fn an_examples_object_and_bare_names_are_accepted_and_nameless_entries_skipped() {
        let json = r#"{"examples": ["a", {"title": "no name"}, 3, {"name": "b"}]}"#;
        assert_eq!(
            names(json),
            [("a".into(), "a".into()), ("b".into(), "b".into())]
        );
    }

    #[test]
    fn scenarios_list_the_main_one_first() {
        let list = examples(
            r#"[{"name": "a", "scenario": "a.scenario.json", "scenarios": ["a.scenario-x.json"]}]"#,
        )
        .unwrap();
        assert_eq!(list[0].scenarios, ["a.scenario.json", "a.scenario-x.json"]);
    }

    #[test]
    fn text_without_a_list_is_an_error() {
        assert!(examples("not json").is_err());
        assert!(examples(r#"{"plugins":[]}"#).is_err());
        assert!(examples("42").is_err());
    }
}
