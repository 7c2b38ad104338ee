//! The audit pipeline: open every export, read it in chunks, classify the chunks on worker
//! threads, and write flagged.csv (in input order), summary.json and report.html.
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use cordon_policy::Screener;

use crate::classify::{Classifier, RowFindings};
use crate::columns::{ColumnMap, Field, Resolved};
use crate::error::AuditError;
use crate::input::{Chunk, Source};
use crate::summary::{FileReport, RowFacts, Summary};
use crate::time::month_key;

/// Row errors listed per file before the rest are only counted.
const MAX_ERRORS_LISTED: usize = 50;

/// What kind of export a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A Flock network or organization audit export (CSV; headers matched by name).
    Flock,
    /// Any CSV, with `--map` naming at least the reason column (Flock names are the default).
    Csv,
    /// One JSON object per line, with `--map` naming the fields.
    Jsonl,
    /// A Cordon log directory: verified in full, then its decision entries read as JSON
    /// (reason `request.purpose.reason`, org `request.principal.agency`, time `time`).
    Cordon,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Flock => "flock",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Cordon => "cordon",
        }
    }

    /// The format a file's name suggests when none is given.
    fn guess(path: &Path) -> Format {
        if path.is_dir() {
            return Format::Cordon;
        }
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson") => Format::Jsonl,
            _ => Format::Flock,
        }
    }
}

pub struct AuditOptions {
    pub files: Vec<PathBuf>,
    pub format: Option<Format>,
    pub map: ColumnMap,
    pub out: PathBuf,
    pub threads: usize,
    /// The key Cordon logs are verified against; without it, each log's own recorded key
    /// (which proves integrity since that key was recorded, not who holds it).
    pub log_key: Option<cordon_log::Verifier>,
}

pub struct AuditOutcome {
    pub summary: Summary,
    /// Files or rows that could not be read; the audit covers the rest.
    pub errors: usize,
}

/// One opened input and how to read its fields.
struct Opened {
    source: Source,
    format: Format,
    columns: Resolved,
    /// For CSV: where each of its columns goes in flagged.csv's union header.
    placement: Vec<usize>,
    width: usize,
    json_keys: [String; 5],
    /// For a Cordon log: what it was verified against.
    verified: Option<String>,
}

/// Runs the audit; `progress` is told the bytes read so far in the current file.
pub fn audit(
    opts: &AuditOptions,
    progress: &(dyn Fn(&Path, u64) + Sync),
) -> Result<AuditOutcome, AuditError> {
    std::fs::create_dir_all(&opts.out).map_err(|source| AuditError::Io {
        path: opts.out.clone(),
        source,
    })?;
    let mut summary = Summary::default();
    let mut errors = 0;
    let mut union: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    for path in &opts.files {
        let format = opts.format.unwrap_or_else(|| Format::guess(path));
        match open(path, format, opts, &mut union) {
            Ok(o) => opened.push(o),
            Err(e) => {
                errors += 1;
                summary.files.push(FileReport {
                    path: path.display().to_string(),
                    format: format.name().into(),
                    errors: vec![e.to_string()],
                    ..FileReport::default()
                });
            }
        }
    }
    let flagged_path = opts.out.join("flagged.csv");
    let file = File::create(&flagged_path).map_err(|source| AuditError::Io {
        path: flagged_path.clone(),
        source,
    })?;
    let mut out = BufWriter::new(file);
    let mut header = csv::Writer::from_writer(Vec::new());
    let mut cols = vec![
        "source_file".to_string(),
        "line".into(),
        "flags".into(),
        "matched_terms".into(),
    ];
    cols.extend(union.iter().cloned());
    let werr = |e: std::io::Error| AuditError::Io {
        path: flagged_path.clone(),
        source: e,
    };
    header.write_record(&cols).map_err(|e| werr(e.into()))?;
    out.write_all(&header.into_inner().unwrap_or_default())
        .map_err(werr)?;
    let screener = Screener::new();
    for o in opened {
        let (file_summary, report) = audit_file(
            o,
            union.len(),
            &screener,
            opts.threads.max(1),
            &mut out,
            progress,
        )
        .map_err(werr)?;
        errors += report.errors.len();
        summary.merge(file_summary);
        summary.files.push(report);
    }
    out.flush().map_err(werr)?;
    summary.finish();
    write_outputs(&opts.out, &summary)?;
    Ok(AuditOutcome { summary, errors })
}

