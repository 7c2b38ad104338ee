//! `cordon verify`: an auditor's independent check of a log it does not run. Trusting only
//! the log's verifier key and the witnesses' keys, it checks the checkpoint's signature
//! and the cosignature quorum, recomputes the tree (from the tiles, and from the entries
//! when they are readable), demands consistency with the checkpoint it verified last
//! time, catches split views, and proves the inclusion of receipts.
pub mod receipt;
pub mod signed;
pub mod source;
pub mod state;
pub mod tree;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cordon_log::merkle::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
use cordon_log::{Hash, NoteVerifier, SignedCheckpoint, Verifier};
use serde::Serialize;
use thiserror::Error;

pub use receipt::Receipt;
pub use signed::Outcome;
pub use source::Source;
use state::{Seen, State};
use tree::TileTree;

/// Why verification could not be run or a piece of it could not be read.
#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("{0}")]
    Usage(String),
    #[error("{what}: {why}")]
    Fetch { what: String, why: String },
    #[error("the tiles do not form a tree: {why}")]
    Tree { why: String },
    #[error("state file {path}: {why}")]
    State { path: PathBuf, why: String },
}

/// What to verify and against which keys.
pub struct Options {
    pub source: Source,
    pub log_key: Verifier,
    /// Witness cosigner keys (tlog-cosignature/v1).
    pub witnesses: Vec<Verifier>,
    /// Cosignatures required, from distinct witnesses.
    pub quorum: usize,
    pub state: Option<PathBuf>,
    /// More checkpoints of the same log (files or http URLs), e.g. cosigned ones kept by
    /// witnesses or other auditors: each must agree with the tree.
    pub checkpoints: Vec<String>,
    pub receipts: Vec<Receipt>,
    /// The log's receipt key, which signs receipts (docs/receipts.md).
    pub receipt_key: Option<Verifier>,
}

/// The outcome, for people and (as JSON) for machines.
#[derive(Debug, Serialize)]
pub struct Report {
    pub pass: bool,
    pub source: String,
    pub origin: Option<String>,
    pub size: Option<u64>,
    /// The verified root hash, base64.
    pub root: Option<String>,
    /// The largest size a quorum of witnesses cosigned, when witnesses were given.
    pub witnessed_size: Option<u64>,
    pub checks: Vec<Check>,
    pub receipts: Vec<ReceiptResult>,
    /// Some receipt is past the published size: not a failure, not yet a proof.
    pub pending: bool,
    pub state_updated: bool,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_view: Option<SplitView>,
}

/// Two checkpoints of one log and one size with different roots: someone was shown a
/// different history than someone else.
#[derive(Debug, Serialize)]
pub struct SplitView {
    pub size: u64,
    pub seen: [Sighting; 2],
}

#[derive(Debug, Serialize)]
pub struct Sighting {
    pub root: String,
    pub seen_in: String,
}

#[derive(Debug, Serialize)]
pub struct ReceiptResult {
    pub index: u64,
    pub ok: bool,
    pub outcome: Outcome,
    /// The leaf hash in the log at that index, hex.
    pub leaf_hash: Option<String>,
    pub detail: String,
}

impl Report {
    fn new(source: String) -> Report {
        Report {
            pass: false,
            source,
            origin: None,
            size: None,
            root: None,
            witnessed_size: None,
            checks: Vec::new(),
            receipts: Vec::new(),
            pending: false,
            state_updated: false,
        }
    }

    fn push(&mut self, check: &'static str, ok: bool, detail: String) {
        self.checks.push(Check {
            check,
            ok,
            detail,
            split_view: None,
        });
    }

    fn split(&mut self, check: &'static str, detail: String, view: SplitView) {
        self.checks.push(Check {
            check,
            ok: false,
            detail,
            split_view: Some(view),
        });
    }

