//! Opening an export: refusing binary files, reading its header, and cutting the rest into
//! chunks that end on record boundaries, so that workers can parse them in parallel.
//! Records stay bytes: invalid UTF-8 is replaced only where a field is read, and carried
//! through verbatim otherwise.
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::split::{count_byte, count_two_bytes};

/// The longest record read: memory stays bounded whatever a file holds.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// Bytes read per block; a chunk is at least this large unless the file ends.
const BLOCK: usize = 4 << 20;

/// How much of a file's start is read to find the byte between its fields.
const HEAD_BYTES: u64 = 64 << 10;

/// Buffers kept for reuse; more are freed.
const MAX_SPARE: usize = 8;

/// A run of whole records (or, at the end of a damaged file, what remains of the last).
pub struct Chunk {
    /// The line on which the chunk's first record starts (for a workbook sheet: its row).
    pub first_line: u64,
    pub bytes: Vec<u8>,
    /// Rows are numbered by record (a workbook's rows), not by line of text.
    pub records: bool,
    /// The byte between fields (see [`crate::delimiter`]).
    pub delimiter: u8,
}

impl Chunk {
    /// The line (or sheet row) of the chunk's `k`th record, which starts on line
    /// `line_in_chunk` (1-based) of the chunk's text.
    pub fn line_of(&self, k: u64, line_in_chunk: u64) -> u64 {
        if self.records {
            self.first_line + k
        } else {
            self.first_line + line_in_chunk - 1
        }
    }
}

/// An open export.
pub struct Source {
    path: PathBuf,
    /// How the source is named in the report and flagged.csv (a workbook adds its sheet).
    label: String,
    /// Rows are numbered by record rather than by line (a workbook sheet).
    records: bool,
    /// A sheet converted to CSV lives in this file until the source is dropped.
    _converted: Option<tempfile::TempPath>,
    /// The CSV header, or `None` for JSONL.
    header: Option<Vec<String>>,
    /// The byte between a CSV's fields, read off its header.
    delimiter: u8,
    origin: Origin,
    buf: Vec<u8>,
    /// Buffers of chunks already audited, given back to be read into again: a fresh
    /// buffer costs a page fault every 4 KiB.
    spare: Vec<Vec<u8>>,
    /// Bytes read at a time ([`BLOCK`]; smaller in tests, to cut many chunks).
    block: usize,
    /// How far `buf` has been scanned for record boundaries, and whether that point is
    /// inside a quoted field.
    scanned: usize,
    in_quote: bool,
    /// Line feeds in `buf[..scanned]`, counted in the same pass that looks for quotes, so
    /// a chunk's lines cost no second pass over it.
    feeds: u64,
    next_line: u64,
    bytes_read: u64,
}

/// Where the records come from.
enum Origin {
    /// An export file, cut into chunks at record boundaries.
    File(File),
    /// A verified Cordon log, read a run of entry bundles at a time.
    Log(crate::logread::LogCursor),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses a file whose first bytes hold a NUL: an export is text.
pub fn refuse_binary(path: &Path) -> Result<(), AuditError> {
    let mut head = [0u8; 8192];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io(path))?;
    if head[..n].starts_with(b"PK\x03\x04") {
        return Err(AuditError::NotThisFormat {
            path: path.to_path_buf(),
            why: "this looks like a binary file (a zip archive: if it is an Excel workbook, name it .xlsx or pass --format xlsx), not a CSV or JSONL export".into(),
        });
    }
    if head[..n].contains(&0) {
        return Err(AuditError::NotThisFormat {
            path: path.to_path_buf(),
            why: "this looks like a binary file, not a CSV or JSONL export".into(),
        });
    }
    Ok(())
}

