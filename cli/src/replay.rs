//! The summary of a replay (`pwp run --requests N`): per-request time percentiles, memory
//! growth with a verdict, and the first request whose outcome differs from the first.
//!
//! Memory verdicts, over the pages after each request (wasm memory never shrinks):
//! - **flat**: the pages after the last request equal those after request 1;
//! - **growing**: memory rose more than once after request 1, at least once in the second
//!   half of the replay (it had not settled: a leak, or a cache that is still filling);
//! - **step**: it rose, but once only, or only in the first half and then stayed put
//!   (warm-up, a cache that filled, a heap that found its size).

use std::fmt::Write as _;

use pwp_model::outcome::{ClientResponse, Message, RequestOutcome};
use pwp_model::text::thousands;
use serde::Serialize;

/// What the memory did over the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Flat,
    Step,
    Growing,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Flat => "flat",
            Verdict::Step => "step",
            Verdict::Growing => "growing",
        }
    }
}

/// Per-request wall time, in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Times {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Guest memory over the replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// Pages after request 1.
    pub first: u32,
    /// Pages after the last request.
    pub last: u32,
    /// (last − first) per 1,000 requests, rounded to 0.01.
    pub growth_per_1000: f64,
    pub verdict: Verdict,
    /// How many requests grew memory after request 1.
    pub rises: usize,
    /// The 1-based request numbers of the first and last rise.
    pub first_rise: Option<u32>,
    pub last_rise: Option<u32>,
}

/// The first request whose outcome is not request 1's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// 1-based request number.
    pub request: u32,
    /// What differs, in words.
    pub what: String,
    /// How many requests differ from request 1 in all.
    pub differing: usize,
}

/// The whole summary; `pwp run --json` carries it as `replay`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub requests: usize,
    pub time_us: Times,
    pub memory_pages: Memory,
    /// `None` when every request ended as request 1 did.
    pub first_difference: Option<Difference>,
}

/// Summarises `requests`; `None` for an empty replay.
pub fn summarise(requests: &[RequestOutcome]) -> Option<Summary> {
    let first = requests.first()?;
    let mut times: Vec<f64> = requests.iter().map(|r| r.duration_us).collect();
    times.sort_by(f64::total_cmp);
    let pages: Vec<u32> = requests.iter().map(|r| r.memory_pages).collect();
    let mut first_difference: Option<Difference> = None;
    let mut differing = 0;
    for r in &requests[1..] {
        if let Some(what) = difference(first, r) {
            differing += 1;
            if first_difference.is_none() {
                first_difference = Some(Difference {
                    request: r.index + 1,
                    what,
                    differing: 0,
                });
            }
        }
    }
    if let Some(d) = &mut first_difference {
        d.differing = differing;
    }
    Some(Summary {
        requests: requests.len(),
        time_us: Times {
            p50: percentile(&times, 50.0),
            p95: percentile(&times, 95.0),
            p99: percentile(&times, 99.0),
            max: times.last().copied().unwrap_or_default(),
        },
        memory_pages: memory(&pages),
        first_difference,
    })
}

