//! Plain logic behind the Events editor: adding an event (writing out the implied timeline
//! first), moving and removing events, and editing one event's fields.

use pwp_model::Scenario;
use pwp_model::scenario::{
    Event, Headers, MAX_ADVANCE_MS, MAX_TICKS_PER_EVENT, RequestEvent, TickEvent,
};

/// The clock advance a new "Advance clock" event starts with.
pub const DEFAULT_ADVANCE_MS: u64 = 1000;

/// What an event row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `tick`
    Tick,
    /// `advance_ms`
    Advance,
    /// `request`
    Request,
}

/// The kind of `e`.
pub fn kind(e: &Event) -> Kind {
    match e {
        Event::Tick(_) => Kind::Tick,
        Event::AdvanceMs(_) => Kind::Advance,
        Event::Request(_) => Kind::Request,
    }
}

/// A new event of `kind` with its defaults: one tick, a second, the scenario's request.
pub fn new_event(kind: Kind) -> Event {
    match kind {
        Kind::Tick => Event::Tick(TickEvent::default()),
        Kind::Advance => Event::AdvanceMs(DEFAULT_ADVANCE_MS),
        Kind::Request => Event::Request(Box::default()),
    }
}

/// Adds an event of `kind` at the end. A scenario without events runs an implied timeline
/// (`requests` requests, `clock.interval_ms` apart): it is written out first, so what ran
/// before still runs and the new event comes after it; `requests` goes back to 1, as `events`
/// requires.
pub fn add(s: &mut Scenario, kind: Kind) {
    if s.events.is_empty() {
        s.events = s.timeline();
        s.requests = 1;
    }
    s.events.push(new_event(kind));
}

/// Swaps events `a` and `b` when both exist.
pub fn swap(s: &mut Scenario, a: usize, b: usize) {
    if a < s.events.len() && b < s.events.len() {
        s.events.swap(a, b);
    }
}

/// Removes event `i` if it exists. With none left, the scenario runs its one request again.
pub fn remove(s: &mut Scenario, i: usize) {
    if i < s.events.len() {
        s.events.remove(i);
    }
}

/// Sets a tick event's count, from the row's text (empty: 1).
///
/// # Errors
///
/// When the text is not a count from 1 to [`MAX_TICKS_PER_EVENT`].
pub fn set_ticks(e: &mut Event, text: &str) -> Result<(), String> {
    let n = super::rows::parse_number(text, 1, u64::from(MAX_TICKS_PER_EVENT))?;
    if n == 0 {
        return Err("fire at least 1 tick".into());
    }
    if let Event::Tick(t) = e {
        t.count = u32::try_from(n).unwrap_or(1);
    }
    Ok(())
}

/// Sets a clock advance, from the row's text (empty: the default).
///
/// # Errors
///
/// When the text is not a whole number of milliseconds up to a day.
pub fn set_advance(e: &mut Event, text: &str) -> Result<(), String> {
    let n = super::rows::parse_number(text, DEFAULT_ADVANCE_MS, MAX_ADVANCE_MS)?;
    if let Event::AdvanceMs(ms) = e {
        *ms = n;
    }
    Ok(())
}

/// A request event's field the row edits; empty text keeps the scenario's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `:method`
    Method,
    /// `:path`
    Path,
}

/// Sets (or, with empty text, clears) a field of a request event.
pub fn set_request(e: &mut Event, field: Field, text: &str) {
    let Event::Request(r) = e else { return };
    let v = text.trim();
    let v = (!v.is_empty()).then(|| v.to_string());
    match field {
        Field::Method => r.method = v,
        Field::Path => r.path = v,
    }
}

/// A request event's field as its row shows it (empty: the scenario's).
pub fn request_field(e: &Event, field: Field) -> String {
    let Event::Request(r) = e else {
        return String::new();
    };
    match field {
        Field::Method => r.method.clone(),
        Field::Path => r.path.clone(),
    }
    .unwrap_or_default()
}

/// Gives a request event its own headers, starting from the scenario's (`base`), or (`on`
/// false) takes them away, so it sends the scenario's again.
pub fn own_headers(e: &mut Event, on: bool, base: &Headers) {
    if let Event::Request(r) = e {
        r.headers = on.then(|| r.headers.clone().unwrap_or_else(|| base.clone()));
    }
}

/// Sets a request event's own headers.
pub fn set_headers(e: &mut Event, rows: Vec<(String, String)>) {
    if let Event::Request(r) = e {
        r.headers = Some(Headers(rows));
    }
}

/// A request event's own headers, if it has them.
pub fn headers(e: &Event) -> Option<Vec<(String, String)>> {
    match e {
        Event::Request(r) => r.headers.as_ref().map(|h| h.0.clone()),
        _ => None,
    }
}

