//! Cosigned publication: the gateway publishes a checkpoint only once `quorum` of its
//! configured witnesses have cosigned it. A background task follows the log's newest
//! signed checkpoint, asks each witness to cosign it (with a consistency proof from what
//! that witness last cosigned), verifies every cosignature, and atomically writes the
//! published note. Decisions never wait for it: the log goes on appending and signing its
//! own checkpoints while witnesses are down, and the public side keeps serving the last
//! cosigned checkpoint until the next one reaches the quorum.
pub use crate::config::{PublishSection, WitnessEntry};
use crate::Gateway;
use cordon_log::fs::TileHashes;
use cordon_log::note::NoteSignature;
use cordon_log::witness::AddCheckpoint;
use cordon_log::{NoteVerifier, SignedCheckpoint, Verifier};
use cordon_witness::{ClientError, WitnessClient};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod mirror;

/// The public directory's default name inside the log directory.
pub const DEFAULT_DIR: &str = "public";

/// Why publication could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publish: {0}")]
    Config(String),
    #[error("the published checkpoint {path} does not verify with the log's key: {message} (move it aside to start publication afresh)")]
    Published { path: PathBuf, message: String },
}

/// A checkpoint the quorum cosigned, as served.
#[derive(Debug, Clone)]
pub struct Published {
    pub bytes: Vec<u8>,
    pub size: u64,
    pub root: cordon_log::Hash,
    /// Names of the configured witnesses whose cosignatures it carries.
    pub cosigners: Vec<String>,
    /// The newest cosignature timestamp (seconds since the epoch).
    pub time: u64,
}

struct Witness {
    entry: WitnessEntry,
    verifier: Verifier,
    /// The size this witness last cosigned (or reported in a 409).
    old_size: AtomicU64,
    failures: AtomicU64,
}

/// Publication state shared by the publisher task, `/metrics` and the public side.
pub struct Publication {
    witnesses: Vec<Witness>,
    quorum: usize,
    max_backoff: Duration,
    /// `<public dir>/checkpoint`.
    path: PathBuf,
    published: Mutex<Option<Published>>,
    /// Since when the log has held entries not yet published.
    behind_since: Mutex<Option<Instant>>,
    rounds_failed: AtomicU64,
    log_key: Verifier,
}

impl Publication {
    /// Checks the section and loads the last published checkpoint, if any.
    pub fn open(
        section: &PublishSection,
        log_root: &Path,
        log_key: &Verifier,
    ) -> Result<Publication, PublishError> {
        let mut witnesses = Vec::new();
        for w in &section.witnesses {
            let verifier = Verifier::parse(w.vkey.trim()).map_err(|e| {
                PublishError::Config(format!(
                    "witness {:?}: vkey is not a verifier key: {e}",
                    w.name
                ))
            })?;
            if !verifier.is_cosigner() {
                return Err(PublishError::Config(format!(
                    "witness {:?}: vkey is not a cosignature/v1 key (a witness prints it at `cordon witness keygen`)",
                    w.name
                )));
            }
            if !w.url.starts_with("http://") && !w.url.starts_with("https://") {
                return Err(PublishError::Config(format!(
                    "witness {:?}: url {:?} must start with https:// or http://",
                    w.name, w.url
                )));
            }
            check_distinct(&witnesses, w, &verifier)?;
            witnesses.push(Witness {
                entry: w.clone(),
                verifier,
                old_size: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            });
        }
        if section.quorum == 0 || section.quorum > witnesses.len() {
            return Err(PublishError::Config(format!(
                "quorum = {} but {} witnesses are configured; use 1..={}",
                section.quorum,
                witnesses.len(),
                witnesses.len()
            )));
        }
        let dir = section
            .dir
            .clone()
            .unwrap_or_else(|| log_root.join(DEFAULT_DIR));
        std::fs::create_dir_all(&dir).map_err(|e| PublishError::Published {
            path: dir.clone(),
            message: format!("cannot create the public directory: {e}"),
        })?;
        let path = dir.join("checkpoint");
        let publication = Publication {
            witnesses,
            quorum: section.quorum,
            max_backoff: Duration::from_millis(section.max_backoff_ms.max(1)),
            published: Mutex::new(None),
            behind_since: Mutex::new(None),
            rounds_failed: AtomicU64::new(0),
            path,
            log_key: log_key.clone(),
        };
        publication.load()?;
        Ok(publication)
    }

