//! Which byte separates an export's fields: a comma, or the semicolon, tab or bar that a
//! spreadsheet set to another locale (or a database dump) writes instead, read off the
//! header so that a semicolon-separated release is audited rather than refused.
use crate::columns::{fold_header, Field};

/// The delimiters tried, in the order that breaks a tie: a comma first.
pub const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter under which the header's first record names the most audit fields (any
/// known synonym, or a name in `extra`: the user's `--map` names); on a tie, the one that
/// splits it into more columns; then a comma.
pub fn sniff(head: &[u8], extra: &[String]) -> u8 {
    let extra: Vec<String> = extra.iter().map(|e| fold_header(e)).collect();
    let mut best = (b',', 0usize, 0usize);
    for d in CANDIDATES {
        let cells = first_record(head, d);
        let known = cells
            .iter()
            .filter(|c| {
                let f = fold_header(c);
                Field::names_a_field(&f) || extra.contains(&f)
            })
            .count();
        if (known, cells.len()) > (best.1, best.2) {
            best = (d, known, cells.len());
        }
    }
    best.0
}

/// How the report names a delimiter.
pub fn name(d: u8) -> &'static str {
    match d {
        b',' => "commas",
        b';' => "semicolons",
        b'\t' => "tabs",
        b'|' => "vertical bars",
        _ => "an unknown byte",
    }
}

fn first_record(head: &[u8], d: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(d)
        .has_headers(false)
        .flexible(true)
        .from_reader(head);
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => record
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_semicolon_separated_header_is_read_with_semicolons() {
        assert_eq!(
            sniff(b"ID;Org Name;Reason;Search Time\n1;x;y;z\n", &[]),
            b';'
        );
    }

    #[test]
    fn a_tab_separated_header_is_read_with_tabs() {
        assert_eq!(sniff(b"id\tuserId\tsearchDate\treason\n", &[]), b'\t');
    }

    #[test]
    fn a_comma_header_whose_names_hold_semicolons_stays_comma() {
        // "Reason; free text" is one column of a comma file, not two of a semicolon one.
        assert_eq!(
            sniff(b"ID,Org Name,Reason; free text,Search Time\n", &[]),
            b','
        );
    }

    #[test]
    fn names_from_the_column_map_count_as_known() {
        let map = ["Zweck".to_string(), "Behoerde".to_string()];
        assert_eq!(sniff(b"Zweck|Behoerde|Zeit\n", &map), b'|');
        assert_eq!(sniff(b"Zweck,Behoerde,Zeit\n", &map), b',');
    }

    #[test]
    fn a_header_naming_nothing_known_is_split_where_it_splits_most() {
        assert_eq!(sniff(b"a;b;c\n", &[]), b';');
        assert_eq!(sniff(b"a\n", &[]), b',');
        assert_eq!(sniff(b"", &[]), b',');
    }
}
