//! A C2SP tlog-witness: checks that each checkpoint a log submits is signed by the log
//! and consistent with the last one it cosigned, persists it, and cosigns it. The HTTP
//! layer maps [`WitnessError::status`] to the response; everything else is here.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::fs::AtomicWriter;
use crate::hash::{empty_root, sha256, Hash};
use crate::keys::{NoteVerifier, Signer, Verifier};
use crate::merkle::verify_consistency;
use crate::note::{Note, NoteError};

/// The most consistency proof lines a client may send.
pub const MAX_PROOF_LINES: usize = 63;

/// Why a checkpoint was not cosigned; each maps to the status the spec prescribes.
#[derive(Debug, Error)]
pub enum WitnessError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("unknown log origin {0:?}")]
    UnknownLog(String),
    #[error("checkpoint not signed by a trusted key for its origin: {0}")]
    Forbidden(String),
    #[error("old size does not match the latest cosigned checkpoint, of size {latest}")]
    Conflict { latest: u64 },
    #[error("checkpoint is not consistent with the latest cosigned one: {0}")]
    Inconsistent(String),
    #[error("could not persist the witness state: {0}")]
    Storage(String),
}

impl WitnessError {
    /// The HTTP status code tlog-witness assigns to this outcome.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::BadRequest(_) => 400,
            WitnessError::UnknownLog(_) => 404,
            WitnessError::Forbidden(_) => 403,
            WitnessError::Conflict { .. } => 409,
            WitnessError::Inconsistent(_) => 422,
            WitnessError::Storage(_) => 500,
        }
    }
}

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// The request body: `old N`, proof lines, a blank line, the checkpoint.
    pub fn to_body(&self) -> Vec<u8> {
        let mut b = format!("old {}\n", self.old_size);
        for h in &self.proof {
            b.push_str(&B64.encode(h));
            b.push('\n');
        }
        b.push('\n');
        let mut out = b.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessError> {
        let bad = |why: &str| WitnessError::BadRequest(why.to_string());
        let mut rest = body;
        let mut next_line = || -> Result<&[u8], WitnessError> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| bad("a line does not end in a newline"))?;
            let line = &rest[..end];
            rest = &rest[end + 1..];
            Ok(line)
        };
        let first = next_line()?;
        let old = std::str::from_utf8(first)
            .ok()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or_else(|| bad("the first line must be 'old N'"))?;
        let canonical = !old.is_empty()
            && old.bytes().all(|b| b.is_ascii_digit())
            && (old == "0" || !old.starts_with('0'));
        let old_size = old
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| bad("the old size is not a canonical decimal"))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line()?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let h = B64
                .decode(line)
                .ok()
                .and_then(|v| Hash::try_from(v).ok())
                .ok_or_else(|| bad("a proof line is not a base64 SHA-256 hash"))?;
            proof.push(h);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: rest.to_vec(),
        })
    }
}

/// A witness: its cosigning key, the logs it follows, and what it last cosigned for each.
pub struct Witness {
    signer: Signer,
    logs: HashMap<String, Vec<Verifier>>,
    state_dir: PathBuf,
    latest: Mutex<HashMap<String, Checkpoint>>,
}

