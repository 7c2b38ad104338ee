//! The audit pipeline: open every export, read it in chunks, classify the chunks on worker
//! threads, and write flagged.csv (in input order), summary.json and report.html.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use cordon_policy::Screener;

use crate::checks::{check_file, Layout};
use crate::classify::Classifier;
use crate::columns::{layout_name, ColumnMap, Field, Resolved};
use crate::distinct::IdSet;
use crate::error::AuditError;
use crate::input::{Chunk, Source};
use crate::rows::{
    classify_row, tally_csv, tally_json, write_flagged, CellTally, Cells, ChunkResult, Fields,
    RowContext,
};
use crate::summary::{FileReport, Summary};

/// How the warning for a file that is not all UTF-8 begins.
const NOT_UTF8: &str = "some of this file's text is not UTF-8 and was read as Windows-1252";

/// Row errors listed per file before the rest are only counted.
const MAX_ERRORS_LISTED: usize = 50;

/// What kind of export a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A Flock audit export (CSV; every known layout recognized from its header).
    Flock,
    /// Any CSV, with `--map` naming columns the header does not (Flock names are known).
    Csv,
    /// An Excel workbook (.xlsx): each sheet with a recognizable header is read as a CSV.
    Xlsx,
    /// One JSON object per line, with `--map` naming the fields.
    Jsonl,
    /// A Cordon log directory: verified in full, then its decision entries read as JSON
    /// (reason `request.purpose.reason`, org `request.principal.agency`, time `time`),
    /// and the searches `cordon audit archive` kept (`search.reason`, `search.org`, ...).
    Cordon,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Flock => "flock",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Jsonl => "jsonl",
            Format::Cordon => "cordon",
        }
    }

    /// The format a file's name suggests when none is given.
    pub fn guess(path: &Path) -> Format {
        if is_cordon_log(path) {
            return Format::Cordon;
        }
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson") => Format::Jsonl,
            Some("xlsx" | "xlsm") => Format::Xlsx,
            _ => Format::Flock,
        }
    }
}

/// Whether a directory is a Cordon log (it holds the key recorded at creation).
fn is_cordon_log(path: &Path) -> bool {
    path.is_dir() && path.join(cordon_log::log::VKEY_FILE).exists()
}

/// Extensions of the export files read from a directory.
const EXPORT_EXTENSIONS: [&str; 6] = ["csv", "tsv", "xlsx", "xlsm", "jsonl", "ndjson"];

