//! What a file's columns held, and what the reader must be told before trusting the
//! figures: a key column (time, organization, reason) that is absent or unreadable, values
//! of a known column that do not parse, columns Cordon does not understand, fields the
//! export withheld.
use crate::columns::{fold_header, Field, Resolved};
use crate::rows::CellTally;
use crate::summary::{ColumnReport, FileReport};

/// Fields a full Flock export carries; those missing from a file are named as absent.
const FULL_EXPORT: [Field; 8] = [
    Field::Id,
    Field::User,
    Field::Org,
    Field::Time,
    Field::Networks,
    Field::Plate,
    Field::Reason,
    Field::Case,
];

/// The names and fields of a file's columns, for the checks.
pub struct Layout<'a> {
    pub columns: &'a Resolved,
    /// Column names (CSV header), or the JSON keys in `Field::ALL` order.
    pub names: &'a [String],
    /// JSON: one tally per field, and a field counts as present once any value was seen.
    pub json: bool,
    /// `--org`: the organization of every row of a file without an organization column.
    pub org_given: bool,
    /// `--map`: the columns the user named, checked against this file's header.
    pub map: &'a crate::columns::ColumnMap,
}

impl Layout<'_> {
    fn field_tally<'t>(&self, f: Field, t: &'t [CellTally]) -> Option<&'t CellTally> {
        let i = if self.json {
            f as usize
        } else {
            self.columns.index(f)?
        };
        t.get(i)
    }

    fn present(&self, f: Field, t: &[CellTally], rows: u64) -> bool {
        if !self.json {
            return self.columns.has(f);
        }
        self.field_tally(f, t).is_some_and(|c| c.empty < rows)
    }
}

/// Readable values in a column: rows less blanks, masks and unparsable values.
fn readable(c: &CellTally, rows: u64) -> u64 {
    rows.saturating_sub(c.empty + c.redacted + c.unreadable)
}

/// Fills the file report's columns, absent fields and warnings; returns whether a key
/// column could not be read at all.
pub fn check_file(report: &mut FileReport, l: &Layout<'_>, tally: &[CellTally]) -> bool {
    let rows = report.rows;
    let columns = column_reports(l, tally, rows);
    report.columns = columns.iter().map(|(c, _)| c.clone()).collect();
    report.absent_fields = FULL_EXPORT
        .iter()
        .filter(|f| !l.present(**f, tally, rows))
        .filter(|f| !(**f == Field::Reason && l.present(Field::Offense, tally, rows)))
        .map(|f| f.label())
        .collect();
    if !l.json {
        report.unmapped_columns = l.columns.unmapped().map(|i| l.names[i].clone()).collect();
    }
    report.warnings.extend(map_misses(l));
    let mut key_unread = false;
    for w in key_warnings(l, tally, rows)
        .into_iter()
        .chain(twin_key_columns(l))
    {
        key_unread = true;
        report.warnings.push(w);
    }
    for (c, sample) in &columns {
        if c.unreadable > 0 && c.field.is_some() {
            report.warnings.push(format!(
                "{} value(s) of column {:?} could not be read as {} (for example {:?}); they count as unknown",
                c.unreadable,
                c.column,
                c.field.unwrap_or("a value"),
                sample.as_deref().unwrap_or("")
            ));
        }
    }
    if !report.unmapped_columns.is_empty() {
        report.warnings.push(format!(
            "columns Cordon does not understand, carried into flagged.csv but not read: {}",
            report.unmapped_columns.join(", ")
        ));
    }
    key_unread
}

fn column_reports(
    l: &Layout<'_>,
    tally: &[CellTally],
    rows: u64,
) -> Vec<(ColumnReport, Option<String>)> {
    let mut out = Vec::new();
    for (i, t) in tally.iter().enumerate() {
        let field = if l.json {
            Some(Field::ALL[i])
        } else {
            l.columns.field_of(i)
        };
        if l.json && t.empty >= rows {
            continue;
        }
        let report = ColumnReport {
            column: l.names.get(i).cloned().unwrap_or_default(),
            field: field.map(Field::key),
            empty: t.empty,
            redacted: t.redacted,
            unreadable: t.unreadable,
        };
        out.push((report, t.sample.clone()));
    }
    out
}

