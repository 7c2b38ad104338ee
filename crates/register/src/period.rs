//! The period a report covers: a calendar year (`2026`) for the TRUST Act report, a
//! quarter (`2026Q1`) for Chicago's.

use crate::error::{input, RegisterError};
use crate::when::When;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Year(i32),
    Quarter(i32, u32),
}

impl Period {
    pub fn parse_year(text: &str) -> Result<Period, RegisterError> {
        match text.parse::<i32>() {
            Ok(y) if (1970..=9999).contains(&y) && text.len() == 4 => Ok(Period::Year(y)),
            _ => Err(input(format!(
                "--year {text:?} is not a year: write it as YYYY, e.g. 2026"
            ))),
        }
    }

    pub fn parse_quarter(text: &str) -> Result<Period, RegisterError> {
        let bad = || {
            input(format!(
                "--quarter {text:?} is not a quarter: write it as YYYYQN, e.g. 2026Q1"
            ))
        };
        let (y, q) = text
            .to_ascii_uppercase()
            .split_once('Q')
            .map(|(y, q)| (y.to_owned(), q.to_owned()))
            .ok_or_else(bad)?;
        match (Period::parse_year(&y), q.parse::<u32>()) {
            (Ok(Period::Year(y)), Ok(q)) if (1..=4).contains(&q) && text.len() == 6 => {
                Ok(Period::Quarter(y, q))
            }
            _ => Err(bad()),
        }
    }

    pub fn contains(&self, when: &When) -> bool {
        match *self {
            Period::Year(y) => when.year == y,
            Period::Quarter(y, q) => when.year == y && when.quarter() == q,
        }
    }

    /// Whether a `YYYY-MM-DD...` string falls in the period, read without [`When`]: the
    /// independent count uses it.
    pub fn contains_text(&self, date: &str) -> bool {
        let year = date.get(0..4).and_then(|y| y.parse::<i32>().ok());
        let month = date.get(5..7).and_then(|m| m.parse::<u32>().ok());
        match (*self, year, month) {
            (Period::Year(y), Some(dy), _) => dy == y,
            (Period::Quarter(y, q), Some(dy), Some(m)) => dy == y && m.div_ceil(3) == q,
            _ => false,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Quarter(y, q) => write!(f, "{y}Q{q}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_and_years_parse_and_bad_ones_say_the_form() {
        assert_eq!(
            Period::parse_quarter("2026Q3").ok(),
            Some(Period::Quarter(2026, 3))
        );
        assert_eq!(Period::parse_year("2025").ok(), Some(Period::Year(2025)));
        for bad in ["2026Q5", "2026-Q1", "26Q1", "2026Q", "Q1"] {
            assert!(
                Period::parse_quarter(bad).is_err_and(|e| e.to_string().contains("YYYYQN")),
                "{bad}"
            );
        }
        assert!(Period::parse_year("20266").is_err());
    }

    #[test]
    fn the_text_reading_agrees_with_the_typed_one_on_quarter_edges() {
        let q1 = Period::Quarter(2026, 1);
        for (date, inside) in [
            ("2026-03-31", true),
            ("2026-04-01", false),
            ("2025-12-31", false),
            ("2026-01-01T00:00", true),
        ] {
            let when = When::parse(date).unwrap_or(When {
                year: 0,
                month: 1,
                day: 1,
                minute: None,
            });
            assert_eq!(
                (q1.contains(&when), q1.contains_text(date)),
                (inside, inside),
                "{date}"
            );
        }
    }
}
