//! The summary of a replay (`pwp run --requests N`): per-request time percentiles, memory
//! growth with a verdict, and the first request whose outcome differs from the first.
//!
//! The memory verdict is the page's (`pwp_model::growth`): the growth per 1,000 requests over
//! the replay's second half (the first is warm-up), and whether it looks like a leak. The
//! summary adds when memory rose.

use std::fmt::Write as _;

use pwp_model::growth::{Verdict as GrowthVerdict, memory_growth};
use pwp_model::outcome::{ClientResponse, Message, RequestOutcome};
use pwp_model::text::thousands;
use serde::Serialize;

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
    /// Requests left out as warm-up (the first half).
    pub warm_up: usize,
    /// Growth per 1,000 requests after the warm-up, in bytes (least squares), rounded to 0.01.
    pub bytes_per_1000: f64,
    /// `too_few`, `flat`, `settling` or `leak` (`pwp_model::growth::Verdict`).
    pub verdict: &'static str,
    /// The verdict in words, as the page says it.
    pub says: String,
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
    let growth = memory_growth(pages);
    // 1-based numbers of the requests that grew memory.
    let rises: Vec<u32> = (1..pages.len())
        .filter(|&i| pages[i] > pages[i - 1])
        .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
        .collect();
    Memory {
        first: pages.first().copied().unwrap_or_default(),
        last: pages.last().copied().unwrap_or_default(),
        warm_up: growth.warm_up,
        bytes_per_1000: round2(growth.bytes_per_1000),
        verdict: match growth.verdict {
            GrowthVerdict::TooFew => "too_few",
            GrowthVerdict::Flat => "flat",
            GrowthVerdict::Settling => "settling",
            GrowthVerdict::Leak => "leak",
        },
        says: growth.describe(),
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
    let rose = match (m.first_rise, m.last_rise) {
        (Some(first), Some(last)) if first == last => {
            format!("; rose once, at request #{}", thousands(u64::from(first)))
        }
        (Some(first), Some(last)) => format!(
            "; rose at {} requests, #{} to #{}",
            count(m.rises),
            thousands(u64::from(first)),
            thousands(u64::from(last))
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "  memory            {} → {} pages · {}{rose}",
        m.first, m.last, m.says
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
    fn memory_carries_the_pages_verdict_and_when_it_rose() {
        assert_eq!(memory(&[18; 10]).verdict, "too_few");
        assert_eq!(memory(&[18; 40]).verdict, "flat");
        // Rises in the warm-up only: flat after it.
        let mut warm_up = [21; 40];
        warm_up[..3].copy_from_slice(&[18, 19, 20]);
        let m = memory(&warm_up);
        assert_eq!(m.verdict, "flat");
        assert_eq!((m.first_rise, m.last_rise, m.rises), (Some(2), Some(4), 3));
        // A page every 4 requests to the end: 16 MiB per 1,000 requests.
        let leak: Vec<u32> = (0..40).map(|i| 18 + i / 4).collect();
        let m = memory(&leak);
        assert_eq!(m.verdict, "leak");
        assert_eq!(m.says, memory_growth(&leak).describe());
        assert_eq!(m.warm_up, 20);
        assert!(m.says.contains("likely a leak"), "{}", m.says);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(micros(41.4), "41 µs");
        assert_eq!(micros(1_234.0), "1.2 ms");
        assert_eq!(round2(5_279.009_999_999_998), 5279.01);
    }
}
