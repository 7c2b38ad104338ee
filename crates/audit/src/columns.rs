//! Which column holds what. Headers are matched after folding case and dropping spaces,
//! underscores and hyphens (`Org Name`, `Org_Name`, `orgName` are one name), through a
//! table of the names every known export layout uses; a column map given on the command
//! line (`--map reason=Purpose,org=Agency`) overrides the table. Columns that match
//! nothing are named in the report, never silently dropped.
use std::collections::BTreeMap;

use crate::error::AuditError;

/// The fields the audit understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// Flock's search UUID (the same search appears in many agencies' network audits).
    Id,
    /// The account that searched (`Name`, `userId`).
    User,
    Org,
    /// When the search ran.
    Time,
    /// The period searched: one cell with a start and an end (two lines, or `A to B`).
    TimeFrame,
    TimeFrameStart,
    TimeFrameEnd,
    Networks,
    Devices,
    Plate,
    Reason,
    Case,
    /// Flock's NIBRS offense dropdown (organization audits, structured portal reasons).
    Offense,
    Filters,
    SearchType,
    TextPrompt,
    /// Flock's own screening of the search: `allow`, `warn` or `block`.
    Moderation,
}

impl Field {
    pub const ALL: [Field; 17] = [
        Field::Id,
        Field::User,
        Field::Org,
        Field::Time,
        Field::TimeFrame,
        Field::TimeFrameStart,
        Field::TimeFrameEnd,
        Field::Networks,
        Field::Devices,
        Field::Plate,
        Field::Reason,
        Field::Case,
        Field::Offense,
        Field::Filters,
        Field::SearchType,
        Field::TextPrompt,
        Field::Moderation,
    ];

    /// The key used in `--map` and in JSON inputs.
    pub fn key(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::User => "user",
            Field::Org => "org",
            Field::Time => "time",
            Field::TimeFrame => "time_frame",
            Field::TimeFrameStart => "time_frame_start",
            Field::TimeFrameEnd => "time_frame_end",
            Field::Networks => "networks",
            Field::Devices => "devices",
            Field::Plate => "plate",
            Field::Reason => "reason",
            Field::Case => "case",
            Field::Offense => "offense",
            Field::Filters => "filters",
            Field::SearchType => "search_type",
            Field::TextPrompt => "text_prompt",
            Field::Moderation => "moderation",
        }
    }

    /// What the field is, in words, for the report.
    pub fn label(self) -> &'static str {
        match self {
            Field::Id => "search id",
            Field::User => "user",
            Field::Org => "organization",
            Field::Time => "search time",
            Field::TimeFrame => "time frame",
            Field::TimeFrameStart => "time frame start",
            Field::TimeFrameEnd => "time frame end",
            Field::Networks => "networks searched",
            Field::Devices => "devices searched",
            Field::Plate => "license plate",
            Field::Reason => "reason",
            Field::Case => "case number",
            Field::Offense => "offense type",
            Field::Filters => "filters",
            Field::SearchType => "search type",
            Field::TextPrompt => "text prompt",
            Field::Moderation => "moderation",
        }
    }

    /// Header names (folded by [`fold_header`]) that mean this field in known exports.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["id", "searchid", "searchuuid", "uuid"],
            Field::User => &["name", "userid", "user", "username", "searcher", "officer"],
            Field::Org => &[
                "orgname",
                "organization",
                "organizationname",
                "org",
                "agency",
                "agencyname",
            ],
            Field::Time => &[
                "searchtime",
                "searchdate",
                "searchdatetime",
                "searchdate/time",
                "searchedat",
                "timestamp",
            ],
            Field::TimeFrame => &["timeframe"],
            Field::TimeFrameStart => &["timeframestart", "startdate", "starttime"],
            Field::TimeFrameEnd => &["timeframeend", "enddate", "endtime"],
            Field::Networks => &[
                "totalnetworkssearched",
                "networkcount",
                "networkssearched",
                "networks",
            ],
            Field::Devices => &[
                "totaldevicessearched",
                "devicecount",
                "devicessearched",
                "devices",
            ],
            Field::Plate => &["licenseplate", "plate", "platenumber"],
            Field::Reason => &["reason", "searchreason", "purpose"],
            Field::Case => &["case#", "casenumber", "caseno", "case", "case#/incident#"],
            Field::Offense => &["offensetype", "offense"],
            Field::Filters => &["filters", "filter"],
            Field::SearchType => &["searchtype", "type"],
            Field::TextPrompt => &["textprompt", "prompt"],
            Field::Moderation => &["moderation", "moderationresult"],
        }
    }

    /// Whether a folded header name is a known name of any field.
    pub fn names_a_field(folded: &str) -> bool {
        Field::ALL.iter().any(|f| f.synonyms().contains(&folded))
    }

    fn from_key(k: &str) -> Option<Field> {
        let k = fold_header(k);
        Field::ALL
            .into_iter()
            .find(|f| fold_header(f.key()) == k)
            .or(match k.as_str() {
                "agency" => Some(Field::Org),
                "name" => Some(Field::User),
                _ => None,
            })
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
            let field = Field::from_key(k).ok_or_else(|| AuditError::BadMap(item.to_string()))?;
            if let Some(first) = map.insert(field, v.trim().to_string()) {
                return Err(AuditError::MapTwice {
                    key: field.key().to_string(),
                    first,
                    second: v.trim().to_string(),
                });
            }
        }
        Ok(ColumnMap(map))
    }

    pub fn get(&self, f: Field) -> Option<&str> {
        self.0.get(&f).map(String::as_str)
    }

    /// The column names the map gives.
    pub fn names(&self) -> Vec<String> {
        self.0.values().cloned().collect()
    }

    /// The map without its dotted names, which in JSON reach into nested objects and so
    /// name no top-level key.
    pub fn top_level(&self) -> ColumnMap {
        ColumnMap(
            self.0
                .iter()
                .filter(|(_, v)| !v.contains('.'))
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        )
    }
}

