//! The PostgreSQL backend: several gateways append to one log with one total order.
//!
//! Each process runs a sequencer that commits batches of entries in one statement,
//! taking their indexes from a single counter row (so indexes are gapless and follow
//! commit order across processes), and mints a [`Receipt`] only once the commit is
//! flushed to disk (`flush.rs`).
//! One integrator at a time, whoever holds a session advisory lock, folds committed
//! entries into tiles in a shared directory and signs the checkpoint; when its session
//! dies the lock is free and another process's integrator takes over from the recorded
//! checkpoint, rebuilding tiles from the database if the directory disagrees with it.
mod flush;
mod integrator;
mod query;
mod schema;
mod sequencer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::{Client, NoTls};
use tokio::sync::oneshot;

use crate::bundle::MAX_ENTRY_BYTES;
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::error::{AppendError, LogError};
use crate::hash::empty_root;
use crate::keys::Signer;
use crate::log::{FaultSwitch, PendingAppend, Receipt, Stats};

pub use integrator::integrator_holder;
pub use query::{decisions, DecisionQuery, IndexedDecision};

/// How the private decision index files an entry. The log does not read entries; the
/// caller, who knows its own entry format, says where each one belongs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexRow {
    /// RFC 3339 time of the decision.
    pub time: String,
    pub agency: Option<String>,
    pub principal: Option<String>,
    pub decision: String,
    pub dataset: Option<String>,
}

/// Tuning and identity of one writer process.
#[derive(Clone, Debug)]
pub struct PgConfig {
    /// Recorded beside each entry and as the sessions' `application_name`, so operators
    /// can tell which gateway wrote what and which one integrates.
    pub writer: String,
    /// Most entries committed in one transaction.
    pub max_batch: usize,
    /// Appends waiting for the sequencer before `submit` blocks.
    pub queue_depth: usize,
    /// Time between integration rounds (and checkpoint refreshes on non-integrators).
    pub checkpoint_interval: Duration,
    /// How long a commit may take before its connection is abandoned and the next batch
    /// goes to a new one (see the sequencer). Also the server-side statement and lock
    /// timeouts of the sequencer's connections, for a server that is slow but alive.
    pub commit_deadline: Duration,
    /// How long the sequencer keeps gathering appends after the first of a batch, so that
    /// batches grow when several writers share the counter (zero: commit what is queued).
    pub commit_delay: Duration,
    /// Lets tests make every commit fail, to prove that callers fail closed.
    pub faults: FaultSwitch,
}

impl Default for PgConfig {
    fn default() -> Self {
        PgConfig {
            writer: "cordon".into(),
            max_batch: 4096,
            queue_depth: 65_536,
            checkpoint_interval: Duration::from_millis(50),
            commit_deadline: Duration::from_secs(2),
            commit_delay: Duration::ZERO,
            faults: FaultSwitch::default(),
        }
    }
}

struct Request {
    entry: Vec<u8>,
    row: Option<IndexRow>,
    reply: oneshot::Sender<Result<Receipt, AppendError>>,
}

struct State {
    durable: u64,
    checkpoint: SignedCheckpoint,
    integration_error: Option<String>,
    integrating: bool,
    closing: bool,
}

struct Shared {
    url: String,
    dir: PathBuf,
    signer: Signer,
    config: PgConfig,
    state: Mutex<State>,
    changed: Condvar,
    stats: Stats,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update of the state is a single assignment; a panic elsewhere leaves it
        // consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn connect(&self, role: &str) -> Result<Session, LogError> {
        Session::open(&self.url, &format!("{} {role}", self.config.writer))
    }
}

/// A log in PostgreSQL open for appending from this process.
pub struct PgLog {
    shared: Arc<Shared>,
    tx: Option<SyncSender<Request>>,
    sequencer: Option<JoinHandle<()>>,
    integrator: Option<JoinHandle<()>>,
}

/// Connects without TLS: the database is expected on loopback or a private network;
/// see the deployment guide for TLS to a remote server.
pub fn connect(url: &str, application: &str) -> Result<Client, LogError> {
    config(url, application)?
        .connect(NoTls)
        .map_err(db("connect"))
}

/// A session whose server warnings are counted: a commit can return with only a warning
/// that it did not do all it was asked (an operator cancelled its wait for a synchronous
/// standby), and a flush that drew one must not be taken for a flush.
pub(crate) struct Session {
    client: Client,
    heard: Arc<Mutex<Warnings>>,
}

/// The warnings a session has been sent: how many, and what the last one said.
#[derive(Default, Clone)]
struct Warnings {
    count: u64,
    last: String,
}

