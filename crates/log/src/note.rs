//! C2SP signed notes: text followed by a blank line and `— name base64(keyid || sig)` lines.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use thiserror::Error;

use crate::keys::NoteVerifier;

/// Largest note accepted, so a hostile file cannot make a reader allocate without bound.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// The spec asks verifiers to accept at least 16; more than this is refused as abuse.
pub const MAX_SIGNATURES: usize = 100;

/// Why a note could not be parsed or verified.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("note is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    #[error("note is not valid UTF-8")]
    NotUtf8,
    #[error("note contains a control character (byte {0:#04x}) other than newline")]
    ControlCharacter(u8),
    #[error("note has no blank line separating its text from its signatures")]
    NoSignatureBlock,
    #[error("note does not end with a newline")]
    MissingFinalNewline,
    #[error("signature line {line} is malformed: {why}")]
    BadSignatureLine { line: usize, why: &'static str },
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("signature by {name} (key ID {id:08x}) does not verify")]
    BadSignature { name: String, id: u32 },
    #[error("note carries no signature from a trusted key{}", if .0.is_empty() { String::new() } else { format!(" (it is signed by: {})", .0.join(", ")) })]
    NoTrustedSignature(Vec<String>),
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes that follow the 4-byte key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as it appears in a note, with its trailing newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, B64.encode(raw))
    }
}

/// A parsed signed note. Its text must be ignored until [`Note::verify`] succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with `text` (which must end in a newline) and no signatures yet.
    pub fn new(text: String) -> Self {
        Note {
            text,
            signatures: Vec::new(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    pub fn add_signature(&mut self, sig: NoteSignature) {
        self.signatures.push(sig);
    }

    /// The serialized note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out.into_bytes()
    }

    /// Parses a note without verifying it.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        if let Some(c) = s.bytes().find(|&b| b < 0x20 && b != b'\n') {
            return Err(NoteError::ControlCharacter(c));
        }
        if !s.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        // The text is separated from the signatures by the *last* blank line.
        let split = s.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let text = &s[..split + 1];
        let sig_block = &s[split + 2..];
        if sig_block.is_empty() {
            return Err(NoteError::NoSignatureBlock);
        }
        let mut signatures = Vec::new();
        for (i, line) in sig_block.trim_end_matches('\n').split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(parse_signature_line(line, i + 1)?);
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Verifies the note against trusted keys, following the spec: signatures from unknown
    /// keys are ignored, a known key's bad signature rejects the note, and at least one
    /// known key must have signed. Returns the names of the keys that verified.
    pub fn verify(&self, verifiers: &[&dyn NoteVerifier]) -> Result<Vec<String>, NoteError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let known = verifiers
                .iter()
                .find(|v| v.name() == sig.name && v.key_id() == sig.key_id);
            if let Some(v) = known {
                if !v.verify(self.text.as_bytes(), &sig.signature) {
                    return Err(NoteError::BadSignature {
                        name: sig.name.clone(),
                        id: sig.key_id,
                    });
                }
                verified.push(sig.name.clone());
            }
        }
        if verified.is_empty() {
            let names = self.signatures.iter().map(|s| s.name.clone()).collect();
            return Err(NoteError::NoTrustedSignature(names));
        }
        Ok(verified)
    }
}

fn parse_signature_line(line: &str, line_no: usize) -> Result<NoteSignature, NoteError> {
    let bad = |why| NoteError::BadSignatureLine { line: line_no, why };
    let rest = line
        .strip_prefix("\u{2014} ")
        .ok_or(bad("it does not start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(bad("it has no space between key name and signature"))?;
    if !valid_key_name(name) {
        return Err(bad("the key name is empty or contains a space or '+'"));
    }
    let raw = B64
        .decode(b64)
        .map_err(|_| bad("the signature is not valid base64"))?;
    if raw.len() < 5 {
        return Err(bad("the signature is shorter than a key ID plus one byte"));
    }
    let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    Ok(NoteSignature {
        name: name.to_string(),
        key_id,
        signature: raw[4..].to_vec(),
    })
}

/// Key names must be non-empty and contain no Unicode spaces and no `+`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Verifier;

    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn spec_example_note_verifies() {
        let v = Verifier::parse(SPEC_VKEY).unwrap();
        let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
        assert_eq!(note.text(), "This is an example message.\n");
        assert_eq!(note.verify(&[&v]).unwrap(), vec!["example.com/foo"]);
        assert_eq!(note.to_bytes(), SPEC_NOTE.as_bytes());
    }

    #[test]
    fn altered_text_is_rejected() {
        let v = Verifier::parse(SPEC_VKEY).unwrap();
        let altered = SPEC_NOTE.replace("example message", "exemple message");
        let note = Note::parse(altered.as_bytes()).unwrap();
        assert!(matches!(
            note.verify(&[&v]),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn unknown_signers_are_ignored_but_not_trusted() {
        let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
        assert!(matches!(
            note.verify(&[]),
            Err(NoteError::NoTrustedSignature(_))
        ));
    }

    #[test]
    fn malformed_notes_name_their_problem() {
        assert_eq!(Note::parse(b"no sigs\n"), Err(NoteError::NoSignatureBlock));
        assert_eq!(Note::parse(b"a\n\n"), Err(NoteError::NoSignatureBlock));
        assert_eq!(
            Note::parse(b"a\x01\n\nx\n"),
            Err(NoteError::ControlCharacter(1))
        );
        assert_eq!(Note::parse(b"\xff\n\n"), Err(NoteError::NotUtf8));
        assert!(matches!(
            Note::parse("a\n\n- k AAAAAAA=\n".as_bytes()),
            Err(NoteError::BadSignatureLine { line: 1, .. })
        ));
        assert!(matches!(
            Note::parse("a\n\n\u{2014} k AAAA\n".as_bytes()),
            Err(NoteError::BadSignatureLine { line: 1, .. })
        ));
    }
}
