//! Excel releases (.xlsx): agencies often answer records requests with a workbook. Each
//! sheet is streamed cell by cell (calamine) into a temporary CSV, then audited like any
//! CSV export, its rows numbered as the sheet numbers them. Memory is one row and the
//! workbook's shared-string table, never the whole sheet.
use std::io::{BufWriter, Write};
use std::path::Path;

use calamine::{open_workbook, DataRef, Reader, Xlsx};

use crate::columns::{ColumnMap, Resolved};
use crate::error::AuditError;
use crate::input::Source;

fn bad(path: &Path, why: impl std::fmt::Display) -> AuditError {
    AuditError::NotThisFormat {
        path: path.to_path_buf(),
        why: format!("cannot read it as an Excel workbook (.xlsx): {why}"),
    }
}

/// Rows looked at for a sheet's header: a release often puts a title, a date or a note
/// above it.
const HEADER_SEARCH_ROWS: usize = 20;

/// A workbook's sheets that hold an audit, and what was said of the others.
pub struct Workbook {
    pub sheets: Vec<Source>,
    /// Sheets not read (no audit header) and rows above a header, each in a sentence.
    pub notes: Vec<String>,
}

/// Opens every sheet of a workbook that has an audit header (a reason, organization or
/// search-time column, as `map` and the known layouts name them) in its first rows, as a
/// CSV source named `path [sheet]`. Other sheets (notes, a cover page) are named in the
/// notes, not read; a workbook with no such sheet is an error listing its sheets.
pub fn open_workbook_sheets(path: &Path, map: &ColumnMap) -> Result<Workbook, AuditError> {
    let mut book: Xlsx<_> = open_workbook(path).map_err(|e| bad(path, e))?;
    let names = book.sheet_names();
    let mut out = Workbook {
        sheets: Vec::new(),
        notes: Vec::new(),
    };
    let mut without = Vec::new();
    for name in names {
        let tmp = tempfile::NamedTempFile::new().map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let label = format!("{} [{name}]", path.display());
        match convert_sheet(&mut book, &name, tmp.as_file(), path, map)? {
            Sheet::Empty => {}
            Sheet::NoHeader { first } => {
                out.notes.push(format!(
                    "{label}: not read: no reason, organization or search-time column in its first {HEADER_SEARCH_ROWS} rows (its first row: {first})"
                ));
                without.push(name);
            }
            Sheet::Converted { first_row, above } => {
                if !above.is_empty() {
                    out.notes.push(format!(
                        "{label}: {} row(s) above the header were not read as searches: {}",
                        above.len(),
                        above.join(" | ")
                    ));
                }
                out.sheets.push(Source::open_converted(
                    path,
                    label,
                    tmp.into_temp_path(),
                    first_row,
                )?);
            }
        }
    }
    if out.sheets.is_empty() {
        let why = if without.is_empty() {
            "every sheet is empty".to_string()
        } else {
            format!(
                "no sheet has an audit header (a reason, organization or search-time column) in its first {HEADER_SEARCH_ROWS} rows; sheets: {}",
                without.join(", ")
            )
        };
        return Err(bad(path, why));
    }
    Ok(out)
}

/// What converting one sheet found.
enum Sheet {
    Empty,
    NoHeader {
        first: String,
    },
    /// Written as CSV from its header on; `first_row` is the sheet row (1-based) after the
    /// header, `above` the text of the rows above it.
    Converted {
        first_row: u64,
        above: Vec<String>,
    },
}

/// Writes one sheet as CSV from its header row on: the first of its first rows whose
/// columns name a reason, an organization or a search time.
fn convert_sheet<RS: std::io::Read + std::io::Seek>(
    book: &mut Xlsx<RS>,
    sheet: &str,
    file: &std::fs::File,
    path: &Path,
    map: &ColumnMap,
) -> Result<Sheet, AuditError> {
    let mut cells = book
        .worksheet_cells_reader(sheet)
        .map_err(|e| bad(path, e))?;
    let mut w = Writer {
        csv: csv::Writer::from_writer(BufWriter::new(file)),
        path,
        map,
        header: None,
        width: 0,
        above: Vec::new(),
    };
    let mut row: Vec<String> = Vec::new();
    let mut current: Option<u32> = None;
    while let Some(cell) = cells.next_cell().map_err(|e| bad(path, e))? {
        let (r, c) = cell.get_position();
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        if current != Some(r) {
            if let Some(prev) = current {
                if !w.row(prev, &mut row, r)? {
                    return Ok(w.no_header());
                }
            }
            current = Some(r);
        }
        let c = c as usize;
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = text;
    }
    let Some(last) = current else {
        return Ok(Sheet::Empty);
    };
    if !w.row(last, &mut row, last + 1)? || w.header.is_none() {
        return Ok(w.no_header());
    }
    w.csv.flush().map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Sheet::Converted {
        first_row: u64::from(w.header.unwrap_or(last)) + 2,
        above: w.above,
    })
}

/// A sheet being written: rows before the header are held back until one names a column
/// the audit reads.
struct Writer<'a, W: Write> {
    csv: csv::Writer<W>,
    path: &'a Path,
    map: &'a ColumnMap,
    /// The header's sheet row (0-based), once found.
    header: Option<u32>,
    width: usize,
    above: Vec<String>,
}

impl<W: Write> Writer<'_, W> {
    /// Takes sheet row `r` (0-based), the next non-empty one being `next`; `false` when no
    /// header was found in the rows looked at.
    fn row(&mut self, r: u32, row: &mut Vec<String>, next: u32) -> Result<bool, AuditError> {
        if self.header.is_none() {
            if Resolved::resolve(row, self.map).reads_anything() {
                self.header = Some(r);
                self.width = row.len();
            } else {
                self.above.push(
                    row.iter()
                        .filter(|c| !c.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                row.clear();
                return Ok(self.above.len() < HEADER_SEARCH_ROWS);
            }
        }
        flush(&mut self.csv, row, self.width, self.path)?;
        // Rows with no cells still count, so row numbers stay the sheet's.
        for _ in r + 1..next {
            flush(&mut self.csv, row, self.width, self.path)?;
        }
        Ok(true)
    }

    fn no_header(self) -> Sheet {
        Sheet::NoHeader {
            first: self.above.first().cloned().unwrap_or_default(),
        }
    }
}

/// Writes a row padded to the header's width.
fn flush<W: Write>(
    w: &mut csv::Writer<W>,
    row: &mut Vec<String>,
    width: usize,
    path: &Path,
) -> Result<(), AuditError> {
    // A row wider than the header is written as it is: the audit reports it as damaged,
    // with its sheet row, rather than drop a cell.
    row.resize(width.max(row.len()), String::new());
    w.write_record(row.iter()).map_err(|e| AuditError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    row.clear();
    Ok(())
}

/// A cell as text: numbers as written, dates as ISO 8601 (Excel stores no zone; Flock's
/// are UTC).
fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, mo, da, h, mi, s, _) = d.to_ymd_hms_milli();
            format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}Z")
        }
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}
