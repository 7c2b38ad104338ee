//! report.html: one self-contained page (no scripts, no network) that a person who is not
//! an engineer can read: what was read, what was found, charts, the reasons with the
//! words that triggered them highlighted, and the method with its limits.
use std::fmt::Write as _;

use crate::summary::{Counts, Summary, TopReason};

/// Organizations shown in the by-agency chart.
const CHART_ORGS: usize = 15;

pub fn render(s: &Summary) -> String {
    let mut h = String::with_capacity(32 * 1024);
    h.push_str(HEAD);
    h.push_str("<h1>Audit of exported search logs</h1>\n");
    warnings_section(&mut h, s);
    read_section(&mut h, s);
    found_section(&mut h, s);
    org_chart(&mut h, s);
    month_chart(&mut h, s);
    reasons_section(&mut h, &s.top_reasons, unit(s));
    crate::html_more::vague_section(&mut h, s);
    crate::html_more::moderation_section(&mut h, s);
    crate::html_more::columns_section(&mut h, &s.files);
    crate::html_more::anomalies_section(&mut h, s);
    h.push_str(METHOD);
    h.push_str("</body></html>\n");
    h
}

pub(crate) fn esc(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub(crate) fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first thing a reader sees: whether the audit understood the files, and that the
/// counts are a lower bound.
fn warnings_section(h: &mut String, s: &Summary) {
    // Every file's warnings, each already prefixed with its file, and those of no one
    // file (a folder's other files, a sheet not read, a file named twice).
    // And rows that could not be read at all: they are not in any figure below.
    let unread: Vec<String> = s
        .files
        .iter()
        .filter(|f| !f.errors.is_empty())
        .map(|f| {
            format!(
                "{}: {} problem(s) reading it, and the rows involved are in no figure below; the first: {}",
                f.path,
                f.errors.len(),
                f.errors[0]
            )
        })
        .collect();
    if !s.warnings.is_empty() || !unread.is_empty() {
        h.push_str("<div id=\"warnings\" class=\"warn\"><strong>Read this first: Cordon did not fully understand or did not read all of what it was given, so some figures below are incomplete.</strong><ul>\n");
        for w in unread.iter().chain(&s.warnings) {
            let _ = writeln!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></div>\n");
    }
    let nothing = s.reason_says_nothing;
    let _ = writeln!(
        h,
        "<p id=\"lower-bound\" class=\"note\"><strong>The immigration counts below are a lower bound.</strong> They count searches whose exported reason or searching agency says immigration. {} of {} {} ({}) give no checkable reason (blank, masked, a filler, a case number or generic words such as \"investigation\"); a search run for immigration under such a reason cannot be seen this way.</p>",
        num(nothing),
        num(s.rows),
        unit(s),
        pct(nothing, s.rows)
    );
}

pub(crate) fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn read_section(h: &mut String, s: &Summary) {
    h.push_str("<h2>What was read</h2>\n<table><tr><th>File</th><th>Layout</th><th>Rows</th><th>Flagged</th><th>Problems</th></tr>\n");
    for f in &s.files {
        let problems = if f.errors.is_empty() {
            "none".to_string()
        } else {
            f.errors
                .iter()
                .map(|e| esc(e))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let mut about = esc(&f.path);
        if let Some(v) = &f.verified {
            let _ = write!(about, "<br><small>Verified: {}</small>", esc(v));
        }
        if f.other_entries > 0 {
            let _ = write!(
                about,
                "<br><small>{} other log entries (not access decisions) were not screened</small>",
                num(f.other_entries)
            );
        }
        if !f.absent_fields.is_empty() {
            let _ = write!(
                about,
                "<br><small>Not in this export (withheld or not exported): {}</small>",
                esc(&f.absent_fields.join(", "))
            );
        }
        let layout = if f.layout.is_empty() {
            &f.format
        } else {
            &f.layout
        };
        let _ = writeln!(
            h,
            "<tr><td>{about}</td><td>{}</td><td>{}</td><td>{}</td><td>{problems}</td></tr>",
            esc(layout),
            num(f.rows),
            num(f.flagged)
        );
    }
    h.push_str("</table>\n");
}

/// What a row-based figure counts: "searches" while every row is its own search, "rows"
/// once some rows repeat a search (the tiles then give distinct searches).
pub(crate) fn unit(s: &Summary) -> &'static str {
    if s.searches.repeated_rows > 0 {
        "rows"
    } else {
        "searches"
    }
}

fn figure(h: &mut String, key: &str, value: u64, label: &str) {
    let _ = writeln!(
        h,
        "<div class=\"fig\"><span class=\"n\" data-figure=\"{key}\">{}</span><span>{label}</span></div>",
        num(value)
    );
}

/// A reach figure, or a plain statement that the export does not say.
/// Said when some flagged rows gave no count, so the sum leaves them out.
fn lower_bound(known: u64, flagged: u64, unit: &str) -> String {
    if known < flagged {
        format!(
            "; at least this many: only {} of the {} flagged {unit} gave a readable count",
            num(known),
            num(flagged)
        )
    } else {
        String::new()
    }
}

fn reach(h: &mut String, key: &str, known: u64, value: u64, label: &str) {
    if known == 0 {
        let _ = writeln!(h, "<div class=\"fig\"><span class=\"n\">—</span><span>{label}: not in these exports</span></div>");
    } else {
        figure(h, key, value, label);
    }
}

fn found_section(h: &mut String, s: &Summary) {
    h.push_str("<h2>What was found</h2>\n");
    let d = &s.searches;
    if d.repeated_rows > 0 || d.rows_without_id < d.rows {
        let _ = writeln!(
            h,
            "<p id=\"distinct\">{} rows are <span data-figure=\"distinct\">{}</span> distinct searches: {} rows repeat a search already read (united by search id across all files), {} rows have no search id and count as a search each. Flagged, as distinct searches: {} with an immigration reason, {} by immigration agencies, {} side-door.</p>",
            num(d.rows),
            num(d.distinct),
            num(d.repeated_rows),
            num(d.rows_without_id),
            num(d.immigration),
            num(d.immigration_agency),
            num(d.side_door)
        );
    }
    h.push_str("<div class=\"figs\">\n");
    figure(
        h,
        "rows",
        s.rows,
        "rows read (a search can appear in several rows)",
    );
    // Distinct searches, however many rows repeat one.
    figure(
        h,
        "immigration",
        d.immigration,
        "searches whose stated reason (or search prompt, filters or case number, where exported) reads as immigration enforcement",
    );
    figure(
        h,
        "immigration_agency",
        d.immigration_agency,
        "searches run by federal immigration agencies (ICE, HSI, ERO, CBP, Border Patrol, USCIS)",
    );
    figure(
        h,
        "side_door",
        d.side_door,
        "“side door” searches: another agency searching with an immigration reason",
    );
    let summed = if d.repeated_rows > 0 {
        ", summed over rows (a search in several rows counts in each; a network two searches reached counts twice)"
    } else {
        ", summed over searches (a network two searches reached counts twice)"
    };
    let r = &s.reach;
    let unit = unit(s);
    reach(
        h,
        "networks_flagged",
        r.networks_known,
        r.networks_flagged,
        &format!(
            "camera networks reached by flagged searches{summed}{}",
            lower_bound(r.networks_known_flagged, r.flagged_rows, unit)
        ),
    );
    reach(
        h,
        "devices_flagged",
        r.devices_known,
        r.devices_flagged,
        &format!(
            "cameras reached by flagged searches{summed}{}",
            lower_bound(r.devices_known_flagged, r.flagged_rows, unit)
        ),
    );
    h.push_str("</div>\n");
}

fn bar_chart(h: &mut String, id: &str, title: &str, bars: &[(String, u64)]) {
    let _ = writeln!(h, "<h2>{}</h2>", esc(title));
    if bars.is_empty() {
        h.push_str("<p>No flagged searches.</p>\n");
        return;
    }
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1);
    let row = 26;
    let height = bars.len() * row + 10;
    let _ = writeln!(h, "<svg id=\"{id}\" role=\"img\" aria-label=\"{}\" width=\"860\" height=\"{height}\" viewBox=\"0 0 860 {height}\">", esc(title));
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = i * row + 5;
        let w = (*n as f64 / max as f64 * 440.0).max(1.0);
        let _ = writeln!(
            h,
            "<g data-label=\"{l}\" data-value=\"{n}\"><text x=\"0\" y=\"{ty}\" class=\"lbl\">{l}</text><rect x=\"330\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" class=\"bar\"/><text x=\"{tx:.1}\" y=\"{ty}\">{v}</text></g>",
            l = esc(&truncate(label, 44)),
            ty = y + 14,
            tx = 336.0 + w,
            v = num(*n)
        );
    }
    h.push_str("</svg>\n");
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}…")
    }
}

