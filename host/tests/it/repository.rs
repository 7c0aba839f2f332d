//! The repository stands alone: no tracked file outside the docs reads a path above its root.
//!
//! A clone in an empty folder must build and pass its tests, so a relative path that climbs out
//! of it is an error, whether resolved from a crate directory (as `CARGO_MANIFEST_DIR` joins are)
//! or from the root (as the e2e helpers resolve theirs): the CRD schemas were once read from a
//! `shared` folder beside the repository both ways. Each `../` path in a tracked text file is resolved
//! against the file's own directory and against its top-level folder (where `Cargo.toml`,
//! `package.json` or `Trunk.toml` sit and where tools resolve paths from); neither may leave the
//! repository. Markdown and `docs/` are prose and may point anywhere.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// The files git tracks (relative to the root), or `None` outside a git checkout.
fn tracked_files(root: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let list = String::from_utf8(out.stdout).ok()?;
    Some(
        list.split('\0')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

fn is_prose(path: &Path) -> bool {
    path.starts_with("docs") || path.extension().is_some_and(|e| e == "md")
}

/// Every maximal run of `../` segments in `text` together with the path that follows it, when
/// that path names something (`../..` alone, as test data for hostile file names, names nothing).
fn parent_paths(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("../") {
        let start = i + at;
        // Only the start of a run: `a/../b` and `.../` are not paths above anything.
        let preceded = start > 0
            && (bytes[start - 1].is_ascii_alphanumeric()
                || matches!(bytes[start - 1], b'.' | b'/' | b'_' | b'-'));
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "./_-".contains(c)))
            .map_or(text.len(), |n| start + n);
        let path = &text[start..end];
        let names_something = path.split('/').any(|part| !part.is_empty() && part != "..");
        if !preceded && names_something {
            found.push(path);
        }
        i = end.max(start + 3);
    }
    found
}

/// Whether `rel` resolved against `base` (both relative to the root) leaves the root.
fn escapes(base: &Path, rel: &str) -> bool {
    let mut depth: i64 = base
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count() as i64;
    for part in rel.split('/') {
        match part {
            ".." => depth -= 1,
            "." | "" => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[test]
fn no_tracked_file_reads_above_the_repository_root() {
    let root = repo_root();
    let Some(files) = tracked_files(&root) else {
        eprintln!("not a git checkout: nothing to check");
        return;
    };
    assert!(
        files.len() > 50,
        "git ls-files listed only {} files",
        files.len()
    );
    let mut offenders = Vec::new();
    let this_file = Path::new(file!())
        .strip_prefix("host/")
        .unwrap_or(Path::new(file!()));
    let this_file = Path::new("host").join(this_file);
    for file in files.iter().filter(|f| !is_prose(f) && **f != this_file) {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue; // binary (fixtures, images)
        };
        let own_dir = file.parent().unwrap_or(Path::new(""));
        let top_dir: PathBuf = file.components().take(1).collect();
        let top_dir = if file.components().count() > 1 {
            top_dir
        } else {
            PathBuf::new()
        };
        for rel in parent_paths(&text) {
            // Read from the root, it leaves it and names something there; unless it names a
            // file of the repository read from its own folder (`app/`'s `../worker/`, in a
            // checkout that happens to be called `worker`).
            let in_repo = !escapes(own_dir, rel) && root.join(own_dir).join(rel).exists();
            let beside = escapes(Path::new(""), rel) && root.join(rel).exists() && !in_repo;
            if escapes(own_dir, rel) || escapes(&top_dir, rel) || beside {
                offenders.push(format!("{}: {rel}", file.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "tracked files refer to paths above the repository root, which a clone elsewhere lacks \
         (copy what they need into the repository):\n  {}",
        offenders.join("\n  ")
    );
}

#[test]
fn the_check_sees_paths_above_the_root() {
    // The two ways the CRD schemas used to be read from a sibling folder (assembled here, so
    // that this file holds no such path itself).
    let sibling = ["..", "..", "shared", "schemas"].join("/");
    let rust = format!(r#"Path::new(env!("CARGO_MANIFEST_DIR")).join("{sibling}")"#);
    assert_eq!(parent_paths(&rust), [sibling.as_str()]);
    assert!(escapes(Path::new("host"), &sibling));
    assert!(escapes(Path::new(""), &sibling[3..]));
    // Within the repository: a crate reaching a sibling folder, a module import.
    assert!(!escapes(Path::new("bench"), "../public/examples"));
    assert!(!escapes(Path::new("e2e/tests"), "../lib.mjs"));
    // Not the start of a path.
    assert!(parent_paths("a/../b ....../x ../.. ../").is_empty());
}
