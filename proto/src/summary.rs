//! A run of many requests as the page follows it ([`ToWorker::Step`]'s `summaries`): each
//! snapshot's report carries the callbacks without their host calls and changes, only the
//! newest [`LOG_TAIL`] log lines, and the requests without their messages; what one callback
//! did (its host calls, changes and log lines) comes when the page asks
//! ([`ToWorker::Detail`]).
//!
//! A whole report of a 10,000-request replay is tens of MB of JSON; its summary is a tenth of
//! that, and what a snapshot costs the worker does not grow with the run: [`SummaryWriter`]
//! keeps a small key per item it sent rather than the items.
//!
//! [`ToWorker::Step`]: crate::ToWorker::Step
//! [`ToWorker::Detail`]: crate::ToWorker::Detail

use pwp_model::abi::Action;
use pwp_model::outcome::RequestOutcome;
use pwp_model::report::Report;
use pwp_model::trace::{CallbackRecord, Failure, LogLine, TimelineMark};
use serde::{Deserialize, Serialize};

use crate::ReportDelta;

/// How many of the newest log lines a summary carries.
pub const LOG_TAIL: usize = 100;

/// What a summary snapshot says beside its report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The callbacks of the delta (from its `from[0]` on, in order; its report's own list is
    /// empty), without their host calls and changes: one short JSON array each.
    pub callbacks: Vec<CallbackRow>,
    /// How many log lines the run wrote; the report's `logs` are the newest [`LOG_TAIL`] of them,
    /// whole in every snapshot (its `from[1]` is 0).
    pub logs: usize,
}

/// What one callback did, which a summary leaves out: the answer to
/// [`ToWorker::Detail`](crate::ToWorker::Detail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackDetail {
    /// The callback, host calls and changes included.
    pub record: CallbackRecord,
    /// Its log lines, in order.
    pub logs: Vec<LogLine>,
}

impl CallbackDetail {
    /// Callback `index` of a run, with its lines of `logs`; `None` when there is no such
    /// callback.
    pub fn of(callbacks: &[CallbackRecord], logs: &[LogLine], index: usize) -> Option<Self> {
        let record = callbacks.get(index)?.clone();
        let logs = logs
            .iter()
            .filter(|l| l.callback_index == Some(index))
            .cloned()
            .collect();
        Some(CallbackDetail { record, logs })
    }
}

/// What a callback's summary row shows, to tell whether it changed since it was sent: a
/// callback changes only while it runs (host calls, changes), and when it ends.
type CallbackKey = (usize, usize, Option<i64>, u64, u64, bool);

fn callback_key(c: &CallbackRecord) -> CallbackKey {
    (
        c.hostcalls.len(),
        c.changes.len(),
        c.ret,
        c.fuel,
        c.duration_us.to_bits(),
        c.error.is_some(),
    )
}

/// What a request's summary shows.
type RequestKey = (u32, u64, u32, bool, bool, bool);

fn request_key(r: &RequestOutcome) -> RequestKey {
    (
        r.index,
        r.duration_us.to_bits(),
        r.memory_pages,
        r.reset,
        r.stalled.is_some(),
        r.client_response.is_some(),
    )
}

/// A callback as a summary carries it: the fields of its [`CallbackRecord`] but the host
/// calls and changes, in order (index, name, context id, arguments, request, return value,
/// action, duration, fuel, error, filter, worker), then how many host calls it made. A tuple,
/// so that it is a JSON array: a 10,000-request replay has some 60,000 of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackRow(
    pub usize,
    pub String,
    pub u32,
    pub Vec<i64>,
    pub Option<u32>,
    pub Option<i64>,
    pub Option<Action>,
    pub f64,
    pub u64,
    pub Option<Failure>,
    pub Option<u32>,
    pub Option<u32>,
    pub u32,
);

impl CallbackRow {
    /// The row of `c`.
    pub fn of(c: &CallbackRecord) -> CallbackRow {
        CallbackRow(
            c.index,
            c.name.clone(),
            c.context_id,
            c.args.clone(),
            c.request,
            c.ret,
            c.action,
            c.duration_us,
            c.fuel,
            c.error.clone(),
            c.filter,
            c.worker,
            c.hostcalls.len() as u32,
        )
    }

    /// The callback's record without host calls and changes, and how many host calls it made.
    pub fn into_record(self) -> (CallbackRecord, u32) {
        let CallbackRow(
            index,
            name,
            context_id,
            args,
            request,
            ret,
            action,
            duration_us,
            fuel,
            error,
            filter,
            worker,
            hostcalls,
        ) = self;
        let record = CallbackRecord {
            index,
            name,
            context_id,
            args,
            request,
            ret,
            action,
            hostcalls: Vec::new(),
            changes: Vec::new(),
            duration_us,
            fuel,
            error,
            filter,
            worker,
        };
        (record, hostcalls)
    }
}

