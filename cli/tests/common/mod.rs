//! What the end-to-end tests of `pwp` share: the repository, the built examples, running the
//! binary, scratch directories and small WAT plugins.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository")
}

/// A built example (`bash examples/build.sh` puts them in public/examples).
pub fn example(name: &str) -> PathBuf {
    let p = root().join("public/examples").join(name);
    assert!(
        p.exists(),
        "{} is missing: run bash examples/build.sh",
        p.display()
    );
    p
}

/// Runs `pwp` in the repository.
pub fn pwp(args: &[&str]) -> Output {
    pwp_in(&root(), args)
}

/// Runs `pwp` in `dir`.
pub fn pwp_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pwp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("PWP_EXAMPLES")
        .output()
        .expect("pwp runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pwp-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `contents` to `dir/name`, creating folders.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, contents).unwrap();
    p
}

/// The host's fixture `host/tests/fixtures/<name>.wat`, compiled.
pub fn host_fixture(name: &str) -> Vec<u8> {
    let path = root()
        .join("host/tests/fixtures")
        .join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A plugin that grows its memory by a page on every `every`-th request, up to request
/// `until`: a leak (`until` past the replay), or a cache that fills and stops.
pub fn growing_plugin(every: u32, until: u32) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 16)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (if (i32.and
          (i32.eqz (i32.rem_u (global.get $n) (i32.const {every})))
          (i32.le_u (global.get $n) (i32.const {until})))
      (then (drop (memory.grow (i32.const 1)))))
    i32.const 0))"#
    );
    wat::parse_str(&wat).unwrap()
}

/// A plugin that traps on request headers.
pub fn trapping_plugin() -> Vec<u8> {
    wat::parse_str(
        r#"(module (memory (export "memory") 1)
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 16)
        (func (export "proxy_on_context_create") (param i32 i32))
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable))"#,
    )
    .unwrap()
}
