//! The browser calls of export and share: the location fragment and history, the clipboard
//! (with a fallback for when its API is missing or refused) and file downloads.
//!
//! A few lines of JavaScript instead of `web_sys` features, so the app's feature list stays as
//! it is; every function degrades quietly (an empty answer, nothing done).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function location_hash() {
  try { return location.hash || ""; } catch (_) { return ""; }
}
export function location_base() {
  try { return location.origin + location.pathname; } catch (_) { return ""; }
}
export function clear_fragment() {
  try {
    history.replaceState(history.state, "", location.pathname + location.search);
  } catch (_) {
    try { location.hash = ""; } catch (_) {}
  }
}
export function on_hash_change(callback) {
  window.addEventListener("hashchange", () => callback());
}
// "clipboard" when the Clipboard API took it, "fallback" when execCommand did, "" otherwise.
export async function copy_text(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return "clipboard";
    } catch (_) {}
  }
  const active = document.activeElement;
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.top = "0";
  area.style.left = "-10000px";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (_) {}
  area.remove();
  if (active && typeof active.focus === "function") active.focus();
  return ok ? "fallback" : "";
}
// Selects the text of an input, a textarea or any element, for the user to copy by hand.
export function select_contents(testid) {
  const el = document.querySelector(`[data-testid="${testid}"]`);
  if (!el) return;
  if (typeof el.select === "function") {
    el.focus();
    el.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
export function download_text(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}
export function focus_testid(testid) {
  const el = document.querySelector(`[data-testid="${testid}"]`);
  if (el && typeof el.focus === "function") el.focus();
}
"#)]
extern "C" {
    /// `location.hash` (with its `#`), or `""`.
    pub fn location_hash() -> String;
    /// `location.origin + location.pathname`: where share links point.
    pub fn location_base() -> String;
    /// Removes the fragment from the address without a reload or a history entry.
    pub fn clear_fragment();
    /// Calls `callback` whenever the fragment changes (a link pasted into the address bar).
    pub fn on_hash_change(callback: &Closure<dyn Fn()>);
    #[wasm_bindgen(catch)]
    async fn copy_text(text: &str) -> Result<JsValue, JsValue>;
    /// Selects the text of the element with this `data-testid`.
    pub fn select_contents(testid: &str);
    /// Saves `text` as a file named `name` (a Blob download).
    pub fn download_text(name: &str, text: &str, mime: &str);
    /// Focuses the element with this `data-testid`.
    pub fn focus_testid(testid: &str);
}

/// How a copy went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    /// The Clipboard API took it.
    Clipboard,
    /// The older `execCommand("copy")` took it.
    Fallback,
    /// Neither: the user must copy by hand.
    Failed,
}

/// Copies `text` to the clipboard, falling back to `execCommand("copy")`.
pub async fn copy(text: &str) -> Copied {
    match copy_text(text)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .as_deref()
    {
        Some("clipboard") => Copied::Clipboard,
        Some("fallback") => Copied::Fallback,
        _ => Copied::Failed,
    }
}