impl Source {
    /// Opens a CSV export and reads its header, finding the byte between its fields
    /// from it (`names`: the column names a user's map gives, which count as known).
    pub fn open_csv(path: &Path, names: &[String]) -> Result<Source, AuditError> {
        if let Some(utf8) = crate::utf16::to_utf8_if_utf16(path)? {
            // Excel's "Unicode Text": read from a UTF-8 copy, named as the original.
            let mut s = Source::open_csv(&utf8, names).map_err(|e| e.for_path(path))?;
            s.path = path.to_path_buf();
            s.label = path.display().to_string();
            s._converted = Some(utf8);
            return Ok(s);
        }
        refuse_binary(path)?;
        let mut file = File::open(path).map_err(io(path))?;
        let mut head = Vec::new();
        (&mut file)
            .take(HEAD_BYTES)
            .read_to_end(&mut head)
            .map_err(io(path))?;
        let delimiter = crate::delimiter::sniff(&head, names);
        file.seek(SeekFrom::Start(0)).map_err(io(path))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(BufReader::new(file));
        let header: Vec<String> = reader
            .byte_headers()
            .map_err(|e| AuditError::NotThisFormat {
                path: path.to_path_buf(),
                why: format!("cannot read a CSV header: {e}"),
            })?
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        let after_header = reader.position().clone();
        // Lines ended by a lone CR (classic Mac OS) have no line feed to count: such a
        // file's rows are numbered by record, its header being line 1.
        let at = usize::try_from(after_header.byte()).unwrap_or(usize::MAX);
        let cr_only = at > 0 && head.get(at - 1) == Some(&b'\r') && head.get(at) != Some(&b'\n');
        let mut file = File::open(path).map_err(io(path))?;
        file.seek(SeekFrom::Start(after_header.byte()))
            .map_err(io(path))?;
        Ok(Source {
            path: path.to_path_buf(),
            label: path.display().to_string(),
            records: cr_only,
            _converted: None,
            header: Some(header),
            delimiter,
            origin: Origin::File(file),
            buf: Vec::new(),
            spare: Vec::new(),
            block: BLOCK,
            scanned: 0,
            in_quote: false,
            feeds: 0,
            next_line: if cr_only { 2 } else { after_header.line() },
            bytes_read: after_header.byte(),
        })
    }

    /// Opens a JSONL export (one object per line).
    pub fn open_jsonl(path: &Path) -> Result<Source, AuditError> {
        if let Some(utf8) = crate::utf16::to_utf8_if_utf16(path)? {
            let mut s = Source::open_jsonl(&utf8).map_err(|e| e.for_path(path))?;
            s.path = path.to_path_buf();
            s.label = path.display().to_string();
            s._converted = Some(utf8);
            return Ok(s);
        }
        refuse_binary(path)?;
        let mut file = File::open(path).map_err(io(path))?;
        // A byte-order mark (Notepad, PowerShell) is not part of the first record.
        let mut bom = [0u8; 3];
        let n = file.read(&mut bom).map_err(io(path))?;
        let skip = if bom[..n] == *b"\xEF\xBB\xBF" { 3 } else { 0 };
        file.seek(SeekFrom::Start(skip)).map_err(io(path))?;
        Ok(Source {
            path: path.to_path_buf(),
            label: path.display().to_string(),
            records: false,
            _converted: None,
            header: None,
            delimiter: b',',
            origin: Origin::File(file),
            buf: Vec::new(),
            spare: Vec::new(),
            block: BLOCK,
            scanned: 0,
            in_quote: false,
            feeds: 0,
            next_line: 1,
            bytes_read: 0,
        })
    }

    /// Opens a Cordon log directory, verified in full first, as JSON lines whose line
    /// numbers are the entries' log indexes.
    pub fn open_log(dir: &Path, verifier: &cordon_log::Verifier) -> Result<Source, AuditError> {
        let cursor = crate::logread::LogCursor::open(dir, verifier)?;
        Ok(Source {
            path: dir.to_path_buf(),
            label: dir.display().to_string(),
            records: false,
            _converted: None,
            header: None,
            delimiter: b',',
            origin: Origin::Log(cursor),
            buf: Vec::new(),
            spare: Vec::new(),
            block: BLOCK,
            scanned: 0,
            in_quote: false,
            feeds: 0,
            next_line: 0,
            bytes_read: 0,
        })
    }

    /// Entries in the log, when the source is a Cordon log.
    pub fn log_size(&self) -> Option<u64> {
        match &self.origin {
            Origin::Log(l) => Some(l.size()),
            Origin::File(_) => None,
        }
    }

    /// The byte between a CSV's fields (a comma for other formats).
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name used in the report and in flagged.csv's `source_file`.
    pub fn label(&self) -> String {
        self.label.clone()
    }

    /// A workbook sheet converted to CSV in `converted`: read as a CSV, named
    /// `label`, its rows numbered from `first_row` (the sheet row after the header).
    pub fn open_converted(
        workbook: &Path,
        label: String,
        converted: tempfile::TempPath,
        first_row: u64,
    ) -> Result<Source, AuditError> {
        let mut s = Source::open_csv(&converted, &[])?;
        s.path = workbook.to_path_buf();
        s.label = label;
        s.records = true;
        s.next_line = first_row;
        s._converted = Some(converted);
        Ok(s)
    }

