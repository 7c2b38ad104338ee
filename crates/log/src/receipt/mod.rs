//! Signed receipts: once per commit batch the log signs a note over the batch (origin,
//! first index, count, the Merkle root of the batch's leaves, time) with its receipt
//! key, and each entry's receipt is that note plus the entry's index, leaf hash and
//! audit path within the batch. One signature serves a whole group commit.
mod text;
mod tree;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::hash::{leaf_hash, Hash};
use crate::keys::Signer;
use crate::note::Note;

pub use text::{
    BatchNote, CheckedReceipt, ReceiptError, ReceiptText, BATCH_LINE, MAX_RECEIPT_BYTES,
    RECEIPT_LINE,
};
pub use tree::path_ranges;
use tree::BatchTree;

/// Proof that an entry is durable in the log at `index`, and of which entry: only the
/// log mints one, after the entry's batch is durable. Neither `Copy` nor `Clone`: whoever
/// acts on a decision consumes its receipt.
#[derive(Debug, PartialEq, Eq)]
pub struct Receipt {
    index: u64,
    signed: Option<Signed>,
}

#[derive(Debug, PartialEq, Eq)]
struct Signed {
    leaf: Hash,
    path: Vec<Hash>,
    /// The batch note, shared by every receipt of the batch.
    note: Arc<Vec<u8>>,
}

impl Receipt {
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The entry's RFC 6962 leaf hash; `None` only from a log that was told not to sign
    /// receipts (to measure what they cost).
    pub fn leaf_hash(&self) -> Option<Hash> {
        self.signed.as_ref().map(|s| s.leaf)
    }

    /// Whether this is a signed receipt for exactly these entry bytes.
    pub fn is_for(&self, entry: &[u8]) -> bool {
        self.leaf_hash() == Some(leaf_hash(entry))
    }

    /// The receipt as text (docs/receipts.md).
    pub fn to_text(&self) -> Option<String> {
        let s = self.signed.as_ref()?;
        let mut out = String::new();
        text::write_receipt(&mut out, self.index, &s.leaf, &s.path, &s.note);
        Some(out)
    }

    /// The receipt as the `Cordon-Signed-Receipt` header carries it: its text in base64.
    pub fn header_value(&self) -> Option<String> {
        let text = self.to_text()?;
        let mut out = String::with_capacity(text.len().div_ceil(3) * 4);
        B64.encode_string(text, &mut out);
        Some(out)
    }

    /// An index-only receipt, for a log told not to sign receipts.
    pub(crate) fn unsigned(index: u64) -> Receipt {
        Receipt {
            index,
            signed: None,
        }
    }
}

/// The receipts of one commit batch, given its entries' leaf hashes, at indexes from
/// `first`: one signature over the batch, one audit path per entry.
pub(crate) fn mint_batch(
    signer: &Signer,
    origin: &str,
    first: u64,
    leaves: Vec<Hash>,
) -> Vec<Receipt> {
    if leaves.is_empty() {
        return Vec::new();
    }
    let count = leaves.len();
    let tree = BatchTree::new(leaves);
    let batch = BatchNote {
        origin: origin.to_string(),
        first,
        count: count as u64,
        root: tree.root(),
        time_ms: now_ms(),
    };
    let text = batch.to_text();
    let mut note = Note::new(text.clone());
    note.add_signature(signer.sign(text.as_bytes()));
    let note = Arc::new(note.to_bytes());
    (0..count)
        .map(|i| Receipt {
            index: first + i as u64,
            signed: Some(Signed {
                leaf: tree.leaf(i),
                path: tree.path(i),
                note: note.clone(),
            }),
        })
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::SignedCheckpoint;

    fn minted(n: usize) -> (Signer, Vec<Vec<u8>>, Vec<Receipt>) {
        let log = Signer::generate("test.example/log").unwrap();
        let key = log.receipt_signer();
        let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
        let refs: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let receipts = mint_batch(&key, "test.example/log", 40, refs);
        (log, entries, receipts)
    }

    #[test]
    fn every_receipt_of_a_batch_checks_against_the_receipt_key() {
        let (log, entries, receipts) = minted(13);
        let key = log.receipt_signer().verifier();
        for (r, e) in receipts.iter().zip(&entries) {
            assert!(r.is_for(e));
            let text = ReceiptText::decode(r.header_value().unwrap().as_bytes()).unwrap();
            let checked = text.check(&key).unwrap();
            assert_eq!(checked.index, r.index());
            assert_eq!((checked.batch.first, checked.batch.count), (40, 13));
            assert_eq!(
                ReceiptText::decode(r.to_text().unwrap().as_bytes()),
                Ok(text)
            );
        }
    }

    #[test]
    fn a_receipt_is_not_signed_by_the_log_key_and_never_parses_as_a_checkpoint() {
        let (log, _, receipts) = minted(1);
        let text = ReceiptText::decode(receipts[0].to_text().unwrap().as_bytes()).unwrap();
        assert!(matches!(
            text.check(&log.verifier()),
            Err(ReceiptError::Untrusted { .. })
        ));
        let receipt_key = log.receipt_signer().verifier();
        assert!(SignedCheckpoint::open(&text.note, &[&receipt_key], None).is_err());
        assert!(SignedCheckpoint::parse_unverified(&text.note).is_err());
        assert_ne!(receipt_key.to_text(), log.verifier().to_text());
    }

    #[test]
    fn an_edited_receipt_is_refused_with_what_was_edited() {
        let (log, _, receipts) = minted(6);
        let key = log.receipt_signer().verifier();
        let good = ReceiptText::decode(receipts[2].to_text().unwrap().as_bytes()).unwrap();
        let mut other_leaf = good.clone();
        other_leaf.leaf[0] ^= 1;
        assert_eq!(other_leaf.check(&key), Err(ReceiptError::PathMismatch));
        let mut other_index = good.clone();
        other_index.index = 43;
        assert_eq!(other_index.check(&key), Err(ReceiptError::PathMismatch));
        other_index.index = 99;
        assert!(matches!(
            other_index.check(&key),
            Err(ReceiptError::OutsideBatch { .. })
        ));
        let mut other_root = good.clone();
        let s = String::from_utf8(other_root.note.clone()).unwrap();
        other_root.note = s.replace("count 6", "count 7").into_bytes();
        assert_eq!(other_root.check(&key), Err(ReceiptError::BadSignature));
    }

    #[test]
    fn a_receipt_of_the_largest_batch_fits_in_an_http_header() {
        let key = Signer::generate("city.example/cordon")
            .unwrap()
            .receipt_signer();
        let entries: Vec<Vec<u8>> = (0..16_384u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let refs: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let receipts = mint_batch(&key, "city.example/cordon", 1 << 40, refs.clone());
        let longest = receipts
            .iter()
            .map(|r| r.header_value().unwrap().len())
            .max();
        assert!(longest.unwrap() < 2048, "{longest:?} bytes");
        let single = mint_batch(&key, "city.example/cordon", 0, refs[..1].to_vec());
        assert!(single[0].header_value().unwrap().len() < 700);
    }

    #[test]
    fn a_receipt_signed_by_another_key_is_untrusted() {
        let (_, _, receipts) = minted(3);
        let stranger = Signer::generate("test.example/log")
            .unwrap()
            .receipt_signer();
        let text = ReceiptText::decode(receipts[0].to_text().unwrap().as_bytes()).unwrap();
        assert!(matches!(
            text.check(&stranger.verifier()),
            Err(ReceiptError::Untrusted { .. })
        ));
    }
}
