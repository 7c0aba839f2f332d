//! rust-body-transform: find-and-replace on response bodies as they stream,
//! one chunk at a time, without buffering the whole body.
//!
//! ```json
//! {"find": "world", "replace": "wasm", "content_types": ["text/"]}
//! ```
//!
//! Each response DATA chunk is rewritten in place with
//! `set_http_response_body` and released at once (`Action::Continue`). So that
//! a match split across two chunks is still found, a chunk's tail that is the
//! start of `find` (at most `find.len() - 1` bytes) is held back and put in
//! front of the next chunk; the final chunk releases everything. That tail is
//! the only state kept between chunks.
//!
//! The body length changes, so `content-length` is removed in
//! `on_http_response_headers` (the only time response headers are writable
//! here) and the client receives the body chunked.

use std::rc::Rc;

use log::{debug, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(TransformRoot::default()) });
}}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// The bytes to look for; must not be empty.
    find: String,
    /// What to put in their place.
    replace: String,
    /// Transform only responses whose content-type starts with one of these.
    content_types: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            find: String::new(),
            replace: String::new(),
            content_types: vec!["text/".into()],
        }
    }
}

#[derive(Default)]
struct TransformRoot {
    config: Option<Rc<Config>>,
}

impl Context for TransformRoot {}

impl RootContext for TransformRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let config: Config = match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                log::error!("invalid configuration: {e}");
                return false;
            }
        };
        if config.find.is_empty() {
            log::error!("invalid configuration: \"find\" must not be empty");
            return false;
        }
        info!(
            "rust-body-transform ready: {:?} -> {:?} in {:?}",
            config.find, config.replace, config.content_types
        );
        self.config = Some(Rc::new(config));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = Rc::clone(self.config.as_ref()?);
        Some(Box::new(Transform {
            config,
            replacer: None,
            chunks: 0,
            replaced: 0,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Transform {
    config: Rc<Config>,
    /// Set while this response is being transformed.
    replacer: Option<StreamReplacer>,
    chunks: usize,
    replaced: usize,
}

impl Context for Transform {}

impl HttpContext for Transform {
    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if end_of_stream {
            return Action::Continue; // no body
        }
        let content_type = self
            .get_http_response_header("content-type")
            .unwrap_or_default();
        let content_type = content_type.to_ascii_lowercase();
        if self
            .config
            .content_types
            .iter()
            .any(|p| content_type.starts_with(p.as_str()))
        {
            // The body length will change: let the client read it chunked.
            self.set_http_response_header("content-length", None);
            self.replacer = Some(StreamReplacer::new(&self.config.find, &self.config.replace));
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.replacer.is_none() {
            return Action::Continue;
        }
        let chunk = self
            .get_http_response_body(0, body_size)
            .unwrap_or_default();
        let replacer = self.replacer.as_mut().expect("checked above");
        let (out, n) = replacer.feed(&chunk, end_of_stream);
        self.chunks += 1;
        self.replaced += n;
        debug!(
            "chunk {}: {} bytes in, {} bytes out, {} replaced, {} held back",
            self.chunks,
            chunk.len(),
            out.len(),
            n,
            replacer.held_back()
        );
        // Replace this chunk (and only this chunk) and let it go.
        self.set_http_response_body(0, body_size, &out);
        if end_of_stream {
            info!(
                "response body done: {} replacements in {} chunks",
                self.replaced, self.chunks
            );
        }
        Action::Continue
    }
}

/// Streaming find-and-replace with a bounded look-behind.
struct StreamReplacer {
    find: Vec<u8>,
    replace: Vec<u8>,
    /// Bytes held back from the previous chunk: a possible partial match.
    carry: Vec<u8>,
}

impl StreamReplacer {
    fn new(find: &str, replace: &str) -> Self {
        assert!(!find.is_empty(), "find must not be empty");
        StreamReplacer {
            find: find.into(),
            replace: replace.into(),
            carry: Vec::new(),
        }
    }

    /// Rewrites one chunk. Returns the bytes to send now and the number of
    /// replacements. Unless `last`, a tail of the chunk that is the start of
    /// `find` (at most `find.len() - 1` bytes) is kept for the next call.
    fn feed(&mut self, chunk: &[u8], last: bool) -> (Vec<u8>, usize) {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(data.len());
        let mut count = 0;
        let mut start = 0;
        while let Some(pos) = find_bytes(&data[start..], &self.find) {
            out.extend_from_slice(&data[start..start + pos]);
            out.extend_from_slice(&self.replace);
            start += pos + self.find.len();
            count += 1;
        }
        let rest = &data[start..];
        let keep = if last {
            0
        } else {
            partial_match_len(rest, &self.find)
        };
        out.extend_from_slice(&rest[..rest.len() - keep]);
        self.carry = rest[rest.len() - keep..].to_vec();
        (out, count)
    }

    fn held_back(&self) -> usize {
        self.carry.len()
    }
}

/// The length of the longest suffix of `data` that is a proper prefix of `find`.
fn partial_match_len(data: &[u8], find: &[u8]) -> usize {
    (1..find.len())
        .rev()
        .find(|&k| data.ends_with(&find[..k]))
        .unwrap_or(0)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::StreamReplacer;

    fn stream(chunks: &[&str], find: &str, replace: &str) -> Vec<String> {
        let mut r = StreamReplacer::new(find, replace);
        let n = chunks.len();
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| String::from_utf8(r.feed(c.as_bytes(), i + 1 == n).0).unwrap())
            .collect()
    }

    #[test]
    fn a_match_split_across_chunks_is_replaced() {
        let out = stream(&["hello wor", "ld, hello world\n"], "world", "wasm");
        assert_eq!(out, vec!["hello ", "wasm, hello wasm\n"]);
    }

    #[test]
    fn only_a_possible_partial_match_is_held_back() {
        assert_eq!(
            stream(&["abcdefgh", "ijk"], "xyz", "!"),
            vec!["abcdefgh", "ijk"]
        );
        assert_eq!(stream(&["say wo", "w"], "world", "!"), vec!["say ", "wow"]);
    }

    #[test]
    fn the_last_chunk_releases_everything() {
        assert_eq!(stream(&["ab", "c"], "abcd", "X"), vec!["", "abc"]);
    }
}
