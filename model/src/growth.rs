//! What a replay's memory did: how much it grew per 1,000 requests once warmed up, and
//! whether that looks like a leak.
//!
//! The host sees a plugin's memory as wasm pages (64 KiB each, what `memory.grow` gave it),
//! recorded after each replayed request ([`RequestOutcome::memory_pages`]). A language
//! runtime grows its heap while it warms up (start, first allocations, caches and maps
//! filling) and then stays flat; a leak keeps growing to the end. Warm-up can be long: the
//! Go SDK's go-headers example grows 8 pages every ~450 requests for its first ~3,400
//! requests, then stays flat (one more step by 10,000): replays of 1,000–4,000 requests call
//! it a likely leak, 5,000–6,000 settling, 7,000 and more flat. So the verdict looks at the
//! end of the replay:
//!
//! 1. the first [`WARM_UP_PERCENT`] % of the requests (at least one) are left out;
//! 2. the growth is the least-squares slope of the memory (in bytes) over the remaining
//!    requests, times 1,000;
//! 3. the verdict:
//!    - fewer than [`MIN_REQUESTS`] requests after the warm-up: [`Verdict::TooFew`];
//!    - growth below [`LEAK_BYTES_PER_1000`]: [`Verdict::Flat`];
//!    - otherwise [`Verdict::Leak`] when the memory grew in both halves of what is left (it
//!      keeps growing), else [`Verdict::Settling`] (it grew, then stopped: a heap still
//!      finding its size; replay more requests to tell).
//!
//! [`RequestOutcome::memory_pages`]: crate::outcome::RequestOutcome::memory_pages

/// Bytes in a wasm page.
pub const PAGE_BYTES: u64 = 65_536;

/// Growth at or above this many bytes per 1,000 requests (after the warm-up) counts: one
/// wasm page. Memory is only visible in whole pages, so a smaller slope is below what a
/// replay of a few thousand requests can show.
pub const LEAK_BYTES_PER_1000: f64 = PAGE_BYTES as f64;

/// The share of the requests, from the start, counted as warm-up and left out (percent):
/// half, so that the verdict is about how the replay ends.
pub const WARM_UP_PERCENT: usize = 50;

/// The fewest requests after the warm-up that give a verdict.
pub const MIN_REQUESTS: usize = 20;

/// What the memory did after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Too few requests to tell.
    TooFew,
    /// Flat (growth below [`LEAK_BYTES_PER_1000`]).
    Flat,
    /// Grew, but not in the last half: a heap that may have found its size.
    Settling,
    /// Grew in both halves at [`LEAK_BYTES_PER_1000`] or more: likely a leak.
    Leak,
}

/// The memory growth of a replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryGrowth {
    /// Requests left out as warm-up.
    pub warm_up: usize,
    /// Requests the slope was taken over.
    pub measured: usize,
    /// Growth per 1,000 requests, in bytes (least squares over the measured requests).
    pub bytes_per_1000: f64,
    /// What it means.
    pub verdict: Verdict,
}

/// The least-squares slope of `ys` over their indexes (0 for fewer than two points).
fn slope(ys: &[f64]) -> f64 {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return 0.0;
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (y - mean_y);
        den += dx * dx;
    }
    num / den
}

/// The requests left out as warm-up, of `n`.
fn warm_up(n: usize) -> usize {
    (n * WARM_UP_PERCENT / 100).max(1).min(n)
}

/// The fewest requests a replay needs for a verdict.
pub fn min_replay() -> usize {
    (MIN_REQUESTS..)
        .find(|&n| n - warm_up(n) >= MIN_REQUESTS)
        .unwrap_or(MIN_REQUESTS)
}

/// The growth and verdict for the memory (pages) after each request, in request order.
pub fn memory_growth(pages: &[u32]) -> MemoryGrowth {
    let warm_up = warm_up(pages.len());
    let rest = &pages[warm_up..];
    let bytes: Vec<f64> = rest
        .iter()
        .map(|&p| (u64::from(p) * PAGE_BYTES) as f64)
        .collect();
    let bytes_per_1000 = slope(&bytes) * 1000.0;
    let verdict = if rest.len() < MIN_REQUESTS {
        Verdict::TooFew
    } else if bytes_per_1000 < LEAK_BYTES_PER_1000 {
        Verdict::Flat
    } else {
        // The second half starts where the first ends: a step between them counts there.
        let (a, _) = rest.split_at(rest.len() / 2);
        if a.last() > a.first() && rest.last() > a.last() {
            Verdict::Leak
        } else {
            Verdict::Settling
        }
    };
    MemoryGrowth {
        warm_up,
        measured: rest.len(),
        bytes_per_1000,
        verdict,
    }
}

