//! One row: its fields read from a CSV record or a JSON object, screened, turned into the
//! summary's facts, and (when flagged) written to flagged.csv with its file and line.
use std::borrow::Cow;

use crate::cells::{cell_state, cell_state_bytes, moderation, CellState};
use crate::classify::{Classifier, RowFindings};
use crate::columns::{ColumnMap, Field, Resolved};
use crate::split::Record;
use crate::summary::{RowFacts, Summary};
use crate::time::{parse_time, parse_time_frame};

/// Cells counted per column (CSV) or per field (JSON).
#[derive(Clone, Debug, Default)]
pub struct CellTally {
    pub empty: u64,
    pub redacted: u64,
    pub unreadable: u64,
    /// The first value that could not be read, to show the reader what it looked like.
    pub sample: Option<String>,
}

impl CellTally {
    pub fn merge(&mut self, o: &CellTally) {
        self.empty += o.empty;
        self.redacted += o.redacted;
        self.unreadable += o.unreadable;
        if self.sample.is_none() {
            self.sample.clone_from(&o.sample);
        }
    }

    fn count(&mut self, cell: &[u8], unreadable: bool) {
        match cell_state_bytes(cell) {
            CellState::Empty => self.empty += 1,
            CellState::Redacted => self.redacted += 1,
            CellState::Value if unreadable => {
                self.unreadable += 1;
                if self.sample.is_none() {
                    self.sample = Some(String::from_utf8_lossy(cell).chars().take(60).collect());
                }
            }
            CellState::Value => {}
        }
    }
}

/// What a chunk's rows add up to.
pub struct ChunkResult {
    pub summary: Summary,
    /// Some of the chunk's text is not UTF-8 (and was read as Windows-1252).
    pub not_utf8: bool,
    /// Rows with no search in them (blank, or a lone "Total" cell), not counted.
    pub not_searches: u64,
    /// Lines that repeat the header, not counted.
    pub header_lines: Vec<u64>,
    /// The rows' search-id hashes and flag bits, sorted by the worker, to unite rows.
    pub ids: crate::distinct::ChunkIds,
    pub flagged_csv: Vec<u8>,
    pub flagged: u64,
    pub errors: Vec<String>,
    pub other_entries: u64,
    pub tally: Vec<CellTally>,
}

/// How to read one file's rows.
pub struct RowContext<'a> {
    pub label: &'a str,
    pub columns: &'a Resolved,
    /// For JSON: the key (or dotted path) of each field, in `Field::ALL` order.
    pub json_keys: &'a [String],
    /// Where each CSV column goes in flagged.csv's union header.
    pub placement: &'a [usize],
    pub union_len: usize,
    /// The organization of every row, for a file without an organization column.
    pub org: Option<&'a str>,
}

/// The fields a row is read for; the rest are counted per column and carried through.
const READ: [Field; 15] = [
    Field::Id,
    Field::User,
    Field::Org,
    Field::Time,
    Field::TimeFrame,
    Field::TimeFrameStart,
    Field::TimeFrameEnd,
    Field::Networks,
    Field::Devices,
    Field::Reason,
    Field::Offense,
    Field::Moderation,
    Field::TextPrompt,
    Field::Filters,
    Field::Case,
];

/// A row's fields, indexed by `Field as usize`; absent fields are empty.
pub struct Fields<'a>([Cow<'a, str>; Field::ALL.len()]);

