//! Which files `pwp test` runs.
//!
//! Each argument is a file (taken whatever its name), a directory (searched recursively for
//! scenario files) or a glob (`'tests/**/*.json'`, expanded here, so quoting it keeps the
//! shell out of it; what it matches is taken as if named: files as they are, directories
//! searched).
//!
//! In a directory, a scenario file is a `.json`, `.yaml` or `.yml` file whose name without
//! that extension is `scenario`, ends in `.scenario`, or whose last dot-separated part starts
//! with `scenario-`: `login.scenario.json`, `scenario.yaml`, `scenario-denied.json`,
//! `auth.scenario-denied.yml`. Hidden directories, `target` and `node_modules` are not
//! searched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::load::Fail;

/// Directories never searched (build outputs and dependencies).
const SKIPPED_DIRS: [&str; 2] = ["target", "node_modules"];

/// Whether a file found in a directory is a scenario, by its name.
pub fn is_scenario_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    if !matches!(ext, "json" | "yaml" | "yml") {
        return false;
    }
    let last = stem.rsplit('.').next().unwrap_or(stem);
    last == "scenario" || last.starts_with("scenario-")
}

/// The scenario files named or found by `args` (`.` when empty), each once, sorted by path.
pub fn discover(args: &[PathBuf]) -> Result<Vec<PathBuf>, Fail> {
    let default = [PathBuf::from(".")];
    let args = if args.is_empty() { &default[..] } else { args };
    let mut found = Vec::new();
    for arg in args {
        if arg.exists() {
            take(arg, &mut found)?;
            continue;
        }
        let pattern = arg.to_string_lossy();
        if !pattern.contains(['*', '?', '[']) {
            return Err(Fail(
                3,
                format!("{}: no such file or directory", arg.display()),
            ));
        }
        let matches = glob::glob(&pattern)
            .map_err(|e| Fail(3, format!("{pattern}: not a valid glob: {e}")))?;
        let before = found.len();
        for m in matches {
            let path = m.map_err(|e| Fail(3, format!("{pattern}: {e}")))?;
            take(&path, &mut found)?;
        }
        if found.len() == before {
            return Err(Fail(3, format!("{pattern}: matches no scenario file")));
        }
    }
    // Once each (the same file may be named twice, or found through two arguments), in a
    // stable order.
    let mut unique = BTreeMap::new();
    for path in found {
        let tidy = tidy(&path);
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        unique.entry(key).or_insert(tidy);
    }
    let mut paths: Vec<PathBuf> = unique.into_values().collect();
    paths.sort();
    Ok(paths)
}

/// `./a/b` as `a/b`.
fn tidy(path: &Path) -> PathBuf {
    match path.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

/// A named file is taken; a directory is searched.
fn take(path: &Path, found: &mut Vec<PathBuf>) -> Result<(), Fail> {
    if path.is_dir() {
        walk(path, found)
    } else {
        found.push(path.to_path_buf());
        Ok(())
    }
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Fail> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Fail(3, format!("cannot read directory {}: {e}", dir.display())))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| Fail(3, format!("cannot read directory {}: {e}", dir.display())))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_ref()) {
                walk(&path, found)?;
            }
        } else if is_scenario_name(&name) && path.is_file() {
            // Symbolic links to files count; links to directories are not followed.
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_scenario_name;

    #[test]
    fn scenario_names() {
        for yes in [
            "scenario.json",
            "scenario.yaml",
            "scenario-denied.json",
            "login.scenario.json",
            "login.scenario.yml",
            "go-http-auth.scenario-denied.json",
        ] {
            assert!(is_scenario_name(yes), "{yes}");
        }
        for no in [
            "scenario.schema.json",
            "scenarios.json",
            "myscenario.json",
            "scenario.txt",
            "scenario",
            "index.json",
            "login.scenario.json.bak",
        ] {
            assert!(!is_scenario_name(no), "{no}");
        }
    }
}