impl Witness {
    /// Opens a witness whose state lives in `state_dir`, following `logs` (verifier keys of
    /// the logs; a log's origin is its key's name).
    pub fn open(
        signer: Signer,
        logs: Vec<Verifier>,
        state_dir: &Path,
    ) -> Result<Witness, WitnessError> {
        if !signer.is_cosigner() {
            return Err(WitnessError::Storage(
                "the witness key must be a cosignature key (make one with `cordon witness keygen`)"
                    .into(),
            ));
        }
        std::fs::create_dir_all(state_dir)
            .map_err(|e| WitnessError::Storage(format!("{}: {e}", state_dir.display())))?;
        let mut by_origin: HashMap<String, Vec<Verifier>> = HashMap::new();
        for v in logs {
            by_origin.entry(v.name().to_string()).or_default().push(v);
        }
        let mut latest = HashMap::new();
        for (origin, keys) in &by_origin {
            let path = state_path(state_dir, origin);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let refs: Vec<&dyn NoteVerifier> =
                        keys.iter().map(|k| k as &dyn NoteVerifier).collect();
                    let cp = SignedCheckpoint::open(&bytes, &refs, Some(origin))
                        .map_err(|e| WitnessError::Storage(format!("{}: {e}", path.display())))?;
                    latest.insert(origin.clone(), cp.checkpoint);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WitnessError::Storage(format!("{}: {e}", path.display()))),
            }
        }
        Ok(Witness {
            signer,
            logs: by_origin,
            state_dir: state_dir.to_path_buf(),
            latest: Mutex::new(latest),
        })
    }

    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// The size of the latest checkpoint cosigned for `origin` (0 if none).
    pub fn latest_size(&self, origin: &str) -> u64 {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        latest.get(origin).map_or(0, |c| c.size)
    }

    /// Handles an `add-checkpoint` body; returns the cosignature lines to send back.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<String, WitnessError> {
        let req = AddCheckpoint::parse(body)?;
        let note =
            Note::parse(&req.checkpoint).map_err(|e| WitnessError::BadRequest(e.to_string()))?;
        let cp = Checkpoint::parse_text(note.text())
            .map_err(|e| WitnessError::BadRequest(e.to_string()))?;
        let keys = self
            .logs
            .get(&cp.origin)
            .ok_or_else(|| WitnessError::UnknownLog(cp.origin.clone()))?;
        let refs: Vec<&dyn NoteVerifier> = keys.iter().map(|k| k as &dyn NoteVerifier).collect();
        note.verify(&refs).map_err(|e| match e {
            NoteError::BadSignature { .. } | NoteError::NoTrustedSignature(_) => {
                WitnessError::Forbidden(e.to_string())
            }
            other => WitnessError::BadRequest(other.to_string()),
        })?;
        if req.old_size > cp.size {
            return Err(WitnessError::BadRequest(format!(
                "old size {} is larger than the checkpoint size {}",
                req.old_size, cp.size
            )));
        }
        // Check and persist under one lock: two racing requests must not roll the
        // recorded size back.
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        let (known_size, known_root) = latest
            .get(&cp.origin)
            .map_or((0, empty_root()), |c| (c.size, c.root));
        if req.old_size != known_size {
            return Err(WitnessError::Conflict { latest: known_size });
        }
        check_consistent(&req, known_root, &cp)?;
        self.persist(&cp.origin, &req.checkpoint)?;
        latest.insert(cp.origin.clone(), cp.clone());
        drop(latest);
        Ok(self.signer.sign(note.text().as_bytes()).to_line())
    }

    fn persist(&self, origin: &str, checkpoint: &[u8]) -> Result<(), WitnessError> {
        let rel = state_file_name(origin);
        let mut w = AtomicWriter::new(&self.state_dir);
        w.write(&rel, checkpoint)
            .and_then(|()| w.finish())
            .map_err(|e| WitnessError::Storage(e.to_string()))
    }
}

fn check_consistent(
    req: &AddCheckpoint,
    known_root: Hash,
    cp: &Checkpoint,
) -> Result<(), WitnessError> {
    if cp.size == 0 && cp.root != empty_root() {
        return Err(WitnessError::Inconsistent(
            "a checkpoint of size 0 must have the empty tree's root".into(),
        ));
    }
    if req.old_size == 0 && !req.proof.is_empty() {
        return Err(WitnessError::Inconsistent(
            "the proof must be empty when the old size is 0".into(),
        ));
    }
    if req.old_size == cp.size && known_root != cp.root {
        return Err(WitnessError::Inconsistent(format!(
            "same size {} as the cosigned checkpoint but a different root: a fork",
            cp.size
        )));
    }
    if req.old_size > 0 {
        verify_consistency(req.old_size, cp.size, &known_root, &cp.root, &req.proof)
            .map_err(|e| WitnessError::Inconsistent(e.to_string()))?;
    }
    Ok(())
}

/// One file per log, named by a hash of its origin so any origin is a safe file name.
fn state_file_name(origin: &str) -> String {
    let h = sha256(origin.as_bytes());
    let hex: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.checkpoint")
}

fn state_path(dir: &Path, origin: &str) -> PathBuf {
    dir.join(state_file_name(origin))
}