/// The inputs with every directory that is not a Cordon log replaced by the export files
/// in it and in the folders below it (sorted by name). Other files in them are named in
/// the warnings; a file named twice (or reached twice) is read once and said; a folder
/// with no export in it is an error, since an audit of nothing looks like a clean one.
fn expand(inputs: &[PathBuf], summary: &mut Summary) -> (Vec<PathBuf>, usize) {
    let mut out = Vec::new();
    let mut errors = 0;
    let mut visited = std::collections::HashSet::new();
    for p in inputs {
        if !p.is_dir() || is_cordon_log(p) {
            out.push(p.clone());
            continue;
        }
        let before = out.len();
        if !walk(p, &mut out, &mut visited, summary) {
            summary.warnings.push(format!(
                "{}: already read as part of a folder named before it; read once",
                p.display()
            ));
            continue;
        }
        if out.len() == before {
            errors += 1;
            summary.files.push(FileReport {
                path: p.display().to_string(),
                format: "folder".into(),
                errors: vec![
                    "no .csv, .tsv, .xlsx, .xlsm, .jsonl or .ndjson file in this folder or the folders in it: nothing was audited".into(),
                ],
                ..FileReport::default()
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| {
        let first = seen.insert(file_identity(f));
        if !first {
            summary.warnings.push(format!(
                "{}: named more than once (or a link to a file named before); read once, so its rows are not counted twice",
                f.display()
            ));
        }
        first
    });
    drop_identical_copies(&mut out, summary);
    (out, errors)
}

/// What makes two names one file: its device and inode (a hard link, a symbolic link or
/// another spelling of the path are all the same file), or its path when that cannot be
/// read.
fn file_identity(f: &Path) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(f) {
        Ok(m) => (m.dev(), m.ino(), PathBuf::new()),
        Err(_) => (0, 0, f.to_path_buf()),
    }
}

/// Drops a file whose bytes are those of one before it (`export (1).csv`, a copy saved
/// twice): in a layout without a search id its searches would be counted twice. Only files
/// of equal size are hashed.
fn drop_identical_copies(files: &mut Vec<PathBuf>, summary: &mut Summary) {
    use sha2::{Digest, Sha256};
    let size = |f: &PathBuf| {
        std::fs::metadata(f)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    let mut by_size: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    for f in files.iter() {
        if let Some(n) = size(f) {
            *by_size.entry(n).or_default() += 1;
        }
    }
    let mut hashes: std::collections::HashMap<[u8; 32], PathBuf> = std::collections::HashMap::new();
    files.retain(|f| {
        let Some(n) = size(f).filter(|n| by_size.get(n).is_some_and(|c| *c > 1)) else {
            return true;
        };
        let Ok(mut file) = File::open(f) else {
            return true;
        };
        let mut h = Sha256::new();
        if std::io::copy(&mut file, &mut h).is_err() {
            return true;
        }
        let digest: [u8; 32] = h.finalize().into();
        match hashes.get(&digest) {
            Some(earlier) => {
                summary.warnings.push(format!(
                    "{}: the same {n} bytes as {}, so a copy of it; read once, so its rows are not counted twice",
                    f.display(),
                    earlier.display()
                ));
                false
            }
            None => {
                hashes.insert(digest, f.clone());
                true
            }
        }
    });
}

/// Adds the exports in `dir` and its folders to `out`, in name order; `visited` keeps a
/// folder reached again through a link from being read forever. False when `dir` was
/// read already.
fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    visited: &mut std::collections::HashSet<PathBuf>,
    summary: &mut Summary,
) -> bool {
    if !visited.insert(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())) {
        return false;
    }
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            summary
                .warnings
                .push(format!("{}: not read ({e})", dir.display()));
            return true;
        }
    };
    found.sort();
    for f in found {
        if f.is_dir() {
            if is_cordon_log(&f) {
                out.push(f);
            } else {
                walk(&f, out, visited, summary);
            }
            continue;
        }
        let ext = f
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if EXPORT_EXTENSIONS.contains(&ext.as_str()) {
            out.push(f);
        } else {
            summary.warnings.push(format!(
                "{}: not read (not a .csv, .tsv, .xlsx, .xlsm, .jsonl or .ndjson file; name it on the command line to read it)",
                f.display()
            ));
        }
    }
    true
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
    /// The organization of every row of a file that has no organization column (a
    /// transparency-portal audit is one agency's).
    pub org: Option<String>,
}

pub struct AuditOutcome {
    pub summary: Summary,
    /// Files or rows that could not be read; the audit covers the rest.
    pub errors: usize,
    /// Files in which a key column (time, organization, reason) could not be read at all.
    pub incomplete: usize,
}

