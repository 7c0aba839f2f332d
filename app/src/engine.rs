//! The page's side of the engine worker: starts it, posts [`ToWorker`] messages (queued until
//! the worker says it is ready), hands each [`FromWorker`] message to the runner, and replaces
//! the worker when it has to be stopped.
//!
//! The worker (`worker/`, built by Trunk as `pwp-worker_loader.js` beside the page) holds the
//! host and the interpreter: plugin code never runs on the page's thread, and the page holds no
//! WebAssembly parser either: [`inspect`] asks the worker what a module is.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use leptos::prelude::Set;
use pwp_model::PluginInfo;
use pwp_proto::{FromWorker, ToWorker, decode, encode};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::state::{AppState, LoadedPlugin};

/// The worker's script, relative to the document's base URL (`<base>` holds the public URL,
/// so a deployment under a sub-path finds it there).
const WORKER_URL: &str = "pwp-worker_loader.js";

/// How long a Cancel may wait for the worker's answer before the worker is stopped and
/// replaced. A worker reads messages between fuel slices (15-50 ms), so only a stuck engine
/// misses this.
pub const CANCEL_DEADLINE_MS: i32 = 2_000;

#[derive(Default)]
struct Client {
    worker: Option<web_sys::Worker>,
    /// The worker said [`FromWorker::Ready`]: messages posted before are lost, so they wait.
    ready: bool,
    queue: Vec<js_sys::Array>,
    /// The modules (sha256) the current worker holds.
    loaded: HashSet<String>,
    /// The modules (sha256) the current worker read for [`inspect`]: a Load of one need not
    /// send its bytes again (megabytes copied twice).
    held: HashSet<String>,
    /// Counts workers: a message or timer of a replaced worker is ignored.
    generation: u64,
    on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    on_error: Option<Closure<dyn FnMut(web_sys::ErrorEvent)>>,
    state: Option<AppState>,
    /// Modules sent to [`inspect`], until the worker answers.
    inspecting: Vec<Inspecting>,
    /// The last [`ToWorker::Inspect`] id given out.
    inspections: u64,
}

/// What an [`inspect`] waits for: the worker's answer to [`ToWorker::Inspect`] `id`.
struct Inspecting {
    id: u64,
    /// Kept to send again should the worker be replaced before it answers.
    module: Module,
    browser_pages: Option<u32>,
    /// Sent once more already, to the worker that replaced the one asked first.
    resent: bool,
    answer: Rc<RefCell<Option<Inspection>>>,
    /// Resolves the promise [`inspect`] awaits.
    resolve: js_sys::Function,
}

/// What [`inspect`] returns.
type Inspection = Result<PluginInfo, String>;

/// A module to inspect.
#[derive(Clone)]
enum Module {
    /// Bytes the page has read, and their sha256.
    Read { sha256: String, bytes: Rc<[u8]> },
    /// A file the user chose, handed to the worker unread: the worker reads and hashes it.
    File(web_sys::File),
}

impl Module {
    /// Posts the [`ToWorker::Inspect`] of this module.
    fn send(&self, id: u64, browser_pages: Option<u32>) {
        let sha256 = match self {
            Module::Read { sha256, .. } => Some(sha256.clone()),
            Module::File(_) => None,
        };
        let message = ToWorker::Inspect {
            id,
            sha256,
            browser_pages,
        };
        match self {
            Module::Read { bytes, .. } => send(&message, &[bytes]),
            Module::File(file) => deliver(js_sys::Array::of2(
                &JsValue::from_str(&encode(&message)),
                file,
            )),
        }
    }
}

thread_local! {
    static CLIENT: RefCell<Client> = RefCell::new(Client::default());
}

/// Starts the worker (once the page has painted, it warms the interpreter up).
pub fn start(state: AppState) {
    spawn(state);
}

/// The current worker's generation.
pub fn generation() -> u64 {
    CLIENT.with(|c| c.borrow().generation)
}

