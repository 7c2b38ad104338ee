//! The log writer: one sequencer thread that makes appends durable with group commit, and
//! one integrator thread that folds durable entries into tiles and signs a checkpoint.
use std::any::Any;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::bundle::MAX_ENTRY_BYTES;
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::error::{AppendError, LogError};
use crate::fs::{read_on, sync_dir_on, AtomicWriter, DurableDirs, TileHashes};
use crate::hash::{empty_root, leaf_hash, Hash};
use crate::keys::{Signer, Verifier};
use crate::merkle::{consistency_proof, subtree_root, verify_consistency};
use crate::storage::{RealDisk, Storage};
use crate::tree::TreeEdge;
use crate::wal::{self, Segment, WalWriter};

/// Where the log keeps what is not part of the public tlog-tiles layout.
pub const PRIVATE_DIR: &str = ".cordon";
const WAL_DIR: &str = ".cordon/wal";
const LOCK_FILE: &str = ".cordon/lock";
/// The log's verifier key, kept beside the log for tools that have no other copy.
pub const VKEY_FILE: &str = ".cordon/vkey";
/// The verifier key of the log's receipt key ([`Signer::receipt_signer`]), beside the vkey.
pub const RECEIPT_VKEY_FILE: &str = ".cordon/receipt-vkey";

/// Most entries folded into one checkpoint: 64 full tiles' worth.
const MAX_INTEGRATION_BATCH: usize = 16_384;

/// The shortest wait before retrying a failed integration round.
const MIN_RETRY: Duration = Duration::from_millis(50);
/// The longest wait between retries, unless the checkpoint interval is longer.
const MAX_RETRY: Duration = Duration::from_secs(5);

pub use crate::receipt::Receipt;

/// An append that has been handed to the sequencer and not yet acknowledged.
pub struct PendingAppend(pub(crate) oneshot::Receiver<Result<Receipt, AppendError>>);

impl PendingAppend {
    /// Blocks until the entry is durable. Must not be called from inside an async runtime.
    pub fn wait(self) -> Result<Receipt, AppendError> {
        self.0.blocking_recv().unwrap_or(Err(AppendError::Closed))
    }

    /// The outcome if it is already known, without waiting.
    pub fn try_wait(&mut self) -> Option<Result<Receipt, AppendError>> {
        match self.0.try_recv() {
            Ok(r) => Some(r),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(AppendError::Closed)),
        }
    }

    /// Waits, without blocking a thread, until the entry is durable.
    pub async fn durable(self) -> Result<Receipt, AppendError> {
        self.0.await.unwrap_or(Err(AppendError::Closed))
    }
}

/// Awaiting it directly is [`PendingAppend::durable`] without a boxed future: a caller can
/// poll it under a deadline by reference and, if the deadline passes, hand it on.
impl std::future::Future for PendingAppend {
    type Output = Result<Receipt, AppendError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(AppendError::Closed)))
    }
}

/// Tuning for the writer.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// Most entries made durable by one fsync.
    pub max_batch: usize,
    /// A write-ahead segment is closed once it grows past this many bytes.
    pub segment_bytes: u64,
    /// Appends waiting for the sequencer before `submit` blocks, or `try_submit` refuses
    /// (back-pressure).
    pub queue_depth: usize,
    /// Shortest time between the starts of two integration rounds (and the first wait
    /// before retrying a failed one). Each round fsyncs tiles and a checkpoint; spacing
    /// them keeps that traffic from delaying the write-ahead fsyncs that appenders wait
    /// on, at the cost of checkpoint latency. [`Log::checkpoint_now`] starts a round early.
    pub checkpoint_interval: Duration,
    /// Lets tests make every write-ahead write fail part-way, to prove that callers fail
    /// closed and that the log undoes the partial write.
    pub faults: FaultSwitch,
    /// The disk the log lives on: the real one, or in tests a simulated one.
    pub storage: Arc<dyn Storage>,
    /// Adaptive commit delay: the longest the sequencer waits, after taking what is
    /// queued, for as many appends as its previous batch held (the callers it just
    /// answered, most of whom come straight back). Zero (the default) never waits; nor
    /// does an append after a batch of one, or after the log sat idle longer than the
    /// delay.
    pub commit_delay: Duration,
    /// Sign a receipt note per commit batch (on by default). Off only to measure what
    /// receipts cost (`cargo bench -p cordon-log --bench receipts`): its receipts carry
    /// nothing but an index, and the gateway refuses to act on such a receipt.
    pub sign_receipts: bool,
}

/// A switch for tests: while failing, the log's durable writes fail (a write-ahead batch
/// part-way, as a disk filling up does); while stalled, they wait, as on a disk that has
/// stopped answering. The shared log can also be held between a batch's commit and its
/// flush, where a crash makes the batch's fate unknown. Off by default; clones share one
/// switch.
#[derive(Clone, Debug, Default)]
pub struct FaultSwitch(Arc<SwitchState>);

#[derive(Debug, Default)]
struct SwitchState {
    failing: std::sync::atomic::AtomicBool,
    writes: Gate,
    flushes: Gate,
}

/// A place where work waits while the gate is closed.
#[derive(Debug, Default)]
struct Gate {
    closed: Mutex<bool>,
    opened: Condvar,
    /// Work waiting at the gate now.
    held: std::sync::atomic::AtomicUsize,
}

