//! The report of a finished run, and the scenario's expectations checked against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::abi::AbiVersion;
use crate::info::PluginInfo;
use crate::outcome::{ClientResponse, Message, RequestOutcome};
use crate::scenario::{Body, Expect, HeaderExpect, MessageExpect};
use crate::trace::{CallbackRecord, CalloutKind, Failure, LogLine};

/// Everything a run produced; `pwp run --json` prints this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The plugin's ABI (`0.2.1`, ...).
    pub abi: Option<AbiVersion>,
    /// What the plugin is.
    pub plugin: PluginInfo,
    /// Which proxy was emulated.
    pub profile: Emulated,
    /// Every callback with its host calls.
    pub callbacks: Vec<CallbackRecord>,
    /// Every log line.
    pub logs: Vec<LogLine>,
    /// Clock advances, ticks, requests starting and waiting between callbacks (runs with
    /// `events` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<crate::trace::TimelineMark>,
    /// What reached the upstream in the last request.
    pub upstream_request: Option<Message>,
    /// What the client received in the last request.
    pub client_response: Option<ClientResponse>,
    /// Every callout.
    pub callouts: Vec<CalloutReport>,
    /// Metric values by name.
    pub metrics: BTreeMap<String, i64>,
    /// Shared data at the end (values as text or base64).
    pub shared_data: BTreeMap<String, Body>,
    /// Guest memory (pages) after start and after each request.
    pub memory_pages: Vec<u32>,
    /// Each replayed request.
    pub requests: Vec<RequestOutcome>,
    /// Expectations and their results.
    pub expectations: Vec<ExpectationResult>,
    /// Host notes and strict-mode findings.
    pub warnings: Vec<String>,
    /// The failure that ended the run, if any.
    pub error: Option<Failure>,
    /// What happened on the connection (L4 scenarios only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<crate::connection::ConnectionOutcome>,
    /// Each filter of a chain, in chain order (empty for a single plugin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterReport>,
}

/// What one filter of a chain did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterReport {
    /// Its name in the trace.
    pub name: String,
    /// Its plugin's sha256.
    pub sha256: String,
    /// The VM it ran in (filters sharing a VM share the number; 0 is the first).
    pub vm: usize,
    /// Callbacks into it (its VM's start functions count for the first filter using it).
    pub callbacks: usize,
    /// Requests whose headers reached it (`proxy_on_request_headers` calls).
    pub request_headers: usize,
    /// The first failure of one of its callbacks, if any.
    pub error: Option<Failure>,
}

/// Which proxy a run emulated (the scenario's `profile`, with `auto` resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Emulated {
    /// Upstream Envoy.
    Envoy,
    /// Higress's Envoy.
    Higress,
}

impl Emulated {
    /// `envoy` or `higress`.
    pub fn name(self) -> &'static str {
        match self {
            Emulated::Envoy => "envoy",
            Emulated::Higress => "higress",
        }
    }
}

impl std::fmt::Display for Emulated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A callout as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalloutReport {
    /// HTTP, gRPC, gRPC stream or Redis.
    pub kind: CalloutKind,
    /// Token.
    pub token: u32,
    /// Cluster.
    pub cluster: String,
    /// `:path`, gRPC method or Redis command.
    pub path: String,
    /// Headers (HTTP) or metadata (gRPC).
    pub headers: Vec<(String, String)>,
    /// Body, message or RESP query.
    pub body: Body,
    /// HTTP trailers the plugin sent with the callout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trailers: Vec<(String, String)>,
    /// Timeout in ms.
    pub timeout_ms: u32,
    /// How it was answered (`HTTP 200`, `reset`, ...); empty while pending.
    pub answer: String,
    /// The request (0-based) whose stream made it; none for the root context's (a tick, the
    /// VM's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<u32>,
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// What was expected, e.g. `client_response.status == 403`.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Expected vs actual when it did not.
    pub detail: String,
}

impl Report {
    /// True when the run did not fail and every expectation held.
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn body_text(b: &Body) -> String {
    match b.bytes() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => e,
    }
}

fn result(name: String, passed: bool, detail: String) -> ExpectationResult {
    ExpectationResult {
        name,
        passed,
        detail: if passed { String::new() } else { detail },
    }
}

