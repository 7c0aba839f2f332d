use leptos::prelude::*;

use super::body_text::{
    BodyDraft, BodyParts, CHUNK_MARKER, draft_of, parse_draft, same_parts, size_note, switch_mode,
};
use super::follow;

/// A message body: text or hex, in one piece or as chunks (one per block between
/// `--- chunk ---` lines). Invalid hex stays in the box with its error and is not applied.
#[component]
pub fn BodyEditor(
    #[prop(into)] value: Signal<BodyParts>,
    #[prop(into)] on_change: Callback<BodyParts>,
    /// On the textarea; `-hex` and `-chunks` on the toggles.
    testid: &'static str,
    /// "Request body".
    label: &'static str,
) -> impl IntoView {
    let draft = RwSignal::new(draft_of(&value.get_untracked(), false));
    let error = RwSignal::new(None::<String>);
    follow(
        value,
        draft,
        |d, v| parse_draft(d).is_ok_and(|p| same_parts(&p, v)),
        move |v, d| {
            error.set(None);
            draft_of(v, d.hex)
        },
    );
    let apply = move |d: BodyDraft| {
        let parsed = parse_draft(&d);
        draft.set(d);
        match parsed {
            Ok(p) => {
                error.set(None);
                on_change.run(p);
            }
            Err(m) => error.set(Some(m)),
        }
    };
    let set_hex = move |hex: bool| match switch_mode(&draft.get_untracked(), hex) {
        Ok(d) => apply(d),
        Err(m) => {
            error.set(Some(m));
            draft.update(|_| {}); // puts the checkbox back
        }
    };
    let set_chunked = move |chunked: bool| {
        let mut d = draft.get_untracked();
        d.chunked = chunked;
        apply(d);
    };
    view! {
        <div class="ed-body">
            <div class="ed-bar">
                <span class="ed-label" id=format!("{testid}-label")>{label}</span>
                <label class="ed-check">
                    <input type="checkbox" data-testid=format!("{testid}-hex") prop:checked=move || draft.with(|d| d.hex)
                        on:change=move |e| set_hex(event_target_checked(&e)) />
                    <span>"hex"</span>
                </label>
                <label class="ed-check">
                    <input type="checkbox" data-testid=format!("{testid}-chunks") prop:checked=move || draft.with(|d| d.chunked)
                        on:change=move |e| set_chunked(event_target_checked(&e)) />
                    <span>"send as chunks"</span>
                </label>
                <small class="ed-default">{move || size_note(&value.get())}</small>
            </div>
            <textarea class="editor" rows="4" spellcheck="false" data-testid=testid
                aria-labelledby=format!("{testid}-label")
                placeholder=move || if draft.with(|d| d.hex) { "68 65 6c 6c 6f" } else { "(no body)" }
                prop:value=move || draft.with(|d| d.text.clone())
                on:input=move |e| {
                    let mut d = draft.get_untracked();
                    d.text = event_target_value(&e);
                    apply(d);
                }></textarea>
            <Show when=move || draft.with(|d| d.chunked)>
                <p class="ed-hint">"One DATA chunk per block; separate blocks with a line " <code>{CHUNK_MARKER}</code></p>
            </Show>
            {move || error.get().map(|m| view! { <p class="inline-error" role="alert">{m}</p> })}
        </div>
    }
}
