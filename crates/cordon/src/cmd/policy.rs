//! `cordon policy`: check, test, evaluate, tabulate and benchmark stacks of policy packs.
use anyhow::Context;
use cordon_policy::{cases, AccessRequest, Pack, Stack};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

/// The packs a command works on: several folders make a stack in the order given; one
/// folder means the stack its pack.json names (`"stack"`), which is the one its cases are
/// written for.
#[derive(clap::Args)]
pub struct Packs {
    /// Pack folders, e.g. policies/chicago-welcoming-city policies/illinois-trust-act
    #[arg(required = true, num_args = 1..)]
    packs: Vec<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Validate a stack: every pack's schema, policies (strict), annotations, manifest and
    /// registries, the merged registries, the layered policies and the cases files.
    Check(Packs),
    /// Run the cases of every pack written for this stack (cases.json and
    /// requests/cases.json); exits 1 naming each failing case.
    Test(Packs),
    /// Decide one request read as JSON on stdin and print the decision as JSON.
    ///
    /// Exit status: 0 allow, 1 deny, 2 the request or stack could not be read, or the
    /// request used a word outside the vocabulary (the deny is still printed).
    Eval(Packs),
    /// Print every rule of the stack as a Markdown table: rule, basis, citation, source.
    Table(Packs),
    /// Measure decision latency and screening throughput beside raw Cedar.
    Bench {
        #[command(flatten)]
        packs: Packs,
        /// Decisions to time (after warm-up).
        #[arg(long, default_value_t = 200_000)]
        decisions: usize,
        /// Reasons to screen for the throughput figure.
        #[arg(long, default_value_t = 2_000_000)]
        reasons: usize,
        /// Alternated rounds; a target is met only if every round meets it.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

pub fn run(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PolicyCommand::Check(p) => check(&p.packs),
        PolicyCommand::Test(p) => test(&p.packs),
        PolicyCommand::Eval(p) => Ok(eval(&p.packs)),
        PolicyCommand::Table(p) => table(&p.packs),
        PolicyCommand::Bench {
            packs,
            decisions,
            reasons,
            rounds,
        } => bench(&packs.packs, decisions, reasons, rounds),
    }
}

/// Loads the stack the folders name (see [`Packs`]).
pub fn load_stack(dirs: &[PathBuf]) -> anyhow::Result<Stack> {
    let stack = match dirs {
        [one] => Stack::home(one),
        many => Stack::load(many),
    };
    let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    stack.with_context(|| format!("the stack {} is not usable", names.join(" + ")))
}

/// The packs of the stack whose cases are written for exactly this stack.
fn packs_with_cases(stack: &Stack) -> Vec<&Pack> {
    let names: Vec<&str> = stack.packs().iter().map(Pack::name).collect();
    stack
        .packs()
        .iter()
        .filter(|p| p.manifest().stack == names)
        .collect()
}

fn check(dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let stack = load_stack(dirs)?;
    let mut case_count = 0;
    for pack in packs_with_cases(&stack) {
        case_count += cases::load(pack, &stack)?.len();
    }
    println!(
        "ok: {}: {} layered rules validate (strict), {} agencies, {} datasets, {} cases\nstack {}",
        stack.name(),
        stack.policy_set().policies().count(),
        stack.registry().agencies.len(),
        stack.datasets().datasets.len(),
        case_count,
        stack.hash()
    );
    match stack.table() {
        Ok(t) => println!(
            "decision table: {} cells over {} pieces, filled by Cedar and so equal to it, in {:.0} ms",
            t.cells,
            t.leaves,
            t.took.as_secs_f64() * 1e3
        ),
        Err(why) => println!("no decision table, so Cedar decides every request: {why}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn test(dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let stack = load_stack(dirs)?;
    println!("stack {} ({})", stack.name(), stack.hash());
    let mut failed = 0;
    let with_cases = packs_with_cases(&stack);
    for pack in stack.packs() {
        if !with_cases.iter().any(|p| p.name() == pack.name()) {
            println!(
                "{}: cases skipped: they are written for the stack {}",
                pack.name(),
                pack.manifest().stack.join(" + ")
            );
            continue;
        }
        failed += test_pack(pack, &stack)?;
    }
    failed += super::requests::test_responses(&stack)?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn test_pack(pack: &Pack, stack: &Stack) -> anyhow::Result<usize> {
    let all = cases::load(pack, stack)?;
    let failures = cases::run(stack, &all);
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
    Ok(failures.len())
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

fn eval(dirs: &[PathBuf]) -> ExitCode {
    let stack = match load_stack(dirs) {
        Ok(stack) => stack,
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
    let decision = stack.decide(&request);
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

fn table(dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let stack = load_stack(dirs)?;
    print!("{}", rule_table(&stack)?);
    Ok(ExitCode::SUCCESS)
}

/// Every rule of every pack (access and federal requests), one row each, in stack order.
pub fn rule_table(stack: &Stack) -> anyhow::Result<String> {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out =
        String::from("| Pack | Rule | Basis | Citation | Source |\n|---|---|---|---|---|\n");
    let requests = cordon_policy::RequestStack::of(stack).ok();
    for pack in stack.packs() {
        let mut metas: Vec<cordon_policy::PolicyMeta> = pack.metas().into_iter().cloned().collect();
        if let Some(r) = requests
            .as_ref()
            .and_then(|r| r.packs().iter().find(|p| p.name() == pack.name()))
        {
            metas.extend(r.metas().into_iter().map(|m| {
                let mut m = m.clone();
                m.id = format!("requests/{}", m.id);
                m
            }));
        }
        for m in metas {
            let basis = match &m.needs_counsel {
                Some(q) => format!("{} — needs counsel: {}", m.basis, q),
                None => m.basis.to_string(),
            };
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} |\n",
                cell(pack.name()),
                cell(&m.id),
                cell(&basis),
                cell(&m.citation),
                cell(&m.source)
            ));
        }
    }
    Ok(out)
}

fn bench(
    dirs: &[PathBuf],
    decisions: usize,
    reasons: usize,
    rounds: usize,
) -> anyhow::Result<ExitCode> {
    let start = std::time::Instant::now();
    let stack = load_stack(dirs)?;
    println!(
        "stack loaded (packs read, validated, layered, table compiled) in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let report = cordon_policy::bench::run(&stack, decisions, reasons, rounds);
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
