//! Receipts to check, in every form a requester may have kept one: the
//! `Cordon-Signed-Receipt` header value, a saved 403 body, saved response headers
//! (`curl -D`), the receipt text, or a file of them; and, for auditors, an entry to look
//! up at an index (`INDEX:LEAFHASH`, `INDEX:ENTRY_FILE`).
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cordon_log::hash::{leaf_hash, Hash};
use cordon_log::receipt::{ReceiptText, RECEIPT_LINE};

use super::VerifyError;

/// One receipt to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// A receipt the log signed; `from` says where it was read.
    Signed { from: String, text: ReceiptText },
    /// An auditor's question, not a receipt: is this entry at this index?
    Entry { index: u64, expect: Expect },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The entry's RFC 6962 leaf hash.
    LeafHash(Hash),
    /// The entry's bytes, read from this file.
    Entry(PathBuf, Hash),
}

impl Expect {
    pub fn leaf_hash(&self) -> Hash {
        match self {
            Expect::LeafHash(h) | Expect::Entry(_, h) => *h,
        }
    }
}

impl Receipt {
    /// The index it is about, as far as it says (a signed one's is checked later).
    pub fn index(&self) -> u64 {
        match self {
            Receipt::Signed { text, .. } => text.index,
            Receipt::Entry { index, .. } => *index,
        }
    }
}

/// Reads one `--receipt`: a file holding receipts (see [`parse_file`]), `INDEX:LEAFHASH`
/// or `INDEX:ENTRY_FILE`, or the `Cordon-Signed-Receipt` value itself (whose base64
/// starts with `Y29y`, "cor", never a digit). Relative entry files are read from `base`.
pub fn parse(text: &str, base: &Path) -> Result<Vec<Receipt>, VerifyError> {
    let text = text.trim();
    let as_file = base.join(text);
    if !text.is_empty() && as_file.is_file() {
        return parse_file(&as_file);
    }
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return lookup(text, base).map(|r| vec![r]);
    }
    let t = ReceiptText::decode(text.as_bytes()).map_err(|e| {
        VerifyError::Usage(format!(
            "receipt {}: {e}; give the Cordon-Signed-Receipt value, a file holding a saved response or receipt, or INDEX:ENTRY_FILE",
            abbreviate(text)
        ))
    })?;
    Ok(vec![Receipt::Signed {
        from: "--receipt".into(),
        text: t,
    }])
}

/// `INDEX:LEAFHASH` (64 hex digits or base64) or `INDEX:ENTRY_FILE`. A bare index proves
/// nothing (any index below the tree size has some entry), so it is refused.
fn lookup(text: &str, base: &Path) -> Result<Receipt, VerifyError> {
    let bad = |why: &str| VerifyError::Usage(format!("receipt {text:?}: {why}"));
    let Some((index, rest)) = text.split_once(':') else {
        return Err(bad("a bare index (the Cordon-Receipt header) proves nothing: give the Cordon-Signed-Receipt value or a saved response, or INDEX:ENTRY_FILE to look an entry up"));
    };
    let index: u64 = index
        .parse()
        .map_err(|_| bad("must start with the log index, a number"))?;
    if rest.is_empty() {
        return Err(bad("nothing after ':'"));
    }
    let expect = match decode_hash(rest) {
        Some(h) => Expect::LeafHash(h),
        None => {
            let path = base.join(rest);
            let bytes = std::fs::read(&path).map_err(|e| {
                bad(&format!(
                    "{rest} is neither a leaf hash (64 hex digits or base64) nor a readable entry file: {e}"
                ))
            })?;
            Expect::Entry(path, leaf_hash(&bytes))
        }
    };
    Ok(Receipt::Entry { index, expect })
}

/// A file of receipts, in any of the forms a requester may have kept:
/// - the receipt text (`cordon receipt v1` …);
/// - a gateway's JSON answer (a denial), whose `signed_receipt` field is the receipt;
/// - saved response headers (`curl -D`), whose `Cordon-Signed-Receipt` lines are receipts;
/// - one receipt per line: base64 receipts, `INDEX:LEAFHASH`, `INDEX:ENTRY_FILE` (blank and
///   `#` lines skipped; entry files relative to the file's folder).
pub fn parse_file(path: &Path) -> Result<Vec<Receipt>, VerifyError> {
    let bytes = std::fs::read(path).map_err(|e| {
        VerifyError::Usage(format!("reading receipts file {}: {e}", path.display()))
    })?;
    let name = path.display().to_string();
    let bad = |why: String| VerifyError::Usage(format!("{name}: {why}"));
    if bytes.starts_with(RECEIPT_LINE.as_bytes()) {
        let text = ReceiptText::decode(&bytes).map_err(|e| bad(e.to_string()))?;
        return Ok(vec![Receipt::Signed { from: name, text }]);
    }
    let text = String::from_utf8(bytes).map_err(|_| bad("not a text file".into()))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return from_json(trimmed, &name).map_err(bad);
    }
    if trimmed.starts_with("HTTP/") {
        return from_headers(trimmed, &name).map_err(bad);
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: VerifyError| bad(format!("line {}: {e}", n + 1));
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            out.push(lookup(line, base).map_err(at)?);
            continue;
        }
        let t = ReceiptText::decode(line.as_bytes())
            .map_err(|e| at(VerifyError::Usage(e.to_string())))?;
        out.push(Receipt::Signed {
            from: format!("{name} line {}", n + 1),
            text: t,
        });
    }
    Ok(out)
}