/// A warning for each key column whose name the header gives twice: only the first is
/// read, and the other may hold what the audit is for (a second reason column went
/// unscreened before this check, with exit status 0).
fn twin_key_columns(l: &Layout<'_>) -> Vec<String> {
    if l.json {
        return Vec::new();
    }
    let mut out = Vec::new();
    for f in [Field::Reason, Field::Offense, Field::Org, Field::Time] {
        let Some(read) = l.columns.index(f) else {
            continue;
        };
        let Some(name) = l.names.get(read) else {
            continue;
        };
        let folded = fold_header(name);
        let twins: Vec<String> = (0..l.names.len())
            .filter(|&j| j != read && fold_header(&l.names[j]) == folded)
            .map(|j| (j + 1).to_string())
            .collect();
        if !twins.is_empty() {
            out.push(format!(
                "the header names the {} column {name:?} more than once (columns {} and {}): only column {} was read, the other{} not; if another holds the {}, rename the columns in the header so each name is used once and choose one with --map {}=NAME",
                f.label(),
                read + 1,
                twins.join(", "),
                read + 1,
                if twins.len() == 1 { " was" } else { "s were" },
                f.label(),
                f.key(),
            ));
        }
    }
    out
}

/// A warning for each `--map` name no column of a CSV file is called (a typo would
/// otherwise leave the field unread, and the column it meant read as nothing): the
/// message names the map and the file's columns.
fn map_misses(l: &Layout<'_>) -> Vec<String> {
    if l.json {
        return Vec::new();
    }
    Field::ALL
        .iter()
        .filter(|f| !l.columns.has(**f))
        .filter_map(|f| l.map.get(*f).map(|name| (f, name)))
        .map(|(f, name)| {
            format!(
                "--map {}={name}: no column of this file is named {name:?}, so {} was not read from it; its columns are: {}",
                f.key(),
                f.label(),
                l.names.join(", ")
            )
        })
        .collect()
}

/// A warning for each key column that is absent or holds nothing readable.
fn key_warnings(l: &Layout<'_>, tally: &[CellTally], rows: u64) -> Vec<String> {
    let mut out = Vec::new();
    if rows == 0 {
        return out;
    }
    let none_readable = |f: Field| {
        l.field_tally(f, tally)
            .is_none_or(|c| readable(c, rows) == 0)
    };
    let why = |f: Field| {
        l.field_tally(f, tally).map_or(String::new(), |c| {
            format!(
                "{} blank, {} masked, {} unreadable{}",
                c.empty,
                c.redacted,
                c.unreadable,
                c.sample
                    .as_ref()
                    .map_or(String::new(), |s| format!(" such as {s:?}"))
            )
        })
    };
    let has_reason =
        l.present(Field::Reason, tally, rows) || l.present(Field::Offense, tally, rows);
    if !has_reason {
        out.push("no reason column (looked for Reason, reason, offenseType; name it with --map reason=COLUMN): no reason could be screened, so only searches by immigration agencies can be flagged".to_string());
    } else if none_readable(Field::Reason) && none_readable(Field::Offense) {
        out.push(format!(
            "the reason column holds no readable reason ({}): no reason could be screened",
            why(if l.present(Field::Reason, tally, rows) {
                Field::Reason
            } else {
                Field::Offense
            })
        ));
    }
    if !l.present(Field::Org, tally, rows) {
        if !l.org_given {
            out.push("no organization column (looked for Org Name, Org_Name, organization, agency): every search is counted under \"(no organization)\" and searches by immigration agencies cannot be told apart; if the file is one agency's (a transparency-portal audit), name it with --org NAME".to_string());
        }
    } else if none_readable(Field::Org) {
        out.push(format!(
            "the organization column holds no readable name ({})",
            why(Field::Org)
        ));
    }
    if !l.present(Field::Time, tally, rows) {
        out.push("no search-time column (looked for Search Time, Search_Time, searchDate): months, hours and bursts cannot be shown".to_string());
    } else if none_readable(Field::Time) {
        out.push(format!(
            "no search time could be read ({}): months, hours and bursts cannot be shown",
            why(Field::Time)
        ));
    }
    out
}