fn check_message(
    prefix: &str,
    m: Option<&Message>,
    e: &MessageExpect,
    out: &mut Vec<ExpectationResult>,
) {
    if let Some(reached) = e.reached {
        out.push(result(
            format!("{prefix}.reached == {reached}"),
            m.is_some() == reached,
            format!("expected {reached}, got {}", m.is_some()),
        ));
    }
    let Some(m) = m else {
        if !e.headers.is_empty()
            || e.body.is_some()
            || e.body_contains.is_some()
            || e.status.is_some()
        {
            out.push(result(
                format!("{prefix} exists"),
                false,
                format!("there is no {prefix}: the request never got that far"),
            ));
        }
        return;
    };
    for (name, want) in &e.headers {
        checked_header(prefix, "headers", &m.headers, name, want, out);
    }
    for (name, want) in &e.trailers {
        checked_header(prefix, "trailers", &m.trailers, name, want, out);
    }
    let got = body_text(&m.body);
    if let Some(b) = &e.body {
        let want = body_text(b);
        out.push(result(
            format!("{prefix}.body == {want:?}"),
            want == got,
            format!("expected {want:?}\n     got {got:?}"),
        ));
    }
    if let Some(part) = &e.body_contains {
        out.push(result(
            format!("{prefix}.body contains {part:?}"),
            got.contains(part.as_str()),
            format!("body was {got:?}"),
        ));
    }
}

fn checked_header(
    prefix: &str,
    kind: &str,
    pairs: &[(String, String)],
    name: &str,
    want: &HeaderExpect,
    out: &mut Vec<ExpectationResult>,
) {
    let got = first(pairs, name);
    let (label, ok, detail) = match want {
        HeaderExpect::Equals(v) => (
            format!("{prefix}.{kind}[{name}] == {v:?}"),
            got == Some(v.as_str()),
            format!(
                "expected {v:?}, got {}",
                got.map_or("nothing (absent)".into(), |g| format!("{g:?}"))
            ),
        ),
        HeaderExpect::Present => (
            format!("{prefix}.{kind}[{name}] present"),
            got.is_some(),
            "it is absent".to_string(),
        ),
        HeaderExpect::Absent => (
            format!("{prefix}.{kind}[{name}] absent"),
            got.is_none(),
            format!("it is present: {:?}", got.unwrap_or_default()),
        ),
    };
    out.push(result(label, ok, detail));
}

/// `expect.callouts`: the run's callouts are the list, in order. When the run had several
/// requests and every callout belongs to one of them (a replay: `requests` > 1, or
/// `pwp run --requests N` on a scenario written for one request), the list may instead be one
/// request's: it holds when each request made exactly those, in order.
fn check_callouts(r: &Report, calls: &[crate::scenario::CalloutExpect]) -> ExpectationResult {
    let matches = |got: &[&CalloutReport]| {
        calls.len() == got.len()
            && calls.iter().zip(got).all(|(e, c)| {
                e.kind.as_ref().is_none_or(|k| k == c.kind.name())
                    && e.cluster.as_ref().is_none_or(|k| *k == c.cluster)
                    && e.path
                        .as_ref()
                        .is_none_or(|p| c.path.starts_with(p.as_str()))
            })
    };
    let name = format!("{} callout(s) as listed", calls.len());
    let all: Vec<&CalloutReport> = r.callouts.iter().collect();
    if matches(&all) {
        return result(name, true, String::new());
    }
    let requests = r.requests.len();
    let per_request = requests > 1
        && r.callouts.iter().all(|c| c.request.is_some())
        && (0..requests).all(|i| {
            let mine: Vec<&CalloutReport> = r
                .callouts
                .iter()
                .filter(|c| c.request == u32::try_from(i).ok())
                .collect();
            matches(&mine)
        });
    if per_request {
        return result(
            format!("{name}, in each of the {requests} requests"),
            true,
            String::new(),
        );
    }
    let got: Vec<String> = r
        .callouts
        .iter()
        .map(|c| format!("{} {} {}", c.kind, c.cluster, c.path))
        .collect();
    result(name, false, format!("got [{}]", got.join(", ")))
}

