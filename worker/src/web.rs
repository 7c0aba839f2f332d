//! The worker's side of the message port: reads [`ToWorker`] messages, runs the engine one
//! fuel slice per task, and posts [`FromWorker`] messages as JSON text.

use std::cell::{Cell, RefCell};

use pwp_proto::{FromWorker, ToWorker, decode, encode};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::engine::Engine;

thread_local! {
    static ENGINE: RefCell<Engine> = RefCell::new(Engine::new(
        now_us,
        Some(Box::new(crate::browser::BrowserEngine::default())),
    ));
    /// True while the slice loop runs (one loop at a time).
    static PUMPING: Cell<bool> = const { Cell::new(false) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

thread_local! {
    /// The worker's `performance`, looked up once (the clock is read around every callback).
    static PERFORMANCE: Option<web_sys::Performance> = scope().performance();
}

/// `performance.now()` in microseconds, for callback durations.
fn now_us() -> f64 {
    PERFORMANCE.with(|p| p.as_ref().map_or(0.0, |p| p.now() * 1000.0))
}

fn post(message: FromWorker) {
    let _ = scope().post_message(&JsValue::from_str(&encode(&message)));
}

/// Installs the message handler and says so.
pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        // `[json, module bytes or file...]`
        let data: js_sys::Array = event.data().unchecked_into();
        let text = data.get(0).as_string().unwrap_or_default();
        let attached: Vec<JsValue> = (1..data.length()).map(|i| data.get(i)).collect();
        match decode::<ToWorker>(&text) {
            // A file the page handed over unread: read and hashed here, off the page's thread.
            Ok(message @ ToWorker::Inspect { sha256: None, .. }) => {
                wasm_bindgen_futures::spawn_local(read_then_handle(message, attached));
            }
            Ok(message) => handle(message, attached.into_iter().map(bytes_of).collect()),
            Err(e) => post(FromWorker::Error {
                message: e.to_string(),
            }),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(FromWorker::Ready);
}

fn handle(message: ToWorker, bytes: Vec<Vec<u8>>) {
    ENGINE.with(|e| e.borrow_mut().handle(message, bytes, &mut post));
    pump();
}

/// A module's bytes as posted: a `Uint8Array` (`new Uint8Array(it)` would copy it once more),
/// or anything else as the bytes it converts to.
fn bytes_of(value: JsValue) -> Vec<u8> {
    match value.dyn_into::<js_sys::Uint8Array>() {
        Ok(array) => array.to_vec(),
        Err(other) => js_sys::Uint8Array::new(&other).to_vec(),
    }
}

/// Handles `inspect` once its module (a `File`, or bytes) is read and hashed with the
/// browser's SHA-256 (the engine hashes it itself should that fail). A file that cannot be
/// read is inspected as empty: the page reads it too and names that failure.
async fn read_then_handle(inspect: ToWorker, attached: Vec<JsValue>) {
    let mut bytes = Vec::new();
    let mut sha256 = None;
    if let Some(value) = attached.into_iter().next() {
        let buffer = match value.dyn_into::<web_sys::Blob>() {
            Ok(file) => JsFuture::from(file.array_buffer()).await.ok(),
            Err(other) => Some(other),
        };
        if let Some(buffer) = buffer {
            let digest = digest(&buffer);
            bytes = bytes_of(buffer);
            if let Some(digest) = digest {
                sha256 = JsFuture::from(digest)
                    .await
                    .ok()
                    .map(|d| pwp_model::hex(&bytes_of(d)));
            }
        }
    }
    let message = match inspect {
        ToWorker::Inspect {
            id, browser_pages, ..
        } => ToWorker::Inspect {
            id,
            sha256,
            browser_pages,
        },
        other => other,
    };
    handle(message, vec![bytes]);
}

/// `crypto.subtle.digest("SHA-256", buffer)`, if this worker has it (not on a page served
/// over plain HTTP from another host than localhost).
fn digest(buffer: &JsValue) -> Option<js_sys::Promise> {
    let subtle = scope().crypto().ok()?.subtle();
    if subtle.is_undefined() {
        return None;
    }
    let buffer: &js_sys::Object = buffer.dyn_ref()?;
    subtle
        .digest_with_str_and_buffer_source("SHA-256", buffer)
        .ok()
}

/// Runs fuel slices until there is nothing to run, yielding to the worker's event loop
/// between them so that the next message (a Cancel) is read.
fn pump() {
    if PUMPING.with(|p| p.replace(true)) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        while ENGINE.with(|e| e.borrow_mut().pump(&mut post)) {
            yield_now().await;
        }
        PUMPING.with(|p| p.set(false));
        if let Some(ms) = ENGINE.with(|e| e.borrow().wake_in_ms()) {
            wake_in(ms);
        }
    });
}

/// Pumps again in `ms` milliseconds (a compilation that waits for the page to be quiet).
fn wake_in(ms: f64) {
    let wake = Closure::once_into_js(pump);
    #[allow(clippy::cast_possible_truncation)] // a delay of at most a second
    let _ = scope()
        .set_timeout_with_callback_and_timeout_and_arguments_0(wake.unchecked_ref(), ms as i32);
}

/// Lets the worker read its messages, then continues: a message to itself on a
/// `MessageChannel` runs as the next task, without the >= 4 ms clamp of nested `setTimeout`.
async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Ok(channel) = web_sys::MessageChannel::new() {
            channel.port1().set_onmessage(Some(&resolve));
            if channel.port2().post_message(&JsValue::UNDEFINED).is_ok() {
                return;
            }
        }
        let _ = resolve.call0(&JsValue::UNDEFINED);
    });
    let _ = JsFuture::from(promise).await;
}
