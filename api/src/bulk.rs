//! Bulk import and export of signed events as JSON Lines (one signed event per line).
//!
//! `import` appends a file's events in batches through the ledger's ordinary rules, so an
//! imported event is judged like any other; what is refused is counted by code and the
//! first refusals are listed with their line. It is idempotent (an event already in the
//! log is a duplicate, not a second entry) and resumable: after each durable batch it
//! records in a progress file how many lines are done, and a new run starts after them.
//! Legacy registries (records of companies that closed, typed-in paper registers) come in
//! this way as `LegacyRecordImported` events.
//!
//! `export` writes the signed events of a ledger in log order, ready to import elsewhere.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ledger::event::{EventLimits, SignedEvent};
use ledger::{AppendError, Ledger};

/// How many refusals the summary lists one by one.
pub const REFUSALS_LISTED_MAX: usize = 20;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Lines skipped because an earlier run had done them.
    pub resumed_after: u64,
    pub lines: u64,
    pub appended: u64,
    /// Events already in the log (a repeated import).
    pub duplicates: u64,
    pub refused_by_code: BTreeMap<&'static str, u64>,
    /// (line, code, message) of the first refusals.
    pub refusals: Vec<(u64, &'static str, String)>,
}

impl ImportSummary {
    fn refuse(&mut self, line: u64, code: &'static str, message: String) {
        *self.refused_by_code.entry(code).or_default() += 1;
        if self.refusals.len() < REFUSALS_LISTED_MAX {
            self.refusals.push((line, code, message));
        }
    }

    pub fn refused(&self) -> u64 {
        self.refused_by_code.values().sum()
    }
}

/// The progress file of an import: `<file>.import-progress`, holding the lines done.
pub fn progress_file(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".import-progress");
    PathBuf::from(name)
}

fn lines_done(progress: &Path) -> anyhow::Result<u64> {
    match std::fs::read_to_string(progress) {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("{} is not a line count", progress.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn record_progress(progress: &Path, lines: u64) -> anyhow::Result<()> {
    let temporary = progress.with_extension("tmp");
    std::fs::write(&temporary, format!("{lines}\n"))?;
    std::fs::rename(&temporary, progress)?;
    Ok(())
}

/// Appends a batch, setting aside refused events one at a time (a batch is all or
/// nothing in the ledger; an import wants everything that may go in).
fn append_all(
    ledger: &Ledger,
    mut batch: Vec<(u64, SignedEvent)>,
    summary: &mut ImportSummary,
) -> anyhow::Result<()> {
    while !batch.is_empty() {
        let events = batch.iter().map(|(_, e)| e.clone()).collect();
        match ledger.append_batch(events) {
            Ok(receipts) => {
                for receipt in receipts {
                    if receipt.duplicate {
                        summary.duplicates += 1;
                    } else {
                        summary.appended += 1;
                    }
                }
                return Ok(());
            }
            Err(AppendError::Rejected(r)) => {
                let position = r.position.min(batch.len() - 1);
                let (line, _) = batch.remove(position);
                summary.refuse(line, r.rejection.code(), r.rejection.to_string());
            }
            Err(AppendError::Overloaded) => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            Err(other) => {
                return Err(other).context("the ledger failed; run the import again to resume");
            }
        }
    }
    Ok(())
}

/// Imports `file` into the open ledger, `batch` events per commit. `report` is called
/// after each batch with the bytes read so far.
pub fn import(
    ledger: &Ledger,
    file: &Path,
    batch: usize,
    mut report: impl FnMut(u64),
) -> anyhow::Result<ImportSummary> {
    let progress = progress_file(file);
    let done = lines_done(&progress)?;
    let limits: EventLimits = ledger.config().event_limits;
    let batch = batch.clamp(1, ledger.config().batch_events_max);
    let reader = BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut summary = ImportSummary {
        resumed_after: done,
        ..ImportSummary::default()
    };
    let mut pending: Vec<(u64, SignedEvent)> = Vec::with_capacity(batch);
    let mut bytes_read = 0_u64;
    let mut line_number = 0_u64;
    for line in reader.split(b'\n') {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        line_number += 1;
        bytes_read += line.len() as u64 + 1;
        if line_number <= done || line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        summary.lines += 1;
        match SignedEvent::parse(&line, &limits) {
            Ok(event) => pending.push((line_number, event)),
            Err(r) => summary.refuse(line_number, r.code(), r.to_string()),
        }
        if pending.len() == batch {
            append_all(ledger, std::mem::take(&mut pending), &mut summary)?;
            record_progress(&progress, line_number)?;
            report(bytes_read);
        }
    }
    append_all(ledger, pending, &mut summary)?;
    record_progress(&progress, line_number)?;
    report(bytes_read);
    Ok(summary)
}

/// Writes the signed events of the ledger file at `db` from entry `from` on, one per line.
/// Returns how many.
pub fn export(db: &Path, from: u64, out: &mut dyn Write) -> anyhow::Result<u64> {
    let reader = ledger::store::LogReader::open_file(db)
        .with_context(|| format!("opening {}", db.display()))?;
    let size = reader.tree_size()?;
    let mut next = from;
    let mut written = 0;
    while next < size {
        let rows = reader.entries_bytes(next, 1000)?;
        for bytes in &rows {
            let entry = ledger::entry::Entry::parse(bytes)
                .map_err(|e| anyhow::anyhow!("entry {next}: {e}"))?;
            out.write_all(&entry.event.to_canonical_vec())?;
            out.write_all(b"\n")?;
            next += 1;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}
