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

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ledger::{AppendError, Ledger, PendingAppend};

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

/// Batches submitted and not yet durable: while the writer commits them, the next
/// lines are read and parsed here and their signatures checked by the ledger's verifier
/// stage, instead of each stage waiting for the one after it. With two, the verifier
/// stage ran dry whenever the writer held both (the next batch is parsed only once the
/// oldest is durable); four gave ~9% more records/s, alternated with two (BENCHMARKS.md).
const BATCHES_IN_FLIGHT: usize = 4;

/// A batch of lines on its way into the ledger.
#[derive(Default)]
struct Batch {
    /// Line numbers of the events submitted, with what the ledger will answer for each.
    events: Vec<(u64, PendingAppend)>,
    /// Lines refused before submission (not a signed event).
    unparsed: Vec<(u64, &'static str, String)>,
    /// The last line read into this batch, and the bytes read up to its end.
    last_line: u64,
    bytes_read: u64,
}

impl Batch {
    /// Submits `events`, the batch's parsed lines, each an append of its own so that a
    /// refused event holds back none of the others, in file order (waiting while the
    /// ledger's queue is full); `last_line` and `bytes_read` say where the batch ends.
    fn submitted(
        mut self,
        ledger: &Ledger,
        events: Vec<(u64, ledger::Received)>,
        last_line: u64,
        bytes_read: u64,
    ) -> anyhow::Result<Self> {
        if !events.is_empty() {
            let (lines, events): (Vec<u64>, Vec<ledger::Received>) = events.into_iter().unzip();
            let pending = ledger
                .submit_each(events)
                .context("the ledger failed; run the import again to resume")?;
            self.events = lines.into_iter().zip(pending).collect();
        }
        self.last_line = last_line;
        self.bytes_read = bytes_read;
        Ok(self)
    }
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
    let batch = batch.clamp(1, ledger.config().batch_events_max);
    let reader = BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut summary = ImportSummary {
        resumed_after: done,
        ..ImportSummary::default()
    };
    // Batches end in the order they were submitted (the ledger has one queue and one
    // writer), so refusals are listed in line order and the progress file only ever
    // names a line before which everything is durable.
    let mut finish = |done: Batch| -> anyhow::Result<()> {
        let mut refusals = done.unparsed;
        for (line, pending) in done.events {
            match pending.wait() {
                Ok(receipts) if receipts.iter().all(|r| r.duplicate) => summary.duplicates += 1,
                Ok(_) => summary.appended += 1,
                Err(AppendError::Rejected(r)) => {
                    refusals.push((line, r.rejection.code(), r.rejection.to_string()))
                }
                Err(other) => {
                    return Err(other).context("the ledger failed; run the import again to resume");
                }
            }
        }
        refusals.sort_by_key(|(line, ..)| *line);
        for (line, code, message) in refusals {
            summary.refuse(line, code, message);
        }
        record_progress(&progress, done.last_line)?;
        report(done.bytes_read);
        Ok(())
    };
    let mut in_flight: VecDeque<Batch> = VecDeque::with_capacity(BATCHES_IN_FLIGHT + 1);
    let mut filling = Batch::default();
    let mut parsed: Vec<(u64, ledger::Received)> = Vec::with_capacity(batch);
    let mut lines = 0_u64;
    let mut bytes_read = 0_u64;
    let mut line_number = 0_u64;
    for line in reader.split(b'\n') {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        line_number += 1;
        bytes_read += line.len() as u64 + 1;
        if line_number <= done || line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        match ledger.parse_received(line) {
            Ok(event) => parsed.push((line_number, event)),
            Err(r) => filling
                .unparsed
                .push((line_number, r.code(), r.to_string())),
        }
        if parsed.len() == batch {
            let events = std::mem::take(&mut parsed);
            let full = std::mem::take(&mut filling);
            in_flight.push_back(full.submitted(ledger, events, line_number, bytes_read)?);
            if in_flight.len() > BATCHES_IN_FLIGHT
                && let Some(oldest) = in_flight.pop_front()
            {
                finish(oldest)?;
            }
        }
    }
    in_flight.push_back(filling.submitted(ledger, parsed, line_number, bytes_read)?);
    while let Some(oldest) = in_flight.pop_front() {
        finish(oldest)?;
    }
    summary.lines = lines;
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