impl<'a> Fields<'a> {
    /// The fields the audit reads from a CSV record (the others stay empty: they are
    /// only counted and carried through). `text` is the record's chunk when it is valid
    /// UTF-8, so that fields are sliced from it without being checked one by one.
    pub fn from_csv(cols: &Resolved, record: &'a Record<'_>, text: Option<&'a str>) -> Fields<'a> {
        let mut fields = Fields(Default::default());
        for f in READ {
            let Some(c) = cols.index(f) else { continue };
            if let Some(s) = text.and_then(|t| record.get_str(t, c)) {
                fields.0[f as usize] = Cow::Borrowed(s);
            } else if let Some(b) = record.get(c) {
                fields.0[f as usize] = match std::str::from_utf8(b) {
                    Ok(s) => Cow::Borrowed(s),
                    // Not UTF-8: most likely Windows-1252, what Excel on Windows saves a
                    // CSV in; read so, "deportaci\xF3n" is "deportación", not a
                    // replacement character that hides the word from screening.
                    Err(_) => Cow::Owned(crate::cells::windows_1252(b)),
                };
            }
        }
        fields
    }

    /// The fields of a JSON object; `None` when it lacks the `required` key. A key is a
    /// top-level key or a dotted path into nested objects (`request.purpose.reason`).
    pub fn from_json(
        keys: &[String],
        required: Option<&str>,
        text: &str,
    ) -> Result<Option<Fields<'static>>, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let obj = v.as_object().ok_or("not a JSON object")?;
        if required.is_some_and(|k| !obj.contains_key(k)) {
            return Ok(None);
        }
        let get = |k: &str| json_text(lookup(obj, k));
        Ok(Some(Fields(std::array::from_fn(|i| {
            keys.get(i).map_or(Cow::Borrowed(""), |k| get(k))
        }))))
    }

    pub fn get(&self, f: Field) -> &str {
        &self.0[f as usize]
    }
}

/// The JSON-lines key sets seen in a chunk and how each resolved: records of one export
/// share a few key sets (some leave out their null keys), so each is matched once.
pub type KeyCache = Vec<(Vec<String>, Resolved)>;

/// Key sets remembered per chunk; past this, new ones are matched afresh each time.
const KEY_SETS: usize = 16;

/// At most this many distinct unknown keys are listed per file.
const MAX_UNKNOWN_KEYS: usize = 64;

impl Fields<'static> {
    /// The fields of one record of a JSON-lines export. Its keys are matched as a CSV
    /// header's columns are (case, spaces, underscores and hyphens ignored; the names
    /// every known layout uses; `--map`, where a dotted name reaches into a nested
    /// object), and a key nothing claims is added to `unknown`, to be reported rather
    /// than silently dropped.
    pub fn from_json_export(
        text: &str,
        map: &ColumnMap,
        cache: &mut KeyCache,
        unknown: &mut Vec<String>,
    ) -> Result<Fields<'static>, String> {
        let obj = unique_keys(text)?;
        let obj = &obj;
        let at = match cache
            .iter()
            .position(|(keys, _)| keys.len() == obj.len() && keys.iter().eq(obj.keys()))
        {
            Some(at) => at,
            None => {
                let keys: Vec<String> = obj.keys().cloned().collect();
                let resolved = Resolved::resolve_keys(&keys, map);
                note_unknown_top(&keys, &resolved, map, unknown);
                if cache.len() == KEY_SETS {
                    cache.remove(0);
                }
                cache.push((keys, resolved));
                cache.len() - 1
            }
        };
        let (keys, resolved) = &cache[at];
        note_unknown_nested(obj, map, unknown);
        Ok(Fields(std::array::from_fn(|i| {
            let f = Field::ALL[i];
            let value = match map.get(f).filter(|p| p.contains('.')) {
                Some(path) => lookup(obj, path),
                None => resolved.index(f).and_then(|c| obj.get(&keys[c])),
            };
            json_text(value)
        })))
    }
}

/// A JSON-lines record as an object whose keys each appear once: serde_json keeps the
/// last of two, so `{"reason":"ICE ERO","reason":"investigation"}` would be screened as
/// "investigation" in silence (a CSV header naming a key column twice is said too).
fn unique_keys(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if !text.starts_with('{') {
        return Err("not a JSON object".into());
    }
    serde_json::from_str::<UniqueKeys>(text)
        .map(|u| u.0)
        .map_err(|e| {
            // The record is one line: its column says where, "line 1" would only mislead.
            let msg = e.to_string();
            let msg = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(m, _)| m);
            format!("not JSON: {msg} (at column {})", e.column())
        })
}

