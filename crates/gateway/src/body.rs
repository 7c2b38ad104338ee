//! Search bodies as the decision sees them: a JSON object whose every field the route
//! declares under `[routes.body]`, once, each bound like a query parameter (record, time
//! range, limit). Keys are compared after JSON unescaping, so `"\u0072ecord"` and
//! `"record"` are one name and sending both is a duplicate. What comes out is Cordon's
//! own serialization of the decided fields (keys sorted, compact): that, never the
//! client's bytes, is decided, logged (with its SHA-256) and sent upstream.
use crate::config::{carries_search_body, Binding, QueryParam};
use crate::gate::{Ask, Via};
use crate::query::{is_rfc3339, BoundQuery};
use crate::routes::Target;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE};
use hyper::StatusCode;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

/// Largest search body accepted, in bytes as sent.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest string value of a declared field, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

/// The body, bound to the resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoundBody {
    /// Cordon's serialization of the decided fields: what the upstream receives.
    pub canonical: String,
    /// SHA-256 of `canonical`, lower-case hex.
    pub sha256: String,
    /// The record a `record` field names.
    pub record: Option<String>,
    pub time_from: Option<String>,
    pub time_to: Option<String>,
    pub limit: Option<u64>,
}

/// Why a body was refused; each message names the field or header and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("a search body cannot be decided through forward-auth, which never shows Cordon the body: send searches with a body through Cordon's reverse proxy")]
    Unseen,
    #[error("the body's Content-Type is {0:?}: a search body is JSON, sent as Content-Type: application/json")]
    MediaType(String),
    #[error("the body is compressed (Content-Encoding: {0}): send it uncompressed")]
    Encoded(String),
    #[error("the body is {0} bytes, over the limit of {MAX_BODY_BYTES} for a search")]
    TooLarge(usize),
    #[error("the search body is empty: send a JSON object of the fields this route declares")]
    Empty,
    #[error("the body starts with a byte-order mark: send UTF-8 JSON without one")]
    Bom,
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    #[error("the body must be one JSON object ({{\"field\": value, ...}})")]
    NotObject,
    #[error("body field {name:?} is not one this route accepts{}", accepted_list(.accepted))]
    Undeclared { name: String, accepted: Vec<String> },
    #[error("body field {0:?} appears more than once (in any spelling: escaped names count): send it once")]
    Duplicate(String),
    #[error("body field {name:?} must be {expected}")]
    WrongType {
        name: String,
        expected: &'static str,
    },
    #[error("body field {0:?} is longer than {MAX_VALUE_BYTES} bytes")]
    TooLong(String),
    #[error("body field {0:?} contains a control character")]
    Control(String),
    #[error("body field {0:?} must name one record: not empty, '.', '..' or only '_', none of / * % ? [ ] , ; \\ (a service may read them as a wildcard, a list or a path), no spaces at either end or invisible characters")]
    BadRecord(String),
    #[error("body field {name:?} names record {value:?}, but the request already names {other:?}: name one record")]
    RecordMismatch {
        name: String,
        value: String,
        other: String,
    },
    #[error("body field {name:?} must be a whole number from 0 to {max}")]
    BadLimit { name: String, max: u64 },
    #[error("body field {0:?} must be an RFC 3339 date (2026-01-31) or date-time (2026-01-31T08:00:00Z)")]
    BadTime(String),
    #[error("body field {0:?} binds what the query string already binds: send it in one place")]
    Twice(String),
}

impl BodyError {
    /// 415 for a body that is not JSON by its headers, 413 for one too large, else 400.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::MediaType(_) | BodyError::Encoded(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

fn accepted_list(names: &[String]) -> String {
    if names.is_empty() {
        ": this route declares no body fields".into()
    } else {
        format!(": it accepts {}", names.join(", "))
    }
}

/// The request headers a body is judged by.
pub struct BodyHeaders<'a> {
    /// Every `Content-Type` value sent.
    pub content_type: Vec<&'a [u8]>,
    /// Every `Content-Encoding` value sent.
    pub content_encoding: Vec<&'a [u8]>,
}

