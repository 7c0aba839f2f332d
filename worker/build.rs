//! Builds the warm-up plugin (`src/warmup.rs`): a small proxy-wasm module, generated here as
//! WAT and compiled with the `wat` crate, whose code looks to the interpreter like compiled Go
//! or Rust: many functions of mixed integer, memory, control-flow and call work, and the usual
//! host calls in each HTTP callback.

use std::fmt::Write;

/// Function bodies, each parameterised by `{k}` (a constant that makes every copy distinct).
/// All take `(param $p i32) (result i32)` and use locals `$a $b $i` (i32) and `$x` (i64).
const BODIES: &[&str] = &[
    // Hashing a buffer in memory (FNV-like): loads, multiply, xor, a counted loop.
    "(local.set $a (i32.const 2166136261))
     (local.set $i (i32.const 0))
     (block $done (loop $next
       (br_if $done (i32.ge_u (local.get $i) (i32.const 64)))
       (local.set $a (i32.mul (i32.xor (local.get $a)
         (i32.load8_u offset=1024 (i32.and (i32.add (local.get $p) (local.get $i)) (i32.const 4095))))
         (i32.const 16777619)))
       (local.set $i (i32.add (local.get $i) (i32.const 1)))
       (br $next)))
     (i32.add (local.get $a) (i32.const {k}))",
    // 64-bit arithmetic and conversions, as Go's runtime does for its counters.
    "(local.set $x (i64.extend_i32_u (local.get $p)))
     (local.set $i (i32.const 0))
     (loop $next
       (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 6364136223846793005)) (i64.const {k})))
       (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 29))))
       (local.set $i (i32.add (local.get $i) (i32.const 1)))
       (br_if $next (i32.lt_u (local.get $i) (i32.const 24))))
     (i32.wrap_i64 (i64.rotl (local.get $x) (i64.const 7)))",
    // A switch (br_table) over the argument, as in a decoder or a state machine.
    "(block $d (block $c (block $b (block $a
       (br_table $a $b $c $d (i32.and (local.get $p) (i32.const 3))))
       (return (i32.add (local.get $p) (i32.const {k}))))
       (return (i32.sub (local.get $p) (i32.const {k}))))
       (return (i32.mul (local.get $p) (i32.const 3))))
     (i32.shl (local.get $p) (i32.const 1))",
    // Stores and copies: a struct written field by field, then moved with memory.copy.
    "(local.set $a (i32.add (i32.const 8192) (i32.shl (i32.and (local.get $p) (i32.const 63)) (i32.const 5))))
     (i32.store (local.get $a) (local.get $p))
     (i32.store offset=4 (local.get $a) (i32.const {k}))
     (i64.store offset=8 (local.get $a) (i64.extend_i32_s (local.get $p)))
     (i32.store16 offset=16 (local.get $a) (local.get $p))
     (memory.copy (i32.add (local.get $a) (i32.const 2048)) (local.get $a) (i32.const 24))
     (memory.fill (i32.add (local.get $a) (i32.const 4096)) (i32.const 0) (i32.const 32))
     (i32.add (i32.load offset=4 (local.get $a)) (i32.load16_u offset=16 (local.get $a)))",
    // Branchy comparisons and select, as bounds checks and min/max compile to.
    "(local.set $a (select (local.get $p) (i32.const {k}) (i32.gt_s (local.get $p) (i32.const {k}))))
     (if (i32.eqz (i32.and (local.get $a) (i32.const 1)))
       (then (local.set $a (i32.shr_u (local.get $a) (i32.const 1))))
       (else (local.set $a (i32.add (i32.mul (local.get $a) (i32.const 3)) (i32.const 1)))))
     (if (result i32) (i32.lt_u (local.get $a) (local.get $p))
       (then (i32.sub (local.get $p) (local.get $a)))
       (else (i32.or (local.get $a) (i32.clz (local.get $p)))))",
    // Floating point, as GC pacing and rate limiters use.
    "(i32.trunc_sat_f64_s (f64.add
       (f64.mul (f64.convert_i32_s (local.get $p)) (f64.const 1.5))
       (f64.sqrt (f64.convert_i32_u (i32.add (local.get $p) (i32.const {k}))))))",
    // Globals (a stack pointer) and a call chain.
    "(global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
     (i32.store (global.get $sp) (local.get $p))
     (local.set $b (call $leaf (i32.load (global.get $sp))))
     (global.set $sp (i32.add (global.get $sp) (i32.const 16)))
     (i32.add (local.get $b) (i32.const {k}))",
    // Indirect calls through the table, as interface and closure calls do.
    "(call_indirect (type $unary)
       (i32.add (local.get $p) (i32.const {k}))
       (i32.rem_u (i32.add (local.get $p) (i32.const {k})) (i32.const 8)))",
];

