//! What a `.wasm` file is, before anything runs: its ABI, the toolchain that built it, its
//! allocator and start function, every import with what the host does with it, and whether
//! upstream Envoy would load it.

use wasmi::ValType as WasmType;
use wasmparser::{ExternalKind, KnownCustom, Parser, Payload, TypeRef, ValType};

use crate::abi::AbiVersion;
use crate::hostcalls;
use crate::info::{
    Allocator, ImportInfo, ImportStatus, LoadError, PluginInfo, StartFunctions, sha256_hex,
};
use WasmType::I32;

/// A function type from the type section, in the host's value types.
#[derive(Clone)]
struct FnType {
    params: Vec<WasmType>,
    results: Vec<WasmType>,
}

impl FnType {
    fn new(params: &[ValType], results: &[ValType]) -> FnType {
        let convert = |ts: &[ValType]| ts.iter().map(|t| wasm_type(*t)).collect();
        FnType {
            params: convert(params),
            results: convert(results),
        }
    }

    fn is(&self, params: &[WasmType], results: &[WasmType]) -> bool {
        self.params == params && self.results == results
    }

    fn signature(&self) -> String {
        hostcalls::signature(&self.params, &self.results)
    }
}

fn wasm_type(t: ValType) -> WasmType {
    match t {
        ValType::I32 => I32,
        ValType::I64 => WasmType::I64,
        ValType::F32 => WasmType::F32,
        ValType::F64 => WasmType::F64,
        ValType::V128 => WasmType::V128,
        ValType::Ref(r) if r.is_func_ref() => WasmType::FuncRef,
        ValType::Ref(_) => WasmType::ExternRef,
    }
}

fn not_wasm_hint(bytes: &[u8]) -> String {
    let start = &bytes[..bytes.len().min(8)];
    if bytes.is_empty() {
        "the file is empty".into()
    } else if start.starts_with(&[0x1f, 0x8b]) {
        "it is gzip-compressed (an OCI layer? extract plugin.wasm from it first)".into()
    } else if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        "it is a tar archive (an OCI layer? extract plugin.wasm from it first)".into()
    } else if start.starts_with(b"(module") || start.starts_with(b"(;") {
        "it is WebAssembly text (.wat); compile it to .wasm first".into()
    } else if start.starts_with(b"\x7fELF") || start.starts_with(b"MZ") {
        "it is a native executable; build with GOOS=wasip1 GOARCH=wasm or --target wasm32-wasip1"
            .into()
    } else if start.starts_with(b"<") || start.starts_with(b"{") {
        "it is a text document (an HTML error page or JSON?)".into()
    } else {
        "it does not start with the \\0asm magic bytes".into()
    }
}

/// Inspects `bytes` without running anything.
///
/// # Errors
///
/// [`LoadError`] when the bytes are not a WebAssembly module, are malformed, or are a module
/// for another ABI (http-wasm, a plain WASI program).
pub fn inspect(bytes: &[u8]) -> Result<PluginInfo, LoadError> {
    inspect_hashed(bytes, None)
}

/// [`inspect`], with the sha256 already known (lower-case hex): the browser app hashes with
/// WebCrypto, which is several times faster than hashing inside the interpreter's wasm.
///
/// # Errors
///
/// As [`inspect`].
pub fn inspect_hashed(bytes: &[u8], sha256: Option<String>) -> Result<PluginInfo, LoadError> {
    let module = Parsed::parse(bytes)?;
    let (abi, abi_marker) = module.abi()?;
    let (toolchain, toolchain_evidence) = toolchain(
        &module.producers,
        &module.custom_names,
        &module.fn_names_hint,
        &module.imports,
        &module.func_exports,
    );
    let higress_evidence = higress_evidence(bytes, abi, &module.imports);
    let allocator = module.allocator();
    let start = module.start();
    let imports = classify_imports(&module.imports, abi);
    let verdict = load_verdict(&module, abi, allocator.is_some(), &imports);
    let callbacks = module.callbacks();

    let mut warnings = Vec::new();
    if start.is_none() {
        warnings.push(
            "no _initialize or _start export: the runtime's initialisation never runs".into(),
        );
    }
    if !callbacks
        .iter()
        .any(|c| c.starts_with("proxy_on_request") || c.starts_with("proxy_on_response"))
    {
        warnings.push("no HTTP callbacks (proxy_on_request_*/proxy_on_response_*): the plugin will not see requests".into());
    }

    Ok(PluginInfo {
        size: bytes.len(),
        sha256: sha256.unwrap_or_else(|| sha256_hex(bytes)),
        abi: Some(abi),
        abi_marker: Some(abi_marker),
        toolchain,
        toolchain_evidence,
        allocator,
        start,
        imports: imports.into_iter().map(|i| i.info).collect(),
        callbacks,
        memory_pages: module.memory_pages,
        functions: module.defined_funcs,
        warnings,
        envoy_would_load: verdict.envoy,
        higress_would_load: verdict.higress,
        load_problems: verdict.problems,
        higress_load_problems: verdict.higress_problems,
        higress_evidence,
    })
}

