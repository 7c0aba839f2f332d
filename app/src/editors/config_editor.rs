use leptos::prelude::*;

use super::config_text::{config_summary, config_text, keep_draft, kept_draft, parse_config};
use super::{edit, follow, part};
use crate::persist;
use crate::state::use_state;

/// The plugin configuration (`proxy_on_configure`) or, with `vm`, the VM configuration
/// (`proxy_on_vm_start`): JSON or YAML, or text passed as is. Invalid text stays in the box
/// (and across a reload) with an error naming its line and column, and a run refuses to start
/// until it is fixed (it would otherwise use the last valid value).
#[component]
pub fn ConfigEditor(vm: bool) -> impl IntoView {
    let state = use_state();
    let (key, testid) = if vm {
        ("vm_config", "vm-config")
    } else {
        ("config", "config")
    };
    let value = part(state, move |s| {
        if vm {
            s.settings.vm_config.clone()
        } else {
            s.settings.config.clone()
        }
    });
    let editor = if vm {
        "VM configuration"
    } else {
        "plugin configuration"
    };
    let initial = value.get_untracked();
    let raw = RwSignal::new(initial.is_string());
    let error = RwSignal::new(None::<String>);
    // A draft the last session could not apply comes back with its error, unless the
    // configuration changed since (a share link, an example).
    let kept = persist::draft(key)
        .and_then(|stored| kept_draft(&stored, &initial))
        .filter(|d| parse_config(d, raw.get_untracked()).is_err());
    if let Some(d) = &kept {
        error.set(parse_config(d, raw.get_untracked()).err());
    }
    // The run reads this: it refuses to start while the text is invalid.
    Effect::new(move |_| state.set_invalid(editor, error.get()));
    on_cleanup(move || state.set_invalid(editor, None));
    let draft = RwSignal::new(kept.unwrap_or_else(|| config_text(&initial)));
    follow(
        value.into(),
        draft,
        move |d: &String, v: &serde_json::Value| {
            parse_config(d, raw.get_untracked()).is_ok_and(|x| x == *v)
        },
        move |v: &serde_json::Value, _: &String| {
            raw.set(v.is_string());
            error.set(None);
            persist::save_draft(key, None);
            config_text(v)
        },
    );
    let apply = move || {
        let text = draft.get_untracked();
        match parse_config(&text, raw.get_untracked()) {
            Ok(v) => {
                error.set(None);
                persist::save_draft(key, None);
                edit(state, |s| {
                    if vm {
                        s.settings.vm_config = v
                    } else {
                        s.settings.config = v
                    }
                });
            }
            Err(m) => {
                error.set(Some(m));
                persist::save_draft(key, Some(&keep_draft(&value.get_untracked(), &text)));
            }
        }
    };
    let title = if vm {
        "VM configuration"
    } else {
        "Plugin configuration"
    };
    view! {
        <div class="ed-config" class:ed-small=vm>
            <div class="ed-bar">
                <span class="ed-label" id=format!("{testid}-label")>{title}</span>
                <label class="ed-check">
                    <span>"read as"</span>
                    <select data-testid=format!("{testid}-mode") on:change=move |e| {
                        raw.set(event_target_value(&e) == "text");
                        apply();
                    }>
                        <option value="structured" prop:selected=move || !raw.get()>"JSON or YAML"</option>
                        <option value="text" prop:selected=move || raw.get()>"text (as is)"</option>
                    </select>
                </label>
            </div>
            <textarea class="editor" spellcheck="false" data-testid=format!("{testid}-editor")
                aria-labelledby=format!("{testid}-label") rows=if vm { "3" } else { "9" }
                aria-invalid=move || error.with(Option::is_some).to_string()
                placeholder=if vm { "(empty)" } else { "{\"key\": \"value\"}  or  key: value" }
                prop:value=draft
                on:input=move |e| {
                    draft.set(event_target_value(&e));
                    apply();
                }></textarea>
            {move || match error.get() {
                Some(m) => view! {
                    <p class="inline-error" role="alert" data-testid=format!("{testid}-error")>
                        {m} " — not applied; Run refuses to start until it is fixed."
                    </p>
                }.into_any(),
                None => view! { <p class="ed-hint">{move || config_summary(&value.get())}</p> }.into_any(),
            }}
        </div>
    }
}
