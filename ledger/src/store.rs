//! The redb file: its tables, its format version, and reads from a consistent snapshot.
//!
//! Everything lives in one redb file. The entries are the truth; every other table is
//! derived from them (and `verify` checks that it is) or signed (checkpoints):
//!
//! | table | key -> value | what |
//! |---|---|---|
//! | `meta` | name -> bytes | format version, origin, log public key, root authority |
//! | `entries` | index -> JCS bytes | the log, byte-exact |
//! | `merkle_nodes` | (level, index) -> hash | every complete subtree, level 0 = leaves |
//! | `stream_entries` | (stream, version) -> index | each stream's entries in order |
//! | `event_ids` | event id -> (content digest, index) | idempotency |
//! | `checkpoints` | tree size -> signed note | every checkpoint ever signed |
//! | `policy_blobs` | SHA-256 hex -> bytes | policy modules, their data files and every decision's input, by hash |
//!
//! A stream's head (its last version and entry) is the last `stream_entries` row of
//! the stream: one range read, and no table to keep in step. The projections' tables
//! (`projections`, `serial_index`) are described in `projections`.
//!
//! INVARIANT: entries are only ever inserted at the next index; no row of the log's tables
//! above is ever updated or deleted, only inserted. Only the projections, derived data
//! that `verify` rebuilds and compares, are rewritten.

use redb::{ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition};

use crate::entry::Entry;
use crate::merkle::{self, GenError, Hash, NodeId, NodeSource};

/// The on-disk format this code writes; a change of any table's layout or of the entry
/// format bumps it. Version 2 added the projections (`projections`, `serial_index`);
/// version 3 the `policy_blobs` table, broker registrations and met policy requirements
/// in the projections; version 4 dropped `serial_suffixes` (partial search's index is held
/// in memory) and gave each `serial_index` row the index of the weapon's first entry.
pub const FORMAT_VERSION: u32 = 4;

/// The oldest format this code still reads. `Ledger::open` upgrades an older file in place
/// by building its projections from its log; the log's tables are the same.
pub const FORMAT_VERSION_OLDEST: u32 = 1;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
pub(crate) const NODES: TableDefinition<(u8, u64), [u8; 32]> = TableDefinition::new("merkle_nodes");
pub(crate) const STREAM_ENTRIES: TableDefinition<(&str, u64), u64> =
    TableDefinition::new("stream_entries");
pub(crate) const EVENT_IDS: TableDefinition<u128, ([u8; 32], u64)> =
    TableDefinition::new("event_ids");
pub(crate) const CHECKPOINTS: TableDefinition<u64, &str> = TableDefinition::new("checkpoints");
/// Content-addressed side data of policies. Not in the tree: the entries commit to the
/// hashes (a `PolicyInstalled`'s `module_sha256`, a decision's `input_sha256`), so a blob
/// is checked by hashing it, and a file without its blobs still verifies.
pub(crate) const POLICY_BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("policy_blobs");

pub(crate) const META_FORMAT: &str = "format_version";
pub(crate) const META_ORIGIN: &str = "origin";
pub(crate) const META_LOG_KEY: &str = "log_public_key";
pub(crate) const META_ROOT: &str = "root_authority";

/// An operating error of the store (not a rejection of an event).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage: {0}")]
    Redb(#[from] redb::Error),
    #[error("the ledger file is damaged: {0}")]
    Corrupt(String),
    #[error(
        "the ledger file has format version {found}; this build reads versions {FORMAT_VERSION_OLDEST} to {FORMAT_VERSION}"
    )]
    FormatVersion { found: u32 },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Redb(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Why a proof could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofRequestError {
    #[error("tree size {requested} is beyond the log's {size} entries")]
    BeyondLog { requested: u64, size: u64 },
    /// The arguments do not describe a proof (e.g. index >= tree size).
    #[error(transparent)]
    Invalid(#[from] merkle::ProofError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProofRequestError {
    pub fn code(&self) -> &'static str {
        match self {
            ProofRequestError::BeyondLog { .. } => "tree_size_beyond_log",
            ProofRequestError::Invalid(e) => e.code(),
            ProofRequestError::Store(_) => "storage_error",
        }
    }
}

impl From<GenError<StoreError>> for ProofRequestError {
    fn from(e: GenError<StoreError>) -> Self {
        match e {
            GenError::Proof(p) => ProofRequestError::Invalid(p),
            GenError::Source(s) => ProofRequestError::Store(s),
        }
    }
}

/// The facts fixed at genesis, read from `meta`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMeta {
    pub format_version: u32,
    /// The checkpoint origin, also the name of the log's note key.
    pub origin: String,
    pub log_public_key: crate::crypto::PublicKey,
    pub root_authority: String,
}

