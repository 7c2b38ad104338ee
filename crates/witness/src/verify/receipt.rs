//! Receipts to check: what the gateway gives an officer (`Cordon-Receipt: INDEX`, the
//! `receipt` of a denial) optionally with what was logged, as a leaf hash or the entry.
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cordon_log::hash::{leaf_hash, Hash};

use super::VerifyError;

/// One receipt: a log index, and what the entry there must be, if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub expect: Expect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Only the index: proves the tree has a leaf there, and which.
    Any,
    /// The entry's RFC 6962 leaf hash.
    LeafHash(Hash),
    /// The entry's bytes, read from this file.
    Entry(PathBuf, Hash),
}

impl Expect {
    pub fn leaf_hash(&self) -> Option<Hash> {
        match self {
            Expect::Any => None,
            Expect::LeafHash(h) | Expect::Entry(_, h) => Some(*h),
        }
    }
}

/// Parses `INDEX`, `INDEX:LEAFHASH` (64 hex digits or base64) or `INDEX:FILE` (the
/// entry's bytes). Relative files are read from `base`.
pub fn parse(text: &str, base: &Path) -> Result<Receipt, VerifyError> {
    let bad = |why: &str| VerifyError::Usage(format!("receipt {text:?}: {why}"));
    let text = text.trim();
    let (index, rest) = match text.split_once(':') {
        Some((i, r)) => (i, Some(r)),
        None => (text, None),
    };
    let index: u64 = index
        .parse()
        .map_err(|_| bad("must start with the log index, a number (as in Cordon-Receipt)"))?;
    let expect = match rest {
        None => Expect::Any,
        Some("") => return Err(bad("nothing after ':'")),
        Some(r) => match decode_hash(r) {
            Some(h) => Expect::LeafHash(h),
            None => {
                let path = base.join(r);
                let bytes = std::fs::read(&path).map_err(|e| {
                    bad(&format!(
                        "{r} is neither a leaf hash (64 hex digits or base64) nor a readable entry file: {e}"
                    ))
                })?;
                Expect::Entry(path, leaf_hash(&bytes))
            }
        },
    };
    Ok(Receipt { index, expect })
}

/// A receipts file, in any of the forms an officer may have kept:
/// - one receipt per line as [`parse`] reads it (blank and `#` lines skipped; entry files
///   relative to the file's folder);
/// - a gateway's JSON answer (a denial), whose `receipt` field is the index;
/// - saved response headers (`curl -D`), whose `Cordon-Receipt` lines are indexes.
pub fn parse_file(path: &Path) -> Result<Vec<Receipt>, VerifyError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        VerifyError::Usage(format!("reading receipts file {}: {e}", path.display()))
    })?;
    let bad = |why: String| VerifyError::Usage(format!("{}: {why}", path.display()));
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return from_json(trimmed).map_err(bad);
    }
    if trimmed.starts_with("HTTP/") {
        return from_headers(trimmed).map_err(bad);
    }
    let base = path.parent().unwrap_or(Path::new("."));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(n, l)| parse(l, base).map_err(|e| bad(format!("line {}: {e}", n + 1))))
        .collect()
}

fn from_json(text: &str) -> Result<Vec<Receipt>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let index = v
        .get("receipt")
        .and_then(serde_json::Value::as_u64)
        .ok_or("the JSON has no numeric \"receipt\" field (as in a gateway's answer)")?;
    Ok(vec![Receipt {
        index,
        expect: Expect::Any,
    }])
}

fn from_headers(text: &str) -> Result<Vec<Receipt>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("cordon-receipt") {
            let index = value
                .trim()
                .parse()
                .map_err(|_| format!("Cordon-Receipt {:?} is not a log index", value.trim()))?;
            out.push(Receipt {
                index,
                expect: Expect::Any,
            });
        }
    }
    if out.is_empty() {
        return Err("these response headers carry no Cordon-Receipt".into());
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

/// Lowercase hex, the form receipts and reports show a leaf hash in.
pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_read_as_the_gateway_gives_them() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(parse("17", dir.path()).unwrap().expect, Expect::Any);
        let h = leaf_hash(b"entry");
        let r = parse(&format!("3:{}", hex(&h)), dir.path()).unwrap();
        assert_eq!((r.index, r.expect), (3, Expect::LeafHash(h)));
        let r = parse(&format!("3:{}", B64.encode(h)), dir.path()).unwrap();
        assert_eq!(r.expect.leaf_hash(), Some(h));
        std::fs::write(dir.path().join("e.json"), b"entry").unwrap();
        let r = parse("3:e.json", dir.path()).unwrap();
        assert_eq!(r.expect.leaf_hash(), Some(h));
        for bad in ["", "x", "-1", "3:", "3:missing-file"] {
            assert!(parse(bad, dir.path()).is_err(), "{bad}");
        }
    }

    #[test]
    fn receipts_files_may_be_lines_a_denial_or_saved_headers() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let lines = write("r.txt", "# kept by an officer\n5\n\n6\n");
        let got: Vec<u64> = parse_file(&lines)
            .unwrap()
            .iter()
            .map(|r| r.index)
            .collect();
        assert_eq!(got, vec![5, 6]);
        let denial = write(
            "d.json",
            "{\n  \"decision\": \"deny\",\n  \"receipt\": 41\n}\n",
        );
        assert_eq!(parse_file(&denial).unwrap()[0].index, 41);
        let headers = write(
            "h.txt",
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncordon-receipt: 77\r\n\r\n",
        );
        assert_eq!(parse_file(&headers).unwrap()[0].index, 77);
        let e = parse_file(&write("x.json", "{\"decision\": \"deny\"}")).unwrap_err();
        assert!(e.to_string().contains("receipt"), "{e}");
        let e = parse_file(&write("y.txt", "5\nfive\n")).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