/// One opened input and how to read its fields.
struct Opened {
    source: Source,
    format: Format,
    columns: Resolved,
    /// Column names (CSV) or JSON keys in `Field::ALL` order.
    names: Vec<String>,
    /// For CSV: where each of its columns goes in flagged.csv's union header.
    placement: Vec<usize>,
    width: usize,
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
    let mut incomplete = 0;
    let mut union: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let (paths, unreadable_folders) = expand(&opts.files, &mut summary);
    errors += unreadable_folders;
    for path in &paths {
        let format = opts.format.unwrap_or_else(|| Format::guess(path));
        match open(path, format, opts, &mut union, &mut summary.warnings) {
            Ok(o) => opened.extend(o),
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
    let mut ids = IdSet::default();
    for o in opened {
        let names = o.names.clone();
        let columns = o.columns.clone();
        let json = o.source.header().is_none();
        let (tally, mut report) = audit_file(
            o,
            union.len(),
            opts.org.as_deref(),
            &opts.map,
            &screener,
            opts.threads.max(1),
            &mut out,
            &mut summary,
            &mut ids,
            progress,
        )
        .map_err(werr)?;
        errors += report.errors.len();
        let layout = Layout {
            columns: &columns,
            names: &names,
            json,
            org_given: opts.org.is_some(),
            map: &opts.map,
        };
        if check_file(&mut report, &layout, &tally) {
            incomplete += 1;
        }
        summary.warnings.extend(
            report
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", report.path)),
        );
        for c in &report.unmapped_columns {
            if !summary.unmapped_columns.contains(c) {
                summary.unmapped_columns.push(c.clone());
            }
        }
        summary.files.push(report);
    }
    out.flush().map_err(werr)?;
    summary.searches = ids.finish().map_err(|source| AuditError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    summary.finish();
    write_outputs(&opts.out, &summary)?;
    Ok(AuditOutcome {
        summary,
        errors,
        incomplete,
    })
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

/// Opens an input: one source for a CSV, JSONL file or log; one per readable sheet for a
/// workbook.
fn open(
    path: &Path,
    format: Format,
    opts: &AuditOptions,
    union: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Opened>, AuditError> {
    let sources = match format {
        Format::Jsonl => vec![Source::open_jsonl(path)?],
        Format::Flock | Format::Csv => vec![Source::open_csv(path, &opts.map.names())?],
        Format::Xlsx => {
            let book = crate::xlsx::open_workbook_sheets(path, &opts.map)?;
            warnings.extend(book.notes);
            book.sheets
        }
        Format::Cordon => vec![match &opts.log_key {
            Some(key) => Source::open_log(path, key)?,
            None => Source::open_log(path, &recorded_key(path)?)?,
        }],
    };
    sources
        .into_iter()
        .map(|s| opened(s, format, opts, union))
        .collect()
}

fn opened(
    source: Source,
    format: Format,
    opts: &AuditOptions,
    union: &mut Vec<String>,
) -> Result<Opened, AuditError> {
    let map = &opts.map;
    let (columns, names, placement, width) = match source.header() {
        Some(header) => {
            let columns = Resolved::resolve(header, map);
            if !columns.reads_anything() {
                return Err(AuditError::MissingColumn {
                    path: source.path().to_path_buf(),
                    column: map.get(Field::Reason).unwrap_or("Reason").to_string(),
                    key: "reason".into(),
                    found: format!(
                        "this is not an audit export Cordon knows: no reason, organization or search-time column; the header is: {}",
                        header.join(", ")
                    ),
                });
            }
            let placement = header.iter().map(|h| place(union, h)).collect();
            (columns, header.to_vec(), placement, header.len())
        }
        None => {
            let key = |f: Field| {
                map.get(f)
                    .map(str::to_string)
                    .unwrap_or_else(|| json_default(format, f).to_string())
            };
            let names = Field::ALL.iter().map(|f| key(*f)).collect();
            (
                Resolved::all_present(),
                names,
                vec![place(union, "record")],
                0,
            )
        }
    };
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
        names,
        placement,
        width,
    })
}

/// Where a JSON input keeps each field when `--map` does not say.
fn json_default(format: Format, f: Field) -> &'static str {
    match (format, f) {
        (Format::Cordon, Field::Reason) => "request.purpose.reason",
        (Format::Cordon, Field::Org) => "request.principal.agency",
        (Format::Cordon, Field::User) => "request.principal.id",
        (Format::Cordon, Field::Case) => "request.purpose.case",
        (Format::Cordon, Field::Time) => "time",
        (Format::Cordon, _) => "",
        _ => f.key(),
    }
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

/// Reads one file in chunks, classifies them on `threads` workers, writes the flagged
/// rows in input order and merges the counts into `summary`.
#[allow(clippy::too_many_arguments)]
fn audit_file(
    mut o: Opened,
    union_len: usize,
    org: Option<&str>,
    map: &crate::columns::ColumnMap,
    screener: &Screener,
    threads: usize,
    out: &mut (impl Write + Send),
    summary: &mut Summary,
    ids: &mut IdSet,
    progress: &(dyn Fn(&Path, u64) + Sync),
) -> std::io::Result<(Vec<CellTally>, FileReport)> {
    let path = o.source.path().to_path_buf();
    let label = o.source.label();
    // One chunk waiting per worker: with two each, the chunks in flight outgrew the
    // processor's cache and the core ran about a tenth slower (BENCHMARKS.md).
    let (work_tx, work_rx) = sync_channel::<(u64, Chunk)>(threads);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = sync_channel::<(u64, ChunkResult)>(threads * 2);
    let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(threads * 2);
    let csv = o.source.header().is_some();
    let delimiter = o.source.delimiter();
    let rows = RowContext {
        label: &label,
        columns: &o.columns,
        json_keys: &o.names,
        placement: &o.placement,
        union_len,
        org,
    };
    let ctx = ChunkContext {
        csv,
        rows,
        width: o.width,
        decisions_only: (o.format == Format::Cordon).then_some("decision"),
        archive_keys: Field::ALL
            .iter()
            .map(|f| format!("search.{}", f.key()))
            .collect(),
        map,
        header: if csv {
            o.names
                .iter()
                .map(|h| crate::columns::fold_header(h))
                .collect()
        } else {
            Vec::new()
        },
    };
    let tally_width = if csv { o.width } else { Field::ALL.len() };
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (done_tx, spare_tx) = (done_tx.clone(), spare_tx.clone());
            let (work_rx, ctx) = (&work_rx, &ctx);
            s.spawn(move || {
                let mut classifier = Classifier::new(screener);
                while let Some((i, rows)) = next_chunk(work_rx) {
                    let r = classify_chunk(ctx, &mut classifier, &rows, tally_width);
                    // The reader may have enough buffers already; then this one is freed.
                    let _ = spare_tx.try_send(rows.bytes);
                    if done_tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let collector = s.spawn(move || collect(done_rx, out, summary, ids, tally_width));
        let mut read_error = None;
        let mut index = 0u64;
        drop(spare_tx);
        loop {
            while let Ok(bytes) = spare_rx.try_recv() {
                o.source.recycle(bytes);
            }
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
        let (tally, mut report) = collector.join().unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "the output writer stopped unexpectedly",
            ))
        })?;
        report.path.clone_from(&label);
        report.format = o.format.name().into();
        report.layout = if csv && delimiter != b',' {
            format!(
                "{}, separated by {}",
                layout_name(&o.columns),
                crate::delimiter::name(delimiter)
            )
        } else if csv {
            layout_name(&o.columns).to_string()
        } else {
            format!("{} records", o.format.name())
        };
        report.verified = o.verified.clone();
        report.errors.extend(read_error);
        Ok((tally, report))
    })
}

fn next_chunk(rx: &Mutex<Receiver<(u64, Chunk)>>) -> Option<(u64, Chunk)> {
    rx.lock().ok()?.recv().ok()
}

/// Merges chunk results into `summary` and writes their flagged rows in chunk order.
fn collect(
    rx: Receiver<(u64, ChunkResult)>,
    out: &mut (impl Write + Send),
    summary: &mut Summary,
    ids: &mut IdSet,
    tally_width: usize,
) -> std::io::Result<(Vec<CellTally>, FileReport)> {
    let mut pending = std::collections::BTreeMap::new();
    let mut next = 0u64;
    let mut report = FileReport::default();
    let mut tally = vec![CellTally::default(); tally_width];
    let (mut not_searches, mut header_lines) = (0u64, Vec::new());
    for (i, r) in rx {
        pending.insert(i, r);
        while let Some(mut r) = pending.remove(&next) {
            // A JSON export's unknown keys belong to this file's report.
            for key in std::mem::take(&mut r.summary.unmapped_columns) {
                if !report.unmapped_columns.contains(&key) {
                    report.unmapped_columns.push(key);
                }
            }
            out.write_all(&r.flagged_csv)?;
            report.rows += r.summary.rows;
            report.flagged += r.flagged;
            report.other_entries += r.other_entries;
            not_searches += r.not_searches;
            header_lines.extend(r.header_lines.iter().copied());
            if r.not_utf8 && !report.warnings.iter().any(|w| w.starts_with(NOT_UTF8)) {
                report.warnings.push(format!("{NOT_UTF8} (what Excel on Windows saves): accented words and names were read so, and may be misspelled if it is another encoding; save the export as CSV UTF-8 to be sure"));
            }
            let room = MAX_ERRORS_LISTED.saturating_sub(report.errors.len());
            report.errors.extend(r.errors.into_iter().take(room));
            for (a, b) in tally.iter_mut().zip(r.tally.iter()) {
                a.merge(b);
            }
            ids.add_chunk(r.ids)?;
            summary.merge(r.summary);
            next += 1;
        }
    }
    if not_searches > 0 {
        report.warnings.push(format!(
            "{not_searches} row(s) held no search (blank, or one cell such as a \"Total\" or \"Exported by\" line) and were not counted"
        ));
    }
    if !header_lines.is_empty() {
        let shown: Vec<String> = header_lines.iter().take(10).map(u64::to_string).collect();
        report.warnings.push(format!(
            "{} row(s) repeat the header (files joined into one, or a second table) and were not counted: line(s) {}",
            header_lines.len(),
            shown.join(", ")
        ));
    }
    Ok((tally, report))
}

struct ChunkContext<'a> {
    /// CSV records, or JSON lines.
    csv: bool,
    rows: RowContext<'a>,
    width: usize,
    /// For a Cordon log: only entries holding this key are access decisions; the others
    /// (register entries, for one) are counted but not screened.
    decisions_only: Option<&'a str>,
    /// For a Cordon log: where an archive entry (`cordon audit archive`) keeps each field.
    archive_keys: Vec<String>,
    /// For a JSON-lines export: the column map its keys are matched with.
    map: &'a crate::columns::ColumnMap,
    /// For a CSV: its header's names folded by `fold_header`, to know a row that repeats it.
    header: Vec<String>,
}

