use leptos::prelude::*;

use super::follow;
use super::rows::{Pairs, complete_pairs};

/// An editable name/value table (headers, trailers, metadata, environment variables): rows in
/// order, duplicates allowed, add and remove. Rows without a name stay in the table but not in
/// the scenario; `normalize` turns the rest into what the scenario keeps (a map sorts them).
#[component]
pub fn PairsTable(
    /// What a row is ("header"), for labels.
    noun: &'static str,
    #[prop(into)] value: Signal<Pairs>,
    #[prop(into)] on_change: Callback<Pairs>,
    #[prop(optional)] normalize: Option<fn(Pairs) -> Pairs>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(default = "value")] value_placeholder: &'static str,
) -> impl IntoView {
    let norm = move |rows: Pairs| {
        let rows = complete_pairs(rows);
        normalize.map_or(rows.clone(), |f| f(rows))
    };
    let draft = RwSignal::new(value.get_untracked());
    follow(
        value,
        draft,
        move |d, v| norm(d.clone()) == *v,
        |v, _| v.clone(),
    );
    let commit = move || on_change.run(norm(draft.get_untracked()));
    let set = move |i: usize, name: bool, text: String| {
        draft.update(|d| {
            if let Some(r) = d.get_mut(i) {
                if name { r.0 = text } else { r.1 = text }
            }
        });
        commit();
    };
    let cell = move |i: usize, name: bool| {
        draft
            .with(|d| {
                d.get(i)
                    .map(|r| if name { r.0.clone() } else { r.1.clone() })
            })
            .unwrap_or_default()
    };
    let row = move |i: usize| {
        view! {
            <tr data-testid="pair-row">
                <td><input type="text" class="mono" spellcheck="false" autocomplete="off" placeholder="name"
                    aria-label=format!("{noun} {} name", i + 1) data-testid="pair-name"
                    prop:value=move || cell(i, true) on:input=move |e| set(i, true, event_target_value(&e)) /></td>
                <td><input type="text" class="mono" spellcheck="false" autocomplete="off" placeholder=value_placeholder
                    aria-label=format!("{noun} {} value", i + 1) data-testid="pair-value"
                    prop:value=move || cell(i, false) on:input=move |e| set(i, false, event_target_value(&e)) /></td>
                <td><button type="button" class="ed-icon" title="Remove" aria-label=format!("Remove {noun} {}", i + 1)
                    on:click=move |_| {
                        draft.update(|d| if i < d.len() { d.remove(i); });
                        commit();
                    }>"×"</button></td>
            </tr>
        }
    };
    view! {
        <div class="ed-table" data-testid=testid>
            <table class="ed-pairs">
                <tbody>
                    <For each=move || 0..draft.with(Vec::len) key=|i| *i children=row />
                </tbody>
            </table>
            <button type="button" class="ed-add" on:click=move |_| draft.update(|d| d.push(Default::default()))>
                {format!("+ {noun}")}
            </button>
        </div>
    }
}
