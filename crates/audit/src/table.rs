//! An export read whole into rows of text, for the commands that look at rows one by one
//! (reconcile, archive) rather than stream them through the audit's workers. Memory is
//! the export's text, once: these commands read one agency's export or one portal window.
use std::path::Path;

use crate::cells::{cell_state, CellState};
use crate::columns::{ColumnMap, Field, Resolved};
use crate::error::AuditError;
use crate::input::Source;

/// One sheet or CSV file.
pub struct Table {
    /// The file (and sheet) it came from, as the report names it.
    pub label: String,
    pub header: Vec<String>,
    pub columns: Resolved,
    pub rows: Vec<Row>,
    /// Rows whose field count differs from the header's, by line: skipped.
    pub damaged: Vec<u64>,
}

/// One record and the line (or sheet row) it starts on.
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

impl Table {
    /// The cell of `row` that holds `field`, or "" when the export has no such column.
    pub fn get<'r>(&self, row: &'r Row, field: Field) -> &'r str {
        self.columns
            .index(field)
            .and_then(|i| row.cells.get(i))
            .map_or("", String::as_str)
    }

    /// The cell holding `field` when it holds a value (not blank, not masked).
    pub fn value<'r>(&self, row: &'r Row, field: Field) -> Option<&'r str> {
        let v = self.get(row, field).trim();
        (cell_state(v) == CellState::Value).then_some(v)
    }
}

/// Reads a CSV export, or every sheet of an .xlsx workbook, whole.
pub fn read_file(path: &Path, map: &ColumnMap) -> Result<Vec<Table>, AuditError> {
    let is_xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx") || e.eq_ignore_ascii_case("xlsm"));
    let sources = if is_xlsx {
        // Sheets with no audit header are not searches to reconcile; they are left out.
        crate::xlsx::open_workbook_sheets(path, map)?.sheets
    } else {
        vec![Source::open_csv(path, &map.names())?]
    };
    sources.into_iter().map(|s| from_source(s, map)).collect()
}

/// Reads CSV text already in memory (a download), named `label`.
pub fn read_csv_text(label: &str, text: &[u8], map: &ColumnMap) -> Result<Table, AuditError> {
    let not_csv = |why: String| AuditError::NotThisFormat {
        path: label.into(),
        why,
    };
    let delimiter = crate::delimiter::sniff(text, &map.names());
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text);
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| not_csv(format!("cannot read a CSV header: {e}")))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let mut table = new_table(label.to_string(), header, map)?;
    let mut record = csv::ByteRecord::new();
    let mut lines = crate::split::Lines::default();
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| not_csv(format!("not a readable CSV: {e}")))?
    {
        let start = record.position().map_or(0, |p| p.byte());
        let line = lines.line_of(text, usize::try_from(start).unwrap_or(usize::MAX));
        push(&mut table, line, &record);
    }
    Ok(table)
}

fn from_source(mut source: Source, map: &ColumnMap) -> Result<Table, AuditError> {
    let header = source.header().map(<[String]>::to_vec).unwrap_or_default();
    let mut table = new_table(source.label(), header, map)?;
    while let Some(chunk) = source.next_chunk()? {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(chunk.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(chunk.bytes.as_slice());
        let mut record = csv::ByteRecord::new();
        let mut k = 0;
        let mut lines = crate::split::Lines::default();
        while let Ok(true) = reader.read_byte_record(&mut record) {
            let start = record.position().map_or(0, |p| p.byte());
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            let line = chunk.line_of(k, lines.line_of(&chunk.bytes, start));
            k += 1;
            push(&mut table, line, &record);
        }
    }
    Ok(table)
}

fn new_table(label: String, header: Vec<String>, map: &ColumnMap) -> Result<Table, AuditError> {
    let columns = Resolved::resolve(&header, map);
    if !columns.reads_anything() {
        return Err(AuditError::NotThisFormat {
            path: label.into(),
            why: format!(
                "not an audit export Cordon knows: no reason, organization or search-time column (the header is: {}); name columns with --map",
                header.join(", ")
            ),
        });
    }
    Ok(Table {
        label,
        header,
        columns,
        rows: Vec::new(),
        damaged: Vec::new(),
    })
}

fn push(table: &mut Table, line: u64, record: &csv::ByteRecord) {
    if record.len() != table.header.len() {
        table.damaged.push(line);
        return;
    }
    table.rows.push(Row {
        line,
        cells: record
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect(),
    });
}
