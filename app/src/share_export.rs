//! Export and share: deployable YAML from a session, and links that reopen it.
//!
//! - `form`, `links`: plain logic (no `leptos`, no `web_sys`), unit-tested natively;
//! - `js`: the browser calls (fragment, history, clipboard, downloads);
//! - `restore`: opens a `#s=` link at start-up (before the autosaved session) and when the
//!   fragment changes, and checks a dropped file against the link's sha256;
//! - `export_dialog`, `share_button`: the header's Export dialog and Share button.
//!
//! The host does the real work: `pwp_model::export` writes the YAML, `pwp_model::share` encodes
//! and decodes links. State of its own lives in [`ShareExport`], provided as context.

mod export_dialog;
mod form;
mod js;
mod links;
mod restore;
mod share_button;

use leptos::prelude::*;
use pwp_model::export::ExportFormat;
use pwp_model::scenario::PluginRef;

pub use export_dialog::ExportButton;
pub use restore::restore_from_location;
pub use share_button::ShareButton;

use self::form::FormData;

/// What export and share keep between renders, as copyable handles.
#[derive(Clone, Copy)]
pub struct ShareExport {
    /// The plugin file an opened link names, until the user loads a plugin.
    awaited: RwSignal<Option<PluginRef>>,
    /// Whether the export dialog is open.
    export_open: RwSignal<bool>,
    /// The chosen export format.
    format: RwSignal<ExportFormat>,
    /// The export form.
    form: RwSignal<FormData>,
    /// The session the form was filled from: its settings as JSON and the plugin's sha256.
    filled_from: StoredValue<Option<(String, Option<String>)>>,
}

/// The export-and-share state: the one provided higher up, or a new one provided here.
fn context() -> ShareExport {
    use_context::<ShareExport>().unwrap_or_else(|| {
        let ctx = ShareExport {
            awaited: RwSignal::new(None),
            export_open: RwSignal::new(false),
            format: RwSignal::new(ExportFormat::Istio),
            form: RwSignal::new(FormData::default()),
            filled_from: StoredValue::new(None),
        };
        provide_context(ctx);
        ctx
    })
}
