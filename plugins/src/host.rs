//! The wasmtime host: one engine, modules compiled once per hash, a fresh pooled instance
//! per evaluation under fuel, an epoch deadline, a memory cap and a stack cap.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ledger::policy::{
    ModuleRef, POLICY_ABI_VERSION, PolicyMetadata, PolicyOutcome, PolicyReason, PolicyRunner,
    PolicyVerdict, sha256_hex,
};
use serde::Deserialize;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Memory, Module,
    PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder, Trap, TypedFunc,
};

use crate::abi;
use crate::cache::DiskCache;
use crate::limits::{EPOCH_TICK_MS, HostLimits};

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("the policy engine could not start: {0}")]
    Engine(String),
    #[error("the policy cache directory {path}: {source}")]
    Cache {
        path: String,
        source: std::io::Error,
    },
}

/// What each evaluation's store holds: its memory limits.
struct Sandbox {
    limits: StoreLimits,
}

/// A module compiled and linked (with nothing: a policy imports nothing), ready to
/// instantiate.
struct Loaded {
    pre: InstancePre<Sandbox>,
}

/// Runs policy modules. Cheap to share; one per process.
pub struct PolicyHost {
    engine: Engine,
    limits: HostLimits,
    modules: RwLock<HashMap<String, Arc<Loaded>>>,
    cache: Option<DiskCache>,
    ticking: Arc<AtomicBool>,
}

impl std::fmt::Debug for PolicyHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyHost")
            .field("limits", &self.limits)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Drop for PolicyHost {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}

/// How much of a freed instance's memory stays mapped (and is zeroed) for the next one.
const MEMORY_KEEP_RESIDENT_BYTES: usize = 128 * 1024;
/// The same for its function table (2048 entries of 8 bytes). Entries are filled lazily,
/// at a function's first indirect call (Rust's formatting calls through them); without
/// this, the table's page went back to the kernel after every evaluation and the next
/// one that made an indirect call paid two page faults: ~10 us of a deny (BENCHMARKS.md).
const TABLE_KEEP_RESIDENT_BYTES: usize = 16 * 1024;

