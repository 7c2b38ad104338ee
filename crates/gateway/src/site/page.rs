//! The public page at `/`: the latest checkpoint, the decision counts as bar charts, and
//! how to check the log yourself. Rendered on the server from the same [`Snapshot`] that
//! `/stats.json` serves, self-contained (no scripts, fonts or images from elsewhere).
use super::stats::Tally;
use super::Snapshot;
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page shell shared by the home page and the rights pages.
pub fn shell(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{CSS}</style></head><body>\
<nav><a href=\"/\">Public record</a> · <a href=\"/rights\">Know your rights</a> · \
<a href=\"/derechos\" lang=\"es\">Conozca sus derechos</a></nav><main>{body}</main></body></html>\n",
        title = esc(title)
    )
}

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}\
main{max-width:52rem;margin:0 auto;padding:1rem}nav{background:#1b3a57;padding:.6rem 1rem}\
nav a{color:#fff}h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}\
.big{font-size:2rem;font-weight:700}.cards{display:flex;flex-wrap:wrap;gap:1rem}\
.card{background:#fff;border:1px solid #ddd;padding:.8rem 1rem;min-width:10rem}\
pre{background:#fff;border:1px solid #ddd;padding:.6rem;overflow-x:auto}\
table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}\
.allow{fill:#2e7d32}.deny{fill:#c62828}.key span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem}";

/// Words residents read instead of vocabulary words.
fn plain(key: &str) -> &str {
    match key {
        "local_police" => "Local police",
        "state_police" => "State police",
        "federal_immigration" => "Federal immigration agencies (ICE, CBP, USCIS)",
        "federal_other" => "Other federal agencies",
        "other" => "Other registered bodies",
        "unregistered" => "Unregistered agencies",
        "criminal_investigation" => "Criminal investigation",
        "traffic_enforcement" => "Traffic enforcement",
        "missing_person" => "Missing person",
        "victim_services" => "Victim services",
        "public_safety_emergency" => "Public safety emergency",
        "civil_immigration_enforcement" => "Civil immigration enforcement",
        "administrative" => "Administrative",
        "none" => "No purpose given",
        "unrecognized" => "Unrecognized purpose",
        other => other,
    }
}

/// A horizontal bar chart, one row per bucket: allowed in green, denied in red.
fn chart(id: &str, rows: &[(String, Tally)]) -> String {
    let max = rows
        .iter()
        .map(|(_, t)| t.allowed.max(t.denied))
        .max()
        .unwrap_or(0)
        .max(1);
    let row_h = 44;
    let height = row_h * rows.len().max(1) + 4;
    let mut s = format!(
        "<svg id=\"{id}\" role=\"img\" width=\"100%\" viewBox=\"0 0 640 {height}\" \
xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (key, t)) in rows.iter().enumerate() {
        let y = i * row_h;
        // Labels take the left 360 units; bars scale to the 240 after them.
        let bar = |v: u64| 8 + (v * 232 / max) as usize;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
<rect class=\"allow\" x=\"360\" y=\"{}\" height=\"14\" width=\"{}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>\
<rect class=\"deny\" x=\"360\" y=\"{}\" height=\"14\" width=\"{}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 24,
            esc(plain(key)),
            y + 6,
            bar(t.allowed) - 8,
            364 + bar(t.allowed),
            y + 18,
            t.allowed,
            y + 24,
            bar(t.denied) - 8,
            364 + bar(t.denied),
            y + 36,
            t.denied
        );
    }
    s.push_str("</svg>");
    s
}

/// The numbers behind a chart, as a table a screen reader (and the tests) can read.
fn table(group: &str, rows: &[(String, Tally)]) -> String {
    let mut s = String::from(
        "<table><tr><th></th><th>Allowed</th><th>Denied</th><th>Denied, immigration agencies</th></tr>",
    );
    for (key, t) in rows {
        let k = esc(key);
        let _ = write!(
            s,
            "<tr><td>{}</td><td data-figure=\"{group}.{k}.allowed\">{}</td>\
<td data-figure=\"{group}.{k}.denied\">{}</td>\
<td data-figure=\"{group}.{k}.immigration_denied\">{}</td></tr>",
            esc(plain(key)),
            t.allowed,
            t.denied,
            t.immigration_denied
        );
    }
    s.push_str("</table>");
    s
}

fn section(title: &str, group: &str, rows: Vec<(String, Tally)>) -> String {
    format!(
        "<h2>{}</h2><p class=\"key\"><span style=\"background:#2e7d32\"></span>allowed \
<span style=\"background:#c62828\"></span>denied</p>{}{}",
        esc(title),
        chart(&format!("by-{group}"), &rows),
        table(group, &rows)
    )
}

/// The home page.
pub fn home(snap: &Snapshot) -> String {
    let c = &snap.counts;
    let cp = &snap.checkpoint;
    let mut body = format!(
        "<h1>Who asked for data, and what was refused</h1>\
<p>Every request an officer makes for the city's public-safety data passes through this \
gateway. It checks the request against the city's sanctuary law, writes the decision to a \
public, tamper-evident log before any data moves, and refuses requests made for \
immigration enforcement. These are the counts of those decisions. They never show who \
searched, whom they searched for, or why.</p>\
<div class=\"cards\"><div class=\"card\">Decisions<div class=\"big\" data-figure=\"total\">{}</div></div>\
<div class=\"card\">Allowed<div class=\"big\" data-figure=\"allowed\">{}</div></div>\
<div class=\"card\">Denied<div class=\"big\" data-figure=\"denied\">{}</div></div>\
<div class=\"card\">Denied requests by federal immigration agencies\
<div class=\"big\" data-figure=\"immigration_denied\">{}</div></div></div>",
        c.total.allowed + c.total.denied,
        c.total.allowed,
        c.total.denied,
        c.total.immigration_denied
    );
    let rows = |m: &std::collections::BTreeMap<String, Tally>| {
        m.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>()
    };
    body.push_str(&section(
        "By kind of agency",
        "agency_kind",
        rows(&c.by_agency_kind),
    ));
    body.push_str(&section(
        "By stated purpose",
        "purpose",
        rows(&c.by_purpose),
    ));
    body.push_str(&section("By month (UTC)", "month", rows(&c.by_month)));
    body.push_str(&rules_section(snap));
    body.push_str(&changes_section(&snap.counts));
    let cosigners = if cp.cosigners.is_empty() {
        "none yet (no witnesses have cosigned this checkpoint)".to_owned()
    } else {
        esc(&cp.cosigners.join(", "))
    };
    let _ = write!(
        body,
        "<h2>The log these counts come from</h2>\
<p>Log <code>{}</code>. Its latest published checkpoint covers \
<span data-figure=\"checkpoint.size\">{}</span> entries, with root hash <code id=\"root\">{}</code>, \
seen at {}. Cosigned by: {}. The counts above cover <span data-figure=\"entries\">{}</span> \
entries, <span data-figure=\"other_entries\">{}</span> of which are not access decisions \
(federal requests, configuration reloads, notes on allows never served).</p>",
        esc(&snap.origin),
        cp.size,
        esc(&cp.root),
        esc(&cp.time),
        cosigners,
        c.entries,
        c.other_entries
    );
    body.push_str(&check_it(snap));
    shell("en", "Public record of data requests", &body)
}

/// Every rule that can refuse a request, what it stands on (state law, city ordinance, or
/// the agency's own choice, and where the law is unsettled, a question for counsel), its
/// citation and how many refusals it made: whether a refusal is the law or policy.
fn rules_section(snap: &Snapshot) -> String {
    let mut rows = String::new();
    for r in &snap.rules {
        let _ = write!(
            rows,
            "<tr data-rule=\"{}\"><td><code>{}</code></td><td data-basis=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.rule),
            esc(&r.rule),
            esc(r.basis.as_sent()),
            esc(&r.basis_words),
            esc(&r.citation),
            r.denied
        );
    }
    let c = &snap.counts;
    let unmatched: u64 = c
        .denied_by_rule
        .iter()
        .filter(|(k, _)| {
            k.ends_with(cordon_policy::compose::NO_RULE_PERMITS)
                || k.ends_with(cordon_policy::compose::NO_PACK_GOVERNS)
        })
        .map(|(_, v)| v)
        .sum();
    let retired = c
        .denied_by_rule
        .get(super::stats::RETIRED_RULE)
        .copied()
        .unwrap_or(0);
    format!(
        "<h2>Why requests are refused: the rules and what they stand on</h2>\
<p>Each rule says whether it is <b>state law</b>, a <b>city ordinance</b>, or the <b>agency's \
own choice</b> (its policy, which it may change). Where the law is unsettled, the rule takes \
the cautious answer and says it <b>needs counsel</b>. A refusal can rest on several rules.</p>\
<table id=\"rules\"><tr><th>Rule</th><th>Stands on</th><th>Law or policy</th><th>Refusals</th></tr>{rows}</table>\
<p>Refused because no rule permits them: <span data-figure=\"no_rule_permits\">{unmatched}</span>. \
Refused by rules no longer in force: <span data-figure=\"retired_rules\">{retired}</span>.</p>"
    )
}

/// When the rules in force changed, so a reader can tell which law decided when.
fn changes_section(c: &super::stats::Counts) -> String {
    if c.policy_changes == 0 {
        return "<h2>When the rules changed</h2><p id=\"policy-changes\">The rules have not changed \
while this log was kept: <span data-figure=\"policy_changes\">0</span> changes.</p>"
            .into();
    }
    let mut items = String::new();
    for ch in c.recent_policy_changes.iter().rev() {
        let packs: String = ch
            .packs
            .iter()
            .map(|l| format!("<li>{}</li>", esc(l)))
            .collect();
        let routes = match ch.route_changes {
            0 => String::new(),
            n => format!("<li>{n} route change(s)</li>"),
        };
        let _ = write!(
            items,
            "<li><time>{}</time>: from then on decided by packs <code>{}</code><ul>{packs}{routes}</ul></li>",
            esc(&ch.time),
            esc(&ch.stack_sha256)
        );
    }
    format!(
        "<h2>When the rules changed</h2><p id=\"policy-changes\">The packs or routes changed \
<span data-figure=\"policy_changes\">{}</span> times while this log was kept. Each change is an \
entry of the log, written before the new rules decided anything; every decision names the \
packs it was made under. The latest, newest first:</p><ul>{items}</ul>",
        c.policy_changes
    )
}

/// The first hash tile of a tree of `size` leaves: full, or partial while the log is small.
fn first_tile(size: u64) -> String {
    let width = size.clamp(1, cordon_log::tile::TILE_WIDTH);
    // At most TILE_WIDTH (256), so it fits a u16.
    cordon_log::tile::TileId::hashes(0, 0, width as u16).path()
}

/// The exact commands a resident or journalist runs to check the log.
fn check_it(snap: &Snapshot) -> String {
    let url = esc(&snap.public_url);
    let witnesses: String = snap
        .witness_vkeys
        .iter()
        .map(|v| format!(" \\\n  --witness '{}'", esc(v)))
        .collect();
    let quorum = snap
        .quorum
        .map(|k| format!(" \\\n  --quorum {k}"))
        .unwrap_or_default();
    let tile = first_tile(snap.checkpoint.size);
    format!(
        "<h2>Check it yourself</h2><p>You do not have to trust this page. The log is public: \
anyone can download its checkpoint and hash tiles and check, with their own computer, \
that the log only ever grew and that nothing in it was changed.</p>\
<p>Fetch the signed checkpoint and a hash tile:</p>\
<pre>curl {url}/checkpoint\ncurl -o first-tile {url}/{tile}</pre>\
<p>Verify the whole log with Cordon (it checks every tile, the log's signature and the \
witnesses' cosignatures, and remembers what it saw so a rewound or forked log is caught \
next time):</p><pre id=\"verify\">cordon verify {url} \\\n  --vkey '{}'{witnesses}{quorum}</pre>\
<p>The formats are open standards (C2SP tlog-tiles and signed notes), so any other \
implementation can check the log too. Entries themselves are not public: they name the \
officers and the people searched for.</p>",
        esc(&snap.vkey)
    )
}