    fn load(&self) -> Result<(), PublishError> {
        let log_key = &self.log_key;
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(PublishError::Published {
                    path: self.path.clone(),
                    message: e.to_string(),
                })
            }
        };
        let v: &dyn NoteVerifier = log_key;
        let cp = SignedCheckpoint::open(&bytes, &[v], Some(log_key.name())).map_err(|e| {
            PublishError::Published {
                path: self.path.clone(),
                message: e.to_string(),
            }
        })?;
        let mut cosigners = Vec::new();
        let mut time = 0;
        for w in &self.witnesses {
            if let Some(sig) = cp
                .note
                .signatures()
                .iter()
                .find(|s| matches_key(s, &w.verifier))
            {
                cosigners.push(w.entry.name.clone());
                time = time.max(w.verifier.cosignature_time(&sig.signature).unwrap_or(0));
                w.old_size.store(cp.checkpoint.size, Ordering::Relaxed);
            }
        }
        self.set(Published {
            size: cp.checkpoint.size,
            root: cp.checkpoint.root,
            bytes,
            cosigners,
            time,
        });
        Ok(())
    }

    fn set(&self, p: Published) {
        if let Ok(mut g) = self.published.lock() {
            *g = Some(p);
        }
    }

    /// The last checkpoint the quorum cosigned.
    pub fn published(&self) -> Option<Published> {
        self.published.lock().ok().and_then(|g| g.clone())
    }

    /// The witnesses' verifier keys, for the commands the public page shows.
    pub fn witness_vkeys(&self) -> Vec<String> {
        self.witnesses
            .iter()
            .map(|w| w.entry.vkey.clone())
            .collect()
    }

    /// The public directory: the cosigned checkpoint and the hash tiles it covers.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn quorum(&self) -> usize {
        self.quorum
    }

    fn published_size(&self) -> Option<u64> {
        self.published().map(|p| p.size)
    }

    /// Prometheus text: how far publication lags the log, and witness failures.
    pub fn render_metrics(&self, out: &mut String, log_size: u64) {
        let published = self.published_size().unwrap_or(0);
        let lag_entries = log_size.saturating_sub(published);
        let lag_seconds = self
            .behind_since
            .lock()
            .ok()
            .and_then(|g| *g)
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        let _ = writeln!(out, "# HELP cordon_publication_lag_entries Entries in the log's newest checkpoint not yet under a cosigned, published one.\n# TYPE cordon_publication_lag_entries gauge\ncordon_publication_lag_entries {lag_entries}");
        let _ = writeln!(out, "# HELP cordon_publication_lag_seconds How long the log has held entries not yet published.\n# TYPE cordon_publication_lag_seconds gauge\ncordon_publication_lag_seconds {lag_seconds:.3}");
        let _ = writeln!(out, "# HELP cordon_published_checkpoint_size Entries under the published (cosigned) checkpoint.\n# TYPE cordon_published_checkpoint_size gauge\ncordon_published_checkpoint_size {published}");
        let _ = writeln!(out, "# HELP cordon_witness_failures_total Requests to a witness that did not yield a valid cosignature.\n# TYPE cordon_witness_failures_total counter");
        for w in &self.witnesses {
            let _ = writeln!(
                out,
                "cordon_witness_failures_total{{witness=\"{}\"}} {}",
                label(&w.entry.name),
                w.failures.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP cordon_publication_rounds_failed_total Rounds that ended without a quorum.\n# TYPE cordon_publication_rounds_failed_total counter\ncordon_publication_rounds_failed_total {}", self.rounds_failed.load(Ordering::Relaxed));
    }

    fn note_behind(&self, behind: bool) {
        if let Ok(mut g) = self.behind_since.lock() {
            match (behind, g.is_some()) {
                (true, false) => *g = Some(Instant::now()),
                (false, _) => *g = None,
                _ => {}
            }
        }
    }
}

/// A key listed twice would count twice toward the quorum, letting one witness stand in
/// for two; a name listed twice would merge two witnesses' failure counters.
fn check_distinct(
    seen: &[Witness],
    entry: &WitnessEntry,
    verifier: &Verifier,
) -> Result<(), PublishError> {
    let key: &dyn NoteVerifier = verifier;
    for w in seen {
        let other: &dyn NoteVerifier = &w.verifier;
        if other.name() == key.name() && other.key_id() == key.key_id() {
            return Err(PublishError::Config(format!(
                "witnesses {:?} and {:?} have the same vkey; each witness must be listed once, with its own key",
                w.entry.name, entry.name
            )));
        }
        if w.entry.name == entry.name {
            return Err(PublishError::Config(format!(
                "two witnesses are named {:?}; give each its own name",
                entry.name
            )));
        }
    }
    Ok(())
}

fn matches_key(s: &NoteSignature, v: &Verifier) -> bool {
    let v: &dyn NoteVerifier = v;
    s.name == v.name() && s.key_id == v.key_id()
}

/// A Prometheus label value: quotes, backslashes and newlines escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// How long a round waits for the remaining witnesses once the quorum has cosigned.
const LATE_GRACE: Duration = Duration::from_millis(500);

/// Follows the log and publishes until `shutdown` resolves.
pub async fn run(gw: Arc<Gateway>, shutdown: impl std::future::Future<Output = ()>) {
    let Some(publication) = gw.publication.clone() else {
        return;
    };
    let client = WitnessClient::new(Duration::from_secs(5));
    tokio::pin!(shutdown);
    let mut failed_rounds: u32 = 0;
    loop {
        let wait = match round(&gw, &publication, &client).await {
            Ok(()) => {
                failed_rounds = 0;
                Duration::from_millis(100)
            }
            Err(why) => {
                publication.rounds_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%why, "checkpoint not published yet");
                failed_rounds = failed_rounds.saturating_add(1);
                backoff(failed_rounds, publication.max_backoff)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => return,
        }
    }
}

/// Exponential from 100 ms, capped, with up to 50% jitter so that several gateways do
/// not hit a recovering witness in step.
fn backoff(failures: u32, cap: Duration) -> Duration {
    let exp = Duration::from_millis(100).saturating_mul(1u32 << failures.min(16));
    let base = exp.min(cap);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = base.mul_f64(f64::from(nanos % 1000) / 2000.0);
    base - jitter
}

/// One round: if the log has a checkpoint newer than the published one, gather
/// cosignatures and publish when the quorum is reached.
async fn round(
    gw: &Gateway,
    publication: &Publication,
    client: &WitnessClient,
) -> Result<(), String> {
    let cp = gw.log.checkpoint();
    let size = cp.checkpoint.size;
    let published = publication.published_size();
    publication.note_behind(published.is_none_or(|p| p < size));
    if published.is_some_and(|p| p >= size) {
        return Ok(());
    }
    let bytes = cp.to_bytes();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, w) in publication.witnesses.iter().enumerate() {
        let old = w.old_size.load(Ordering::Relaxed).min(size);
        let root = gw.log.root().to_owned();
        let (client, url, bytes) = (client.clone(), w.entry.url.clone(), bytes.clone());
        tasks.spawn(async move { (i, ask(&client, &url, &root, bytes, old, size).await) });
    }
    let mut sigs = Vec::new();
    let mut superseded = false;
    let mut quorum_at: Option<Instant> = None;
    loop {
        // Once the quorum is in hand, a hanging witness may delay publication only by
        // LATE_GRACE; it is asked again from its old size next round.
        let next = match quorum_at {
            None => tasks.join_next().await,
            Some(t) => {
                let left = LATE_GRACE.saturating_sub(t.elapsed());
                tokio::time::timeout(left, tasks.join_next())
                    .await
                    .unwrap_or(None)
            }
        };
        let Some(joined) = next else { break };
        let Ok((i, result)) = joined else { continue };
        let w = &publication.witnesses[i];
        match result.and_then(|lines| {
            cordon_witness::client::verified_cosignature(&bytes, &lines, &w.verifier)
        }) {
            Ok(sig) => {
                w.old_size.store(size, Ordering::Relaxed);
                sigs.push((i, sig));
                if sigs.len() >= publication.quorum && quorum_at.is_none() {
                    quorum_at = Some(Instant::now());
                }
            }
            // Another gateway on this shared log had the witness cosign a larger tree
            // first: the witness is healthy and this checkpoint is already stale.
            Err(ClientError::Conflict { latest }) if latest > size => {
                w.old_size.store(latest, Ordering::Relaxed);
                superseded = true;
            }
            Err(e) => {
                w.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(witness = %w.entry.name, error = %e, "witness did not cosign");
            }
        }
    }
    if sigs.len() < publication.quorum && superseded {
        if newer_on_disk(&publication.path, size) {
            publication.load().map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    if sigs.len() < publication.quorum {
        return Err(format!(
            "{} of {} witnesses cosigned size {size}; {} needed",
            sigs.len(),
            publication.witnesses.len(),
            publication.quorum
        ));
    }
    sigs.sort_by_key(|(i, _)| *i);
    let mut note = cp.note.clone();
    let mut time = 0;
    let mut cosigners = Vec::new();
    for (i, sig) in sigs {
        let w = &publication.witnesses[i];
        time = time.max(w.verifier.cosignature_time(&sig.signature).unwrap_or(0));
        cosigners.push(w.entry.name.clone());
        note.add_signature(sig);
    }
    let out = note.to_bytes();
    let from = published.unwrap_or(0);
    if !publish_unless_newer(gw.log.root(), &publication.path, from, size, &out)? {
        // Another gateway sharing this log (PostgreSQL backend) published a larger tree
        // meanwhile: adopt it rather than rewind the public checkpoint.
        return publication.load().map_err(|e| e.to_string());
    }
    publication.set(Published {
        bytes: out,
        size,
        root: cp.checkpoint.root,
        cosigners,
        time,
    });
    publication.note_behind(gw.log.checkpoint().checkpoint.size > size);
    Ok(())
}

/// Asks one witness, following a 409 to the size it reports (at most twice: a witness
/// that keeps moving its answer is not one to chase).
async fn ask(
    client: &WitnessClient,
    url: &str,
    root: &Path,
    checkpoint: Vec<u8>,
    mut old: u64,
    size: u64,
) -> Result<String, ClientError> {
    for _ in 0..3 {
        let proof = if old == 0 || old >= size {
            Vec::new()
        } else {
            let mut src = TileHashes::new(root, size);
            cordon_log::merkle::consistency_proof(&mut src, old, size).map_err(|e| {
                ClientError::BadResponse(format!("cannot prove consistency from {old}: {e}"))
            })?
        };
        let req = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: checkpoint.clone(),
        };
        match client.add_checkpoint(url, &req).await {
            Err(ClientError::Conflict { latest }) if latest <= size && latest != old => {
                old = latest;
            }
            other => return other,
        }
    }
    Err(ClientError::Refused {
        status: 409,
        message: "the witness kept reporting a different size".into(),
    })
}

/// Whether the public directory already holds a checkpoint larger than `size`.
fn newer_on_disk(path: &Path, size: u64) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| SignedCheckpoint::parse_unverified(&b).ok())
        .is_some_and(|cp| cp.checkpoint.size > size)
}

