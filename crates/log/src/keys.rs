//! Ed25519 note keys in their text forms: `name+hexid+base64` verifier keys and Go's
//! `PRIVATE+KEY+name+hexid+base64` signer keys, with key IDs as the signed-note spec defines;
//! both plain log signatures (type 0x01) and timestamped witness cosignatures (type 0x04,
//! c2sp.org/tlog-cosignature).
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use thiserror::Error;

use crate::hash::sha256;
use crate::note::{valid_key_name, NoteSignature};

/// The signature type byte for plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// The signature type byte for timestamped Ed25519 checkpoint cosignatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// What the receipt key's seed is derived under; changing it changes every receipt key.
const RECEIPT_KEY_LABEL: &[u8] = b"cordon receipt key v1\n";

/// Why a key could not be parsed or made.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a verifier key has three '+'-separated parts (name+hexid+base64); this one has {0}")]
    VerifierParts(usize),
    #[error("a signer key starts with PRIVATE+KEY+ and has five '+'-separated parts")]
    SignerShape,
    #[error("the key name {0:?} is empty or contains a space or '+'")]
    BadName(String),
    #[error("the key ID {0:?} is not eight lowercase hex digits")]
    BadKeyId(String),
    #[error("the key material is not valid base64")]
    BadBase64,
    #[error("the key is of signature type {0:#04x}; only Ed25519 (0x01) and Ed25519 cosignatures (0x04) are supported")]
    UnsupportedAlgorithm(u8),
    #[error("the key material has {0} bytes; an Ed25519 key needs 1 type byte and 32 key bytes")]
    BadLength(usize),
    #[error("the key is not a valid Ed25519 public key")]
    BadPublicKey,
    #[error("the key ID {given:08x} does not match the key (it should be {computed:08x})")]
    KeyIdMismatch { given: u32, computed: u32 },
    #[error("the operating system could not supply randomness for a new key: {0}")]
    Randomness(String),
}

/// Something that can check a note signature: a log key, or later a witness key.
pub trait NoteVerifier: Send + Sync {
    fn name(&self) -> &str;
    fn key_id(&self) -> u32;
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

/// `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut buf = Vec::with_capacity(name.len() + 2 + public_key.len());
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(alg);
    buf.extend_from_slice(public_key);
    let h = sha256(&buf);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// A trusted Ed25519 note verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: u32,
    alg: u8,
    key: VerifyingKey,
}

impl Verifier {
    /// Parses `name+hexid+base64(0x01 || key)`, checking that the ID matches the key.
    pub fn parse(text: &str) -> Result<Verifier, KeyError> {
        // The base64 key material may itself contain '+': only the first two separate.
        let parts: Vec<&str> = text.trim().splitn(3, '+').collect();
        if parts.len() != 3 {
            return Err(KeyError::VerifierParts(parts.len()));
        }
        let (name, id, material) = (parts[0], parse_key_id(parts[1])?, parts[2]);
        check_name(name)?;
        let (alg, key_bytes) = decode_material(material)?;
        let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| KeyError::BadPublicKey)?;
        let computed = key_id(name, alg, key.as_bytes());
        if computed != id {
            return Err(KeyError::KeyIdMismatch {
                given: id,
                computed,
            });
        }
        Ok(Verifier {
            name: name.to_string(),
            id,
            alg,
            key,
        })
    }

    /// Whether this key checks witness cosignatures rather than log signatures.
    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    /// The time a cosignature by this key claims, if `signature` is one.
    pub fn cosignature_time(&self, signature: &[u8]) -> Option<u64> {
        if !self.is_cosigner() || signature.len() != 8 + 64 {
            return None;
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&signature[..8]);
        Some(u64::from_be_bytes(ts))
    }

    /// The key in `name+hexid+base64` form.
    pub fn to_text(&self) -> String {
        let mut material = vec![self.alg];
        material.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(material))
    }
}

