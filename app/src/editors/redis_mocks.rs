use leptos::prelude::*;
use pwp_model::scenario::{MAX_ADVANCE_MS, RedisMock};
use pwp_model::text::thousands;

use super::rows::{escape_resp, parse_number, unescape_resp};
use super::{edit, part};
use crate::state::{AppState, use_state};

fn edit_mock(state: AppState, i: usize, f: impl FnOnce(&mut RedisMock)) {
    edit(state, |s| {
        if let Some(m) = s.mocks.redis.get_mut(i) {
            f(m);
        }
    });
}

/// Answers to Higress Redis calls: cluster and command to match, the RESP reply (with `\r\n`
/// written as such), how late it comes on the virtual clock, or a network error.
#[component]
pub fn RedisMocks() -> impl IntoView {
    let state = use_state();
    let count = part(state, |s| s.mocks.redis.len());
    let text = move |i: usize, f: fn(&RedisMock) -> String| {
        part(state, move |s| {
            s.mocks.redis.get(i).map(f).unwrap_or_default()
        })
    };
    let opt = |v: String| (!v.trim().is_empty()).then(|| v.trim().to_string());
    let delay = move |i: usize| {
        part(state, move |s| {
            s.mocks.redis.get(i).map_or(String::new(), |m| {
                if m.delay_ms == 0 {
                    String::new()
                } else {
                    thousands(m.delay_ms)
                }
            })
        })
    };
    let row = move |i: usize| {
        let bad = RwSignal::new(false);
        view! {
            <tr data-testid="redis-mock">
                <td><input type="text" class="mono" placeholder="(any cluster)" aria-label=format!("Redis mock {} cluster", i + 1)
                    prop:value=text(i, |m| m.cluster.clone().unwrap_or_default())
                    on:input=move |e| { let v = opt(event_target_value(&e)); edit_mock(state, i, |m| m.cluster = v) } /></td>
                <td><input type="text" class="mono" placeholder="(any)" aria-label=format!("Redis mock {} command", i + 1)
                    prop:value=text(i, |m| m.command.clone().unwrap_or_default())
                    on:input=move |e| { let v = opt(event_target_value(&e)); edit_mock(state, i, |m| m.command = v) } /></td>
                <td><input type="text" class="mono" placeholder=":1\\r\\n" aria-label=format!("Redis mock {} RESP reply", i + 1)
                    prop:value=text(i, |m| escape_resp(&m.reply))
                    on:change=move |e| { let v = unescape_resp(&event_target_value(&e)); edit_mock(state, i, |m| m.reply = v) } /></td>
                <td><input type="text" inputmode="numeric" class="mono ed-delay" placeholder="0 ms" aria-label=format!("Redis mock {} delay (ms)", i + 1)
                    data-testid="redis-mock-delay" aria-invalid=move || bad.get().to_string()
                    title="The reply arrives this many ms after the call on the virtual clock; past the timeout given to proxy_redis_init it fails as a timeout"
                    prop:value=move || delay(i).get()
                    on:change=move |e| match parse_number(&event_target_value(&e), 0, MAX_ADVANCE_MS) {
                        Ok(n) => { bad.set(false); edit_mock(state, i, |m| m.delay_ms = n) }
                        Err(_) => bad.set(true),
                    } /></td>
                <td><input type="checkbox" title="network error instead" aria-label=format!("Redis mock {} network error", i + 1)
                    prop:checked=part(state, move |s| s.mocks.redis.get(i).is_some_and(|m| m.network_error))
                    on:change=move |e| { let b = event_target_checked(&e); edit_mock(state, i, |m| m.network_error = b) } /></td>
                <td><button type="button" class="ed-icon" aria-label=format!("Remove Redis mock {}", i + 1)
                    on:click=move |_| edit(state, |s| { if i < s.mocks.redis.len() { s.mocks.redis.remove(i); } })>"×"</button></td>
            </tr>
        }
    };
    view! {
        <div class="ed-table" data-testid="redis-mocks">
            <table class="ed-pairs ed-redis">
                <Show when={move || count.get() > 0}>
                    <thead><tr><th>"cluster"</th><th>"command"</th><th>"reply (RESP)"</th><th title="The reply arrives this many milliseconds late on the virtual clock">"delay"</th><th title="network error">"err"</th><th></th></tr></thead>
                </Show>
                <tbody><For each=move || 0..count.get() key=|i| *i children=row /></tbody>
            </table>
            <button type="button" class="ed-add" data-testid="add-redis-mock"
                on:click=move |_| edit(state, |s| s.mocks.redis.push(RedisMock { reply: "+OK\r\n".into(), ..RedisMock::default() }))>
                "+ Redis mock"
            </button>
        </div>
    }
}
