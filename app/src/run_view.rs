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