fn write_outputs(dir: &Path, summary: &Summary) -> Result<(), AuditError> {
    let json = serde_json::to_vec_pretty(summary).unwrap_or_default();
    let html = crate::html::render(summary);
    for (name, data) in [("summary.json", json), ("report.html", html.into_bytes())] {
        let path = dir.join(name);
        std::fs::write(&path, data).map_err(|source| AuditError::Io { path, source })?;
    }
    Ok(())
}

fn open(
    path: &Path,
    format: Format,
    opts: &AuditOptions,
    union: &mut Vec<String>,
) -> Result<Opened, AuditError> {
    let map = &opts.map;
    let source = match format {
        Format::Jsonl => Source::open_jsonl(path)?,
        Format::Flock | Format::Csv => Source::open_csv(path)?,
        Format::Cordon => match &opts.log_key {
            Some(key) => Source::open_log(path, key)?,
            None => Source::open_log(path, &recorded_key(path)?)?,
        },
    };
    let (columns, placement, width) = match source.header() {
        Some(header) => {
            let columns = Resolved::resolve(header, map);
            if columns.index(Field::Reason).is_none() {
                let why = if format == Format::Flock {
                    "this is not a Flock audit export: it has no Reason column"
                } else {
                    "no reason column"
                };
                return Err(AuditError::MissingColumn {
                    path: path.to_path_buf(),
                    column: map.get(Field::Reason).unwrap_or("Reason").to_string(),
                    key: "reason".into(),
                    found: format!("{why}; the header is: {}", header.join(", ")),
                });
            }
            let placement = header.iter().map(|h| place(union, h)).collect();
            (columns, placement, header.len())
        }
        None => (Resolved::default(), vec![place(union, "record")], 0),
    };
    let default_key = |f: Field| match (format, f) {
        (Format::Cordon, Field::Reason) => "request.purpose.reason",
        (Format::Cordon, Field::Org) => "request.principal.agency",
        (Format::Cordon, Field::Networks | Field::Devices) => "",
        _ => f.key(),
    };
    let key = |f: Field| map.get(f).unwrap_or(default_key(f)).to_string();
    let json_keys = [
        key(Field::Reason),
        key(Field::Org),
        key(Field::Time),
        key(Field::Networks),
        key(Field::Devices),
    ];
    let verified = source.log_size().map(|n| {
        let key = match &opts.log_key {
            Some(k) => format!("the key given ({})", k.to_text()),
            None => "the key recorded in the log directory when it was created (pass --vkey to check against a key you hold)".into(),
        };
        format!("a Cordon log of {n} entries, every tile recomputed and its checkpoint signature checked against {key}")
    });
    Ok(Opened {
        verified,
        source,
        format,
        columns,
        placement,
        width,
        json_keys,
    })
}

/// The verifier key a log recorded when it was created.
fn recorded_key(dir: &Path) -> Result<cordon_log::Verifier, AuditError> {
    let path = dir.join(cordon_log::log::VKEY_FILE);
    let unusable = |why: String| AuditError::NotThisFormat {
        path: dir.to_path_buf(),
        why: format!("{why}; pass the log's verifier key with --vkey"),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        unusable(format!(
            "this is not a Cordon log directory ({}: {e})",
            path.display()
        ))
    })?;
    cordon_log::Verifier::parse(text.trim()).map_err(|e| {
        unusable(format!(
            "the recorded key {} is not a verifier key: {e}",
            path.display()
        ))
    })
}

/// The position of column `name` in the union header, adding it if new.
fn place(union: &mut Vec<String>, name: &str) -> usize {
    let name = name.trim_start_matches('\u{feff}');
    if let Some(i) = union.iter().position(|u| u == name) {
        return i;
    }
    union.push(name.to_string());
    union.len() - 1
}

struct ChunkResult {
    summary: Summary,
    flagged_csv: Vec<u8>,
    flagged: u64,
    errors: Vec<String>,
    other_entries: u64,
}

