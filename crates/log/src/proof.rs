//! The `c2sp.org/tlog-proof@v1` text format: index, inclusion hashes, and the checkpoint.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use thiserror::Error;

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::hash::{leaf_hash, Hash};
use crate::keys::NoteVerifier;
use crate::merkle::{verify_inclusion, ProofError};

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Why a tlog-proof could not be read or does not hold.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TlogProofError {
    #[error("line {0}: {1}")]
    Syntax(usize, &'static str),
    #[error("the proof's checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("the inclusion proof: {0}")]
    Inclusion(#[from] ProofError),
}

/// A parsed tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub hashes: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: Vec<u8>,
}

impl TlogProof {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(&self.checkpoint));
        out
    }

    pub fn parse(text: &[u8]) -> Result<TlogProof, TlogProofError> {
        let s = std::str::from_utf8(text).map_err(|_| TlogProofError::Syntax(1, "not UTF-8"))?;
        let mut lines = s.split_inclusive('\n');
        let mut line_no = 1;
        let mut next = |what: &'static str| -> Result<(usize, &str), TlogProofError> {
            let l = lines.next().ok_or(TlogProofError::Syntax(line_no, what))?;
            line_no += 1;
            let l = l.strip_suffix('\n').ok_or(TlogProofError::Syntax(
                line_no - 1,
                "line does not end in a newline",
            ))?;
            Ok((line_no - 1, l))
        };
        let (n, first) = next("missing header")?;
        if first != HEADER {
            return Err(TlogProofError::Syntax(
                n,
                "first line is not c2sp.org/tlog-proof@v1",
            ));
        }
        let (mut n, mut line) = next("missing index line")?;
        let mut extra = None;
        if let Some(b) = line.strip_prefix("extra ") {
            extra = Some(
                B64.decode(b)
                    .map_err(|_| TlogProofError::Syntax(n, "extra data is not base64"))?,
            );
            (n, line) = next("missing index line")?;
        }
        let idx = line
            .strip_prefix("index ")
            .ok_or(TlogProofError::Syntax(n, "expected 'index N'"))?;
        let canonical = !idx.is_empty()
            && idx.bytes().all(|b| b.is_ascii_digit())
            && (idx == "0" || !idx.starts_with('0'));
        let index = idx
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or(TlogProofError::Syntax(
                n,
                "index is not a canonical decimal",
            ))?;
        let mut hashes = Vec::new();
        loop {
            let (n, l) = next("missing blank line before the checkpoint")?;
            if l.is_empty() {
                break;
            }
            let h = B64
                .decode(l)
                .ok()
                .and_then(|v| Hash::try_from(v).ok())
                .ok_or(TlogProofError::Syntax(
                    n,
                    "proof line is not a base64 SHA-256 hash",
                ))?;
            hashes.push(h);
        }
        let consumed: usize = s.len() - lines.map(str::len).sum::<usize>();
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: text[consumed..].to_vec(),
        })
    }

    /// Verifies the proof for `entry` against trusted log keys and the log's origin.
    pub fn verify(
        &self,
        entry: &[u8],
        verifiers: &[&dyn NoteVerifier],
        origin: &str,
    ) -> Result<SignedCheckpoint, TlogProofError> {
        let cp = SignedCheckpoint::open(&self.checkpoint, verifiers, Some(origin))?;
        let c = &cp.checkpoint;
        verify_inclusion(&leaf_hash(entry), self.index, c.size, &self.hashes, &c.root)?;
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_round_trip_with_and_without_extra() {
        let p = TlogProof {
            extra: Some(b"ctx".to_vec()),
            index: 73894,
            hashes: vec![[1; 32], [2; 32]],
            checkpoint: b"example.com/log\n5\nAAAA\n\n\xe2\x80\x94 k AAAAAAA=\n".to_vec(),
        };
        assert_eq!(TlogProof::parse(p.to_text().as_bytes()), Ok(p.clone()));
        let q = TlogProof {
            extra: None,
            hashes: vec![],
            ..p
        };
        assert_eq!(TlogProof::parse(q.to_text().as_bytes()), Ok(q));
    }

    #[test]
    fn malformed_proofs_name_the_line() {
        assert_eq!(
            TlogProof::parse(b"c2sp.org/tlog-proof@v2\n"),
            Err(TlogProofError::Syntax(
                1,
                "first line is not c2sp.org/tlog-proof@v1"
            ))
        );
        assert_eq!(
            TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 01\n\n"),
            Err(TlogProofError::Syntax(
                2,
                "index is not a canonical decimal"
            ))
        );
        assert_eq!(
            TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 1\nnothash\n\n"),
            Err(TlogProofError::Syntax(
                3,
                "proof line is not a base64 SHA-256 hash"
            ))
        );
    }
}