/// Nearest-rank percentile of sorted `values` (the smallest value that at least `p` % of the
/// values do not exceed).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The memory part of the summary, from the pages after each request.
pub fn memory(pages: &[u32]) -> Memory {
    let first = pages.first().copied().unwrap_or_default();
    let last = pages.last().copied().unwrap_or_default();
    // 1-based numbers of the requests that grew memory.
    let rises: Vec<u32> = (1..pages.len())
        .filter(|&i| pages[i] > pages[i - 1])
        .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
        .collect();
    let n = pages.len();
    let second_half_starts = u32::try_from(n / 2 + 1).unwrap_or(u32::MAX);
    let verdict = match rises.last() {
        None => Verdict::Flat,
        Some(&last_rise) if rises.len() > 1 && last_rise >= second_half_starts => Verdict::Growing,
        Some(_) => Verdict::Step,
    };
    let growth = if n > 1 {
        (f64::from(last) - f64::from(first)) * 1000.0 / (n - 1) as f64
    } else {
        0.0
    };
    Memory {
        first,
        last,
        growth_per_1000: round2(growth),
        verdict,
        rises: rises.len(),
        first_rise: rises.first().copied(),
        last_rise: rises.last().copied(),
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// What differs between the outcomes of two requests, if anything: the client's status, a
/// reset or stall, whether the upstream was reached, a local reply, then the headers, body
/// and trailers of the upstream request and of the client response (time, memory and the
/// generated `x-request-id` aside).
pub fn difference(a: &RequestOutcome, b: &RequestOutcome) -> Option<String> {
    match (&a.client_response, &b.client_response) {
        (Some(x), Some(y)) if x.status != y.status => {
            return Some(format!("status {} instead of {}", y.status, x.status));
        }
        (Some(x), None) => {
            let why = if b.reset {
                "the stream was reset".to_string()
            } else {
                b.stalled
                    .clone()
                    .unwrap_or_else(|| "no client response".into())
            };
            return Some(format!("{why} instead of status {}", x.status));
        }
        (None, Some(y)) => return Some(format!("status {} instead of no response", y.status)),
        _ => {}
    }
    match (&a.upstream_request, &b.upstream_request) {
        (Some(_), None) => return Some("the request did not reach the upstream".into()),
        (None, Some(_)) => return Some("the request reached the upstream".into()),
        (Some(x), Some(y)) => {
            if let Some(d) = message_difference("upstream request", x, y) {
                return Some(d);
            }
        }
        (None, None) => {}
    }
    if let (Some(x), Some(y)) = (&a.client_response, &b.client_response)
        && let Some(d) = response_difference(x, y)
    {
        return Some(d);
    }
    if a.reset != b.reset || a.stalled != b.stalled {
        return Some(match &b.stalled {
            Some(s) => format!("stalled: {s}"),
            None if b.reset => "the stream was reset".into(),
            None => "the stream finished".into(),
        });
    }
    None
}

fn response_difference(a: &ClientResponse, b: &ClientResponse) -> Option<String> {
    if a.local_reply != b.local_reply {
        return Some(if b.local_reply {
            "a local reply".into()
        } else {
            "not a local reply".into()
        });
    }
    message_difference("client response", &a.message, &b.message)
}

/// The `x-request-id` Envoy (and the host) makes up for each request that lacks one: not
/// the plugin's doing, so not a difference.
const PER_REQUEST_HEADER: &str = "x-request-id";

fn own_headers(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(PER_REQUEST_HEADER))
        .cloned()
        .collect()
}

fn message_difference(what: &str, a: &Message, b: &Message) -> Option<String> {
    let (ha, hb) = (own_headers(&a.headers), own_headers(&b.headers));
    if ha != hb {
        return Some(format!(
            "{what} headers differ ({})",
            pairs_difference(&ha, &hb)
        ));
    }
    if a.body != b.body {
        return Some(format!("{what} body differs"));
    }
    if a.trailers != b.trailers {
        return Some(format!(
            "{what} trailers differ ({})",
            pairs_difference(&a.trailers, &b.trailers)
        ));
    }
    None
}

/// The first header that differs, as `name: new (was old)`.
fn pairs_difference(a: &[(String, String)], b: &[(String, String)]) -> String {
    let value = |pairs: &[(String, String)], name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let names = b.iter().chain(a.iter()).map(|(k, _)| k.as_str());
    for name in names {
        let (old, new) = (value(a, name), value(b, name));
        if old != new {
            return match (old, new) {
                (Some(o), Some(n)) => format!("{name}: {n:?} instead of {o:?}"),
                (None, Some(n)) => format!("{name}: {n:?} added"),
                (Some(o), None) => format!("{name}: {o:?} missing"),
                (None, None) => name.to_string(),
            };
        }
    }
    "order".into()
}

/// Microseconds for people: `41 µs`, `1.2 ms`, `3.40 s`.
pub fn micros(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1_000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

fn count(n: usize) -> String {
    thousands(u64::try_from(n).unwrap_or(u64::MAX))
}

/// The summary as text: four lines.
pub fn render(s: &Summary, first: &RequestOutcome) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "replay: {} requests in one VM", count(s.requests));
    let t = &s.time_us;
    let _ = writeln!(
        o,
        "  time per request  p50 {} · p95 {} · p99 {} · max {}",
        micros(t.p50),
        micros(t.p95),
        micros(t.p99),
        micros(t.max)
    );
    let m = &s.memory_pages;
    let detail = match (m.verdict, m.first_rise, m.last_rise) {
        (Verdict::Flat, ..) => String::new(),
        (Verdict::Growing, _, Some(last)) => format!(
            " (rose at {} requests, the last #{})",
            count(m.rises),
            thousands(u64::from(last))
        ),
        (Verdict::Step, Some(first), Some(last)) => {
            let when = if first == last {
                format!("at request #{}", thousands(u64::from(first)))
            } else {
                format!(
                    "{} times between requests #{} and #{}",
                    count(m.rises),
                    thousands(u64::from(first)),
                    thousands(u64::from(last))
                )
            };
            let later = u64::from(last) * 2 > s.requests as u64;
            let hint = if later {
                "; replay more requests to tell a step from slow growth"
            } else {
                ""
            };
            format!(" (rose {when}, then stayed{hint})")
        }
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "  memory            {} → {} pages ({:+.2} per 1,000 requests): {}{detail}",
        m.first,
        m.last,
        m.growth_per_1000,
        m.verdict.as_str()
    );
    let status = first
        .client_response
        .as_ref()
        .map_or("no response".to_string(), |c| {
            format!("status {}", c.status)
        });
    match &s.first_difference {
        None => {
            let _ = writeln!(
                o,
                "  outcomes          all {} as request #1 ({status})",
                count(s.requests)
            );
        }
        Some(d) => {
            let _ = writeln!(
                o,
                "  outcomes          request #{} is the first to differ from #1 ({status}): {}; {} of {} differ",
                thousands(u64::from(d.request)),
                d.what,
                count(d.differing),
                count(s.requests)
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 50.0), 2.0);
    }

    #[test]
    fn memory_verdicts_follow_their_definitions() {
        assert_eq!(memory(&[18; 10]).verdict, Verdict::Flat);
        // One rise, even late: a step (with a hint in the text).
        let one_late = [18, 18, 18, 18, 18, 18, 18, 18, 19, 19];
        assert_eq!(memory(&one_late).verdict, Verdict::Step);
        // Several rises, all in the first half: settled.
        let warm_up = [18, 19, 20, 21, 21, 21, 21, 21, 21, 21];
        let m = memory(&warm_up);
        assert_eq!(m.verdict, Verdict::Step);
        assert_eq!((m.first_rise, m.last_rise, m.rises), (Some(2), Some(4), 3));
        // Several rises, the last in the second half: still growing.
        let leak = [18, 18, 19, 19, 20, 20, 21, 21, 22, 22];
        assert_eq!(memory(&leak).verdict, Verdict::Growing);
        // 4 pages over 9 intervals: 444.44 per 1,000.
        assert_eq!(memory(&leak).growth_per_1000, 444.44);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(micros(41.4), "41 µs");
        assert_eq!(micros(1_234.0), "1.2 ms");
        assert_eq!(round2(5_279.009_999_999_998), 5279.01);
    }
}
