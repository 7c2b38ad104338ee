//! Entry bundles: big-endian uint16 length-prefixed entries, up to 256 per bundle.
use thiserror::Error;

/// The largest entry a bundle can carry.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// Why a bundle could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("bundle is truncated: entry {entry} needs {needed} bytes at offset {offset}, {available} remain")]
    Truncated {
        entry: usize,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("bundle holds more than 256 entries")]
    TooManyEntries,
}

/// Appends one entry to a bundle buffer. The caller guarantees `entry.len() <= MAX_ENTRY_BYTES`.
pub fn push_entry(buf: &mut Vec<u8>, entry: &[u8]) {
    debug_assert!(entry.len() <= MAX_ENTRY_BYTES);
    buf.extend_from_slice(&(entry.len() as u16).to_be_bytes());
    buf.extend_from_slice(entry);
}

/// Encodes entries into one bundle.
pub fn encode<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut buf = Vec::new();
    for e in entries {
        push_entry(&mut buf, e);
    }
    buf
}

/// Splits a bundle into its entries, borrowing from `data`.
pub fn decode(data: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < data.len() {
        if out.len() == 256 {
            return Err(BundleError::TooManyEntries);
        }
        let truncated = |needed| BundleError::Truncated {
            entry: out.len(),
            offset: off,
            needed,
            available: data.len() - off,
        };
        if data.len() - off < 2 {
            return Err(truncated(2));
        }
        let len = usize::from(u16::from_be_bytes([data[off], data[off + 1]]));
        if data.len() - off - 2 < len {
            return Err(truncated(len + 2));
        }
        out.push(&data[off + 2..off + 2 + len]);
        off += 2 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_round_trip_including_empty_entries() {
        let entries: Vec<&[u8]> = vec![b"one", b"", b"three"];
        let data = encode(entries.iter().copied());
        assert_eq!(data, b"\x00\x03one\x00\x00\x00\x05three");
        assert_eq!(decode(&data).unwrap(), entries);
    }

    #[test]
    fn truncated_bundle_names_the_entry() {
        let data = encode([&b"one"[..], b"three"]);
        let err = decode(&data[..data.len() - 1]).unwrap_err();
        assert_eq!(
            err,
            BundleError::Truncated {
                entry: 1,
                offset: 5,
                needed: 7,
                available: 6
            }
        );
        assert!(matches!(
            decode(&[0]),
            Err(BundleError::Truncated { entry: 0, .. })
        ));
    }
}
