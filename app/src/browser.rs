//! The only module that talks to the browser (`web_sys`): storage, media queries, the
//! document element, `fetch`, WebCrypto's digest and yielding to the event loop. Everything here degrades quietly when an API is missing
//! (for example `localStorage` disabled by privacy settings).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// Reads `key` from `localStorage`.
pub fn stored(key: &str) -> Option<String> {
    window()?.local_storage().ok()??.get_item(key).ok()?
}

/// Writes `key` to `localStorage`; a failure (quota, privacy mode) is ignored.
pub fn store(key: &str, value: &str) {
    if let Some(storage) = window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

/// Whether the system asks for a dark colour scheme.
pub fn prefers_dark() -> bool {
    window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|query| query.matches())
}

/// Sets an attribute on `<html>`.
pub fn set_root_attribute(name: &str, value: &str) {
    if let Some(root) = window().and_then(|w| w.document()?.document_element()) {
        let _ = root.set_attribute(name, value);
    }
}

/// Resolves `relative` against the document base (`<base href>`, i.e. Trunk's `--public-url`).
pub fn resolve(relative: &str) -> Result<String, String> {
    let document = window().and_then(|w| w.document()).ok_or("no document")?;
    let base = document
        .base_uri()
        .map_err(|_| "no document base")?
        .ok_or("no document base")?;
    let url = web_sys::Url::new_with_base(relative, &base)
        .map_err(|_| format!("cannot resolve {relative} against {base}"))?;
    Ok(url.href())
}

/// Fetches `url` and returns its body as text.
///
/// # Errors
///
/// A message for a network error, an HTTP status other than 2xx or a body that is not text.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let window = window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| format!("{url}: network error"))?
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let text = response
        .text()
        .map_err(|_| format!("{url}: unreadable body"))?;
    JsFuture::from(text)
        .await
        .ok()
        .and_then(|body| body.as_string())
        .ok_or_else(|| format!("{url}: body is not text"))
}

/// Lets the browser handle input and paint, then continues: a message to ourselves on a
/// `MessageChannel` runs as the next task, without the >= 4 ms clamp that nested
/// `setTimeout(0)` gets. Falls back to `setTimeout(0)` if the channel cannot be made.
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let posted = web_sys::MessageChannel::new().is_ok_and(|channel| {
            channel.port1().set_onmessage(Some(&resolve));
            channel
                .port2()
                .post_message(&wasm_bindgen::JsValue::UNDEFINED)
                .is_ok()
        });
        if !posted && let Some(w) = window() {
            let _ = w.set_timeout_with_callback(&resolve);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Resolves after the next frame was painted (or at once when the page cannot animate).
pub async fn next_frame() {
    if let Some(w) = window() {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            if w.request_animation_frame(&resolve).is_err() {
                let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
            }
        });
        let _ = JsFuture::from(promise).await;
    }
    yield_now().await;
}

/// The lower-case hex sha256 of `bytes` by WebCrypto, or `None` where the page has none (it is
/// only in secure contexts: https and localhost). Natively fast: hashing a 6 MB plugin inside
/// the app's wasm takes longer than everything else that loading it does.
pub async fn sha256_hex(bytes: &[u8]) -> Option<String> {
    let subtle = window()?.crypto().ok()?.subtle();
    if subtle.is_undefined() {
        return None;
    }
    let promise = subtle.digest_with_str_and_u8_array("SHA-256", bytes).ok()?;
    let digest = js_sys::Uint8Array::new(&JsFuture::from(promise).await.ok()?).to_vec();
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}
