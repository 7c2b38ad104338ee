//! The report as one self-contained HTML page for a reader who is not an engineer: the
//! law and the duty, the totals, each request, the corrections, and how it was checked.

use crate::report::{
    class_words, conviction_words, held_after_bail, row_flags, Report, ReportKind,
};
use crate::totals::Class;
use crate::view::RequestView;
use std::fmt::Write as _;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}\
table{border-collapse:collapse;width:100%;margin:0.5rem 0 1.5rem}th,td{border:1px solid #bbb;padding:0.3rem 0.5rem;text-align:left;vertical-align:top;font-size:0.92rem}\
th{background:#eee}.cert{border:2px solid #2a6;padding:1rem;background:#f3fbf6}.note{color:#555;font-size:0.9rem}td.num{text-align:right}";

pub fn render(report: &Report) -> String {
    let mut h = String::new();
    let title = title(report);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = esc(&title)
    );
    h.push_str(&duty(report));
    totals(&mut h, report);
    if report.is_none_received() {
        let _ = write!(
            h,
            "<div class=\"cert\"><strong>Certification.</strong> The register holds no immigration detainer, civil immigration (administrative) warrant or request for assistance with civil immigration enforcement received in {}. The agency certifies that none was received in this period.</div>",
            report.period
        );
    }
    for class in [
        Class::Detainer,
        Class::CivilWarrant,
        Class::Assistance,
        Class::Judicial,
        Class::VictimServices,
    ] {
        section(&mut h, report, class);
    }
    corrections(&mut h, report);
    method(&mut h, report);
    h.push_str("</body></html>\n");
    h
}

fn title(report: &Report) -> String {
    match report.kind {
        ReportKind::TrustAct => format!(
            "Illinois TRUST Act report for {} (5 ILCS 805/25)",
            report.period
        ),
        ReportKind::ChicagoQuarterly => format!(
            "Welcoming City Ordinance quarterly report, {} (MCC 2-173)",
            report.period
        ),
    }
}

fn duty(report: &Report) -> String {
    let text = match report.kind {
        ReportKind::TrustAct => "Under the Illinois TRUST Act, 5 ILCS 805/25, every law enforcement agency reports to the Illinois Attorney General by March 1 each year every request from federal immigration authorities for assistance with civil immigration enforcement, and how it was handled, and every immigration detainer or civil immigration warrant it received: the date received, the date and time bail was posted, whether the person was released or transferred, when, and to whom. An agency that received none certifies so. Under 5 ILCS 805/15 an agency does not detain anyone on a detainer or civil immigration warrant.",
        ReportKind::ChicagoQuarterly => "Under the Welcoming City Ordinance (Municipal Code of Chicago chapter 2-173), the City does not take part in civil immigration enforcement: it does not arrest or detain anyone on an immigration detainer or an administrative warrant, including one entered in NCIC, and does not answer immigration agents' questions about custody status, release dates or contact information (MCC 2-173-020(a)). The Police Department reports each quarter to the Mayor and the Inspector General each detainer and administrative warrant received (CPD Special Order S06-14-03: I-200, I-205 and NCIC Immigration Violator File hits), the date received, and whether the person was transferred to a federal agency and which one, together with the requests for civil immigration assistance received.",
    };
    format!(
        "<p>{}</p><p class=\"note\">No personal information is included: each person appears only as the agency's internal reference. Dates and times are local, as on the paperwork.</p>",
        esc(text)
    )
}

fn totals(h: &mut String, report: &Report) {
    let t = &report.totals;
    // The keys are the fields of `Totals`, so a figure a reader sees can be checked.
    let rows: [(&str, &str, u64); 18] = [
        ("requests", "Requests received in the period", t.requests),
        ("detainers", "Immigration detainers (I-247A)", t.detainers),
        (
            "civil_warrants",
            "Civil immigration (administrative) warrants and NCIC Immigration Violator hits",
            t.civil_warrants,
        ),
        (
            "assistance_requests",
            "Requests for information or assistance, administrative subpoenas, from DHS (an immigration agency asked, or was asked for)",
            t.assistance_requests,
        ),
        (
            "other_agency_requests",
            "Requests for information or assistance from other agencies (not counted under 5 ILCS 805/25)",
            t.other_agency_requests,
        ),
        ("judicial", "Judicial warrants, court orders, probable-cause determinations, judicial subpoenas", t.judicial),
        ("victim_services", "U or T visa certification requests", t.victim_services),
        (
            "court_not_recorded",
            "Judicial documents whose issuing court was not recorded (flagged below)",
            t.court_not_recorded,
        ),
        (
            "requester_not_recorded",
            "Requests that did not record whether an immigration agency asked (counted as DHS)",
            t.requester_not_recorded,
        ),
        (
            "with_conviction",
            "Requests acted on under Gov. Code 7282.5 (conviction recorded)",
            t.with_conviction,
        ),
        ("declined", "Declined", t.declined),
        ("complied", "Complied with", t.complied),
        ("released", "Person released", t.released),
        ("transferred", "Person transferred", t.transferred),
        (
            "held_criminal",
            "Person held on a criminal matter",
            t.held_criminal,
        ),
        ("not_in_custody", "Person not in custody", t.not_in_custody),
        (
            "no_outcome_yet",
            "No outcome recorded yet",
            t.no_outcome_yet,
        ),
        (
            "corrected",
            "Requests with a logged correction",
            t.corrected,
        ),
    ];
    h.push_str("<h2>Totals</h2><table>");
    for (key, label, n) in rows {
        let _ = write!(
            h,
            "<tr><th>{}</th><td class=\"num\" data-figure=\"{key}\">{n}</td></tr>",
            esc(label)
        );
    }
    h.push_str("</table>");
}

fn section(h: &mut String, report: &Report, class: Class) {
    let rows: Vec<&RequestView> = report
        .requests()
        .filter(|r| Class::of(&r.request.kind) == class)
        .collect();
    let _ = write!(h, "<h2>{} ({})</h2>", esc(class_words(class)), rows.len());
    if rows.is_empty() {
        h.push_str("<p>None received in this period.</p>");
        return;
    }
    h.push_str("<table><tr><th>Entry</th><th>Received</th><th>Document</th><th>Requesting agency</th><th>Subject reference</th><th>Asked</th><th>Response and law</th><th>Bail posted</th><th>Outcome</th><th>Held after bail</th></tr>");
    for r in rows {
        let q = &r.request;
        let mut document = q.kind.to_string();
        if !q.attached.is_empty() {
            let attached: Vec<String> = q.attached.iter().map(|a| a.to_string()).collect();
            let _ = write!(document, " with {}", attached.join(", "));
        }
        if q.has_judicial_document() {
            let _ = write!(document, "; court: {}, matter: {}", q.court, q.matter);
        }
        let conviction = conviction_words(r);
        if !conviction.is_empty() {
            let _ = write!(document, "; 7282.5 conviction: {conviction}");
        }
        for flag in row_flags(r) {
            let _ = write!(document, " [FLAG: {flag}]");
        }
        let o = r.last_outcome();
        let outcome = match o {
            None => "not yet recorded".to_owned(),
            Some(o) => {
                let to = o
                    .transferred_to
                    .as_ref()
                    .map(|t| format!(" to {} {}", t.agency, t.unit))
                    .unwrap_or_default();
                format!("{}{} on {}", o.result.words(), to.trim_end(), o.at)
            }
        };
        let corrected =
            if r.corrected_by.is_empty() && r.outcomes.iter().all(|o| o.corrected_by.is_empty()) {
                String::new()
            } else {
                " (corrected; see Corrections)".to_owned()
            };
        let _ = write!(
            h,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{} — {}</td><td>{}</td><td>{}</td><td><strong>{}</strong>: {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.index,
            esc(&corrected),
            q.received,
            esc(&document),
            esc(&q.agency),
            esc(&q.unit),
            esc(&q.subject),
            esc(&q.asks.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")),
            r.response.response.word(),
            esc(&r.response.citations.join("; ")),
            o.and_then(|o| o.bail_posted).map(|w| w.to_string()).unwrap_or_default(),
            esc(&outcome),
            esc(&held_after_bail(r)),
        );
    }
    h.push_str("</table>");
}

fn corrections(h: &mut String, report: &Report) {
    let indexes: Vec<u64> = report
        .requests()
        .flat_map(|r| std::iter::once(r.index).chain(r.outcomes.iter().map(|o| o.index)))
        .collect();
    let list: Vec<_> = report
        .register
        .corrections
        .iter()
        .filter(|c| indexes.contains(&c.of))
        .collect();
    h.push_str("<h2>Corrections</h2>");
    if list.is_empty() {
        h.push_str("<p>No entry for this period was corrected.</p>");
        return;
    }
    h.push_str("<p>Register entries are never edited or deleted. A correction is a new log entry that names the entry it corrects and why; the report uses the newest correction, and the original stays in the log.</p><table><tr><th>Correction entry</th><th>Corrects entry</th><th>Recorded</th><th>By</th><th>Reason</th><th>Originally recorded</th></tr>");
    for c in list {
        let original = report
            .requests()
            .find_map(|r| {
                if r.index == c.of {
                    Some(format!(
                        "{} received {}, {}",
                        r.original.kind,
                        r.original.received,
                        r.original_response.response.word()
                    ))
                } else {
                    r.outcomes
                        .iter()
                        .find(|o| o.index == c.of)
                        .map(|o| format!("{} on {}", o.original.result.words(), o.original.at))
                }
            })
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.index,
            c.of,
            esc(&c.recorded),
            esc(&c.by.id),
            esc(&c.reason),
            esc(&original)
        );
    }
    h.push_str("</table>");
}

fn method(h: &mut String, report: &Report) {
    let _ = write!(
        h,
        "<h2>How this report was made</h2><p>Every step of the register (a request recorded with the policy pack's answer, an outcome, a correction) is an entry in a tamper-evident transparency log, written before it was acknowledged. Before this report was made, the whole log was verified: its signed checkpoint (origin <code>{}</code>, {} entries, root hash <code>{}</code>) and every tile recomputed from the entries. The totals above were then computed twice, once from the register and once independently from the raw log entries, and they agree; a report whose counts disagreed would not have been written. Each entry number can be proved to be in the log (<code>cordon log prove</code>).</p>",
        esc(&report.log.origin),
        report.log.size,
        esc(&report.log.root)
    );
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