impl NoteVerifier for Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        if self.is_cosigner() {
            let Some(ts) = self.cosignature_time(signature) else {
                return false;
            };
            if ts > i64::MAX as u64 {
                return false;
            }
            let Ok(sig) = ed25519_dalek::Signature::from_slice(&signature[8..]) else {
                return false;
            };
            return self
                .key
                .verify_strict(&cosigned_message(text, ts), &sig)
                .is_ok();
        }
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text, &sig).is_ok()
    }
}

/// A log's Ed25519 signing key. Its `Debug` form never shows the secret.
#[derive(Clone)]
pub struct Signer {
    name: String,
    id: u32,
    alg: u8,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}+{:08x})", self.name, self.id)
    }
}

impl Signer {
    /// A fresh key named `name`, from the operating system's randomness.
    pub fn generate(name: &str) -> Result<Signer, KeyError> {
        Self::generate_for(name, ALG_ED25519)
    }

    /// A fresh witness key, whose signatures are tlog-cosignature/v1 cosignatures.
    pub fn generate_cosigner(name: &str) -> Result<Signer, KeyError> {
        Self::generate_for(name, ALG_COSIGNATURE_V1)
    }

    fn generate_for(name: &str, alg: u8) -> Result<Signer, KeyError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| KeyError::Randomness(e.to_string()))?;
        Ok(Self::from_seed(name, alg, seed))
    }

    /// A key from a fixed seed, for simulations that must replay exactly.
    pub(crate) fn from_test_seed(name: &str, seed: [u8; 32]) -> Result<Signer, KeyError> {
        check_name(name)?;
        Ok(Self::from_seed(name, ALG_ED25519, seed))
    }

    fn from_seed(name: &str, alg: u8, seed: [u8; 32]) -> Signer {
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, alg, key.verifying_key().as_bytes());
        Signer {
            name: name.to_string(),
            id,
            alg,
            key,
        }
    }

    /// The log's receipt key: a separate Ed25519 key, named `<log key name>/receipts`,
    /// derived from this key's seed (SHA-256 over a fixed label and the seed), so a log
    /// needs no second secret and every gateway sharing a log signs receipts alike. The
    /// signed-note spec asks that one key not sign two kinds of statement: checkpoints
    /// and receipts never share a key.
    pub fn receipt_signer(&self) -> Signer {
        let mut material = RECEIPT_KEY_LABEL.to_vec();
        material.extend_from_slice(self.key.as_bytes());
        let seed = sha256(&material);
        Self::from_seed(&format!("{}/receipts", self.name), ALG_ED25519, seed)
    }

    /// Parses Go's `PRIVATE+KEY+name+hexid+base64(0x01 || seed)` form.
    pub fn parse(text: &str) -> Result<Signer, KeyError> {
        let parts: Vec<&str> = text.trim().splitn(5, '+').collect();
        if parts.len() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
            return Err(KeyError::SignerShape);
        }
        let (name, id) = (parts[2], parse_key_id(parts[3])?);
        check_name(name)?;
        let (alg, seed) = decode_material(parts[4])?;
        let signer = Self::from_seed(name, alg, seed);
        if signer.id != id {
            return Err(KeyError::KeyIdMismatch {
                given: id,
                computed: signer.id,
            });
        }
        Ok(signer)
    }

    /// The key in Go's `PRIVATE+KEY+…` form. Treat the result as a secret.
    pub fn to_text(&self) -> String {
        let mut material = vec![self.alg];
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(material)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            id: self.id,
            alg: self.alg,
            key: self.key.verifying_key(),
        }
    }

    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    /// Signs a note text, producing its signature line. A cosigner's signature carries
    /// the current time.
    pub fn sign(&self, text: &[u8]) -> NoteSignature {
        if self.is_cosigner() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            return self.cosign_at(text, now);
        }
        NoteSignature {
            name: self.name.clone(),
            key_id: self.id,
            signature: self.key.sign(text).to_bytes().to_vec(),
        }
    }

    /// A tlog-cosignature/v1: `timestamp || Ed25519(cosignature/v1, time, checkpoint)`.
    pub fn cosign_at(&self, text: &[u8], timestamp: u64) -> NoteSignature {
        let sig = self.key.sign(&cosigned_message(text, timestamp));
        let mut signature = timestamp.to_be_bytes().to_vec();
        signature.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.id,
            signature,
        }
    }
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if valid_key_name(name) {
        Ok(())
    } else {
        Err(KeyError::BadName(name.to_string()))
    }
}

