//! The run: controls, timeline, host calls, logs and outcome.

mod chart;
mod connection;
pub mod controls;
mod logs;
mod paused;
mod results;
mod timeline;
mod window;

pub use connection::{ConnectionNow, ConnectionView};
pub use controls::Controls;
pub use logs::Logs;
pub use paused::{CalloutAnswerForm, StreamNow};
pub use results::{
    ClientResponse, ErrorView, Expectations, RequestsChart, SideEffects, UpstreamRequest,
};
pub use timeline::{CallbackDetail, Timeline};

use leptos::prelude::*;

use crate::state::{AppState, RunView};

/// What a pane shows of the run, recomputed when the run view changes and passed on only
/// when it differs: a step that changes one pane re-renders that pane alone.
fn of_run<T>(state: AppState, f: impl Fn(&RunView) -> T + Send + Sync + 'static) -> Memo<T>
where
    T: PartialEq + Clone + Send + Sync + 'static,
{
    Memo::new(move |_| state.run.with(&f))
}