pub(crate) fn read_meta(txn: &ReadTransaction) -> Result<LogMeta, StoreError> {
    let table = txn.open_table(META)?;
    let get = |name: &str| -> Result<Vec<u8>, StoreError> {
        table
            .get(name)?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| StoreError::Corrupt(format!("meta has no {name}")))
    };
    let format = get(META_FORMAT)?;
    let found = <[u8; 4]>::try_from(format.as_slice())
        .map(u32::from_be_bytes)
        .map_err(|_| StoreError::Corrupt("format_version is not 4 bytes".into()))?;
    if !(FORMAT_VERSION_OLDEST..=FORMAT_VERSION).contains(&found) {
        return Err(StoreError::FormatVersion { found });
    }
    let text = |name: &str| {
        String::from_utf8(get(name)?)
            .map_err(|_| StoreError::Corrupt(format!("meta {name} is not UTF-8")))
    };
    let key: [u8; 32] = get(META_LOG_KEY)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("log public key is not 32 bytes".into()))?;
    Ok(LogMeta {
        format_version: found,
        origin: text(META_ORIGIN)?,
        log_public_key: crate::crypto::PublicKey::from_bytes(&key)
            .map_err(|e| StoreError::Corrupt(format!("log public key: {e}")))?,
        root_authority: text(META_ROOT)?,
    })
}

/// Hashes of complete subtrees, read from `merkle_nodes`.
pub(crate) struct TableNodes<'t, T>(pub &'t T);

impl<T: ReadableTable<(u8, u64), [u8; 32]>> NodeSource for TableNodes<'_, T> {
    type Error = StoreError;
    fn node(&mut self, id: NodeId) -> Result<Hash, StoreError> {
        self.0
            .get((id.level, id.index))?
            .map(|v| v.value())
            .ok_or_else(|| StoreError::Corrupt(format!("merkle node {id:?} is missing")))
    }
}

/// The last entry of a stream, from the `stream_entries` table.
pub(crate) fn stream_head(
    table: &impl ReadableTable<(&'static str, u64), u64>,
    stream: &str,
) -> Result<Option<StreamHead>, StoreError> {
    let last = table.range((stream, 0)..=(stream, u64::MAX))?.next_back();
    last.map(|row| {
        let (key, index) = row?;
        Ok(StreamHead {
            version: key.value().1,
            index: index.value(),
        })
    })
    .transpose()
}

/// Where a stream stands: its last version and the index of its last entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamHead {
    pub version: u64,
    pub index: u64,
}

/// A consistent read-only view of the log at one moment (a redb read transaction):
/// everything read through one reader belongs to the same tree.
pub struct LogReader {
    pub(crate) txn: ReadTransaction,
    /// The ledger's cache of decoded views, for readers of a running ledger.
    pub(crate) views: Option<std::sync::Arc<crate::view_cache::ViewCache>>,
    /// The running ledger's index of partial serial search; a reader without one loads
    /// its own from its snapshot when it first needs it.
    pub(crate) serial_grams: Option<std::sync::Arc<crate::serial_grams::SerialGrams>>,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogReader")
    }
}

impl LogReader {
    pub(crate) fn begin(db: &redb::Database) -> Result<Self, StoreError> {
        Ok(Self {
            txn: db.begin_read()?,
            views: None,
            serial_grams: None,
        })
    }

