//! The L4 connection: whether the scenario is one, and its frames (who sends what, end of
//! stream, closes, how long after the one before). The connection's addresses and TLS facts are edited in the scenario JSON.

use leptos::prelude::*;
use pwp_model::connection::{CloseBy, Connection, Frame, Peer};
use pwp_model::scenario::{Body, MAX_ADVANCE_MS};

use super::fields::{Check, Choice, NumberField};
use super::{edit, part};
use crate::state::{AppState, use_state};

const FROM: &[(&str, &str)] = &[
    ("downstream", "client → upstream"),
    ("upstream", "upstream → client"),
];
const CLOSE: &[(&str, &str)] = &[
    ("", "no close"),
    ("remote", "then the sender closes (remote)"),
    ("local", "then Envoy closes it (local)"),
];

/// Edits frame `i` if it still exists.
fn edit_frame(state: AppState, i: usize, f: impl FnOnce(&mut Frame)) {
    edit(state, |s| {
        if let Some(frame) = s.connection.as_mut().and_then(|c| c.frames.get_mut(i)) {
            f(frame);
        }
    });
}

fn frame_part<T>(state: AppState, i: usize, f: fn(&Frame) -> T) -> Memo<T>
where
    T: Clone + PartialEq + Send + Sync + Default + 'static,
{
    part(state, move |s| {
        s.connection
            .as_ref()
            .and_then(|c| c.frames.get(i))
            .map(f)
            .unwrap_or_default()
    })
}

/// A switch between an HTTP request and an L4 connection, and the connection's frames.
#[component]
pub fn ConnectionEditor() -> impl IntoView {
    let state = use_state();
    let on = part(state, |s| s.connection.is_some());
    let count = part(state, |s| {
        s.connection.as_ref().map_or(0, |c| c.frames.len())
    });
    let toggle = move |b: bool| {
        edit(state, |s| {
            s.connection = b.then(|| Connection {
                frames: vec![
                    Frame {
                        data: Some(Body::Text("ping\n".into())),
                        ..Frame::default()
                    },
                    Frame {
                        from: Peer::Upstream,
                        data: Some(Body::Text("pong\n".into())),
                        end_of_stream: true,
                        ..Frame::default()
                    },
                    Frame {
                        close: Some(CloseBy::Remote),
                        ..Frame::default()
                    },
                ],
                ..Connection::default()
            });
        })
    };
    let frame = move |i: usize| {
        view! {
            <fieldset class="ed-card" data-testid="conn-frame-editor">
                <legend>{format!("Frame {}", i + 1)}</legend>
                <div class="ed-grid">
                    <Choice label="From" options=FROM
                        value=frame_part(state, i, |f| f.from.name().to_string())
                        on_change=move |v: String| edit_frame(state, i, |f| f.from = if v == "upstream" { Peer::Upstream } else { Peer::Downstream }) />
                    <Choice label="Close" options=CLOSE
                        value=frame_part(state, i, |f| match f.close { Some(CloseBy::Remote) => "remote".to_string(), Some(CloseBy::Local) => "local".to_string(), None => String::new() })
                        on_change=move |v: String| edit_frame(state, i, |f| f.close = match v.as_str() { "remote" => Some(CloseBy::Remote), "local" => Some(CloseBy::Local), _ => None }) />
                    <NumberField label="After" unit="ms" default=0 max=MAX_ADVANCE_MS testid="conn-frame-after"
                        hint="The frame comes this long after the one before: the virtual clock moves first, firing the plugin's ticks"
                        value=frame_part(state, i, |f| f.after_ms)
                        on_change=move |n: u64| edit_frame(state, i, |f| f.after_ms = n) />
                </div>
                <textarea class="editor ed-short mono" rows="2" spellcheck="false" aria-label=format!("Frame {} data", i + 1)
                    placeholder="bytes (text; binary in the scenario JSON as {\"base64\": …})"
                    prop:readonly=frame_part(state, i, |f| matches!(f.data, Some(Body::Base64 { .. })))
                    prop:value=frame_part(state, i, |f| match &f.data { Some(Body::Text(t)) => t.clone(), Some(Body::Base64 { base64 }) => format!("(binary, edit it in the scenario JSON) {base64}"), None => String::new() })
                    on:input=move |e| { let b = event_target_value(&e); edit_frame(state, i, |f| f.data = (!b.is_empty()).then_some(Body::Text(b))) }></textarea>
                <div class="ed-checks">
                    <Check label="end of stream" hint="The sender half-closes after these bytes"
                        value=frame_part(state, i, |f| f.end_of_stream)
                        on_change=move |b| edit_frame(state, i, |f| f.end_of_stream = b) />
                    <button type="button" class="ed-remove" on:click=move |_| edit(state, |s| {
                        if let Some(c) = s.connection.as_mut() && i < c.frames.len() { c.frames.remove(i); }
                    })>"Remove"</button>
                </div>
            </fieldset>
        }
    };
    view! {
        <div class="ed-section" data-testid="connection-editor">
            <Check label="L4 connection (network filter) instead of an HTTP request" testid="connection-toggle"
                hint="Runs the plugin as envoy.filters.network.wasm before tcp_proxy on these frames"
                value=on on_change=toggle />
            <Show when=move || on.get()>
                <div class="ed-list" data-testid="conn-frames-editor">
                    <For each=move || 0..count.get() key=|i| *i children=frame />
                    <button type="button" class="ed-add" data-testid="add-conn-frame"
                        on:click=move |_| edit(state, |s| if let Some(c) = s.connection.as_mut() { c.frames.push(Frame::default()) })>"+ frame"</button>
                </div>
            </Show>
        </div>
    }
}
