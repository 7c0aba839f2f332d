//! The UI: one small component per file; every element e2e reads carries a `data-testid`.

mod app;
mod example_select;
mod header;
mod import_report;
mod pane_tabs;
pub mod panel;
mod plugin_pane;
mod recent_sessions;
mod results_pane;
mod theme_toggle;
mod timeline_pane;

pub use app::App;
