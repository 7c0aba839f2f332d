use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

use super::chain_editor::ChainEditor;
use super::config_editor::ConfigEditor;
use super::events_editor::EventsEditor;
use super::limits_editor::LimitsEditor;
use super::mocks_editor::MocksEditor;
use super::request_editor::RequestEditor;
use super::response_editor::ResponseEditor;
use super::scenario_json::ScenarioJson;
use super::settings_editor::SettingsEditor;
use crate::browser;

const TAB_KEY: &str = "pwp-editor-tab";
/// `(id, label)`, in order.
const TABS: [(&str, &str); 7] = [
    ("request", "Request"),
    ("response", "Response"),
    ("config", "Config"),
    ("settings", "Settings"),
    ("mocks", "Routing & mocks"),
    ("chain", "Chain"),
    ("scenario", "Scenario (JSON)"),
];

/// The tab `key` moves to from `current` (arrows wrap, Home and End), if any.
fn next_tab(current: usize, key: &str) -> Option<usize> {
    let n = TABS.len();
    Some(match key {
        "ArrowRight" | "ArrowDown" => (current + 1) % n,
        "ArrowLeft" | "ArrowUp" => (current + n - 1) % n,
        "Home" => 0,
        "End" => n - 1,
        _ => return None,
    })
}

/// The scenario editors in tabs (WAI-ARIA tabs: arrows move between tabs, Tab enters the
/// panel). Every panel stays in the page once built, hidden when not chosen; the chosen tab
/// is remembered.
#[component]
pub fn Editors() -> impl IntoView {
    let remembered = browser::stored(TAB_KEY).and_then(|id| TABS.iter().position(|t| t.0 == id));
    let active = RwSignal::new(remembered.unwrap_or(0));
    let refs: Vec<NodeRef<html::Button>> = TABS.iter().map(|_| NodeRef::new()).collect();
    // Panels built so far (bit i for tab i): the chosen one at once, the others one per task
    // after it, so that no single task builds all seven editors. Once built, a panel stays.
    let built = RwSignal::new(1u32 << active.get_untracked());
    leptos::task::spawn_local(async move {
        for i in 0..TABS.len() {
            browser::yield_now().await;
            built.update(|b| *b |= 1 << i);
        }
    });
    let choose = move |i: usize| {
        built.update(|b| *b |= 1 << i);
        active.set(i);
        browser::store(TAB_KEY, TABS[i].0);
    };
    let on_key = {
        let refs = refs.clone();
        move |e: KeyboardEvent| {
            if let Some(i) = next_tab(active.get_untracked(), &e.key()) {
                e.prevent_default();
                choose(i);
                if let Some(b) = refs[i].get_untracked() {
                    let _ = b.focus();
                }
            }
        }
    };
    let panel = move |i: usize, content: fn() -> AnyView| {
        let (id, _) = TABS[i];
        view! {
            <div class="ed-panel" role="tabpanel" id=format!("ed-panel-{id}") aria-labelledby=format!("ed-tab-{id}")
                hidden=move || active.get() != i>
                <Show when=move || built.get() & (1 << i) != 0>{content()}</Show>
            </div>
        }
    };
    view! {
        <section class="panel ed-tabs" aria-label="Scenario">
            <div class="ed-tablist" role="tablist" aria-label="Scenario inputs" on:keydown=on_key>
                {TABS.iter().enumerate().map(|(i, (id, label))| view! {
                    <button type="button" role="tab" node_ref=refs[i] id=format!("ed-tab-{id}") data-testid=format!("tab-{id}")
                        aria-controls=format!("ed-panel-{id}") aria-selected=move || (active.get() == i).to_string()
                        tabindex=move || if active.get() == i { "0" } else { "-1" }
                        on:click=move |_| choose(i)>{*label}</button>
                }).collect_view()}
            </div>
            {panel(0, || view! { <RequestEditor /> }.into_any())}
            {panel(1, || view! { <ResponseEditor /> }.into_any())}
            {panel(2, || view! { <ConfigEditor vm=false /><ConfigEditor vm=true /> }.into_any())}
            {panel(3, || view! { <SettingsEditor /><LimitsEditor /><EventsEditor /> }.into_any())}
            {panel(4, || view! { <MocksEditor /> }.into_any())}
            {panel(5, || view! { <ChainEditor /> }.into_any())}
            {panel(6, || view! { <ScenarioJson /> }.into_any())}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::next_tab;

    #[test]
    fn arrows_wrap_and_home_end_jump() {
        assert_eq!(next_tab(0, "ArrowLeft"), Some(6));
        assert_eq!(next_tab(6, "ArrowRight"), Some(0));
        assert_eq!(next_tab(3, "Home"), Some(0));
        assert_eq!(next_tab(3, "End"), Some(6));
        assert_eq!(next_tab(3, "a"), None);
    }
}
