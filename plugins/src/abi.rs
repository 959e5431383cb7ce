//! ABI v1, as the host checks it before a module may be installed (plugins/ABI.md).

use wasmtime::{ExternType, Module, ValType};

/// One export ABI v1 requires: its name and its signature as ABI.md writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbiExport {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub results: &'static [&'static str],
}

/// Every export of ABI v1 except `memory`; the golden test pins this table.
pub const ABI_V1_EXPORTS: [AbiExport; 5] = [
    AbiExport {
        name: "policy_abi_version",
        params: &[],
        results: &["i32"],
    },
    AbiExport {
        name: "policy_alloc",
        params: &["i32"],
        results: &["i32"],
    },
    AbiExport {
        name: "policy_free",
        params: &["i32", "i32"],
        results: &[],
    },
    AbiExport {
        name: "policy_evaluate",
        params: &["i32", "i32"],
        results: &["i64"],
    },
    AbiExport {
        name: "policy_metadata",
        params: &[],
        results: &["i64"],
    },
];

fn type_name(t: &ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "v128",
        ValType::Ref(_) => "ref",
    }
}

fn signature(params: &[&str], results: &[&str]) -> String {
    format!("({}) -> ({})", params.join(", "), results.join(", "))
}

/// Checks a compiled module's imports and exports against ABI v1; the message says what
/// to change. (The ABI version itself is asked of the running module.)
pub fn check_module(module: &Module) -> Result<(), String> {
    if let Some(import) = module.imports().next() {
        return Err(format!(
            "it imports {}::{}; a policy imports nothing (no WASI, clock or randomness: \
             time comes in the input as `now`)",
            import.module(),
            import.name()
        ));
    }
    match module.get_export("memory") {
        Some(ExternType::Memory(_)) => {}
        Some(_) => return Err("its export `memory` is not a memory".into()),
        None => return Err("it does not export its `memory`".into()),
    }
    for wanted in &ABI_V1_EXPORTS {
        let Some(export) = module.get_export(wanted.name) else {
            return Err(format!("it does not export `{}`", wanted.name));
        };
        let ExternType::Func(func) = export else {
            return Err(format!("its export `{}` is not a function", wanted.name));
        };
        let params: Vec<&str> = func.params().map(|t| type_name(&t)).collect();
        let results: Vec<&str> = func.results().map(|t| type_name(&t)).collect();
        if params != wanted.params || results != wanted.results {
            return Err(format!(
                "its `{}` has the signature {}; ABI v1 requires {}",
                wanted.name,
                signature(&params, &results),
                signature(wanted.params, wanted.results)
            ));
        }
    }
    Ok(())
}
