use leptos::prelude::*;

use super::recent_sessions::RecentSessions;
use super::theme_toggle::ThemeToggle;
use crate::share_export::{ExportButton, ShareButton};

/// The top bar: the product name, Recent sessions, Export and Share, and the theme toggle.
#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="topbar">
            <h1 class="brand">"Proxy-Wasm Playground"</h1>
            <span class="tagline">"Run and step proxy-wasm plugins in your browser."</span>
            <div class="header-actions">
                <RecentSessions />
                <ExportButton />
                <ShareButton />
            </div>
            <ThemeToggle />
        </header>
    }
}