/// What else a request event replaces, which only the scenario's JSON edits.
pub fn other_overrides(r: &RequestEvent) -> Vec<&'static str> {
    [
        ("authority", r.authority.is_some()),
        ("body", r.body.is_some()),
        ("trailers", r.trailers.is_some()),
        ("response", r.response.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_event_writes_out_the_replayed_requests_before_it() {
        let mut s = Scenario {
            requests: 3,
            ..Scenario::default()
        };
        s.clock.interval_ms = 100;
        add(&mut s, Kind::Tick);
        assert_eq!(s.requests, 1, "events list the requests one by one");
        assert_eq!(
            s.events,
            vec![
                Event::Request(Box::default()),
                Event::AdvanceMs(100),
                Event::Request(Box::default()),
                Event::AdvanceMs(100),
                Event::Request(Box::default()),
                Event::Tick(TickEvent { count: 1 }),
            ]
        );
        assert!(s.check_events().is_ok(), "{:?}", s.check_events());
        // The next one is only appended.
        add(&mut s, Kind::Advance);
        assert_eq!(s.events.len(), 7);
        assert_eq!(s.events[6], Event::AdvanceMs(DEFAULT_ADVANCE_MS));
    }

    #[test]
    fn events_move_and_go_and_out_of_range_is_ignored() {
        let mut s = Scenario::default();
        add(&mut s, Kind::Tick);
        assert_eq!(
            s.events.iter().map(kind).collect::<Vec<_>>(),
            [Kind::Request, Kind::Tick]
        );
        swap(&mut s, 0, 1);
        assert_eq!(
            s.events.iter().map(kind).collect::<Vec<_>>(),
            [Kind::Tick, Kind::Request]
        );
        swap(&mut s, 1, 2);
        remove(&mut s, 5);
        assert_eq!(s.events.len(), 2);
        remove(&mut s, 0);
        remove(&mut s, 0);
        assert!(s.events.is_empty());
        assert_eq!(s.timeline(), vec![Event::Request(Box::default())]);
    }

    #[test]
    fn counts_and_advances_are_checked_like_the_scenario_checks_them() {
        let mut tick = new_event(Kind::Tick);
        set_ticks(&mut tick, "3").unwrap();
        assert_eq!(tick, Event::Tick(TickEvent { count: 3 }));
        assert!(set_ticks(&mut tick, "0").is_err());
        assert!(set_ticks(&mut tick, "10001").is_err());
        set_ticks(&mut tick, "").unwrap();
        assert_eq!(tick, Event::Tick(TickEvent { count: 1 }));

        let mut advance = new_event(Kind::Advance);
        set_advance(&mut advance, "2,500").unwrap();
        assert_eq!(advance, Event::AdvanceMs(2500));
        assert!(set_advance(&mut advance, "soon").is_err());
        assert!(set_advance(&mut advance, &(MAX_ADVANCE_MS + 1).to_string()).is_err());
        assert_eq!(
            advance,
            Event::AdvanceMs(2500),
            "a refused text changes nothing"
        );
    }

    #[test]
    fn request_fields_replace_the_scenario_s_only_when_given() {
        let mut e = new_event(Kind::Request);
        set_request(&mut e, Field::Path, " /orders/42 ");
        set_request(&mut e, Field::Method, "POST");
        assert_eq!(request_field(&e, Field::Path), "/orders/42");
        let Event::Request(r) = &e else { panic!() };
        let applied = r.apply(&pwp_model::scenario::Request::default());
        assert_eq!(
            (applied.method.as_str(), applied.path.as_str()),
            ("POST", "/orders/42")
        );
        set_request(&mut e, Field::Method, "  ");
        assert_eq!(request_field(&e, Field::Method), "");
        let Event::Request(r) = &mut e else { panic!() };
        assert!(r.method.is_none(), "empty text is the scenario's method");
        assert!(other_overrides(r).is_empty());
        r.body = Some(pwp_model::scenario::Body::Text("b".into()));
        r.response = Some(Default::default());
        assert_eq!(other_overrides(r), ["body", "response"]);
    }

    #[test]
    fn own_headers_start_from_the_scenario_s_and_go_back_to_them() {
        let base = Headers(vec![("authorization".into(), "Bearer a".into())]);
        let mut e = new_event(Kind::Request);
        assert_eq!(headers(&e), None);
        own_headers(&mut e, true, &base);
        assert_eq!(headers(&e), Some(base.0.clone()));
        set_headers(&mut e, vec![("authorization".into(), "Bearer b".into())]);
        // Turning them on again keeps what was typed.
        own_headers(&mut e, true, &base);
        let Event::Request(r) = &e else { panic!() };
        let sent = r.apply(&pwp_model::scenario::Request {
            headers: base.clone(),
            ..Default::default()
        });
        assert_eq!(
            sent.headers.0,
            [("authorization".to_string(), "Bearer b".to_string())]
        );
        own_headers(&mut e, false, &base);
        assert_eq!(headers(&e), None, "the scenario's headers again");
    }
}
