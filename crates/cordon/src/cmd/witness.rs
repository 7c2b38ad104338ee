//! `cordon witness keygen|serve`: make a witness key, and run a C2SP tlog-witness that
//! cosigns a log's checkpoints only while the log keeps growing, never rewound or forked.
use anyhow::{Context, Result};
use clap::Subcommand;
use cordon_log::Signer;
use cordon_witness::config::WitnessConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::log::write_secret;
use super::serve::{init_tracing, shutdown_signal};

#[derive(clap::Args)]
pub struct WitnessArgs {
    #[command(subcommand)]
    command: WitnessCommand,
}

#[derive(Subcommand)]
enum WitnessCommand {
    /// Make a witness's Ed25519 cosigning key; prints its verifier key (vkey).
    Keygen {
        /// The witness's name, a schema-less URL such as witness.example.org/w1.
        #[arg(long)]
        name: String,
        /// Where to write the secret key (created with mode 0600; never overwritten).
        #[arg(long)]
        key: PathBuf,
    },
    /// Run the witness: POST <prefix>/add-checkpoint, per c2sp.org/tlog-witness.
    Serve {
        /// The witness's TOML config (see examples/witness.toml).
        #[arg(long, short)]
        config: PathBuf,
    },
}

pub fn run(args: WitnessArgs) -> Result<ExitCode> {
    match args.command {
        WitnessCommand::Keygen { name, key } => keygen(&name, key),
        WitnessCommand::Serve { config } => serve(config),
    }
}

fn keygen(name: &str, key: PathBuf) -> Result<ExitCode> {
    let signer = Signer::generate_cosigner(name)
        .with_context(|| format!("making a witness key named {name:?}"))?;
    write_secret(&key, &signer.to_text())?;
    println!("{}", signer.verifier().to_text());
    eprintln!(
        "witness key in {} (keep it secret); give the verifier key above to the logs you witness and to their auditors",
        key.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(path: PathBuf) -> Result<ExitCode> {
    init_tracing();
    let config = WitnessConfig::load(&path)?;
    let service = Arc::new(config.open_service(&path)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        tracing::info!(
            listen = %listener.local_addr()?,
            vkey = %service.verifier().to_text(),
            logs = config.logs.len(),
            "cordon witness listening; POST {}/add-checkpoint",
            config.prefix
        );
        cordon_witness::server::serve(service, listener, shutdown_signal()).await;
        Ok(ExitCode::SUCCESS)
    })
}