/// Folds a header cell for matching: drops a byte-order mark, case, spaces, underscores,
/// hyphens and dots.
pub fn fold_header(h: &str) -> String {
    header_chars(h).collect()
}

/// Whether `cell` folds to `folded` (a name already folded by [`fold_header`]), without
/// building a string: it is asked of every row (a row that repeats the header), and most
/// cells differ from their column's name at the first letter.
pub fn folds_to(cell: &str, folded: &str) -> bool {
    let want = folded.as_bytes();
    let mut at = 0;
    for &b in cell.as_bytes() {
        if !b.is_ascii() {
            // Lowercasing beyond ASCII can change a letter's length: the general path.
            return header_chars(cell).eq(folded.chars());
        }
        if matches!(b, b' ' | b'_' | b'-' | b'.' | b'\t' | b'"') {
            continue;
        }
        // An ASCII letter folds to one ASCII byte, which can only match that byte.
        if want.get(at) != Some(&b.to_ascii_lowercase()) {
            return false;
        }
        at += 1;
    }
    at == want.len()
}

fn header_chars(h: &str) -> impl Iterator<Item = char> + '_ {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '\t' | '"'))
        .flat_map(char::to_lowercase)
}

/// Field → column index for one file's header, and the columns that matched nothing.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Field (`Field as usize`) → column: an array, as it is read several times per row.
    fields: [Option<usize>; Field::ALL.len()],
    /// For each column, the field it holds.
    by_column: Vec<Option<Field>>,
}

impl Resolved {
    /// Finds each field's column: the map's name if given, else the first column whose
    /// folded name is one of the field's synonyms.
    pub fn resolve(header: &[String], map: &ColumnMap) -> Resolved {
        let folded: Vec<String> = header.iter().map(|h| fold_header(h)).collect();
        let mut by_column = vec![None; header.len()];
        let mut fields = BTreeMap::new();
        // Mapped fields first, so a map can claim a column a synonym would give elsewhere.
        for f in Field::ALL {
            let Some(name) = map.get(f) else { continue };
            let wanted = fold_header(name);
            if let Some(i) = folded.iter().position(|h| *h == wanted) {
                fields.insert(f, i);
                by_column[i] = Some(f);
            }
        }
        for f in Field::ALL {
            if fields.contains_key(&f) || map.get(f).is_some() {
                continue;
            }
            let found = f.synonyms().iter().find_map(|s| {
                folded
                    .iter()
                    .enumerate()
                    .position(|(i, h)| h == s && by_column[i].is_none())
            });
            if let Some(i) = found {
                fields.insert(f, i);
                by_column[i] = Some(f);
            }
        }
        Resolved {
            fields: by_field(&fields),
            by_column,
        }
    }

    /// Finds each field's key in a JSON-lines record as [`Resolved::resolve`] finds a
    /// column, then, for a field still unclaimed, the key Cordon's own JSON names it by
    /// (`time`, `org`, `reason`: what a JSON-lines export was read by before).
    pub fn resolve_keys(keys: &[String], map: &ColumnMap) -> Resolved {
        let mut r = Resolved::resolve(keys, &map.top_level());
        let folded: Vec<String> = keys.iter().map(|k| fold_header(k)).collect();
        for f in Field::ALL {
            if r.has(f) || map.get(f).is_some() {
                continue;
            }
            let own = fold_header(f.key());
            if let Some(i) = (0..keys.len()).find(|&i| folded[i] == own && r.by_column[i].is_none())
            {
                r.fields[f as usize] = Some(i);
                r.by_column[i] = Some(f);
            }
        }
        r
    }

    /// Resolves the fields of a JSON input: every field is a key (or dotted path).
    pub fn all_present() -> Resolved {
        Resolved {
            fields: std::array::from_fn(Some),
            by_column: Field::ALL.iter().map(|f| Some(*f)).collect(),
        }
    }

    pub fn index(&self, f: Field) -> Option<usize> {
        self.fields[f as usize]
    }

    pub fn has(&self, f: Field) -> bool {
        self.fields[f as usize].is_some()
    }

