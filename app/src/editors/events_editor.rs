use leptos::prelude::*;
use pwp_model::scenario::Event;
use pwp_model::text::thousands;

use super::pairs_table::PairsTable;
use super::timeline_events::{self as ev, Field, Kind};
use super::{edit, part};
use crate::state::{AppState, use_state};

/// Edits event `i` if it still exists.
fn edit_event(state: AppState, i: usize, f: impl FnOnce(&mut Event)) {
    edit(state, |s| {
        if let Some(e) = s.events.get_mut(i) {
            f(e);
        }
    });
}

/// The scenario's timeline: ticks, clock advances and requests in order, each movable and
/// removable. Without events the run replays the request; the first event added writes that
/// out, so it can be changed.
#[component]
pub fn EventsEditor() -> impl IntoView {
    let state = use_state();
    let count = part(state, |s| s.events.len());
    let implied = part(state, |s| (s.requests.max(1), s.clock.interval_ms));
    let hint = move || {
        if count.get() > 0 {
            return "In order after the plugin starts (they replace the replay above). A request the plugin pauses waits while the next events run; a delayed callout answer (delay on a mock) arrives when the clock passes it.".to_string();
        }
        let (n, every) = implied.get();
        let replay = if n == 1 {
            "the request once".to_string()
        } else {
            format!("the request {n} times, {} ms apart", thousands(every))
        };
        format!(
            "None: the run replays {replay}. Add an event to write that out as a timeline and change it."
        )
    };
    let add = move |kind: Kind| edit(state, |s| ev::add(s, kind));
    view! {
        <div class="ed-section" data-testid="events-editor">
            <h3 class="ed-sub">"Timeline events"</h3>
            <p class="ed-hint" data-testid="events-hint">{hint}</p>
            <ol class="ev-list" data-testid="events">
                <For each=move || 0..count.get() key=|i| *i let:i>
                    <EventRow i=i />
                </For>
            </ol>
            <div class="ed-checks">
                <button type="button" class="ed-add" data-testid="add-tick" title="Fire the next tick due (proxy_on_tick)"
                    on:click=move |_| add(Kind::Tick)>"+ Tick"</button>
                <button type="button" class="ed-add" data-testid="add-advance" title="Move the virtual clock forward"
                    on:click=move |_| add(Kind::Advance)>"+ Advance clock"</button>
                <button type="button" class="ed-add" data-testid="add-request" title="Start a request (the scenario's, with what you change)"
                    on:click=move |_| add(Kind::Request)>"+ Request"</button>
            </div>
        </div>
    }
}