/// Checks `expect` against a report.
pub fn check(r: &Report, expect: &Expect) -> Vec<ExpectationResult> {
    let mut out = Vec::new();
    match (&expect.error, &r.error) {
        (None, None) => out.push(result("no failure".into(), true, String::new())),
        (None, Some(f)) => out.push(result("no failure".into(), false, f.to_string())),
        (Some(pattern), got) => {
            let text = got
                .as_ref()
                .map(|f| format!("{f} {}", f.panic.clone().unwrap_or_default()));
            let ok = match (regex_lite::Regex::new(pattern), &text) {
                (Ok(re), Some(t)) => re.is_match(t),
                _ => false,
            };
            out.push(result(
                format!("failure matches /{pattern}/"),
                ok,
                text.unwrap_or_else(|| "the run did not fail".into()),
            ));
        }
    }
    if let Some(e) = &expect.connection {
        crate::connection::check(r.connection.as_ref(), e, &mut out);
    }
    if let Some(e) = &expect.upstream_request {
        check_message("upstream_request", r.upstream_request.as_ref(), e, &mut out);
    }
    if let Some(e) = &expect.client_response {
        let resp = r.client_response.as_ref();
        if let Some(status) = e.status {
            let got = resp.map(|c| c.status);
            out.push(result(
                format!("client_response.status == {status}"),
                got == Some(status),
                format!(
                    "expected {status}, got {}",
                    got.map_or("no response".into(), |g| g.to_string())
                ),
            ));
        }
        if let Some(local) = e.local_reply {
            let got = resp.map(|c| c.local_reply);
            out.push(result(
                format!("client_response.local_reply == {local}"),
                got == Some(local),
                format!("expected {local}, got {got:?}"),
            ));
        }
        let inner = MessageExpect {
            status: None,
            local_reply: None,
            ..e.clone()
        };
        check_message(
            "client_response",
            resp.map(|c| &c.message),
            &inner,
            &mut out,
        );
    }
    for l in &expect.logs {
        let re = match regex_lite::Regex::new(&l.matches) {
            Ok(re) => re,
            Err(err) => {
                out.push(result(
                    format!("log /{}/", l.matches),
                    false,
                    format!("invalid regex: {err}"),
                ));
                continue;
            }
        };
        let hit = r
            .logs
            .iter()
            .any(|line| l.level.is_none_or(|lv| lv == line.level) && re.is_match(&line.message));
        let level = l
            .level
            .map(|x| format!("{} ", x.as_str()))
            .unwrap_or_default();
        if l.absent {
            out.push(result(
                format!("no {level}log matches /{}/", l.matches),
                !hit,
                "a line matched".into(),
            ));
        } else {
            out.push(result(
                format!("a {level}log matches /{}/", l.matches),
                hit,
                format!("no line matched among {} lines", r.logs.len()),
            ));
        }
    }
    if let Some(calls) = &expect.callouts {
        out.push(check_callouts(r, calls));
    }
    for h in &expect.hostcalls {
        let got = r
            .callbacks
            .iter()
            .filter(|cb| h.worker.is_none_or(|w| cb.worker == Some(w)))
            .flat_map(|cb| &cb.hostcalls)
            .filter(|c| {
                c.name == h.name
                    && h.status
                        .as_ref()
                        .is_none_or(|s| c.status.is_some_and(|cs| cs.name() == s))
            })
            .count();
        let what = format!(
            "{}{}{}",
            h.name,
            h.status
                .as_ref()
                .map(|s| format!(" -> {s}"))
                .unwrap_or_default(),
            h.worker
                .map(|w| format!(" on worker {w}"))
                .unwrap_or_default()
        );
        let (name, ok) = match h.count {
            Some(n) => (format!("{n} host call(s) {what}"), got == n as usize),
            None => (format!("a host call {what}"), got > 0),
        };
        out.push(result(name, ok, format!("got {got}")));
    }
    for (name, want) in &expect.metrics {
        let got = r.metrics.get(name);
        out.push(result(
            format!("metric {name} == {want}"),
            got == Some(want),
            format!(
                "expected {want}, got {}",
                got.map_or("undefined".into(), |g| g.to_string())
            ),
        ));
    }
    out
}
