//! The receipt's text forms (docs/receipts.md): the signed batch note, a C2SP signed note
//! any note tool can check, and the receipt around it (index, leaf hash, audit path),
//! which travels in an HTTP header as one line of base64.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use thiserror::Error;

use crate::hash::Hash;
use crate::keys::{NoteVerifier, Verifier};
use crate::merkle::verify_inclusion;
use crate::note::{Note, NoteError};

/// The first line of a receipt.
pub const RECEIPT_LINE: &str = "cordon receipt v1";
/// The first line of a signed batch note. Its second line (`origin …`) is not a decimal
/// number, so no checkpoint parser accepts the note, whatever key signed it.
pub const BATCH_LINE: &str = "cordon receipt batch v1";
/// Largest receipt read: a 16,384-entry batch needs 14 path hashes, about 1.2 KB.
pub const MAX_RECEIPT_BYTES: usize = 8 * 1024;
/// More path hashes than any batch of 2^64 entries needs.
const MAX_PATH: usize = 64;

/// Why a receipt could not be read, or does not hold together.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("the receipt is larger than {MAX_RECEIPT_BYTES} bytes")]
    TooLarge,
    #[error("not a receipt: {0}")]
    NotAReceipt(&'static str),
    #[error("receipt line {line}: {why}")]
    Syntax { line: usize, why: &'static str },
    #[error("the receipt's batch note: {0}")]
    Note(NoteError),
    #[error("the receipt's batch note line {line}: {why}")]
    Batch { line: usize, why: &'static str },
    #[error("the receipt is not signed by the receipt key {key}{}", if .signers.is_empty() { String::new() } else { format!(" (it is signed by: {})", .signers.join(", ")) })]
    Untrusted { key: String, signers: Vec<String> },
    #[error("the batch note's signature does not verify: its text was altered, or it was never signed by the log (forged)")]
    BadSignature,
    #[error("index {index} is outside the signed batch (indexes {first} to {last}): the receipt was edited")]
    OutsideBatch { index: u64, first: u64, last: u64 },
    #[error(
        "the leaf hash and audit path do not lead to the signed batch root: the receipt was edited"
    )]
    PathMismatch,
}

/// What the log signs once per commit batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchNote {
    pub origin: String,
    /// The batch's first index.
    pub first: u64,
    /// Entries in the batch, at least one.
    pub count: u64,
    /// The RFC 6962 Merkle tree hash of the batch's leaf hashes, in index order.
    pub root: Hash,
    /// When the batch was made durable, in milliseconds since the Unix epoch.
    pub time_ms: u64,
}

impl BatchNote {
    /// One past the batch's last index.
    pub fn end(&self) -> u64 {
        self.first.saturating_add(self.count)
    }

    pub fn to_text(&self) -> String {
        format!(
            "{BATCH_LINE}\norigin {}\nfirst {}\ncount {}\nroot {}\ntime {}\n",
            self.origin,
            self.first,
            self.count,
            B64.encode(self.root),
            self.time_ms
        )
    }

    /// Parses verified note text.
    pub fn parse_text(text: &str) -> Result<BatchNote, ReceiptError> {
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .collect();
        let bad = |line: usize, why| ReceiptError::Batch { line, why };
        if lines.first() != Some(&BATCH_LINE) {
            return Err(bad(1, "the first line is not \"cordon receipt batch v1\""));
        }
        if lines.len() != 6 {
            return Err(bad(
                lines.len().min(6),
                "a batch note has exactly six lines",
            ));
        }
        let origin = field(lines[1], "origin").ok_or(bad(2, "expected \"origin NAME\""))?;
        if origin.is_empty() {
            return Err(bad(2, "the origin is empty"));
        }
        let number = |i: usize, name| {
            field(lines[i], name)
                .and_then(decimal)
                .ok_or(bad(i + 1, "expected the field name and a decimal number"))
        };
        let (first, count) = (number(2, "first")?, number(3, "count")?);
        if count == 0 || first.checked_add(count).is_none() {
            return Err(bad(4, "the count is zero or runs past the largest index"));
        }
        let root = field(lines[4], "root")
            .and_then(hash)
            .ok_or(bad(5, "expected \"root\" and the base64 of 32 bytes"))?;
        let time_ms = number(5, "time")?;
        Ok(BatchNote {
            origin: origin.to_string(),
            first,
            count,
            root,
            time_ms,
        })
    }
}

/// A receipt as read from text, before anything in it is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptText {
    pub index: u64,
    pub leaf: Hash,
    pub path: Vec<Hash>,
    /// The signed batch note, verbatim.
    pub note: Vec<u8>,
}

/// A receipt whose signature and path were checked: the log's receipt key signed a batch
/// whose tree holds `leaf` at `index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedReceipt {
    pub index: u64,
    pub leaf: Hash,
    pub path: Vec<Hash>,
    pub batch: BatchNote,
}