    /// The first failed check or receipt, in words.
    pub fn failure(&self) -> Option<String> {
        let check = self
            .checks
            .iter()
            .find(|c| !c.ok)
            .map(|c| format!("{}: {}", c.check, c.detail));
        check.or_else(|| {
            self.receipts
                .iter()
                .find(|r| !r.ok && r.outcome != Outcome::NotYetPublished)
                .map(|r| format!("receipt {}: {}", r.index, r.detail))
        })
    }
}

/// Runs every check it can; the report says which passed. The state file is updated only
/// when everything passed.
pub async fn run(opts: Options) -> Report {
    let mut report = Report::new(opts.source.describe());
    let Some((cp, cp_bytes)) = check_checkpoint(&opts, &mut report).await else {
        return report;
    };
    let (origin, size, root) = (
        cp.checkpoint.origin.clone(),
        cp.checkpoint.size,
        cp.checkpoint.root,
    );
    report.origin = Some(origin.clone());
    report.size = Some(size);
    report.root = Some(B64.encode(root));
    let Some(mut tree) = check_tree(&opts, &mut report, size, root).await else {
        return report;
    };
    check_entries(&opts, &mut report, size, root).await;
    let extras = check_other_checkpoints(&opts, &mut report, &mut tree, &origin).await;
    let mut candidates = vec![(report.source.clone(), cp.clone())];
    candidates.extend(extras);
    check_quorum(&opts, &mut report, &candidates);
    let state = check_state(&opts, &mut report, &mut tree, &origin);
    check_receipts(&opts, &mut report, &mut tree, &origin);
    let waiting = |r: &ReceiptResult| r.outcome == Outcome::NotYetPublished;
    report.pending = report.receipts.iter().any(waiting);
    report.pass =
        report.checks.iter().all(|c| c.ok) && report.receipts.iter().all(|r| r.ok || waiting(r));
    if let (true, Some(path), Some(mut state)) = (report.pass, &opts.state, state) {
        state.logs.insert(
            origin,
            Seen {
                checkpoint: String::from_utf8_lossy(&cp_bytes).into_owned(),
                verified_at: now(),
            },
        );
        match state.save(path) {
            Ok(()) => report.state_updated = true,
            Err(e) => {
                report.push("state", false, e.to_string());
                report.pass = false;
            }
        }
    }
    report
}

async fn check_checkpoint(
    opts: &Options,
    report: &mut Report,
) -> Option<(SignedCheckpoint, Vec<u8>)> {
    let bytes = match opts.source.checkpoint().await {
        Ok(b) => b,
        Err(e) => {
            report.push("checkpoint", false, e.to_string());
            return None;
        }
    };
    let key: &dyn NoteVerifier = &opts.log_key;
    match SignedCheckpoint::open(&bytes, &[key], Some(key.name())) {
        Ok(cp) => {
            report.push(
                "checkpoint",
                true,
                format!("signed by {} (size {})", key.name(), cp.checkpoint.size),
            );
            Some((cp, bytes))
        }
        Err(e) => {
            report.push(
                "checkpoint",
                false,
                format!(
                    "not validly signed by the log key {}: {e}",
                    opts.log_key.to_text()
                ),
            );
            None
        }
    }
}

async fn check_tree(
    opts: &Options,
    report: &mut Report,
    size: u64,
    root: Hash,
) -> Option<TileTree> {
    let mut tree = match TileTree::fetch(&opts.source, size).await {
        Ok(t) => t,
        Err(e) => {
            report.push("tree", false, e.to_string());
            return None;
        }
    };
    match tree.root_at(size) {
        Ok(r) if r == root => {
            report.push(
                "tree",
                true,
                format!("recomputed from the hash tiles: {size} leaves lead to the signed root"),
            );
            Some(tree)
        }
        Ok(_) => {
            report.push(
                "tree",
                false,
                "the hash tiles lead to a different root than the checkpoint signs".into(),
            );
            None
        }
        Err(e) => {
            report.push("tree", false, e.to_string());
            None
        }
    }
}

