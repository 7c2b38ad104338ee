//! Which column holds what: Flock's header names matched case-insensitively, or a column
//! map given on the command line (`--map reason=Purpose,org=Agency`).
use std::collections::BTreeMap;

use crate::error::AuditError;

/// The fields the audit reads. Everything else is carried through verbatim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Reason,
    Org,
    Time,
    Networks,
    Devices,
    Case,
    Name,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Reason,
        Field::Org,
        Field::Time,
        Field::Networks,
        Field::Devices,
        Field::Case,
        Field::Name,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Field::Reason => "reason",
            Field::Org => "org",
            Field::Time => "time",
            Field::Networks => "networks",
            Field::Devices => "devices",
            Field::Case => "case",
            Field::Name => "name",
        }
    }

    /// The header Flock's network and organization audit exports use.
    pub fn flock_header(self) -> &'static str {
        match self {
            Field::Reason => "reason",
            Field::Org => "org name",
            Field::Time => "search time",
            Field::Networks => "total networks searched",
            Field::Devices => "total devices searched",
            Field::Case => "case #",
            Field::Name => "name",
        }
    }

    fn from_key(k: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == k)
    }
}

/// A user's column map: field → column name.
#[derive(Clone, Debug, Default)]
pub struct ColumnMap(BTreeMap<Field, String>);

impl ColumnMap {
    /// Parses `reason=COL,agency=COL` items (each `--map` value may hold several).
    pub fn parse(items: &[String]) -> Result<ColumnMap, AuditError> {
        let mut map = BTreeMap::new();
        for item in items.iter().flat_map(|s| s.split(',')) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| AuditError::BadMap(item.to_string()))?;
            let key = k.trim().to_ascii_lowercase();
            let key = if key == "agency" {
                "org".to_string()
            } else {
                key
            };
            let field =
                Field::from_key(&key).ok_or_else(|| AuditError::BadMap(item.to_string()))?;
            map.insert(field, v.trim().to_string());
        }
        Ok(ColumnMap(map))
    }

    pub fn get(&self, f: Field) -> Option<&str> {
        self.0.get(&f).map(String::as_str)
    }
}

/// Normalizes a header cell: trims, drops a byte-order mark, lowercases.
pub fn normalize_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}').trim().to_lowercase()
}

/// Field → column index for one file's header.
#[derive(Clone, Debug, Default)]
pub struct Resolved(BTreeMap<Field, usize>);

impl Resolved {
    /// Finds each field's column: the map's name if given, else Flock's name.
    pub fn resolve(header: &[String], map: &ColumnMap) -> Resolved {
        let norm: Vec<String> = header.iter().map(|h| normalize_header(h)).collect();
        let mut out = BTreeMap::new();
        for f in Field::ALL {
            let wanted = map
                .get(f)
                .map(normalize_header)
                .unwrap_or_else(|| f.flock_header().to_string());
            if let Some(i) = norm.iter().position(|h| *h == wanted) {
                out.insert(f, i);
            }
        }
        Resolved(out)
    }

    pub fn index(&self, f: Field) -> Option<usize> {
        self.0.get(&f).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cols: &[&str]) -> Vec<String> {
        cols.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flock_headers_match_case_insensitively_and_through_a_bom() {
        let h = header(&[
            "\u{feff}ID",
            "NAME",
            "org name ",
            "Reason",
            "Case #",
            "Search Time",
        ]);
        let r = Resolved::resolve(&h, &ColumnMap::default());
        assert_eq!(r.index(Field::Reason), Some(3));
        assert_eq!(r.index(Field::Org), Some(2));
        assert_eq!(r.index(Field::Name), Some(1));
        assert_eq!(r.index(Field::Devices), None);
    }

    #[test]
    fn a_column_map_overrides_and_agency_means_org() {
        let m = ColumnMap::parse(&["reason=Purpose,agency=Dept".to_string()]).unwrap();
        let r = Resolved::resolve(&header(&["Dept", "purpose"]), &m);
        assert_eq!(r.index(Field::Reason), Some(1));
        assert_eq!(r.index(Field::Org), Some(0));
        assert!(ColumnMap::parse(&["reason".to_string()]).is_err());
        assert!(ColumnMap::parse(&["colour=x".to_string()]).is_err());
    }
}