impl Session {
    fn open(url: &str, application: &str) -> Result<Session, LogError> {
        let heard = Arc::new(Mutex::new(Warnings::default()));
        let sink = heard.clone();
        let client = config(url, application)?
            .notice_callback(move |notice| {
                // `severity()` is the localized word; the untranslated field is missing
                // on servers older than 9.6, where the English word is the fallback.
                if notice.parsed_severity() == Some(postgres::error::Severity::Warning)
                    || notice.severity() == "WARNING"
                {
                    let mut heard = sink.lock().unwrap_or_else(|p| p.into_inner());
                    heard.count += 1;
                    heard.last = match notice.detail() {
                        Some(detail) => format!("{} ({detail})", notice.message()),
                        None => notice.message().to_string(),
                    };
                }
            })
            .connect(NoTls)
            .map_err(db("connect"))?;
        Ok(Session { client, heard })
    }

    /// The warnings the server has sent this session so far. Notices arrive before the
    /// reply they belong to, so a call's warnings are all here once the call has returned.
    fn warnings(&self) -> Warnings {
        self.heard.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl std::ops::Deref for Session {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

fn config(url: &str, application: &str) -> Result<postgres::Config, LogError> {
    let mut cfg: postgres::Config =
        url.parse()
            .map_err(|e: postgres::Error| LogError::Database {
                what: "parse the connection URL (postgresql://user@host/db)".into(),
                why: e.to_string(),
            })?;
    cfg.application_name(application);
    cfg.connect_timeout(Duration::from_secs(5));
    // A server that vanished (power, network) is noticed within a minute instead of the
    // kernel's two hours; a frozen one still answers keepalives, which the sequencer's
    // commit deadline covers.
    cfg.keepalives(true);
    cfg.keepalives_idle(Duration::from_secs(15));
    cfg.keepalives_interval(Duration::from_secs(5));
    cfg.keepalives_retries(3);
    Ok(cfg)
}

pub(crate) fn db(what: &'static str) -> impl Fn(postgres::Error) -> LogError {
    move |e| LogError::Database {
        what: what.into(),
        why: match (e.as_db_error(), std::error::Error::source(&e)) {
            (Some(d), _) => d.message().to_string(),
            // "error connecting to server" alone does not say what to fix; the cause does.
            (None, Some(cause)) => format!("{e}: {cause}"),
            (None, None) => e.to_string(),
        },
    }
}

impl PgLog {
    /// Opens the log in the database at `url` (creating its tables on first use) with its
    /// tiles in `dir`, shared by every writer, and starts this process's sequencer and
    /// integrator.
    pub fn open(
        url: &str,
        dir: &Path,
        signer: Signer,
        config: PgConfig,
    ) -> Result<PgLog, LogError> {
        // The synchronous client runs its own runtime, which cannot start on a thread
        // that is driving another (a gateway opens its log from async code).
        let (checkpoint, durable) = std::thread::scope(|s| {
            s.spawn(|| prepare(url, dir, &signer, &config))
                .join()
                .unwrap_or_else(|_| {
                    Err(LogError::Database {
                        what: "open".into(),
                        why: "the opening thread stopped unexpectedly".into(),
                    })
                })
        })?;
        let shared = Arc::new(Shared {
            url: url.to_string(),
            dir: dir.to_path_buf(),
            signer,
            config: config.clone(),
            state: Mutex::new(State {
                durable,
                checkpoint,
                integration_error: None,
                integrating: false,
                closing: false,
            }),
            changed: Condvar::new(),
            stats: Stats::default(),
        });
        let (tx, rx) = sync_channel(config.queue_depth);
        let s = shared.clone();
        let sequencer = std::thread::Builder::new()
            .name("pg-sequencer".into())
            .spawn(move || sequencer::run(s, rx))
            .map_err(LogError::io("pg-sequencer thread"))?;
        let s = shared.clone();
        let integrator = std::thread::Builder::new()
            .name("pg-integrator".into())
            .spawn(move || integrator::run(s))
            .map_err(LogError::io("pg-integrator thread"))?;
        Ok(PgLog {
            shared,
            tx: Some(tx),
            sequencer: Some(sequencer),
            integrator: Some(integrator),
        })
    }

    /// Hands an entry, and how the decision index files it, to the sequencer; the handle
    /// resolves once the commit that holds it is flushed to disk.
    pub fn submit(&self, entry: Vec<u8>, row: Option<IndexRow>) -> PendingAppend {
        let (reply, rx) = oneshot::channel();
        if entry.len() > MAX_ENTRY_BYTES {
            let _ = reply.send(Err(AppendError::TooLarge(entry.len())));
        } else if let Some(tx) = &self.tx {
            if let Err(e) = tx.send(Request { entry, row, reply }) {
                let _ = e.0.reply.send(Err(AppendError::Closed));
            }
        }
        PendingAppend(rx)
    }

    /// [`PgLog::submit`] without ever blocking: a full queue, an oversized entry or a
    /// closed log is an immediate error, so async code can call it and answer at once.
    pub fn try_submit(
        &self,
        entry: Vec<u8>,
        row: Option<IndexRow>,
    ) -> Result<PendingAppend, AppendError> {
        if entry.len() > MAX_ENTRY_BYTES {
            return Err(AppendError::TooLarge(entry.len()));
        }
        let tx = self.tx.as_ref().ok_or(AppendError::Closed)?;
        let (reply, rx) = oneshot::channel();
        match tx.try_send(Request { entry, row, reply }) {
            Ok(()) => Ok(PendingAppend(rx)),
            Err(TrySendError::Full(_)) => Err(AppendError::QueueFull {
                depth: self.shared.config.queue_depth,
            }),
            Err(TrySendError::Disconnected(_)) => Err(AppendError::Closed),
        }
    }

    /// Appends an entry and blocks until it is committed.
    pub fn append(&self, entry: Vec<u8>, row: Option<IndexRow>) -> Result<Receipt, AppendError> {
        self.submit(entry, row).wait()
    }

    /// The newest checkpoint this process knows: its own, or the integrator's as recorded.
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.shared.lock().checkpoint.clone()
    }

    /// One past the highest index this process has seen committed.
    pub fn durable_size(&self) -> u64 {
        self.shared.lock().durable
    }

    /// The last integration failure, if this process integrates and its newest round failed.
    pub fn integration_error(&self) -> Option<String> {
        self.shared.lock().integration_error.clone()
    }

    /// Whether this process currently holds the integrator lock.
    pub fn is_integrator(&self) -> bool {
        self.shared.lock().integrating
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    pub fn origin(&self) -> String {
        self.shared.signer.name().to_string()
    }

    /// The shared tile directory.
    pub fn root(&self) -> &Path {
        &self.shared.dir
    }

    /// Blocks until a checkpoint of at least `size` is known, or `timeout` passes.
    pub fn wait_checkpoint(
        &self,
        size: u64,
        timeout: Duration,
    ) -> Result<SignedCheckpoint, LogError> {
        crate::log::wait_signed(
            self.shared.lock(),
            &self.shared.changed,
            |st: &State| (&st.checkpoint, st.integration_error.as_deref()),
            &self.shared.dir,
            size,
            timeout,
        )
    }

    /// Stops accepting appends and, if this process integrates, integrates everything
    /// committed so far before releasing the lock.
    pub fn close(mut self) -> Result<SignedCheckpoint, LogError> {
        self.shutdown();
        let st = self.shared.lock();
        match &st.integration_error {
            Some(e) => Err(LogError::Database {
                what: "integrate before closing".into(),
                why: format!("{e}; the next integrator will integrate the committed entries"),
            }),
            None => Ok(st.checkpoint.clone()),
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

impl Drop for PgLog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Creates the tables on first use, checks the signer against the recorded origin and
/// reads where the log stands.
fn prepare(
    url: &str,
    dir: &Path,
    signer: &Signer,
    config: &PgConfig,
) -> Result<(SignedCheckpoint, u64), LogError> {
    let mut client = Session::open(url, &format!("{} open", config.writer))?;
    let first = Checkpoint {
        origin: signer.name().to_string(),
        size: 0,
        root: empty_root(),
        extensions: vec![],
    }
    .sign(signer);
    let origin = schema::init(&mut client, &first)?;
    if origin != signer.name() {
        return Err(LogError::WrongKey {
            key: signer.verifier().to_text(),
            origin,
        });
    }
    std::fs::create_dir_all(dir).map_err(LogError::io(dir))?;
    // Every gateway writes the same bytes; one that loses a race with another's rename
    // finds the file there next time, so a failure here is not worth refusing to start.
    let _ = crate::log::publish_receipt_vkey(&crate::storage::RealDisk, dir, signer);
    let checkpoint = integrator::read_recorded(&mut client, signer)?;
    let durable = schema::next_index(&mut client)?;
    // The counter counts commits the disk may not hold yet.
    flush::flush(&mut client)?;
    Ok((checkpoint, durable))
}

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod frozen_tests;
#[cfg(test)]
mod lost_answer_tests;
#[cfg(test)]
mod standby_tests;
#[cfg(test)]
mod tests;
