//! The outcome: what reached the upstream, what the client got, callouts, metrics, shared
//! data, expectations, failures, and memory and time over replayed requests.

use leptos::prelude::*;
use pwp_model::outcome::Message;
use pwp_model::scenario::Body;

use super::{chart, of_run};
use crate::labels;
use crate::state::use_state;

fn body_text(b: &Body) -> String {
    match b {
        Body::Text(t) => t.clone(),
        Body::Base64 { base64 } => format!("(binary, base64) {base64}"),
    }
}

fn message_view(m: Message) -> impl IntoView {
    view! {
        <table class="headers">
            <tbody>
                {m.headers.into_iter().map(|(k, v)| view! { <tr><td class="mono k">{k}</td><td class="mono">{v}</td></tr> }).collect_view()}
                {m.trailers.into_iter().map(|(k, v)| view! { <tr class="trailer"><td class="mono k">{format!("trailer {k}")}</td><td class="mono">{v}</td></tr> }).collect_view()}
            </tbody>
        </table>
        <pre class="body mono">{body_text(&m.body)}</pre>
    }
}

/// The final upstream request.
#[component]
pub fn UpstreamRequest() -> impl IntoView {
    let state = use_state();
    let req = of_run(state, |r| {
        r.report
            .as_ref()
            .map(|r| (r.upstream_request.clone(), r.requests.len()))
    });
    view! {
        <div data-testid="upstream-request">
            {move || match req.get() {
                None => view! { <p class="empty">"Not run yet."</p> }.into_any(),
                Some((None, 0)) => view! { <p class="empty">"The request has not reached the upstream yet."</p> }.into_any(),
                Some((None, _)) => view! { <p class="note">"The request never reached the upstream."</p> }.into_any(),
                Some((Some(m), _)) => message_view(m).into_any(),
            }}
        </div>
    }
}

/// What the client received.
#[component]
pub fn ClientResponse() -> impl IntoView {
    let state = use_state();
    let resp = of_run(state, |r| {
        r.report
            .as_ref()
            .map(|rep| (rep.client_response.clone(), rep.requests.last().cloned()))
    });
    view! {
        <div data-testid="client-response">
            {move || match resp.get() {
                None | Some((None, None)) => view! { <p class="empty">"No response yet."</p> }.into_any(),
                Some((None, Some(o))) => {
                    let why = if o.reset { "The stream was reset: the client got no response.".to_string() } else { o.stalled.unwrap_or_else(|| "No response.".into()) };
                    view! { <p class="note">{why}</p> }.into_any()
                }
                Some((Some(c), _)) => view! {
                    <p class="status-line">
                        <span class="status" data-testid="client-status">{c.status}</span>
                        {c.local_reply.then(|| view! { <span class="badge" data-testid="local-reply">{labels::local_reply(c.status, &c.details)}</span> })}
                    </p>
                    {message_view(c.message)}
                }.into_any(),
            }}
        </div>
    }
}

/// The parts of the report [`SideEffects`] shows.
#[derive(Clone, PartialEq)]
struct SideEffectsView {
    filters: Vec<pwp_model::report::FilterReport>,
    callouts: Vec<pwp_model::report::CalloutReport>,
    metrics: std::collections::BTreeMap<String, i64>,
    shared_data: std::collections::BTreeMap<String, Body>,
}

/// Callouts, metrics and shared data.
#[component]
pub fn SideEffects() -> impl IntoView {
    let state = use_state();
    // Only what this shows: the report's callbacks and logs are the long part of a replay.
    let report = of_run(state, |r| {
        r.report.as_ref().map(|r| SideEffectsView {
            filters: r.filters.clone(),
            callouts: r.callouts.clone(),
            metrics: r.metrics.clone(),
            shared_data: r.shared_data.clone(),
        })
    });
    view! {
        {move || report.get().map(|r| view! {
            <div data-testid="chain-results">
                {(!r.filters.is_empty()).then(|| view! { <h4>"Filter chain"</h4> })}
                <ol class="chain-results">
                    {r.filters.iter().map(|f| {
                        let error = f.error.as_ref().map(|e| format!(", failed: {e}")).unwrap_or_default();
                        view! {
                            <li class="mono" data-testid="chain-result">{format!(
                                "{}: VM {}, {} callbacks, request headers seen {} time(s){error}",
                                f.name, f.vm + 1, f.callbacks, f.request_headers
                            )}</li>
                        }
                    }).collect_view()}
                </ol>
            </div>
            <div data-testid="callouts">
                {(!r.callouts.is_empty()).then(|| view! { <h4>"Callouts"</h4> })}
                <ul>
                    {r.callouts.iter().map(|c| view! {
                        <li class="mono">{format!("{} token {} → {} {}  ⇒ {}", c.kind, c.token, c.cluster, c.path, if c.answer.is_empty() { "pending".into() } else { c.answer.clone() })}</li>
                    }).collect_view()}
                </ul>
            </div>
            <div data-testid="metrics">
                {(!r.metrics.is_empty()).then(|| view! { <h4>"Metrics"</h4> })}
                <ul>{r.metrics.iter().map(|(k, v)| view! { <li class="mono">{format!("{k} = {v}")}</li> }).collect_view()}</ul>
            </div>
            <div data-testid="shared-data">
                {(!r.shared_data.is_empty()).then(|| view! { <h4>"Shared data"</h4> })}
                <ul>{r.shared_data.iter().map(|(k, v)| view! { <li class="mono">{format!("{k} = {}", body_text(v))}</li> }).collect_view()}</ul>
            </div>
        })}
    }
}

