//! The report's sections on what an export does not say: reasons that give no purpose
//! (overall and per organization), Flock's own moderation verdicts, what each column
//! withheld, and the anomaly signals that show where to look when reasons say nothing.
use std::fmt::Write as _;

use crate::cells::ReasonState;
use crate::html::{esc, num, pct, unit};
use crate::summary::{Counts, FileReport, Summary};

/// Organizations listed in the per-organization table of vague reasons.
const VAGUE_ORGS: usize = 30;

fn capitalized(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub fn vague_section(h: &mut String, s: &Summary) {
    h.push_str("<h2>Reasons that give no checkable purpose</h2>\n");
    let _ = writeln!(
        h,
        "<p><span data-figure=\"reason_says_nothing\">{}</span> of {} {} ({}) give no checkable reason.</p>",
        num(s.reason_says_nothing),
        num(s.rows),
        unit(s),
        pct(s.reason_says_nothing, s.rows)
    );
    let _ = writeln!(
        h,
        "<table id=\"reason-states\"><tr><th>The reason is</th><th>{}</th><th>Share</th></tr>",
        capitalized(unit(s))
    );
    for st in ReasonState::ALL {
        let n = s.reason_states.get(st.key()).copied().unwrap_or(0);
        let _ = writeln!(
            h,
            "<tr data-state=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            st.key(),
            esc(st.label()),
            num(n),
            pct(n, s.rows)
        );
    }
    h.push_str("</table>\n");
    let mut orgs: Vec<(&String, &Counts)> = s.by_org.iter().collect();
    orgs.sort_by(|a, b| {
        b.1.reason_says_nothing
            .cmp(&a.1.reason_says_nothing)
            .then_with(|| a.0.cmp(b.0))
    });
    let _ = writeln!(
        h,
        "<h3>By organization (most {u} without a checkable reason first)</h3>\n<table id=\"vague-by-org\"><tr><th>Organization</th><th>{}</th><th>No checkable reason</th><th>Share</th></tr>",
        capitalized(unit(s)),
        u = unit(s)
    );
    for (org, c) in orgs.iter().take(VAGUE_ORGS) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(org),
            num(c.rows),
            num(c.reason_says_nothing),
            pct(c.reason_says_nothing, c.rows)
        );
    }
    h.push_str("</table>\n");
}

pub fn moderation_section(h: &mut String, s: &Summary) {
    let m = &s.moderation;
    h.push_str("<h2>Flock's own screening (Moderation)</h2>\n");
    if m.rows == 0 {
        h.push_str("<p>These exports have no Moderation column.</p>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<p>Of {} {} in files with a Moderation column: <span data-figure=\"moderation_allowed\">{}</span> allowed, <span data-figure=\"moderation_warned\">{}</span> warned, <span data-figure=\"moderation_blocked\">{}</span> blocked, {} with no verdict{}.</p>",
        num(m.rows),
        unit(s),
        num(m.allowed),
        num(m.warned),
        num(m.blocked),
        num(m.blank),
        if m.other > 0 {
            format!(", {} with a verdict Cordon does not know", num(m.other))
        } else {
            String::new()
        }
    );
    let u = unit(s);
    for (verdict, list, id) in [
        ("blocked", &m.blocked_reasons, "blocked-reasons"),
        ("warned", &m.warned_reasons, "warned-reasons"),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<h3>Reasons of {verdict} {u}</h3>\n<table id=\"{id}\"><tr><th>{}</th><th>Stated reason</th></tr>",
            capitalized(u)
        );
        for (reason, n) in list {
            let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", num(*n), esc(reason));
        }
        h.push_str("</table>\n");
    }
}

pub fn columns_section(h: &mut String, files: &[FileReport]) {
    h.push_str("<h2>What each column withheld</h2>\n<p>Blank cells, masked cells (<code>***</code>, <code>REDACTED</code>) and values that could not be read, per column of each file. Columns Cordon does not understand are marked; their cells are carried into flagged.csv unread.</p>\n");
    for f in files.iter().filter(|f| !f.columns.is_empty()) {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<table class=\"columns\"><tr><th>Column</th><th>Read as</th><th>Blank</th><th>Masked</th><th>Unreadable</th></tr>",
            esc(&f.path)
        );
        for c in &f.columns {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.column),
                c.field.map_or("<em>not understood</em>".to_string(), esc),
                cell(c.empty, f.rows),
                cell(c.redacted, f.rows),
                cell(c.unreadable, f.rows)
            );
        }
        h.push_str("</table>\n");
    }
}

fn cell(n: u64, rows: u64) -> String {
    if n == 0 {
        "0".to_string()
    } else {
        format!("{} ({})", num(n), pct(n, rows))
    }
}

pub fn anomalies_section(h: &mut String, s: &Summary) {
    h.push_str("<h2>Where to look when reasons say nothing</h2>\n<p>Signals, not findings: searches far outside what is usual for the same organization or user. Each compares it with itself: <strong>off hours</strong> are hours of the day (UTC) in which it runs under 1% of its searches (judged once it has 100 timed searches); <strong>reach</strong> is a search covering at least 16 times the networks of its median search and at least 128 networks; a <strong>burst</strong> is an hour with at least 10 searches and at least 5 times its median active hour. A night shift, a regional manhunt or an automated lookup explains many; a vague reason on an unusual search is where to ask.</p>\n");
    if !s.bursts_complete {
        h.push_str("<p class=\"warn\">The audit tracked hourly counts for its first million (organization or user, hour) pairs; bursts after that were not judged.</p>\n");
    }
    if s.anomalies.is_empty() {
        h.push_str("<p>No signals.</p>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<table id=\"anomalies\"><tr><th>Signal</th><th>Who</th><th>{}</th><th>What is unusual</th></tr>",
        if unit(s) == "rows" { "Rows" } else { "Searches" }
    );
    for a in &s.anomalies {
        let kind = match a.kind {
            "off_hours" => "off hours",
            "reach" => "reach",
            _ => "burst",
        };
        let _ = writeln!(
            h,
            "<tr data-kind=\"{}\"><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.kind,
            esc(&a.who),
            num(a.searches),
            esc(&a.detail)
        );
    }
    h.push_str("</table>\n");
}