/// Checks that a body is declared to be plain JSON: exactly one `Content-Type`,
/// `application/json` with at most `charset=utf-8`, and no content coding.
pub fn check_headers(h: &BodyHeaders<'_>) -> Result<(), BodyError> {
    if let Some(e) = h
        .content_encoding
        .iter()
        .find(|v| !v.eq_ignore_ascii_case(b"identity"))
    {
        return Err(BodyError::Encoded(String::from_utf8_lossy(e).into_owned()));
    }
    let shown = || {
        h.content_type
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let [one] = h.content_type[..] else {
        return Err(BodyError::MediaType(shown()));
    };
    let text = std::str::from_utf8(one).map_err(|_| BodyError::MediaType(shown()))?;
    let mut parts = text.split(';');
    let media = parts.next().unwrap_or("").trim();
    let params_ok = parts.all(|p| {
        p.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("charset")
                && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    });
    if !media.eq_ignore_ascii_case("application/json") || !params_ok {
        return Err(BodyError::MediaType(shown()));
    }
    Ok(())
}

/// The decided body of a request: none for a method that carries no search, else the
/// route's declared fields bound from a body that is plain JSON by its headers.
pub(crate) fn search_body(
    ask: &Ask<'_>,
    target: &Target,
    query: &BoundQuery,
) -> Result<Option<BoundBody>, BodyError> {
    if !carries_search_body(ask.method.as_str()) {
        return Ok(None);
    }
    if ask.via == Via::ForwardAuth {
        return Err(BodyError::Unseen);
    }
    let all = |name| {
        ask.headers
            .get_all(name)
            .iter()
            .map(|v| v.as_bytes())
            .collect()
    };
    check_headers(&BodyHeaders {
        content_type: all(CONTENT_TYPE),
        content_encoding: all(CONTENT_ENCODING),
    })?;
    bind_body(
        ask.body,
        &target.route.body,
        target.path_record.as_deref(),
        query,
    )
    .map(Some)
}

/// Binds a search body to the route's declared fields. `so_far` is what the path and
/// query already bound: a record named here must agree with it, and a time or limit
/// must not be given in both places. Pure and total, so it is a fuzzing entry point.
pub fn bind_body(
    raw: &[u8],
    declared: &BTreeMap<String, QueryParam>,
    path_record: Option<&str>,
    query: &BoundQuery,
) -> Result<BoundBody, BodyError> {
    if raw.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge(raw.len()));
    }
    if raw.starts_with(b"\xEF\xBB\xBF") {
        return Err(BodyError::Bom);
    }
    let start = raw.iter().position(|b| !b" \t\r\n".contains(b));
    match start.map(|i| raw[i]) {
        None => return Err(BodyError::Empty),
        Some(b'{') => {}
        Some(_) => return Err(BodyError::NotObject),
    }
    let fields = parse_object(raw, declared)?;
    let mut bound = BoundBody::default();
    let mut canonical = BTreeMap::new();
    for (name, value) in fields {
        let Some(param) = declared.get(&name) else {
            continue;
        };
        let v = bind_one(&mut bound, &name, value, param, path_record, query)?;
        canonical.insert(name, v);
    }
    bound.canonical =
        serde_json::to_string(&canonical).map_err(|e| BodyError::NotJson(e.to_string()))?;
    bound.sha256 = cordon_entry::sha256_hex(bound.canonical.as_bytes());
    Ok(bound)
}

/// One scalar value as the parser found it.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Str(String),
    Unsigned(u64),
    Negative,
    Fraction,
    Bool,
    Null,
}

