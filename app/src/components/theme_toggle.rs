use leptos::prelude::*;

use crate::browser;
use crate::theme::{STORAGE_KEY, Theme};

/// Switches `<html data-theme>` between light and dark and remembers the choice.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let stored = browser::stored(STORAGE_KEY);
    let theme = RwSignal::new(Theme::initial(stored.as_deref(), browser::prefers_dark()));
    Effect::new(move |_| browser::set_root_attribute("data-theme", theme.get().as_str()));
    let toggle = move |_| {
        let next = theme.get_untracked().toggled();
        browser::store(STORAGE_KEY, next.as_str());
        theme.set(next);
    };
    view! {
        <button
            class="theme-toggle"
            type="button"
            data-testid="theme-toggle"
            title="Switch between light and dark"
            aria-pressed=move || (theme.get() == Theme::Dark).to_string()
            on:click=toggle
        >
            {move || match theme.get() {
                Theme::Light => "Dark theme",
                Theme::Dark => "Light theme",
            }}
        </button>
    }
}