    pub(crate) fn with_view_cache(
        mut self,
        views: std::sync::Arc<crate::view_cache::ViewCache>,
    ) -> Self {
        self.views = Some(views);
        self
    }

    /// Opens a reader on a file that no process is writing (e.g. a copy), read-only.
    pub fn open_file(path: &std::path::Path) -> Result<Self, StoreError> {
        let db = redb::ReadOnlyDatabase::open(path)?;
        Ok(Self {
            txn: db.begin_read()?,
            views: None,
            serial_grams: None,
        })
    }

    pub fn meta(&self) -> Result<LogMeta, StoreError> {
        read_meta(&self.txn)
    }

    /// Number of entries in the log.
    pub fn tree_size(&self) -> Result<u64, StoreError> {
        let table = self.txn.open_table(ENTRIES)?;
        match table.last()? {
            None => Ok(0),
            Some((k, _)) => k
                .value()
                .checked_add(1)
                .ok_or_else(|| StoreError::Corrupt("an entry has index u64::MAX".into())),
        }
    }

    /// The stored bytes of one entry.
    pub fn entry_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.txn.open_table(ENTRIES)?;
        Ok(table.get(index)?.map(|v| v.value().to_vec()))
    }

    pub fn entry(&self, index: u64) -> Result<Option<Entry>, StoreError> {
        self.entry_bytes(index)?
            .map(|b| {
                Entry::parse(&b).map_err(|e| StoreError::Corrupt(format!("entry {index}: {e}")))
            })
            .transpose()
    }

    /// Up to `limit` entries' bytes from `from` on, in order.
    pub fn entries_bytes(&self, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let table = self.txn.open_table(ENTRIES)?;
        // Sized up front for a rebuild's chunk, not beyond: a caller's limit can be large.
        let mut out = Vec::with_capacity(limit.min(8192));
        for row in table.range(from..)?.take(limit) {
            out.push(row?.1.value().to_vec());
        }
        Ok(out)
    }

    pub fn stream_head(&self, stream: &str) -> Result<Option<StreamHead>, StoreError> {
        stream_head(&self.txn.open_table(STREAM_ENTRIES)?, stream)
    }

    /// Indexes of a stream's entries from `from_version` on, in stream order.
    pub fn stream_indexes(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let table = self.txn.open_table(STREAM_ENTRIES)?;
        let mut out = Vec::new();
        for row in table
            .range((stream, from_version)..=(stream, u64::MAX))?
            .take(limit)
        {
            out.push(row?.1.value());
        }
        Ok(out)
    }

    /// Indexes of the entries of every stream whose name starts with `prefix`, sorted.
    pub(crate) fn indexes_with_stream_prefix(&self, prefix: &str) -> Result<Vec<u64>, StoreError> {
        let table = self.txn.open_table(STREAM_ENTRIES)?;
        let mut out = Vec::new();
        for row in table.range((prefix, 0)..)? {
            let (k, v) = row?;
            if !k.value().0.starts_with(prefix) {
                break;
            }
            out.push(v.value());
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The newest checkpoint: (tree size, signed note).
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let table = self.txn.open_table(CHECKPOINTS)?;
        Ok(table
            .last()?
            .map(|(k, v)| (k.value(), v.value().to_owned())))
    }

    /// A policy blob (module, data file or decision input) by its SHA-256 hex.
    pub fn policy_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let table = match self.txn.open_table(POLICY_BLOBS) {
            Ok(table) => table,
            // A file from before format 3, or one that never stored a blob.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(table.get(sha256)?.map(|v| v.value().to_vec()))
    }

    /// Whether a policy blob is stored, without copying it out.
    pub fn has_policy_blob(&self, sha256: &str) -> Result<bool, StoreError> {
        let table = match self.txn.open_table(POLICY_BLOBS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        Ok(table.get(sha256)?.is_some())
    }

    /// The checkpoint signed at exactly this tree size, if one was.
    pub fn checkpoint(&self, tree_size: u64) -> Result<Option<String>, StoreError> {
        let table = self.txn.open_table(CHECKPOINTS)?;
        Ok(table.get(tree_size)?.map(|v| v.value().to_owned()))
    }

    /// Sizes of all stored checkpoints, ascending.
    pub fn checkpoint_sizes(&self) -> Result<Vec<u64>, StoreError> {
        let table = self.txn.open_table(CHECKPOINTS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            out.push(row?.0.value());
        }
        Ok(out)
    }

    pub fn leaf_hash(&self, index: u64) -> Result<Option<Hash>, StoreError> {
        let table = self.txn.open_table(NODES)?;
        Ok(table.get((0, index))?.map(|v| v.value()))
    }

    /// The Merkle root of the first `tree_size` entries.
    pub fn root(&self, tree_size: u64) -> Result<Hash, ProofRequestError> {
        self.check_size(tree_size)?;
        let table = self.txn.open_table(NODES).map_err(StoreError::from)?;
        Ok(merkle::root(&mut TableNodes(&table), tree_size)?)
    }

    /// RFC 9162 inclusion proof of entry `index` in the tree of `tree_size` entries.
    pub fn inclusion_proof(
        &self,
        index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, ProofRequestError> {
        self.check_size(tree_size)?;
        let table = self.txn.open_table(NODES).map_err(StoreError::from)?;
        Ok(merkle::inclusion_proof(
            &mut TableNodes(&table),
            index,
            tree_size,
        )?)
    }

    /// RFC 9162 consistency proof between the trees of `size1` and `size2` entries.
    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<Vec<Hash>, ProofRequestError> {
        self.check_size(size2)?;
        let table = self.txn.open_table(NODES).map_err(StoreError::from)?;
        Ok(merkle::consistency_proof(
            &mut TableNodes(&table),
            size1,
            size2,
        )?)
    }

    /// A digest of every row of every table: two files with the same digest hold the
    /// same ledger, whatever their page layout (for comparing copies and replicas).
    pub fn content_digest(&self) -> Result<Hash, StoreError> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut row = |table: &str, key: &[u8], value: &[u8]| {
            for part in [table.as_bytes(), key, value] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part);
            }
        };
        for r in self.txn.open_table(META)?.iter()? {
            let (k, v) = r?;
            row("meta", k.value().as_bytes(), v.value());
        }
        for r in self.txn.open_table(ENTRIES)?.iter()? {
            let (k, v) = r?;
            row("entries", &k.value().to_be_bytes(), v.value());
        }
        for r in self.txn.open_table(NODES)?.iter()? {
            let (k, v) = r?;
            let (level, index) = k.value();
            row(
                "nodes",
                &[&[level][..], &index.to_be_bytes()].concat(),
                &v.value(),
            );
        }
        for r in self.txn.open_table(STREAM_ENTRIES)?.iter()? {
            let (k, v) = r?;
            let (stream, version) = k.value();
            row(
                "stream_entries",
                &[stream.as_bytes(), &version.to_be_bytes()].concat(),
                &v.value().to_be_bytes(),
            );
        }
        for r in self.txn.open_table(EVENT_IDS)?.iter()? {
            let (k, v) = r?;
            let (digest, index) = v.value();
            row(
                "event_ids",
                &k.value().to_be_bytes(),
                &[&digest[..], &index.to_be_bytes()].concat(),
            );
        }
        for r in self.txn.open_table(CHECKPOINTS)?.iter()? {
            let (k, v) = r?;
            row(
                "checkpoints",
                &k.value().to_be_bytes(),
                v.value().as_bytes(),
            );
        }
        // Format 3's side table, when the file has one (older files' digests stay).
        match self.txn.open_table(POLICY_BLOBS) {
            Ok(blobs) => {
                for r in blobs.iter()? {
                    let (k, v) = r?;
                    row("policy_blobs", k.value().as_bytes(), v.value());
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(h.finalize().into())
    }

    fn check_size(&self, tree_size: u64) -> Result<(), ProofRequestError> {
        let size = self.tree_size()?;
        if tree_size > size {
            return Err(ProofRequestError::BeyondLog {
                requested: tree_size,
                size,
            });
        }
        Ok(())
    }
}
