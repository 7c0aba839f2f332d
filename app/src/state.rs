//! The app's reactive state: inputs (the scenario and the loaded plugin, autosaved), the run
//! (a session in the engine worker, advanced step by step) and what the panes show of it.
//!
//! Components get this with `expect_context::<AppState>()`; every field is a `Copy` handle.

use std::rc::Rc;

use leptos::prelude::*;
use pwp_model::report::Report;
use pwp_model::run::{Breakpoints, Pause, Refusal};
use pwp_model::scenario::PluginRef;
use pwp_model::stream::{HttpStream, TcpConnection};
use pwp_model::{PluginInfo, Scenario};

use crate::sessions::{Current, Recent};

/// A plugin the user loaded.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// What to call it (file name, example name, URL).
    pub name: String,
    /// The module's bytes (the engine worker compiles them).
    pub bytes: Rc<[u8]>,
    /// What the engine worker's `inspect` found.
    pub info: Rc<PluginInfo>,
    /// How to find it again (share links, session files).
    pub source: PluginRef,
}

impl LoadedPlugin {
    /// The module's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// What `inspect` found.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }
}

/// A plugin of the chain's further filters, as it loads.
#[derive(Clone)]
pub enum ChainPlugin {
    /// Being fetched.
    Loading,
    /// Ready.
    Loaded(LoadedPlugin),
    /// Could not be loaded (the message says why).
    Failed(String),
}

/// What identifies a chain filter's plugin among the loaded ones: the example, the URL, or
/// the digest of an uploaded or inline module.
pub fn chain_key(r: &PluginRef) -> String {
    if let Some(e) = &r.example {
        format!("example:{e}")
    } else if let Some(u) = &r.url {
        format!("url:{u}")
    } else if let Some(sha) = &r.sha256 {
        format!("sha256:{}", sha.to_ascii_lowercase())
    } else if let Some(i) = &r.inline {
        format!("inline:{}", pwp_model::sha256_hex(i.as_bytes()))
    } else {
        "none".into()
    }
}

/// Where the run is.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum RunStatus {
    /// Nothing has run since the inputs last changed.
    #[default]
    Idle,
    /// Running (between fuel slices).
    Running,
    /// Paused at a step or breakpoint.
    Paused,
    /// Finished.
    Finished,
    /// Stopped by the user's Cancel; what ran so far stays.
    Cancelled,
    /// Could not start (the message says why).
    Refused(String),
}

/// What the run panes show, refreshed after every step.
#[derive(Debug, Clone, Default)]
pub struct RunView {
    /// Where the run is.
    pub status: RunStatus,
    /// Where it is paused.
    pub paused: Option<Pause>,
    /// The (possibly partial) report: callbacks, logs, outcomes, expectations.
    pub report: Option<Report>,
    /// The HTTP stream as it is now (while paused inside a request).
    pub stream: Option<HttpStream>,
    /// The L4 connection's buffers as they are now (while paused in an L4 run).
    pub connection: Option<TcpConnection>,
    /// How many fuel slices ran in the current drive (progress for long work).
    pub slices: u32,
    /// The inputs changed since this run: the results are kept for comparison, the session
    /// is gone, and Run starts a new one.
    pub stale: bool,
    /// With [`RunStatus::Refused`]: the proxy's load check refused the plugin, for these
    /// reasons, and "Run anyway" (`settings.lenient`) can run it.
    pub refusal: Option<Refusal>,
    /// The session runs on the browser's engine (else on the interpreter).
    pub browser_engine: bool,
    /// What the run is for beyond what it shows: a replay on the interpreter to a callback of
    /// a run on the browser's engine, or the repeat of a run that overran its deadline there.
    pub note: Option<String>,
    /// Set when the report is a summary (a run of many requests, `pwp_proto::Summary`): its
    /// callbacks carry no host calls or changes and its logs are the newest lines only; a
    /// callback's own come from the worker when it is shown ([`AppState::detail`]).
    pub summary: Option<RunSummary>,
}

/// What the page knows of a summarised run beyond its report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    /// How many host calls each callback made.
    pub hostcalls: Vec<u32>,
    /// How many log lines the run wrote (the report holds the newest).
    pub logs: usize,
}

impl RunView {
    /// How many host calls callback `index` made (its record holds them unless summarised).
    pub fn hostcall_count(&self, index: usize) -> usize {
        match &self.summary {
            Some(s) => s.hostcalls.get(index).map_or(0, |&n| n as usize),
            None => self
                .report
                .as_ref()
                .and_then(|r| r.callbacks.get(index))
                .map_or(0, |c| c.hostcalls.len()),
        }
    }
}

