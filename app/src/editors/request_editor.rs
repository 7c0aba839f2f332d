use leptos::prelude::*;
use pwp_model::scenario::Headers;

use super::body_editor::BodyEditor;
use super::connection_editor::ConnectionEditor;
use super::fields::TextField;
use super::pairs_table::PairsTable;
use super::paste_box::PasteBox;
use super::{edit, part};
use crate::state::use_state;

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];
const PROTOCOLS: &[&str] = &["HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"];

/// The downstream request: pseudo-headers, headers, body and trailers, and the paste box.
#[component]
pub fn RequestEditor() -> impl IntoView {
    let state = use_state();
    let text = |f: fn(&pwp_model::scenario::Request) -> String| part(state, move |s| f(&s.request));
    let headers = part(state, |s| s.request.headers.0.clone());
    let trailers = part(state, |s| s.request.trailers.0.clone());
    let body = part(state, |s| {
        (s.request.body.clone(), s.request.chunks.clone())
    });
    let l4 = part(state, |s| s.connection.is_some());
    view! {
        <ConnectionEditor />
        <div class="ed-section" data-testid="request-editor" style:display=move || if l4.get() { "none" } else { "" }>
            <PasteBox />
            <div class="ed-grid">
                <TextField label="Method" testid="request-method" list="ed-methods" hint="Pick one or type any method"
                    value=text(|r| r.method.clone()) on_input=move |v: String| edit(state, |s| s.request.method = v) />
                <TextField label="Scheme" testid="request-scheme" list="ed-schemes"
                    value=text(|r| r.scheme.clone()) on_input=move |v: String| edit(state, |s| s.request.scheme = v) />
                <TextField label="Authority (host)" testid="request-authority" placeholder="example.com"
                    value=text(|r| r.authority.clone()) on_input=move |v: String| edit(state, |s| s.request.authority = v) />
                <TextField label="Protocol" testid="request-protocol" list="ed-protocols"
                    value=text(|r| r.protocol.clone()) on_input=move |v: String| edit(state, |s| s.request.protocol = v) />
            </div>
            <TextField label="Path (with query)" testid="request-path" placeholder="/"
                value=text(|r| r.path.clone()) on_input=move |v: String| edit(state, |s| s.request.path = v) />
            <datalist id="ed-methods">{METHODS.iter().map(|m| view! { <option value=*m /> }).collect_view()}</datalist>
            <datalist id="ed-schemes"><option value="http" /><option value="https" /></datalist>
            <datalist id="ed-protocols">{PROTOCOLS.iter().map(|m| view! { <option value=*m /> }).collect_view()}</datalist>
            <h3 class="ed-sub">"Headers"</h3>
            <PairsTable noun="header" testid="request-headers" value=headers
                on_change=move |h| edit(state, |s| s.request.headers = Headers(h)) />
            <BodyEditor label="Body" testid="request-body" value=body
                on_change=move |(b, c)| edit(state, |s| { s.request.body = b; s.request.chunks = c; }) />
            <h3 class="ed-sub">"Trailers"</h3>
            <PairsTable noun="trailer" testid="request-trailers" value=trailers
                on_change=move |h| edit(state, |s| s.request.trailers = Headers(h)) />
        </div>
    }
}
