//! Strict verification from precomputed multiples, for the base point and for the keys that
//! sign most.
//!
//! Checking a signature comes down to computing `[S]B - [k]A` and comparing its encoding with
//! R. ed25519-dalek computes that from scratch every time: a double-scalar multiplication of
//! ~250 doublings plus additions. For a point known in advance, a table of its multiples
//! `d·256^i·P` (d = 1..=128, i = 0..32) turns multiplying it by a scalar into at most 32
//! additions, one per byte of the scalar written in signed digits; the entries are kept in the
//! affine form that is cheapest to add ([`curve`]: seven field multiplications an addition
//! instead of dalek's nine). The base point always has a table; an authority key gets one
//! once it has checked [`BUILD_AFTER`] signatures in this process, up to [`TABLES_MAX`] keys
//! (480 KiB each). When all are taken, a table changes
//! hands only if its key has been idle for [`IDLE_BEFORE_EVICTION`]: with more busy keys than
//! tables, the first busy ones keep theirs and the others are checked as before, instead of
//! all of them rebuilding tables in turn. Measured on this machine, one core, 64 checks at a
//! time as the ledger makes them: 2.7-3.0 times dalek's `verify_strict` rate (BENCHMARKS.md).
//!
//! Nothing about *which* signatures are accepted changes. The point computed is the same,
//! from the same integers (S, already checked below L, and k = SHA-512(R || A || M) reduced
//! mod L, as dalek reduces it), by other additions in the same group, and its canonical
//! encoding is compared with the R bytes exactly as dalek's `verify` does. That holds for
//! every key, also one with a torsion component, where the integer value of k matters: the
//! differential test in `crypto` holds this path to dalek's `verify_strict` on honest,
//! mixed-order and crafted signatures. The table lookups depend on S and k only, which are
//! public, so their timing leaks nothing.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use curve25519_dalek::Scalar;
use sha2::{Digest as _, Sha512};

use super::curve::{self, Extended, Niels};
use super::{PublicKey, Signature};

/// Signatures a key checks before it gets a table: building one (2.4 ms here) costs about as
/// much as 140 checks with tables and pays for itself after about 80, so a key seen once or
/// twice (a foreign note, a test vector) never pays it and a busy key pays it once.
pub(crate) const BUILD_AFTER: u32 = 32;
/// Keys holding a table at once.
pub(crate) const TABLES_MAX: usize = 32;
/// How long a key must go unused before its table may go to another key: a rotated or
/// retired key gives its table up, a busy one keeps it.
pub(crate) const IDLE_BEFORE_EVICTION: Duration = Duration::from_secs(10);
/// Keys being counted towards [`BUILD_AFTER`]; past this the counts start over, so a stream of
/// distinct keys cannot grow the map.
const COUNTED_MAX: usize = 4096;

/// One window per byte of a scalar below 2^253 written in signed base-256 digits.
const WINDOWS: usize = 32;
/// Digits run from -127 to 128; a negative digit uses the negated entry.
const DIGITS: usize = 128;

/// The multiples `d·256^i·P` of one point, for d = 1..=128 and i = 0..32, in the affine
/// form that is cheapest to add ([`Niels`]).
pub(crate) struct Multiples {
    points: Box<[Niels]>,
}

impl std::fmt::Debug for Multiples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multiples")
            .field("points", &self.points.len())
            .finish()
    }
}

impl Multiples {
    /// The table of `key`'s point: the point dalek decoded it to, re-encoded canonically,
    /// so it always decodes (`None` would only leave the key without a table).
    pub(crate) fn of_key(key: &PublicKey) -> Option<Self> {
        Extended::decode(key.0.to_edwards().compress().as_bytes()).map(|point| Self::of(&point))
    }

    /// The table of `point` (2.4 ms here, 480 KiB).
    pub(crate) fn of(point: &Extended) -> Self {
        let mut points = Vec::with_capacity(WINDOWS * DIGITS);
        let mut window_base = *point;
        for _ in 0..WINDOWS {
            let base = window_base.niels();
            let mut multiple = window_base;
            points.push(multiple);
            for _ in 1..DIGITS {
                multiple = multiple.add(&base);
                points.push(multiple);
            }
            // The last entry is 128·base; twice that is the next window's base, 256·base.
            window_base = multiple.add(&multiple.niels());
        }
        Self {
            points: curve::niels_all(&points).into_boxed_slice(),
        }
    }

