//! The streaming redactor against the full parse it replaces: serde_json's accept/reject
//! and, for what it accepts, the value the old parse-remove-serialize redaction gave, for
//! generated JSON (with escaped names and odd whitespace), token soup and byte mutations,
//! fed in chunks split anywhere.
#![allow(clippy::unwrap_used)]
use cordon_redact::{Redactor, MAX_DEPTH};
use proptest::prelude::*;
use serde_json::{Map, Value};

const FIELDS: [&str; 3] = ["immigration_status", "place_of_birth", "é"];
const TOKEN_LIMIT: usize = 4096;

/// The redaction the gateway used before streaming: parse, remove at every depth.
fn old_redact(value: &mut Value, fields: &[&str]) -> u64 {
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !fields.contains(&k.as_str()));
            let mut removed = (before - map.len()) as u64;
            for v in map.values_mut() {
                removed += old_redact(v, fields);
            }
            removed
        }
        Value::Array(items) => items.iter_mut().map(|v| old_redact(v, fields)).sum(),
        _ => 0,
    }
}

/// Feeds `input` split at `cuts` (offsets, any order); the output or the error.
fn stream(input: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, u64), cordon_redact::JsonError> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut r = Redactor::new(&FIELDS, TOKEN_LIMIT);
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts.into_iter().chain([input.len()]) {
        r.feed(&input[at..c], &mut out)?;
        at = c;
    }
    r.finish()?;
    Ok((out, r.removed()))
}

/// Asserts the stream agrees with serde_json and the old redaction; `count` also compares
/// the number removed (not meaningful with duplicate names, which a map collapses).
fn agrees(input: &[u8], cuts: &[usize], count: bool) {
    let expected = serde_json::from_slice::<Value>(input).map(|mut v| {
        let n = old_redact(&mut v, &FIELDS);
        (v, n)
    });
    let got = stream(input, cuts);
    let shown = String::from_utf8_lossy(input);
    match (expected, got) {
        (Ok((value, n)), Ok((out, removed))) => {
            let out_value: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                panic!(
                    "invalid output {:?} for {shown:?}: {e}",
                    String::from_utf8_lossy(&out)
                )
            });
            assert_eq!(out_value, value, "for {shown:?}");
            if count {
                assert_eq!(removed, n, "removed count for {shown:?}");
            }
        }
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("rejected valid JSON {shown:?}: {e}"),
        (Err(e), Ok((out, _))) => panic!(
            "accepted invalid JSON {shown:?} ({e}) as {:?}",
            String::from_utf8_lossy(&out)
        ),
    }
}

/// Writes JSON by hand so names can be written with `\u` escapes and whitespace can go
/// anywhere it is allowed.
struct Writer {
    escape: bool,
    space: &'static str,
    out: String,
}

impl Writer {
    fn string(&mut self, s: &str, escape: bool) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                c if escape || (c as u32) < 0x20 => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        self.out.push_str(&format!("\\u{u:04X}"));
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn value(&mut self, v: &Value) {
        let sp = self.space;
        match v {
            Value::Object(m) => {
                self.out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.out.push_str(sp);
                    self.string(k, self.escape);
                    self.out.push_str(sp);
                    self.out.push(':');
                    self.out.push_str(sp);
                    self.value(v);
                    self.out.push_str(sp);
                }
                self.out.push('}');
            }
            Value::Array(a) => {
                self.out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.out.push_str(sp);
                    self.value(v);
                }
                self.out.push_str(sp);
                self.out.push(']');
            }
            Value::String(s) => self.string(s, false),
            other => self.out.push_str(&other.to_string()),
        }
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("immigration_status".to_owned()),
        Just("place_of_birth".to_owned()),
        Just("é".to_owned()),
        Just("immigration_statu".to_owned()),
        Just("immigration_status_x".to_owned()),
        Just("id".to_owned()),
        Just("😀 \"q\" \\".to_owned()),
        "[a-z_é\u{10000}-\u{10010}]{0,24}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "[\u{0}-\u{1f}\"\\\\a]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn written() -> impl Strategy<Value = (Value, String)> {
    (
        json(),
        any::<bool>(),
        prop::sample::select(vec!["", " ", "\n\t\r "]),
    )
        .prop_map(|(v, escape, space)| {
            let mut w = Writer {
                escape,
                space,
                out: String::new(),
            };
            w.out.push_str(space);
            w.value(&v);
            w.out.push_str(space);
            (v, w.out)
        })
}

