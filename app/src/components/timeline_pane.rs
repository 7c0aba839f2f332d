use leptos::prelude::*;

use super::panel::Panel;
use crate::run_view::{CallbackDetail, CalloutAnswerForm, Controls, Logs, StreamNow, Timeline};

/// The middle pane: run controls, the timeline of callbacks, the selected callback's host
/// calls, and the logs.
#[component]
pub fn TimelinePane() -> impl IntoView {
    view! {
        <div class="pane pane-middle" aria-label="Timeline">
            <Controls />
            <CalloutAnswerForm />
            <Panel title="Timeline">
                <Timeline />
            </Panel>
            <Panel title="Host calls">
                <CallbackDetail />
            </Panel>
            <Panel title="Logs">
                <Logs />
            </Panel>
            <StreamNow />
        </div>
    }
}
