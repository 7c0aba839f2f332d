use std::collections::BTreeMap;

use leptos::prelude::*;
use pwp_model::scenario::PropertyValue;

use super::rows::{PROPERTY_KINDS, parse_property, property_row};
use super::{edit, follow, part};
use crate::state::use_state;

type Row = (String, String, String); // path, kind, text

fn to_map(rows: &[Row]) -> BTreeMap<String, PropertyValue> {
    rows.iter()
        .filter(|(p, _, _)| !p.trim().is_empty())
        .filter_map(|(p, k, t)| Some((p.trim().to_string(), parse_property(k, t).ok()?)))
        .collect()
}

/// Property overrides: dotted path → typed value (`source.address`, `xds.route_name`, ...).
/// Rows whose value does not read as their type are flagged and left out.
#[component]
pub fn PropertiesEditor() -> impl IntoView {
    let state = use_state();
    let value = part(state, |s| s.properties.clone());
    let rows_of = |m: &BTreeMap<String, PropertyValue>| -> Vec<Row> {
        m.iter()
            .map(|(p, v)| {
                let (k, t) = property_row(v);
                (p.clone(), k, t)
            })
            .collect()
    };
    let draft = RwSignal::new(rows_of(&value.get_untracked()));
    follow(
        value.into(),
        draft,
        |d, v| to_map(d) == *v,
        move |v, _| rows_of(v),
    );
    let set = move |i: usize, col: usize, text: String| {
        draft.update(|d| {
            if let Some(r) = d.get_mut(i) {
                match col {
                    0 => r.0 = text,
                    1 => r.1 = text,
                    _ => r.2 = text,
                }
            }
        });
        let map = draft.with_untracked(|d| to_map(d));
        edit(state, |s| s.properties = map);
    };
    let cell = move |i: usize, col: usize| {
        draft
            .with(|d| {
                d.get(i).map(|r| match col {
                    0 => r.0.clone(),
                    1 => r.1.clone(),
                    _ => r.2.clone(),
                })
            })
            .unwrap_or_default()
    };
    let row_error =
        move |i: usize| draft.with(|d| d.get(i).and_then(|(_, k, t)| parse_property(k, t).err()));
    let row = move |i: usize| {
        view! {
            <tr>
                <td><input type="text" class="mono" spellcheck="false" autocomplete="off" placeholder="source.address"
                    aria-label=format!("property {} path", i + 1) prop:value=move || cell(i, 0)
                    on:input=move |e| set(i, 0, event_target_value(&e)) /></td>
                <td><select aria-label=format!("property {} type", i + 1) on:change=move |e| set(i, 1, event_target_value(&e))>
                    {PROPERTY_KINDS.iter().map(|(k, l)| view! { <option value=*k prop:selected=move || cell(i, 1) == *k>{*l}</option> }).collect_view()}
                </select></td>
                <td><input type="text" class="mono" spellcheck="false" autocomplete="off"
                    aria-label=format!("property {} value", i + 1) aria-invalid=move || row_error(i).is_some().to_string()
                    title=move || row_error(i) prop:value=move || cell(i, 2)
                    on:input=move |e| set(i, 2, event_target_value(&e)) /></td>
                <td><button type="button" class="ed-icon" title="Remove" aria-label=format!("Remove property {}", i + 1)
                    on:click=move |_| {
                        draft.update(|d| if i < d.len() { d.remove(i); });
                        let map = draft.with_untracked(|d| to_map(d));
                        edit(state, |s| s.properties = map);
                    }>"×"</button></td>
            </tr>
        }
    };
    let errors = move || {
        draft.with(|d| {
            d.iter()
                .enumerate()
                .filter_map(|(i, (_, k, t))| {
                    parse_property(k, t)
                        .err()
                        .map(|e| format!("row {}: {e}", i + 1))
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="ed-table" data-testid="properties">
            <table class="ed-pairs ed-props">
                <tbody><For each=move || 0..draft.with(Vec::len) key=|i| *i children=row /></tbody>
            </table>
            {move || errors().into_iter().map(|e| view! { <p class="inline-error" role="alert">{e}" — not applied"</p> }).collect_view()}
            <button type="button" class="ed-add"
                on:click=move |_| draft.update(|d| d.push((String::new(), "text".into(), String::new())))>"+ property"</button>
        </div>
    }
}