struct UniqueKeys(serde_json::Map<String, serde_json::Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<UniqueKeys, M::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = m.next_key::<String>()? {
            let value = m.next_value()?;
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "key {key:?} appears more than once in the record, so which value is meant cannot be told"
                )));
            }
            out.insert(key, value);
        }
        Ok(UniqueKeys(out))
    }
}

/// Adds to `unknown` the top-level keys of a new key set that no field claims (the first
/// part of a dotted `--map` name excepted).
fn note_unknown_top(
    keys: &[String],
    resolved: &Resolved,
    map: &ColumnMap,
    unknown: &mut Vec<String>,
) {
    let paths = dotted_paths(map);
    for i in resolved.unmapped() {
        let key = &keys[i];
        if !paths
            .iter()
            .any(|p| p.split('.').next() == Some(key.as_str()))
        {
            note(unknown, key.clone());
        }
    }
}

/// Adds to `unknown` every key, at every level, of the objects a dotted `--map` name
/// reaches into that no dotted name reads (`details.purpose` beside a mapped
/// `details.reason`). Checked on every record: nested keys vary where top-level ones do not.
fn note_unknown_nested(
    obj: &serde_json::Map<String, serde_json::Value>,
    map: &ColumnMap,
    unknown: &mut Vec<String>,
) {
    let paths = dotted_paths(map);
    for path in &paths {
        let parts: Vec<&str> = path.split('.').collect();
        let mut inner = obj;
        for depth in 0..parts.len() - 1 {
            let Some(serde_json::Value::Object(next)) = inner.get(parts[depth]) else {
                break;
            };
            inner = next;
            let parent = parts[..=depth].join(".");
            for k in inner.keys() {
                let full = format!("{parent}.{k}");
                let read = paths
                    .iter()
                    .any(|p| *p == full || p.starts_with(&format!("{full}.")));
                if !read {
                    note(unknown, full);
                }
            }
        }
    }
}

/// The `--map` names that reach into nested objects.
fn dotted_paths(map: &ColumnMap) -> Vec<&str> {
    Field::ALL
        .iter()
        .filter_map(|f| map.get(*f))
        .filter(|p| p.contains('.'))
        .collect()
}

fn note(unknown: &mut Vec<String>, key: String) {
    if unknown.len() < MAX_UNKNOWN_KEYS && !unknown.contains(&key) {
        unknown.push(key);
    }
}

/// A JSON value as the text a CSV cell would hold: strings as they are, null or absent
/// as empty, anything else as JSON.
fn json_text(v: Option<&serde_json::Value>) -> Cow<'static, str> {
    match v {
        Some(serde_json::Value::String(s)) => Cow::Owned(s.clone()),
        Some(serde_json::Value::Null) | None => Cow::Borrowed(""),
        Some(other) => Cow::Owned(other.to_string()),
    }
}

fn lookup<'v>(
    obj: &'v serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'v serde_json::Value> {
    if key.is_empty() {
        return None;
    }
    if let Some(v) = obj.get(key) {
        return Some(v);
    }
    let (first, rest) = key.split_once('.')?;
    lookup(obj.get(first)?.as_object()?, rest)
}

/// A count as exports write it ("1,234"); redacted or blank counts are unknown.
pub fn count(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return None;
    }
    s.bytes().filter(u8::is_ascii_digit).try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The text screened: the reason, the offense type, or both.
