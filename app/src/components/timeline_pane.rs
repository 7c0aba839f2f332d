use leptos::prelude::*;

use super::panel::Panel;
use crate::run_view::{CallbackDetail, Logs, Timeline};

/// The middle pane: the timeline of callbacks, the selected callback's host calls, and the
/// logs.
#[component]
pub fn TimelinePane() -> impl IntoView {
    view! {
        <div class="pane pane-middle" id="pane-timeline" data-testid="pane-timeline" aria-label="Timeline">
            <Panel title="Timeline">
                <Timeline />
            </Panel>
            <Panel title="Host calls">
                <CallbackDetail />
            </Panel>
            <Panel title="Logs">
                <Logs />
            </Panel>
        </div>
    }
}