    /// Gives back a chunk's buffer once its rows are read, to read another chunk into.
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < MAX_SPARE {
            self.spare.push(bytes);
        }
    }

    /// Bytes of the file consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next chunk of whole records, or `None` at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, AuditError> {
        if let Origin::Log(log) = &mut self.origin {
            let first_line = log.position();
            let Some(bytes) = log.next_lines(BLOCK)? else {
                return Ok(None);
            };
            self.bytes_read += bytes.len() as u64;
            return Ok(Some(Chunk {
                first_line,
                bytes,
                records: false,
                delimiter: self.delimiter,
            }));
        }
        loop {
            if let Some(end) = self.boundary() {
                return Ok(Some(self.take(end)));
            }
            if self.buf.len() > MAX_RECORD_BYTES {
                // One record this long is no export's (an unclosed quote, or not text):
                // held whole it would cost several times its size in memory.
                return Err(AuditError::BadRow {
                    path: self.path.clone(),
                    line: self.next_line,
                    why: format!(
                        "a record runs past {} MiB without ending (an unclosed quote, or not an export); the rest of the file is not read",
                        MAX_RECORD_BYTES >> 20
                    ),
                });
            }
            // Reading into spare capacity (not a zero-filled slice) saves a pass over
            // every block.
            self.buf.reserve(self.block);
            let n = match &mut self.origin {
                Origin::File(file) => file.take(self.block as u64).read_to_end(&mut self.buf),
                Origin::Log(_) => Ok(0),
            }
            .map_err(io(&self.path))?;
            self.bytes_read += n as u64;
            if n == 0 {
                // The end: whatever remains is the last record, whole or not.
                let rest = self.buf.len();
                return Ok((rest > 0).then(|| self.take(rest)));
            }
        }
    }

    /// The end of the last whole record in the buffer, once it holds at least a block.
    fn boundary(&mut self) -> Option<usize> {
        let from = self.scanned;
        let region = &self.buf[from..];
        let last = if self.header.is_some() {
            // Whether the end of the buffer is inside a quoted field: a doubled quote
            // inside a field toggles twice, so parity is what counts.
            let (quotes, feeds) = count_two_bytes(region, b'"', b'\n');
            self.feeds += feeds;
            self.in_quote ^= quotes % 2 == 1;
            last_record_end(region, self.in_quote)
        } else {
            self.feeds += count_byte(region, b'\n');
            memchr::memrchr(b'\n', region).map(|at| at + 1)
        }
        .map(|end| from + end);
        self.scanned = self.buf.len();
        let end = last?;
        if self.buf.len() < self.block {
            // Too small to be worth a chunk yet: read more first, and rescan from the
            // boundary (where no field is open) next time.
            self.feeds = self.feeds_before(end);
            self.scanned = end;
            self.in_quote = false;
            return None;
        }
        Some(end)
    }

    /// Line feeds in `buf[..at]`, from those counted up to `scanned` (`at` is near it:
    /// the partial record after the last boundary).
    fn feeds_before(&self, at: usize) -> u64 {
        if at >= self.scanned {
            self.feeds + count_byte(&self.buf[self.scanned..at], b'\n')
        } else {
            self.feeds - count_byte(&self.buf[at..self.scanned], b'\n')
        }
    }

    fn take(&mut self, end: usize) -> Chunk {
        let chunk_feeds = self.feeds_before(end);
        self.feeds = self.feeds_before(self.scanned.max(end)) - chunk_feeds;
        // The next buffer starts with the partial record left over and has room for the
        // next block, so reading it never reallocates.
        let mut next = self.spare.pop().unwrap_or_default();
        next.clear();
        next.reserve(self.buf.len() - end + self.block);
        next.extend_from_slice(&self.buf[end..]);
        self.buf.truncate(end);
        let bytes = std::mem::replace(&mut self.buf, next);
        self.scanned = self.scanned.saturating_sub(end);
        let first_line = self.next_line;
        self.next_line += if self.records {
            count_records(&bytes)
        } else {
            chunk_feeds
        };
        Chunk {
            first_line,
            bytes,
            records: self.records,
            delimiter: self.delimiter,
        }
    }
}