/// The text screened, and how many of its bytes are the stated reason: the reason and
/// offense type, then a search's free-text prompt and filters when the export has them
/// (an officer's "silver sedan for ICE target" or a hotlist named "NCIC Immigration
/// Violator" says as much as a reason does).
fn screened_text<'f>(fields: &'f Fields<'_>) -> (Cow<'f, str>, usize) {
    let (reason, offense) = (fields.get(Field::Reason), fields.get(Field::Offense));
    let stated = match (reason.trim().is_empty(), offense.trim().is_empty()) {
        (_, true) => Cow::Borrowed(reason),
        (true, false) => Cow::Borrowed(offense),
        (false, false) => Cow::Owned(format!("{reason} | {offense}")),
    };
    let (prompt, filters) = (fields.get(Field::TextPrompt), fields.get(Field::Filters));
    let said = |s: &str| cell_state(s) == CellState::Value;
    if !said(prompt) && !said(filters) {
        let n = stated.len();
        return (stated, n);
    }
    let n = stated.len();
    let mut text = stated.into_owned();
    for (label, value) in [("prompt", prompt), ("filters", filters)] {
        if said(value) {
            text.push_str(&format!(" | {label}: {value}"));
        }
    }
    (Cow::Owned(text), n)
}

/// What stands between the screened text and a case number that screened as immigration.
pub const CASE_SEPARATOR: &str = " | case: ";

/// Screens the case number, which is free text too ("ICE ERO 4471" beside the reason
/// "investigation"). Most case numbers are one of a kind, so it is screened on its own
/// rather than joined to the reason, whose answers are remembered; only when it screens
/// as immigration is it read again after the reason and, if it still does, appended to
/// the text reported, its spans counted past the reason.
fn screen_case<'f>(
    classifier: &mut Classifier<'_>,
    case: &str,
    screened: Cow<'f, str>,
    findings: &mut RowFindings,
) -> Cow<'f, str> {
    if cell_state(case) != CellState::Value {
        return screened;
    }
    if classifier.screen_words(case).is_empty() {
        return screened;
    }
    // Read again after the reason, whose words are its context ("missing child" before
    // "DHS-2025-0412", a human-services case), as the gateway reads it.
    let whole = format!("{screened}{CASE_SEPARATOR}{case}");
    let past = u32::try_from(screened.len()).unwrap_or(u32::MAX);
    let terms = classifier.screen_words(&whole);
    let in_case: Vec<_> = terms.into_iter().filter(|(a, _)| *a >= past).collect();
    if in_case.is_empty() {
        return screened;
    }
    findings.immigration_terms.extend(in_case);
    Cow::Owned(whole)
}

/// Bits (one per `Field`) of fields whose value is present but cannot be read.
pub type Unreadable = u32;

fn bit(f: Field) -> Unreadable {
    1 << (f as u32)
}

/// Reads a typed field: `Some` when it parses; marks it unreadable when a value (not a
/// blank or a mask) does not.
fn typed<T>(
    fields: &Fields<'_>,
    f: Field,
    parse: impl Fn(&str) -> Option<T>,
    bad: &mut Unreadable,
) -> Option<T> {
    let cell = fields.get(f);
    let v = parse(cell);
    if v.is_none() && cell_state(cell) == CellState::Value {
        *bad |= bit(f);
    }
    v
}