/// Reads one file in chunks, classifies them on `threads` workers, and writes the flagged
/// rows in input order.
fn audit_file(
    mut o: Opened,
    union_len: usize,
    screener: &Screener,
    threads: usize,
    out: &mut (impl Write + Send),
    progress: &(dyn Fn(&Path, u64) + Sync),
) -> std::io::Result<(Summary, FileReport)> {
    let path = o.source.path().to_path_buf();
    let label = path.display().to_string();
    let (work_tx, work_rx) = sync_channel::<(u64, Chunk)>(threads * 2);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = sync_channel::<(u64, ChunkResult)>(threads * 2);
    let json_keys = o.json_keys.clone();
    let csv = o.source.header().is_some();
    let ctx = ChunkContext {
        csv,
        label: &label,
        json_keys: &json_keys,
        columns: &o.columns,
        placement: &o.placement,
        width: o.width,
        union_len,
        decisions_only: (o.format == Format::Cordon).then_some("decision"),
    };
    std::thread::scope(|s| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let (work_rx, ctx) = (&work_rx, &ctx);
            s.spawn(move || {
                let mut classifier = Classifier::new(screener);
                while let Some((i, rows)) = next_chunk(work_rx) {
                    let r = classify_chunk(ctx, &mut classifier, rows);
                    if done_tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let collector = s.spawn(move || collect(done_rx, out));
        let mut read_error = None;
        let mut index = 0u64;
        loop {
            match o.source.next_chunk() {
                Ok(Some(chunk)) => {
                    progress(&path, o.source.bytes_read());
                    if work_tx.send((index, chunk)).is_err() {
                        break;
                    }
                    index += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    // Chunks read before the failure are still audited; the error is reported.
                    read_error = Some(e.to_string());
                    break;
                }
            }
        }
        drop(work_tx);
        let (summary, mut report) = collector.join().unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "the output writer stopped unexpectedly",
            ))
        })?;
        report.path = label.clone();
        report.format = o.format.name().into();
        report.verified = o.verified.clone();
        report.errors.extend(read_error);
        Ok((summary, report))
    })
}

fn next_chunk(rx: &Mutex<Receiver<(u64, Chunk)>>) -> Option<(u64, Chunk)> {
    rx.lock().ok()?.recv().ok()
}

/// Merges chunk results and writes their flagged rows in chunk order.
fn collect(
    rx: Receiver<(u64, ChunkResult)>,
    out: &mut (impl Write + Send),
) -> std::io::Result<(Summary, FileReport)> {
    let mut pending = std::collections::BTreeMap::new();
    let mut next = 0u64;
    let mut summary = Summary::default();
    let mut report = FileReport::default();
    for (i, r) in rx {
        pending.insert(i, r);
        while let Some(r) = pending.remove(&next) {
            out.write_all(&r.flagged_csv)?;
            report.rows += r.summary.rows;
            report.flagged += r.flagged;
            report.other_entries += r.other_entries;
            let room = MAX_ERRORS_LISTED.saturating_sub(report.errors.len());
            report.errors.extend(r.errors.into_iter().take(room));
            summary.merge(r.summary);
            next += 1;
        }
    }
    Ok((summary, report))
}

struct ChunkContext<'a> {
    /// CSV records, or JSON lines.
    csv: bool,
    label: &'a str,
    /// JSON keys for reason, org, time, networks, devices.
    json_keys: &'a [String; 5],
    columns: &'a Resolved,
    placement: &'a [usize],
    width: usize,
    union_len: usize,
    /// For a Cordon log: only entries holding this key are access decisions; the others
    /// (register entries, for one) are counted but not screened.
    decisions_only: Option<&'a str>,
}

fn classify_chunk(
    ctx: &ChunkContext<'_>,
    classifier: &mut Classifier<'_>,
    chunk: Chunk,
) -> ChunkResult {
    let mut r = ChunkResult {
        summary: Summary::default(),
        flagged_csv: Vec::new(),
        flagged: 0,
        errors: Vec::new(),
        other_entries: 0,
    };
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    if ctx.csv {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(chunk.bytes.as_slice());
        let mut record = csv::ByteRecord::new();
        while let Ok(true) = reader.read_byte_record(&mut record) {
            let line = chunk.first_line + record.position().map_or(1, |p| p.line()) - 1;
            if record.len() != ctx.width {
                r.errors.push(format!(
                    "line {line}: has {} fields where the header has {} (a truncated or damaged row); skipped",
                    record.len(),
                    ctx.width
                ));
                continue;
            }
            let fields = csv_fields(ctx.columns, &record);
            let cells = Cells::Csv(&record);
            classify_row(ctx, classifier, &mut r, &mut w, line, &fields, cells);
        }
    } else {
        for (k, raw) in chunk.bytes.split(|&b| b == b'\n').enumerate() {
            let line = chunk.first_line + k as u64;
            let text = String::from_utf8_lossy(raw);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match json_fields(ctx.json_keys, ctx.decisions_only, text) {
                Ok(None) => r.other_entries += 1,
                Ok(Some(fields)) => classify_row(
                    ctx,
                    classifier,
                    &mut r,
                    &mut w,
                    line,
                    &fields,
                    Cells::Json(text),
                ),
                Err(why) => r.errors.push(format!("line {line}: {why}; skipped")),
            }
        }
    }
    r.flagged_csv = w.into_inner().unwrap_or_default();
    r
}