/// Pass/fail of the scenario's expectations.
#[component]
pub fn Expectations() -> impl IntoView {
    let state = use_state();
    let list = of_run(state, |r| {
        if r.status != crate::state::RunStatus::Finished {
            return Vec::new();
        }
        r.report
            .as_ref()
            .map(|r| r.expectations.clone())
            .unwrap_or_default()
    });
    view! {
        <ul class="expectations" data-testid="expectations">
            {move || list.get().into_iter().map(|e| view! {
                <li class:pass=e.passed class:fail=!e.passed>
                    <span>{if e.passed { "✓ " } else { "✗ " }}{e.name}</span>
                    {(!e.detail.is_empty()).then(|| view! { <pre class="mono">{e.detail}</pre> })}
                </li>
            }).collect_view()}
        </ul>
    }
}

/// The failure that ended the run (trap, limit, refused configuration), or a refusal to start.
/// When the proxy's load check refused the plugin, its reasons and a "Run anyway" button.
#[component]
pub fn ErrorView() -> impl IntoView {
    let state = use_state();
    let err = of_run(state, |r| {
        if let crate::state::RunStatus::Refused(m) = &r.status {
            let reasons = r.refusal.as_ref().map(|f| f.problems.clone());
            let load_check = reasons.is_some();
            return Some((m.clone(), reasons.unwrap_or_default(), None, load_check));
        }
        r.report
            .as_ref()?
            .error
            .as_ref()
            .map(|e| (e.to_string(), e.backtrace.clone(), e.panic.clone(), false))
    });
    let frames = of_run(state, |r| {
        r.report
            .as_ref()?
            .error
            .as_ref()
            .map(|e| e.wasm_backtrace.clone())
            .filter(|f| !f.is_empty())
    });
    view! {
        <div class="error-slot" data-testid="error" role="alert">
            {move || err.get().map(|(msg, lines, panic, load_check)| view! {
                <div class="error-box">
                    <strong>{msg}</strong>
                    <ul class="mono" data-testid=load_check.then_some("refusal-reasons")>
                        {lines.into_iter().map(|b| view! { <li>{b}</li> }).collect_view()}
                    </ul>
                    {panic.map(|p| view! { <details open><summary>"The plugin's own output"</summary><pre class="mono">{p}</pre></details> })}
                    {frames.get().map(|f| view! {
                        <details open data-testid="wasm-backtrace">
                            <summary>"Wasm backtrace (the browser's engine; innermost first)"</summary>
                            <ol class="mono">{f.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ol>
                        </details>
                    })}
                    {load_check.then(|| view! {
                        <p class="run-anyway">
                            <button data-testid="run-anyway" on:click=move |_| crate::runner::run_anyway(state)
                                title="Run it in this session all the same (settings.lenient); the proxy itself would not load it">
                                "Run anyway"
                            </button>
                        </p>
                    })}
                </div>
            })}
        </div>
    }
}

/// Memory and time per replayed request as two charts, the memory's growth per 1,000
/// requests after the warm-up, and what that likely means (`pwp_model::growth`). Drawn from
/// a fixed number of points whatever the run's length, as progress arrives.
#[component]
pub fn RequestsChart() -> impl IntoView {
    let state = use_state();
    let replay = of_run(state, |r| {
        r.report.as_ref().and_then(|r| Replay::of(&r.requests))
    });
    view! {
        {move || replay.get().map(|p| view! {
            <figure class="chart" data-testid="requests-chart">
                <figcaption>{format!(
                    "{} requests: memory {} (max {} pages), time median {:.0} µs",
                    p.requests, pwp_model::growth::bytes(f64::from(p.max_pages) * 65_536.0), p.max_pages, p.median_us
                )}</figcaption>
                <div class="charts">
                    {series("memory", "memory after each request", "Memory (pages) after each request",
                        "Memory after each request (pages)", p.memory_points)}
                    {series("time", "time in the plugin per request", "Time in the plugin per request",
                        "Time in the plugin per request (µs)", p.time_points)}
                </div>
                <p class="verdict" class:leak=p.leak data-testid="memory-verdict">{p.verdict}</p>
            </figure>
        })}
    }
}

/// One replay chart: `kind` is its class and names its test id (`{kind}-chart`).
fn series(
    kind: &'static str,
    label: &'static str,
    aria: &'static str,
    title: &'static str,
    points: String,
) -> impl IntoView {
    view! {
        <div><small class="chart-label">{label}</small>
        <svg class=kind data-testid=format!("{kind}-chart") viewBox=chart::VIEW_BOX preserveAspectRatio="none"
            role="img" aria-label=aria>
            <title>{title}</title>
            <polyline fill="none" points=points />
        </svg></div>
    }
}

/// What the replay charts show: each series cut to [`chart::POINTS`] points.
#[derive(Clone, PartialEq)]
struct Replay {
    requests: usize,
    max_pages: u32,
    median_us: f64,
    memory_points: String,
    time_points: String,
    verdict: String,
    leak: bool,
}

impl Replay {
    /// The charts of `requests` (`None` for fewer than two requests).
    fn of(requests: &[pwp_model::outcome::RequestOutcome]) -> Option<Replay> {
        if requests.len() < 2 {
            return None;
        }
        let pages: Vec<u32> = requests.iter().map(|r| r.memory_pages).collect();
        let times: Vec<f64> = requests.iter().map(|r| r.duration_us).collect();
        let growth = pwp_model::growth::memory_growth(&pages);
        let memory: Vec<f64> = pages.iter().map(|&p| f64::from(p)).collect();
        Some(Replay {
            requests: requests.len(),
            max_pages: pages.iter().copied().max().unwrap_or(0),
            median_us: chart::median(&times),
            memory_points: chart::polyline(&chart::downsample(&memory)),
            time_points: chart::polyline(&chart::downsample(&times)),
            verdict: growth.describe(),
            leak: growth.verdict == pwp_model::growth::Verdict::Leak,
        })
    }
}