impl Gate {
    fn set(&self, closed: bool) {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner()) = closed;
        self.opened.notify_all();
    }

    fn pass(&self) {
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        if !*closed {
            return;
        }
        self.held.fetch_add(1, Ordering::SeqCst);
        while *closed {
            closed = self.opened.wait(closed).unwrap_or_else(|p| p.into_inner());
        }
        self.held.fetch_sub(1, Ordering::SeqCst);
    }

    fn wait_for_held(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while self.held.load(Ordering::SeqCst) == 0 {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }
}

impl FaultSwitch {
    pub fn fail_writes(&self, on: bool) {
        self.0.failing.store(on, Ordering::SeqCst);
    }

    pub fn is_failing(&self) -> bool {
        self.0.failing.load(Ordering::SeqCst)
    }

    /// While on, every durable write waits before it starts; turning it off lets them go.
    pub fn stall_writes(&self, on: bool) {
        self.0.writes.set(on);
    }

    /// Stalls durable writes until the guard is dropped, so that a test that fails while
    /// they are stalled ends instead of leaving the log's writer waiting for ever. Every
    /// clone shares one switch: dropping any guard lets every write go.
    pub fn stall(&self) -> Stall {
        self.stall_writes(true);
        Stall(self.clone(), Which::Writes)
    }

    /// Waits while writes are stalled.
    pub fn wait_while_stalled(&self) {
        self.0.writes.pass();
    }

    /// Waits until a write is held at the stall, for at most `limit`; says whether one
    /// is. Lets a test know the writer has taken what was queued before it queues more.
    pub fn wait_for_held_write(&self, limit: Duration) -> bool {
        self.0.writes.wait_for_held(limit)
    }

    /// Holds the shared log's batches after their append has committed and before their
    /// flush, until the guard is dropped.
    pub fn stall_flushes(&self) -> Stall {
        self.0.flushes.set(true);
        Stall(self.clone(), Which::Flushes)
    }

    /// Waits while flushes are stalled.
    pub fn wait_while_flushes_stalled(&self) {
        self.0.flushes.pass();
    }

    /// Waits until a batch is held before its flush, for at most `limit`.
    pub fn wait_for_held_flush(&self, limit: Duration) -> bool {
        self.0.flushes.wait_for_held(limit)
    }
}

#[derive(Debug)]
enum Which {
    Writes,
    Flushes,
}

/// Writes (or flushes) stay stalled while this lives (see [`FaultSwitch::stall`] and
/// [`FaultSwitch::stall_flushes`]).
#[must_use = "what it holds resumes as soon as the guard is dropped"]
pub struct Stall(FaultSwitch, Which);

impl Drop for Stall {
    fn drop(&mut self) {
        match self.1 {
            Which::Writes => self.0 .0.writes.set(false),
            Which::Flushes => self.0 .0.flushes.set(false),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_batch: 16_384,
            segment_bytes: 64 << 20,
            queue_depth: 65_536,
            // What examples/cordon.toml sets. Every round creates the checkpoint and
            // partial tile files anew (and frees the ones they replace), so a short
            // interval spends much of the integrator's time creating files: at 20 ms it
            // cost the gateway 6-32 % of its throughput (crates/gateway/BENCHMARKS.md).
            checkpoint_interval: Duration::from_millis(200),
            faults: FaultSwitch::default(),
            storage: Arc::new(RealDisk),
            commit_delay: Duration::ZERO,
            sign_receipts: true,
        }
    }
}

/// What opening the log found and repaired.
#[derive(Debug, Default, Clone)]
pub struct Recovery {
    /// Durable entries that were not yet under a checkpoint and have been re-queued.
    pub requeued: u64,
    /// Bytes of an append torn by a crash, cut from the write-ahead file.
    pub torn_bytes: u64,
    pub torn_segment: Option<PathBuf>,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub appended: AtomicU64,
    pub batches: AtomicU64,
    pub wal_failures: AtomicU64,
    pub checkpoints: AtomicU64,
    pub integration_failures: AtomicU64,
}

struct Request {
    entry: Vec<u8>,
    reply: oneshot::Sender<Result<Receipt, AppendError>>,
}

struct State {
    durable: u64,
    /// Durable entries awaiting integration, oldest first. A deque, because a round takes
    /// from the front while appends arrive at the back: under a backlog larger than a
    /// round, taking from a vector copied the whole remainder under the lock every round.
    pending: VecDeque<Pending>,
    checkpoint: SignedCheckpoint,
    segments: Vec<Segment>,
    integration_error: Option<String>,
    /// Integration rounds that failed since open.
    failed_rounds: u64,
    /// Someone asked for a round now rather than at the next interval.
    kick: bool,
    closing: bool,
}

/// A durable entry waiting for its integration round, with the leaf hash its receipt
/// was minted from.
struct Pending {
    entry: Vec<u8>,
    leaf: Hash,
}

impl Pending {
    fn new(entry: Vec<u8>) -> Self {
        let leaf = leaf_hash(&entry);
        Pending { entry, leaf }
    }
}