fn classify_chunk(
    ctx: &ChunkContext<'_>,
    classifier: &mut Classifier<'_>,
    chunk: &Chunk,
    tally_width: usize,
) -> ChunkResult {
    let mut r = ChunkResult {
        summary: Summary::default(),
        not_utf8: false,
        not_searches: 0,
        header_lines: Vec::new(),
        ids: Default::default(),
        flagged_csv: Vec::new(),
        flagged: 0,
        errors: Vec::new(),
        other_entries: 0,
        tally: vec![CellTally::default(); tally_width],
    };
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    if ctx.csv {
        csv_chunk(ctx, classifier, chunk, &mut r, &mut w);
    } else {
        json_chunk(ctx, classifier, chunk, &mut r, &mut w);
    }
    r.flagged_csv = w.into_inner().unwrap_or_default();
    r.ids.seal();
    r.summary.seal();
    r
}

fn csv_chunk(
    ctx: &ChunkContext<'_>,
    classifier: &mut Classifier<'_>,
    chunk: &Chunk,
    r: &mut ChunkResult,
    w: &mut csv::Writer<Vec<u8>>,
) {
    let mut split = crate::split::Splitter::with_delimiter(&chunk.bytes, chunk.delimiter);
    let mut lines = crate::split::Lines::default();
    let mut record = crate::split::Record::new(&chunk.bytes);
    // Checked once per chunk, so that fields can be read as text without checking each.
    let text = std::str::from_utf8(&chunk.bytes).ok();
    r.not_utf8 = text.is_none();
    let mut k = 0u64;
    while split.next_record(&mut record) {
        let line = |lines: &mut crate::split::Lines| {
            chunk.line_of(k, lines.line_of(&chunk.bytes, record.start()))
        };
        // A stray quote joins the lines after it into one record; when the fields still
        // number the header's, the joined rows would be read as one row in silence.
        let joined = record.has_stray_quote()
            && lines_spanned(&chunk.bytes, record.start(), split.position()) > 0;
        if record.len() != ctx.width || joined {
            let first = line(&mut lines);
            let spans = lines_spanned(&chunk.bytes, record.start(), split.position());
            let over = if spans > 0 {
                format!(
                    "; it runs over lines {first}–{}: a stray quote in it took in the {spans} line(s) after it, whose rows are lost with it",
                    first + spans
                )
            } else {
                String::new()
            };
            let what = if record.len() == ctx.width {
                "a quote in it is not closed where a field ends, so lines were joined".to_string()
            } else {
                format!(
                    "has {} fields where the header has {} (a truncated or damaged row)",
                    record.len(),
                    ctx.width
                )
            };
            r.errors
                .push(format!("line {first}: {what}{over}; skipped"));
            k += 1;
            continue;
        }
        let fields = Fields::from_csv(ctx.rows.columns, &record, text);
        if holds_no_search(&fields, &record) {
            r.not_searches += 1;
            k += 1;
            continue;
        }
        if repeats_header(ctx, &fields, &record) {
            let line = line(&mut lines);
            r.header_lines.push(line);
            k += 1;
            continue;
        }
        let (bad, findings, reason) =
            classify_row(&ctx.rows, classifier, &mut r.summary, &mut r.ids, &fields);
        tally_csv(ctx.rows.columns, &record, bad, &mut r.tally);
        if findings.flagged() {
            r.flagged += 1;
            let line = line(&mut lines);
            let _ = write_flagged(w, &ctx.rows, line, Cells::Csv(&record), &reason, &findings);
        }
        k += 1;
    }
}

