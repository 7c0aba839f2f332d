use leptos::prelude::*;
use pwp_model::abi::Status;
use pwp_model::scenario::{Body, ForeignMock};

use super::{edit, part};
use crate::state::{AppState, use_state};

fn edit_mock(state: AppState, i: usize, f: impl FnOnce(&mut ForeignMock)) {
    edit(state, |s| {
        if let Some(m) = s.mocks.foreign.get_mut(i) {
            f(m);
        }
    });
}

/// The result as the row's text field shows it; `None` for bytes that are not text, which
/// only the scenario's JSON can edit.
fn result_text(m: &ForeignMock) -> Option<String> {
    let bytes = m.result.as_ref().map_or(Ok(Vec::new()), Body::bytes).ok()?;
    String::from_utf8(bytes).ok()
}

/// Answers to `proxy_call_foreign_function`, by function name: the bytes it returns (text), or
/// an error status. A mock named like a built-in of the proxy answers in its place.
#[component]
pub fn ForeignMocks() -> impl IntoView {
    let state = use_state();
    let count = part(state, |s| s.mocks.foreign.len());
    let mock = move |i: usize| {
        part(state, move |s| {
            s.mocks.foreign.get(i).cloned().unwrap_or_default()
        })
    };
    let row = move |i: usize| {
        let m = mock(i);
        let failing = move || m.with(|m| m.status.is_some_and(|s| s != Status::Ok));
        let binary = move || m.with(|m| result_text(m).is_none());
        view! {
            <tr data-testid="foreign-mock">
                <td><input type="text" class="mono" placeholder="function name" aria-label=format!("Foreign function mock {} name", i + 1)
                    prop:value=move || m.with(|m| m.name.clone())
                    on:input=move |e| { let v = event_target_value(&e).trim().to_string(); edit_mock(state, i, |m| m.name = v) } /></td>
                <td><input type="text" class="mono" aria-label=format!("Foreign function mock {} result", i + 1)
                    placeholder=move || if binary() { "(binary: edit it in Scenario (JSON))" } else { "(no bytes)" }
                    disabled=move || failing() || binary()
                    prop:value=move || m.with(|m| result_text(m).unwrap_or_default())
                    on:change=move |e| { let v = event_target_value(&e); edit_mock(state, i, |m| m.result = (!v.is_empty()).then_some(Body::Text(v))) } /></td>
                <td><select aria-label=format!("Foreign function mock {} status", i + 1)
                    on:change=move |e| {
                        let status = Status::from_name(&event_target_value(&e)).filter(|s| *s != Status::Ok);
                        edit_mock(state, i, |m| {
                            m.status = status;
                            if status.is_some() { m.result = None; }
                        });
                    }>
                    {Status::ALL.iter().map(|&s| view! {
                        <option value=s.name() prop:selected=move || m.with(|m| m.status.unwrap_or(Status::Ok) == s)>{s.name()}</option>
                    }).collect_view()}
                </select></td>
                <td><button type="button" class="ed-icon" aria-label=format!("Remove foreign function mock {}", i + 1)
                    on:click=move |_| edit(state, |s| { if i < s.mocks.foreign.len() { s.mocks.foreign.remove(i); } })>"×"</button></td>
            </tr>
        }
    };
    view! {
        <div class="ed-table" data-testid="foreign-mocks">
            <table class="ed-pairs ed-foreign">
                <Show when={move || count.get() > 0}>
                    <thead><tr><th>"function"</th><th>"result (text)"</th><th title="Ok returns the result; any other status, no bytes">"status"</th><th></th></tr></thead>
                </Show>
                <tbody><For each=move || 0..count.get() key=|i| *i children=row /></tbody>
            </table>
            <button type="button" class="ed-add" data-testid="add-foreign-mock"
                on:click=move |_| edit(state, |s| s.mocks.foreign.push(ForeignMock::default()))>
                "+ Foreign function mock"
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_show_as_text_unless_they_are_binary() {
        let with = |result: Option<Body>| ForeignMock {
            name: "f".into(),
            result,
            status: None,
        };
        assert_eq!(result_text(&with(None)), Some(String::new()));
        assert_eq!(
            result_text(&with(Some(Body::Text("tok".into())))),
            Some("tok".into())
        );
        let base64 = |s: &str| Body::Base64 { base64: s.into() };
        assert_eq!(result_text(&with(Some(base64("YWJj")))), Some("abc".into()));
        assert_eq!(result_text(&with(Some(base64("/wA=")))), None);
    }
}
