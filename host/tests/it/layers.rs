//! The host's modules form layers: no top-level module of `host/src` reaches, through its
//! `crate::` paths, a module that reaches it back. A cycle is how types end up in the wrong
//! place (a state type that needs the VM, a linker that needs the inspector), so one fails
//! here with the modules that form it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules its code names with `crate::`.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments, doc comments, block comments).
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if rest.starts_with("//") {
            rest = rest.find('\n').map_or("", |n| &rest[n..]);
        } else if rest.starts_with("/*") {
            rest = rest.find("*/").map_or("", |n| &rest[n + 2..]);
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first path segment of every `crate::` path in `code`, including each item of a
/// `crate::{a, b::c}` group.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in macros, `my_crate::`
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.push(ident(group[start..i].trim()).to_string());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(ident(group[start..i].trim()).to_string());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(ident(rest).to_string());
        }
    }
    found
}

/// The import graph of the top-level modules of `src` (`lib.rs`, the facade, left out).
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let module_of = |file: &Path| -> String {
        let rel = file.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("a component");
        let name = first.as_os_str().to_string_lossy();
        name.strip_suffix(".rs").unwrap_or(&name).to_string()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m != "lib")
        .collect();
    let mut g = Graph::new();
    for file in &files {
        let from = module_of(file);
        if from == "lib" {
            continue;
        }
        let code = without_comments(&std::fs::read_to_string(file).expect("readable"));
        let edges = g.entry(from.clone()).or_default();
        for to in crate_paths(&code) {
            if to != from && modules.contains(&to) {
                edges.insert(to);
            }
        }
    }
    g
}

/// A cycle in `g`, as the modules along it (the first repeated at the end), if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in g.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(g, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

#[test]
fn the_host_modules_import_each_other_without_a_cycle() {
    let g = graph(&src_dir());
    assert!(g.len() > 10, "only {} modules found: {g:?}", g.len());
    assert!(
        g["vm"].contains("hostcalls") && g["hostcalls"].contains("state"),
        "the graph misses edges the host certainly has: {g:?}"
    );
    if let Some(cycle) = find_cycle(&g) {
        let edges: Vec<String> = g
            .iter()
            .map(|(m, to)| {
                format!(
                    "{m} -> {}",
                    to.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "host/src has an import cycle: {}\n(move the type that closes it to a lower module)\n{}",
            cycle.join(" -> "),
            edges.join("\n")
        );
    }
}

#[test]
fn the_check_reads_grouped_paths_and_finds_cycles() {
    let code = without_comments(
        "use crate::{vm::Vm, state::{self, World}};\n// crate::driver\n/* crate::report */\nfn f() { crate::trace::x(); $crate::names::y!(); }",
    );
    assert_eq!(crate_paths(&code), ["vm", "state", "trace"]);
    let edges = |list: &[(&str, &[&str])]| -> Graph {
        list.iter()
            .map(|(m, to)| (m.to_string(), to.iter().map(|t| t.to_string()).collect()))
            .collect()
    };
    let looped = edges(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
    assert_eq!(find_cycle(&looped).expect("a cycle"), ["a", "b", "c", "a"]);
    let layered = edges(&[("a", &["b", "c"]), ("b", &["c"]), ("c", &[])]);
    assert_eq!(find_cycle(&layered), None);
}