/// Event `i`: what it is, its fields, and moving or removing it.
#[component]
fn EventRow(i: usize) -> impl IntoView {
    let state = use_state();
    let event = part(state, move |s| s.events.get(i).cloned());
    let kind = Memo::new(move |_| event.with(|e| e.as_ref().map(ev::kind)));
    let len = part(state, |s| s.events.len());
    let error = RwSignal::new(None::<String>);
    let checked = move |r: Result<(), String>| error.set(r.err());
    // Another event in this place (moved, removed, edited elsewhere): the refusal is stale.
    Effect::watch(move || event.get(), move |_, _, _| error.set(None), false);
    let number =
        move |f: fn(&Event) -> u64| Signal::derive(move || event.with(|e| e.as_ref().map_or(0, f)));
    let ticks = number(|e| match e {
        Event::Tick(t) => u64::from(t.count),
        _ => 0,
    });
    let advance = number(|e| match e {
        Event::AdvanceMs(ms) => *ms,
        _ => 0,
    });
    let field = move |f: Field| {
        Signal::derive(move || {
            event.with(|e| {
                e.as_ref()
                    .map(|e| ev::request_field(e, f))
                    .unwrap_or_default()
            })
        })
    };
    let base = part(state, |s| {
        (s.request.method.clone(), s.request.path.clone())
    });
    let own = Memo::new(move |_| event.with(|e| e.as_ref().and_then(ev::headers)));
    let others = move || {
        event.with(|e| match e {
            Some(Event::Request(r)) => ev::other_overrides(r),
            _ => Vec::new(),
        })
    };
    let body = move || {
        match kind.get() {
        Some(Kind::Tick) => view! {
            <span class="ev-kind">"Tick"</span>
            <label class="ev-field">
                <span>"×"</span>
                <input type="text" inputmode="numeric" class="mono ev-num" data-testid="event-ticks"
                    aria-label=format!("Event {}: ticks", i + 1) prop:value=move || ticks.get().to_string()
                    on:change=move |e| { let v = event_target_value(&e); let mut r = Ok(()); edit_event(state, i, |x| r = ev::set_ticks(x, &v)); checked(r) } />
            </label>
            <span class="ev-note">{move || if ticks.get() > 1 { "the next ticks due, in turn" } else { "the next tick due" }}</span>
        }
        .into_any(),
        Some(Kind::Advance) => view! {
            <span class="ev-kind">"Advance clock by"</span>
            <label class="ev-field">
                <input type="text" inputmode="numeric" class="mono ev-num" data-testid="event-advance"
                    aria-label=format!("Event {}: milliseconds", i + 1) prop:value=move || thousands(advance.get())
                    on:change=move |e| { let v = event_target_value(&e); let mut r = Ok(()); edit_event(state, i, |x| r = ev::set_advance(x, &v)); checked(r) } />
                <span>"ms"</span>
            </label>
        }
        .into_any(),
        Some(Kind::Request) => view! {
            <span class="ev-kind">"Request"</span>
            <input type="text" class="mono ev-method" list="ed-methods" data-testid="event-method" aria-label=format!("Event {}: method", i + 1)
                placeholder=move || base.with(|b| b.0.clone()) prop:value=field(Field::Method)
                on:input=move |e| { let v = event_target_value(&e); edit_event(state, i, |x| ev::set_request(x, Field::Method, &v)) } />
            <input type="text" class="mono ev-path" data-testid="event-path" aria-label=format!("Event {}: path", i + 1)
                placeholder=move || base.with(|b| b.1.clone()) prop:value=field(Field::Path)
                on:input=move |e| { let v = event_target_value(&e); edit_event(state, i, |x| ev::set_request(x, Field::Path, &v)) } />
            <label class="ed-check ev-own" title="This request sends its own headers instead of the scenario's">
                <input type="checkbox" data-testid="event-own-headers" prop:checked=move || own.get().is_some()
                    on:change=move |e| { let on = event_target_checked(&e); let base = state.scenario.with_untracked(|s| s.request.headers.clone()); edit_event(state, i, |x| ev::own_headers(x, on, &base)) } />
                <span>"own headers"</span>
            </label>
            <Show when=move || own.get().is_some()>
                <div class="ev-headers">
                    <PairsTable noun="header" testid="event-headers" value=Signal::derive(move || own.get().unwrap_or_default())
                        on_change=move |rows| edit_event(state, i, |x| ev::set_headers(x, rows)) />
                </div>
            </Show>
            {move || {
                let o = others();
                (!o.is_empty()).then(|| view! {
                    <span class="ev-note" title="Edit them in Scenario (JSON)">{format!("also replaces {}", o.join(", "))}</span>
                })
            }}
        }
        .into_any(),
        None => ().into_any(),
    }
    };
    view! {
        <li class="ev-row" data-testid="event" data-kind=move || match kind.get() {
            Some(Kind::Tick) => "tick",
            Some(Kind::Advance) => "advance",
            Some(Kind::Request) => "request",
            None => "",
        }>
            <span class="ev-no">{i + 1}</span>
            {body}
            <span class="chain-buttons">
                <button type="button" data-testid="event-up" aria-label=format!("Move event {} up", i + 1)
                    title="One place earlier" disabled=move || i == 0
                    on:click=move |_| edit(state, |s| ev::swap(s, i - 1, i))>"↑"</button>
                <button type="button" data-testid="event-down" aria-label=format!("Move event {} down", i + 1)
                    title="One place later" disabled=move || { i + 1 >= len.get() }
                    on:click=move |_| edit(state, |s| ev::swap(s, i, i + 1))>"↓"</button>
                <button type="button" data-testid="event-remove" aria-label=format!("Remove event {}", i + 1)
                    title="Take it out of the timeline"
                    on:click=move |_| edit(state, |s| ev::remove(s, i))>"✕"</button>
            </span>
            {move || error.get().map(|m| view! { <span class="inline-error ev-error" role="alert">{m}</span> })}
        </li>
    }
}