/// Pieces of JSON, valid and not, to string together at random.
const SOUP: [&str; 40] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "\"a\"",
    "\"immigration_status\"",
    "\"\\u0069mmigration_status\"",
    "\"place_of_birth\"",
    "\"\\u00e9\"",
    "\"é\"",
    "1",
    "-0",
    "0.5e-3",
    "01",
    "1.",
    "-",
    "1e400",
    "1e-400",
    "2E+2",
    "true",
    "nul",
    "false",
    "null",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud83d\\u0041\"",
    "\"\\x\"",
    "\"\u{1}\"",
    "\"\\uDBFF\\uDFFF\"",
    "\"\u{7f}\"",
    "\"\\/\"",
    "\"\\ud800\\\"",
    "1e",
    "\"",
    "\\",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_json_redacts_to_the_same_value_as_the_full_parse(
        (_, text) in written(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        agrees(text.as_bytes(), &cuts, true);
    }

    #[test]
    fn token_soup_is_accepted_and_rejected_as_serde_json_does(
        parts in prop::collection::vec(prop::sample::select(SOUP.to_vec()), 0..16),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        agrees(parts.concat().as_bytes(), &cuts, false);
    }

    #[test]
    fn mutated_json_is_accepted_and_rejected_as_serde_json_does(
        (_, text) in written(),
        edits in prop::collection::vec((any::<usize>(), 0u8..3, any::<u8>()), 1..4),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let mut bytes = text.into_bytes();
        for (at, kind, b) in edits {
            let at = at % (bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => { bytes.remove(at); }
                1 => bytes.insert(at, b),
                _ if at < bytes.len() => bytes[at] = b,
                _ => bytes.push(b),
            }
        }
        agrees(&bytes, &cuts, false);
    }
}

#[test]
fn nesting_is_refused_exactly_where_serde_json_refuses_it() {
    for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        agrees(arrays.as_bytes(), &[], true);
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        agrees(objects.as_bytes(), &[], true);
    }
    let deepest = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(stream(deepest.as_bytes(), &[]).is_ok());
}

#[test]
fn edge_inputs_agree_with_serde_json() {
    for input in [
        "",
        " ",
        "1",
        "1 ",
        " 1 2",
        "\"x\"",
        "{}",
        "[]",
        "[1,]",
        "{,}",
        "{\"a\":1,}",
        "[1 2]",
        "{\"a\" 1}",
        "{\"a\":}",
        "1e309",
        "-1e309",
        "1e-9999",
        "0.0000001e310",
        "17976931348623158e292",
        "1e+0300",
        "9e300",
        "9e+308",
        "1E-400",
        "123e0000",
        "1e+",
        "-0.0e-0",
        "1e00309",
        "0.1e309",
        "17976931348623159e292",
        "\u{feff}1",
        "[\"\\u0000\"]",
        "{\"immigration_status\":{\"a\":[1,{\"immigration_status\":2}]},\"b\":3}",
        "{\"a\":1,\"immigration_status\":2}",
        "{\"immigration_status\":2,\"a\":1}",
        "{\"place_of_birth\":1,\"immigration_status\":2}",
        "[{\"é\":1},{\"\\u00e9\":2,\"x\":[]}]",
    ] {
        agrees(input.as_bytes(), &[], true);
        let every: Vec<usize> = (0..input.len()).collect();
        agrees(input.as_bytes(), &every, true);
    }
}
