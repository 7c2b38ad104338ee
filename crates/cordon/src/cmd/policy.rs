//! `cordon policy`: check, test, evaluate and benchmark policy packs.
use anyhow::Context;
use cordon_policy::{cases, AccessRequest, Pack};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Validate a pack: schema, policies (strict), annotations, registries and cases file.
    Check {
        /// The pack folder, e.g. policies/chicago-welcoming-city
        pack: PathBuf,
    },
    /// Run the pack's cases.json; exits 1 naming each failing case.
    Test { pack: PathBuf },
    /// Decide one request read as JSON on stdin and print the decision as JSON.
    ///
    /// Exit status: 0 allow, 1 deny, 2 the request or pack could not be read, or the
    /// request used a word outside the vocabulary (the deny is still printed).
    Eval { pack: PathBuf },
    /// Measure decision latency and screening throughput beside raw Cedar.
    Bench {
        pack: PathBuf,
        /// Decisions to time (after warm-up).
        #[arg(long, default_value_t = 200_000)]
        decisions: usize,
        /// Reasons to screen for the throughput figure.
        #[arg(long, default_value_t = 2_000_000)]
        reasons: usize,
    },
}

pub fn run(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PolicyCommand::Check { pack } => check(&pack),
        PolicyCommand::Test { pack } => test(&pack),
        PolicyCommand::Eval { pack } => Ok(eval(&pack)),
        PolicyCommand::Bench {
            pack,
            decisions,
            reasons,
        } => bench(&pack, decisions, reasons),
    }
}

fn load(dir: &Path) -> anyhow::Result<Pack> {
    Pack::load(dir).with_context(|| format!("policy pack {} is not usable", dir.display()))
}

fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    let pack = load(dir)?;
    let cases = cases::load(&pack)?;
    println!(
        "ok: {}: {} policies validate (strict), {} agencies, {} datasets, {} cases",
        pack.name(),
        pack.policy_set().policies().count(),
        pack.registry().agencies.len(),
        pack.datasets().datasets.len(),
        cases.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn test(dir: &Path) -> anyhow::Result<ExitCode> {
    let pack = load(dir)?;
    let all = cases::load(&pack)?;
    let failures = cases::run(&pack, &all);
    for failure in &failures {
        println!(
            "FAIL {}: expected {:?} by {:?}, got {:?} by {:?}{}",
            failure.name,
            failure.expected.decision,
            failure.expected.policies,
            failure.got.decision,
            failure.got.policies,
            problems_suffix(&failure.got.problems)
        );
    }
    println!(
        "{}: {} of {} cases pass",
        pack.name(),
        all.len() - failures.len(),
        all.len()
    );
    let response_failures = super::requests::test_responses(dir)?;
    Ok(if failures.is_empty() && response_failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn problems_suffix(problems: &[String]) -> String {
    if problems.is_empty() {
        String::new()
    } else {
        format!(" ({})", problems.join("; "))
    }
}

/// Exit status 2, the convention for "could not decide as asked".
const TROUBLE: u8 = 2;

fn eval(dir: &Path) -> ExitCode {
    let pack = match load(dir) {
        Ok(pack) => pack,
        Err(err) => return trouble(&format!("{err:#}")),
    };
    let mut input = Vec::new();
    if let Err(err) = std::io::stdin().read_to_end(&mut input) {
        return trouble(&format!("cannot read the request from stdin: {err}"));
    }
    let request = match AccessRequest::from_json_slice(&input) {
        Ok(request) => request,
        Err(err) => return trouble(&format!("{err}")),
    };
    let decision = pack.decide(&request);
    match serde_json::to_string(&decision) {
        Ok(json) => println!("{json}"),
        Err(err) => return trouble(&format!("cannot print the decision: {err}")),
    }
    if !decision.problems.is_empty() {
        for problem in &decision.problems {
            eprintln!("error: {problem}");
        }
        return ExitCode::from(TROUBLE);
    }
    if decision.is_allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn trouble(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(TROUBLE)
}

fn bench(dir: &Path, decisions: usize, reasons: usize) -> anyhow::Result<ExitCode> {
    let pack = load(dir)?;
    let report = cordon_policy::bench::run(&pack, decisions, reasons);
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