fn from_json(text: &str, name: &str) -> Result<Vec<Receipt>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(signed) = v.get("signed_receipt").and_then(serde_json::Value::as_str) else {
        return Err(if v.get("receipt").is_some() {
            "the JSON has a \"receipt\" index but no \"signed_receipt\": an index alone proves nothing (it comes from a gateway that did not sign receipts)".into()
        } else {
            "the JSON has no \"signed_receipt\" field (as in a gateway's 403 answer)".into()
        });
    };
    let text =
        ReceiptText::decode(signed.as_bytes()).map_err(|e| format!("signed_receipt: {e}"))?;
    Ok(vec![Receipt::Signed {
        from: name.to_string(),
        text,
    }])
}

fn from_headers(text: &str, name: &str) -> Result<Vec<Receipt>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((header, value)) = line.split_once(':') else {
            continue;
        };
        if header.trim().eq_ignore_ascii_case("cordon-signed-receipt") {
            let text = ReceiptText::decode(value.trim().as_bytes())
                .map_err(|e| format!("Cordon-Signed-Receipt: {e}"))?;
            out.push(Receipt::Signed {
                from: name.to_string(),
                text,
            });
        }
    }
    if out.is_empty() {
        return Err("these response headers carry no Cordon-Signed-Receipt".into());
    }
    Ok(out)
}

fn decode_hash(s: &str) -> Option<Hash> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut h = [0u8; 32];
        for (i, byte) in h.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        return Some(h);
    }
    if s.len() == 44 {
        return B64.decode(s).ok().and_then(|v| Hash::try_from(v).ok());
    }
    None
}

fn abbreviate(s: &str) -> String {
    match s.char_indices().nth(24) {
        Some((i, _)) => format!("{:?}…", &s[..i]),
        None => format!("{s:?}"),
    }
}

/// Lowercase hex, the form receipts and reports show a leaf hash in.
pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER_VALUE: &str = "Y29yZG9uIHJlY2VpcHQgdjEKaW5kZXggMwpsZWFmIEFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE9Cgpjb3Jkb24gcmVjZWlwdCBiYXRjaCB2MQoK4oCUIHggeQo=";

    #[test]
    fn lookups_read_as_auditors_write_them_and_a_bare_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let h = leaf_hash(b"entry");
        let r = &parse(&format!("3:{}", hex(&h)), dir.path()).unwrap()[0];
        assert_eq!(r.index(), 3);
        std::fs::write(dir.path().join("e.json"), b"entry").unwrap();
        let r = &parse("3:e.json", dir.path()).unwrap()[0];
        assert!(matches!(r, Receipt::Entry { expect, .. } if expect.leaf_hash() == h));
        let e = parse("17", dir.path()).unwrap_err().to_string();
        assert!(e.contains("proves nothing"), "{e}");
        for bad in ["", "x", "3:", "3:missing-file", "not base64 at all!"] {
            assert!(parse(bad, dir.path()).is_err(), "{bad}");
        }
    }

    #[test]
    fn signed_receipts_are_read_from_a_header_a_denial_saved_headers_or_text() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let from_header = parse(HEADER_VALUE, dir.path()).unwrap();
        assert_eq!(from_header[0].index(), 3);
        let denial = write(
            "d.json",
            &format!("{{\"decision\": \"deny\", \"receipt\": 3, \"signed_receipt\": \"{HEADER_VALUE}\"}}"),
        );
        assert_eq!(parse_file(&denial).unwrap()[0].index(), 3);
        let headers = write(
            "h.txt",
            &format!("HTTP/1.1 403 Forbidden\r\ncordon-receipt: 3\r\ncordon-signed-receipt: {HEADER_VALUE}\r\n\r\n"),
        );
        assert_eq!(parse_file(&headers).unwrap()[0].index(), 3);
        let text = String::from_utf8(B64.decode(HEADER_VALUE).unwrap()).unwrap();
        let as_text = write("r.receipt", &text);
        assert_eq!(
            parse(as_text.to_str().unwrap(), dir.path()).unwrap()[0].index(),
            3
        );
        let lines = write(
            "list.txt",
            &format!("# kept\n{HEADER_VALUE}\n\n{HEADER_VALUE}\n"),
        );
        assert_eq!(parse_file(&lines).unwrap().len(), 2);
        let old = write("old.json", "{\"decision\": \"deny\", \"receipt\": 41}");
        let e = parse_file(&old).unwrap_err().to_string();
        assert!(e.contains("index alone proves nothing"), "{e}");
        let e = parse_file(&write("y.txt", &format!("{HEADER_VALUE}\nfive\n"))).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
