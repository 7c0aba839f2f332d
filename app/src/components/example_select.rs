use leptos::prelude::*;

use crate::state::use_state;
use crate::{browser, loader, manifest};

/// The example picker: every example of `examples/index.json` (resolved against the document
/// base), and each of its scenarios. Choosing one loads the plugin and its scenario.
#[component]
pub fn ExampleSelect() -> impl IntoView {
    let state = use_state();
    let examples = LocalResource::new(|| async {
        let url = browser::resolve(manifest::MANIFEST_PATH)?;
        manifest::examples(&browser::fetch_text(&url).await?)
    });
    let status = move || match examples.get() {
        None => "Loading examples…".to_owned(),
        Some(Ok(list)) => manifest::menu_prompt(&list),
        Some(Err(error)) => format!("No examples ({error})"),
    };
    let options = move || {
        let list = examples.get().and_then(Result::ok).unwrap_or_default();
        list.into_iter()
            .flat_map(|example| {
                manifest::scenario_files(&example)
                    .into_iter()
                    .enumerate()
                    .map(move |(i, file)| {
                        let label = if i == 0 {
                            format!("{} — {}", example.name, example.title)
                        } else {
                            let variant = file
                                .trim_start_matches(&format!("{}.scenario-", example.name))
                                .trim_end_matches(".json")
                                .to_string();
                            format!("{} — {} ({variant})", example.name, example.title)
                        };
                        let value = format!("{}|{file}", example.name);
                        view! { <option value=value>{label}</option> }
                    })
            })
            .collect_view()
    };
    view! {
        <select data-testid="example-select" aria-label="Examples" on:change=move |e| {
            let v = event_target_value(&e);
            if let Some((name, file)) = v.split_once('|') {
                loader::load_example(state, name.to_string(), Some(file.to_string()));
            }
        }>
            <option value="">{status}</option>
            {options}
        </select>
    }
}
