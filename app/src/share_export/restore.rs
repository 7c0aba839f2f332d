//! Opening a share link: at start-up (before the autosaved session is restored) and whenever
//! the fragment changes while the app is open (a link pasted into the address bar).
//!
//! A link that decodes opens as a new session and loads its plugin; the session the user was in
//! stays in the recent sessions, and the notice offers the way back to it. A link that does not
//! decode leaves the session alone and says why in the notice. Either way the fragment is
//! cleared, so a reload does not open the link again over later edits.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::scenario::PluginRef;
use pwp_model::share::{self, Decoded, ShareError};

use super::context;
use super::links::{self, Plan};
use crate::browser::{clear_fragment, location_hash};
use crate::sessions::Origin;
use crate::state::AppState;

/// Opens the share link in the page's fragment, if any. True when it opened as the current
/// session (so the newest saved one must not be restored over it); false when there is no link
/// or it could not be opened (the notice says why).
pub fn restore_from_location(state: AppState) -> bool {
    let ctx = context();
    check_awaited_file(state, ctx.awaited);
    listen_for_links(state);
    open(state, &location_hash())
}

/// Opens `fragment` if it is a share link; see [`restore_from_location`].
fn open(state: AppState, fragment: &str) -> bool {
    match share::decode(fragment) {
        Err(ShareError::NotAShareLink) => false,
        Err(error) => {
            clear_fragment();
            state.notice.set(Some(format!(
                "Could not open the shared session: {error}. Your own session was kept as it was."
            )));
            false
        }
        Ok(decoded) => {
            clear_fragment();
            apply(state, decoded);
            true
        }
    }
}

/// Opens links pasted into the address bar of the running app (only the fragment changes, so
/// the page does not reload). The listener lives as long as the app.
fn listen_for_links(state: AppState) {
    let _listener = window_event_listener(ev::hashchange, move |_| {
        open(state, &location_hash());
    });
}

/// When a link names a file the user must drop, checks the next plugin they load against it.
fn check_awaited_file(state: AppState, awaited: RwSignal<Option<PluginRef>>) {
    Effect::watch(
        move || {
            state.plugin.with(|p| {
                p.as_ref()
                    .map(|p| (p.name.clone(), p.info().sha256.clone()))
            })
        },
        move |loaded, _, _| {
            let Some((name, sha)) = loaded else { return };
            let Some(expected) = awaited.get_untracked() else {
                return;
            };
            awaited.set(None);
            let (message, _) = links::compare_with_expected(&expected, name, sha);
            state.notice.set(Some(message));
        },
        false,
    );
}

/// Opens the link's session as a new one and loads its plugin.
fn apply(state: AppState, decoded: Decoded) {
    let awaited = context().awaited;
    let plan = links::plan(decoded.scenario.plugin.as_ref(), decoded.plugin);
    let source = decoded.scenario.plugin.clone().map(|mut p| {
        p.inline = None;
        p
    });
    let scenario = links::without_inline(decoded.scenario);
    let opened = if scenario.name.trim().is_empty() {
        "Opened a shared session".to_string()
    } else {
        format!("Opened the shared session “{}”", scenario.name.trim())
    };
    crate::runner::restart(state);
    let previous = crate::persist::begin(state, Origin::Link);
    state.previous.set(previous);
    // The session the link's plugin is for: the user may have gone elsewhere when it arrives.
    let session = crate::persist::current_id(state);
    let still_here = move || crate::persist::current_id(state) == session;
    state.scenario.set(scenario);
    state.plugin.set(None);
    state.load_error.set(None);
    awaited.set(None);
    match plan {
        Plan::Nothing => finish(
            state,
            &opened,
            vec!["a plugin (the link names none): load one to run it".into()],
        ),
        Plan::Unusable(why) => finish(
            state,
            &opened,
            vec![format!("the plugin ({why}): load it yourself")],
        ),
        Plan::Inline(bytes) => {
            let source = source.unwrap_or_default();
            let name = source
                .file_name
                .clone()
                .unwrap_or_else(|| "shared.wasm".into());
            spawn_local(async move {
                let sha = crate::loader::sha256(&bytes).await;
                if !still_here() {
                    return;
                }
                let missing = use_plugin(state, name, bytes, sha, source).await;
                finish(state, &opened, missing);
            });
        }
        Plan::Example(name) => {
            state
                .notice
                .set(Some(format!("{opened}; loading the example {name}…")));
            spawn_local(async move {
                let fetched = crate::loader::fetch_example(&name).await;
                if !still_here() {
                    return;
                }
                let missing = match fetched {
                    Ok((bytes, sha, source)) => use_plugin(state, name, bytes, sha, source).await,
                    Err(e) => vec![format!(
                        "the example plugin {name}, which could not be loaded ({e})"
                    )],
                };
                finish(state, &opened, missing);
            });
        }
        Plan::Url { url, sha256 } => {
            state.notice.set(Some(format!(
                "{opened}; downloading the plugin from {url}…"
            )));
            spawn_local(async move {
                let fetched = crate::loader::fetch_plugin(&url, sha256.as_deref()).await;
                if !still_here() {
                    return;
                }
                let missing = match fetched {
                    Err(e) => vec![format!("the plugin: {e}")],
                    Ok((bytes, sha)) => {
                        let source = PluginRef {
                            url: Some(url.clone()),
                            ..PluginRef::default()
                        };
                        let name = crate::loader::name_from_url(&url);
                        let mut missing = use_plugin(state, name, bytes, sha, source).await;
                        if sha256.is_none() && missing.is_empty() {
                            missing.push(format!(
                                "a check of the plugin (the link gives no sha256 for {url})"
                            ));
                        }
                        missing
                    }
                };
                finish(state, &opened, missing);
            });
        }
        Plan::File(file) => {
            let wanted = links::describe_file(&file);
            awaited.set(Some(file));
            finish(
                state,
                &opened,
                vec![format!(
                    "the plugin, which is not in the link: drop {wanted} here to run it"
                )],
            );
        }
    }
}

/// Takes the link's plugin; what could not be restored, if anything.
async fn use_plugin(
    state: AppState,
    name: String,
    bytes: Vec<u8>,
    sha: String,
    source: PluginRef,
) -> Vec<String> {
    if crate::loader::use_bytes(state, name.clone(), bytes, sha, source).await {
        Vec::new()
    } else {
        let why = state.load_error.get_untracked().unwrap_or_default();
        vec![format!(
            "the plugin {name}, which is not a usable plugin ({why})"
        )]
    }
}

/// Says what was opened, what could not be restored and where the previous session is; marks
/// the session as opened (until the user changes it, the next link or example may reuse it).
fn finish(state: AppState, opened: &str, missing: Vec<String>) {
    let kept = if state.previous.with_untracked(Option::is_some) {
        " Your previous session is kept in Recent sessions."
    } else {
        ""
    };
    let message = if missing.is_empty() {
        format!("{opened} as a new session.{kept}")
    } else {
        format!(
            "{opened} as a new session. Not restored: {}.{kept}",
            missing.join("; ")
        )
    };
    state.notice.set(Some(message));
    crate::persist::opened(state);
}
