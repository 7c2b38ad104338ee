//! A realistic stream of access requests for the benchmark: mostly local police searching
//! and reading for ordinary purposes with no legal process, some exports, a few federal
//! and immigration requests, warrants, status filters and unknown inputs, every read of a
//! different record. Deterministic (a fixed seed), so runs compare.

use crate::registry::Agency;
use crate::request::{AccessRequest, Authority, Principal, Purpose, Registration, Resource};
use crate::stack::Stack;
use crate::vocab::{Action, AgencyKind, AuthorityKind, Court, Matter, PurposeCode};

/// Reasons shaped like plate-reader audit rows: short, mostly ordinary police work.
pub const REASON_MIX: &[&str] = &[
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

/// A small deterministic generator (xorshift64*): no dependency, same stream every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    /// One of `items`, by weight.
    fn pick<'a, T>(&mut self, items: &'a [(u32, T)]) -> &'a T {
        let total: u32 = items.iter().map(|(w, _)| w).sum();
        let mut at = u32::try_from(self.below(total as usize)).unwrap_or(0);
        for (w, item) in items {
            if at < *w {
                return item;
            }
            at -= w;
        }
        &items[items.len() - 1].1
    }
}

/// The stream's next request.
pub fn request(stack: &Stack, rng: &mut Rng) -> AccessRequest {
    let agency = agency(stack, rng);
    let action = rng
        .pick(&[
            (55, Action::Search),
            (35, Action::Read),
            (8, Action::Export),
            (2, Action::Bulk),
        ])
        .clone();
    let datasets: Vec<&String> = stack.datasets().datasets.keys().collect();
    let dataset = match rng.below(100) {
        0 => "unregistered-dataset".to_owned(),
        _ => datasets
            .get(rng.below(datasets.len()))
            .map_or_else(|| "arrests".to_owned(), |d| (*d).clone()),
    };
    let path = match action {
        Action::Read => format!("{dataset}/2024-{:06}", rng.below(1_000_000)),
        _ => format!("{dataset}/*"),
    };
    let authority = authority(rng, &path);
    let filters = match rng.below(100) {
        0..=2 => vec!["immigration_status".to_owned()],
        _ => Vec::new(),
    };
    AccessRequest {
        principal: Principal {
            id: format!("officer-{}", rng.below(2_000)),
            agency,
        },
        action,
        resource: Resource {
            dataset,
            path,
            fields: Vec::new(),
            filters,
        },
        purpose: purpose(rng),
        authority,
        time: None,
        source: None,
    }
}

fn agency(stack: &Stack, rng: &mut Rng) -> String {
    let kind = rng
        .pick(&[
            (70, Some(AgencyKind::LocalPolice)),
            (10, Some(AgencyKind::StatePolice)),
            (5, Some(AgencyKind::FederalOther)),
            (5, Some(AgencyKind::FederalImmigration)),
            (4, Some(AgencyKind::TaskForce)),
            (3, Some(AgencyKind::Other)),
            (1, Some(AgencyKind::ImmigrationTaskForce)),
            (2, None),
        ])
        .clone();
    let Some(kind) = kind else {
        return "unregistered-agency".to_owned();
    };
    let of_kind: Vec<(&String, &Agency)> = stack
        .registry()
        .agencies
        .iter()
        .filter(|(_, a)| a.kind == kind)
        .collect();
    match of_kind.get(rng.below(of_kind.len())) {
        Some((id, _)) => (*id).clone(),
        None => "unregistered-agency".to_owned(),
    }
}

fn purpose(rng: &mut Rng) -> Purpose {
    let code = rng
        .pick(&[
            (60, Some(PurposeCode::CriminalInvestigation)),
            (15, Some(PurposeCode::TrafficEnforcement)),
            (5, Some(PurposeCode::MissingPerson)),
            (3, Some(PurposeCode::VictimServices)),
            (4, Some(PurposeCode::PublicSafetyEmergency)),
            (8, Some(PurposeCode::Administrative)),
            (2, Some(PurposeCode::CivilImmigrationEnforcement)),
            (
                1,
                Some(PurposeCode::Unrecognized("immigration_assist".into())),
            ),
            (2, None),
        ])
        .clone();
    let reason = REASON_MIX[rng.below(REASON_MIX.len())].to_owned();
    let case = (rng.below(10) < 7).then(|| format!("JD-{:06}", rng.below(1_000_000)));
    Purpose { code, reason, case }
}

fn authority(rng: &mut Rng, path: &str) -> Authority {
    let (kind, court, matter, registered) = rng
        .pick(&[
            (
                90,
                (AuthorityKind::None, Court::None, Matter::NotRecorded, false),
            ),
            (
                3,
                (
                    AuthorityKind::JudicialWarrant,
                    Court::Federal,
                    Matter::Criminal,
                    true,
                ),
            ),
            (
                2,
                (
                    AuthorityKind::CourtOrder,
                    Court::State,
                    Matter::Criminal,
                    true,
                ),
            ),
            (
                2,
                (
                    AuthorityKind::JudicialSubpoena,
                    Court::State,
                    Matter::Criminal,
                    true,
                ),
            ),
            (
                2,
                (
                    AuthorityKind::AdministrativeWarrant,
                    Court::None,
                    Matter::Civil,
                    false,
                ),
            ),
            (
                1,
                (AuthorityKind::Detainer, Court::None, Matter::Civil, false),
            ),
        ])
        .clone();
    Authority {
        record: registered.then(|| path.to_owned()),
        registration: registered.then(|| Registration {
            entry: 1,
            sha256: "0".repeat(64),
            expires: "2027-01-01".into(),
        }),
        kind,
        court,
        matter,
        reference: None,
    }
}