/// Just past the last line feed in `region` that is outside quotes, given whether the
/// end of `region` is inside a quoted field: walking back from the end, each line feed's
/// state is the end's, toggled by every quote after it.
fn last_record_end(region: &[u8], mut quoted: bool) -> Option<usize> {
    let mut end = region.len();
    while let Some(at) = memchr::memrchr(b'\n', &region[..end]) {
        quoted ^= count_byte(&region[at + 1..end], b'"') % 2 == 1;
        if !quoted {
            return Some(at + 1);
        }
        end = at;
    }
    None
}

/// Records in a run of whole CSV records: line breaks outside quoted fields.
fn count_records(bytes: &[u8]) -> u64 {
    let mut in_quote = false;
    let mut n = 0;
    for at in memchr::memchr2_iter(b'"', b'\n', bytes) {
        if bytes[at] == b'"' {
            in_quote = !in_quote;
        } else if !in_quote {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::split::{Lines, Record, Splitter};
    use proptest::prelude::*;

    #[test]
    fn a_short_read_does_not_count_the_lines_it_rescans_twice() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "h1,h2\n").unwrap();
        let mut source = Source::open_csv(file.path(), &[]).unwrap();
        source.block = 64;
        // A read that returned less than a block (a pipe, a file still being written):
        // too small for a chunk, so its records are scanned again once more arrives.
        // Its last record is cut inside a quoted line break.
        source.buf.extend_from_slice(b"1,x\n2,\"a\nb");
        assert_eq!(source.boundary(), None);
        source.buf.extend_from_slice(b"\"\n");
        source.buf.extend_from_slice("3,y\n".repeat(20).as_bytes());
        let end = source.boundary().unwrap();
        let chunk = source.take(end);
        assert_eq!(chunk.first_line, 2);
        let feeds = count_byte(&chunk.bytes, b'\n');
        assert_eq!(
            source.next_line,
            2 + feeds,
            "lines counted twice or not at all"
        );
    }

    /// A well-formed CSV cell: plain, or quoted around commas, doubled quotes and line
    /// breaks.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9 ]{0,6}",
            proptest::collection::vec(
                prop_oneof![
                    Just("a"),
                    Just(","),
                    Just("\"\""),
                    Just("\n"),
                    Just("\r\n"),
                    Just(" ")
                ],
                0..6
            )
            .prop_map(|parts| format!("\"{}\"", parts.concat())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Chunks cut by counting quotes, each split by the splitter, give the records and
        /// lines the `csv` crate reads from the whole file, whatever the chunk size.
        #[test]
        fn records_split_across_chunk_boundaries_are_the_csv_crates(
            rows in proptest::collection::vec(proptest::collection::vec(cell(), 1..5), 0..40),
            block in 1usize..64,
            crlf in any::<bool>(),
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("h1,h2{end}");
            for row in &rows {
                // A blank line is skipped by both, but counted as the next record's line
                // by a reader of the whole file and not when it ends a chunk (as in the
                // csv crate read chunk by chunk before): not what this test is about.
                let row = row.join(",");
                text.push_str(if row.is_empty() { "x" } else { &row });
                text.push_str(end);
            }
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), &text).unwrap();
            let mut want = Vec::new();
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(file.path()).unwrap();
            let mut rec = csv::ByteRecord::new();
            while reader.read_byte_record(&mut rec).unwrap() {
                // The line a text editor shows the record's first byte on.
                let at = rec.position().unwrap().byte() as usize;
                let first = at + text.as_bytes()[at..].iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
                let line = 1 + text.as_bytes()[..first].iter().filter(|b| **b == b'\n').count() as u64;
                want.push((rec.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), line));
            }
            let mut source = Source::open_csv(file.path(), &[]).unwrap();
            source.block = block;
            let mut got = Vec::new();
            let mut joined = Vec::new();
            while let Some(chunk) = source.next_chunk().unwrap() {
                joined.extend_from_slice(&chunk.bytes);
                let mut split = Splitter::with_delimiter(&chunk.bytes, chunk.delimiter);
                let mut lines = Lines::default();
                let mut record = Record::new(&chunk.bytes);
                let mut k = 0;
                while split.next_record(&mut record) {
                    let line = chunk.line_of(k, lines.line_of(&chunk.bytes, record.start()));
                    got.push((record.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), line));
                    k += 1;
                }
            }
            prop_assert_eq!(&joined[..], &text.as_bytes()[6..]);
            prop_assert_eq!(got, want);
        }
    }
}