struct Shared {
    root: PathBuf,
    signer: Signer,
    storage: Arc<dyn Storage>,
    durable_dirs: DurableDirs,
    state: Mutex<State>,
    changed: Condvar,
    stats: Stats,
    // Held for the life of the writer: the lock that keeps a second writer out.
    _lock: Box<dyn Any + Send + Sync>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug in this module; the state it
        // guards is still consistent (every update is a single assignment), so go on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A log open for appending.
pub struct Log {
    shared: Arc<Shared>,
    tx: Option<SyncSender<Request>>,
    queue_depth: usize,
    sequencer: Option<JoinHandle<()>>,
    integrator: Option<JoinHandle<()>>,
}

/// Creates an empty log in `root` (which must not exist or be empty) signed by `signer`;
/// the origin is the signer's key name.
pub fn create(root: &Path, signer: &Signer) -> Result<SignedCheckpoint, LogError> {
    create_on(&RealDisk, root, signer)
}

/// [`create`] on the given storage.
pub fn create_on(
    storage: &dyn Storage,
    root: &Path,
    signer: &Signer,
) -> Result<SignedCheckpoint, LogError> {
    let io = LogError::io(root);
    if storage.exists(&root.join("checkpoint")).map_err(io)? {
        return Err(LogError::AlreadyExists {
            path: root.to_path_buf(),
        });
    }
    if storage.list(root).is_ok_and(|names| !names.is_empty()) {
        return Err(LogError::AlreadyExists {
            path: root.to_path_buf(),
        });
    }
    let new_dirs = create_dirs(storage, &root.join(WAL_DIR))?;
    let cp = Checkpoint {
        origin: signer.name().to_string(),
        size: 0,
        root: empty_root(),
        extensions: vec![],
    }
    .sign(signer);
    let mut w = AtomicWriter::on(storage, root);
    w.write(
        VKEY_FILE,
        format!("{}\n", signer.verifier().to_text()).as_bytes(),
    )?;
    w.write(RECEIPT_VKEY_FILE, receipt_vkey_text(signer).as_bytes())?;
    w.write("checkpoint", &cp.to_bytes())?;
    w.finish()?;
    // The directories just made are names in their parents, up to one that existed.
    for dir in new_dirs.iter().filter_map(|d| d.parent()) {
        if dir.starts_with(root) && dir != root {
            continue;
        }
        if !dir.as_os_str().is_empty() {
            sync_dir_on(storage, dir)?;
        }
    }
    Ok(cp)
}

fn receipt_vkey_text(signer: &Signer) -> String {
    format!("{}\n", signer.receipt_signer().verifier().to_text())
}

/// Logs made before receipts were signed lack the receipt key's file: add it.
pub(crate) fn publish_receipt_vkey(
    disk: &dyn Storage,
    root: &Path,
    signer: &Signer,
) -> Result<(), LogError> {
    let path = root.join(RECEIPT_VKEY_FILE);
    if disk.exists(&path).map_err(LogError::io(&path))? {
        return Ok(());
    }
    let mut w = AtomicWriter::on(disk, root);
    w.write(RECEIPT_VKEY_FILE, receipt_vkey_text(signer).as_bytes())?;
    w.finish()
}

/// Creates `dir` and its missing parents; returns those it created.
fn create_dirs(storage: &dyn Storage, dir: &Path) -> Result<Vec<PathBuf>, LogError> {
    let mut missing = Vec::new();
    for d in dir.ancestors().filter(|d| !d.as_os_str().is_empty()) {
        if storage.exists(d).map_err(LogError::io(d))? {
            break;
        }
        missing.push(d.to_path_buf());
    }
    storage.create_dir_all(dir).map_err(LogError::io(dir))?;
    Ok(missing)
}

/// Reads and verifies the current checkpoint of the log in `root`.
pub fn read_checkpoint(root: &Path, verifier: &Verifier) -> Result<SignedCheckpoint, LogError> {
    read_checkpoint_on(&RealDisk, root, verifier)
}

/// [`read_checkpoint`] on the given storage.
pub fn read_checkpoint_on(
    storage: &dyn Storage,
    root: &Path,
    verifier: &Verifier,
) -> Result<SignedCheckpoint, LogError> {
    let path = root.join("checkpoint");
    if !storage.exists(&path).map_err(LogError::io(&path))? {
        return Err(LogError::NotALog {
            path: root.to_path_buf(),
        });
    }
    let bytes = read_on(storage, &path)?;
    SignedCheckpoint::open(&bytes, &[verifier], None)
        .map_err(|source| LogError::Checkpoint { path, source })
}

impl Log {
    /// Opens the log for appending, recovering from any crash, and starts its threads.
    pub fn open(
        root: &Path,
        signer: Signer,
        config: LogConfig,
    ) -> Result<(Log, Recovery), LogError> {
        let root = root.to_path_buf();
        let storage = config.storage.clone();
        let disk = storage.as_ref();
        let lock = take_lock(disk, &root)?;
        let cp = read_checkpoint_on(disk, &root, &signer.verifier()).map_err(|e| match e {
            LogError::Checkpoint { .. } => LogError::WrongKey {
                key: signer.verifier().to_text(),
                origin: String::from_utf8_lossy(
                    &disk.read(&root.join("checkpoint")).unwrap_or_default(),
                )
                .lines()
                .next()
                .unwrap_or("?")
                .to_string(),
            },
            other => other,
        })?;
        let _ = disk.remove_file(&root.join("checkpoint.tmp"));
        let size = cp.checkpoint.size;
        let edge = TreeEdge::load_on(disk, &root, size)?;
        if edge.root() != cp.checkpoint.root {
            return Err(LogError::Corrupt {
                path: root.join("tile"),
                why: format!("the tiles at the right edge do not hash to the checkpoint's root (size {size})"),
            });
        }
        let wal_dir = root.join(WAL_DIR);
        for dir in create_dirs(disk, &wal_dir)?
            .iter()
            .filter_map(|d| d.parent())
        {
            sync_dir_on(disk, dir)?;
        }
        publish_receipt_vkey(disk, &root, &signer)?;
        let rec = wal::recover(disk, &wal_dir, size)?;
        let recovery = Recovery {
            requeued: rec.pending.len() as u64,
            torn_bytes: rec.torn_bytes,
            torn_segment: rec.torn_segment.clone(),
        };
        let durable = size + rec.pending.len() as u64;
        let mut segments = rec.segments;
        let (writer, seg) =
            WalWriter::create(storage.clone(), &wal_dir, durable, config.faults.clone())?;
        segments.retain(|s| s.base != seg.base);
        segments.push(seg);
        let shared = Arc::new(Shared {
            root,
            signer,
            storage,
            durable_dirs: DurableDirs::default(),
            state: Mutex::new(State {
                durable,
                pending: rec.pending.into_iter().map(Pending::new).collect(),
                checkpoint: cp,
                segments,
                integration_error: None,
                failed_rounds: 0,
                kick: false,
                closing: false,
            }),
            changed: Condvar::new(),
            stats: Stats::default(),
            _lock: lock,
        });
        let (tx, rx) = sync_channel(config.queue_depth);
        let s = shared.clone();
        let cfg = config.clone();
        let sequencer = std::thread::Builder::new()
            .name("log-sequencer".into())
            .spawn(move || sequence(s, rx, writer, cfg))
            .map_err(LogError::io("log-sequencer thread"))?;
        let s = shared.clone();
        let integrator = std::thread::Builder::new()
            .name("log-integrator".into())
            .spawn(move || integrate_loop(s, edge, config.checkpoint_interval))
            .map_err(LogError::io("log-integrator thread"))?;
        let log = Log {
            shared,
            tx: Some(tx),
            queue_depth: config.queue_depth,
            sequencer: Some(sequencer),
            integrator: Some(integrator),
        };
        Ok((log, recovery))
    }