/// With a directory whose entry bundles are readable, every entry is hashed again.
async fn check_entries(opts: &Options, report: &mut Report, size: u64, root: Hash) {
    let Some(dir) = opts.source.dir() else { return };
    if size > 0 && !dir.join("tile/entries").is_dir() {
        return;
    }
    let (dir, key) = (dir.to_path_buf(), opts.log_key.clone());
    let outcome = tokio::task::spawn_blocking(move || entries_extend(&dir, &key, size, root)).await;
    match outcome {
        Ok(Ok(detail)) => report.push("entries", true, detail),
        Ok(Err(why)) => report.push("entries", false, why),
        Err(_) => report.push(
            "entries",
            false,
            "the entry check stopped unexpectedly".into(),
        ),
    }
}

/// `verify_dir` reads the checkpoint again; if the log grew meanwhile, the tree checked
/// must be a prefix of the one whose entries were hashed.
fn entries_extend(
    dir: &std::path::Path,
    key: &Verifier,
    size: u64,
    root: Hash,
) -> Result<String, String> {
    let v = cordon_log::verify::verify_dir(dir, key).map_err(|e| e.to_string())?;
    if v.size == size && v.root == root {
        return Ok(format!(
            "all {size} entries hashed again; they match the tiles"
        ));
    }
    let proof = consistency_proof(
        &mut cordon_log::fs::TileHashes::new(dir, v.size),
        size,
        v.size,
    )
    .map_err(|e| e.to_string())?;
    verify_consistency(size, v.size, &root, &v.root, &proof).map_err(|_| {
        format!(
            "the log moved from size {size} to {} during the check, and not by appending",
            v.size
        )
    })?;
    Ok(format!(
        "all {} entries hashed again (the log grew from {size} during the check); they match the tiles",
        v.size
    ))
}

/// Each further checkpoint must be signed by the log and agree with the tree at its size.
async fn check_other_checkpoints(
    opts: &Options,
    report: &mut Report,
    tree: &mut TileTree,
    origin: &str,
) -> Vec<(String, SignedCheckpoint)> {
    let mut good = Vec::new();
    for place in &opts.checkpoints {
        let bytes = match read_place(opts, place).await {
            Ok(b) => b,
            Err(e) => {
                report.push("other checkpoint", false, e.to_string());
                continue;
            }
        };
        let key: &dyn NoteVerifier = &opts.log_key;
        let cp = match SignedCheckpoint::open(&bytes, &[key], Some(origin)) {
            Ok(cp) => cp,
            Err(e) => {
                report.push(
                    "other checkpoint",
                    false,
                    format!("{place}: not a checkpoint of {origin} signed by its key: {e}"),
                );
                continue;
            }
        };
        let size = cp.checkpoint.size;
        match agrees(tree, size, cp.checkpoint.root) {
            Agreement::Same => {
                report.push(
                    "other checkpoint",
                    true,
                    format!("{place} (size {size}) agrees with the tree"),
                );
                good.push((place.clone(), cp));
            }
            Agreement::Newer => report.push(
                "other checkpoint",
                false,
                format!(
                    "{place} has size {size} but the source serves only {}: the source shows an older or rewound log",
                    tree.size()
                ),
            ),
            Agreement::Differs(actual) => report.split(
                "other checkpoint",
                format!("split view: {place} and {} disagree about the log at size {size}", report.source),
                SplitView {
                    size,
                    seen: [
                        Sighting { root: B64.encode(cp.checkpoint.root), seen_in: place.clone() },
                        Sighting { root: B64.encode(actual), seen_in: report.source.clone() },
                    ],
                },
            ),
        }
    }
    good
}

async fn read_place(opts: &Options, place: &str) -> Result<Vec<u8>, VerifyError> {
    if place.starts_with("http://") || place.starts_with("https://") {
        let http = match &opts.source {
            Source::Url { http, .. } => http.clone(),
            Source::Dir(_) => source::Http::new(std::time::Duration::from_secs(10)),
        };
        return http.get(place).await?.ok_or_else(|| VerifyError::Fetch {
            what: place.to_string(),
            why: "not found".into(),
        });
    }
    std::fs::read(place).map_err(|e| VerifyError::Fetch {
        what: place.to_string(),
        why: e.to_string(),
    })
}