fn parse_key_id(hex: &str) -> Result<u32, KeyError> {
    let ok = hex.len() == 8 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !ok {
        return Err(KeyError::BadKeyId(hex.to_string()));
    }
    u32::from_str_radix(hex, 16).map_err(|_| KeyError::BadKeyId(hex.to_string()))
}

/// The message a v1 cosignature signs: a header, the time, then the checkpoint text.
fn cosigned_message(text: &[u8], timestamp: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(text);
    m
}

fn decode_material(b64: &str) -> Result<(u8, [u8; 32]), KeyError> {
    let raw = B64.decode(b64).map_err(|_| KeyError::BadBase64)?;
    if raw.is_empty() {
        return Err(KeyError::BadLength(0));
    }
    if raw[0] != ALG_ED25519 && raw[0] != ALG_COSIGNATURE_V1 {
        return Err(KeyError::UnsupportedAlgorithm(raw[0]));
    }
    if raw.len() != 33 {
        return Err(KeyError::BadLength(raw.len()));
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&raw[1..]);
    Ok((raw[0], key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VKEY: &str =
        "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
    const SKEY: &str =
        "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";

    #[test]
    fn go_signer_key_round_trips_and_matches_its_verifier() {
        let s = Signer::parse(SKEY).unwrap();
        assert_eq!(s.to_text(), SKEY);
        assert_eq!(s.verifier().to_text(), VKEY);
        assert_eq!(Verifier::parse(VKEY).unwrap(), s.verifier());
    }

    #[test]
    fn generated_keys_sign_what_their_verifier_accepts() {
        let s = Signer::generate("cordon.example/log").unwrap();
        let sig = s.sign(b"hello\n");
        assert!(s.verifier().verify(b"hello\n", &sig.signature));
        assert!(!s.verifier().verify(b"hellO\n", &sig.signature));
        let again = Signer::parse(&s.to_text()).unwrap();
        assert_eq!(again.verifier(), s.verifier());
    }

    #[test]
    fn cosignatures_verify_only_under_their_own_type_and_message() {
        let w = Signer::generate_cosigner("witness.example/w1").unwrap();
        let text = b"example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let sig = w.cosign_at(text, 1_679_315_147);
        let v = Verifier::parse(&w.verifier().to_text()).unwrap();
        assert!(v.is_cosigner());
        assert_eq!(v.cosignature_time(&sig.signature), Some(1_679_315_147));
        assert!(v.verify(text, &sig.signature));
        // The timestamp is signed: changing it breaks the signature.
        let mut later = sig.signature.clone();
        later[7] ^= 1;
        assert!(!v.verify(text, &later));
        // The same key as a plain log key has another ID and does not accept it.
        assert_ne!(key_id(w.name(), ALG_ED25519, &[0; 32]), v.key_id());
        let plain = Signer::from_seed("witness.example/w1", ALG_ED25519, [1; 32]);
        assert!(!plain.verifier().verify(text, &sig.signature));
        assert_eq!(
            Signer::parse(&w.to_text()).unwrap().verifier(),
            w.verifier()
        );
    }

    #[test]
    fn malformed_keys_say_what_is_wrong() {
        assert_eq!(Verifier::parse("a+b"), Err(KeyError::VerifierParts(2)));
        assert_eq!(
            Verifier::parse("n+zzzzzzzz+AA=="),
            Err(KeyError::BadKeyId("zzzzzzzz".into()))
        );
        assert_eq!(Verifier::parse("n+00000000+!!"), Err(KeyError::BadBase64));
        assert!(matches!(
            Verifier::parse(&VKEY.replace("33d7b496", "33d7b497")),
            Err(KeyError::KeyIdMismatch { .. })
        ));
        assert_eq!(Signer::parse(VKEY).map(|_| ()), Err(KeyError::SignerShape));
        assert_eq!(
            Signer::generate("has space").map(|_| ()),
            Err(KeyError::BadName("has space".into()))
        );
    }
}