/// A failed step of an evaluation: which kind of failure, and what happened.
struct Failure(&'static str, String);

impl PolicyHost {
    /// Starts the engine. `cache_dir`, when given, keeps compiled modules across restarts.
    pub fn new(limits: HostLimits, cache_dir: Option<&Path>) -> Result<Arc<Self>, HostError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(limits.concurrent_instances_max)
            .total_memories(limits.concurrent_instances_max)
            .total_tables(limits.concurrent_instances_max)
            .max_memory_size(limits.memory_bytes_max)
            // A policy touches only the first pages of its memory (with a small guest
            // stack, the SDK's layout) and of its table: zeroing them is cheaper than
            // returning them to the kernel and faulting them in again at the next
            // evaluation.
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT_BYTES)
            .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            // Determinism: the same input gives the same answer on every machine.
            .cranelift_nan_canonicalization(true)
            .wasm_relaxed_simd(false)
            .max_wasm_stack(limits.stack_bytes_max)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| HostError::Engine(e.to_string()))?;
        let cache = cache_dir
            .map(|dir| {
                DiskCache::new(dir, &engine).map_err(|source| HostError::Cache {
                    path: dir.display().to_string(),
                    source,
                })
            })
            .transpose()?;
        let ticking = Arc::new(AtomicBool::new(true));
        let clock = (engine.clone(), Arc::clone(&ticking));
        std::thread::Builder::new()
            .name("policy-epoch".into())
            .spawn(move || {
                let (engine, ticking) = clock;
                while ticking.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(EPOCH_TICK_MS));
                    engine.increment_epoch();
                }
            })
            .map_err(|e| HostError::Engine(format!("epoch thread: {e}")))?;
        Ok(Arc::new(Self {
            engine,
            limits,
            modules: RwLock::new(HashMap::new()),
            cache,
            ticking,
        }))
    }

    pub fn limits(&self) -> &HostLimits {
        &self.limits
    }

    /// Compiles (or loads from the cache) and links a module, checked against the ABI's
    /// imports and exports; kept by its hash.
    fn load(&self, sha256: &str, bytes: &[u8]) -> Result<Arc<Loaded>, String> {
        if sha256_hex(bytes) != sha256 {
            return Err(format!("the module's bytes do not hash to {sha256}"));
        }
        let cached = self
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, sha256));
        let module = match cached {
            Some(module) => module,
            None => {
                let module = Module::new(&self.engine, bytes)
                    .map_err(|e| format!("it is not a valid WebAssembly module: {e}"))?;
                abi::check_module(&module)?;
                if let Some(cache) = &self.cache {
                    cache.store(sha256, &module);
                }
                module
            }
        };
        abi::check_module(&module)?;
        let linker: Linker<Sandbox> = Linker::new(&self.engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| format!("it cannot be linked: {e}"))?;
        let loaded = Arc::new(Loaded { pre });
        if let Ok(mut modules) = self.modules.write() {
            modules.insert(sha256.to_owned(), Arc::clone(&loaded));
        }
        Ok(loaded)
    }

    fn loaded(&self, module: &ModuleRef<'_>) -> Result<Arc<Loaded>, Failure> {
        if let Some(loaded) = self
            .modules
            .read()
            .ok()
            .and_then(|m| m.get(module.sha256).cloned())
        {
            return Ok(loaded);
        }
        let bytes = (module.load)().map_err(|e| Failure("unknown_module", e))?;
        self.load(module.sha256, &bytes)
            .map_err(|e| Failure("invalid_module", e))
    }

    /// Compiles and caches a module ahead of its first evaluation; returns its hash. What
    /// `install` measures.
    pub fn prepare(&self, bytes: &[u8]) -> Result<String, String> {
        let sha256 = sha256_hex(bytes);
        self.load(&sha256, bytes)?;
        Ok(sha256)
    }

    /// Runs a module given by its bytes (a candidate, or one read from a ledger) on one
    /// input: dry runs and fixture tests.
    pub fn evaluate_bytes(&self, bytes: &[u8], input: &[u8]) -> PolicyVerdict {
        let sha256 = sha256_hex(bytes);
        let load = || Ok(bytes.to_vec());
        self.run(
            &ModuleRef {
                sha256: &sha256,
                load: &load,
            },
            input,
        )
    }

    fn new_store(&self) -> Result<Store<Sandbox>, Failure> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes_max)
            .instances(1)
            .memories(1)
            .tables(1)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, Sandbox { limits });
        store.limiter(|sandbox| &mut sandbox.limits);
        store
            .set_fuel(self.limits.fuel_per_evaluation)
            .map_err(|e| Failure("host", e.to_string()))?;
        store.set_epoch_deadline(self.limits.deadline_ticks());
        store.epoch_deadline_trap();
        Ok(store)
    }

    /// One evaluation in a fresh instance: copy the input in, call `policy_evaluate`, copy
    /// the decision out under the output cap.
    fn evaluate(&self, loaded: &Loaded, input: &[u8]) -> PolicyVerdict {
        let mut store = match self.new_store() {
            Ok(store) => store,
            Err(Failure(what, message)) => return PolicyVerdict::error(what, message, 0),
        };
        let result = self.call(loaded, &mut store, input);
        let fuel_used = self
            .limits
            .fuel_per_evaluation
            .saturating_sub(store.get_fuel().unwrap_or(0));
        match result.and_then(|output| parse_decision(&output)) {
            Ok(mut verdict) => {
                verdict.fuel_used = fuel_used;
                verdict
            }
            Err(Failure(what, message)) => PolicyVerdict::error(what, message, fuel_used),
        }
    }

    fn call(
        &self,
        loaded: &Loaded,
        store: &mut Store<Sandbox>,
        input: &[u8],
    ) -> Result<Vec<u8>, Failure> {
        let instance = loaded
            .pre
            .instantiate(&mut *store)
            .map_err(|e| trap_failure(&e, &self.limits))?;
        let memory = instance
            .get_memory(&mut *store, "memory")
            .ok_or_else(|| Failure("bad_module", "no memory export".into()))?;
        let alloc: TypedFunc<i32, i32> = typed(&instance, store, "policy_alloc")?;
        let evaluate: TypedFunc<(i32, i32), i64> = typed(&instance, store, "policy_evaluate")?;
        let len = i32::try_from(input.len())
            .map_err(|_| Failure("input_too_large", format!("{} bytes", input.len())))?;
        let ptr = alloc
            .call(&mut *store, len)
            .map_err(|e| trap_failure(&e, &self.limits))?;
        memory
            .write(&mut *store, guest_offset(ptr), input)
            .map_err(|_| {
                Failure(
                    "bad_alloc",
                    format!("policy_alloc({len}) returned {ptr:#x}, outside its memory"),
                )
            })?;
        let packed = evaluate
            .call(&mut *store, (ptr, len))
            .map_err(|e| trap_failure(&e, &self.limits))?;
        read_output(&memory, store, packed, self.limits.output_bytes_max)
    }

    /// Asks a module for its ABI version and metadata, in a fresh instance under the same
    /// limits as an evaluation.
    fn describe(&self, loaded: &Loaded) -> Result<PolicyMetadata, String> {
        let mut store = self.new_store().map_err(|Failure(_, m)| m)?;
        let store = &mut store;
        let instance = loaded
            .pre
            .instantiate(&mut *store)
            .map_err(|e| trap_failure(&e, &self.limits).1)?;
        let version: TypedFunc<(), i32> =
            typed(&instance, store, "policy_abi_version").map_err(|Failure(_, m)| m)?;
        let version = version.call(&mut *store, ()).map_err(|e| {
            format!(
                "policy_abi_version failed: {}",
                trap_failure(&e, &self.limits).1
            )
        })?;
        if version != POLICY_ABI_VERSION {
            return Err(format!(
                "it implements policy ABI version {version}; this host runs version {POLICY_ABI_VERSION}"
            ));
        }
        let metadata: TypedFunc<(), i64> =
            typed(&instance, store, "policy_metadata").map_err(|Failure(_, m)| m)?;
        let packed = metadata.call(&mut *store, ()).map_err(|e| {
            format!(
                "policy_metadata failed: {}",
                trap_failure(&e, &self.limits).1
            )
        })?;
        let memory = instance
            .get_memory(&mut *store, "memory")
            .ok_or("no memory export")?;
        let bytes = read_output(&memory, store, packed, self.limits.output_bytes_max)
            .map_err(|Failure(_, m)| format!("policy_metadata: {m}"))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            format!("policy_metadata is not {{name, version, jurisdiction, governs}} JSON: {e}")
        })
    }
}