fn org_chart(h: &mut String, s: &Summary) {
    let mut orgs: Vec<(&String, &Counts)> =
        s.by_org.iter().filter(|(_, c)| c.flagged.any > 0).collect();
    orgs.sort_by(|a, b| {
        b.1.flagged
            .any
            .cmp(&a.1.flagged.any)
            .then_with(|| a.0.cmp(b.0))
    });
    let bars: Vec<(String, u64)> = orgs
        .iter()
        .take(CHART_ORGS)
        .map(|(o, c)| ((*o).clone(), c.flagged.any))
        .collect();
    let title = format!("Flagged {} by agency", unit(s));
    bar_chart(h, "by-org", &title, &bars);
}

fn month_chart(h: &mut String, s: &Summary) {
    let bars: Vec<(String, u64)> = s
        .by_month
        .iter()
        .filter(|(_, c)| c.flagged.any > 0)
        .map(|(m, c)| (m.clone(), c.flagged.any))
        .collect();
    let title = format!("Flagged {} by month", unit(s));
    bar_chart(h, "by-month", &title, &bars);
}

fn highlighted(r: &TopReason) -> String {
    let mut out = String::new();
    let mut at = 0usize;
    let mut spans = r.terms.clone();
    spans.sort();
    for (a, b) in spans {
        let (a, b) = (a as usize, b as usize);
        if a < at
            || b > r.reason.len()
            || !r.reason.is_char_boundary(a)
            || !r.reason.is_char_boundary(b)
        {
            continue;
        }
        out.push_str(&esc(&r.reason[at..a]));
        let _ = write!(out, "<mark>{}</mark>", esc(&r.reason[a..b]));
        at = b;
    }
    out.push_str(&esc(r.reason.get(at..).unwrap_or("")));
    out
}

