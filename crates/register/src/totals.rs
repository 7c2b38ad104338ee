//! A report's totals, computed twice: from the register view, and independently from the
//! raw log entries as plain JSON with their own reading of corrections, classes and
//! dates. A report is written only when both agree.

use crate::period::Period;
use crate::view::RequestView;
use cordon_policy::{FederalRequestKind, Response};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// What the law asks to be counted.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub detainers: u64,
    pub civil_warrants: u64,
    /// Requests for information or assistance from DHS (an immigration agency asked, or
    /// was asked for): what 5 ILCS 805/25 counts.
    pub assistance_requests: u64,
    /// Requests for information or assistance from other agencies (the FBI, the
    /// Marshals, another department): recorded, not part of the §25 count.
    pub other_agency_requests: u64,
    pub judicial: u64,
    /// U and T visa certification requests and consents: victim services.
    pub victim_services: u64,
    /// Judicial documents whose court was never recorded (entries from before courts were
    /// recorded): flagged, never rewritten.
    pub court_not_recorded: u64,
    /// Entries that did not record whether an immigration agency asked (version 1);
    /// counted as from DHS so the report never under-counts.
    pub requester_not_recorded: u64,
    /// Requests on which a Gov. Code 7282.5 conviction was recorded.
    pub with_conviction: u64,
    pub declined: u64,
    pub complied: u64,
    pub released: u64,
    pub transferred: u64,
    pub held_criminal: u64,
    pub not_in_custody: u64,
    pub no_outcome_yet: u64,
    pub corrected: u64,
}

/// The reporting classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Class {
    /// I-247A.
    Detainer,
    /// I-200, I-203, I-205, I-286 and NCIC Immigration Violator hits: what the TRUST Act
    /// calls civil immigration warrants and CPD's S06-14-03 administrative warrants.
    CivilWarrant,
    /// Requests for information or assistance, and administrative subpoenas.
    Assistance,
    /// Judicial warrants, court orders, probable-cause determinations, judicial subpoenas.
    Judicial,
    /// U and T visa certification requests, and the person's consent.
    VictimServices,
}

impl Class {
    pub fn of(kind: &FederalRequestKind) -> Class {
        use FederalRequestKind as K;
        match kind {
            K::DetainerI247a => Class::Detainer,
            K::JudicialWarrant
            | K::CourtOrder
            | K::ProbableCauseDetermination
            | K::JudicialSubpoena => Class::Judicial,
            K::VictimCertification | K::WrittenConsent => Class::VictimServices,
            K::RequestForAssistance | K::AdministrativeSubpoena | K::Unrecognized(_) => {
                Class::Assistance
            }
            K::WarrantI200
            | K::WarrantI203
            | K::WarrantI205
            | K::WarrantI286
            | K::NoticeToAppear
            | K::NcicImmigrationViolator => Class::CivilWarrant,
        }
    }
}

/// The judicial document words, as the raw tally reads them.
const JUDICIAL: [&str; 4] = [
    "judicial_warrant",
    "court_order",
    "probable_cause_determination",
    "judicial_subpoena",
];

/// Totals from the register view's requests in the period.
pub fn from_view(requests: &[&RequestView]) -> Totals {
    let mut t = Totals::default();
    for r in requests {
        t.requests += 1;
        match Class::of(&r.request.kind) {
            Class::Detainer => t.detainers += 1,
            Class::CivilWarrant => t.civil_warrants += 1,
            Class::Assistance if r.from_dhs() => t.assistance_requests += 1,
            Class::Assistance => t.other_agency_requests += 1,
            Class::Judicial => t.judicial += 1,
            Class::VictimServices => t.victim_services += 1,
        }
        t.court_not_recorded += u64::from(r.request.court_not_recorded());
        t.requester_not_recorded += u64::from(r.immigration_agency.is_none());
        t.with_conviction += u64::from(r.request.conviction.is_some());
        match r.response.response {
            Response::Comply => t.complied += 1,
            Response::Decline => t.declined += 1,
        }
        count_result(&mut t, r.last_outcome().map(|o| o.result.word()));
        if !r.corrected_by.is_empty() || r.outcomes.iter().any(|o| !o.corrected_by.is_empty()) {
            t.corrected += 1;
        }
    }
    t
}

