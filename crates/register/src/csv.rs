//! The report as CSV (RFC 4180): one row per request received in the period, with the
//! columns the reporting laws ask for, and no personal information.

use crate::report::{class_words, conviction_words, held_after_bail, row_flags, Report};
use crate::totals::Class;

pub const HEADER: [&str; 23] = [
    "log_index",
    "received",
    "class",
    "document",
    "attached",
    "requesting_agency",
    "requesting_unit",
    "subject_reference",
    "asks",
    "response",
    "citation",
    "bail_posted",
    "outcome",
    "outcome_at",
    "transferred_to",
    "held_after_bail",
    "corrected_by",
    // Added with the register's version 2; appended so existing columns keep their places.
    "on_behalf_of",
    "from_dhs",
    "court",
    "matter",
    "conviction_7282_5",
    "flags",
];

pub fn render(report: &Report) -> String {
    let mut out = line(HEADER.iter().map(|s| s.to_string()));
    for r in report.requests() {
        let q = &r.request;
        let o = r.last_outcome();
        let join = |v: Vec<String>| v.join("; ");
        out.push_str(&line([
            r.index.to_string(),
            q.received.to_string(),
            class_words(Class::of(&q.kind)).to_owned(),
            q.kind.to_string(),
            join(q.attached.iter().map(|a| a.to_string()).collect()),
            q.agency.clone(),
            q.unit.clone(),
            q.subject.clone(),
            join(q.asks.iter().map(|a| a.to_string()).collect()),
            r.response.response.word().to_owned(),
            join(r.response.citations.clone()),
            o.and_then(|o| o.bail_posted)
                .map(|w| w.to_string())
                .unwrap_or_default(),
            o.map(|o| o.result.word().to_owned()).unwrap_or_default(),
            o.map(|o| o.at.to_string()).unwrap_or_default(),
            o.and_then(|o| o.transferred_to.as_ref())
                .map(|t| {
                    if t.unit.is_empty() {
                        t.agency.clone()
                    } else {
                        format!("{} ({})", t.agency, t.unit)
                    }
                })
                .unwrap_or_default(),
            held_after_bail(r),
            join(corrections(r)),
            q.on_behalf_of.clone().unwrap_or_default(),
            if r.from_dhs() { "yes" } else { "no" }.to_owned(),
            q.court.to_string(),
            q.matter.to_string(),
            conviction_words(r),
            join(row_flags(r).into_iter().map(str::to_owned).collect()),
        ]));
    }
    out
}

fn corrections(r: &crate::view::RequestView) -> Vec<String> {
    r.corrected_by
        .iter()
        .chain(r.outcomes.iter().flat_map(|o| o.corrected_by.iter()))
        .map(u64::to_string)
        .collect()
}

fn line(cells: impl IntoIterator<Item = String>) -> String {
    let cells: Vec<String> = cells.into_iter().map(|c| cell(&c)).collect();
    format!("{}\r\n", cells.join(","))
}

fn cell(text: &str) -> String {
    // A leading = + - @ would make a spreadsheet run the cell as a formula.
    let guarded = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}
