//! The small labelled inputs every editor uses: text, whole number (with its default shown),
//! checkbox and choice. Each is a few lines; they share one file.

use leptos::prelude::*;

use pwp_model::text::thousands as grouped;

use super::rows::parse_number;

/// A labelled one-line text input; `list` names a `<datalist>` of suggestions.
#[component]
pub fn TextField(
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] on_input: Callback<String>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] list: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="ed-field">
            <span>{label}</span>
            <input type="text" class="mono" spellcheck="false" autocomplete="off" data-testid=testid
                placeholder=placeholder list=list title=hint
                prop:value=value on:input=move |e| on_input.run(event_target_value(&e)) />
        </label>
    }
}

/// A labelled whole number, applied on change; empty means the default, which is shown.
#[component]
pub fn NumberField(
    label: &'static str,
    #[prop(into)] value: Signal<u64>,
    #[prop(into)] on_change: Callback<u64>,
    default: u64,
    #[prop(default = u64::MAX)] max: u64,
    #[prop(optional)] min: u64,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] unit: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let changed = move |text: String| match parse_number(&text, default, max) {
        Ok(n) if n < min => error.set(Some(format!("{n} is below the minimum {min}"))),
        Ok(n) => {
            error.set(None);
            on_change.run(n);
        }
        Err(m) => error.set(Some(m)),
    };
    let note = move || {
        if value.get() == default {
            "default".to_string()
        } else {
            format!("default {}", grouped(default))
        }
    };
    let label = match unit {
        Some(u) => format!("{label} ({u})"),
        None => label.to_string(),
    };
    view! {
        <label class="ed-field" title=hint>
            <span>{label}</span>
            <input type="text" inputmode="numeric" class="mono" autocomplete="off" data-testid=testid
                placeholder=grouped(default) aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=move || grouped(value.get())
                on:change=move |e| changed(event_target_value(&e)) />
            <small class="ed-default">{note}</small>
            {move || error.get().map(|m| view! { <span class="inline-error" role="alert">{m}</span> })}
        </label>
    }
}

/// A labelled checkbox.
#[component]
pub fn Check(
    label: &'static str,
    #[prop(into)] value: Signal<bool>,
    #[prop(into)] on_change: Callback<bool>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="ed-check" title=hint>
            <input type="checkbox" data-testid=testid prop:checked=value
                on:change=move |e| on_change.run(event_target_checked(&e)) />
            <span>{label}</span>
        </label>
    }
}

/// A labelled select over `(value, label)` options.
#[component]
pub fn Choice(
    label: &'static str,
    options: &'static [(&'static str, &'static str)],
    #[prop(into)] value: Signal<String>,
    #[prop(into)] on_change: Callback<String>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="ed-field" title=hint>
            <span>{label}</span>
            <select data-testid=testid on:change=move |e| on_change.run(event_target_value(&e))>
                {options.iter().map(|(v, l)| view! {
                    <option value=*v prop:selected=move || value.with(|x| x == v)>{*l}</option>
                }).collect_view()}
            </select>
        </label>
    }
}
