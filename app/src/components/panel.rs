use leptos::prelude::*;

/// A titled box inside a pane.
#[component]
pub fn Panel(
    /// The heading.
    title: &'static str,
    /// The content.
    children: Children,
) -> impl IntoView {
    view! {
        <section class="panel">
            <h2 class="panel-title">{title}</h2>
            {children()}
        </section>
    }
}