    /// `acc + [scalar]P`, or `acc - [scalar]P` when `subtract`.
    fn add_multiple(&self, mut acc: Extended, scalar: &Scalar, subtract: bool) -> Extended {
        // A Scalar is reduced below L < 2^253, so the top byte is at most 0x1f and the carry
        // out of it is always absorbed: 32 signed digits represent it exactly.
        let mut carry = 0i16;
        for (window, &byte) in scalar.as_bytes().iter().enumerate() {
            let mut digit = i16::from(byte) + carry;
            carry = 0;
            if digit > DIGITS as i16 {
                digit -= 256;
                carry = 1;
            }
            if digit == 0 {
                continue;
            }
            let entry = &self.points[window * DIGITS + usize::from(digit.unsigned_abs()) - 1];
            acc = if (digit < 0) == subtract {
                acc.add(entry)
            } else {
                acc.sub(entry)
            };
        }
        acc
    }
}

/// The table of the base point B, built on first use.
static BASEPOINT: LazyLock<Multiples> = LazyLock::new(|| Multiples::of(&curve::BASEPOINT));

/// `[S]B - [k]A` with `k = SHA-512(R || A || M)`, `key_multiples` being the table of `key`:
/// what R must be for `sig` to verify. Many of them are encoded at once with one field
/// inversion ([`curve::encode_all`]). The caller does the checks that are not this equation
/// (R not of small order; S < L is a [`Signature`] invariant; A's order was checked when the
/// key was parsed).
pub(crate) fn computed_r(
    key_multiples: &Multiples,
    key: &PublicKey,
    message: &[u8],
    sig: &Signature,
) -> Extended {
    let digest: [u8; 64] = Sha512::new()
        .chain_update(sig.r_bytes())
        .chain_update(key.as_bytes())
        .chain_update(message)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&digest);
    let s_b = BASEPOINT.add_multiple(Extended::IDENTITY, &sig.s(), false);
    key_multiples.add_multiple(s_b, &k, true)
}

/// Which keys have tables, and how often the others have been used.
#[derive(Debug)]
pub(crate) struct KeyTables {
    state: Mutex<TablesState>,
    idle_before_eviction: Duration,
}

#[derive(Debug, Default)]
struct TablesState {
    by_key: HashMap<[u8; 32], Slot>,
}

#[derive(Debug)]
enum Slot {
    Counting(u32),
    /// One thread is building the table; the others verify without it meanwhile.
    Building,
    Ready {
        multiples: Arc<Multiples>,
        last_used: Instant,
    },
}

/// The process's tables: every verification of the ledger goes through [`KeyTables::lookup`].
pub(crate) static KEY_TABLES: LazyLock<KeyTables> =
    LazyLock::new(|| KeyTables::new(IDLE_BEFORE_EVICTION));

impl KeyTables {
    pub(crate) fn new(idle_before_eviction: Duration) -> Self {
        Self {
            state: Mutex::default(),
            idle_before_eviction,
        }
    }

