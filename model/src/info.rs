//! What a plugin is, as `inspect` found it before anything ran: the data the import report,
//! the CLI and the report show. (The inspection itself, which parses WebAssembly, is the host's.)

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::abi::AbiVersion;
use crate::names::names;

/// Static facts about a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Size in bytes.
    pub size: usize,
    /// Lower-case hex sha256.
    pub sha256: String,
    /// ABI from the first marker export; `None` when there is none.
    pub abi: Option<AbiVersion>,
    /// The marker export's name.
    pub abi_marker: Option<String>,
    /// The toolchain, as far as it can be told.
    pub toolchain: String,
    /// Why we think so.
    pub toolchain_evidence: String,
    /// The allocator the host calls to hand the plugin data; `None` when there is none.
    pub allocator: Option<Allocator>,
    /// The start functions Envoy runs; `None` when there are none.
    pub start: Option<StartFunctions>,
    /// Every import.
    pub imports: Vec<ImportInfo>,
    /// Exported `proxy_on_*` callbacks (and start functions).
    pub callbacks: Vec<String>,
    /// Initial memory pages.
    pub memory_pages: u64,
    /// Functions in the module (imports excluded).
    pub functions: usize,
    /// Things the author should know.
    pub warnings: Vec<String>,
    /// Would upstream Envoy (and Istio) load this module?
    pub envoy_would_load: bool,
    /// Would Higress's Envoy load it?
    pub higress_would_load: bool,
    /// Why upstream Envoy would refuse it (each a reason Envoy gives, and what to do).
    pub load_problems: Vec<String>,
    /// Those of [`PluginInfo::load_problems`] for which Higress would refuse it too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub higress_load_problems: Vec<String>,
    /// Why the plugin looks built for Higress (its ABI marker, a Higress Go module path in its
    /// code, Higress-only imports); `profile: auto` then runs it under Higress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub higress_evidence: Option<String>,
}

/// Lower-case hex sha256 of `bytes` (what [`PluginInfo::sha256`] holds).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `digest` in lower-case hex, as [`sha256_hex`] writes it (for a digest the browser made).
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

names! {
    /// The export the host calls to allocate guest memory, by its name.
    pub enum Allocator {
        /// `malloc`, preferred when both are exported.
        Malloc => "malloc",
        /// `proxy_on_memory_allocate`
        ProxyOnMemoryAllocate => "proxy_on_memory_allocate",
    }
}

names! {
    /// The start functions Envoy runs before the root context, as the report names them.
    pub enum StartFunctions {
        /// A reactor: `_initialize`.
        Initialize => "_initialize",
        /// A reactor with a `main` (Go's wasip1 reactors, TinyGo).
        InitializeMain => "_initialize + main",
        /// A reactor with `__main_void` (wasi-libc).
        InitializeMainVoid => "_initialize + __main_void",
        /// A command: `_start`.
        Start => "_start",
    }
}

/// One import and what the host does with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportInfo {
    /// Module (`env`, `wasi_snapshot_preview1`, ...).
    pub module: String,
    /// Name.
    pub name: String,
    /// `func (i32 i32) -> i32`, `memory`, ...
    pub signature: String,
    /// What the host does with it.
    pub status: ImportStatus,
    /// Why it is stubbed, or what Envoy thinks of it.
    pub note: Option<String>,
}

/// What the host does with an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// A real body (or, for memories and other non-functions, nothing to do).
    Implemented,
    /// A known name with another type: a stub that answers `Unimplemented`.
    Stubbed,
    /// A name the host does not know: a stub that answers `Unimplemented`.
    Unknown,
}

impl ImportStatus {
    /// `implemented`, `stubbed` or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            ImportStatus::Implemented => "implemented",
            ImportStatus::Stubbed => "stubbed",
            ImportStatus::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ImportStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why bytes are not a usable plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum LoadError {
    /// Not WebAssembly at all.
    #[error("not a WebAssembly module: {0}")]
    NotWasm(String),
    /// WebAssembly, but broken or using something the interpreter lacks.
    #[error("invalid WebAssembly: {0}")]
    Invalid(String),
    /// A WebAssembly module for another ABI.
    #[error("not a proxy-wasm plugin: {0}")]
    NotProxyWasm(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocators_and_start_functions_serialize_as_the_report_names_them() {
        for a in Allocator::ALL {
            let json = serde_json::to_string(a).unwrap();
            assert_eq!(json, format!("\"{a}\""));
            assert_eq!(serde_json::from_str::<Allocator>(&json).unwrap(), *a);
        }
        for s in StartFunctions::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<StartFunctions>(&json).unwrap(), *s);
        }
        assert_eq!(
            serde_json::to_string(&StartFunctions::InitializeMain).unwrap(),
            "\"_initialize + main\""
        );
    }
}
