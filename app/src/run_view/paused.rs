//! While paused: the request as it is right now, and the form to answer a pending callout.

use leptos::prelude::*;
use pwp_model::run::{CalloutAnswer, Pause};
use pwp_model::scenario::{Body, Headers, MockResponse};
use pwp_model::stream::{Access, from_pairs};
use pwp_model::trace::CalloutKind;

use crate::labels;
use crate::runner::answer_callout;
use crate::state::{RunStatus, use_state};

/// The stream's headers and bodies at the pause, as the plugin sees them, and what it may do
/// with each part now. Shown at the top of the results while a run is paused in a request.
#[component]
pub fn StreamNow() -> impl IntoView {
    let state = use_state();
    let stream = super::of_run(state, |r| {
        let s = r
            .stream
            .as_ref()
            .filter(|_| r.status == RunStatus::Paused)?;
        let at = match &r.paused {
            Some(
                Pause::BeforeCallback { index: i }
                | Pause::HostCall { callback: i, .. }
                | Pause::Failed { callback: i },
            ) => r
                .report
                .as_ref()
                .and_then(|rep| rep.callbacks.get(*i))
                .map(|c| {
                    let before = matches!(r.paused, Some(Pause::BeforeCallback { .. }));
                    format!(
                        " ({} {} {})",
                        if before { "before" } else { "in" },
                        labels::callback_no(*i),
                        c.name
                    )
                }),
            _ => None,
        };
        Some(Shown {
            heading: format!(
                "The stream now{}, {}",
                at.unwrap_or_default(),
                labels::request_no(s.index)
            ),
            request_headers: (from_pairs(&s.request_headers), s.req_headers),
            request_body: (s.request_body.clone(), s.req_body),
            response_headers: (from_pairs(&s.response_headers), s.resp_headers),
            response_body: (s.response_body.clone(), s.resp_body),
        })
    });
    view! {
        {move || stream.get().map(|s| {
            let part = |title: &'static str, (pairs, access): (Vec<(String, String)>, Access), testid: &'static str| view! {
                <h4>{title} " " <small class="access" data-testid=testid>{labels::access(access)}</small></h4>
                <table class="headers"><tbody>
                    {pairs.into_iter().map(|(k, v)| view! { <tr><td class="mono k">{k}</td><td class="mono">{v}</td></tr> }).collect_view()}
                </tbody></table>
            };
            let body = |title: &'static str, (bytes, access): (Vec<u8>, Access)| (!bytes.is_empty()).then(|| {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                view! {
                    <h4>{title} " " <small class="access">{labels::access(access)}</small></h4>
                    <pre class="body mono">{text}</pre>
                }
            });
            let responded = !s.response_headers.0.is_empty();
            view! {
                <section class="stream-now" data-testid="stream-now" aria-label="The stream at the pause">
                    <h3 class="panel-title">{s.heading}</h3>
                    {part("Request headers", s.request_headers, "access-request-headers")}
                    {body("Request body", s.request_body)}
                    {responded.then(|| part("Response headers", s.response_headers, "access-response-headers"))}
                    {body("Response body", s.response_body)}
                </section>
            }
        })}
    }
}

/// What [`StreamNow`] shows: each part with what the plugin may do with it now.
#[derive(Clone, PartialEq)]
struct Shown {
    heading: String,
    request_headers: (Vec<(String, String)>, Access),
    request_body: (Vec<u8>, Access),
    response_headers: (Vec<(String, String)>, Access),
    response_body: (Vec<u8>, Access),
}

fn parse_headers(text: &str) -> Headers {
    Headers(
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
    )
}

/// Answer a callout no mock answers: an HTTP response, a Redis reply or a reset.
#[component]
pub fn CalloutAnswerForm() -> impl IntoView {
    let state = use_state();
    let pending = super::of_run(state, |r| match (&r.paused, &r.report) {
        (Some(Pause::Callout { token }), Some(rep)) => {
            rep.callouts.iter().find(|c| c.token == *token).cloned()
        }
        _ => None,
    });
    let status = RwSignal::new("200".to_string());
    let headers = RwSignal::new("content-type: application/json".to_string());
    let body = RwSignal::new(String::new());
    view! {
        {move || pending.get().map(|c| {
            let token = c.token;
            let redis = c.kind == CalloutKind::Redis;
            view! {
                <form class="callout-answer" data-testid="callout-answer" on:submit=move |e| {
                    e.prevent_default();
                    let answer = if redis {
                        CalloutAnswer::Redis(body.get_untracked().replace("\\r\\n", "\r\n"))
                    } else {
                        CalloutAnswer::Http(MockResponse {
                            status: status.get_untracked().trim().parse().unwrap_or(200),
                            headers: parse_headers(&headers.get_untracked()),
                            body: Some(Body::Text(body.get_untracked())),
                            trailers: Headers::default(),
                        })
                    };
                    answer_callout(state, token, answer);
                }>
                    <h4>{format!("Answer the {} callout to {} {}", c.kind, c.cluster, c.path)}</h4>
                    <Show when=move || !redis>
                        <label>"Status " <input size="4" prop:value=status on:input=move |e| status.set(event_target_value(&e)) /></label>
                        <label>"Headers" <textarea rows="2" prop:value=headers on:input=move |e| headers.set(event_target_value(&e))></textarea></label>
                    </Show>
                    <label>{if redis { "RESP reply (e.g. :1\\r\\n)" } else { "Body" }}
                        <textarea rows="3" prop:value=body on:input=move |e| body.set(event_target_value(&e))></textarea>
                    </label>
                    <button type="submit" class="primary" data-testid="callout-send">"Send answer"</button>
                    <button type="button" on:click=move |_| answer_callout(state, token, CalloutAnswer::Reset)>"Reset the connection"</button>
                </form>
            }
        })}
    }
}
