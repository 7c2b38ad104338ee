//! Excel releases (.xlsx): agencies often answer records requests with a workbook. Each
//! sheet is streamed cell by cell (calamine) into a temporary CSV, then audited like any
//! CSV export, its rows numbered as the sheet numbers them. Memory is one row and the
//! workbook's shared-string table, never the whole sheet.
use std::io::{BufWriter, Write};
use std::path::Path;

use calamine::{open_workbook, DataRef, Reader, Xlsx};

use crate::error::AuditError;
use crate::input::Source;

fn bad(path: &Path, why: impl std::fmt::Display) -> AuditError {
    AuditError::NotThisFormat {
        path: path.to_path_buf(),
        why: format!("cannot read it as an Excel workbook (.xlsx): {why}"),
    }
}

/// Opens every non-empty sheet of a workbook as a CSV source named `path [sheet]`.
pub fn open_workbook_sheets(path: &Path) -> Result<Vec<Source>, AuditError> {
    let mut book: Xlsx<_> = open_workbook(path).map_err(|e| bad(path, e))?;
    let names = book.sheet_names();
    let mut out = Vec::new();
    for name in names {
        let tmp = tempfile::NamedTempFile::new().map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let Some(first_row) = convert_sheet(&mut book, &name, tmp.as_file(), path)? else {
            continue;
        };
        let label = format!("{} [{name}]", path.display());
        out.push(Source::open_converted(
            path,
            label,
            tmp.into_temp_path(),
            first_row,
        )?);
    }
    if out.is_empty() {
        return Err(bad(path, "every sheet is empty"));
    }
    Ok(out)
}

/// Writes one sheet as CSV; returns the sheet row (1-based) of the first row after the
/// header, or `None` for an empty sheet.
fn convert_sheet<RS: std::io::Read + std::io::Seek>(
    book: &mut Xlsx<RS>,
    sheet: &str,
    file: &std::fs::File,
    path: &Path,
) -> Result<Option<u64>, AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut cells = book
        .worksheet_cells_reader(sheet)
        .map_err(|e| bad(path, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    let mut row: Vec<String> = Vec::new();
    let mut current: Option<u32> = None;
    let mut header_row = None;
    let mut width = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|e| bad(path, e))? {
        let (r, c) = cell.get_position();
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        if current != Some(r) {
            if let Some(prev) = current {
                flush(&mut w, &mut row, &mut width, header_row.is_none(), path)?;
                header_row.get_or_insert(prev);
                // Rows with no cells still count, so row numbers stay the sheet's.
                for _ in prev + 1..r {
                    flush(&mut w, &mut row, &mut width, false, path)?;
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
        return Ok(None);
    };
    flush(&mut w, &mut row, &mut width, header_row.is_none(), path)?;
    let header = header_row.unwrap_or(last);
    w.flush().map_err(io)?;
    drop(w);
    Ok(Some(u64::from(header) + 2))
}

/// Writes a row padded to the header's width (the header sets it).
fn flush<W: Write>(
    w: &mut csv::Writer<W>,
    row: &mut Vec<String>,
    width: &mut usize,
    is_header: bool,
    path: &Path,
) -> Result<(), AuditError> {
    if is_header {
        *width = row.len();
    }
    // A row wider than the header is written as it is: the audit reports it as damaged,
    // with its sheet row, rather than drop a cell.
    row.resize((*width).max(row.len()), String::new());
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
