//! `cordon serve`: run the gateway from a TOML config until SIGINT or SIGTERM, then drain
//! requests in flight and close the log.
use anyhow::{Context, Result};
use cordon_gateway::config::Config;
use cordon_gateway::Gateway;
use cordon_log::FaultSwitch;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The gateway's TOML config (see docs/gateway.md and examples/).
    #[arg(long, short, default_value = "cordon.toml")]
    config: PathBuf,
    /// Check the config and every file it names (keys, certificates, packs, routes), list
    /// every problem, and exit: 0 when it would start, 1 when not. Opens no log and binds
    /// no port, so it can run beside the gateway it is about to replace.
    #[arg(long)]
    check_config: bool,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    if args.check_config {
        return Ok(check_config(&args.config));
    }
    init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Before anything slow: SIGHUP's default action ends the process, so an early
    // `systemctl reload` would otherwise stop a gateway that is still opening its log.
    let hangups = {
        let _in_runtime = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    };
    let config = Config::load(&args.config)?;
    let gw =
        Arc::new(Gateway::open(config, FaultSwitch::default()).context("starting the gateway")?);
    announce(&gw);
    let served: Result<()> = rt.block_on(async {
        // A policy changed while the gateway was stopped is logged before it decides.
        gw.log_policy_at_start()
            .await
            .context("logging the policy in force at start")?;
        let (listener, tls) = cordon_gateway::server::bind(gw.config()).await?;
        let workers = gw.config().workers();
        tracing::info!(
            listen = %listener.local_addr()?,
            workers,
            tls = tls.is_some(),
            log = %gw.log().origin(),
            "cordon gateway listening"
        );
        let public = start_public(&gw).await?;
        let metrics = start_metrics(&gw).await?;
        let publisher = start_publisher(&gw);
        let reloader = start_reloader(&gw, hangups, args.config.clone());
        cordon_gateway::workers::serve(gw.clone(), listener, tls, workers, shutdown_signal())
            .await?;
        for (stop, task) in public
            .into_iter()
            .chain(metrics)
            .chain(publisher)
            .chain(reloader)
        {
            let _ = stop.send(());
            let _ = task.await;
        }
        Ok(())
    });
    // Not a plain drop, which waits without limit for blocking work: a tile read from a
    // hung disk would keep the gateway from ever exiting.
    rt.shutdown_timeout(cordon_gateway::workers::BLOCKING_GRACE);
    served?;
    close(gw)
}

fn check_config(path: &std::path::Path) -> ExitCode {
    let problems = cordon_gateway::check::check_config(path);
    if problems.is_empty() {
        println!(
            "{}: the config and the files it names are usable",
            path.display()
        );
        return ExitCode::SUCCESS;
    }
    eprintln!("{}: {} problem(s):", path.display(), problems.len());
    for p in &problems {
        eprintln!("  - {p}");
    }
    ExitCode::FAILURE
}

pub(crate) type PublicTask = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

/// Starts the public page's listener when `[public]` is configured; it stops when the
/// sender is used (or dropped), so the gateway can then close its log.
pub(crate) async fn start_public(gw: &Arc<Gateway>) -> Result<Option<PublicTask>> {
    let Some(section) = gw.config().public.clone() else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(section.listen)
        .await
        .with_context(|| format!("cannot listen on {} (public.listen)", section.listen))?;
    tracing::info!(listen = %listener.local_addr()?, "public page listening");
    let site = Arc::new(cordon_gateway::site::Site::new(gw.clone(), &section));
    // Count the whole log now, not on the first resident's visit.
    let warm = site.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = warm.snapshot() {
            tracing::warn!(error = %e, "public page: cannot count the log's entries yet");
        }
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(cordon_gateway::site::serve(site, listener, async {
        let _ = rx.await;
    }));
    Ok(Some((tx, task)))
}

/// Starts the `/metrics` listener when `[metrics] listen` is configured.
pub(crate) async fn start_metrics(gw: &Arc<Gateway>) -> Result<Option<PublicTask>> {
    let Some(listen) = gw.config().metrics.as_ref().and_then(|m| m.listen) else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (metrics.listen)"))?;
    tracing::info!(listen = %listener.local_addr()?, "metrics listening");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(cordon_gateway::ops::serve(gw.clone(), listener, async {
        let _ = rx.await;
    }));
    Ok(Some((tx, task)))
}

/// Starts cosigned publication when `[publish]` names witnesses.
pub(crate) fn start_publisher(gw: &Arc<Gateway>) -> Option<PublicTask> {
    let p = gw.publication()?;
    tracing::info!(
        quorum = p.quorum(),
        "publishing checkpoints cosigned by witnesses"
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(cordon_gateway::publish::run(gw.clone(), async {
        let _ = rx.await;
    }));
    Some((tx, task))
}

/// Reloads the packs and routes from `config` on each SIGHUP. A reload that cannot be
/// applied is reported and changes nothing: the gateway keeps the policy it has.
pub(crate) fn start_reloader(
    gw: &Arc<Gateway>,
    hangups: std::io::Result<tokio::signal::unix::Signal>,
    config: PathBuf,
) -> Option<PublicTask> {
    let mut hangups = match hangups {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reload by restarting");
            return None;
        }
    };
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let gw = gw.clone();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut rx => return,
                got = hangups.recv() => if got.is_none() { return },
            }
            reload_once(&gw, &config).await;
        }
    });
    Some((tx, task))
}

async fn reload_once(gw: &Arc<Gateway>, path: &std::path::Path) {
    tracing::info!(config = %path.display(), "SIGHUP: reloading packs and routes");
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "reload refused: the config cannot be read; the policy in force is unchanged");
            return;
        }
    };
    match gw.reload(&config).await {
        Ok(cordon_gateway::reload::Reloaded::Unchanged) => {
            tracing::info!("reload: the packs and routes are unchanged; nothing logged")
        }
        Ok(cordon_gateway::reload::Reloaded::Applied { index, changed }) => {
            tracing::info!(entry = index, changed = %changed.join("; "), "reload applied and logged")
        }
        Err(e) => tracing::error!(error = %e, "reload refused"),
    }
}

/// Closes the log once the server has let go of the gateway, so every durable entry is
/// under a signed checkpoint.
pub fn close(gw: Arc<Gateway>) -> Result<ExitCode> {
    match Arc::try_unwrap(gw) {
        Ok(gw) => {
            let cp = gw.close().context("closing the log")?;
            tracing::info!(size = cp.checkpoint.size, "log closed");
        }
        // Dropping the last reference closes the log the same way.
        Err(_) => tracing::warn!("connections still held the gateway; the log closes on exit"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Development mode is announced where nobody can miss it.
pub fn announce(gw: &Gateway) {
    if gw.dev_mode() {
        eprintln!(
            "\n!!! DEVELOPMENT MODE: API keys are accepted as identities. Anyone holding a key is \
             that officer. Never run this in production: use client certificates or JWTs. !!!\n"
        );
        tracing::warn!("dev_mode = true: API keys are accepted as identities");
    }
}

pub fn init_tracing() {
    init_tracing_with("info");
}

/// Tracing with `default` as the filter unless RUST_LOG says otherwise.
pub fn init_tracing_with(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    // Installed now, not at the first poll: a SIGTERM that arrives while the serving
    // threads start (they may already answer) would otherwise meet the default action, an
    // exit that skips the drain and the log's close.
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        async fn next(s: Option<Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = next(interrupt) => {},
            () = next(terminate) => {},
        }
        tracing::info!("shutdown requested");
    }
}