/// Go module paths that only Higress plugins link: the wasm-go wrapper (old and new homes)
/// and Higress's proxy-wasm-go-sdk fork. Go's gc and TinyGo both keep package paths in the
/// binary (function names, type names, panic messages).
const HIGRESS_MODULES: [&str; 3] = [
    "github.com/alibaba/higress/plugins/wasm-go",
    "github.com/higress-group/wasm-go",
    "github.com/higress-group/proxy-wasm-go-sdk",
];

/// Why the module looks built for Higress, or `None`: its ABI marker, a Higress module path
/// in its bytes, or imports of host functions only Higress's Envoy registers.
fn higress_evidence(bytes: &[u8], abi: AbiVersion, imports: &[RawImport]) -> Option<String> {
    let mut why = Vec::new();
    if abi == AbiVersion::V0_2_100 {
        why.push("the ABI 0.2.100 marker Higress's Go SDK exports".to_string());
    }
    // Every path names Higress: one scan for that word passes over a module without it
    // (most of them: megabytes); the paths are looked for only from where it first is.
    let from = memchr::memmem::find(bytes, b"higress")
        .map(|at| at.saturating_sub(HIGRESS_MODULES.iter().map(|p| p.len()).max().unwrap_or(0)));
    if let Some(path) = from.and_then(|from| {
        HIGRESS_MODULES
            .iter()
            .find(|p| memchr::memmem::find(&bytes[from..], p.as_bytes()).is_some())
    }) {
        why.push(format!("the Go module path {path} in its code"));
    }
    let higress_only: Vec<&str> = imports
        .iter()
        .filter(|(m, n, ..)| {
            hostcalls::lookup(m, n).is_some_and(|s| s.avail == hostcalls::Avail::Higress)
        })
        .map(|(_, n, ..)| n.as_str())
        .collect();
    if !higress_only.is_empty() {
        why.push(format!(
            "imports only Higress's Envoy provides ({})",
            higress_only.join(", ")
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// What the module's sections say, before any judgement.
struct Parsed {
    imports: Vec<RawImport>,
    /// Exported functions in export-section order, with their types.
    func_exports: Vec<(String, Option<FnType>)>,
    producers: Vec<(String, String)>,
    custom_names: Vec<String>,
    /// Function names that give the toolchain away, one per line.
    fn_names_hint: String,
    memory_pages: u64,
    defined_funcs: usize,
}

impl Parsed {
    /// Reads every section of a core WebAssembly module (without validating it).
    fn parse(bytes: &[u8]) -> Result<Parsed, LoadError> {
        if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
            return Err(LoadError::NotWasm(not_wasm_hint(bytes)));
        }
        if bytes[4..8] != [1, 0, 0, 0] {
            return Err(LoadError::NotWasm(
                "it is a WebAssembly component (component model), not a core module; proxy-wasm plugins are core modules".into(),
            ));
        }
        let mut types: Vec<FnType> = Vec::new();
        let mut func_types: Vec<u32> = Vec::new();
        let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();
        let mut imported_funcs = 0u32;
        let mut module = Parsed {
            imports: Vec::new(),
            func_exports: Vec::new(),
            producers: Vec::new(),
            custom_names: Vec::new(),
            fn_names_hint: String::new(),
            memory_pages: 0,
            defined_funcs: 0,
        };
        let err = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(err)? {
                Payload::TypeSection(r) => {
                    for t in r.into_iter_err_on_gc_types() {
                        let t = t.map_err(err)?;
                        types.push(FnType::new(t.params(), t.results()));
                    }
                }
                Payload::ImportSection(r) => {
                    for i in r {
                        let i = i.map_err(err)?;
                        let (ty, kind) = match i.ty {
                            TypeRef::Func(idx) => {
                                imported_funcs += 1;
                                (types.get(idx as usize).cloned(), "func")
                            }
                            TypeRef::Memory(m) => {
                                module.memory_pages = m.initial;
                                (None, "memory")
                            }
                            TypeRef::Global(_) => (None, "global"),
                            TypeRef::Table(_) => (None, "table"),
                            TypeRef::Tag(_) => (None, "tag"),
                        };
                        module
                            .imports
                            .push((i.module.to_string(), i.name.to_string(), ty, kind));
                    }
                }
                Payload::FunctionSection(r) => {
                    for f in r {
                        func_types.push(f.map_err(err)?);
                    }
                    module.defined_funcs = func_types.len();
                }
                Payload::MemorySection(r) => {
                    if let Some(m) = r.into_iter().next() {
                        module.memory_pages = m.map_err(err)?.initial;
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e.map_err(err)?;
                        exports.push((e.name.to_string(), e.kind, e.index));
                    }
                }
                Payload::CustomSection(c) => module.read_custom(&c),
                _ => {}
            }
        }
        let export_type = |index: u32| -> Option<FnType> {
            let defined = index.checked_sub(imported_funcs)?;
            types
                .get(*func_types.get(defined as usize)? as usize)
                .cloned()
        };
        module.func_exports = exports
            .into_iter()
            .filter(|(_, k, _)| *k == ExternalKind::Func)
            .map(|(n, _, i)| (n, export_type(i)))
            .collect();
        Ok(module)
    }

    /// Collects a custom section's name, its producers and toolchain-revealing function names.
    fn read_custom(&mut self, c: &wasmparser::CustomSectionReader<'_>) {
        self.custom_names.push(c.name().to_string());
        match c.as_known() {
            KnownCustom::Producers(p) => {
                for field in p.into_iter().flatten() {
                    for v in field.values.into_iter().flatten() {
                        self.producers
                            .push((field.name.to_string(), v.name.to_string()));
                    }
                }
            }
            KnownCustom::Name(n) => {
                for sub in n.into_iter().flatten() {
                    if let wasmparser::Name::Function(map) = sub {
                        for naming in map.into_iter().flatten().take(50_000) {
                            let name = naming.name;
                            if name.contains("_rt0_wasm_wasip1")
                                || is_tinygo_runtime_name(name)
                                || name.contains("emscripten")
                                || name.starts_with("~lib/")
                            {
                                self.fn_names_hint.push_str(name);
                                self.fn_names_hint.push('\n');
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn has(&self, name: &str) -> bool {
        self.func_exports.iter().any(|(n, _)| n == name)
    }

    /// The ABI and its marker export: the first marker in export-section order decides
    /// (cpp-host bytecode_util). Without one, says what the module is instead.
    fn abi(&self) -> Result<(AbiVersion, String), LoadError> {
        let marker = self
            .func_exports
            .iter()
            .find_map(|(n, _)| AbiVersion::from_marker(n).map(|abi| (abi, n.clone())));
        if let Some(found) = marker {
            return Ok(found);
        }
        let http_wasm =
            self.imports.iter().any(|(m, ..)| m == "http_handler") || self.has("handle_request");
        if http_wasm {
            return Err(LoadError::NotProxyWasm(
                "it is an http-wasm handler (imports http_handler, exports handle_request); Envoy and Higress run proxy-wasm plugins, which export proxy_abi_version_0_2_x".into(),
            ));
        }
        let proxy_imports = self
            .imports
            .iter()
            .any(|(m, n, ..)| m == "env" && n.starts_with("proxy_"));
        let proxy_exports = self
            .func_exports
            .iter()
            .any(|(n, _)| n.starts_with("proxy_on_"));
        // Every `proxy_abi_version_*` export is unknown here.
        let unknown_marker = self
            .func_exports
            .iter()
            .find(|(n, _)| n.starts_with("proxy_abi_version_"));
        if let Some((m, _)) = unknown_marker {
            return Err(LoadError::NotProxyWasm(format!(
                "it exports the unknown ABI marker {m}; Envoy accepts proxy_abi_version_0_1_0, 0_2_0 and 0_2_1 (Higress also 0_2_100)"
            )));
        }
        if !proxy_imports && !proxy_exports {
            return Err(LoadError::NotProxyWasm(
                "it has no proxy_abi_version_* export and no proxy_on_* callbacks: it looks like a plain WebAssembly program. Build it with a proxy-wasm SDK (Go: proxy-wasm-go-sdk, Rust: proxy-wasm crate)".into(),
            ));
        }
        Err(LoadError::NotProxyWasm(
            "it has proxy-wasm callbacks but no proxy_abi_version_* marker export; Envoy refuses it with \"Missing or unknown Proxy-Wasm ABI version\"".into(),
        ))
    }

    /// `malloc`, else `proxy_on_memory_allocate`, if exported as `(i32) -> i32`.
    fn allocator(&self) -> Option<Allocator> {
        Allocator::ALL.iter().copied().find(|a| {
            self.func_exports
                .iter()
                .any(|(e, t)| *e == a.name() && t.as_ref().is_some_and(|t| t.is(&[I32], &[I32])))
        })
    }

    /// The start functions the host will run.
    fn start(&self) -> Option<StartFunctions> {
        if self.has("_initialize") {
            Some(if self.has("main") {
                StartFunctions::InitializeMain
            } else if self.has("__main_void") {
                StartFunctions::InitializeMainVoid
            } else {
                StartFunctions::Initialize
            })
        } else if self.has("_start") {
            Some(StartFunctions::Start)
        } else {
            None
        }
    }

    /// Exported `proxy_on_*` callbacks and start functions, sorted.
    fn callbacks(&self) -> Vec<String> {
        let mut callbacks: Vec<String> = self
            .func_exports
            .iter()
            .filter(|(n, _)| {
                n.starts_with("proxy_on_")
                    || matches!(n.as_str(), "_initialize" | "_start" | "main")
            })
            .map(|(n, _)| n.clone())
            .collect();
        callbacks.sort();
        callbacks.dedup();
        callbacks
    }
}

/// An import, what the host does with it, and which proxies refuse a module importing it.
struct ClassifiedImport {
    info: ImportInfo,
    envoy_refuses: bool,
    higress_refuses: bool,
}

/// Classifies every import against the host's table and what Envoy registers for `abi`.
fn classify_imports(imports: &[RawImport], abi: AbiVersion) -> Vec<ClassifiedImport> {
    imports
        .iter()
        .map(|(module, name, ty, kind)| {
            let classified = |status: ImportStatus, note: Option<String>, signature, envoy, higress| {
                ClassifiedImport {
                    info: ImportInfo {
                        module: module.clone(),
                        name: name.clone(),
                        signature,
                        status,
                        note,
                    },
                    envoy_refuses: envoy,
                    higress_refuses: higress,
                }
            };
            let ty = match (kind, ty) {
                (&"func", Some(ty)) => ty,
                (&"memory", _) => return classified(ImportStatus::Implemented, None, "memory".into(), false, false),
                (k, _) => {
                    let note = format!("imported {k}s are refused by Envoy");
                    return classified(ImportStatus::Implemented, Some(note), k.to_string(), true, true);
                }
            };
            let signature = ty.signature();
            match hostcalls::lookup(module, name) {
                Some(spec) if ty.is(spec.params(), spec.results()) => {
                    let upstream = hostcalls::envoy_registers(spec, abi, false);
                    let higress = hostcalls::envoy_registers(spec, abi, true);
                    let note = if !upstream && !higress {
                        Some(format!(
                            "Envoy does not provide {name} to ABI {} plugins: it would refuse to load the module",
                            abi.as_str()
                        ))
                    } else if !upstream {
                        Some("Higress only: upstream Envoy would refuse to load the module".to_string())
                    } else {
                        None
                    };
                    let higress_refuses = !upstream && !higress;
                    classified(ImportStatus::Implemented, note, signature, !upstream, higress_refuses)
                }
                Some(spec) => {
                    let note = format!(
                        "type mismatch: the host's {name} is {}; Envoy refuses the module (\"import type mismatch\")",
                        spec.signature()
                    );
                    classified(ImportStatus::Stubbed, Some(note), signature, true, true)
                }
                None => {
                    let note = "not provided by Envoy: the playground stubs it (status 12 when called); Envoy refuses the module (missing import)".to_string();
                    classified(ImportStatus::Unknown, Some(note), signature, true, true)
                }
            }
        })
        .collect()
}

/// Whether upstream Envoy and Higress would load the module, and why not.
struct Verdict {
    envoy: bool,
    higress: bool,
    /// Why Envoy refuses it (every problem found is one Envoy refuses).
    problems: Vec<String>,
    /// Why Higress refuses it.
    higress_problems: Vec<String>,
}

impl Verdict {
    fn refuse(&mut self, envoy: bool, higress: bool, problem: String) {
        self.envoy &= !envoy;
        self.higress &= !higress;
        if higress {
            self.higress_problems.push(problem.clone());
        }
        self.problems.push(problem);
    }
}

/// The load verdict: the ABI, the exports' types (cpp-host looks them up with a fixed type
/// and fails the VM on a mismatch), the allocator and the imports.
fn load_verdict(
    module: &Parsed,
    abi: AbiVersion,
    has_allocator: bool,
    imports: &[ClassifiedImport],
) -> Verdict {
    let mut verdict = Verdict {
        envoy: true,
        higress: true,
        problems: Vec::new(),
        higress_problems: Vec::new(),
    };
    if abi == AbiVersion::V0_2_100 {
        verdict.refuse(
            true,
            false,
            "ABI 0.2.100 is Higress's own: upstream Envoy and Istio refuse it (\"Missing or unknown Proxy-Wasm ABI version\"). Deploy on Higress, or build with the upstream proxy-wasm-go-sdk for Istio.".into(),
        );
    }
    for (name, found) in &module.func_exports {
        let Some(found) = found else {
            continue;
        };
        let Some((want_p, want_r)) = expected_signature(name, abi, |n| module.has(n)) else {
            continue;
        };
        if !found.is(want_p, want_r) {
            verdict.refuse(
                true,
                true,
                format!(
                    "Bad function signature for: {name}: it is {}, Envoy expects {} for ABI {}; Envoy refuses to load the module (the playground calls it with the arguments it declares)",
                    found.signature(),
                    hostcalls::signature(want_p, want_r),
                    abi.as_str()
                ),
            );
        }
    }
    if !has_allocator {
        verdict.refuse(
            true,
            true,
            "no allocator: Envoy needs an exported malloc or proxy_on_memory_allocate (i32) -> i32 (\"Wasm module is missing malloc function\")".into(),
        );
    }
    for import in imports {
        let ImportInfo {
            module,
            name,
            status,
            note,
            ..
        } = &import.info;
        if let Some(n) = note
            && (*status != ImportStatus::Implemented || n.contains("refuse"))
        {
            verdict.refuse(
                import.envoy_refuses,
                import.higress_refuses,
                format!("{module}.{name}: {n}"),
            );
        } else {
            verdict.envoy &= !import.envoy_refuses;
            verdict.higress &= !import.higress_refuses;
        }
    }
    verdict
}

/// The type cpp-host looks export `name` up with (`WasmBase::getFunctions`); `None` for
/// exports it does not look up for this module.
fn expected_signature(
    name: &str,
    abi: AbiVersion,
    has: impl Fn(&str) -> bool,
) -> Option<(&'static [WasmType], &'static [WasmType])> {
    Some(match name {
        "_initialize" => (&[], &[]),
        "_start" if !has("_initialize") => (&[], &[]),
        "main" if has("_initialize") => (&[I32, I32], &[I32]),
        "malloc" => (&[I32], &[I32]),
        "proxy_on_memory_allocate" if !has("malloc") => (&[I32], &[I32]),
        "proxy_on_context_create"
        | "proxy_on_queue_ready"
        | "proxy_on_downstream_connection_close"
        | "proxy_on_upstream_connection_close" => (&[I32, I32], &[]),
        "proxy_on_vm_start"
        | "proxy_validate_configuration"
        | "proxy_on_configure"
        | "proxy_on_request_trailers"
        | "proxy_on_response_trailers"
        | "proxy_on_request_metadata"
        | "proxy_on_response_metadata" => (&[I32, I32], &[I32]),
        "proxy_on_request_headers" | "proxy_on_response_headers" => {
            if abi == AbiVersion::V0_1_0 {
                (&[I32, I32], &[I32])
            } else {
                (&[I32, I32, I32], &[I32])
            }
        }
        "proxy_on_request_body"
        | "proxy_on_response_body"
        | "proxy_on_downstream_data"
        | "proxy_on_upstream_data" => (&[I32, I32, I32], &[I32]),
        "proxy_on_new_connection" | "proxy_on_done" => (&[I32], &[I32]),
        "proxy_on_tick" | "proxy_on_log" | "proxy_on_delete" => (&[I32], &[]),
        "proxy_on_foreign_function" if abi.is_v2() => (&[I32, I32, I32], &[]),
        "proxy_on_grpc_receive_initial_metadata"
        | "proxy_on_grpc_receive"
        | "proxy_on_grpc_receive_trailing_metadata"
        | "proxy_on_grpc_close" => (&[I32, I32, I32], &[]),
        "proxy_on_http_call_response" => (&[I32, I32, I32, I32, I32], &[]),
        _ => return None,
    })
}

type RawImport = (String, String, Option<FnType>, &'static str);

/// The WASI functions TinyGo's runtime (with wasi-libc's allocator) imports; a C/C++ command
/// built with wasi-libc's stdio also imports file functions such as `fd_close` or `fd_seek`.
const TINYGO_WASI: [&str; 8] = [
    "fd_write",
    "args_sizes_get",
    "args_get",
    "clock_time_get",
    "environ_get",
    "environ_sizes_get",
    "proc_exit",
    "random_get",
];

/// Function names only TinyGo's runtime defines (Go's gc names its runtime differently).
fn is_tinygo_runtime_name(name: &str) -> bool {
    name.starts_with("tinygo_")
        || matches!(
            name,
            "runtime.alloc"
                | "runtime.runtimePanic"
                | "runtime._panic"
                | "runtime.nilPanic"
                | "runtime.lookupPanic"
                | "internal/task.start"
                | "(*internal/task.Task).Resume"
        )
        || name.starts_with("github.com/wasilibs/nottinygc.")
}

fn toolchain(
    producers: &[(String, String)],
    custom_names: &[String],
    fn_names: &str,
    imports: &[RawImport],
    exports: &[(String, Option<FnType>)],
) -> (String, String) {
    let produced = |field: &str, value: &str| {
        producers
            .iter()
            .any(|(f, v)| f == field && v.to_lowercase().contains(&value.to_lowercase()))
    };
    let has_export = |n: &str| exports.iter().any(|(e, _)| *e == n);
    let has_import = |n: &str| imports.iter().any(|(_, i, ..)| i == n);
    if custom_names
        .iter()
        .any(|c| c == "go:buildid" || c == "go.buildid")
        || fn_names.contains("_rt0_wasm_wasip1")
    {
        return (
            "Go (gc, GOOS=wasip1)".into(),
            "Go build id / Go runtime entry point".into(),
        );
    }
    if produced("processed-by", "tinygo") || produced("language", "tinygo") {
        return ("TinyGo".into(), "producers section: TinyGo".into());
    }
    if fn_names.lines().any(is_tinygo_runtime_name) {
        return (
            "TinyGo".into(),
            "TinyGo runtime functions in the name section".into(),
        );
    }
    if produced("language", "rust") || produced("processed-by", "rustc") {
        return ("Rust".into(), "producers section: rustc".into());
    }
    if has_import("emscripten_notify_memory_growth") || fn_names.contains("emscripten") {
        return ("C++ (Emscripten)".into(), "Emscripten imports".into());
    }
    if has_export("__new") || has_export("__pin") || fn_names.contains("~lib/") {
        return (
            "AssemblyScript".into(),
            "AssemblyScript runtime exports".into(),
        );
    }
    // TinyGo links wasi-libc, so its producers section says clang: its shape decides first.
    if has_export("_start") && has_export("malloc") && has_export("proxy_on_memory_allocate") {
        return (
            "TinyGo".into(),
            "a WASI command exporting TinyGo's malloc and the Go SDK's proxy_on_memory_allocate"
                .into(),
        );
    }
    let wasi: Vec<&str> = imports
        .iter()
        .filter(|(m, ..)| m == "wasi_snapshot_preview1" || m == "wasi_unstable")
        .map(|(_, n, ..)| n.as_str())
        .collect();
    if has_export("_start")
        && has_export("malloc")
        && wasi.contains(&"args_sizes_get")
        && wasi.iter().all(|n| TINYGO_WASI.contains(n))
    {
        return (
            "TinyGo".into(),
            "a WASI command exporting malloc, with only TinyGo runtime's WASI imports".into(),
        );
    }
    if produced("language", "c++") || produced("processed-by", "clang") {
        return ("C/C++ (clang)".into(), "producers section: clang".into());
    }
    if has_export("_start") && has_export("malloc") {
        return (
            "TinyGo (probably)".into(),
            "a WASI command exporting malloc".into(),
        );
    }
    (
        "unknown".into(),
        "no producers section or runtime markers".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_archives_are_named_not_just_refused() {
        assert!(matches!(inspect(b""), Err(LoadError::NotWasm(m)) if m.contains("empty")));
        assert!(matches!(inspect(b"(module)"), Err(LoadError::NotWasm(m)) if m.contains(".wat")));
        assert!(
            matches!(inspect(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0]), Err(LoadError::NotWasm(m)) if m.contains("gzip"))
        );
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0];
        assert!(
            matches!(inspect(&component), Err(LoadError::NotWasm(m)) if m.contains("component"))
        );
    }

    #[test]
    fn http_wasm_and_plain_programs_are_not_proxy_wasm() {
        let http_wasm = wat::parse_str(
            r#"(module (import "http_handler" "log" (func (param i32 i32 i32)))
                (memory (export "memory") 1)
                (func (export "handle_request") (result i64) i64.const 0))"#,
        )
        .unwrap();
        let e = inspect(&http_wasm).unwrap_err().to_string();
        assert!(e.contains("http-wasm"), "{e}");
        let plain = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
        let e = inspect(&plain).unwrap_err().to_string();
        assert!(e.contains("plain WebAssembly program"), "{e}");
    }

    #[test]
    fn a_higress_marker_is_accepted_with_a_warning_for_istio() {
        let m = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                (func (export "proxy_abi_version_0_2_100"))
                (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 8)
                (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        let info = inspect(&m).unwrap();
        assert_eq!(info.abi, Some(AbiVersion::V0_2_100));
        assert!(!info.envoy_would_load);
        assert!(info.higress_would_load);
        assert!(info.load_problems[0].contains("Istio"));
        assert_eq!(info.allocator, Some(Allocator::ProxyOnMemoryAllocate));
    }

    #[test]
    fn imports_are_classified_against_the_abi() {
        let m = wat::parse_str(
            r#"(module
                (import "env" "proxy_get_log_level" (func (param i32) (result i32)))
                (import "env" "proxy_log" (func (param i32 i32) (result i32)))
                (import "env" "made_up" (func))
                (memory (export "memory") 1)
                (func (export "proxy_abi_version_0_2_0"))
                (func (export "malloc") (param i32) (result i32) i32.const 8))"#,
        )
        .unwrap();
        let info = inspect(&m).unwrap();
        let by = |n: &str| info.imports.iter().find(|i| i.name == n).unwrap().clone();
        assert_eq!(by("proxy_get_log_level").status, ImportStatus::Implemented);
        assert!(by("proxy_get_log_level").note.unwrap().contains("refuse"));
        assert_eq!(by("proxy_log").status, ImportStatus::Stubbed);
        assert_eq!(by("made_up").status, ImportStatus::Unknown);
        assert!(!info.envoy_would_load);
    }
}
