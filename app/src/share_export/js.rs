//! The clipboard, with a fallback for when its API is missing or refused, and selecting an
//! element's text for the user to copy by hand.
//!
//! Hand-written rather than `leptos-use`'s `use_clipboard`: that one only calls
//! `navigator.clipboard`, which pages served over plain http (a playground on a LAN host) do not
//! have; the fallback here copies through a hidden textarea and `execCommand("copy")`. A few
//! lines of JavaScript keep the `web_sys` feature list (and the wasm) as it is.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
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
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn copy_text(text: &str) -> Result<JsValue, JsValue>;
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

/// Focuses and selects the text of an input, for the user to copy by hand.
pub fn select_input(input: NodeRef<leptos::html::Input>) {
    if let Some(input) = input.get_untracked() {
        let _ = input.focus();
        input.select();
    }
}

/// Selects the text of any element (a `<pre>`), for the user to copy by hand.
pub fn select_contents(element: &web_sys::Element) {
    let Some(document) = element.owner_document() else {
        return;
    };
    let (Ok(range), Some(selection)) = (
        document.create_range(),
        document.get_selection().ok().flatten(),
    ) else {
        return;
    };
    if range.select_node_contents(element).is_ok() {
        let _ = selection.remove_all_ranges();
        let _ = selection.add_range(&range);
    }
}