    /// The table of `key` if it has one; otherwise counts this use, and builds the table (on
    /// this thread, outside the lock) when the count reaches [`BUILD_AFTER`] and a table is
    /// free or idle.
    pub(crate) fn lookup(&self, key: &PublicKey) -> Option<Arc<Multiples>> {
        let bytes = *key.as_bytes();
        let now = Instant::now();
        {
            let mut state = self.lock();
            let uses = match state.by_key.get_mut(&bytes) {
                Some(Slot::Ready {
                    multiples,
                    last_used,
                }) => {
                    *last_used = now;
                    return Some(Arc::clone(multiples));
                }
                Some(Slot::Building) => return None,
                Some(Slot::Counting(uses)) => {
                    *uses += 1;
                    *uses
                }
                None => {
                    if state.by_key.len() - state.tables() >= COUNTED_MAX {
                        state
                            .by_key
                            .retain(|_, slot| !matches!(slot, Slot::Counting(_)));
                    }
                    state.by_key.insert(bytes, Slot::Counting(1));
                    1
                }
            };
            if uses < BUILD_AFTER {
                return None;
            }
            if state.tables() == TABLES_MAX && !state.evict_idle(now, self.idle_before_eviction) {
                // No table to spare: count again from zero, and try once more then.
                state.by_key.insert(bytes, Slot::Counting(0));
                return None;
            }
            // The table counts as taken from here on, so that two builders cannot overfill.
            state.by_key.insert(bytes, Slot::Building);
        }
        let Some(multiples) = Multiples::of_key(key).map(Arc::new) else {
            self.lock().by_key.remove(&bytes);
            return None;
        };
        self.lock().by_key.insert(
            bytes,
            Slot::Ready {
                multiples: Arc::clone(&multiples),
                last_used: Instant::now(),
            },
        );
        Some(multiples)
    }

    /// How many keys hold a table now (or are having one built).
    pub(crate) fn tables(&self) -> usize {
        self.lock().tables()
    }

    /// Whether `key` holds a table now.
    #[cfg(test)]
    pub(crate) fn has_table(&self, key: &PublicKey) -> bool {
        matches!(
            self.lock().by_key.get(key.as_bytes()),
            Some(Slot::Ready { .. })
        )
    }

    fn lock(&self) -> MutexGuard<'_, TablesState> {
        // The state is a cache: whatever a panicking thread left is still a valid cache.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TablesState {
    /// Keys holding a table or having one built (a short scan: at most
    /// `TABLES_MAX + COUNTED_MAX` entries, done when a key is new or due a table).
    fn tables(&self) -> usize {
        self.by_key
            .values()
            .filter(|slot| !matches!(slot, Slot::Counting(_)))
            .count()
    }

