//! Policy fixtures: the compiled example policies (built by `policies/build.sh`, which the
//! README's test command runs first) and hand-written WebAssembly modules, good and
//! hostile, compiled from text by `wat`.

use std::path::PathBuf;

/// The project's root directory.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the project")
        .to_owned()
}

/// The directory of the example policy `name` (its fixtures, README, data file).
pub fn policy_dir(name: &str) -> PathBuf {
    project_root().join("policies").join(name)
}

/// Where `policies/build.sh` puts the compiled module of the example policy `name`.
pub fn policy_wasm_path(name: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
        .join("wasm32-unknown-unknown/release")
        .join(format!("policy_{name}.wasm"))
}

/// The compiled module of the example policy `name`.
pub fn policy_wasm(name: &str) -> Vec<u8> {
    let path = policy_wasm_path(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the policies first (./test.sh does: policies/build.sh)",
            path.display()
        )
    })
}

/// The data file of the example policy `name`, if it has one.
pub fn policy_data(name: &str) -> Option<Vec<u8>> {
    std::fs::read(policy_dir(name).join("data.json")).ok()
}

/// The metadata a hand-written module returns.
pub const WAT_METADATA: &str = r#"{"name":"hand-written","version":"1","jurisdiction":"BE","governs":["ExportLicenceApplied","ExportLicenceDecided","ConsignmentDispatched"]}"#;

/// Escapes bytes for a WAT data string.
fn wat_string(text: &str) -> String {
    text.bytes().map(|b| format!("\\{b:02x}")).collect()
}

/// A module that implements ABI v1 by hand, with `evaluate` as the body of
/// `policy_evaluate` (which may call `$out`, the packed (ptr, len) of `output`) and
/// `extra` as more module fields (first, so that imports may be among them). Memory: 2 pages; the bump allocator starts at 4096.
pub fn wat_policy(output: &str, evaluate: &str, extra: &str) -> Vec<u8> {
    let metadata = WAT_METADATA;
    let text = format!(
        r#"(module
  {extra}
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 0) "{meta}")
  (data (i32.const 2048) "{out}")
  (func $out (result i64) (i64.const {out_packed}))
  (func (export "policy_abi_version") (result i32) (i32.const 1))
  (func (export "policy_alloc") (param $len i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $p))
  (func (export "policy_free") (param i32 i32))
  (func (export "policy_evaluate") (param $ptr i32) (param $len i32) (result i64) {evaluate})
  (func (export "policy_metadata") (result i64) (i64.const {meta_len}))
)"#,
        meta = wat_string(metadata),
        out = wat_string(output),
        out_packed = (2048_i64 << 32) | output.len() as i64,
        meta_len = metadata.len(),
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A hand-written policy that always answers `output`.
pub fn wat_answering(output: &str) -> Vec<u8> {
    wat_policy(output, "(call $out)", "")
}

/// A policy that allows everything.
pub fn wat_allow() -> Vec<u8> {
    wat_answering(r#"{"outcome":"allow","reasons":[]}"#)
}

/// Compiles a whole module from text.
pub fn wat_module(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}
