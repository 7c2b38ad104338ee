//! Exports saved as UTF-16 (Excel's "Unicode Text", tab-separated, with a byte-order
//! mark) are copied to UTF-8 before they are read, a block at a time, so memory stays
//! bounded; the copy lives as long as the source reading it.
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::Path;

use crate::error::AuditError;

const BLOCK: usize = 1 << 16;

/// A UTF-8 copy of `path` when it starts with a UTF-16 byte-order mark; `None` otherwise.
/// Unpaired surrogates become U+FFFD, as any reader of such text would show them.
pub fn to_utf8_if_utf16(path: &Path) -> Result<Option<tempfile::TempPath>, AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut bom = [0u8; 2];
    let n = read_full(&mut file, &mut bom).map_err(io)?;
    let little = match (n, bom) {
        (2, [0xFF, 0xFE]) => true,
        (2, [0xFE, 0xFF]) => false,
        _ => return Ok(None),
    };
    let mut next = [0u8; 2];
    let m = read_full(&mut file, &mut next).map_err(io)?;
    if little && m == 2 && next == [0, 0] {
        return Err(AuditError::NotThisFormat {
            path: path.to_path_buf(),
            why:
                "this is UTF-32 text, which Cordon does not read: save it as CSV UTF-8 (or UTF-16)"
                    .into(),
        });
    }
    file.seek(std::io::SeekFrom::Start(2)).map_err(io)?;
    let tmp = tempfile::NamedTempFile::new().map_err(io)?;
    let mut out = BufWriter::new(tmp.as_file());
    let mut buf = vec![0u8; BLOCK];
    // A byte of a unit, or a high surrogate, cut off by the end of a block.
    let mut odd: Option<u8> = None;
    let mut high: Option<u16> = None;
    let mut text = String::with_capacity(BLOCK);
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        let mut units = Vec::with_capacity(n / 2 + 2);
        units.extend(high.take());
        let mut bytes = buf[..n].iter().copied();
        let first = odd.take().map(|a| (a, bytes.next()));
        if let Some((a, Some(b))) = first {
            units.push(unit(a, b, little));
        } else if let Some((a, None)) = first {
            odd = Some(a);
        }
        loop {
            match (bytes.next(), bytes.next()) {
                (Some(a), Some(b)) => units.push(unit(a, b, little)),
                (Some(a), None) => {
                    odd = Some(a);
                    break;
                }
                _ => break,
            }
        }
        if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            high = units.pop();
        }
        text.clear();
        text.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
        out.write_all(text.as_bytes()).map_err(io)?;
    }
    if high.is_some() || odd.is_some() {
        out.write_all(char::REPLACEMENT_CHARACTER.to_string().as_bytes())
            .map_err(io)?;
    }
    out.flush().map_err(io)?;
    drop(out);
    Ok(Some(tmp.into_temp_path()))
}

fn unit(a: u8, b: u8, little: bool) -> u16 {
    if little {
        u16::from_le_bytes([a, b])
    } else {
        u16::from_be_bytes([a, b])
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn round_trip(text: &str, little: bool) -> String {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut bytes = if little {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in text.encode_utf16() {
            bytes.extend(if little {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            });
        }
        std::fs::write(file.path(), bytes).unwrap();
        let copy = to_utf8_if_utf16(file.path()).unwrap().unwrap();
        std::fs::read_to_string(&copy).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any text, including characters outside the basic plane whose surrogate pairs
        /// straddle the copy's blocks, comes back as it was.
        #[test]
        fn utf16_text_is_copied_to_utf8_whole(
            text in "[a-zé😀\t\n,\"]{0,40000}",
            little in any::<bool>(),
        ) {
            prop_assert_eq!(round_trip(&text, little), text);
        }
    }

    #[test]
    fn a_file_without_a_utf16_mark_is_left_alone() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), b"Reason\nICE\n").unwrap();
        assert!(to_utf8_if_utf16(file.path()).unwrap().is_none());
    }
}