fn spawn(state: AppState) {
    let mine = CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        c.generation += 1;
        c.generation
    });
    let Ok(worker) = web_sys::Worker::new(WORKER_URL) else {
        state.notice.set(Some(
            "The engine could not be started: this browser refused the worker.".into(),
        ));
        return;
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if generation() != mine {
                return;
            }
            let text = event.data().as_string().unwrap_or_default();
            match decode::<FromWorker>(&text) {
                Ok(FromWorker::Ready) => ready(),
                Ok(FromWorker::Inspected { id, info }) => {
                    answer(id, info.map(|i| *i).map_err(|e| e.to_string()));
                }
                Ok(FromWorker::Error { message }) => {
                    // The worker could not read a message (a stale worker of another
                    // version): an inspection it was sent will not be answered.
                    give_up(&message);
                    crate::runner::engine_failed(state, &message);
                }
                Ok(message) => crate::runner::on_message(state, message),
                Err(e) => crate::runner::engine_failed(state, &e.to_string()),
            }
        });
    let on_error =
        Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
            if generation() != mine {
                return;
            }
            event.prevent_default();
            let why = event.message();
            restart();
            crate::runner::engine_failed(state, &format!("the engine stopped ({why})"));
        });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        c.worker = Some(worker);
        c.ready = false;
        c.queue.clear();
        c.loaded.clear();
        c.held.clear();
        c.on_message = Some(on_message);
        c.on_error = Some(on_error);
        c.state = Some(state);
    });
    leptos::task::spawn_local(async move {
        crate::browser::next_frame().await;
        if generation() == mine {
            send(&ToWorker::WarmUp, &[]);
        }
    });
}

/// The worker is listening: post what waited.
fn ready() {
    CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        c.ready = true;
        let queue = std::mem::take(&mut c.queue);
        if let Some(w) = &c.worker {
            for m in queue {
                let _ = w.post_message(&m);
            }
        }
    });
}

/// Posts `message` with `bytes` beside it (`[json, bytes...]`), or queues it until the worker
/// is ready.
pub fn send(message: &ToWorker, bytes: &[&[u8]]) {
    let data = js_sys::Array::new();
    data.push(&JsValue::from_str(&encode(message)));
    for b in bytes {
        data.push(&js_sys::Uint8Array::from(*b));
    }
    deliver(data);
}

/// Posts `data` (`[json, attachments...]`), or queues it until the worker is ready.
fn deliver(data: js_sys::Array) {
    CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        match (&c.worker, c.ready) {
            (Some(w), true) => {
                let _ = w.post_message(&data);
            }
            _ => c.queue.push(data),
        }
    });
}

/// Makes sure the worker holds `plugins` (sends the ones it lacks; it compiles them when it has
/// nothing else to do). With `browser_pages`, the next run is likely on the browser's engine
/// with that memory limit: the worker compiles for it first.
pub fn ensure_loaded(plugins: &[&LoadedPlugin], browser_pages: Option<u32>) {
    let missing: Vec<&LoadedPlugin> = CLIENT.with(|c| {
        let c = c.borrow();
        plugins
            .iter()
            .filter(|p| !c.loaded.contains(&p.info().sha256))
            .copied()
            .collect()
    });
    if missing.is_empty() {
        return;
    }
    let mut shas = Vec::new();
    for p in &missing {
        let sha = p.info().sha256.clone();
        if !shas.contains(&sha) {
            shas.push(sha);
        }
    }
    let held = CLIENT.with(|c| c.borrow().held.clone());
    let bytes: Vec<&[u8]> = shas
        .iter()
        .filter_map(|s| missing.iter().find(|p| &p.info().sha256 == s))
        .map(|p| {
            if held.contains(&p.info().sha256) {
                &[][..]
            } else {
                p.bytes()
            }
        })
        .collect();
    CLIENT.with(|c| c.borrow_mut().loaded.extend(shas.iter().cloned()));
    send(
        &ToWorker::Load {
            plugins: shas,
            browser_pages,
        },
        &bytes,
    );
}

/// What the module `bytes` (whose sha256 is `sha256`) is, as the engine worker's `inspect`
/// finds it, or why it is not a usable plugin.
///
/// # Errors
///
/// The worker's [`LoadError`](pwp_model::LoadError) as text, or that there is no worker to ask.
pub async fn inspect(bytes: Rc<[u8]>, sha256: String) -> Inspection {
    ask(Module::Read { sha256, bytes }, None).await
}