    /// The field column `i` holds, if any.
    pub fn field_of(&self, i: usize) -> Option<Field> {
        self.by_column.get(i).copied().flatten()
    }

    /// Indexes of the columns no field claimed.
    pub fn unmapped(&self) -> impl Iterator<Item = usize> + '_ {
        self.by_column
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_none())
            .map(|(i, _)| i)
    }

    /// Whether any column holds a field the audit reads (else this is not an audit export).
    pub fn reads_anything(&self) -> bool {
        [Field::Reason, Field::Offense, Field::Org, Field::Time]
            .iter()
            .any(|f| self.has(*f))
    }
}

fn by_field(map: &BTreeMap<Field, usize>) -> [Option<usize>; Field::ALL.len()] {
    std::array::from_fn(|i| map.get(&Field::ALL[i]).copied())
}

/// The name of the export layout a header matches, from the fields present: each known
/// Flock layout (LAW-AND-FACTS §3) is told apart by what it carries.
pub fn layout_name(r: &Resolved) -> &'static str {
    let has = |f| r.has(f);
    if has(Field::Id)
        && has(Field::User)
        && has(Field::Time)
        && has(Field::Networks)
        && !has(Field::Org)
        && !has(Field::TimeFrame)
    {
        return if has(Field::Offense) || (has(Field::Case) && !has(Field::Reason)) {
            "Flock transparency portal Public Search Audit (structured reasons)"
        } else {
            "Flock transparency portal Public Search Audit"
        };
    }
    if has(Field::Offense) && has(Field::Reason) && has(Field::Networks) {
        return "Flock organization audit (with offense type)";
    }
    if has(Field::TimeFrameStart) && has(Field::TimeFrameEnd) && has(Field::Org) {
        return "Flock agency export with split time frame (Time_Frame_Start/End)";
    }
    if has(Field::Org) && has(Field::Networks) && has(Field::Reason) && has(Field::SearchType) {
        if has(Field::TextPrompt) || has(Field::Moderation) {
            return "Flock 13-column audit (text prompt, moderation)";
        }
        if !has(Field::TimeFrame) {
            return "Flock audit without time frame (federal-search layout)";
        }
        return "Flock network audit";
    }
    "unrecognized layout: columns matched by name"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cols: &[&str]) -> Vec<String> {
        cols.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flock_headers_match_whatever_the_case_spaces_and_underscores() {
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
        assert_eq!(r.index(Field::User), Some(1));
        assert_eq!(r.index(Field::Case), Some(4));
        assert_eq!(r.index(Field::Devices), None);
        let h = header(&[
            "ID",
            "Org_Name",
            "Total_Networks_Searched",
            "Total_Devices_Searched",
            "Time_Frame_Start",
            "Time_Frame_End",
            "Reason",
            "Search_Time",
            "Search_Type",
            "Moderation",
        ]);
        let r = Resolved::resolve(&h, &ColumnMap::default());
        for f in [
            Field::Id,
            Field::Org,
            Field::Networks,
            Field::Devices,
            Field::TimeFrameStart,
            Field::TimeFrameEnd,
            Field::Reason,
            Field::Time,
            Field::SearchType,
            Field::Moderation,
        ] {
            assert!(r.has(f), "{f:?}");
        }
        assert_eq!(r.unmapped().count(), 0);
        let h = header(&[
            "id",
            "userId",
            "searchDate",
            "networkCount",
            "caseNumber",
            "offenseType",
            "colour",
        ]);
        let r = Resolved::resolve(&h, &ColumnMap::default());
        assert_eq!(r.index(Field::Offense), Some(5));
        assert_eq!(r.index(Field::Case), Some(4));
        assert_eq!(r.unmapped().collect::<Vec<_>>(), vec![6]);
        assert!(layout_name(&r).contains("structured"));
    }

    #[test]
    fn a_column_map_overrides_and_agency_means_org() {
        let m = ColumnMap::parse(&["reason=Purpose,agency=Dept".to_string()]).unwrap();
        let r = Resolved::resolve(&header(&["Dept", "purpose", "Reason"]), &m);
        assert_eq!(r.index(Field::Reason), Some(1));
        assert_eq!(r.index(Field::Org), Some(0));
        assert_eq!(r.unmapped().collect::<Vec<_>>(), vec![2]);
        assert!(ColumnMap::parse(&["reason".to_string()]).is_err());
        assert!(ColumnMap::parse(&["colour=x".to_string()]).is_err());
        assert!(ColumnMap::parse(&["time_frame_start=x".to_string()]).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn a_cell_folds_alike_exactly_when_its_folded_name_is_the_same(
            a in "[AaBb_ .\"\u{feff}\u{130}\u{212a}kKß-]{0,6}",
            b in "[AaBb_ .\"\u{feff}\u{130}\u{212a}kKß-]{0,6}",
        ) {
            proptest::prop_assert_eq!(folds_to(&a, &fold_header(&b)), fold_header(&a) == fold_header(&b));
            proptest::prop_assert!(folds_to(&a, &fold_header(&a)));
        }
    }
}