/// The original cells of a row, to copy into flagged.csv.
enum Cells<'a> {
    Csv(&'a csv::ByteRecord),
    Json(&'a str),
}

fn classify_row(
    ctx: &ChunkContext<'_>,
    classifier: &mut Classifier<'_>,
    r: &mut ChunkResult,
    w: &mut csv::Writer<Vec<u8>>,
    line: u64,
    fields: &Fields<'_>,
    cells: Cells<'_>,
) {
    let findings = classifier.classify(&fields.reason, &fields.org);
    let facts = RowFacts {
        reason: &fields.reason,
        org: &fields.org,
        month: month_key(&fields.time),
        networks: count(&fields.networks),
        devices: count(&fields.devices),
    };
    r.summary.add(&facts, &findings);
    if findings.flagged() {
        r.flagged += 1;
        let _ = write_flagged(w, ctx, line, cells, &fields.reason, &findings);
    }
}

struct Fields<'a> {
    reason: Cow<'a, str>,
    org: Cow<'a, str>,
    time: Cow<'a, str>,
    networks: Cow<'a, str>,
    devices: Cow<'a, str>,
}

fn csv_fields<'a>(cols: &Resolved, record: &'a csv::ByteRecord) -> Fields<'a> {
    let get = |f: Field| {
        cols.index(f)
            .and_then(|i| record.get(i))
            .map_or(Cow::Borrowed(""), String::from_utf8_lossy)
    };
    Fields {
        reason: get(Field::Reason),
        org: get(Field::Org),
        time: get(Field::Time),
        networks: get(Field::Networks),
        devices: get(Field::Devices),
    }
}

/// The fields of a JSON record; `None` when it lacks the `required` key. A key is either a
/// top-level key or a dotted path into nested objects (`request.purpose.reason`).
fn json_fields(
    keys: &[String; 5],
    required: Option<&str>,
    text: &str,
) -> Result<Option<Fields<'static>>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    if required.is_some_and(|k| !obj.contains_key(k)) {
        return Ok(None);
    }
    let get = |k: &str| -> Cow<'static, str> {
        match lookup(obj, k) {
            Some(serde_json::Value::String(s)) => Cow::Owned(s.clone()),
            Some(serde_json::Value::Null) | None => Cow::Borrowed(""),
            Some(other) => Cow::Owned(other.to_string()),
        }
    };
    Ok(Some(Fields {
        reason: get(&keys[0]),
        org: get(&keys[1]),
        time: get(&keys[2]),
        networks: get(&keys[3]),
        devices: get(&keys[4]),
    }))
}

fn lookup<'v>(
    obj: &'v serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'v serde_json::Value> {
    if let Some(v) = obj.get(key) {
        return Some(v);
    }
    let (first, rest) = key.split_once('.')?;
    lookup(obj.get(first)?.as_object()?, rest)
}

/// A count as exports write it ("1,234"); redacted or blank counts are unknown.
fn count(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return None;
    }
    s.bytes().filter(u8::is_ascii_digit).try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn write_flagged(
    w: &mut csv::Writer<Vec<u8>>,
    ctx: &ChunkContext<'_>,
    line: u64,
    row: Cells<'_>,
    reason: &str,
    f: &RowFindings,
) -> csv::Result<()> {
    let terms: Vec<&str> = f
        .immigration_terms
        .iter()
        .filter_map(|(a, b)| reason.get(*a as usize..*b as usize))
        .collect();
    let mut cells: Vec<Vec<u8>> = vec![Vec::new(); 4 + ctx.union_len];
    cells[0] = ctx.label.as_bytes().to_vec();
    cells[1] = line.to_string().into_bytes();
    cells[2] = f.flag_names().join(";").into_bytes();
    cells[3] = terms.join(";").into_bytes();
    match row {
        Cells::Csv(record) => {
            for (i, field) in record.iter().enumerate() {
                if let Some(&pos) = ctx.placement.get(i) {
                    cells[4 + pos] = field.to_vec();
                }
            }
        }
        Cells::Json(text) => {
            if let Some(&pos) = ctx.placement.first() {
                cells[4 + pos] = text.as_bytes().to_vec();
            }
        }
    }
    w.write_record(&cells)
}