    /// Hands an entry to the sequencer without ever blocking: a full queue, an oversized
    /// entry or a closed log is an immediate error, so async code can call it and answer
    /// at once. The returned handle resolves once the entry is durable (or refused).
    pub fn try_submit(&self, entry: Vec<u8>) -> Result<PendingAppend, AppendError> {
        if entry.len() > MAX_ENTRY_BYTES {
            return Err(AppendError::TooLarge(entry.len()));
        }
        let tx = self.tx.as_ref().ok_or(AppendError::Closed)?;
        let (reply, rx) = oneshot::channel();
        match tx.try_send(Request { entry, reply }) {
            Ok(()) => Ok(PendingAppend(rx)),
            Err(TrySendError::Full(_)) => Err(AppendError::QueueFull {
                depth: self.queue_depth,
            }),
            Err(TrySendError::Disconnected(_)) => Err(AppendError::Closed),
        }
    }

    /// Hands an entry to the sequencer, waiting while the queue is full (back-pressure);
    /// the returned handle resolves once it is durable. Blocks a thread: async code uses
    /// [`Log::try_submit`].
    pub fn submit(&self, entry: Vec<u8>) -> PendingAppend {
        let (reply, rx) = oneshot::channel();
        if entry.len() > MAX_ENTRY_BYTES {
            let _ = reply.send(Err(AppendError::TooLarge(entry.len())));
        } else if let Some(tx) = &self.tx {
            if let Err(e) = tx.send(Request { entry, reply }) {
                let _ = e.0.reply.send(Err(AppendError::Closed));
            }
        }
        PendingAppend(rx)
    }

    /// Appends an entry and blocks until it is durable.
    pub fn append(&self, entry: Vec<u8>) -> Result<Receipt, AppendError> {
        self.submit(entry).wait()
    }

    /// The newest signed checkpoint.
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.shared.lock().checkpoint.clone()
    }

    /// How many entries are durable (the next index to be assigned).
    pub fn durable_size(&self) -> u64 {
        self.shared.lock().durable
    }

