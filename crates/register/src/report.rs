//! The reports the law requires, from a verified log: the Illinois TRUST Act's annual
//! report to the Attorney General (5 ILCS 805/25) and CPD's quarterly report to the Mayor
//! and the Inspector General (MCC 2-173). Each is an HTML page a person reads and a CSV a
//! machine reads, with totals checked against the log before either is written.

use crate::entry::RegisterEntry;
use crate::error::RegisterError;
use crate::period::Period;
use crate::read::{for_each_register_entry, LogFacts};
use crate::totals::{differences, from_view, Class, RawTally, Totals};
use crate::view::{Register, RegisterBuilder, RequestView};
use cordon_log::Verifier;
use std::path::{Path, PathBuf};

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    TrustAct,
    ChicagoQuarterly,
}

/// A report whose totals agree with the log.
#[derive(Debug)]
pub struct Report {
    pub kind: ReportKind,
    pub period: Period,
    pub register: Register,
    /// Positions in `register.requests` of the requests received in the period.
    pub selected: Vec<usize>,
    pub totals: Totals,
    pub log: LogFacts,
}

impl Report {
    /// Verifies the log, rebuilds the register, selects the period, and computes the
    /// totals twice; refuses if they disagree or the register has anomalies.
    pub fn build(
        dir: &Path,
        verifier: &Verifier,
        kind: ReportKind,
        period: Period,
    ) -> Result<Report, RegisterError> {
        let mut builder = RegisterBuilder::default();
        let mut raw = RawTally::default();
        let log = for_each_register_entry(dir, verifier, |index, bytes| {
            if let Some(entry) = RegisterEntry::parse(index, bytes)? {
                builder.push(index, entry);
            }
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| RegisterError::BadEntry {
                    index,
                    why: e.to_string(),
                })?;
            raw.push(index, &value);
            Ok(())
        })?;
        let register = builder.finish();
        if !register.anomalies.is_empty() {
            return Err(RegisterError::Totals(register.anomalies.join("; ")));
        }
        let selected: Vec<usize> = (0..register.requests.len())
            .filter(|&i| period.contains(&register.requests[i].request.received))
            .collect();
        let chosen: Vec<&RequestView> = selected.iter().map(|&i| &register.requests[i]).collect();
        let totals = from_view(&chosen);
        let diff = differences(&totals, &raw.totals(period));
        if !diff.is_empty() {
            return Err(RegisterError::Totals(diff.join("; ")));
        }
        Ok(Report {
            kind,
            period,
            register,
            selected,
            totals,
            log,
        })
    }

    /// The requests received in the period, in log order.
    pub fn requests(&self) -> impl Iterator<Item = &RequestView> {
        self.selected.iter().map(|&i| &self.register.requests[i])
    }

    /// Whether there is nothing to report but the certification of none.
    pub fn is_none_received(&self) -> bool {
        self.totals.detainers + self.totals.civil_warrants + self.totals.assistance_requests == 0
    }

    /// Writes `report.html` and `report.csv` into `out` (created if needed).
    pub fn write(&self, out: &Path) -> Result<(PathBuf, PathBuf), RegisterError> {
        let io = |path: &Path, e: std::io::Error| {
            RegisterError::Input(format!("cannot write {}: {e}", path.display()))
        };
        std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
        let html = out.join("report.html");
        let csv = out.join("report.csv");
        std::fs::write(&html, crate::html::render(self)).map_err(|e| io(&html, e))?;
        std::fs::write(&csv, crate::csv::render(self)).map_err(|e| io(&csv, e))?;
        Ok((html, csv))
    }
}

/// The reporting class of a request, in words.
pub fn class_words(class: Class) -> &'static str {
    match class {
        Class::Detainer => "Immigration detainer",
        Class::CivilWarrant => "Civil immigration (administrative) warrant",
        Class::Assistance => "Request for information or assistance",
        Class::Judicial => {
            "Judicial warrant, court order, probable-cause determination or judicial subpoena"
        }
        Class::VictimServices => "U or T visa certification request, or the person's consent",
    }
}

/// The flags a reader must see on a row: facts the entry did not record.
pub fn row_flags(r: &RequestView) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if r.request.court_not_recorded() {
        flags.push("court not recorded (entry predates court recording; not a federal criminal warrant on the record)");
    }
    if r.immigration_agency.is_none() {
        flags.push("requester kind not recorded (counted as DHS)");
    }
    flags
}

/// The 7282.5 conviction recorded, in words (Gov. Code 7284.6(c)(2) asks for it).
pub fn conviction_words(r: &RequestView) -> String {
    r.request
        .conviction
        .as_ref()
        .map(|c| format!("{} ({})", c.offense, c.ground))
        .unwrap_or_default()
}

/// Time in custody after bail was posted, when both ends are known.
pub fn held_after_bail(r: &RequestView) -> String {
    let Some(o) = r.last_outcome() else {
        return String::new();
    };
    let Some(bail) = &o.bail_posted else {
        return String::new();
    };
    match (bail.minutes(), o.at.minutes()) {
        (Some(b), Some(a)) => {
            let m = (a - b).max(0);
            format!("{}h {:02}m", m / 60, m % 60)
        }
        _ => match o.at.days() - bail.days() {
            0 => "same day".into(),
            d => format!("{d} days"),
        },
    }
}
