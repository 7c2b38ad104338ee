//! `cordon requests`: the federal request register on a log directory, for a records
//! office without a running gateway. Recording goes through the same `Registrar` as
//! `POST /requests` on the gateway; reading verifies the whole log first.

use anyhow::{bail, Context, Result};
use cordon_log::{Log, LogConfig, Signer, Verifier};
use cordon_policy::{Court, FederalAsk, FederalRequestKind, Matter, Stack};
use cordon_register::{
    entry_of_open_log, read_authorities, read_register, AuthorityRegistration, Conviction,
    Correction, FederalRequest, Outcome, OutcomeResult, Prepared, Recorder, Registrar, RequestView,
    Transferee, When,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RequestsArgs {
    /// Boxed: the flags of a correction make the command large beside the others.
    #[command(subcommand)]
    pub command: Box<RequestsCommand>,
}

#[derive(clap::Subcommand)]
pub enum RequestsCommand {
    /// Record a federal request received; prints the pack's answer (decline or comply),
    /// the law, and the entry's log index.
    Add {
        #[command(flatten)]
        at: Writing,
        /// Read the request as JSON (the body `POST /requests` takes) from this file, or
        /// `-` for stdin, instead of the flags below.
        #[arg(long, conflicts_with_all = ["kind", "attached", "from", "unit", "received", "subject", "asks", "document_ref", "court", "matter", "names_subject", "on_behalf_of", "conviction_offense", "conviction_ground"])]
        body: Option<PathBuf>,
        #[command(flatten)]
        request: RequestFlags,
    },
    /// Record what became of the person a request concerns.
    Outcome {
        #[command(flatten)]
        at: Writing,
        /// The log index of the request entry (printed when it was recorded).
        #[arg(long)]
        of: u64,
        #[command(flatten)]
        outcome: OutcomeFlags,
    },
    /// Correct a request or outcome entry. Nothing is edited or deleted: the correction is
    /// a new entry naming the one it corrects and why, and the newest correction wins.
    /// Give the whole corrected request (request flags) or outcome (outcome flags).
    Correct {
        #[command(flatten)]
        at: Writing,
        /// The log index of the entry to correct.
        #[arg(long)]
        of: u64,
        /// Why (no names).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        request: RequestFlags,
        #[command(flatten)]
        outcome: OutcomeFlags,
    },
    /// Register legal process records staff checked (a warrant, an order, a consent), so
    /// that the gateway honours it for the records and dates it names. Reads the
    /// registration as JSON: kind, court, matter, issued_by, reference, agency, records,
    /// valid_from, expires, sha256.
    Authority {
        #[command(flatten)]
        at: Writing,
        /// The registration as JSON, from this file or `-` for stdin.
        #[arg(long)]
        body: PathBuf,
    },
    /// Revoke a registration (quashed, entered in error): it opens nothing from now on.
    Revoke {
        #[command(flatten)]
        at: Writing,
        /// The log index of the registration entry.
        #[arg(long)]
        of: u64,
        /// Why (no names).
        #[arg(long)]
        reason: String,
    },
    /// List the register, rebuilt from the log after verifying all of it.
    List {
        log: PathBuf,
        /// The log's verifier key or a file holding it (default: the key recorded in the log).
        #[arg(long)]
        vkey: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Where and as whom a step is recorded.
#[derive(clap::Args)]
pub struct Writing {
    /// The log directory.
    log: PathBuf,
    /// The log's signer key (default: LOG.key beside the directory).
    #[arg(long)]
    key: Option<PathBuf>,
    /// The packs whose requests/ policies answer, in stack order (repeat --pack; one pack
    /// alone means the stack its pack.json names).
    #[arg(long, required = true)]
    pack: Vec<PathBuf>,
    /// The staff member recording this.
    #[arg(long)]
    by: String,
    /// The staff member's agency.
    #[arg(long)]
    agency: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// The facts of a federal request.
#[derive(clap::Args, Default)]
pub struct RequestFlags {
    /// The document: detainer_i247a, warrant_i200, warrant_i203, warrant_i205, warrant_i286,
    /// notice_to_appear, ncic_immigration_violator, judicial_warrant, court_order,
    /// probable_cause_determination, judicial_subpoena, request_for_assistance,
    /// administrative_subpoena, victim_certification, written_consent.
    #[arg(long)]
    kind: Option<String>,
    /// Who issued the judicial document: federal, state, immigration_court.
    #[arg(long)]
    court: Option<String>,
    /// What it is about: criminal, criminal_immigration, civil.
    #[arg(long)]
    matter: Option<String>,
    /// The judicial document names the person this request concerns.
    #[arg(long)]
    names_subject: bool,
    /// The agency it asks for, when it asks on another's behalf.
    #[arg(long)]
    on_behalf_of: Option<String>,
    /// Gov. Code 7282.5: the conviction that lets the agency act (e.g. "Pen. Code 211").
    #[arg(long, requires = "conviction_ground")]
    conviction_offense: Option<String>,
    /// Gov. Code 7282.5: the paragraph that allows it (e.g. "7282.5(a)(1)").
    #[arg(long, requires = "conviction_offense")]
    conviction_ground: Option<String>,
    /// Documents that came with it, comma-separated (same words).
    #[arg(long, value_delimiter = ',')]
    attached: Vec<String>,
    /// The requesting agency's id in the pack's agencies.json (e.g. ice-ero).
    #[arg(long = "from")]
    from: Option<String>,
    /// The requesting unit or office.
    #[arg(long)]
    unit: Option<String>,
    /// When it was received: YYYY-MM-DD or YYYY-MM-DDTHH:MM.
    #[arg(long)]
    received: Option<String>,
    /// The internal reference of the person (booking number), never a name.
    #[arg(long)]
    subject: Option<String>,
    /// What it asks, comma-separated: custody_status, release_date, address,
    /// criminal_history, interview, access, hold, transfer, certification.
    #[arg(long, value_delimiter = ',')]
    asks: Vec<String>,
    /// The document's own number, if any.
    #[arg(long)]
    document_ref: Option<String>,
}

/// What became of the person.
#[derive(clap::Args, Default)]
pub struct OutcomeFlags {
    /// released, transferred, held_criminal or not_in_custody.
    #[arg(long)]
    result: Option<String>,
    /// When: YYYY-MM-DD or YYYY-MM-DDTHH:MM.
    #[arg(long = "at")]
    at_time: Option<String>,
    /// When bail was posted, if it was.
    #[arg(long)]
    bail_posted: Option<String>,
    /// The agency the person was transferred to.
    #[arg(long)]
    transferred_to: Option<String>,
    /// Its unit or office.
    #[arg(long)]
    transferred_unit: Option<String>,
}

pub fn run(args: RequestsArgs) -> Result<ExitCode> {
    match *args.command {
        RequestsCommand::Add { at, body, request } => {
            let request = match body {
                Some(path) => read_body(&path)?,
                None => request.build()?,
            };
            record(&at, |registrar, by, _log| {
                Ok(registrar.request(by, request)?)
            })
        }
        RequestsCommand::Outcome { at, of, outcome } => {
            let outcome = outcome.build()?;
            record(&at, |registrar, by, log| {
                let target = entry_of_open_log(log, of)?;
                Ok(registrar.outcome(by, of, &target, outcome)?)
            })
        }
        RequestsCommand::Correct {
            at,
            of,
            reason,
            request,
            outcome,
        } => {
            let correction = match (request.is_empty(), outcome.is_empty()) {
                (false, true) => Correction { reason, federal_request: Some(request.build()?), outcome: None },
                (true, false) => Correction { reason, federal_request: None, outcome: Some(outcome.build()?) },
                _ => bail!("give either the whole corrected request (--kind, --from, --unit, --received, --subject, --asks) or the whole corrected outcome (--result, --at, ...), not both and not neither"),
            };
            record(&at, |registrar, by, log| {
                let target = entry_of_open_log(log, of)?;
                Ok(registrar.correction(by, of, &target, correction)?)
            })
        }
        RequestsCommand::Authority { at, body } => {
            let bytes = read_bytes(&body)?;
            let authority = AuthorityRegistration::from_json(&bytes)?;
            record(&at, |registrar, by, _log| {
                Ok(registrar.authority(by, authority)?)
            })
        }
        RequestsCommand::Revoke { at, of, reason } => {
            let verifier = vkey_for(&at.log, None)?;
            let (book, _) = read_authorities(&at.log, &verifier)
                .with_context(|| format!("reading the registrations in {}", at.log.display()))?;
            record(&at, |registrar, by, _log| {
                Ok(registrar.revocation(by, of, &book, reason)?)
            })
        }
        RequestsCommand::List { log, vkey, json } => list(&log, vkey.as_deref(), json),
    }
}

/// Opens the log, prepares the entry through the shared registrar, appends it and waits
/// until it is durable, then prints the answer.
fn record(
    at: &Writing,
    prepare: impl FnOnce(&Registrar, Recorder, &Log) -> Result<Prepared>,
) -> Result<ExitCode> {
    let stack = super::policy::load_stack(&at.pack)?;
    let policies = cordon_policy::RequestStack::of(&stack)
        .with_context(|| format!("the stack {} cannot answer federal requests", stack.name()))?;
    let registrar = Registrar::new(policies, "cli");
    let signer = load_signer(&at.log, at.key.as_deref())?;
    let (log, _) = Log::open(&at.log, signer, LogConfig::default())
        .with_context(|| format!("opening the log {}", at.log.display()))?;
    let by = Recorder {
        id: at.by.clone(),
        agency: at.agency.clone(),
        auth: "log_key".into(),
    };
    let prepared = match prepare(&registrar, by, &log) {
        Ok(p) => p,
        Err(e) => {
            let _ = log.close();
            return Err(e);
        }
    };
    let receipt = log
        .append(prepared.bytes.clone())
        .context("appending to the log")?;
    log.close().context("closing the log")?;
    print_recorded(&prepared, receipt.index(), at.json)?;
    Ok(ExitCode::SUCCESS)
}

fn print_recorded(p: &Prepared, index: u64, json: bool) -> Result<()> {
    if json {
        let body = serde_json::json!({
            "receipt": index,
            "step": p.entry.step.word(),
            "response": p.response(),
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    println!("recorded {} as log entry {index}", p.entry.step.word());
    if let Some(r) = p.response() {
        println!("response: {}", r.response.word().to_uppercase());
        for e in &r.explanation {
            println!("  why: {e}");
        }
        for c in &r.citations {
            println!("  law: {c}");
        }
        for pr in &r.problems {
            println!("  problem: {pr}");
        }
    }
    Ok(())
}

fn list(dir: &Path, vkey: Option<&str>, json: bool) -> Result<ExitCode> {
    let verifier = vkey_for(dir, vkey)?;
    let (register, facts) = read_register(dir, &verifier)
        .with_context(|| format!("reading the register from {}", dir.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&register)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "log {} verified: {} entries, {} register requests, {} corrections",
        facts.origin,
        facts.size,
        register.requests.len(),
        register.corrections.len()
    );
    println!(
        "{:>7}  {:<16}  {:<26}  {:<10}  {:<18}  {:<8}  outcome",
        "entry", "received", "document", "from", "subject", "response"
    );
    for r in &register.requests {
        println!("{}", row(r));
    }
    for a in &register.anomalies {
        println!("anomaly: {a}");
    }
    Ok(ExitCode::SUCCESS)
}

fn row(r: &RequestView) -> String {
    let q = &r.request;
    let outcome = r
        .last_outcome()
        .map(|o| {
            let to = o
                .transferred_to
                .as_ref()
                .map(|t| format!(" to {}", t.agency))
                .unwrap_or_default();
            format!("{}{to} {}", o.result.word(), o.at)
        })
        .unwrap_or_else(|| "-".into());
    let corrected = if r.corrected_by.is_empty() {
        String::new()
    } else {
        format!("  (corrected by {:?})", r.corrected_by)
    };
    format!(
        "{:>7}  {:<16}  {:<26}  {:<10}  {:<18}  {:<8}  {outcome}{corrected}",
        r.index,
        q.received.to_string(),
        q.kind.to_string(),
        q.agency,
        q.subject,
        r.response.response.word()
    )
}

impl RequestFlags {
    fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.from.is_none()
            && self.unit.is_none()
            && self.received.is_none()
            && self.subject.is_none()
            && self.asks.is_empty()
            && self.attached.is_empty()
            && self.document_ref.is_none()
            && self.court.is_none()
            && self.matter.is_none()
            && self.on_behalf_of.is_none()
            && self.conviction_offense.is_none()
    }

    fn build(self) -> Result<FederalRequest> {
        let need =
            |v: Option<String>, flag: &str| v.with_context(|| format!("--{flag} is required"));
        let received = need(self.received, "received")?;
        let received = When::parse(&received).map_err(|e| anyhow::anyhow!("--received: {e}"))?;
        Ok(FederalRequest {
            kind: FederalRequestKind::parse(&need(self.kind, "kind")?),
            attached: self
                .attached
                .iter()
                .map(|a| FederalRequestKind::parse(a))
                .collect(),
            agency: need(self.from, "from")?,
            unit: need(self.unit, "unit")?,
            received,
            subject: need(self.subject, "subject")?,
            asks: self.asks.iter().map(|a| FederalAsk::parse(a)).collect(),
            document_ref: self.document_ref,
            on_behalf_of: self.on_behalf_of,
            court: self
                .court
                .as_deref()
                .map_or(Court::NotRecorded, Court::parse),
            matter: self
                .matter
                .as_deref()
                .map_or(Matter::NotRecorded, Matter::parse),
            names_subject: self.names_subject,
            conviction: match (self.conviction_offense, self.conviction_ground) {
                (Some(offense), Some(ground)) => Some(Conviction { offense, ground }),
                _ => None,
            },
        })
    }
}

impl OutcomeFlags {
    fn is_empty(&self) -> bool {
        self.result.is_none()
            && self.at_time.is_none()
            && self.bail_posted.is_none()
            && self.transferred_to.is_none()
    }

    fn build(self) -> Result<Outcome> {
        let result = match self.result.as_deref() {
            Some("released") => OutcomeResult::Released,
            Some("transferred") => OutcomeResult::Transferred,
            Some("held_criminal") => OutcomeResult::HeldCriminal,
            Some("not_in_custody") => OutcomeResult::NotInCustody,
            Some(other) => bail!(
                "--result {other:?} is not an outcome: use {}",
                OutcomeResult::WORDS.join(", ")
            ),
            None => bail!("--result is required: {}", OutcomeResult::WORDS.join(", ")),
        };
        let when =
            |flag: &str, v: &str| When::parse(v).map_err(|e| anyhow::anyhow!("--{flag}: {e}"));
        let at = when(
            "at",
            self.at_time
                .as_deref()
                .context("--at is required (when it happened)")?,
        )?;
        Ok(Outcome {
            result,
            at,
            bail_posted: self
                .bail_posted
                .as_deref()
                .map(|b| when("bail-posted", b))
                .transpose()?,
            transferred_to: self.transferred_to.map(|agency| Transferee {
                agency,
                unit: self.transferred_unit.unwrap_or_default(),
            }),
        })
    }
}

/// `DIR.key`, beside the directory rather than in it (as `cordon log` does).
fn load_signer(dir: &Path, key: Option<&Path>) -> Result<Signer> {
    let path = key.map(Path::to_owned).unwrap_or_else(|| {
        let mut s = dir.components().as_path().as_os_str().to_owned();
        s.push(".key");
        PathBuf::from(s)
    });
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the signer key {} (pass --key KEYFILE)",
            path.display()
        )
    })?;
    Signer::parse(text.trim()).with_context(|| format!("{}: not a signer key", path.display()))
}

/// The given verifier key, or the one the log recorded at creation.
pub fn vkey_for(dir: &Path, arg: Option<&str>) -> Result<Verifier> {
    match arg {
        Some(a) => super::log::parse_vkey(a),
        None => {
            let recorded = dir.join(cordon_log::log::VKEY_FILE);
            super::log::parse_vkey(&recorded.to_string_lossy()).with_context(|| {
                format!("no --vkey given and no key recorded in {}", dir.display())
            })
        }
    }
}

/// Runs the `requests/cases.json` of every pack written for this stack, for
/// `cordon policy test`; returns how many failed.
pub fn test_responses(stack: &Stack) -> Result<usize> {
    use cordon_policy::{federal_cases, RequestPolicies, RequestStack};
    let names: Vec<&str> = stack.packs().iter().map(|p| p.name()).collect();
    let mut answering = None;
    let mut failed = 0;
    for pack in stack.packs().iter().filter(|p| p.manifest().stack == names) {
        let Some(policies) = RequestPolicies::load(pack)? else {
            continue;
        };
        let answering = match &mut answering {
            Some(a) => a,
            None => answering.insert(RequestStack::of(stack)?),
        };
        let cases = federal_cases::load(&policies, answering)?;
        let failures = federal_cases::run(answering, &cases);
        for f in &failures {
            println!(
                "FAIL {}: expected {} by {:?}, got {} by {:?}",
                f.name,
                f.expected.response.word(),
                f.expected.policies,
                f.got.response.word(),
                f.got.policies
            );
        }
        println!(
            "{}: {} of {} federal request cases pass",
            pack.name(),
            cases.len() - failures.len(),
            cases.len()
        );
        failed += failures.len();
    }
    Ok(failed)
}

/// The bytes of a file, or of stdin for `-`.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// A request body from a file or stdin, through the parser the gateway uses.
fn read_body(path: &Path) -> Result<FederalRequest> {
    Ok(FederalRequest::from_json(&read_bytes(path)?)?)
}
