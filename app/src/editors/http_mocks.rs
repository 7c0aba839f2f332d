use leptos::prelude::*;
use pwp_model::scenario::{Body, Headers, HttpMock, MAX_ADVANCE_MS};

use super::fields::{Check, NumberField, TextField};
use super::pairs_table::PairsTable;
use super::{edit, part};
use crate::state::{AppState, use_state};

/// Edits mock `i` if it still exists.
fn edit_mock(state: AppState, i: usize, f: impl FnOnce(&mut HttpMock)) {
    edit(state, |s| {
        if let Some(m) = s.mocks.http.get_mut(i) {
            f(m);
        }
    });
}

/// Answers to HTTP callouts: cluster, path prefix and method to match, the response (status,
/// headers, body), or a reset or a timeout instead, and how late on the virtual clock it comes.
#[component]
pub fn HttpMocks() -> impl IntoView {
    let state = use_state();
    let count = part(state, |s| s.mocks.http.len());
    let mock = move |i: usize| {
        let get = move |f: fn(&HttpMock) -> String| {
            part(state, move |s| {
                s.mocks.http.get(i).map(f).unwrap_or_default()
            })
        };
        let opt = |v: String| (!v.is_empty()).then_some(v);
        view! {
            <fieldset class="ed-card" data-testid="http-mock">
                <legend>{format!("HTTP mock {}", i + 1)}</legend>
                <div class="ed-grid">
                    <TextField label="Cluster" placeholder="outbound|80||auth" value=get(|m| m.cluster.clone())
                        on_input=move |v: String| edit_mock(state, i, |m| m.cluster = v) />
                    <TextField label="Path prefix" placeholder="(any)" value=get(|m| m.path.clone().unwrap_or_default())
                        on_input=move |v: String| edit_mock(state, i, |m| m.path = opt(v)) />
                    <TextField label="Method" placeholder="(any)" list="ed-methods" value=get(|m| m.method.clone().unwrap_or_default())
                        on_input=move |v: String| edit_mock(state, i, |m| m.method = opt(v)) />
                    <NumberField label="Status" default=200 min=100 max=999
                        value=part(state, move |s| s.mocks.http.get(i).map_or(200, |m| u64::from(m.response.status)))
                        on_change=move |n: u64| edit_mock(state, i, |m| m.response.status = u16::try_from(n).unwrap_or(200)) />
                    <NumberField label="Delay" unit="ms" default=0 max=MAX_ADVANCE_MS testid="http-mock-delay"
                        hint="The answer arrives this long after the call on the virtual clock; past the callout's timeout it times out"
                        value=part(state, move |s| s.mocks.http.get(i).map_or(0, |m| m.delay_ms))
                        on_change=move |n: u64| edit_mock(state, i, |m| m.delay_ms = n) />
                </div>
                <PairsTable noun="header" value=part(state, move |s| s.mocks.http.get(i).map(|m| m.response.headers.0.clone()).unwrap_or_default())
                    on_change=move |h| edit_mock(state, i, |m| m.response.headers = Headers(h)) />
                <textarea class="editor ed-short" rows="2" spellcheck="false" aria-label=format!("HTTP mock {} body", i + 1)
                    placeholder="body"
                    prop:value=get(|m| match &m.response.body { Some(Body::Text(t)) => t.clone(), Some(Body::Base64 { base64 }) => base64.clone(), None => String::new() })
                    on:input=move |e| { let b = event_target_value(&e); edit_mock(state, i, |m| m.response.body = (!b.is_empty()).then_some(Body::Text(b))) }></textarea>
                <div class="ed-checks">
                    <Check label="reset instead" hint="The callout fails with a stream reset"
                        value=part(state, move |s| s.mocks.http.get(i).is_some_and(|m| m.reset))
                        on_change=move |b| edit_mock(state, i, |m| m.reset = b) />
                    <Check label="timeout instead" hint="As Envoy answers a timed-out callout: 504 upstream request timeout"
                        value=part(state, move |s| s.mocks.http.get(i).is_some_and(|m| m.timeout))
                        on_change=move |b| edit_mock(state, i, |m| m.timeout = b) />
                    <button type="button" class="ed-remove" on:click=move |_| edit(state, |s| { if i < s.mocks.http.len() { s.mocks.http.remove(i); } })>
                        "Remove"
                    </button>
                </div>
            </fieldset>
        }
    };
    view! {
        <div class="ed-list" data-testid="http-mocks">
            <For each=move || 0..count.get() key=|i| *i children=mock />
            <button type="button" class="ed-add" data-testid="add-http-mock"
                on:click=move |_| edit(state, |s| s.mocks.http.push(HttpMock::default()))>"+ HTTP mock"</button>
        </div>
    }
}