    /// The last integration failure, if the newest attempt failed.
    pub fn integration_error(&self) -> Option<String> {
        self.shared.lock().integration_error.clone()
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    pub fn origin(&self) -> String {
        self.shared.signer.name().to_string()
    }

    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// Blocks until a checkpoint of at least `size` is signed, or `timeout` passes.
    pub fn wait_checkpoint(
        &self,
        size: u64,
        timeout: Duration,
    ) -> Result<SignedCheckpoint, LogError> {
        wait_signed(
            self.shared.lock(),
            &self.shared.changed,
            |st: &State| (&st.checkpoint, st.integration_error.as_deref()),
            &self.shared.root,
            size,
            timeout,
        )
    }

    /// Starts an integration round now rather than at the next interval, and waits until
    /// every entry durable at the call is under a signed checkpoint, or a round fails (its
    /// error is returned; the entries stay durable and a later round retries), or
    /// `timeout` passes.
    pub fn checkpoint_now(&self, timeout: Duration) -> Result<SignedCheckpoint, LogError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        let target = st.durable;
        let failed = st.failed_rounds;
        if st.checkpoint.checkpoint.size < target {
            st.kick = true;
            self.shared.changed.notify_all();
        }
        loop {
            if st.checkpoint.checkpoint.size >= target {
                return Ok(st.checkpoint.clone());
            }
            if st.failed_rounds > failed {
                return Err(LogError::Integration {
                    path: self.shared.root.clone(),
                    why: st.integration_error.clone().unwrap_or_default(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LogError::Integration {
                    path: self.shared.root.clone(),
                    why: format!("no checkpoint of size {target} within {timeout:?}"),
                });
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Stops accepting appends, integrates everything durable, and waits for the threads.
    pub fn close(mut self) -> Result<SignedCheckpoint, LogError> {
        self.shutdown();
        let st = self.shared.lock();
        match &st.integration_error {
            Some(e) if !st.pending.is_empty() => Err(LogError::Corrupt {
                path: self.shared.root.clone(),
                why: format!(
                    "{} durable entries are not yet under a checkpoint ({e}); they will be integrated when the log is next opened",
                    st.pending.len()
                ),
            }),
            _ => Ok(st.checkpoint.clone()),
        }
    }

    fn shutdown(&mut self) {
        self.tx.take();
        if let Some(h) = self.sequencer.take() {
            let _ = h.join();
        }
        self.shared.lock().closing = true;
        self.shared.changed.notify_all();
        if let Some(h) = self.integrator.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn take_lock(disk: &dyn Storage, root: &Path) -> Result<Box<dyn Any + Send + Sync>, LogError> {
    let checkpoint = root.join("checkpoint");
    if !disk
        .exists(&checkpoint)
        .map_err(LogError::io(&checkpoint))?
    {
        return Err(LogError::NotALog {
            path: root.to_path_buf(),
        });
    }
    let private = root.join(PRIVATE_DIR);
    disk.create_dir_all(&private)
        .map_err(LogError::io(&private))?;
    let path = root.join(LOCK_FILE);
    match disk.lock(&path) {
        Ok(guard) => Ok(guard),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(LogError::Locked {
            path: root.to_path_buf(),
        }),
        Err(e) => Err(LogError::Io { path, source: e }),
    }
}

/// The sequencer: drain the queue into one batch, write it, fsync once, acknowledge all.
fn sequence(shared: Arc<Shared>, rx: Receiver<Request>, mut wal: WalWriter, cfg: LogConfig) {
    let mut poisoned: Option<String> = None;
    let receipt_key = cfg.sign_receipts.then(|| shared.signer.receipt_signer());
    let origin = shared.signer.name().to_string();
    let mut expect = 0usize;
    loop {
        let idle_from = Instant::now();
        let Ok(first) = rx.recv() else { break };
        if idle_from.elapsed() > cfg.commit_delay {
            // Quiet for longer than the delay: the callers of the last batch are not
            // coming straight back, so this one does not wait for them.
            expect = 0;
        }
        let batch = gather(first, &rx, cfg.max_batch, expect, cfg.commit_delay);
        expect = batch.len();
        if poisoned.is_none() && wal.bytes_written() > cfg.segment_bytes {
            // Rolled before a batch rather than after one, so that it never runs
            // beside the integration that acknowledging the last batch set off.
            roll_segment(&shared, &mut wal, &mut poisoned);
        }
        if let Some(why) = &poisoned {
            for r in batch {
                let _ = r.reply.send(Err(AppendError::Storage(why.clone())));
            }
            continue;
        }
        if let Err(e) = wal.append_batch(batch.iter().map(|r| r.entry.as_slice())) {
            shared.stats.wal_failures.fetch_add(1, Ordering::Relaxed);
            let why = format!("{}: {e}", wal.path().display());
            for r in batch {
                let _ = r.reply.send(Err(AppendError::Storage(why.clone())));
            }
            if e.is_unrecoverable() {
                poisoned = Some(format!(
                    "{why} (the log refuses appends until it is reopened)"
                ));
            }
            continue;
        }
        let n = batch.len() as u64;
        // Only this thread assigns indexes, so the batch's first index is known before
        // the state is updated, and its receipts are signed outside the lock.
        let first_index = shared.lock().durable;
        // Hashed once here: the receipts and the integrator's tiles use the same hashes.
        let leaves: Vec<Hash> = batch.iter().map(|r| leaf_hash(&r.entry)).collect();
        let receipts = mint(receipt_key.as_ref(), &origin, first_index, &leaves);
        let mut replies = Vec::with_capacity(batch.len());
        let integrator_idle = {
            let mut st = shared.lock();
            st.durable += n;
            let idle = st.pending.is_empty();
            for (r, leaf) in batch.into_iter().zip(leaves) {
                st.pending.push_back(Pending {
                    entry: r.entry,
                    leaf,
                });
                replies.push(r.reply);
            }
            idle
        };
        // Only an integrator waiting on an empty queue needs waking: one with entries
        // waiting already sleeps until its round is due, and waking it for every batch
        // (thousands a second under load) cost a context switch each.
        if integrator_idle {
            shared.changed.notify_all();
        }
        shared.stats.appended.fetch_add(n, Ordering::Relaxed);
        shared.stats.batches.fetch_add(1, Ordering::Relaxed);
        for (reply, receipt) in replies.into_iter().zip(receipts) {
            let _ = reply.send(Ok(receipt));
        }
    }
}

/// The batch `first` starts: everything queued and, while it holds fewer than `expect`
/// appends, what arrives within `delay` of `first` being taken. `expect` at `max` waits
/// the whole delay (a fixed commit delay); the file log passes its previous batch's size,
/// so a lone appender never waits and a busy log waits for the callers it just answered.
pub(crate) fn gather<T>(
    first: T,
    rx: &Receiver<T>,
    max: usize,
    expect: usize,
    delay: Duration,
) -> Vec<T> {
    let mut batch = vec![first];
    // A delay too large to add to the clock is no bound at all: wait for the target.
    let until = Instant::now().checked_add(delay);
    let target = expect.min(max);
    while batch.len() < max {
        if let Ok(r) = rx.try_recv() {
            batch.push(r);
            continue;
        }
        let left = until.map_or(Duration::MAX, |u| {
            u.saturating_duration_since(Instant::now())
        });
        if batch.len() >= target || left.is_zero() {
            break;
        }
        match rx.recv_timeout(left) {
            Ok(r) => batch.push(r),
            Err(_) => break,
        }
    }
    batch
}

/// The receipts of a durable batch: signed when the log has a receipt key.
fn mint(key: Option<&Signer>, origin: &str, first: u64, leaves: &[Hash]) -> Vec<Receipt> {
    match key {
        Some(key) => crate::receipt::mint_batch(key, origin, first, leaves.to_vec()),
        None => (first..first + leaves.len() as u64)
            .map(Receipt::unsigned)
            .collect(),
    }
}

/// Starts a new segment at the next index. A failure poisons the writer: the half-made
/// segment would stand between the old one and any later one.
fn roll_segment(shared: &Shared, wal: &mut WalWriter, poisoned: &mut Option<String>) {
    let base = shared.lock().durable;
    match wal.roll(base) {
        Ok(seg) => shared.lock().segments.push(seg),
        Err(e) => {
            *poisoned = Some(format!(
                "starting a new write-ahead segment: {e} (the log refuses appends until it is reopened)"
            ))
        }
    }
}

/// Waits on `changed` until the checkpoint `view` reads from the state covers `size`
/// entries, or `timeout` passes; both backends keep their state this way.
pub(crate) fn wait_signed<S>(
    mut st: MutexGuard<'_, S>,
    changed: &Condvar,
    view: impl Fn(&S) -> (&SignedCheckpoint, Option<&str>),
    root: &Path,
    size: u64,
    timeout: Duration,
) -> Result<SignedCheckpoint, LogError> {
    let deadline = Instant::now() + timeout;
    loop {
        let (cp, error) = view(&st);
        if cp.checkpoint.size >= size {
            return Ok(cp.clone());
        }
        let now = Instant::now();
        if now >= deadline {
            let why = error.unwrap_or("integration is still running");
            return Err(LogError::Corrupt {
                path: root.to_path_buf(),
                why: format!("no checkpoint of size {size} within {timeout:?}: {why}"),
            });
        }
        st = changed
            .wait_timeout(st, deadline - now)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

/// The integrator: whenever durable entries wait and a round is due (the interval has
/// passed, someone asked, or the log is closing), extend the tiles and sign a checkpoint.
fn integrate_loop(shared: Arc<Shared>, mut edge: TreeEdge, interval: Duration) {
    let first_retry = interval.max(MIN_RETRY);
    let mut backoff = first_retry;
    // Opening counts as a round: the first one comes an interval later, or when asked.
    let mut due = Instant::now().checked_add(interval);
    loop {
        let Some((batch, old)) = next_batch(&shared, due) else {
            return;
        };
        let started = Instant::now();
        let before = edge.clone();
        match integrate(&shared, &mut edge, &batch, &old) {
            Ok(cp) => {
                backoff = first_retry;
                due = started.checked_add(interval);
                shared.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
                // Old segments go before the new checkpoint is shown, so that whoever
                // waits for it finds the disk quiet.
                let obsolete = obsolete_segments(&mut shared.lock(), cp.checkpoint.size);
                for seg in obsolete {
                    let _ = shared.storage.remove_file(&seg.path);
                }
                {
                    let mut st = shared.lock();
                    st.checkpoint = cp;
                    st.integration_error = None;
                }
                shared.changed.notify_all();
            }
            Err(e) => {
                edge = before;
                shared
                    .stats
                    .integration_failures
                    .fetch_add(1, Ordering::Relaxed);
                let closing = {
                    let mut st = shared.lock();
                    st.integration_error = Some(e.to_string());
                    st.failed_rounds += 1;
                    // Back in front of what arrived since, in their order.
                    for p in batch.into_iter().rev() {
                        st.pending.push_front(p);
                    }
                    st.closing
                };
                shared.changed.notify_all();
                if closing {
                    // The entries are durable in the write-ahead file; the next open
                    // integrates them. Do not spin forever on a broken disk at shutdown.
                    return;
                }
                due = Instant::now().checked_add(backoff);
                backoff = (backoff * 2).min(MAX_RETRY.max(interval));
            }
        }
    }
}

/// Waits until a round is due and entries wait, then takes them (at most
/// [`MAX_INTEGRATION_BATCH`]) with the checkpoint they extend; `None` once the log is
/// closing and nothing waits. `due` of `None` means only when asked or closing.
fn next_batch(shared: &Shared, due: Option<Instant>) -> Option<(Vec<Pending>, SignedCheckpoint)> {
    let mut st = shared.lock();
    loop {
        if st.pending.is_empty() && st.closing {
            return None;
        }
        let now = Instant::now();
        let timer = due.is_some_and(|t| now >= t);
        if !st.pending.is_empty() && (timer || st.kick || st.closing) {
            break;
        }
        st = match due.filter(|_| !st.pending.is_empty()) {
            Some(t) => {
                shared
                    .changed
                    .wait_timeout(st, t.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => shared.changed.wait(st).unwrap_or_else(|p| p.into_inner()),
        };
    }
    st.kick = false;
    // Bounded rounds keep checkpoints coming while a large backlog drains.
    let take = st.pending.len().min(MAX_INTEGRATION_BATCH);
    let batch: Vec<Pending> = st.pending.drain(..take).collect();
    Some((batch, st.checkpoint.clone()))
}

/// Segments entirely below a checkpoint of `size`, which the bundles now hold.
fn obsolete_segments(st: &mut State, size: u64) -> Vec<Segment> {
    let mut gone = Vec::new();
    while st.segments.len() > 1 && st.segments[1].base <= size {
        gone.push(st.segments.remove(0));
    }
    gone
}

fn integrate(
    shared: &Shared,
    edge: &mut TreeEdge,
    batch: &[Pending],
    old: &SignedCheckpoint,
) -> Result<SignedCheckpoint, LogError> {
    let root = shared.root.as_path();
    let disk = shared.storage.as_ref();
    let writes = edge.extend_hashed(batch.iter().map(|p| (p.entry.as_slice(), p.leaf)));
    let mut w = AtomicWriter::on(disk, root).knowing(&shared.durable_dirs);
    let mut full_tiles = Vec::new();
    for t in &writes {
        w.write(&t.id.path(), &t.data)?;
        if t.id.is_full() {
            full_tiles.push(t.id);
        }
    }
    w.finish()?;
    let new = Checkpoint {
        origin: old.checkpoint.origin.clone(),
        size: edge.size(),
        root: edge.root(),
        extensions: vec![],
    };
    check_consistent(disk, root, &old.checkpoint, &new)?;
    let signed = new.sign(&shared.signer);
    let mut w = AtomicWriter::on(disk, root).knowing(&shared.durable_dirs);
    w.write("checkpoint", &signed.to_bytes())?;
    w.finish()?;
    for id in full_tiles {
        // The full tile replaces its partials; clients fall back to it as the spec allows.
        let partials = root.join(id.partial_dir());
        shared.durable_dirs.forget(&partials);
        let _ = disk.remove_dir_all(&partials);
    }
    Ok(signed)
}

/// Never sign a checkpoint that is not an extension of the last one: prove it from the
/// tiles just written, exactly as a client would.
pub(crate) fn check_consistent(
    disk: &dyn Storage,
    root: &Path,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), LogError> {
    let mut tiles = TileHashes::on(disk, root, new.size);
    if new.size > 0 && subtree_root(&mut tiles, 0, new.size)? != new.root {
        return Err(LogError::Corrupt {
            path: root.join("tile"),
            why: format!(
                "tiles written for size {} do not hash to the new root",
                new.size
            ),
        });
    }
    let proof = consistency_proof(&mut tiles, old.size, new.size)?;
    verify_consistency(old.size, new.size, &old.root, &new.root, &proof)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_new(dir: &Path, cfg: LogConfig) -> Log {
        let signer = Signer::generate("test.example/log").unwrap();
        create(dir, &signer).unwrap();
        Log::open(dir, signer, cfg).unwrap().0
    }

    #[test]
    fn a_failing_disk_refuses_appends_and_recovers_when_writes_succeed_again() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = LogConfig::default();
        let faults = cfg.faults.clone();
        let log = open_new(&tmp.path().join("log"), cfg);
        assert_eq!(log.append(b"a".to_vec()).unwrap().index(), 0);
        faults.fail_writes(true);
        assert!(matches!(
            log.append(b"b".to_vec()),
            Err(AppendError::Storage(_))
        ));
        assert_eq!(log.stats().wal_failures.load(Ordering::Relaxed), 1);
        faults.fail_writes(false);
        // The refused entry took no index: the next one is 1, not 2.
        assert_eq!(log.append(b"c".to_vec()).unwrap().index(), 1);
        assert_eq!(log.close().unwrap().checkpoint.size, 2);
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_log() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let signer = Signer::generate("test.example/log").unwrap();
        create(&dir, &signer).unwrap();
        let (first, _) = Log::open(&dir, signer.clone(), LogConfig::default()).unwrap();
        assert!(matches!(
            Log::open(&dir, signer, LogConfig::default()),
            Err(LogError::Locked { .. })
        ));
        drop(first);
    }

    #[test]
    fn the_wrong_key_cannot_open_a_log() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        create(&dir, &Signer::generate("test.example/log").unwrap()).unwrap();
        let other = Signer::generate("test.example/log").unwrap();
        assert!(matches!(
            Log::open(&dir, other, LogConfig::default()),
            Err(LogError::WrongKey { .. })
        ));
    }

    #[test]
    fn oversized_entries_are_refused_with_their_size() {
        let tmp = tempfile::tempdir().unwrap();
        let log = open_new(&tmp.path().join("log"), LogConfig::default());
        assert_eq!(
            log.append(vec![0; 70_000]),
            Err(AppendError::TooLarge(70_000))
        );
    }

    #[test]
    fn full_tiles_replace_their_partials_and_old_segments_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let cfg = LogConfig {
            segment_bytes: 4096,
            checkpoint_interval: Duration::ZERO,
            ..LogConfig::default()
        };
        let log = open_new(&dir, cfg);
        for i in 0..300u32 {
            log.append(format!("entry {i}").into_bytes()).unwrap();
            log.wait_checkpoint(u64::from(i) + 1, Duration::from_secs(10))
                .unwrap();
        }
        log.close().unwrap();
        assert!(dir.join("tile/0/000").exists());
        assert!(
            !dir.join("tile/0/000.p").exists(),
            "partials of a full tile remain"
        );
        assert!(dir.join("tile/0/001.p/44").exists());
        let segments = wal::list_segments(&RealDisk, &dir.join(WAL_DIR)).unwrap();
        assert!(segments.len() <= 2, "{segments:?}");
    }

    #[test]
    fn the_tiles_hash_each_entry_as_its_receipt_does_in_batches_of_many() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let signer = Signer::generate("test.example/log").unwrap();
        let verifier = signer.verifier();
        create(&dir, &signer).unwrap();
        let log = Log::open(&dir, signer, LogConfig::default()).unwrap().0;
        // Submitted before any is awaited, so the sequencer takes them in batches of many.
        let entries: Vec<Vec<u8>> = (0..600u32)
            .map(|i| format!("entry {i}").into_bytes())
            .collect();
        let pending: Vec<_> = entries.iter().map(|e| log.submit(e.clone())).collect();
        let receipts: Vec<Receipt> = pending.into_iter().map(|p| p.wait().unwrap()).collect();
        assert!(
            log.stats().batches.load(Ordering::Relaxed) < 600,
            "no batch held two"
        );
        let cp = log.close().unwrap();
        assert_eq!(cp.checkpoint.size, 600);
        for (e, r) in entries.iter().zip(&receipts) {
            assert!(r.is_for(e), "receipt {} is not for its entry", r.index());
        }
        // Every entry hashed afresh from its bundle, against the tiles and the root.
        let report = crate::verify::verify_dir(&dir, &verifier).unwrap();
        assert_eq!(report.size, 600);
    }
}

#[cfg(test)]
mod invariant_tests {
    use super::*;
    use std::fs;

    #[test]
    fn no_checkpoint_is_signed_over_tiles_that_do_not_match() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let signer = Signer::generate("test.example/log").unwrap();
        create(&dir, &signer).unwrap();
        let cfg = LogConfig {
            checkpoint_interval: Duration::ZERO,
            ..LogConfig::default()
        };
        let (log, _) = Log::open(&dir, signer, cfg).unwrap();
        for i in 0..300u32 {
            log.submit(i.to_be_bytes().to_vec());
        }
        log.append(b"last".to_vec()).unwrap();
        log.wait_checkpoint(301, Duration::from_secs(10)).unwrap();
        // Damage a tile the next checkpoint's root and consistency proof are read from:
        // the level-1 hash standing for the first 256 entries.
        let tile = dir.join("tile/1/000.p/1");
        let mut data = fs::read(&tile).unwrap();
        data[7] ^= 1;
        fs::write(&tile, data).unwrap();

        let r = log.append(b"after the damage".to_vec()).unwrap();
        assert_eq!(
            r.index(),
            301,
            "appends stay durable while integration fails"
        );
        let err = log
            .wait_checkpoint(302, Duration::from_millis(500))
            .unwrap_err();
        assert!(
            err.to_string().contains("do not hash to the new root"),
            "{err}"
        );
        assert_eq!(log.checkpoint().checkpoint.size, 301);
        assert!(log.integration_error().is_some());
        let on_disk = read_checkpoint(&dir, &log.shared.signer.verifier()).unwrap();
        assert_eq!(
            on_disk.checkpoint.size, 301,
            "the published checkpoint did not move"
        );
        drop(log);
    }

    #[test]
    fn the_adaptive_commit_delay_never_delays_a_lone_appender_and_waits_at_most_its_bound() {
        let tmp = tempfile::tempdir().unwrap();
        // Long, so that the bounds below hold on a loaded machine with a slow fsync.
        let delay = Duration::from_secs(1);
        let cfg = LogConfig {
            commit_delay: delay,
            ..LogConfig::default()
        };
        let faults = cfg.faults.clone();
        let dir = tmp.path().join("log");
        let signer = Signer::generate("test.example/log").unwrap();
        create(&dir, &signer).unwrap();
        let log = Log::open(&dir, signer, cfg).unwrap().0;
        let lone = |what: &str| {
            let t = Instant::now();
            log.append(what.as_bytes().to_vec()).unwrap();
            t.elapsed()
        };
        for i in 0..3 {
            let waited = lone(&format!("alone {i}"));
            assert!(waited < delay / 2, "a lone appender waited {waited:?}");
        }
        let burst = || {
            // Twenty appends queue behind one held at the disk and form the next batch.
            let stalled = faults.stall();
            let first = log.submit(b"held".to_vec());
            assert!(faults.wait_for_held_write(Duration::from_secs(10)));
            let queued: Vec<_> = (0..20)
                .map(|i| log.submit(format!("queued {i}").into_bytes()))
                .collect();
            drop(stalled);
            first.wait().unwrap();
            for p in queued {
                p.wait().unwrap();
            }
        };
        // Right after a batch of twenty the sequencer waits for more, but no longer than
        // the delay, and a batch of one resets it.
        burst();
        let waited = lone("after a big batch");
        assert!(
            waited >= delay * 9 / 10 && waited < delay * 5,
            "waited {waited:?} with a {delay:?} delay after a batch of twenty"
        );
        let waited = lone("alone again");
        assert!(waited < delay / 2, "the wait outlived the load: {waited:?}");
        // After a batch of twenty and a quiet spell longer than the delay, nobody is
        // coming back: the next append does not wait.
        burst();
        std::thread::sleep(delay + delay / 5);
        let waited = lone("after a quiet spell");
        assert!(
            waited < delay / 2,
            "an append after an idle spell waited {waited:?}"
        );
        log.close().unwrap();
    }
}