impl PolicyRunner for PolicyHost {
    fn run(&self, module: &ModuleRef<'_>, input: &[u8]) -> PolicyVerdict {
        match self.loaded(module) {
            Ok(loaded) => self.evaluate(&loaded, input),
            Err(Failure(what, message)) => PolicyVerdict::error(what, message, 0),
        }
    }

    fn inspect(&self, module_bytes: &[u8]) -> Result<PolicyMetadata, String> {
        let sha256 = sha256_hex(module_bytes);
        let loaded = self.load(&sha256, module_bytes)?;
        self.describe(&loaded)
    }
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &wasmtime::Instance,
    store: &mut Store<Sandbox>,
    name: &str,
) -> Result<TypedFunc<P, R>, Failure> {
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map_err(|e| Failure("bad_module", format!("{name}: {e}")))
}

/// A guest pointer (an i32 that wasm treats as unsigned) as an offset into its memory.
fn guest_offset(ptr: i32) -> usize {
    ptr.cast_unsigned() as usize
}

/// Copies out the (ptr << 32 | len) buffer a policy returned, refusing a length over the
/// cap before allocating anything and a range outside its memory.
fn read_output(
    memory: &Memory,
    store: &Store<Sandbox>,
    packed: i64,
    output_bytes_max: usize,
) -> Result<Vec<u8>, Failure> {
    let packed = packed.cast_unsigned();
    let ptr = (packed >> 32) as usize;
    let len = (packed & 0xffff_ffff) as usize;
    if len > output_bytes_max {
        return Err(Failure(
            "output_too_large",
            format!("the policy returned {len} bytes; the limit is {output_bytes_max}"),
        ));
    }
    let mut out = vec![0; len];
    memory.read(store, ptr, &mut out).map_err(|_| {
        Failure(
            "output_out_of_bounds",
            format!(
                "the policy returned the buffer ({ptr:#x}, {len} bytes), outside its {} bytes of memory",
                memory.data_size(store)
            ),
        )
    })?;
    Ok(out)
}

/// Names what stopped a policy.
fn trap_failure(error: &wasmtime::Error, limits: &HostLimits) -> Failure {
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Failure(
                "out_of_fuel",
                format!(
                    "the policy used all of its {} units of fuel",
                    limits.fuel_per_evaluation
                ),
            ),
            Trap::Interrupt => Failure(
                "deadline",
                format!("the policy ran past its {} ms deadline", limits.deadline_ms),
            ),
            Trap::StackOverflow => Failure(
                "stack_overflow",
                format!(
                    "the policy exhausted its {} bytes of stack",
                    limits.stack_bytes_max
                ),
            ),
            Trap::MemoryOutOfBounds => Failure(
                "trap",
                "the policy accessed memory out of bounds (a Rust guest's runaway recursion \
                 ends here too)"
                    .into(),
            ),
            other => Failure("trap", format!("the policy trapped: {other}")),
        };
    }
    let root = error.root_cause().to_string();
    if root.contains("growing memory") {
        return Failure(
            "memory_limit",
            format!(
                "the policy tried to grow its memory past {} bytes",
                limits.memory_bytes_max
            ),
        );
    }
    Failure("trap", root)
}

/// The decision JSON of ABI v1.
#[derive(Deserialize)]
struct DecisionOutput {
    outcome: String,
    #[serde(default)]
    reasons: Vec<PolicyReason>,
    #[serde(default)]
    conditions: Vec<serde_json::Value>,
}

fn parse_decision(output: &[u8]) -> Result<PolicyVerdict, Failure> {
    let decision: DecisionOutput = serde_json::from_slice(output).map_err(|e| {
        Failure(
            "bad_output",
            format!("the decision is not ABI v1 JSON: {e}"),
        )
    })?;
    let outcome: PolicyOutcome = serde_json::from_value(serde_json::Value::String(
        decision.outcome.clone(),
    ))
    .map_err(|_| {
        Failure(
            "bad_output",
            format!("unknown outcome {:?}", decision.outcome),
        )
    })?;
    Ok(PolicyVerdict {
        outcome,
        reasons: decision.reasons,
        conditions: decision.conditions,
        fuel_used: 0,
    })
}