/// Binds one field and returns its canonical value.
fn bind_one(
    bound: &mut BoundBody,
    name: &str,
    value: Scalar,
    param: &QueryParam,
    path_record: Option<&str>,
    query: &BoundQuery,
) -> Result<serde_json::Value, BodyError> {
    let twice = || BodyError::Twice(name.to_owned());
    match param.bind {
        Binding::Limit => {
            let max = param.max.unwrap_or(0);
            let n = match value {
                Scalar::Unsigned(n) if n <= max => n,
                _ => {
                    return Err(BodyError::BadLimit {
                        name: name.to_owned(),
                        max,
                    })
                }
            };
            if query.limit.is_some() {
                return Err(twice());
            }
            bound.limit = Some(n);
            Ok(n.into())
        }
        Binding::Record => {
            let v = string(name, value, "a string naming one record")?;
            if !crate::path::names_one_record(&v) {
                return Err(BodyError::BadRecord(name.to_owned()));
            }
            if let Some(other) = path_record.or(query.record.as_deref()).filter(|o| *o != v) {
                return Err(BodyError::RecordMismatch {
                    name: name.to_owned(),
                    value: v,
                    other: other.to_owned(),
                });
            }
            bound.record = Some(v.clone());
            Ok(v.into())
        }
        Binding::TimeFrom | Binding::TimeTo => {
            let v = string(name, value, "an RFC 3339 date or date-time string")?;
            if !is_rfc3339(&v) {
                return Err(BodyError::BadTime(name.to_owned()));
            }
            let (slot, in_query) = if param.bind == Binding::TimeFrom {
                (&mut bound.time_from, &query.time_from)
            } else {
                (&mut bound.time_to, &query.time_to)
            };
            if in_query.is_some() {
                return Err(twice());
            }
            *slot = Some(v.clone());
            Ok(v.into())
        }
    }
}

fn string(name: &str, value: Scalar, expected: &'static str) -> Result<String, BodyError> {
    let Scalar::Str(s) = value else {
        return Err(BodyError::WrongType {
            name: name.to_owned(),
            expected,
        });
    };
    if s.len() > MAX_VALUE_BYTES {
        return Err(BodyError::TooLong(name.to_owned()));
    }
    if s.chars().any(char::is_control) {
        return Err(BodyError::Control(name.to_owned()));
    }
    Ok(s)
}

/// Parses the top-level object, refusing an undeclared or repeated key (after
/// unescaping) and any value that is not a scalar, with a typed error naming the field.
fn parse_object(
    raw: &[u8],
    declared: &BTreeMap<String, QueryParam>,
) -> Result<Vec<(String, Scalar)>, BodyError> {
    let refusal = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(raw);
    let parsed = Fields {
        declared,
        refusal: &refusal,
    }
    .deserialize(&mut de)
    .and_then(|f| de.end().map(|()| f));
    match (parsed, refusal.into_inner()) {
        (_, Some(e)) => Err(e),
        (Ok(f), None) => Ok(f),
        (Err(e), None) => Err(BodyError::NotJson(e.to_string())),
    }
}

/// The top-level object's fields. A refusal is put in `refusal` and the parse stopped
/// with a placeholder serde error, so the caller gets the typed reason.
struct Fields<'a> {
    declared: &'a BTreeMap<String, QueryParam>,
    refusal: &'a RefCell<Option<BodyError>>,
}

impl Fields<'_> {
    fn refuse<E: de::Error>(&self, e: BodyError) -> E {
        *self.refusal.borrow_mut() = Some(e);
        E::custom("refused")
    }
}

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = Vec<(String, Scalar)>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = Vec<(String, Scalar)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
        let mut fields: Vec<(String, Scalar)> = Vec::new();
        while let Some(name) = m.next_key::<String>()? {
            if !self.declared.contains_key(&name) {
                let accepted = self.declared.keys().cloned().collect();
                return Err(self.refuse(BodyError::Undeclared { name, accepted }));
            }
            if fields.iter().any(|(n, _)| *n == name) {
                return Err(self.refuse(BodyError::Duplicate(name)));
            }
            let value = m.next_value_seed(Value {
                name: &name,
                refusal: self.refusal,
            })?;
            fields.push((name, value));
        }
        Ok(fields)
    }
}

/// One field's value: a scalar, or a refusal naming the field.
struct Value<'a> {
    name: &'a str,
    refusal: &'a RefCell<Option<BodyError>>,
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = Scalar;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
}