    /// Frees the table of the least recently used key if it has been unused for `idle` at
    /// `now`; says whether one was freed.
    fn evict_idle(&mut self, now: Instant, idle: Duration) -> bool {
        let oldest = self
            .by_key
            .iter()
            .filter_map(|(key, slot)| match slot {
                Slot::Ready { last_used, .. } => Some((*last_used, *key)),
                _ => None,
            })
            .min();
        match oldest {
            Some((last_used, key)) if now.saturating_duration_since(last_used) >= idle => {
                // Back to counting from zero: a key that is still in use earns a table again.
                self.by_key.remove(&key);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{generate_signing_key, public_key_of, sign};
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::EdwardsPoint;

    fn scalar_from(bytes: [u8; 32]) -> Scalar {
        Scalar::from_bytes_mod_order(bytes)
    }

    /// Scalars whose signed digits hit every edge: 0, 1, digits of 127, 128, 129 and 255
    /// (carries, and carry chains through every byte), L - 1, and pseudo-random ones.
    fn edge_scalars() -> Vec<Scalar> {
        let mut out = vec![Scalar::ZERO, Scalar::ONE, -Scalar::ONE];
        for byte in [0x7f, 0x80, 0x81, 0xff] {
            for window in [0, 1, 15, 30, 31] {
                let mut b = [0u8; 32];
                b[window] = byte;
                out.push(scalar_from(b));
            }
            let mut all = [byte; 32];
            all[31] &= 0x0f;
            out.push(scalar_from(all));
        }
        let mut x = 0x243f_6a88_85a3_08d3u64;
        for _ in 0..40 {
            let mut b = [0u8; 32];
            for byte in &mut b {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *byte = x as u8;
            }
            out.push(scalar_from(b));
        }
        out
    }

    #[test]
    fn multiples_multiply_like_dalek() {
        let key = public_key_of(&generate_signing_key().expect("key"));
        // A point with a torsion component: the integer value of the scalar matters there.
        let mixed = key.0.to_edwards() + curve25519_dalek::constants::EIGHT_TORSION[1];
        let ours = |point: &EdwardsPoint| {
            Extended::decode(point.compress().as_bytes()).expect("a point decodes")
        };
        let start = EdwardsPoint::mul_base(&Scalar::from(7u8));
        for point in [ED25519_BASEPOINT_POINT, key.0.to_edwards(), mixed] {
            let table = Multiples::of(&ours(&point));
            for s in edge_scalars() {
                assert_eq!(
                    table.add_multiple(Extended::IDENTITY, &s, false).encode(),
                    (point * s).compress().to_bytes()
                );
                assert_eq!(
                    table.add_multiple(ours(&start), &s, true).encode(),
                    (start - point * s).compress().to_bytes()
                );
            }
        }
    }

    #[test]
    fn a_key_gets_a_table_after_build_after_uses_and_verifies_the_same() {
        let tables = KeyTables::new(IDLE_BEFORE_EVICTION);
        let signer = generate_signing_key().expect("key");
        let key = public_key_of(&signer);
        for _ in 1..BUILD_AFTER {
            assert!(tables.lookup(&key).is_none());
        }
        let multiples = tables
            .lookup(&key)
            .expect("the table is built at BUILD_AFTER");
        assert!(tables.has_table(&key));
        let sig = sign(&signer, b"event");
        let holds = |key: &PublicKey, message: &[u8]| {
            computed_r(&multiples, key, message, &sig).encode()[..] == *sig.r_bytes()
        };
        assert!(holds(&key, b"event"));
        assert!(!holds(&key, b"Event"));
        let other = public_key_of(&generate_signing_key().expect("key"));
        assert!(!holds(&other, b"event"));
    }

    #[test]
    fn the_least_recently_used_idle_key_gives_its_table_up() {
        // Every key counts as idle at once: the least recently used one goes first.
        let tables = KeyTables::new(Duration::ZERO);
        let keys = fresh_keys(TABLES_MAX + 1);
        for key in &keys[..TABLES_MAX] {
            for _ in 0..BUILD_AFTER {
                tables.lookup(key);
            }
        }
        assert_eq!(tables.tables(), TABLES_MAX);
        // Key 0 is used again, so key 1 is now the least recently used.
        assert!(tables.lookup(&keys[0]).is_some());
        for _ in 0..BUILD_AFTER {
            tables.lookup(&keys[TABLES_MAX]);
        }
        assert_eq!(tables.tables(), TABLES_MAX);
        assert!(tables.has_table(&keys[0]));
        assert!(!tables.has_table(&keys[1]));
        assert!(tables.has_table(&keys[TABLES_MAX]));
        // Evicted, it counts again from zero.
        assert!(tables.lookup(&keys[1]).is_none());
    }

    #[test]
    fn busy_keys_keep_their_tables() {
        let tables = KeyTables::new(Duration::from_secs(3600));
        let keys = fresh_keys(TABLES_MAX + 1);
        for key in &keys[..TABLES_MAX] {
            for _ in 0..BUILD_AFTER {
                tables.lookup(key);
            }
        }
        let newcomer = &keys[TABLES_MAX];
        for _ in 0..3 * BUILD_AFTER {
            assert!(tables.lookup(newcomer).is_none());
        }
        assert_eq!(tables.tables(), TABLES_MAX);
        assert!(keys[..TABLES_MAX].iter().all(|key| tables.has_table(key)));
    }

    fn fresh_keys(n: usize) -> Vec<PublicKey> {
        (0..n)
            .map(|_| public_key_of(&generate_signing_key().expect("key")))
            .collect()
    }

    #[test]
    fn counted_keys_are_bounded() {
        let tables = KeyTables::new(IDLE_BEFORE_EVICTION);
        let hot = public_key_of(&generate_signing_key().expect("key"));
        for _ in 0..BUILD_AFTER {
            tables.lookup(&hot);
        }
        for _ in 0..COUNTED_MAX + 10 {
            tables.lookup(&public_key_of(&generate_signing_key().expect("key")));
        }
        let state = tables.lock();
        assert!(
            state.by_key.len() <= COUNTED_MAX + 1,
            "{}",
            state.by_key.len()
        );
        assert!(matches!(
            state.by_key.get(hot.as_bytes()),
            Some(Slot::Ready { .. })
        ));
    }
}