/// Screens a row and adds it to the chunk's summary; returns the fields that could not be
/// read and the findings (for flagged.csv).
pub fn classify_row(
    ctx: &RowContext<'_>,
    classifier: &mut Classifier<'_>,
    summary: &mut Summary,
    ids: &mut crate::distinct::ChunkIds,
    fields: &Fields<'_>,
) -> (Unreadable, RowFindings, String) {
    let cols = ctx.columns;
    let (reason, stated) = screened_text(fields);
    let org = match (cols.has(Field::Org), ctx.org) {
        (false, Some(org)) => org,
        _ => fields.get(Field::Org),
    };
    let (org, agency) = summary.org(org, |o| classifier.agency(o));
    let (mut findings, state) = classifier.classify_reason(&reason, stated, agency);
    let reason = screen_case(classifier, fields.get(Field::Case), reason, &mut findings);
    let mut bad = 0;
    let time = typed(fields, Field::Time, parse_time, &mut bad);
    for f in [Field::TimeFrameStart, Field::TimeFrameEnd] {
        typed(fields, f, parse_time, &mut bad);
    }
    typed(fields, Field::TimeFrame, parse_time_frame, &mut bad);
    let networks = typed(fields, Field::Networks, count, &mut bad);
    let devices = typed(fields, Field::Devices, count, &mut bad);
    let verdict = cols
        .has(Field::Moderation)
        .then(|| moderation(fields.get(Field::Moderation)));
    if verdict == Some(crate::cells::Moderation::Other) {
        bad |= bit(Field::Moderation);
    }
    let user = fields.get(Field::User);
    let facts = RowFacts {
        reason: &reason,
        reason_state: state,
        org,
        user: (cell_state(user) == CellState::Value).then_some(user),
        time,
        networks,
        devices,
        moderation: verdict,
    };
    summary.add(&facts, &findings);
    let id = fields.get(Field::Id);
    let id = (cell_state(id) == CellState::Value).then(|| crate::distinct::id_hash(id));
    ids.add(id, crate::distinct::flag_bits(&findings));
    let reason = if findings.flagged() {
        reason.into_owned()
    } else {
        String::new()
    };
    (bad, findings, reason)
}

/// Counts a CSV record's cells, column by column.
pub fn tally_csv(cols: &Resolved, record: &Record<'_>, bad: Unreadable, t: &mut [CellTally]) {
    for (i, (raw, tally)) in record.iter().zip(t.iter_mut()).enumerate() {
        let unreadable = bad != 0 && cols.field_of(i).is_some_and(|f| bad & bit(f) != 0);
        tally.count(raw, unreadable);
    }
}

/// Counts a JSON record's fields.
pub fn tally_json(fields: &Fields<'_>, bad: Unreadable, t: &mut [CellTally]) {
    for (f, tally) in Field::ALL.iter().zip(t.iter_mut()) {
        tally.count(fields.get(*f).as_bytes(), bad & bit(*f) != 0);
    }
}

/// The original cells of a row, to copy into flagged.csv.
pub enum Cells<'a> {
    Csv(&'a Record<'a>),
    Json(&'a str),
}

/// Writes a flagged row: its file, line, flags, the words that triggered them, then its
/// original cells under the union header.
pub fn write_flagged(
    w: &mut csv::Writer<Vec<u8>>,
    ctx: &RowContext<'_>,
    line: u64,
    row: Cells<'_>,
    reason: &str,
    f: &RowFindings,
) -> csv::Result<()> {
    let terms: Vec<&str> = f
        .immigration_terms
        .iter()
        .filter_map(|(a, b)| reason.get(*a as usize..*b as usize))
        .collect();
    let mut cells: Vec<Vec<u8>> = vec![Vec::new(); 4 + ctx.union_len];
    cells[0] = ctx.label.as_bytes().to_vec();
    cells[1] = line.to_string().into_bytes();
    cells[2] = f.flag_names().join(";").into_bytes();
    cells[3] = terms.join(";").into_bytes();
    match row {
        Cells::Csv(record) => {
            for (i, field) in record.iter().enumerate() {
                if let Some(&pos) = ctx.placement.get(i) {
                    // flagged.csv is UTF-8 throughout: a cell that is not is written as
                    // it was read (Windows-1252), as the report shows it.
                    cells[4 + pos] = match std::str::from_utf8(field) {
                        Ok(_) => field.to_vec(),
                        Err(_) => crate::cells::windows_1252(field).into_bytes(),
                    };
                }
            }
        }
        Cells::Json(text) => {
            if let Some(&pos) = ctx.placement.first() {
                cells[4 + pos] = text.as_bytes().to_vec();
            }
        }
    }
    w.write_record(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_thousands_separators_and_refuse_anything_else() {
        assert_eq!(count("1,234"), Some(1234));
        assert_eq!(count(" 7 "), Some(7));
        assert_eq!(count("***"), None);
        assert_eq!(count("12a"), None);
        assert_eq!(count("99999999999999999999999"), None);
    }
}