/// A row with no search in it: no reason, organization, time or id, and at most one cell
/// of anything (a blank row a workbook kept, a "Total: 2" or "Exported by" line, which
/// often stands in the first column, the user's).
fn holds_no_search(fields: &Fields<'_>, record: &crate::split::Record<'_>) -> bool {
    let key_blank = [Field::Reason, Field::Org, Field::Time, Field::Id]
        .iter()
        .all(|f| fields.get(*f).trim().is_empty());
    key_blank && record.iter().filter(|c| !c.trim_ascii().is_empty()).count() <= 1
}

/// A row that spells the header again (exports joined one after another, or a second
/// table on a sheet): checked in full only when its reason or time cell names its column.
fn repeats_header(
    ctx: &ChunkContext<'_>,
    fields: &Fields<'_>,
    record: &crate::split::Record<'_>,
) -> bool {
    let names_its_column = [Field::Reason, Field::Time].iter().any(|f| {
        ctx.rows.columns.index(*f).is_some_and(|c| {
            ctx.header
                .get(c)
                .is_some_and(|h| crate::columns::folds_to(fields.get(*f), h))
        })
    });
    names_its_column
        && record.len() == ctx.header.len()
        && record
            .iter()
            .zip(&ctx.header)
            .all(|(cell, h)| crate::columns::folds_to(&String::from_utf8_lossy(cell), h))
}