enum Agreement {
    Same,
    Newer,
    Differs(Hash),
}

fn agrees(tree: &mut TileTree, size: u64, root: Hash) -> Agreement {
    match tree.root_at(size) {
        Ok(r) if r == root => Agreement::Same,
        Ok(r) => Agreement::Differs(r),
        Err(_) => Agreement::Newer,
    }
}

/// The largest checkpoint that at least `quorum` distinct witnesses validly cosigned.
fn check_quorum(opts: &Options, report: &mut Report, candidates: &[(String, SignedCheckpoint)]) {
    if opts.witnesses.is_empty() && opts.quorum == 0 {
        return;
    }
    // A key given twice is still one witness: it must not count twice.
    let mut witnesses: Vec<&Verifier> = Vec::new();
    for w in &opts.witnesses {
        if !witnesses.contains(&w) {
            witnesses.push(w);
        }
    }
    let mut best: Option<(u64, Vec<String>)> = None;
    for (place, cp) in candidates {
        let mut names = Vec::new();
        for &w in &witnesses {
            let v: &dyn NoteVerifier = w;
            match cp.note.verify(&[v]) {
                Ok(_) => match cosignature_problem(cp, w) {
                    None => names.push(v.name().to_string()),
                    Some(why) => {
                        report.push("cosignatures", false, format!("{place}: {why}"));
                        return;
                    }
                },
                Err(cordon_log::NoteError::NoTrustedSignature(_)) => {}
                Err(e) => {
                    report.push(
                        "cosignatures",
                        false,
                        format!(
                            "{place}: the cosignature of {} does not verify: {e}",
                            v.name()
                        ),
                    );
                    return;
                }
            }
        }
        let size = cp.checkpoint.size;
        if names.len() >= opts.quorum && !matches!(&best, Some((s, _)) if *s >= size) {
            best = Some((size, names));
        }
    }
    match best {
        Some((size, names)) => {
            report.witnessed_size = Some(size);
            report.push(
                "cosignatures",
                true,
                format!(
                    "size {size} cosigned by {} of the {} witnesses given (quorum {}): {}",
                    names.len(),
                    witnesses.len(),
                    opts.quorum,
                    names.join(", ")
                ),
            );
        }
        None => report.push(
            "cosignatures",
            false,
            format!(
                "no checkpoint carries {} valid cosignatures from the {} witnesses given; pass a cosigned checkpoint with --checkpoint, or check the witness keys",
                opts.quorum,
                witnesses.len()
            ),
        ),
    }
}

/// A cosignature from the future is not evidence of anything yet.
fn cosignature_problem(cp: &SignedCheckpoint, w: &Verifier) -> Option<String> {
    let sig = cp
        .note
        .signatures()
        .iter()
        .find(|s| s.name == w.name() && s.key_id == w.key_id())?;
    let time = w.cosignature_time(&sig.signature)?;
    (time > now() + 600)
        .then(|| format!("{}'s cosignature is dated {time}, in the future", w.name()))
}