/// Tiles first, then the checkpoint that needs them, so the public directory is always
/// a complete tree; unless the directory already holds a larger tree (false). The check
/// and the writes happen under the directory's lock, so two gateways sharing it cannot
/// both pass the check and leave the smaller checkpoint last.
fn publish_unless_newer(
    log_root: &Path,
    checkpoint: &Path,
    from: u64,
    size: u64,
    note: &[u8],
) -> Result<bool, String> {
    let public = checkpoint.parent().unwrap_or(Path::new("."));
    let _lock = mirror::lock(public)
        .map_err(|e| format!("cannot lock the public directory {}: {e}", public.display()))?;
    if newer_on_disk(checkpoint, size) {
        return Ok(false);
    }
    mirror::mirror_tiles(log_root, public, from, size)
        .map_err(|e| format!("cannot copy the hash tiles to {}: {e}", public.display()))?;
    mirror::write_atomically(checkpoint, note)
        .map_err(|e| format!("cannot write {}: {e}", checkpoint.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let cap = Duration::from_secs(2);
        assert!(backoff(1, cap) <= Duration::from_millis(200));
        assert!(backoff(1, cap) >= Duration::from_millis(100));
        assert!(backoff(30, cap) <= cap);
        assert!(backoff(30, cap) >= cap / 2);
    }

    fn section(witnesses: &[(&str, &str)]) -> PublishSection {
        PublishSection {
            quorum: 2,
            max_backoff_ms: 1000,
            dir: None,
            witnesses: witnesses
                .iter()
                .map(|(name, vkey)| WitnessEntry {
                    name: (*name).into(),
                    url: "http://127.0.0.1:9".into(),
                    vkey: (*vkey).into(),
                })
                .collect(),
        }
    }

    fn open_error(witnesses: &[(&str, &str)]) -> String {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log_key = cordon_log::Signer::generate("test.example/log")
            .unwrap_or_else(|e| panic!("{e}"))
            .verifier();
        match Publication::open(&section(witnesses), dir.path(), &log_key) {
            Ok(_) => panic!("{witnesses:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn one_witness_listed_twice_cannot_make_a_quorum_of_two() {
        let w = cordon_log::Signer::generate_cosigner("w.example")
            .unwrap_or_else(|e| panic!("{e}"))
            .verifier()
            .to_text();
        let err = open_error(&[("first", &w), ("second", &w)]);
        assert!(
            err.contains("\"first\" and \"second\" have the same vkey"),
            "{err}"
        );
    }

    #[test]
    fn two_witnesses_with_one_name_are_refused() {
        let key = |n: &str| {
            cordon_log::Signer::generate_cosigner(n)
                .unwrap_or_else(|e| panic!("{e}"))
                .verifier()
                .to_text()
        };
        let err = open_error(&[("clerk", &key("a.example")), ("clerk", &key("b.example"))]);
        assert!(err.contains("two witnesses are named \"clerk\""), "{err}");
    }

    #[test]
    fn racing_publishers_never_leave_the_smaller_tree_published() {
        let log = tempfile::tempdir().unwrap();
        let tile = log.path().join("tile/0/000");
        std::fs::create_dir_all(log.path().join("tile/0")).unwrap();
        std::fs::write(&tile, [0u8; 256 * 32]).unwrap();
        let signer = cordon_log::Signer::generate("test.example/log").unwrap();
        let note = |size| {
            let cp = cordon_log::Checkpoint {
                origin: "test.example/log".into(),
                size,
                root: [7; 32],
                extensions: Vec::new(),
            };
            cp.sign(&signer).to_bytes()
        };
        let (small, large) = (note(5), note(9));
        for _ in 0..40 {
            let public = tempfile::tempdir().unwrap();
            let path = public.path().join("checkpoint");
            std::thread::scope(|s| {
                for (size, bytes) in [(9, &large), (5, &small)] {
                    let (log, path) = (log.path(), &path);
                    s.spawn(move || publish_unless_newer(log, path, 0, size, bytes));
                }
            });
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(on_disk, large, "the public checkpoint was rewound");
        }
    }

    #[test]
    fn a_larger_published_tree_is_never_replaced_by_a_smaller_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("checkpoint");
        assert!(!newer_on_disk(&path, 0), "nothing published yet");
        let signer =
            cordon_log::Signer::generate("test.example/log").unwrap_or_else(|e| panic!("{e}"));
        let cp = cordon_log::Checkpoint {
            origin: "test.example/log".into(),
            size: 5,
            root: [7; 32],
            extensions: Vec::new(),
        };
        std::fs::write(&path, cp.sign(&signer).to_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert!(newer_on_disk(&path, 3));
        assert!(!newer_on_disk(&path, 5));
        assert!(!newer_on_disk(&path, 9));
    }

    #[test]
    fn witness_names_cannot_break_the_metrics_text() {
        assert_eq!(label("a\"b\nc"), "a\\\"b\\nc");
    }
}