/// `r` without the messages that reached the upstream and the client.
fn light_request(r: &RequestOutcome) -> RequestOutcome {
    RequestOutcome {
        index: r.index,
        upstream_request: None,
        client_response: None,
        reset: r.reset,
        stalled: r.stalled.clone(),
        duration_us: r.duration_us,
        memory_pages: r.memory_pages,
    }
}

/// The first index from which `now` differs from what was sent (by key), and remembers `now`
/// as sent.
fn first_change<T, K: PartialEq>(sent: &mut Vec<K>, now: &[T], key: impl Fn(&T) -> K) -> usize {
    let from = sent
        .iter()
        .zip(now)
        .take_while(|(k, item)| **k == key(item))
        .count();
    sent.truncate(from);
    sent.extend(now[from..].iter().map(key));
    from
}

/// The worker's side of a summarised run: the [`ReportDelta`] (and [`Summary`]) from what it
/// sent last to the run as it is now. The page applies it with [`apply`](crate::apply), as any
/// delta.
#[derive(Debug, Default)]
pub struct SummaryWriter {
    callbacks: Vec<CallbackKey>,
    timeline: Vec<TimelineMark>,
    requests: Vec<RequestKey>,
}

/// The lists of a run that grow with it, as the host keeps them.
#[derive(Clone, Copy)]
pub struct RunLists<'a> {
    /// Every callback.
    pub callbacks: &'a [CallbackRecord],
    /// Every log line.
    pub logs: &'a [LogLine],
    /// The timeline's marks.
    pub timeline: &'a [TimelineMark],
    /// Every finished request.
    pub requests: &'a [RequestOutcome],
}

impl SummaryWriter {
    /// How many callbacks the summaries sent so far hold.
    pub fn sent(&self) -> usize {
        self.callbacks.len()
    }

    /// The summary of the run whose report without its lists is `head` and whose lists are
    /// `lists`. The memory pages are the requests' (as in `Session::report`).
    pub fn delta(&mut self, head: Report, lists: RunLists<'_>) -> (ReportDelta, Summary) {
        let cb = first_change(&mut self.callbacks, lists.callbacks, callback_key);
        // The marks are few and kept whole: compared as they are, not by key.
        let marks = crate::common_prefix(&self.timeline, lists.timeline);
        self.timeline.truncate(marks);
        self.timeline.extend_from_slice(&lists.timeline[marks..]);
        let req = first_change(&mut self.requests, lists.requests, request_key);
        let mut report = head;
        let tail = lists.logs.len().saturating_sub(LOG_TAIL);
        report.logs = lists.logs[tail..].to_vec();
        report.timeline = lists.timeline[marks..].to_vec();
        report.memory_pages = lists.requests[req..]
            .iter()
            .map(|r| r.memory_pages)
            .collect();
        report.requests = lists.requests[req..].iter().map(light_request).collect();
        let summary = Summary {
            callbacks: lists.callbacks[cb..].iter().map(CallbackRow::of).collect(),
            logs: lists.logs.len(),
        };
        let delta = ReportDelta {
            from: [cb, 0, marks, req, req],
            report: Box::new(report),
        };
        (delta, summary)
    }
}

/// The page's side of a summarised snapshot: the report (callbacks without host calls and
/// changes) from the one before (`None` for a run's first), and how many host calls each of
/// its callbacks made, from `counts`, those of the report before.
///
/// # Errors
///
/// A delta that starts beyond the report it applies to (a message lost or out of order).
pub fn apply_summary(
    before: Option<Report>,
    counts: Vec<u32>,
    mut delta: ReportDelta,
    summary: Summary,
) -> Result<(Report, Vec<u32>), String> {
    let from = delta.from[0];
    let (records, added): (Vec<CallbackRecord>, Vec<u32>) = summary
        .callbacks
        .into_iter()
        .map(CallbackRow::into_record)
        .unzip();
    delta.report.callbacks = records;
    let report = crate::apply(before, delta)?;
    let mut counts = counts;
    // The report has every callback before `from`; the counts must too.
    if from > counts.len() {
        return Err(format!(
            "a summary's host call counts start at {from} of {}",
            counts.len()
        ));
    }
    counts.truncate(from);
    counts.extend(added);
    Ok((report, counts))
}