/// All state, as copyable handles.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The scenario being edited (autosaved).
    pub scenario: RwSignal<Scenario>,
    /// The loaded plugin.
    pub plugin: RwSignal<Option<LoadedPlugin>, LocalStorage>,
    /// The plugins of the scenario's chain (filters 2..N), by [`chain_key`].
    pub chain_plugins: RwSignal<std::collections::BTreeMap<String, ChainPlugin>, LocalStorage>,
    /// Why the last load failed.
    pub load_error: RwSignal<Option<String>>,
    /// A message for the user (share link problems, restored session notes).
    pub notice: RwSignal<Option<String>>,
    /// The run whose session the engine worker holds, if any (see `runner`).
    pub live: StoredValue<Option<pwp_proto::RunId>>,
    /// The last run id given out.
    pub runs: StoredValue<pwp_proto::RunId>,
    /// The run a Cancel was sent for and not answered yet.
    pub cancelling: StoredValue<Option<pwp_proto::RunId>>,
    /// What the run panes show.
    pub run: RwSignal<RunView>,
    /// The callback selected in the timeline.
    pub selected: RwSignal<Option<usize>>,
    /// What a callback of a summarised run did, as the worker answered (its index, and `None`
    /// when the worker has no such callback): the one shown, asked for when selected.
    pub detail: RwSignal<Option<(usize, Option<pwp_proto::CallbackDetail>)>>,
    /// The callback of the live run whose detail was asked for and not answered yet.
    pub asked: StoredValue<Option<(pwp_proto::RunId, usize)>>,
    /// Breakpoints.
    pub breakpoints: RwSignal<Breakpoints>,
    /// The saved session being edited (autosaved under its id).
    pub current: StoredValue<Option<Current>>,
    /// The recent sessions (see `persist`).
    pub recent: RwSignal<Recent>,
    /// The session left by opening a share link, offered in the notice as a way back.
    pub previous: RwSignal<Option<String>>,
    /// Editors holding text they could not apply: `(editor, problem)`. A run refuses to start
    /// while this is not empty.
    pub invalid: RwSignal<Vec<(String, String)>>,
    /// The tab shown when the window is too narrow for the three panes.
    pub pane: RwSignal<Pane>,
}

/// What a narrow window shows: the panes do not fit side by side there, so they become two
/// tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    /// The plugin and the scenario's inputs.
    #[default]
    Inputs,
    /// The run: results, then the timeline, host calls and logs.
    Run,
}

impl AppState {
    /// Creates the state and provides it as context.
    pub fn provide() -> AppState {
        let state = AppState {
            scenario: RwSignal::new(Scenario::default()),
            plugin: RwSignal::new_local(None),
            chain_plugins: RwSignal::new_local(std::collections::BTreeMap::new()),
            load_error: RwSignal::new(None),
            notice: RwSignal::new(None),
            live: StoredValue::new(None),
            runs: StoredValue::new(0),
            cancelling: StoredValue::new(None),
            run: RwSignal::new(RunView::default()),
            selected: RwSignal::new(None),
            detail: RwSignal::new(None),
            asked: StoredValue::new(None),
            breakpoints: RwSignal::new(Breakpoints::default()),
            current: StoredValue::new(None),
            recent: RwSignal::new(Recent::default()),
            previous: RwSignal::new(None),
            invalid: RwSignal::new(Vec::new()),
            pane: RwSignal::new(Pane::default()),
        };
        provide_context(state);
        state
    }

    /// Drops the worker's session (the results on screen stay).
    pub fn forget_session(&self) {
        if self.live.get_value().is_some() {
            self.live.set_value(None);
            self.cancelling.set_value(None);
            crate::engine::send(&pwp_proto::ToWorker::Forget, &[]);
        }
    }

    /// Records whether `editor` holds text it could not apply (`problem`), or not (`None`).
    pub fn set_invalid(&self, editor: &str, problem: Option<String>) {
        self.invalid.update(|list| {
            list.retain(|(e, _)| e != editor);
            if let Some(p) = problem {
                list.push((editor.to_string(), p));
            }
        });
    }

    /// Forgets the current run (inputs changed, or Restart); the worker drops its session,
    /// and a step it still runs stops there.
    pub fn reset_run(&self) {
        self.forget_session();
        self.run.set(RunView::default());
        self.selected.set(None);
        self.detail.set(None);
    }
}

/// The state provided by [`AppState::provide`].
pub fn use_state() -> AppState {
    expect_context::<AppState>()
}