/// `bytes` as B, KiB or MiB, one decimal when below 10 of the unit.
pub fn bytes(bytes: f64) -> String {
    let (value, unit) = if bytes.abs() >= 1024.0 * 1024.0 {
        (bytes / (1024.0 * 1024.0), "MiB")
    } else if bytes.abs() >= 1024.0 {
        (bytes / 1024.0, "KiB")
    } else {
        return format!("{bytes:.0} B");
    };
    if value.abs() < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

impl MemoryGrowth {
    /// One sentence for people: the growth and what it likely means.
    pub fn describe(&self) -> String {
        let per = bytes(self.bytes_per_1000.max(0.0));
        match self.verdict {
            Verdict::TooFew => format!(
                "too few requests to tell: replay at least {} (the first {WARM_UP_PERCENT} % are warm-up)",
                min_replay()
            ),
            Verdict::Flat => {
                format!("flat after warm-up ({per} per 1,000 requests)")
            }
            Verdict::Settling => format!(
                "memory grew {per} per 1,000 requests, then stopped: replay more requests to tell"
            ),
            Verdict::Leak => {
                format!("memory grows {per} per 1,000 requests: likely a leak")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_memory_is_flat() {
        let g = memory_growth(&[40; 1000]);
        assert_eq!(g.verdict, Verdict::Flat);
        assert_eq!(g.bytes_per_1000, 0.0);
        assert_eq!((g.warm_up, g.measured), (500, 500));
        assert_eq!(g.describe(), "flat after warm-up (0 B per 1,000 requests)");
    }

    #[test]
    fn growth_during_warm_up_only_is_flat() {
        // A runtime's heap growing over the first requests, then staying.
        let pages: Vec<u32> = (0..2000).map(|i| 20 + (i.min(150) / 10)).collect();
        let g = memory_growth(&pages);
        assert_eq!(g.warm_up, 1000);
        assert_eq!(g.verdict, Verdict::Flat);
    }

    #[test]
    fn a_page_every_100_requests_is_a_leak_of_640_kib_per_1000() {
        let pages: Vec<u32> = (0..5000).map(|i| 10 + i / 100).collect();
        let g = memory_growth(&pages);
        assert_eq!(g.verdict, Verdict::Leak);
        let kib = g.bytes_per_1000 / 1024.0;
        assert!((kib - 640.0).abs() < 2.0, "{kib} KiB");
        assert!(
            g.describe().starts_with("memory grows 6")
                && g.describe()
                    .ends_with(" KiB per 1,000 requests: likely a leak"),
            "{}",
            g.describe()
        );
    }

    #[test]
    fn a_slow_leak_at_twice_the_threshold_is_found_over_10000_requests() {
        // A page every 512 requests: 128 bytes per request, twice the threshold.
        let pages: Vec<u32> = (0..10_000).map(|i| 300 + i / 512).collect();
        let g = memory_growth(&pages);
        assert_eq!(g.verdict, Verdict::Leak);
        assert!(g.bytes_per_1000 >= 2.0 * LEAK_BYTES_PER_1000 * 0.95);
    }

    #[test]
    fn growth_below_the_threshold_is_flat() {
        // One page over 9,000 measured requests: ~7 KiB per 1,000.
        let pages: Vec<u32> = (0..10_000).map(|i| 300 + u32::from(i >= 6000)).collect();
        let g = memory_growth(&pages);
        assert_eq!(g.verdict, Verdict::Flat);
        assert!(g.bytes_per_1000 < LEAK_BYTES_PER_1000);
    }

    #[test]
    fn a_heap_that_grows_for_a_third_of_the_replay_then_stays_is_flat() {
        // go-headers' shape: 8 pages every 450 requests up to 3,400, then one step of 4.
        let pages: Vec<u32> = (0..10_000)
            .map(|i| 52 + 8 * (i.min(3400) / 450) + if i >= 9119 { 4 } else { 0 })
            .collect();
        let g = memory_growth(&pages);
        assert_eq!(g.verdict, Verdict::Flat, "{g:?}");
        // Over the first 3,000 requests the same plugin is still growing.
        let g = memory_growth(&pages[..3000]);
        assert_eq!(g.verdict, Verdict::Leak, "{g:?}");
    }

    #[test]
    fn one_step_then_flat_is_settling_not_a_leak() {
        // Ten pages at once a fifth into the measured half, nothing after.
        let pages: Vec<u32> = (0..1000).map(|i| if i < 600 { 30 } else { 40 }).collect();
        let g = memory_growth(&pages);
        assert!(g.bytes_per_1000 >= LEAK_BYTES_PER_1000);
        assert_eq!(g.verdict, Verdict::Settling);
        assert!(g.describe().contains("then stopped"), "{}", g.describe());
    }

    #[test]
    fn a_few_requests_give_no_verdict() {
        let pages: Vec<u32> = (0..38).collect();
        let g = memory_growth(&pages);
        assert_eq!(g.verdict, Verdict::TooFew);
        assert_eq!(
            g.describe(),
            "too few requests to tell: replay at least 39 (the first 50 % are warm-up)"
        );
        assert_eq!(min_replay(), 39);
        assert_ne!(memory_growth(&[7; 39]).verdict, Verdict::TooFew);
        assert_eq!(memory_growth(&[]).verdict, Verdict::TooFew);
        assert_eq!(memory_growth(&[5]).verdict, Verdict::TooFew);
    }

    #[test]
    fn sizes_read_in_the_unit_that_fits() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(65_536.0), "64 KiB");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
    }
}
