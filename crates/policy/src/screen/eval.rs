//! Scoring the screener against labelled reasons: precision, recall and the disagreements.

use super::{FlagKind, Screener};
use std::fmt;

/// A label from a labelled-reasons file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Immigration,
    NotImmigration,
    /// Needs a human; scored against its `lean=` note only when that note is IMM or NOT.
    Ambiguous(Option<bool>),
}

/// One labelled reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labeled {
    pub label: Label,
    pub text: String,
}

/// A line of a labelled file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct LabeledError {
    pub line: usize,
    pub problem: String,
}

/// Reads `LABEL <TAB> reason [<TAB> provenance <TAB> note]` lines; `#` starts a comment.
pub fn parse_labeled(text: &str) -> Result<Vec<Labeled>, LabeledError> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cells = line.split('\t');
        let label = cells.next().unwrap_or_default();
        let reason = cells.next().ok_or_else(|| LabeledError {
            line: index + 1,
            problem: "no tab-separated reason after the label".into(),
        })?;
        let note = cells.nth(1).unwrap_or_default();
        let label = match label {
            "IMMIGRATION" => Label::Immigration,
            "NOT_IMMIGRATION" => Label::NotImmigration,
            "AMBIGUOUS" => Label::Ambiguous(lean(note)),
            other => {
                return Err(LabeledError {
                    line: index + 1,
                    problem: format!(
                        "unknown label {other:?}: use IMMIGRATION, NOT_IMMIGRATION or AMBIGUOUS"
                    ),
                })
            }
        };
        rows.push(Labeled {
            label,
            text: reason.to_owned(),
        });
    }
    Ok(rows)
}

fn lean(note: &str) -> Option<bool> {
    if note.contains("lean=IMM") {
        Some(true)
    } else if note.contains("lean=NOT") {
        Some(false)
    } else {
        None
    }
}

/// Counts over the clearly labelled rows, and separately over ambiguous rows with a lean.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub true_positive: usize,
    pub false_positive: usize,
    pub false_negative: usize,
    pub true_negative: usize,
    pub lean_agree: usize,
    pub lean_total: usize,
    pub disagreements: Vec<String>,
}

impl Report {
    pub fn precision(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Screens every row and compares the presence of a `kind` flag with the label.
pub fn score(screener: &Screener, rows: &[Labeled], kind: FlagKind) -> Report {
    let mut report = Report::default();
    for row in rows {
        let flagged = screener.screen(&row.text).has(kind);
        let expected = match row.label {
            Label::Immigration => true,
            Label::NotImmigration => false,
            Label::Ambiguous(lean) => {
                if let Some(lean) = lean {
                    report.lean_total += 1;
                    report.lean_agree += usize::from(lean == flagged);
                }
                continue;
            }
        };
        match (expected, flagged) {
            (true, true) => report.true_positive += 1,
            (false, false) => report.true_negative += 1,
            (true, false) => report.false_negative += 1,
            (false, true) => report.false_positive += 1,
        }
        if expected != flagged {
            let what = if flagged { "false positive" } else { "missed" };
            report.disagreements.push(format!("{what}: {}", row.text));
        }
    }
    report
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "precision {:.3}  recall {:.3}  (tp {} fp {} fn {} tn {})",
            self.precision(),
            self.recall(),
            self.true_positive,
            self.false_positive,
            self.false_negative,
            self.true_negative
        )?;
        writeln!(
            f,
            "ambiguous rows with a lean: {} of {} agree",
            self.lean_agree, self.lean_total
        )?;
        for line in &self.disagreements {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}