/// The checkpoint verified last time must be the tree's past: not larger, and at its
/// size the same root (a consistency proof from the tiles).
fn check_state(
    opts: &Options,
    report: &mut Report,
    tree: &mut TileTree,
    origin: &str,
) -> Option<State> {
    let path = opts.state.as_ref()?;
    let state = match State::load(path) {
        Ok(s) => s,
        Err(e) => {
            report.push("consistency", false, e.to_string());
            return None;
        }
    };
    let Some(seen) = state.logs.get(origin) else {
        report.push(
            "consistency",
            true,
            format!(
                "first run for {origin}: this checkpoint will be remembered in {}",
                path.display()
            ),
        );
        return Some(state);
    };
    let key: &dyn NoteVerifier = &opts.log_key;
    let old = match SignedCheckpoint::open(seen.checkpoint.as_bytes(), &[key], Some(origin)) {
        Ok(cp) => cp.checkpoint,
        Err(e) => {
            report.push(
                "consistency",
                false,
                format!(
                    "the checkpoint remembered in {} does not verify with this key: {e}",
                    path.display()
                ),
            );
            return None;
        }
    };
    let size = tree.size();
    let remembered = format!("{} (verified at {})", path.display(), seen.verified_at);
    if old.size > size {
        report.push(
            "consistency",
            false,
            format!(
                "the log has been rewound: it now has size {size}, but you verified size {} before ({remembered})",
                old.size
            ),
        );
        return None;
    }
    let proved = consistency_proof(tree, old.size, size)
        .ok()
        .and_then(|p| tree.root_at(size).ok().map(|new| (p, new)))
        .is_some_and(|(p, new)| verify_consistency(old.size, size, &old.root, &new, &p).is_ok());
    if proved {
        report.push(
            "consistency",
            true,
            format!(
                "extends the checkpoint of size {} verified before, proved from the tiles",
                old.size
            ),
        );
        return Some(state);
    }
    let actual = tree
        .root_at(old.size)
        .map(|r| B64.encode(r))
        .unwrap_or_default();
    report.split(
        "consistency",
        format!(
            "split view: the log now shows a different history at size {} than the one you verified before ({remembered})",
            old.size
        ),
        SplitView {
            size: old.size,
            seen: [
                Sighting { root: B64.encode(old.root), seen_in: remembered },
                Sighting { root: actual, seen_in: report.source.clone() },
            ],
        },
    );
    None
}

/// Receipts are checked against the published tree: the witnessed size when witnesses
/// were given (a quorum cosigned it), else the verified checkpoint's.
fn check_receipts(opts: &Options, report: &mut Report, tree: &mut TileTree, origin: &str) {
    if opts.receipts.is_empty() {
        return;
    }
    let size = report
        .witnessed_size
        .map_or(tree.size(), |w| w.min(tree.size()));
    let Ok(root) = tree.root_at(size) else {
        report.push(
            "receipts",
            false,
            format!("no root at the published size {size}"),
        );
        return;
    };
    let mut published = signed::Published {
        tree,
        size,
        root,
        origin,
    };
    for r in &opts.receipts {
        let result = match r {
            Receipt::Signed { text, .. } => {
                signed::check(&mut published, opts.receipt_key.as_ref(), text)
            }
            Receipt::Entry { index, expect } => look_up(&mut published, *index, expect),
        };
        report.receipts.push(result);
    }
}

/// An auditor's lookup: is this entry at this index of the published tree?
fn look_up(p: &mut signed::Published<'_>, index: u64, expect: &receipt::Expect) -> ReceiptResult {
    let size = p.size;
    let result = |outcome: Outcome, leaf: Option<Hash>, detail: String| ReceiptResult {
        index,
        ok: outcome == Outcome::Included,
        outcome,
        leaf_hash: leaf.map(|h| receipt::hex(&h)),
        detail,
    };
    if index >= size {
        let why = format!("not yet published: the published log has {size} entries");
        return result(Outcome::NotYetPublished, None, why);
    }
    let leaf = p.tree.leaf(index);
    if leaf != Some(expect.leaf_hash()) {
        let why = format!(
            "the published log holds another entry at this index (leaf hash {})",
            leaf.map(|h| receipt::hex(&h)).unwrap_or_default()
        );
        return result(Outcome::NotFound, leaf, why);
    }
    let proved = inclusion_proof(p.tree, index, size).is_ok_and(|proof| {
        verify_inclusion(&expect.leaf_hash(), index, size, &proof, &p.root).is_ok()
    });
    if !proved {
        let why = "the inclusion proof from the tiles does not verify".to_string();
        return result(Outcome::NotFound, leaf, why);
    }
    let what = match expect {
        receipt::Expect::LeafHash(_) => "the given leaf hash is at this index".to_string(),
        receipt::Expect::Entry(path, _) => {
            format!("the entry in {} is at this index", path.display())
        }
    };
    result(
        Outcome::Included,
        leaf,
        format!("included: {what}, proved against the published root of size {size}"),
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
