//! The browser calls the app's modules share (`web_sys`): storage, media queries, the document
//! element, the location, `fetch`, WebCrypto's digest, the clock and yielding to the event loop.
//! Everything here degrades quietly when an API is missing (for example `localStorage` disabled
//! by privacy settings).
//!
//! Hand-written rather than `gloo-net`, `gloo-storage` or `leptos-use`'s media queries: each
//! helper is a few lines over `web_sys` bindings the app compiles in anyway, and the colour
//! scheme is read once at start-up, so a reactive media query would have nothing to update.

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

/// `Date.now()`: milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// `location.hash` (with its `#`), or `""`.
pub fn location_hash() -> String {
    window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// `location.origin + location.pathname`: where share links point.
pub fn location_base() -> String {
    let Some(location) = window().map(|w| w.location()) else {
        return String::new();
    };
    match (location.origin(), location.pathname()) {
        (Ok(origin), Ok(path)) => format!("{origin}{path}"),
        _ => String::new(),
    }
}

/// Removes the fragment from the address without a reload or a history entry.
pub fn clear_fragment() {
    let Some(w) = window() else { return };
    let location = w.location();
    let without = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let replaced = w.history().is_ok_and(|h| {
        h.replace_state_with_url(&h.state().unwrap_or_default(), "", Some(&without))
            .is_ok()
    });
    if !replaced {
        let _ = location.set_hash("");
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

/// Fetches `url`: the response, if its status is 2xx.
async fn fetch_ok(url: &str) -> Result<web_sys::Response, String> {
    let window = window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| {
            format!(
                "{url}: network error (offline, or the server does not allow cross-origin requests)"
            )
        })?
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    Ok(response)
}

/// Fetches `url` and returns its body as text.
///
/// # Errors
///
/// A message naming the URL and what went wrong (network, CORS, HTTP status, not text).
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let response = fetch_ok(url).await?;
    let text = response
        .text()
        .map_err(|_| format!("{url}: unreadable body"))?;
    JsFuture::from(text)
        .await
        .ok()
        .and_then(|body| body.as_string())
        .ok_or_else(|| format!("{url}: body is not text"))
}

/// Fetches `url` and returns its body as bytes.
///
/// # Errors
///
/// As [`fetch_text`].
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = fetch_ok(url).await?;
    let buffer = response
        .array_buffer()
        .map_err(|_| format!("{url}: unreadable body"))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|_| format!("{url}: unreadable body"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
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

/// Resolves after `ms` milliseconds (at once without a window).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let scheduled = web_sys::window().is_some_and(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
                .is_ok()
        });
        if !scheduled {
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
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
    Some(pwp_model::hex(&digest))
}

/// Saves `text` as a file named `name` (a Blob download through a hidden link).
pub fn download_text(name: &str, text: &str, mime: &str) {
    let Some(document) = window().and_then(|w| w.document()) else {
        return;
    };
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = document
        .create_element("a")
        .map(JsCast::unchecked_into::<web_sys::HtmlAnchorElement>)
    {
        a.set_href(&url);
        a.set_download(name);
        let _ = a.set_attribute("hidden", "");
        if let Some(body) = document.body() {
            let _ = body.append_child(&a);
            a.click();
            a.remove();
        }
    }
    // Some browsers read the URL after `click` returns: revoke it later.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(30),
    );
}
