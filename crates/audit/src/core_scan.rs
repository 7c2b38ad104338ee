//! The audit's parse-and-screen core on its own, for measuring it apart from everything
//! else the whole command does: read a CSV export in the audit's chunks, split every
//! record into all its fields with the audit's splitter, and screen each row's reason
//! and organization with the audit's classifier (its per-worker memory of reasons and
//! organizations included). No summary, no counts by organization or month, no times,
//! no flagged.csv, no report: those are the rest of the whole command.
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

use cordon_policy::Screener;

use crate::classify::Classifier;
use crate::columns::{ColumnMap, Field, Resolved};
use crate::error::AuditError;
use crate::input::{Chunk, Source};
use crate::split::{Record, Splitter};

/// What the core found: enough to check it did the work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreCount {
    pub rows: u64,
    pub fields: u64,
    /// Rows with an immigration reason or by an immigration agency.
    pub flagged: u64,
}

/// Runs the core over one CSV export on `threads` workers.
pub fn scan(path: &Path, threads: usize) -> Result<CoreCount, AuditError> {
    let mut source = Source::open_csv(path, &[])?;
    let columns = Resolved::resolve(source.header().unwrap_or_default(), &ColumnMap::default());
    let (reason, org) = (columns.index(Field::Reason), columns.index(Field::Org));
    let screener = Screener::new();
    let threads = threads.max(1);
    // One chunk waiting per worker: with two each, the chunks in flight outgrew the
    // processor's cache and the core ran about a tenth slower (BENCHMARKS.md).
    let (work_tx, work_rx) = sync_channel::<Chunk>(threads);
    let work_rx = Mutex::new(work_rx);
    let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(threads * 2);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (work_rx, spare_tx, screener) = (&work_rx, spare_tx.clone(), &screener);
                s.spawn(move || {
                    let mut classifier = Classifier::new(screener);
                    let mut count = CoreCount::default();
                    while let Some(chunk) = work_rx.lock().ok().and_then(|rx| rx.recv().ok()) {
                        screen_chunk(&chunk, reason, org, &mut classifier, &mut count);
                        let _ = spare_tx.try_send(chunk.bytes);
                    }
                    count
                })
            })
            .collect();
        drop(spare_tx);
        let mut read = Ok(());
        loop {
            while let Ok(bytes) = spare_rx.try_recv() {
                source.recycle(bytes);
            }
            match source.next_chunk() {
                Ok(Some(chunk)) => {
                    if work_tx.send(chunk).is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    read = Err(e);
                    break;
                }
            }
        }
        drop(work_tx);
        let mut total = CoreCount::default();
        for w in workers {
            let c = w.join().unwrap_or_default();
            total.rows += c.rows;
            total.fields += c.fields;
            total.flagged += c.flagged;
        }
        read.map(|()| total)
    })
}

fn screen_chunk(
    chunk: &Chunk,
    reason: Option<usize>,
    org: Option<usize>,
    classifier: &mut Classifier<'_>,
    count: &mut CoreCount,
) {
    let text = std::str::from_utf8(&chunk.bytes).ok();
    let mut split = Splitter::with_delimiter(&chunk.bytes, chunk.delimiter);
    let mut record = Record::new(&chunk.bytes);
    while split.next_record(&mut record) {
        count.rows += 1;
        count.fields += record.len() as u64;
        let field = |i: Option<usize>| -> std::borrow::Cow<'_, str> {
            let Some(i) = i else { return "".into() };
            match text.and_then(|t| record.get_str(t, i)) {
                Some(s) => s.into(),
                None => String::from_utf8_lossy(record.get(i).unwrap_or_default()),
            }
        };
        let findings = classifier.classify(&field(reason), &field(org));
        count.flagged += u64::from(findings.flagged());
    }
}