impl From<CheckpointError> for WitnessError {
    fn from(e: CheckpointError) -> Self {
        WitnessError::BadRequest(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::hash::list_root;
    use crate::merkle::{consistency_proof, HashSource, ProofError};

    struct Mem(Vec<Hash>);
    impl HashSource for Mem {
        type Error = ProofError;
        fn node(&mut self, h: u32, i: u64) -> Result<Hash, ProofError> {
            let s = (i << h) as usize;
            Ok(list_root(&self.0[s..s + (1 << h)]))
        }
    }

    struct Fixture {
        log: Signer,
        tree: Mem,
        witness: Witness,
        _dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let log = Signer::generate("log.example/a").unwrap();
        let w = Signer::generate_cosigner("witness.example/w1").unwrap();
        let witness = Witness::open(w, vec![log.verifier()], dir.path()).unwrap();
        let tree = Mem((0..100u32).map(|i| leaf_hash(&i.to_be_bytes())).collect());
        Fixture {
            log,
            tree,
            witness,
            _dir: dir,
        }
    }

    fn signed(f: &Fixture, size: u64) -> Vec<u8> {
        let root = if size == 0 {
            empty_root()
        } else {
            list_root(&f.tree.0[..size as usize])
        };
        Checkpoint {
            origin: "log.example/a".into(),
            size,
            root,
            extensions: vec![],
        }
        .sign(&f.log)
        .to_bytes()
    }

    fn submit(f: &mut Fixture, old: u64, size: u64) -> Result<String, WitnessError> {
        let proof = consistency_proof(&mut f.tree, old, size).unwrap();
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: signed(f, size),
        }
        .to_body();
        f.witness.add_checkpoint(&body)
    }

    #[test]
    fn consistent_checkpoints_are_cosigned_and_the_cosignature_verifies() {
        let mut f = fixture();
        let line = submit(&mut f, 0, 10).unwrap();
        let mut note = Note::parse(&signed(&f, 10)).unwrap();
        let cosig = Note::parse(format!("x\n\n{line}").as_bytes())
            .unwrap()
            .signatures()[0]
            .clone();
        note.add_signature(cosig);
        let v = f.witness.verifier();
        assert_eq!(note.verify(&[&v]).unwrap(), vec!["witness.example/w1"]);
        submit(&mut f, 10, 37).unwrap();
        assert_eq!(f.witness.latest_size("log.example/a"), 37);
    }

    #[test]
    fn a_rewound_checkpoint_is_refused_with_409_and_the_latest_size() {
        let mut f = fixture();
        submit(&mut f, 0, 40).unwrap();
        let e = submit(&mut f, 0, 20).unwrap_err();
        assert_eq!(e.status(), 409);
        assert!(matches!(e, WitnessError::Conflict { latest: 40 }));
        let e = submit(&mut f, 20, 30).unwrap_err();
        assert_eq!(e.status(), 409);
    }

    #[test]
    fn a_forked_checkpoint_is_refused_with_422() {
        let mut f = fixture();
        submit(&mut f, 0, 40).unwrap();
        // Same size, other history.
        f.tree.0[3] = leaf_hash(b"rewritten");
        let e = submit(&mut f, 40, 40).unwrap_err();
        assert_eq!(e.status(), 422, "{e}");
        // A larger tree that does not extend the cosigned one.
        let e = submit(&mut f, 40, 60).unwrap_err();
        assert_eq!(e.status(), 422, "{e}");
        assert_eq!(f.witness.latest_size("log.example/a"), 40);
    }

    /// An add-checkpoint body for the empty tree, signed by `signer` under its own name.
    fn empty_tree_body(signer: &Signer) -> Vec<u8> {
        let cp = Checkpoint {
            origin: signer.name().into(),
            size: 0,
            root: empty_root(),
            extensions: vec![],
        };
        AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: cp.sign(signer).to_bytes(),
        }
        .to_body()
    }

    #[test]
    fn unknown_logs_bad_signatures_and_bad_bodies_get_their_statuses() {
        let mut f = fixture();
        let stranger = Signer::generate("log.example/b").unwrap();
        let body = empty_tree_body(&stranger);
        assert_eq!(f.witness.add_checkpoint(&body).unwrap_err().status(), 404);

        let impostor = Signer::generate("log.example/a").unwrap();
        let body = empty_tree_body(&impostor);
        assert_eq!(f.witness.add_checkpoint(&body).unwrap_err().status(), 403);

        assert_eq!(
            f.witness
                .add_checkpoint(b"old 01\n\n")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            f.witness.add_checkpoint(b"new 1\n\n").unwrap_err().status(),
            400
        );
        let e = submit(&mut f, 0, 0).map(|_| ());
        assert!(e.is_ok());
        let body = AddCheckpoint {
            old_size: 5,
            proof: vec![],
            checkpoint: signed(&f, 3),
        }
        .to_body();
        assert_eq!(f.witness.add_checkpoint(&body).unwrap_err().status(), 400);
        let body = AddCheckpoint {
            old_size: 0,
            proof: vec![[0; 32]],
            checkpoint: signed(&f, 3),
        }
        .to_body();
        assert_eq!(f.witness.add_checkpoint(&body).unwrap_err().status(), 422);
    }

    #[test]
    fn the_cosigned_state_survives_a_restart() {
        let mut f = fixture();
        submit(&mut f, 0, 50).unwrap();
        let w = Signer::generate_cosigner("witness.example/w1").unwrap();
        let again = Witness::open(w, vec![f.log.verifier()], f._dir.path()).unwrap();
        assert_eq!(again.latest_size("log.example/a"), 50);
    }
}
