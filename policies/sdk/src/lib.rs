//! The policy SDK: write an armsledger export-control policy as
//! `fn evaluate(request: &Request) -> Decision` and never touch a pointer.
//!
//! ABI v1 (plugins/ABI.md) is JSON in, JSON out, through five exports and no imports.
//! [`export_policy!`] writes the exports; [`Request`] reads the input the host resolved;
//! [`Decision`] builds the answer.
//!
//! ```ignore
//! use policy_sdk::{Decision, Request, export_policy};
//!
//! fn evaluate(request: &Request) -> Decision {
//!     if request.payload().str("importing_country") == Some("KP") {
//!         return Decision::deny("embargo", "unscr_1718", "arms to the DPRK are prohibited");
//!     }
//!     Decision::allow()
//! }
//!
//! export_policy! {
//!     name: "example", version: "1", jurisdiction: "BE",
//!     governs: ["ExportLicenceApplied"], evaluate: evaluate,
//! }
//! ```
//!
//! The same policy compiles natively, where [`evaluate_json`] runs it on input bytes: how
//! benchmarks compare it with its WebAssembly build.

use serde::Serialize;
pub use serde_json::{Value, json};

/// The ABI a module built with this SDK implements (`policy_abi_version`).
pub const ABI_VERSION: i32 = 1;

/// What a policy may decide about an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    RequireNotification,
    RequireConsultation,
    RequireApproval,
    Deny,
}

/// One reason: a stable code, the rule it comes from, words for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: String,
    pub rule: String,
    pub message: String,
}

/// A policy's answer. Reasons accumulate; the outcome is the strongest asked for (deny
/// over any requirement, over allow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub reasons: Vec<Reason>,
    pub conditions: Vec<Value>,
}

impl Default for Decision {
    fn default() -> Self {
        Self::allow()
    }
}

impl Decision {
    pub fn allow() -> Self {
        Self {
            outcome: Outcome::Allow,
            reasons: Vec::new(),
            conditions: Vec::new(),
        }
    }

    /// A decision with one reason.
    pub fn with(outcome: Outcome, code: &str, rule: &str, message: impl Into<String>) -> Self {
        let mut decision = Self::allow();
        decision.add(outcome, code, rule, message);
        decision
    }

    pub fn deny(code: &str, rule: &str, message: impl Into<String>) -> Self {
        Self::with(Outcome::Deny, code, rule, message)
    }

    /// Adds a reason, raising the outcome to `outcome` if it is stronger.
    pub fn add(&mut self, outcome: Outcome, code: &str, rule: &str, message: impl Into<String>) {
        self.outcome = self.outcome.max(outcome);
        self.reasons.push(Reason {
            code: code.to_owned(),
            rule: rule.to_owned(),
            message: message.into(),
        });
    }

    /// Adds a condition the event is allowed under (free JSON, recorded with the decision).
    pub fn condition(&mut self, condition: Value) {
        self.conditions.push(condition);
    }
}

/// The input of one evaluation: `{abi, now, event, context, data}` (ABI.md).
#[derive(Debug)]
pub struct Request {
    input: Value,
}

/// Read access to a JSON value by dotted paths: `value.at("end_user.kind")`.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a>(pub &'a Value);

impl<'a> Fields<'a> {
    /// The value at a dotted path (array positions are numbers), or `Value::Null`.
    pub fn at(&self, path: &str) -> &'a Value {
        let mut value = self.0;
        for key in path.split('.').filter(|k| !k.is_empty()) {
            value = match value {
                Value::Object(map) => map.get(key).unwrap_or(&Value::Null),
                Value::Array(items) => key
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .unwrap_or(&Value::Null),
                _ => &Value::Null,
            };
        }
        value
    }

    pub fn str(&self, path: &str) -> Option<&'a str> {
        self.at(path).as_str()
    }

    pub fn u64(&self, path: &str) -> Option<u64> {
        self.at(path).as_u64()
    }

    pub fn bool(&self, path: &str) -> Option<bool> {
        self.at(path).as_bool()
    }

    /// The array at `path`; empty when there is none.
    pub fn list(&self, path: &str) -> &'a [Value] {
        self.at(path).as_array().map_or(&[], Vec::as_slice)
    }

    pub fn fields(&self, path: &str) -> Fields<'a> {
        Fields(self.at(path))
    }

    pub fn is_present(&self, path: &str) -> bool {
        !self.at(path).is_null()
    }
}