/// What the module in `file` is: the worker reads and hashes the file itself, so that the
/// page's thread does no more than post it, and the answer's `sha256` names it. With
/// `browser_pages`, the worker compiles it for the browser's engine at once (a run is next).
/// The message is posted before this returns; the answer is what it resolves to.
///
/// # Errors
///
/// As [`inspect`].
pub fn inspect_file(
    file: &web_sys::File,
    browser_pages: Option<u32>,
) -> impl Future<Output = Inspection> + use<> {
    ask(Module::File(file.clone()), browser_pages)
}

fn ask(module: Module, browser_pages: Option<u32>) -> impl Future<Output = Inspection> + use<> {
    let answer = Rc::new(RefCell::new(None));
    let mut resolved = None;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| resolved = Some(resolve));
    let resolve = resolved.expect("the promise's executor runs at once");
    let running = CLIENT.with(|c| c.borrow().worker.is_some());
    if running {
        let id = CLIENT.with(|c| {
            let mut c = c.borrow_mut();
            c.inspections += 1;
            let id = c.inspections;
            c.inspecting.push(Inspecting {
                id,
                module: module.clone(),
                browser_pages,
                resent: false,
                answer: answer.clone(),
                resolve,
            });
            id
        });
        module.send(id, browser_pages);
    }
    async move {
        if !running {
            return Err("the engine is not running (this browser refused its worker)".into());
        }
        let _ = JsFuture::from(promise).await;
        let answer = answer.borrow_mut().take();
        answer.unwrap_or_else(|| Err("the engine did not say what this module is".into()))
    }
}

/// Hands the worker's answer to the [`inspect`] that waits for it.
fn answer(id: u64, inspection: Inspection) {
    let waiting = CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        let at = c.inspecting.iter().position(|i| i.id == id)?;
        let waiting = c.inspecting.remove(at);
        if let Ok(info) = &inspection {
            c.held.insert(info.sha256.clone());
        }
        Some(waiting)
    });
    if let Some(waiting) = waiting {
        *waiting.answer.borrow_mut() = Some(inspection);
        let _ = waiting.resolve.call0(&JsValue::UNDEFINED);
    }
}

/// Answers every waiting [`inspect`] with `why`.
fn give_up(why: &str) {
    let waiting = CLIENT.with(|c| std::mem::take(&mut c.borrow_mut().inspecting));
    for i in waiting {
        *i.answer.borrow_mut() = Some(Err(why.to_string()));
        let _ = i.resolve.call0(&JsValue::UNDEFINED);
    }
}

/// After the worker was replaced: asks the new one what the old one did not answer, once; a
/// module the worker stopped on twice is reported as such.
fn inspect_again() {
    let (again, given_up): (Vec<_>, Vec<_>) = CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        let worker = c.worker.is_some();
        std::mem::take(&mut c.inspecting)
            .into_iter()
            .partition(|i| worker && !i.resent)
    });
    for i in given_up {
        *i.answer.borrow_mut() = Some(Err("the engine stopped while reading it".into()));
        let _ = i.resolve.call0(&JsValue::UNDEFINED);
    }
    for mut i in again {
        i.resent = true;
        let (module, id, pages) = (i.module.clone(), i.id, i.browser_pages);
        CLIENT.with(|c| c.borrow_mut().inspecting.push(i));
        module.send(id, pages);
    }
}

/// Stops the worker at once (whatever it runs) and starts a new one, which holds nothing.
pub fn restart() {
    let old = CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        c.ready = false;
        c.worker.take()
    });
    if let Some(w) = old {
        w.terminate();
    }
    if let Some(state) = CLIENT.with(|c| c.borrow().state) {
        spawn(state);
    }
    inspect_again();
}

/// The deadline for an answer to Cancel, in ms: [`CANCEL_DEADLINE_MS`], or what the page's
/// `window.__pwpCancelDeadlineMs` says (the e2e tests set 0 to exercise the replacement).
pub fn cancel_deadline_ms() -> i32 {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("__pwpCancelDeadlineMs")).ok())
        .and_then(|v| v.as_f64())
        .map_or(CANCEL_DEADLINE_MS, |v| v as i32)
}
