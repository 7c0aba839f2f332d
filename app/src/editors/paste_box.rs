use leptos::prelude::*;

use super::edit;
use crate::paste;
use crate::state::use_state;

/// "Paste curl / raw HTTP": fills method, URL, headers and body from a `curl` command (as
/// DevTools' "Copy as cURL" writes it), a raw HTTP/1.1 request or HTTP/2 header lines. On an
/// error the text stays in the box and the request is left as it was.
#[component]
pub fn PasteBox() -> impl IntoView {
    let state = use_state();
    let text = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<String, String>>);
    let fill = move || {
        let current = state.scenario.with_untracked(|s| s.request.clone());
        match paste::fill_request(&current, &text.get_untracked()) {
            Ok(r) => {
                result.set(Some(Ok(paste::summary(&r))));
                edit(state, |s| s.request = r);
                text.set(String::new());
            }
            Err(m) => result.set(Some(Err(m))),
        }
    };
    view! {
        <details class="ed-paste" data-testid="paste-box">
            <summary>"Paste curl / raw HTTP"</summary>
            <textarea class="editor" rows="5" spellcheck="false" data-testid="paste-input"
                aria-label="A curl command or a raw HTTP request"
                placeholder="curl 'https://api.example.com/v1' -H 'accept: application/json'\n— or —\nPOST /v1 HTTP/1.1\nhost: api.example.com\n\n{\"a\": 1}"
                prop:value=text
                on:input=move |e| text.set(event_target_value(&e))
                on:keydown=move |e: leptos::ev::KeyboardEvent| {
                    if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) {
                        e.prevent_default();
                        fill();
                    }
                }></textarea>
            <div class="ed-bar">
                <button type="button" data-testid="paste-fill" title="Ctrl+Enter" on:click=move |_| fill()>
                    "Fill the request"
                </button>
                <small class="ed-default">"Trailers are kept; the scheme too unless the text names one."</small>
            </div>
            {move || result.get().map(|r| match r {
                Ok(m) => view! { <p class="ed-ok" role="status" data-testid="paste-result">{m}</p> }.into_any(),
                Err(m) => view! { <p class="inline-error" role="alert" data-testid="paste-error">{m}</p> }.into_any(),
            })}
        </details>
    }
}