impl Value<'_> {
    fn nested<E: de::Error>(&self, what: &'static str) -> E {
        *self.refusal.borrow_mut() = Some(BodyError::WrongType {
            name: self.name.to_owned(),
            expected: what,
        });
        E::custom("refused")
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(u64::try_from(v).map_or(Scalar::Negative, Scalar::Unsigned))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Fraction)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_map<M: MapAccess<'de>>(self, _: M) -> Result<Scalar, M::Error> {
        Err(self.nested("a string or a number, not an object"))
    }
    fn visit_seq<S: de::SeqAccess<'de>>(self, _: S) -> Result<Scalar, S::Error> {
        Err(self.nested("a string or a number, not an array"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn decl() -> BTreeMap<String, QueryParam> {
        let p = |bind, max| QueryParam { bind, max };
        BTreeMap::from([
            ("plate".into(), p(Binding::Record, None)),
            ("since".into(), p(Binding::TimeFrom, None)),
            ("until".into(), p(Binding::TimeTo, None)),
            ("limit".into(), p(Binding::Limit, Some(100))),
        ])
    }

    fn bind(raw: &str) -> Result<BoundBody, BodyError> {
        bind_body(raw.as_bytes(), &decl(), None, &BoundQuery::default())
    }

    #[test]
    fn the_canonical_body_is_sorted_compact_and_hashed() {
        let b = bind("{ \"limit\" : 10,\n \"plate\": \"FAKE123\", \"since\": \"2026-01-01\" }")
            .unwrap();
        assert_eq!(
            b.canonical,
            r#"{"limit":10,"plate":"FAKE123","since":"2026-01-01"}"#
        );
        assert_eq!(b.record.as_deref(), Some("FAKE123"));
        assert_eq!(b.limit, Some(10));
        assert_eq!(b.sha256, cordon_entry::sha256_hex(b.canonical.as_bytes()));
    }

    #[test]
    fn escaped_names_are_the_same_name_so_sending_both_is_a_duplicate() {
        let b = bind(r#"{"\u0070late": "FAKE123"}"#).unwrap();
        assert_eq!(b.canonical, r#"{"plate":"FAKE123"}"#);
        for raw in [
            r#"{"plate": "FAKE123", "\u0070late": "TEST456"}"#,
            r#"{"plate": "FAKE123", "plate": "TEST456"}"#,
            r#"{"limit": 1, "limit": 1}"#,
        ] {
            assert_eq!(
                bind(raw),
                Err(BodyError::Duplicate(
                    if raw.contains("limit") {
                        "limit"
                    } else {
                        "plate"
                    }
                    .into()
                )),
                "{raw}"
            );
        }
    }

    #[test]
    fn undeclared_nested_and_mistyped_fields_are_refused_naming_the_field() {
        let e = bind(r#"{"plate": "FAKE123", "fields": "all"}"#).unwrap_err();
        assert!(matches!(e, BodyError::Undeclared { ref name, .. } if name == "fields"));
        assert!(e.to_string().contains("limit, plate, since, until"), "{e}");
        for (raw, field) in [
            (r#"{"plate": {"plate": "X"}}"#, "plate"),
            (r#"{"plate": ["FAKE123"]}"#, "plate"),
            (r#"{"plate": 123}"#, "plate"),
            (r#"{"plate": null}"#, "plate"),
            (r#"{"limit": "5"}"#, "limit"),
            (r#"{"limit": 5.0}"#, "limit"),
            (r#"{"limit": 1e1}"#, "limit"),
            (r#"{"limit": -1}"#, "limit"),
            (r#"{"limit": 101}"#, "limit"),
            (r#"{"limit": 99999999999999999999999}"#, "limit"),
            (r#"{"since": "yesterday"}"#, "since"),
            (r#"{"plate": "a/b"}"#, "plate"),
            (r#"{"plate": "A\u0000B"}"#, "plate"),
            (r#"{"Plate": "FAKE123"}"#, "Plate"),
        ] {
            let e = bind(raw).unwrap_err();
            assert!(e.to_string().contains(&format!("{field:?}")), "{raw}: {e}");
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{raw}");
        }
    }

    #[test]
    fn a_bom_a_non_object_trailing_data_and_bad_json_are_refused() {
        assert_eq!(bind("\u{feff}{\"plate\":\"X\"}"), Err(BodyError::Bom));
        assert_eq!(bind("  "), Err(BodyError::Empty));
        for raw in ["[1]", "\"plate\"", "null", "1"] {
            assert_eq!(bind(raw), Err(BodyError::NotObject), "{raw}");
        }
        for raw in [
            r#"{"plate": "X"} {"plate": "Y"}"#,
            r#"{"plate": "X",}"#,
            r#"{"plate": "\ud800"}"#,
            r#"{"plate": 'X'}"#,
            "{\"plate\": \"\u{1}\"}",
        ] {
            assert!(matches!(bind(raw), Err(BodyError::NotJson(_))), "{raw}");
        }
        let big = format!("{{\"plate\": \"{}\"}}", "A".repeat(MAX_BODY_BYTES));
        assert_eq!(
            bind(&big).unwrap_err().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn a_record_must_agree_with_the_path_and_query_and_nothing_binds_twice() {
        let q = BoundQuery {
            limit: Some(5),
            ..Default::default()
        };
        let e = bind_body(br#"{"limit": 5}"#, &decl(), None, &q).unwrap_err();
        assert_eq!(e, BodyError::Twice("limit".into()));
        let e = bind_body(br#"{"plate": "X"}"#, &decl(), Some("Y"), &q).unwrap_err();
        assert!(matches!(e, BodyError::RecordMismatch { .. }), "{e}");
        assert!(bind_body(br#"{"plate": "Y"}"#, &decl(), Some("Y"), &q).is_ok());
    }

    #[test]
    fn only_plain_json_content_types_are_accepted() {
        let h = |ct: &[&'static str], ce: &[&'static str]| BodyHeaders {
            content_type: ct.iter().map(|s| s.as_bytes()).collect(),
            content_encoding: ce.iter().map(|s| s.as_bytes()).collect(),
        };
        for ok in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            "application/json;charset=\"utf-8\"",
        ] {
            assert_eq!(check_headers(&h(&[ok], &[])), Ok(()), "{ok}");
        }
        for bad in [
            &["text/plain"][..],
            &["application/json; charset=utf-16"],
            &["application/x-www-form-urlencoded"],
            &["application/json", "application/json"],
            &[],
        ] {
            let e = check_headers(&h(bad, &[])).unwrap_err();
            assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{bad:?}");
        }
        assert!(matches!(
            check_headers(&h(&["application/json"], &["gzip"])),
            Err(BodyError::Encoded(_))
        ));
    }

    /// Bodies built from the tricks the adversarial tests use: escaped and repeated
    /// names, undeclared names, mistyped and nested values, odd spacing.
    fn tricky_body() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "plate",
            "\\u0070late",
            "limit",
            "since",
            "until",
            "Plate",
            "x",
        ]);
        let value = prop::sample::select(vec![
            "\"FAKE123\"",
            "\"A\\/B\"",
            "5",
            "05",
            "5.0",
            "-1",
            "\"2026-01-01\"",
            "{}",
            "[]",
            "null",
            "\"\\u0046AKE\"",
        ]);
        let space = prop::sample::select(vec!["", " ", "\n\t"]);
        prop::collection::vec((key, value, space), 0..5).prop_map(|pairs| {
            let inner: Vec<String> = pairs
                .iter()
                .map(|(k, v, s)| format!("{s}\"{k}\"{s}:{s}{v}"))
                .collect();
            format!("{{{}}}", inner.join(","))
        })
    }

    proptest! {
        #[test]
        fn a_canonical_body_binds_again_to_itself(raw in tricky_body()) {
            if let Ok(b) = bind(&raw) {
                let again = bind(&b.canonical).unwrap();
                prop_assert_eq!(&again, &b);
                // Only declared names survive, each once, spelled plainly.
                let v: serde_json::Value = serde_json::from_str(&b.canonical).unwrap();
                for k in v.as_object().unwrap().keys() {
                    prop_assert!(decl().contains_key(k));
                }
            }
        }
    }
}
