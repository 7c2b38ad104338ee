//! Measuring a stack: decision latency on a realistic stream of typed requests through the
//! decision table, beside today's memo, Cedar behind the same typed entry point, and
//! Cedar's own `is_authorized` on prebuilt requests, in alternated rounds of one run; the
//! memo's hit rate on that stream; screening throughput.

mod mix;
mod report;

use crate::engine::{Engine, Facts};
use crate::request::AccessRequest;
use crate::screen::{Hit, Scratch};
use crate::stack::{flag_words, Stack};
use crate::table::TableInfo;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The targets for a cold decision, in nanoseconds.
pub const TARGET_P50_NS: u64 = 5_000;
pub const TARGET_P99_NS: u64 = 20_000;

/// Distinct requests the timed loops cycle through.
const MIX: usize = 4_096;

/// Percentiles of one timed loop, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
}

/// One contender, timed in every round.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub name: &'static str,
    pub rounds: Vec<Latency>,
}

impl Row {
    fn median(&self, of: impl Fn(&Latency) -> u64) -> u64 {
        let mut v: Vec<u64> = self.rounds.iter().map(of).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    }

    pub fn p50(&self) -> u64 {
        self.median(|l| l.p50)
    }

    pub fn p99(&self) -> u64 {
        self.median(|l| l.p99)
    }

    pub fn worst(&self) -> Latency {
        Latency {
            p50: self.rounds.iter().map(|l| l.p50).max().unwrap_or(0),
            p99: self.rounds.iter().map(|l| l.p99).max().unwrap_or(0),
        }
    }

    /// Whether every round met both targets.
    pub fn meets_targets(&self) -> bool {
        !self.rounds.is_empty()
            && self
                .rounds
                .iter()
                .all(|l| l.p50 <= TARGET_P50_NS && l.p99 <= TARGET_P99_NS)
    }
}

/// Everything one bench run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub pack: String,
    /// The stack's decision table, or why it has none.
    pub table: Result<TableInfo, String>,
    /// Timed calls per contender per round.
    pub decisions: usize,
    /// The contenders, the first being the gateway's path (`Stack::decide`).
    pub rows: Vec<Row>,
    /// Memo lookups and hits over a stream of `decisions` fresh requests from the mix.
    pub memo_lookups: u64,
    pub memo_hits: u64,
    pub reasons_per_second: f64,
    pub reason_mix: usize,
}

/// Runs the measurements: `rounds` alternated rounds of `decisions` timed calls per
/// contender, and `reasons` screened.
pub fn run(stack: &Stack, decisions: usize, reasons: usize, rounds: usize) -> Report {
    let (memo_lookups, memo_hits) = memo_hit_rate(stack, decisions);
    let mut rng = mix::Rng::new(0x00c0_4d0e);
    let requests: Vec<AccessRequest> = (0..MIX).map(|_| mix::request(stack, &mut rng)).collect();
    let flags: Vec<Vec<&'static str>> = requests
        .iter()
        .map(|r| flag_words(&stack.screener().screen(&r.purpose.reason)))
        .collect();
    let facts: Vec<Facts<'_>> = requests
        .iter()
        .zip(&flags)
        .map(|(r, f)| stack.resolve(r, f).0)
        .collect();
    let rows = time_rounds(stack, &requests, &facts, decisions, rounds.max(1));
    let (reasons_per_second, reason_mix) = screening_rate(stack, reasons);
    Report {
        pack: stack.name(),
        table: stack.table().cloned().map_err(str::to_owned),
        decisions,
        rows,
        memo_lookups,
        memo_hits,
        reasons_per_second,
        reason_mix,
    }
}

/// (lookups, hits) of the stack's memo over a fresh stream of `n` requests.
fn memo_hit_rate(stack: &Stack, n: usize) -> (u64, u64) {
    let mut rng = mix::Rng::new(0x5eed);
    let (hits_before, misses_before) = stack.memo_stats();
    for _ in 0..n {
        black_box(stack.decide_memoized(&mix::request(stack, &mut rng)));
    }
    let (hits, misses) = stack.memo_stats();
    let hits = hits - hits_before;
    (hits + misses - misses_before, hits)
}

type Contender<'a> = (&'static str, Box<dyn FnMut(usize) + 'a>);

fn time_rounds(
    stack: &Stack,
    requests: &[AccessRequest],
    facts: &[Facts<'_>],
    n: usize,
    rounds: usize,
) -> Vec<Row> {
    let engine = Engine::new().ok();
    let prebuilt: Vec<cedar_policy::Request> = facts
        .iter()
        .filter_map(|f| engine.as_ref()?.request(f).ok())
        .collect();
    let at = |i: usize| i % requests.len().max(1);
    let gateway = match stack.table() {
        Ok(_) => "Stack::decide through the table (typed in)",
        Err(_) => "Stack::decide, no table: memo (typed in)",
    };
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            gateway,
            Box::new(|i| drop(black_box(stack.decide(&requests[at(i)])))),
        ),
        (
            "Stack::decide_memoized, today's memo (typed in)",
            Box::new(|i| drop(black_box(stack.decide_memoized(&requests[at(i)])))),
        ),
        (
            "Stack::decide_uncached, Cedar (typed in)",
            Box::new(|i| drop(black_box(stack.decide_uncached(&requests[at(i)])))),
        ),
        (
            "table lookup + explanation (resolved facts in)",
            Box::new(|i| drop(black_box(stack.decide_table(&facts[at(i)])))),
        ),
    ];
    if let Some(table) = stack.compiled_table() {
        contenders.push((
            "table lookup only, no explanation (facts in)",
            Box::new(move |i| drop(black_box(table.decide(&facts[at(i)])))),
        ));
    }
    if let Some(engine) = engine.as_ref().filter(|_| prebuilt.len() == facts.len()) {
        let prebuilt = &prebuilt;
        contenders.push((
            "raw Cedar is_authorized, action slice (prebuilt)",
            Box::new(move |i| {
                let f = &facts[at(i)];
                black_box(engine.authorize(&prebuilt[at(i)], stack.policies_for(f.action)));
            }),
        ));
        contenders.push((
            "raw Cedar is_authorized, whole set (prebuilt)",
            Box::new(move |i| {
                black_box(engine.authorize(&prebuilt[at(i)], stack.policy_set()));
            }),
        ));
        if let Ok(one) = engine.request(&SAMPLE) {
            contenders.push((
                "raw Cedar, action slice, one request (old bench)",
                Box::new(move |_| {
                    black_box(engine.authorize(&one, stack.policies_for(SAMPLE.action)));
                }),
            ));
        }
    }
    let mut rows: Vec<Row> = contenders
        .iter()
        .map(|(name, _)| Row {
            name,
            rounds: Vec::new(),
        })
        .collect();
    let count = contenders.len();
    for round in 0..rounds {
        // Alternate the order so that no contender always runs first (cold caches) or last.
        for k in 0..count {
            let c = (k + round) % count;
            let latency = time_each(n, &mut contenders[c].1);
            rows[c].rounds.push(latency);
        }
    }
    rows
}

/// The one request the earlier benchmark timed raw Cedar on (a local police search for a
/// criminal investigation, no process, no flags), kept so figures stay comparable.
pub(crate) const SAMPLE: Facts<'static> = Facts {
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
    flags: &[],
};

/// Times each call separately; the timer costs ~20 ns, which stays in the figures.
fn time_each(n: usize, f: &mut dyn FnMut(usize)) -> Latency {
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
    let mix = mix::REASON_MIX;
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
