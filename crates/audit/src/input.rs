//! Opening an export: refusing binary files, reading its header, and yielding raw rows
//! (CSV records as bytes, so invalid UTF-8 is replaced only where it is read, and carried
//! through verbatim otherwise; JSONL lines as they are).
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::AuditError;

/// One record as read, with the line it started on.
pub enum RawRow {
    Csv { line: u64, record: csv::ByteRecord },
    Json { line: u64, text: String },
}

/// An open export.
pub enum Source {
    Csv {
        path: PathBuf,
        header: Vec<String>,
        reader: csv::Reader<BufReader<File>>,
    },
    Jsonl {
        path: PathBuf,
        reader: BufReader<File>,
        line: u64,
    },
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
    if head[..n].contains(&0) {
        return Err(AuditError::NotThisFormat {
            path: path.to_path_buf(),
            why: "this looks like a binary file, not a CSV or JSONL export".into(),
        });
    }
    Ok(())
}

impl Source {
    pub fn open_csv(path: &Path) -> Result<Source, AuditError> {
        refuse_binary(path)?;
        let file = File::open(path).map_err(io(path))?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let header = reader
            .byte_headers()
            .map_err(|e| AuditError::NotThisFormat {
                path: path.to_path_buf(),
                why: format!("cannot read a CSV header: {e}"),
            })?
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        Ok(Source::Csv {
            path: path.to_path_buf(),
            header,
            reader,
        })
    }

    pub fn open_jsonl(path: &Path) -> Result<Source, AuditError> {
        refuse_binary(path)?;
        let file = File::open(path).map_err(io(path))?;
        Ok(Source::Jsonl {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 20, file),
            line: 0,
        })
    }

    /// Reads up to `n` rows into `out`; returns bytes read so far, or `None` at the end.
    pub fn read_chunk(
        &mut self,
        n: usize,
        out: &mut Vec<RawRow>,
    ) -> Result<Option<u64>, AuditError> {
        match self {
            Source::Csv { path, reader, .. } => {
                for _ in 0..n {
                    let mut record = csv::ByteRecord::new();
                    match reader.read_byte_record(&mut record) {
                        Ok(true) => {
                            let line = record.position().map_or(0, |p| p.line());
                            out.push(RawRow::Csv { line, record });
                        }
                        Ok(false) => break,
                        Err(e) => {
                            let line = e.position().map_or(0, |p| p.line());
                            return Err(AuditError::BadRow {
                                path: path.clone(),
                                line,
                                why: e.to_string(),
                            });
                        }
                    }
                }
                let pos = reader.position().byte();
                Ok((!out.is_empty()).then_some(pos))
            }
            Source::Jsonl { path, reader, line } => {
                let mut buf = Vec::new();
                let mut bytes = 0u64;
                while out.len() < n {
                    buf.clear();
                    let got = reader.read_until(b'\n', &mut buf).map_err(io(path))?;
                    if got == 0 {
                        break;
                    }
                    bytes += got as u64;
                    *line += 1;
                    let text = String::from_utf8_lossy(&buf).trim_end().to_string();
                    if !text.is_empty() {
                        out.push(RawRow::Json { line: *line, text });
                    }
                }
                Ok((!out.is_empty()).then_some(bytes))
            }
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Source::Csv { path, .. } | Source::Jsonl { path, .. } => path,
        }
    }
}
