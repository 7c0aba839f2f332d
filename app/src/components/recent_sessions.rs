use leptos::ev;
use leptos::prelude::*;

use crate::state::use_state;

/// The header's "Recent sessions" menu: every autosaved session, newest first; picking one
/// switches to it (the current one stays in the list).
#[component]
pub fn RecentSessions() -> impl IntoView {
    let state = use_state();
    let open = RwSignal::new(false);
    let current = move || {
        state
            .current
            .with_value(|c| c.as_ref().map(|c| c.id.clone()))
    };
    view! {
        <div class="share recent" on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Escape" { open.set(false); }>
            <button type="button" data-testid="recent-sessions" aria-haspopup="dialog"
                aria-expanded=move || open.get().to_string()
                title="Go back to a session this browser saved"
                on:click=move |_| open.update(|o| *o = !*o)>"Recent sessions"</button>
            <Show when=move || open.get()>
                <div class="share-popover recent-list" role="dialog" aria-label="Recent sessions" data-testid="recent-list">
                    <ul>
                        {move || {
                            let now = crate::browser::now_ms();
                            let here = current();
                            state.recent.with(|r| r.entries.iter().map(|e| {
                                let id = e.id.clone();
                                let is_current = here.as_deref() == Some(e.id.as_str());
                                let details = e.details();
                                let age = crate::sessions::age(now, e.saved_at);
                                view! {
                                    <li>
                                        <button type="button" data-testid="recent-session" disabled=is_current
                                            aria-current=if is_current { Some("true") } else { None }
                                            on:click=move |_| { open.set(false); crate::persist::switch_to(state, &id); }>
                                            <strong>{e.title()}</strong>
                                            <span class="recent-details">
                                                {if details.is_empty() { age } else { format!("{details} · {age}") }}
                                                {is_current.then_some(" · current")}
                                            </span>
                                        </button>
                                    </li>
                                }
                            }).collect_view())
                        }}
                    </ul>
                </div>
            </Show>
        </div>
    }
}
