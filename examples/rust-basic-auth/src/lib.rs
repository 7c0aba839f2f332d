//! rust-basic-auth: HTTP Basic authentication and API keys, checked against the
//! plugin configuration.
//!
//! ```json
//! {
//!   "realm": "playground",
//!   "users": {"alice": "s3cret"},
//!   "api_keys": {"k-123": "ci-bot"},
//!   "hide_credentials": true
//! }
//! ```
//!
//! A request passes with `authorization: Basic base64(user:password)` of a
//! configured user, or with an `x-api-key` header naming a configured key.
//! Anything else gets a local `401` with `www-authenticate`. On success the
//! user name is sent upstream and back to the client in `x-auth-user`.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use log::{info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(AuthRoot::default()) });
}}

/// The header that carries the authenticated user upstream and downstream.
const USER_HEADER: &str = "x-auth-user";

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// The realm announced in `www-authenticate`.
    realm: String,
    /// User name → password for Basic auth.
    users: BTreeMap<String, String>,
    /// API key → the user name it stands for.
    api_keys: BTreeMap<String, String>,
    /// Remove `authorization` / `x-api-key` before the request goes upstream.
    hide_credentials: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            realm: "proxy-wasm".into(),
            users: BTreeMap::new(),
            api_keys: BTreeMap::new(),
            hide_credentials: false,
        }
    }
}

#[derive(Default)]
struct AuthRoot {
    config: Rc<Config>,
}

impl Context for AuthRoot {}

impl RootContext for AuthRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let Some(bytes) = self.get_plugin_configuration() else {
            warn!("no configuration: every request will be rejected");
            return true;
        };
        match serde_json::from_slice::<Config>(&bytes) {
            Ok(config) => {
                info!(
                    "rust-basic-auth ready: {} users, {} API keys, realm {:?}",
                    config.users.len(),
                    config.api_keys.len(),
                    config.realm
                );
                self.config = Rc::new(config);
                true
            }
            Err(e) => {
                log::error!("invalid configuration: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AuthFilter {
            config: Rc::clone(&self.config),
            user: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct AuthFilter {
    config: Rc<Config>,
    /// Set once the request has been authenticated.
    user: Option<String>,
}

/// Why a request was refused; only ever logged, never sent to the client.
enum Refusal {
    Missing,
    Malformed,
    UnknownKey,
    BadPassword(String),
}

impl AuthFilter {
    fn authenticate(&self) -> Result<(String, &'static str), Refusal> {
        if let Some(key) = self.get_http_request_header("x-api-key") {
            return self
                .config
                .api_keys
                .iter()
                .find(|(k, _)| constant_time_eq(k.as_bytes(), key.as_bytes()))
                .map(|(_, user)| (user.clone(), "api key"))
                .ok_or(Refusal::UnknownKey);
        }
        let header = self
            .get_http_request_header("authorization")
            .ok_or(Refusal::Missing)?;
        let (scheme, encoded) = header.trim().split_once(' ').ok_or(Refusal::Malformed)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(Refusal::Malformed);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| Refusal::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| Refusal::Malformed)?;
        let (user, password) = decoded.split_once(':').ok_or(Refusal::Malformed)?;
        match self.config.users.get(user) {
            Some(expected) if constant_time_eq(expected.as_bytes(), password.as_bytes()) => {
                Ok((user.to_string(), "basic auth"))
            }
            _ => Err(Refusal::BadPassword(user.to_string())),
        }
    }
}

impl Context for AuthFilter {}

impl HttpContext for AuthFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match self.authenticate() {
            Ok((user, method)) => {
                info!("authenticated {user} with {method}");
                if self.config.hide_credentials {
                    self.remove_http_request_header("authorization");
                    self.remove_http_request_header("x-api-key");
                }
                // Never trust a client-supplied user header.
                self.set_http_request_header(USER_HEADER, Some(&user));
                self.user = Some(user);
                Action::Continue
            }
            Err(refusal) => {
                let why = match refusal {
                    Refusal::Missing => "no credentials".to_string(),
                    Refusal::Malformed => "malformed authorization header".to_string(),
                    Refusal::UnknownKey => "unknown API key".to_string(),
                    Refusal::BadPassword(user) => format!("wrong user or password for {user:?}"),
                };
                info!("rejected: {why}");
                let challenge = format!("Basic realm=\"{}\"", self.config.realm);
                self.send_http_response(
                    401,
                    vec![
                        ("www-authenticate", challenge.as_str()),
                        ("content-type", "text/plain; charset=utf-8"),
                    ],
                    Some(b"unauthorized\n"),
                );
                Action::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // `user` is None for our own 401, which also passes through here.
        if let Some(user) = &self.user {
            self.set_http_response_header(USER_HEADER, Some(user));
        }
        Action::Continue
    }
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
