use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::Scenario;

use super::js::{self, Copied};
use super::links::{self, Built};
use crate::state::use_state;

/// The header's Share button: builds a link to the session (the plugin by example name, URL +
/// sha256, inline when small, else file name + size + sha256), shows it, copies it, and says
/// what the receiver will and will not get.
#[component]
pub fn ShareButton() -> impl IntoView {
    let state = use_state();
    let built = RwSignal::new(None::<(Built, Scenario)>);
    let status = RwSignal::new(String::new());
    let link_input = NodeRef::<leptos::html::Input>::new();
    let copy = move |link: String| {
        status.set("Copying…".into());
        spawn_local(async move {
            let message = match js::copy(&link).await {
                Copied::Clipboard | Copied::Fallback => "Copied to the clipboard.",
                Copied::Failed => {
                    js::select_input(link_input);
                    "The clipboard is not available here: the link is selected, press Ctrl+C (⌘C) to copy it."
                }
            };
            status.set(message.into());
        });
    };
    let share = move |_| {
        let scenario = state.scenario.get_untracked();
        let plugin = state
            .plugin
            .with_untracked(|p| {
                p.as_ref()
                    .map(|p| links::plugin_for_link(p.bytes(), &p.source, &p.name))
            })
            // No plugin loaded yet (a link's file not dropped yet): pass its reference on.
            .or_else(|| links::without_inline(scenario.clone()).plugin);
        let b = links::build(&crate::browser::location_base(), &scenario, plugin);
        let link = b.link.clone();
        built.set(Some((b, scenario)));
        copy(link);
    };
    let close = move || built.set(None);
    view! {
        <div class="share">
            <button type="button" data-testid="share" aria-haspopup="dialog"
                title="Copy a link that reopens this session" on:click=share>"Share"</button>
            {move || built.get().map(|(b, shared)| {
                let link = b.link.clone();
                let again = b.link.clone();
                let changed = move || state.scenario.with(|s| s != &shared);
                view! {
                    <div class="share-popover" role="dialog" aria-label="Share link" data-testid="share-panel"
                        on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Escape" { close(); }>
                        <label class="field">
                            <span>{format!("Link to this session ({} characters)", b.link.len())}</span>
                            <input node_ref=link_input type="text" readonly spellcheck="false" data-testid="share-link"
                                prop:value=link on:focus=move |_| js::select_input(link_input) />
                        </label>
                        <p class="share-status" data-testid="share-status" aria-live="polite">{move || status.get()}</p>
                        <p class=if b.plugin_missing { "share-note warn" } else { "share-note" } data-testid="share-plugin">
                            {b.plugin_note.clone()}
                        </p>
                        {b.length_warning.clone().map(|w| view! {
                            <p class="share-note warn" data-testid="share-warning">{w}</p>
                        })}
                        <Show when=changed>
                            <p class="share-note" data-testid="share-stale">"The session changed since: press Share again for a link with the changes."</p>
                        </Show>
                        <div class="toolbar">
                            <button type="button" data-testid="share-copy" on:click=move |_| copy(again.clone())>"Copy again"</button>
                            <button type="button" data-testid="share-close" on:click=move |_| close()>"Close"</button>
                        </div>
                    </div>
                }
            })}
        </div>
    }
}
