//! Measuring a stack: decision latency (typed request in, decision out) beside Cedar's own
//! `is_authorized` on a prebuilt request, and screening throughput, in the same run.

use crate::engine::Facts;
use crate::request::{AccessRequest, Authority, Principal, Purpose, Resource};
use crate::screen::{Hit, Scratch};
use crate::stack::Stack;
use crate::vocab::{Action, AuthorityKind, PurposeCode};
use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Percentiles of one timed loop, in nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
}

/// Everything one bench run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub pack: String,
    /// `Stack::decide` on a typed `AccessRequest` whose facts were seen before: screening,
    /// registry lookups, the memo key, a memo hit, the decision copied out.
    pub decide: Latency,
    /// `Stack::decide_uncached`: the same, but building the Cedar request and authorizing.
    pub decide_cold: Latency,
    /// Building the Cedar request from resolved facts and authorizing, no screening.
    pub decide_facts: Latency,
    /// Cedar `Authorizer::is_authorized` on a request built beforehand, whole policy set.
    pub raw_cedar: Latency,
    /// The same, on the action's slice of the policy set (what `decide` evaluates).
    pub raw_cedar_slice: Latency,
    pub reasons_per_second: f64,
    pub reason_mix: usize,
}

/// Runs the measurements; `decisions` timed decisions per loop, `reasons` screened.
pub fn run(pack: &Stack, decisions: usize, reasons: usize) -> Report {
    let requests = sample_requests();
    let decide = time_each(decisions, |i| {
        black_box(pack.decide(&requests[i % requests.len()]));
    });
    let decide_cold = time_each(decisions, |i| {
        black_box(pack.decide_uncached(&requests[i % requests.len()]));
    });
    let flags: [&'static str; 0] = [];
    let facts = sample_facts(&flags);
    let decide_facts = time_each(decisions, |_| {
        black_box(pack.decide_facts(&facts, Default::default(), Vec::new()));
    });
    let raw_cedar = time_raw_cedar(pack, &facts, decisions, pack.policy_set());
    let raw_cedar_slice = time_raw_cedar(pack, &facts, decisions, pack.policies_for(facts.action));
    let (reasons_per_second, reason_mix) = screening_rate(pack, reasons);
    Report {
        pack: pack.name(),
        decide,
        decide_cold,
        decide_facts,
        raw_cedar,
        raw_cedar_slice,
        reasons_per_second,
        reason_mix,
    }
}

fn time_raw_cedar(
    _pack: &Stack,
    facts: &Facts<'_>,
    n: usize,
    policies: &cedar_policy::PolicySet,
) -> Latency {
    let engine = match crate::engine::Engine::new() {
        Ok(engine) => engine,
        Err(_) => return Latency::default(),
    };
    let Ok(request) = engine.request(facts) else {
        return Latency::default();
    };
    time_each(n, |_| {
        black_box(engine.authorize(&request, policies));
    })
}

/// Times each call separately; the timer costs ~20 ns, which stays in the figures.
fn time_each(n: usize, mut f: impl FnMut(usize)) -> Latency {
    for i in 0..n.min(10_000) {
        f(i);
    }
    let mut samples: Vec<u64> = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        f(i);
        samples.push(nanos(start.elapsed()));
    }
    samples.sort_unstable();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    Latency {
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Screens a mix of realistic reasons, most innocuous, on one thread.
fn screening_rate(pack: &Stack, n: usize) -> (f64, usize) {
    let mix = REASON_MIX;
    let screener = pack.screener();
    let mut scratch = Scratch::default();
    let mut hits: Vec<Hit> = Vec::with_capacity(8);
    let start = Instant::now();
    let mut flagged = 0usize;
    for i in 0..n {
        hits.clear();
        screener.scan(mix[i % mix.len()], &mut scratch, &mut hits);
        flagged += hits.len();
    }
    let elapsed = start.elapsed().as_secs_f64();
    black_box(flagged);
    (n as f64 / elapsed.max(1e-9), mix.len())
}

/// Reasons shaped like plate-reader audit rows: short, mostly ordinary police work.
const REASON_MIX: &[&str] = &[
    "stolen vehicle",
    "Stolen Vehicle - 24-118233",
    "burglary suspect vehicle",
    "hit and run, silver sedan",
    "missing person",
    "Amber Alert",
    "retail theft",
    "carjacking investigation 2024-03311",
    "ICE+ERO",
    "shots fired",
    "narcotics investigation",
    "warrant service",
    "ice on road - crash",
    "assist ICE with locate",
    "police assist",
    "Other - Not Applicable",
    "homicide",
    "suspicious vehicle",
    "robbery - armed",
    "immigration",
];

fn sample_requests() -> Vec<AccessRequest> {
    let make = |agency: &str,
                action: Action,
                code: PurposeCode,
                reason: &str,
                authority: AuthorityKind| {
        AccessRequest {
            principal: Principal {
                id: "officer-1021".into(),
                agency: agency.into(),
            },
            action,
            resource: Resource {
                dataset: "arrests".into(),
                path: "arrests/2024-001234".into(),
                fields: Vec::new(),
                filters: Vec::new(),
            },
            purpose: Purpose {
                code: Some(code),
                reason: reason.into(),
                case: Some("JD-123456".into()),
            },
            authority: Authority {
                kind: authority,
                ..Authority::default()
            },
            time: None,
            source: None,
        }
    };
    vec![
        make(
            "cpd",
            Action::Search,
            PurposeCode::CriminalInvestigation,
            "burglary suspect vehicle",
            AuthorityKind::None,
        ),
        make(
            "cpd",
            Action::Read,
            PurposeCode::CriminalInvestigation,
            "assist ICE with locate",
            AuthorityKind::None,
        ),
        make(
            "ice-ero",
            Action::Search,
            PurposeCode::CivilImmigrationEnforcement,
            "ICE+ERO",
            AuthorityKind::AdministrativeWarrant,
        ),
        make(
            "isp",
            Action::Export,
            PurposeCode::TrafficEnforcement,
            "hit and run",
            AuthorityKind::None,
        ),
    ]
}

fn sample_facts<'a>(flags: &'a [&'static str]) -> Facts<'a> {
    Facts {
        principal: "officer-1021",
        action: "search",
        dataset: "arrests",
        agency: "cpd",
        agency_kind: "local_police",
        agency_in_state: true,
        alpr_declaration: false,
        dataset_kind: "criminal_records",
        path: "arrests/2024-001234",
        purpose: "criminal_investigation",
        has_reason: true,
        has_case: true,
        authority: "none",
        authority_court: "none",
        authority_matter: "not_recorded",
        authority_registered: false,
        authority_record: "",
        authority_names_path: false,
        filters_status: false,
        flags,
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ratio = |a: u64, b: u64| a as f64 / (b.max(1)) as f64;
        writeln!(f, "stack {}", self.pack)?;
        writeln!(
            f,
            "{:<46} {:>9} {:>9}",
            "decision latency (ns)", "p50", "p99"
        )?;
        for (name, l) in [
            ("Stack::decide (typed request, memo hit)", self.decide),
            (
                "Stack::decide_uncached (typed, Cedar runs)",
                self.decide_cold,
            ),
            ("Stack::decide_facts (no screening)", self.decide_facts),
            ("raw Cedar is_authorized, whole set", self.raw_cedar),
            (
                "raw Cedar is_authorized, action slice",
                self.raw_cedar_slice,
            ),
        ] {
            writeln!(f, "{name:<46} {:>9} {:>9}", l.p50, l.p99)?;
        }
        writeln!(
            f,
            "decide / raw Cedar whole set: p50 {:.2}x  p99 {:.2}x",
            ratio(self.decide.p50, self.raw_cedar.p50),
            ratio(self.decide.p99, self.raw_cedar.p99)
        )?;
        writeln!(
            f,
            "decide_uncached / raw Cedar same slice: p50 {:.2}x  p99 {:.2}x",
            ratio(self.decide_cold.p50, self.raw_cedar_slice.p50),
            ratio(self.decide_cold.p99, self.raw_cedar_slice.p99)
        )?;
        writeln!(
            f,
            "screening: {:.0} reasons/s on one core ({} distinct reasons cycled)",
            self.reasons_per_second, self.reason_mix
        )
    }
}