impl Request {
    /// Parses the input bytes the host wrote.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let input: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if input.get("abi").and_then(Value::as_i64) != Some(i64::from(ABI_VERSION)) {
            return Err("the input is not of ABI version 1".into());
        }
        Ok(Self { input })
    }

    /// The event's own moment (its `occurred_at`): the only "now" a policy has.
    pub fn now(&self) -> &str {
        self.input.get("now").and_then(Value::as_str).unwrap_or("")
    }

    /// The calendar day of `now`, `YYYY-MM-DD`: what dated rules are judged by.
    pub fn date(&self) -> &str {
        self.now().get(..10).unwrap_or("")
    }

    /// The signed event (envelope and payload).
    pub fn event(&self) -> Fields<'_> {
        Fields(self.input.get("event").unwrap_or(&Value::Null))
    }

    pub fn event_type(&self) -> &str {
        self.event().str("type").unwrap_or("")
    }

    pub fn payload(&self) -> Fields<'_> {
        self.event().fields("payload")
    }

    /// What the host resolved from the ledger: `licence`, `euc`, `consignment`,
    /// `weapons`, `brokers`, `states`, `actor`, `policy`.
    pub fn context(&self) -> Fields<'_> {
        Fields(self.input.get("context").unwrap_or(&Value::Null))
    }

    /// The policy's data file, as installed with it (`{}` when it has none).
    pub fn data(&self) -> Fields<'_> {
        Fields(self.input.get("data").unwrap_or(&Value::Null))
    }

    /// Whether the State recorded this policy's `requirement` for `rule` as met on the
    /// licence (a `PolicyRequirementMet` event).
    pub fn requirement_met(&self, requirement: &str, rule: &str) -> bool {
        let context = self.context();
        let policy = context.str("policy.id");
        context
            .list("licence.requirements_met")
            .iter()
            .map(Fields)
            .any(|met| {
                met.str("policy_id") == policy
                    && met.str("requirement") == Some(requirement)
                    && met.str("rule") == Some(rule)
            })
    }
}

/// Runs a policy on input bytes and returns its decision bytes: the whole ABI except the
/// pointers. The exports call it; so can a native benchmark.
pub fn evaluate_json(input: &[u8], evaluate: fn(&Request) -> Decision) -> Vec<u8> {
    let decision = match Request::parse(input) {
        Ok(request) => evaluate(&request),
        Err(e) => Decision::deny("bad_input", "abi", e),
    };
    serde_json::to_vec(&decision).unwrap_or_else(|_| br#"{"outcome":"deny"}"#.to_vec())
}

/// The metadata JSON of `policy_metadata`.
pub fn metadata_json(name: &str, version: &str, jurisdiction: &str, governs: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "name": name, "version": version, "jurisdiction": jurisdiction, "governs": governs,
    }))
    .unwrap_or_default()
}

/// The ABI's raw side; only [`export_policy!`] calls these.
#[doc(hidden)]
pub mod raw {
    /// A buffer of `len` bytes for the host to write the input into.
    pub fn alloc(len: i32) -> i32 {
        let mut buffer = Vec::<u8>::with_capacity(usize::try_from(len).unwrap_or(0));
        let ptr = buffer.as_mut_ptr();
        core::mem::forget(buffer);
        ptr as usize as i32
    }

    /// Gives back a buffer of `alloc` or of an output.
    ///
    /// # Safety
    /// `ptr` and `len` must be a buffer this module handed out and not freed yet.
    pub unsafe fn free(ptr: i32, len: i32) {
        let len = usize::try_from(len).unwrap_or(0);
        // SAFETY: the caller passes back a (pointer, capacity) this module allocated.
        drop(unsafe { Vec::from_raw_parts(ptr as usize as *mut u8, 0, len) });
    }