fn count_result(t: &mut Totals, result: Option<&str>) {
    match result {
        Some("released") => t.released += 1,
        Some("transferred") => t.transferred += 1,
        Some("held_criminal") => t.held_criminal += 1,
        Some("not_in_custody") => t.not_in_custody += 1,
        _ => t.no_outcome_yet += 1,
    }
}

/// Totals from raw register entries (as JSON values, in log order), not using the
/// register view or its types.
#[derive(Debug, Default)]
pub struct RawTally {
    /// Request index → (request JSON, response word, immigration agency if recorded).
    requests: BTreeMap<u64, (Value, String, Option<bool>)>,
    /// Outcome index → (request index, outcome JSON).
    outcomes: BTreeMap<u64, (u64, Value)>,
    corrected: HashSet<u64>,
}

impl RawTally {
    pub fn push(&mut self, index: u64, entry: &Value) {
        let of = entry["of"].as_u64();
        let response = |v: &Value| v["response"]["response"].as_str().unwrap_or("").to_owned();
        match (entry["step"].as_str(), of) {
            (Some("request"), _) => {
                self.requests.insert(
                    index,
                    (
                        entry["federal_request"].clone(),
                        response(entry),
                        entry["immigration_agency"].as_bool(),
                    ),
                );
            }
            (Some("outcome"), Some(of)) => {
                self.outcomes.insert(index, (of, entry["outcome"].clone()));
            }
            (Some("correction"), Some(of)) => {
                if let Some(r) = self
                    .requests
                    .get_mut(&of)
                    .filter(|_| entry.get("federal_request").is_some())
                {
                    let dhs = entry["immigration_agency"].as_bool().or(r.2);
                    *r = (entry["federal_request"].clone(), response(entry), dhs);
                    self.corrected.insert(of);
                } else if let Some(o) = self
                    .outcomes
                    .get_mut(&of)
                    .filter(|_| entry.get("outcome").is_some())
                {
                    o.1 = entry["outcome"].clone();
                    self.corrected.insert(o.0);
                }
            }
            _ => {}
        }
    }

    pub fn totals(&self, period: Period) -> Totals {
        let mut t = Totals::default();
        for (index, (request, response, dhs)) in &self.requests {
            if !period.contains_text(request["received"].as_str().unwrap_or("")) {
                continue;
            }
            t.requests += 1;
            match request["kind"].as_str().unwrap_or("") {
                "detainer_i247a" => t.detainers += 1,
                k if JUDICIAL.contains(&k) => t.judicial += 1,
                k if k.starts_with("warrant_i")
                    || k == "ncic_immigration_violator"
                    || k == "notice_to_appear" =>
                {
                    t.civil_warrants += 1
                }
                "victim_certification" | "written_consent" => t.victim_services += 1,
                _ if dhs.unwrap_or(true) => t.assistance_requests += 1,
                _ => t.other_agency_requests += 1,
            }
            let documents = std::iter::once(&request["kind"])
                .chain(request["attached"].as_array().into_iter().flatten());
            let judicial = documents
                .filter_map(Value::as_str)
                .any(|k| JUDICIAL.contains(&k));
            let court = request["court"].as_str().unwrap_or("not_recorded");
            t.court_not_recorded += u64::from(judicial && court == "not_recorded");
            t.requester_not_recorded += u64::from(dhs.is_none());
            t.with_conviction += u64::from(request["conviction"].is_object());
            match response.as_str() {
                "comply" => t.complied += 1,
                _ => t.declined += 1,
            }
            let last = self.outcomes.values().rfind(|(of, _)| of == index);
            count_result(&mut t, last.and_then(|(_, o)| o["result"].as_str()));
            if self.corrected.contains(index) {
                t.corrected += 1;
            }
        }
        t
    }
}

/// The differences between two sets of totals, by name.
pub fn differences(view: &Totals, raw: &Totals) -> Vec<String> {
    let (a, b) = (serde_json::to_value(view), serde_json::to_value(raw));
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (a, b) else {
        return vec!["the totals could not be compared".into()];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, v)| {
            format!(
                "{k}: register says {v}, log entries say {}",
                b.get(k).unwrap_or(&Value::Null)
            )
        })
        .collect()
}