/// Line breaks (LF, CRLF or a lone CR) inside the record read from `start` to `end`, its
/// own final one not counted: more than none only when a quoted field holds them.
fn lines_spanned(bytes: &[u8], start: usize, end: usize) -> u64 {
    let from = crate::split::first_content(bytes, start);
    let body = bytes.get(from..end).unwrap_or_default();
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let lone_crs = memchr::memchr_iter(b'\r', body)
        .filter(|&i| body.get(i + 1) != Some(&b'\n'))
        .count();
    crate::split::count_byte(body, b'\n') + lone_crs as u64
}

/// How every archive entry begins (its first field is `archive`, the format version).
const ARCHIVE_ENTRY: &str = "{\"archive\":";

fn json_chunk(
    ctx: &ChunkContext<'_>,
    classifier: &mut Classifier<'_>,
    chunk: &Chunk,
    r: &mut ChunkResult,
    w: &mut csv::Writer<Vec<u8>>,
) {
    let mut keys = Vec::new();
    for (k, raw) in chunk.bytes.split(|&b| b == b'\n').enumerate() {
        let line = chunk.first_line + k as u64;
        let text = match std::str::from_utf8(raw) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            // As for a CSV: Windows-1252, said once per file.
            Err(_) => {
                r.not_utf8 = true;
                std::borrow::Cow::Owned(crate::cells::windows_1252(raw))
            }
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let archived = ctx.decisions_only.is_some() && text.starts_with(ARCHIVE_ENTRY);
        let read = if archived {
            Fields::from_json(&ctx.archive_keys, Some("search"), text)
        } else if ctx.decisions_only.is_some() {
            Fields::from_json(ctx.rows.json_keys, ctx.decisions_only, text)
        } else {
            Fields::from_json_export(text, ctx.map, &mut keys, &mut r.summary.unmapped_columns)
                .map(Some)
        };
        match read {
            Ok(None) => r.other_entries += 1,
            Ok(Some(fields)) => {
                let (bad, findings, reason) =
                    classify_row(&ctx.rows, classifier, &mut r.summary, &mut r.ids, &fields);
                tally_json(&fields, bad, &mut r.tally);
                if findings.flagged() {
                    r.flagged += 1;
                    let _ =
                        write_flagged(w, &ctx.rows, line, Cells::Json(text), &reason, &findings);
                }
            }
            Err(why) => r.errors.push(format!("line {line}: {why}; skipped")),
        }
    }
}
