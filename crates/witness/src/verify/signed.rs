//! A signed receipt against the published tree: was the entry the log signed for kept,
//! changed, removed with its batch rebuilt, or never written, or is it not yet published?
use cordon_log::hash::{list_root, Hash};
use cordon_log::merkle::{inclusion_proof, verify_inclusion};
use cordon_log::receipt::{path_ranges, CheckedReceipt, ReceiptText};
use cordon_log::Verifier;
use serde::Serialize;

use super::receipt::hex;
use super::tree::TileTree;
use super::ReceiptResult;

/// What checking a receipt found. Only `Included` passes; `NotYetPublished` is not a
/// failure, but the receipt is not yet proved either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Included,
    NotYetPublished,
    Changed,
    Removed,
    NeverWritten,
    Forged,
    /// An auditor's `INDEX:ENTRY` lookup that did not find the entry there.
    NotFound,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Included => "included",
            Outcome::NotYetPublished => "not yet published",
            Outcome::Changed => "changed",
            Outcome::Removed => "removed",
            Outcome::NeverWritten => "never written",
            Outcome::Forged => "forged",
            Outcome::NotFound => "not found",
        }
    }
}

/// The published tree a receipt is checked against: `size` leaves of `tree` with `root`.
pub struct Published<'a> {
    pub tree: &'a mut TileTree,
    pub size: u64,
    pub root: Hash,
    pub origin: &'a str,
}

pub fn check(
    p: &mut Published<'_>,
    receipt_key: Option<&Verifier>,
    text: &ReceiptText,
) -> ReceiptResult {
    let result = |outcome: Outcome, leaf: Option<Hash>, detail: String| ReceiptResult {
        index: text.index,
        ok: outcome == Outcome::Included,
        outcome,
        leaf_hash: leaf.map(|h| hex(&h)),
        detail,
    };
    let Some(key) = receipt_key else {
        return result(
            Outcome::Forged,
            None,
            "cannot check the signature: give the log's receipt key with --receipt-key".into(),
        );
    };
    let c = match text.check(key) {
        Ok(c) => c,
        Err(e) => return result(Outcome::Forged, None, format!("forged: {e}")),
    };
    if c.batch.origin != p.origin {
        let why = format!(
            "forged: the receipt names the log {:?}, not {:?}",
            c.batch.origin, p.origin
        );
        return result(Outcome::Forged, None, why);
    }
    let (outcome, detail) = against_tree(p, &c);
    result(outcome, Some(c.leaf), detail)
}

fn against_tree(p: &mut Published<'_>, c: &CheckedReceipt) -> (Outcome, String) {
    let (i, b) = (c.index, &c.batch);
    let span = format!("indexes {} to {}", b.first, b.end() - 1);
    if i >= p.size {
        return (
            Outcome::NotYetPublished,
            format!(
                "not yet published: the published log has {} entries; entry {i} (signed at {} ms since 1970) is durable and will be checkable once a cosigned checkpoint covers it",
                p.size, b.time_ms
            ),
        );
    }
    let Some(published) = p.tree.leaf(i) else {
        return (
            Outcome::NeverWritten,
            format!("the published tree has no leaf {i}"),
        );
    };
    if b.end() > p.size {
        // Part of the batch is published: the entry can be checked, its batch not yet.
        if published == c.leaf {
            return included(p, c, " (the rest of its batch is not yet published)");
        }
        return match p.tree.find_leaf(&c.leaf, p.size) {
            Some(j) => (Outcome::Removed, format!("removed: the published log holds another entry at {i} (leaf hash {}); the receipted entry is at index {j}: the log was rebuilt", hex(&published))),
            None => (Outcome::Changed, format!("changed: the published log holds another entry at {i} (leaf hash {}), and this one nowhere; the rest of its batch is not yet published", hex(&published))),
        };
    }
    let Some(leaves) = p.tree.leaves(b.first, b.end()) else {
        return (
            Outcome::NeverWritten,
            format!("the published tree lacks {span}"),
        );
    };
    let mut leaves = leaves.to_vec();
    if published == c.leaf && list_root(&leaves) == b.root {
        return included(p, c, "");
    }
    if published != c.leaf {
        leaves[(i - b.first) as usize] = c.leaf;
        if list_root(&leaves) == b.root {
            return (Outcome::Changed, format!("changed: the published log holds another entry at index {i} (leaf hash {}) while the rest of its signed batch ({span}) is unchanged: the entry was rewritten", hex(&published)));
        }
    }
    let batch_seen = part_of_batch_published(p.tree, p.size, c);
    let moved = if published == c.leaf {
        None
    } else {
        p.tree.find_leaf(&c.leaf, p.size)
    };
    match (published == c.leaf, moved) {
        (true, _) => (Outcome::Removed, format!("removed: the entry is at index {i}, but the published tree does not hold the batch the log signed ({span}): entries beside it were removed or changed, the log was rebuilt")),
        (false, Some(j)) => (Outcome::Removed, format!("removed: the published tree does not hold the batch the log signed ({span}); the receipted entry is at index {j}: entries before it were removed and the log rebuilt")),
        (false, None) if batch_seen => (Outcome::Removed, format!("removed: the entry is nowhere in the published log, though other entries of its signed batch ({span}) are in place: it was taken out and the log rebuilt")),
        (false, None) => (Outcome::NeverWritten, format!("never written: the log signed this receipt, but the entry is nowhere in the published log and nothing of its signed batch ({span}) is at its place")),
    }
}

/// The entry is in the published tree: prove it the way any client would.
fn included(p: &mut Published<'_>, c: &CheckedReceipt, note: &str) -> (Outcome, String) {
    let proved = inclusion_proof(p.tree, c.index, p.size)
        .is_ok_and(|proof| verify_inclusion(&c.leaf, c.index, p.size, &proof, &p.root).is_ok());
    if !proved {
        return (
            Outcome::Removed,
            "the inclusion proof from the published tiles does not verify".into(),
        );
    }
    (
        Outcome::Included,
        format!(
            "included: the entry the log signed for is at index {}, proved against the published root of size {}{note}",
            c.index, p.size
        ),
    )
}

/// Whether part of the receipt's batch is in the published log: a subtree on its audit
/// path where the batch put it, or the neighbouring entry (a one-leaf subtree) anywhere,
/// since removing an entry moves those after it. Then the batch was written, and the
/// entry taken out later.
fn part_of_batch_published(tree: &TileTree, size: u64, c: &CheckedReceipt) -> bool {
    let b = &c.batch;
    path_ranges(c.index - b.first, b.count)
        .into_iter()
        .zip(&c.path)
        .any(|((s, e), h)| {
            let in_place = tree
                .leaves(b.first + s, b.first + e)
                .is_some_and(|l| list_root(l) == *h);
            in_place || (e - s == 1 && tree.find_leaf(h, size).is_some())
        })
}
