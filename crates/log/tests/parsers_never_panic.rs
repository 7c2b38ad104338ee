//! Every parser of untrusted input returns a value or an error for any bytes: never a
//! panic. Random bytes, and valid inputs with random damage, which reach deeper.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
use cordon_log::{bundle, wal, Checkpoint, Note, SignedCheckpoint, Signer, TlogProof, Verifier};
use proptest::prelude::*;

fn valid_inputs() -> Vec<Vec<u8>> {
    let signer = Signer::parse(
        "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg",
    )
    .unwrap();
    let cp = Checkpoint {
        origin: "example.com/log/testdata".into(),
        size: 300,
        root: [9; 32],
        extensions: vec![],
    }
    .sign(&signer);
    let proof = TlogProof {
        extra: Some(b"x".to_vec()),
        index: 7,
        hashes: vec![[1; 32], [2; 32]],
        checkpoint: cp.to_bytes(),
    };
    vec![
        cp.to_bytes(),
        proof.to_text().into_bytes(),
        bundle::encode([&b"one"[..], b"two"]),
        signer.to_text().into_bytes(),
        signer.verifier().to_text().into_bytes(),
    ]
}

fn parse_everything(data: &[u8]) {
    let v = Verifier::parse(
        "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
    )
    .unwrap();
    let _ = Note::parse(data);
    let _ = SignedCheckpoint::parse_unverified(data);
    let _ = SignedCheckpoint::open(data, &[&v], None);
    if let Ok(p) = TlogProof::parse(data) {
        let _ = p.verify(b"entry", &[&v], "example.com/log/testdata");
    }
    let _ = bundle::decode(data);
    let _ = wal::parse_records(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Checkpoint::parse_text(s);
        let _ = Verifier::parse(s);
        let _ = Signer::parse(s);
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        parse_everything(&data);
    }

    #[test]
    fn damaged_valid_inputs_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6)
    ) {
        let mut data = valid_inputs()[which].clone();
        for (pos, byte, op) in edits {
            let at = if data.is_empty() { 0 } else { pos % data.len() };
            match op {
                0 if !data.is_empty() => data[at] = byte,
                1 => data.insert(at, byte),
                _ => data.truncate(at),
            }
        }
        parse_everything(&data);
    }
}