impl ReceiptText {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        write_receipt(&mut out, self.index, &self.leaf, &self.path, &self.note);
        out
    }

    /// Reads a receipt as text, or as the one line of base64 the `Cordon-Signed-Receipt`
    /// header carries (surrounding whitespace ignored).
    pub fn decode(input: &[u8]) -> Result<ReceiptText, ReceiptError> {
        if input.len() > MAX_RECEIPT_BYTES * 2 {
            return Err(ReceiptError::TooLarge);
        }
        if input.starts_with(RECEIPT_LINE.as_bytes()) {
            return Self::parse(input);
        }
        let trimmed = std::str::from_utf8(input)
            .map_err(|_| ReceiptError::NotAReceipt("neither receipt text nor base64"))?
            .trim();
        let bytes = B64.decode(trimmed).map_err(|_| {
            ReceiptError::NotAReceipt(
                "neither receipt text (\"cordon receipt v1\" …) nor the base64 of one",
            )
        })?;
        Self::parse(&bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<ReceiptText, ReceiptError> {
        if bytes.len() > MAX_RECEIPT_BYTES {
            return Err(ReceiptError::TooLarge);
        }
        let s = std::str::from_utf8(bytes)
            .map_err(|_| ReceiptError::NotAReceipt("the text is not UTF-8"))?;
        let (head, note) = s.split_once("\n\n").ok_or(ReceiptError::NotAReceipt(
            "no blank line before the batch note",
        ))?;
        let lines: Vec<&str> = head.split('\n').collect();
        let bad = |line: usize, why| ReceiptError::Syntax { line, why };
        if lines[0] != RECEIPT_LINE {
            return Err(bad(1, "the first line is not \"cordon receipt v1\""));
        }
        let index = lines
            .get(1)
            .and_then(|l| field(l, "index"))
            .and_then(decimal)
            .ok_or(bad(2, "expected \"index\" and a decimal number"))?;
        let leaf = lines
            .get(2)
            .and_then(|l| field(l, "leaf"))
            .and_then(hash)
            .ok_or(bad(3, "expected \"leaf\" and the base64 of 32 bytes"))?;
        let mut path = Vec::new();
        for (i, l) in lines.iter().enumerate().skip(3) {
            if path.len() == MAX_PATH {
                return Err(bad(i + 1, "the audit path is too long"));
            }
            path.push(hash(l).ok_or(bad(i + 1, "a path line is not the base64 of 32 bytes"))?);
        }
        Ok(ReceiptText {
            index,
            leaf,
            path,
            note: note.as_bytes().to_vec(),
        })
    }

    /// Checks the batch note's signature against the log's receipt key, then that the
    /// leaf and path lead to the root it signs, at the index given.
    pub fn check(&self, receipt_key: &Verifier) -> Result<CheckedReceipt, ReceiptError> {
        let note = Note::parse(&self.note).map_err(ReceiptError::Note)?;
        let key: &dyn NoteVerifier = receipt_key;
        match note.verify(&[key]) {
            Ok(_) => {}
            Err(NoteError::NoTrustedSignature(signers)) => {
                return Err(ReceiptError::Untrusted {
                    key: receipt_key.to_text(),
                    signers,
                })
            }
            Err(NoteError::BadSignature { .. }) => return Err(ReceiptError::BadSignature),
            Err(e) => return Err(ReceiptError::Note(e)),
        }
        let batch = BatchNote::parse_text(note.text())?;
        if self.index < batch.first || self.index >= batch.end() {
            return Err(ReceiptError::OutsideBatch {
                index: self.index,
                first: batch.first,
                last: batch.end() - 1,
            });
        }
        let position = self.index - batch.first;
        verify_inclusion(&self.leaf, position, batch.count, &self.path, &batch.root)
            .map_err(|_| ReceiptError::PathMismatch)?;
        Ok(CheckedReceipt {
            index: self.index,
            leaf: self.leaf,
            path: self.path.clone(),
            batch,
        })
    }
}

/// Appends a receipt's text to `out`; written straight into one buffer, since the
/// gateway makes one per response.
pub(crate) fn write_receipt(out: &mut String, index: u64, leaf: &Hash, path: &[Hash], note: &[u8]) {
    out.reserve(64 + 45 * path.len() + note.len());
    out.push_str(RECEIPT_LINE);
    out.push_str("\nindex ");
    out.push_str(&index.to_string());
    out.push_str("\nleaf ");
    push_hash(out, leaf);
    for h in path {
        push_hash(out, h);
    }
    out.push('\n');
    out.push_str(&String::from_utf8_lossy(note));
}

/// A hash in base64 and a newline. Encoded through a buffer on the stack: a receipt holds
/// up to 15 hashes and is written for every answer, and `encode_string`'s chunked path
/// was a measured share of that.
fn push_hash(out: &mut String, h: &Hash) {
    let mut buf = [0u8; 44];
    // 32 bytes are always 44 base64 characters, which fit.
    let n = B64.encode_slice(h, &mut buf).unwrap_or(0);
    out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
    out.push('\n');
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.strip_prefix(name)?.strip_prefix(' ')
}

/// A canonical decimal: digits only, no leading zero unless it is `0`.
fn decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s.len() == 1 || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

fn hash(s: &str) -> Option<Hash> {
    B64.decode(s).ok()?.try_into().ok()
}
