//! The limits every evaluation runs under, each named with its unit.

use serde::{Deserialize, Serialize};

/// Limits of the policy host. The defaults leave a real policy (tens of thousands of
/// fuel units, about a MiB of memory) two orders of magnitude of room, and stop a runaway
/// one in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostLimits {
    /// WebAssembly fuel per evaluation (about one unit per instruction): deterministic,
    /// so a replay stops at the same point.
    pub fuel_per_evaluation: u64,
    /// Wall-clock backstop per evaluation, in milliseconds (epoch interruption), for what
    /// fuel does not count.
    pub deadline_ms: u64,
    /// Linear memory one instance may grow to, in bytes; growing past it traps.
    pub memory_bytes_max: usize,
    /// The WebAssembly call stack, in bytes.
    pub stack_bytes_max: usize,
    /// The largest decision a policy may return, in bytes.
    pub output_bytes_max: usize,
    /// Instances that may run at the same time (pooling allocator slots).
    pub concurrent_instances_max: u32,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            fuel_per_evaluation: 10_000_000,
            deadline_ms: 100,
            memory_bytes_max: 16 << 20,
            stack_bytes_max: 512 << 10,
            output_bytes_max: 1 << 20,
            concurrent_instances_max: 32,
        }
    }
}

/// How often the host's clock thread advances the engine's epoch.
pub(crate) const EPOCH_TICK_MS: u64 = 5;

impl HostLimits {
    /// The deadline in epoch ticks (at least one).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        self.deadline_ms.div_ceil(EPOCH_TICK_MS).max(1)
    }
}
