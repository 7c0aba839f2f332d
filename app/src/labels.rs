//! One vocabulary for every pane: how actions, availability, request and callback numbers, local
//! replies and the run's status read. Pure logic, tested natively.
//!
//! Notation: a callback is `#5` (its position in the timeline, from 0, as the host numbers it);
//! a replayed request is `req 1` (from 1, as the scenario lists them). The two never share a
//! notation, so "#5" in the status is always the timeline row marked "#5".

use pwp_model::run::Pause;
use pwp_model::stream::Access;

/// A callback's number, as the timeline rows and the status show it.
pub fn callback_no(index: usize) -> String {
    format!("#{index}")
}

/// A replayed request's number (0-based in the trace), as `req 1`.
pub fn request_no(request: u32) -> String {
    format!("req {}", u64::from(request) + 1)
}

/// What a callback returned: Envoy's name for the action when the host read one (stream
/// callbacks), the raw value otherwise, or the failure.
pub fn callback_result(ret: Option<i64>, action: Option<&str>, failure: Option<&str>) -> String {
    match (failure, action, ret) {
        (Some(kind), _, _) => format!("✗ {kind}"),
        (None, Some(a), _) => a.to_string(),
        (None, None, Some(r)) => r.to_string(),
        (None, None, None) => String::new(),
    }
}

/// What the plugin may do with a part of the stream at the pause.
pub fn access(a: Access) -> &'static str {
    match a {
        Access::None => "not available to the plugin now",
        Access::ReadOnly => "read-only",
        Access::ReadWrite => "readable and writable",
    }
}

/// The badge of a client response the plugin (or Envoy on its behalf) sent as a local reply.
pub fn local_reply(status: u16, details: &str) -> String {
    let details = details.trim();
    if details.is_empty() {
        format!("local reply · {status} · no details given")
    } else {
        format!("local reply · {status} · {details}")
    }
}

/// Where a paused run stands, naming the callback by number and name. `name_of` gives a
/// callback's name from its number.
pub fn pause(p: Option<&Pause>, name_of: impl Fn(usize) -> Option<String>) -> String {
    let cb = |i: usize| match name_of(i) {
        Some(n) => format!("callback {} {n}", callback_no(i)),
        None => format!("callback {}", callback_no(i)),
    };
    match p {
        Some(Pause::BeforeCallback { index }) => format!("Paused before {}", cb(*index)),
        Some(Pause::HostCall { callback, hostcall }) => {
            format!("Paused after host call {hostcall} of {}", cb(*callback))
        }
        Some(Pause::Failed { callback }) => format!(
            "Callback {} failed{}",
            callback_no(*callback),
            name_of(*callback)
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        Some(Pause::Callout { token }) => {
            format!("Waiting for an answer to callout {token}")
        }
        Some(Pause::Injected) => "Paused after the tick or clock advance you added".to_string(),
        Some(Pause::Slice) | None => "Paused".to_string(),
    }
}

/// What the timeline says when it has no rows.
pub fn empty_timeline(finished: bool, refused: bool, exported_callbacks: usize) -> &'static str {
    match (finished, refused) {
        (_, true) => "The run did not start: the red message with the results says why.",
        (true, _) if exported_callbacks == 0 => {
            "The run finished without calling the plugin: it exports no proxy-wasm callback \
             (no proxy_on_* function, _start or _initialize), so there was nothing to call."
        }
        (true, _) => "The run finished without calling any of the plugin's callbacks.",
        (false, false) => "Run or step to see the plugin's callbacks here.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_callbacks_have_distinct_notations() {
        assert_eq!(callback_no(5), "#5");
        assert_eq!(request_no(0), "req 1");
        assert!(!request_no(4).contains('#'));
    }

    #[test]
    fn the_action_name_wins_over_the_raw_value_and_a_failure_over_both() {
        assert_eq!(
            callback_result(Some(1), Some("StopAllIterationAndWatermark"), None),
            "StopAllIterationAndWatermark"
        );
        assert_eq!(callback_result(Some(1), None, None), "1");
        assert_eq!(
            callback_result(Some(1), Some("Continue"), Some("trap")),
            "✗ trap"
        );
        assert_eq!(callback_result(None, None, None), "");
    }

    #[test]
    fn availability_reads_as_words() {
        assert_eq!(access(Access::ReadWrite), "readable and writable");
        assert_eq!(access(Access::ReadOnly), "read-only");
        assert!(!access(Access::None).contains("None"));
    }

    #[test]
    fn a_local_reply_badge_always_ends_with_something() {
        assert_eq!(local_reply(403, ""), "local reply · 403 · no details given");
        assert_eq!(
            local_reply(401, "basic_auth_failed"),
            "local reply · 401 · basic_auth_failed"
        );
    }

    #[test]
    fn the_status_names_the_callback_by_number_and_name() {
        let names = |i: usize| (i == 5).then(|| "proxy_on_request_headers".to_string());
        assert_eq!(
            pause(Some(&Pause::BeforeCallback { index: 5 }), names),
            "Paused before callback #5 proxy_on_request_headers"
        );
        assert_eq!(
            pause(
                Some(&Pause::HostCall {
                    callback: 5,
                    hostcall: 0
                }),
                names
            ),
            "Paused after host call 0 of callback #5 proxy_on_request_headers"
        );
        assert_eq!(
            pause(Some(&Pause::BeforeCallback { index: 7 }), names),
            "Paused before callback #7"
        );
    }

    #[test]
    fn an_empty_timeline_after_a_run_says_why() {
        assert!(empty_timeline(false, false, 3).starts_with("Run or step"));
        assert!(empty_timeline(true, false, 0).contains("exports no proxy-wasm callback"));
        assert!(!empty_timeline(true, false, 2).starts_with("Run or step"));
        assert!(empty_timeline(false, true, 2).contains("did not start"));
    }
}