fn reasons_section(h: &mut String, reasons: &[TopReason], unit: &str) {
    // Counted per row: where rows repeat a search, the column says so.
    let heading = if unit == "rows" { "Rows" } else { "Searches" };
    let _ = writeln!(h, "<h2>Most frequent flagged reasons</h2>\n<p>The highlighted words are what the screening read as immigration enforcement.</p>\n<table id=\"reasons\"><tr><th>{heading}</th><th>Stated reason</th></tr>");
    for r in reasons {
        let _ = writeln!(
            h,
            "<tr><td data-count=\"{}\">{}</td><td>{}</td></tr>",
            r.count,
            num(r.count),
            highlighted(r)
        );
    }
    h.push_str("</table>\n");
}

const HEAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cordon audit report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.7em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:.8em}
.fig{border:1px solid #ddd;border-radius:6px;padding:.7em}.fig .n{display:block;font-size:1.9em;font-weight:600}
.warn{border:2px solid #b26b00;background:#fff6e5;padding:.6em 1em;border-radius:6px}.note{background:#f3f3f3;padding:.6em 1em;border-radius:6px}
.bar{fill:#8a1c1c}.lbl{font-size:13px}svg text{font-size:13px;fill:#1b1b1b}
mark{background:#ffe08a;padding:0 .1em}
</style></head><body>
"#;

const METHOD: &str = r#"<h2>How this was done, and its limits</h2>
<ul>
<li>Every row of every file was read. Each stated reason, and a search's prompt, filters and case number where the export has them, was screened by Cordon's reason classifier (a case number that reads as immigration is shown after the reason, as "| case:"). The classifier looks for words and abbreviations of immigration enforcement (ICE, ERO, HSI, CBP, Border Patrol, 287(g), immigration form numbers such as I-247A or I-200, and Spanish terms), tolerating case, punctuation and common misspellings, and ignoring look-alikes such as "police", "black ice" or "U visa certification". The classifier is deterministic: the same reason always gives the same answer, and every flag shows the words that caused it.</li>
<li>An agency counts as a federal immigration agency when its name says so (for example "Immigration and Customs Enforcement", "HSI", "Border Patrol").</li>
<li>A "side door" search is one by any other agency whose stated reason reads as immigration enforcement, for example a local police search with the reason "assist ICE".</li>
<li>Limits: the audit can only read what the export says. A search run for immigration enforcement under a vague reason ("investigation", "other") cannot be seen this way, so these counts are a floor, not a total. Masked values ("***", "REDACTED") are counted per column, never guessed at. Reviewing the flagged rows in flagged.csv by hand is recommended before publishing.</li>
<li>A reason "gives no checkable purpose" when it is blank, masked, a filler ("n/a", "-", "test"), only a case number, or only generic words ("investigation", "inv", "criminal investigation", "other - not applicable", "agency assist"). One specific word ("stolen", "warrant", "missing") makes it a stated purpose, true or not.</li>
<li>Times are read as UTC, as Flock writes them. "Usual hours" and bursts compare an organization or user with itself, so they do not depend on its time zone.</li>
<li>The machine-readable findings are in summary.json; every flagged row, with all its original columns, is in flagged.csv.</li>
<li id="flagged-csv-warning">flagged.csv keeps every cell exactly as the export had it, so it stays evidence. A spreadsheet may run a cell that begins with =, +, - or @ as a formula: open it as text (in a spreadsheet, import it with every column set to Text) rather than by double-clicking.</li>
</ul>
"#;
