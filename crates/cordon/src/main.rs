//! The `cordon` command line: the glue over the log, policy, gateway and audit crates.
#![forbid(unsafe_code)]

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Cordon: a purpose-bound firewall and verifiable audit log for public-safety data.
#[derive(Parser)]
#[command(name = "cordon", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the one-command demo: a sample records service behind the gateway, and a tour.
    Demo(cmd::demo::DemoArgs),
    /// Run the gateway: reverse proxy and forward-auth endpoint.
    Serve(cmd::serve::ServeArgs),
    /// Audit exported access logs (Flock audit CSVs, CSV, JSONL) for immigration searches.
    Audit(cmd::audit::AuditArgs),
    /// Create, append to, prove and verify a C2SP tlog-tiles transparency log.
    Log(cmd::log::LogArgs),
    /// Check, test and evaluate Cedar policy packs.
    Policy(cmd::policy::PolicyArgs),
    /// Screen free-text reasons (one per line on stdin) for immigration enforcement.
    Screen(cmd::screen::ScreenArgs),
    /// The federal request register: record detainers, warrants and requests, outcomes, corrections.
    Requests(cmd::requests::RequestsArgs),
    /// The reports the law requires: TRUST Act annual, Chicago quarterly.
    Report(cmd::report::ReportArgs),
    /// Run a C2SP tlog-witness that cosigns a log's checkpoints, or make its key.
    Witness(cmd::witness::WitnessArgs),
    /// Verify a published log as an auditor: signatures, witness quorum, consistency with
    /// the last run, split views, receipts.
    Verify(cmd::verify::VerifyArgs),
}

/// Users never see a stack trace: a closed pipe ends the program quietly, as Unix tools
/// do, and anything else is reported as a bug in one line.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown failure");
        if msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("cordon: internal error: {msg}{at}. This is a bug; please report it with the command you ran.");
    }));
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Log(args) => cmd::log::run(args),
        Command::Policy(args) => cmd::policy::run(args),
        Command::Screen(args) => cmd::screen::run(args),
        Command::Requests(args) => cmd::requests::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Witness(args) => cmd::witness::run(args),
        Command::Verify(args) => cmd::verify::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: what failed and why, no backtrace.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
