use leptos::prelude::*;
use pwp_model::scenario::Headers;

use super::body_editor::BodyEditor;
use super::fields::NumberField;
use super::pairs_table::PairsTable;
use super::{edit, part};
use crate::state::use_state;

/// The upstream's answer: status, headers, body and trailers.
#[component]
pub fn ResponseEditor() -> impl IntoView {
    let state = use_state();
    let status = part(state, |s| u64::from(s.response.status));
    let headers = part(state, |s| s.response.headers.0.clone());
    let trailers = part(state, |s| s.response.trailers.0.clone());
    let body = part(state, |s| {
        (s.response.body.clone(), s.response.chunks.clone())
    });
    view! {
        <div class="ed-section" data-testid="response-editor">
            <p class="ed-hint">"What the upstream answers when the request reaches it."</p>
            <NumberField label="Status" testid="response-status" default=200 min=100 max=999 value=status
                on_change=move |n: u64| edit(state, |s| s.response.status = u16::try_from(n).unwrap_or(200)) />
            <h3 class="ed-sub">"Headers"</h3>
            <PairsTable noun="header" testid="response-headers" value=headers
                on_change=move |h| edit(state, |s| s.response.headers = Headers(h)) />
            <BodyEditor label="Body" testid="response-body" value=body
                on_change=move |(b, c)| edit(state, |s| { s.response.body = b; s.response.chunks = c; }) />
            <h3 class="ed-sub">"Trailers"</h3>
            <PairsTable noun="trailer" testid="response-trailers" value=trailers
                on_change=move |h| edit(state, |s| s.response.trailers = Headers(h)) />
        </div>
    }
}
