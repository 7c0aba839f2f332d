//! The scenario's inputs: plugin configuration, request and upstream response.

use leptos::prelude::*;
use pwp_host::scenario::{Body, Headers, Request, Response};

use crate::components::panel::Panel;
use crate::paste;
use crate::state::use_state;

/// The configuration as the editor shows it: pretty JSON for structured values, the text as
/// is for strings.
pub fn config_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// Reads the editor's text: JSON, else YAML (objects and arrays), else an error naming the line.
pub fn parse_config(text: &str, raw: bool) -> Result<serde_json::Value, String> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    if raw {
        return Ok(serde_json::Value::String(text.to_string()));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => Ok(v),
        Err(json_err) => match yaml_serde::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() || v.is_array() => Ok(v),
            _ => Err(format!(
                "not valid JSON (line {}, column {}: {}) nor a YAML mapping; choose \"text\" to pass it as is",
                json_err.line(),
                json_err.column(),
                json_err
            )),
        },
    }
}

/// Shows a request as raw HTTP.
pub fn request_text(r: &Request) -> String {
    let mut s = format!(
        "{} {} {}\nhost: {}\n",
        r.method, r.path, r.protocol, r.authority
    );
    for (k, v) in &r.headers.0 {
        s.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(Body::Text(b)) = &r.body {
        s.push('\n');
        s.push_str(b);
    }
    s
}

/// Shows a response as raw HTTP.
pub fn response_text(r: &Response) -> String {
    let mut s = format!("HTTP/1.1 {}\n", r.status);
    for (k, v) in &r.headers.0 {
        s.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(Body::Text(b)) = &r.body {
        s.push('\n');
        s.push_str(b);
    }
    s
}

/// Reads a raw HTTP response.
pub fn parse_response(text: &str) -> Result<Response, String> {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text
        .split_once("\n\n")
        .map_or((text.as_str(), None), |(h, b)| (h, Some(b)));
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let status = first
        .split_whitespace()
        .find_map(|w| w.parse::<u16>().ok())
        .ok_or_else(|| format!("{first:?} has no status code; write e.g. `HTTP/1.1 200`"))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let (k, v) = line
            .split_once(':')
            .ok_or(format!("header line {line:?} has no ':'"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Ok(Response {
        status,
        headers: Headers(headers),
        body: body
            .filter(|b| !b.is_empty())
            .map(|b| Body::Text(b.to_string())),
        ..Response::default()
    })
}

/// The editors of the left pane.
#[component]
pub fn Editors() -> impl IntoView {
    let state = use_state();
    let raw_config = RwSignal::new(false);
    let config_error = RwSignal::new(None::<String>);
    let request_error = RwSignal::new(None::<String>);
    let response_error = RwSignal::new(None::<String>);
    let edit = move || state.reset_run();
    view! {
        <Panel title="Plugin configuration">
            <div class="editor-bar">
                <label><input type="checkbox" prop:checked=raw_config on:change=move |e| raw_config.set(event_target_checked(&e)) />" pass as text (not JSON/YAML)"</label>
            </div>
            <textarea class="editor" data-testid="config-editor" aria-label="Plugin configuration" spellcheck="false" rows="8"
                prop:value=move || config_text(&state.scenario.with(|s| s.settings.config.clone()))
                on:change=move |e| match parse_config(&event_target_value(&e), raw_config.get_untracked()) {
                    Ok(v) => { config_error.set(None); state.scenario.update(|s| s.settings.config = v); edit(); }
                    Err(m) => config_error.set(Some(m)),
                }></textarea>
            {move || config_error.get().map(|m| view! { <p class="inline-error" data-testid="config-error">{m}</p> })}
        </Panel>
        <Panel title="Request">
            <textarea class="editor" data-testid="request-editor" aria-label="Request (raw HTTP, or paste a curl command)" spellcheck="false" rows="8"
                prop:value=move || state.scenario.with(|s| request_text(&s.request))
                on:change=move |e| match paste::parse_request(&event_target_value(&e)) {
                    Ok(r) => {
                        request_error.set(None);
                        state.scenario.update(|s| {
                            let keep = (s.request.scheme.clone(), s.request.chunks.clone(), s.request.trailers.clone());
                            s.request = r;
                            if s.request.scheme == "http" { s.request.scheme = keep.0; }
                            if s.request.body.is_none() { s.request.chunks = Vec::new(); } else if !keep.1.is_empty() { s.request.chunks = Vec::new(); }
                            s.request.trailers = keep.2;
                        });
                        edit();
                    }
                    Err(m) => request_error.set(Some(m)),
                }></textarea>
            {move || request_error.get().map(|m| view! { <p class="inline-error">{m}</p> })}
        </Panel>
        <Panel title="Upstream response">
            <textarea class="editor" data-testid="response-editor" aria-label="Upstream response (raw HTTP)" spellcheck="false" rows="6"
                prop:value=move || state.scenario.with(|s| response_text(&s.response))
                on:change=move |e| match parse_response(&event_target_value(&e)) {
                    Ok(r) => {
                        response_error.set(None);
                        state.scenario.update(|s| { let t = s.response.trailers.clone(); s.response = r; s.response.trailers = t; });
                        edit();
                    }
                    Err(m) => response_error.set(Some(m)),
                }></textarea>
            {move || response_error.get().map(|m| view! { <p class="inline-error">{m}</p> })}
        </Panel>
    }
}
