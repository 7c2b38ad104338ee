//! C2SP tlog-checkpoint: the origin, tree size and root hash a log signs as a note.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use thiserror::Error;

use crate::hash::Hash;
use crate::keys::{NoteVerifier, Signer};
use crate::note::{Note, NoteError};

/// Why a checkpoint could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("checkpoint text has fewer than three lines (origin, size, root hash)")]
    TooFewLines,
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    #[error("checkpoint size {0:?} is not a decimal number without leading zeroes")]
    BadSize(String),
    #[error("checkpoint root hash is not the base64 of 32 bytes")]
    BadRoot,
    #[error("checkpoint extension line {0} is empty")]
    EmptyExtension(usize),
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

/// The body of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut t = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            t.push_str(e);
            t.push('\n');
        }
        t
    }

    /// Parses a checkpoint body from note text (which has already been verified).
    pub fn parse_text(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines);
        }
        if lines[0].is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_size(lines[1])?;
        let root_bytes = B64.decode(lines[2]).map_err(|_| CheckpointError::BadRoot)?;
        let root: Hash = root_bytes
            .try_into()
            .map_err(|_| CheckpointError::BadRoot)?;
        let mut extensions = Vec::new();
        for (i, l) in lines[3..].iter().enumerate() {
            if l.is_empty() {
                return Err(CheckpointError::EmptyExtension(i + 1));
            }
            extensions.push((*l).to_string());
        }
        Ok(Checkpoint {
            origin: lines[0].to_string(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint, producing a signed note.
    pub fn sign(&self, signer: &Signer) -> SignedCheckpoint {
        let text = self.to_text();
        let mut note = Note::new(text.clone());
        note.add_signature(signer.sign(text.as_bytes()));
        SignedCheckpoint {
            checkpoint: self.clone(),
            note,
        }
    }
}

fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    let bad = || CheckpointError::BadSize(s.to_string());
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(bad());
    }
    s.parse().map_err(|_| bad())
}

/// A checkpoint together with the note that carries its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses and verifies a signed checkpoint; `origin`, when given, must match.
    pub fn open(
        bytes: &[u8],
        verifiers: &[&dyn NoteVerifier],
        origin: Option<&str>,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(bytes)?;
        note.verify(verifiers)?;
        let checkpoint = Checkpoint::parse_text(note.text())?;
        if let Some(expected) = origin {
            if checkpoint.origin != expected {
                return Err(CheckpointError::WrongOrigin {
                    expected: expected.to_string(),
                    found: checkpoint.origin,
                });
            }
        }
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Parses without verifying: only for tools that report on untrusted input.
    pub fn parse_unverified(bytes: &[u8]) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_text(note.text())?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_must_be_canonical() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("20852163"), Ok(20852163));
        assert!(parse_size("007").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("+1").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999999").is_err());
    }

    #[test]
    fn signed_checkpoints_round_trip() {
        let signer = Signer::generate("example.com/log").unwrap();
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 3,
            root: [7; 32],
            extensions: vec![],
        };
        let signed = cp.sign(&signer);
        let v = signer.verifier();
        let opened =
            SignedCheckpoint::open(&signed.to_bytes(), &[&v], Some("example.com/log")).unwrap();
        assert_eq!(opened.checkpoint, cp);
        assert!(matches!(
            SignedCheckpoint::open(&signed.to_bytes(), &[&v], Some("other")),
            Err(CheckpointError::WrongOrigin { .. })
        ));
    }
}