/// Copies of each body (with different constants): enough functions to keep the translator
/// busy, few enough to keep the module small.
const COPIES: usize = 40;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let n = BODIES.len() * COPIES;
    let mut wat = String::from(
        r#"(module
  (type $unary (func (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $get_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (memory (export "memory") 2)
  (global $sp (mut i32) (i32.const 65536))
  (global $heap (mut i32) (i32.const 16384))
  ;; 256 ":path", 261 "x-warm", 267 "warm-up", 274 "warming up!!", 286 "request\0path"
  (data (i32.const 256) ":pathx-warmwarm-upwarming up!!request\00path")
  (table 8 funcref)
  (elem (i32.const 0) $f0 $f1 $f2 $f3 $f4 $f5 $f6 $f7)
  (func (export "proxy_abi_version_0_2_1"))
  (func $leaf (param $p i32) (result i32) (i32.xor (local.get $p) (i32.const 0x5bd1e995)))
  ;; A bump allocator that wraps: the host asks for buffers; nothing lives long.
  (func $malloc (export "malloc") (param $n i32) (result i32) (local $at i32)
    (if (i32.gt_u (i32.add (global.get $heap) (local.get $n)) (i32.const 126976))
      (then (global.set $heap (i32.const 16384))))
    (local.set $at (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $at))
"#,
    );
    for (i, body) in BODIES.iter().cycle().take(n).enumerate() {
        let body = body.replace("{k}", &(i * 7919 + 13).to_string());
        writeln!(
            wat,
            "  (func $f{i} (type $unary) (param $p i32) (result i32) (local $a i32) (local $b i32) (local $i i32) (local $x i64)\n    {body})"
        )
        .unwrap();
    }
    // `work(rounds)`: every function in turn, each result feeding the next.
    wat.push_str(
        "  (func $work (param $rounds i32) (result i32) (local $acc i32) (local $r i32)\n    (loop $round\n",
    );
    for i in 0..n {
        writeln!(wat, "      (local.set $acc (call $f{i} (local.get $acc)))").unwrap();
    }
    wat.push_str(
        r#"      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $r) (local.get $rounds))))
    (local.get $acc))
  (func (export "_initialize") (drop (call $work (i32.const 60))))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32) (param $size i32) (result i32)
    (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 128) (i32.const 132)))
    (drop (call $work (i32.const 6)))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $get_pairs (i32.const 0) (i32.const 128) (i32.const 132)))
    (drop (call $get_value (i32.const 0) (i32.const 256) (i32.const 5) (i32.const 128) (i32.const 132)))
    (drop (call $add_value (i32.const 0) (i32.const 261) (i32.const 6) (i32.const 267) (i32.const 7)))
    (drop (call $get_property (i32.const 286) (i32.const 12) (i32.const 128) (i32.const 132)))
    (drop (call $now (i32.const 136)))
    (drop (call $log (i32.const 2) (i32.const 274) (i32.const 12)))
    (drop (call $work (i32.const 1)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $get_pairs (i32.const 2) (i32.const 128) (i32.const 132)))
    (drop (call $add_value (i32.const 2) (i32.const 261) (i32.const 6) (i32.const 267) (i32.const 7)))
    (drop (call $work (i32.const 1)))
    (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))
"#,
    );
    let wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("warm-up plugin: {e}\n{wat}"));
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("warmup.wasm"), wasm).expect("write warmup.wasm");
}
