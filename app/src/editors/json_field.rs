use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::config_text::json_error;
use super::follow;

fn pretty<T: Serialize>(v: &T) -> String {
    pwp_model::json::to_string_pretty(v).unwrap_or_default()
}

/// A part of the scenario as a JSON textarea, checked against its type as you type: unknown
/// fields and syntax errors are named (with line and column) and the text is kept unapplied.
#[component]
pub fn JsonField<T>(
    label: &'static str,
    value: Signal<T>,
    on_change: Callback<T>,
    testid: &'static str,
    #[prop(default = "4")] rows: &'static str,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView
where
    T: Serialize + DeserializeOwned + PartialEq + Clone + Default + Send + Sync + 'static,
{
    let show = |v: &T| {
        if *v == T::default() {
            String::new()
        } else {
            pretty(v)
        }
    };
    let read = |text: &str| -> Result<T, String> {
        if text.trim().is_empty() {
            return Ok(T::default());
        }
        serde_json::from_str(text).map_err(|e| json_error(&e))
    };
    let draft = RwSignal::new(show(&value.get_untracked()));
    let error = RwSignal::new(None::<String>);
    follow(
        value,
        draft,
        move |d, v| read(d).is_ok_and(|x| x == *v),
        move |v, _| {
            error.set(None);
            show(v)
        },
    );
    view! {
        <label class="ed-field">
            <span>{label}</span>
            <textarea class="editor ed-short" spellcheck="false" rows=rows data-testid=testid placeholder=placeholder
                aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=draft
                on:input=move |e| {
                    let text = event_target_value(&e);
                    let parsed = read(&text);
                    draft.set(text);
                    match parsed {
                        Ok(v) => { error.set(None); on_change.run(v); }
                        Err(m) => error.set(Some(m)),
                    }
                }></textarea>
            {move || error.get().map(|m| view! { <span class="inline-error" role="alert">{m} " — not applied"</span> })}
        </label>
    }
}