    /// Reads the input the host wrote, runs the policy, hands out the decision.
    ///
    /// # Safety
    /// `ptr` and `len` must be the buffer of `alloc(len)`, filled by the host.
    pub unsafe fn evaluate(
        ptr: i32,
        len: i32,
        evaluate: fn(&super::Request) -> super::Decision,
    ) -> i64 {
        let len = usize::try_from(len).unwrap_or(0);
        // SAFETY: the host wrote `len` bytes into the buffer `alloc(len)` returned.
        let input = unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len) };
        hand_out(super::evaluate_json(input, evaluate))
    }

    /// Leaks `bytes` for the host to read, packed as (ptr << 32) | len.
    pub fn hand_out(bytes: Vec<u8>) -> i64 {
        let bytes = bytes.into_boxed_slice();
        let len = bytes.len() as u64;
        let ptr = Box::into_raw(bytes) as *mut u8 as usize as u64;
        ((ptr << 32) | (len & 0xffff_ffff)) as i64
    }
}

/// Writes the five exports of ABI v1 for a policy (only when building for WebAssembly;
/// natively the policy is a plain library).
#[macro_export]
macro_rules! export_policy {
    (
        name: $name:expr,
        version: $version:expr,
        jurisdiction: $jurisdiction:expr,
        governs: [$($governs:expr),* $(,)?],
        evaluate: $evaluate:path $(,)?
    ) => {
        /// The ABI the exports implement.
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn policy_abi_version() -> i32 {
            $crate::ABI_VERSION
        }

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn policy_alloc(len: i32) -> i32 {
            $crate::raw::alloc(len)
        }

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn policy_free(ptr: i32, len: i32) {
            // SAFETY: the host frees only buffers this module handed out.
            unsafe { $crate::raw::free(ptr, len) }
        }

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn policy_evaluate(ptr: i32, len: i32) -> i64 {
            // SAFETY: the host passes the buffer of `policy_alloc(len)`, filled.
            unsafe { $crate::raw::evaluate(ptr, len, $evaluate) }
        }

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn policy_metadata() -> i64 {
            $crate::raw::hand_out($crate::metadata_json(
                $name,
                $version,
                $jurisdiction,
                &[$($governs),*],
            ))
        }

        /// The policy's metadata, as `policy_metadata` returns it.
        pub fn metadata() -> Vec<u8> {
            $crate::metadata_json($name, $version, $jurisdiction, &[$($governs),*])
        }
    };
}

/// The guest's allocator: a bump allocator that never frees. Every evaluation runs in a
/// fresh instance whose memory is thrown away afterwards, so freeing is wasted work; the
/// host's memory cap bounds what one evaluation may take.
#[cfg(target_arch = "wasm32")]
mod bump {
    use core::alloc::{GlobalAlloc, Layout};
    use core::sync::atomic::{AtomicUsize, Ordering};

    const PAGE: usize = 65536;

    unsafe extern "C" {
        /// Where the linker put the end of the module's stack and data: the heap starts
        /// here, inside the memory the module starts with, which the host keeps resident.
        static __heap_base: u8;
    }

    pub struct Bump {
        next: AtomicUsize,
    }

    // SAFETY: a wasm32 instance is single-threaded (the host enables no threads); the
    // atomics only satisfy `Sync`.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let mut next = self.next.load(Ordering::Relaxed);
            if next == 0 {
                next = core::ptr::addr_of!(__heap_base) as usize;
            }
            let start = (next + layout.align() - 1) & !(layout.align() - 1);
            let Some(end) = start.checked_add(layout.size()) else {
                return core::ptr::null_mut();
            };
            let have = core::arch::wasm32::memory_size(0) * PAGE;
            if end > have {
                let pages = (end - have).div_ceil(PAGE);
                if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                    return core::ptr::null_mut();
                }
            }
            self.next.store(end, Ordering::Relaxed);
            start as *mut u8
        }

        unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
    }

    #[global_allocator]
    static ALLOCATOR: Bump = Bump {
        next: AtomicUsize::new(0),
    };
}
