//! The `[[routes]]` tables: which dataset and action a path names, which methods it
//! takes, and which query parameters and search-body fields the upstream honours and how
//! each binds to the decision. Anything a route does not declare is refused, never
//! forwarded.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A path prefix that names a dataset.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Matched segment by segment, ignoring ASCII case: `/alpr/plates`.
    pub prefix: String,
    pub dataset: String,
    /// The action a request on this route performs: search, read, export or bulk.
    pub action: String,
    /// The methods this route takes (default `GET` and `HEAD`); others get 405. `POST`
    /// and `QUERY` are searches whose JSON body is decided: they need `[routes.body]`.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// The query parameters the upstream honours, by name, each with its binding.
    /// Parameters not listed here are refused with 400.
    #[serde(default)]
    pub query: BTreeMap<String, QueryParam>,
    /// The fields of a `POST` or `QUERY` search's JSON body, by name, each with its
    /// binding, exactly as query parameters. Fields not listed here are refused with 400.
    /// Left out of the routes' hash when empty, so routes without one keep theirs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub body: BTreeMap<String, QueryParam>,
    /// In forward-auth mode Cordon never sees the response, so a decision that obliges
    /// it to remove fields is a deny, unless the route declares that the upstream removes
    /// the fields named in `Cordon-Redact` itself.
    #[serde(default)]
    pub upstream_redacts: bool,
    /// A search that names no record is a copy of the whole collection (decided as
    /// `bulk`) unless its time range is closed (both ends) and spans at most this many
    /// hours. Without it, every such search is bulk. Left out of the routes' hash when
    /// not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_window_hours: Option<u64>,
}

/// One declared query parameter or body field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParam {
    pub bind: Binding,
    /// For `limit`: the largest value accepted.
    #[serde(default)]
    pub max: Option<u64>,
}

/// How a query parameter binds to the resource the decision covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// Names the record: it must agree with the record the path names, or, on a
    /// collection path, becomes the record that is decided.
    Record,
    /// The start of a time range (RFC 3339 date or date-time).
    TimeFrom,
    /// The end of a time range (RFC 3339 date or date-time).
    TimeTo,
    /// How many results: a whole number no larger than `max`.
    Limit,
}

fn default_methods() -> Vec<String> {
    vec!["GET".into(), "HEAD".into()]
}

/// Checks one route's declarations; the message names the route and what to fix.
pub fn check(r: &Route) -> Result<(), String> {
    let at = |m: String| format!("route {}: {m}", r.prefix);
    crate::path::normalize_path(&r.prefix).map_err(|e| at(format!("prefix: {e}")))?;
    if r.methods.is_empty() {
        return Err(at("methods is empty: list at least GET".into()));
    }
    for m in &r.methods {
        check_method(m, r).map_err(at)?;
    }
    check_params("query parameter", &r.query).map_err(at)?;
    check_params("body field", &r.body).map_err(at)?;
    if r.max_window_hours.is_some() && !binds_a_closed_range(r) {
        return Err(at(
            "max_window_hours needs a time_from and a time_to parameter (or body field) to bound the window".into(),
        ));
    }
    if !r.body.is_empty() && !r.methods.iter().any(|m| carries_search_body(m)) {
        return Err(at(
            "[routes.body] declares search fields, but methods has neither POST nor QUERY".into(),
        ));
    }
    Ok(())
}

fn binds_a_closed_range(r: &Route) -> bool {
    let binds = |b: Binding| r.query.values().chain(r.body.values()).any(|p| p.bind == b);
    binds(Binding::TimeFrom) && binds(Binding::TimeTo)
}

/// Whether requests with this method carry a search body that is decided.
pub fn carries_search_body(method: &str) -> bool {
    matches!(method, "POST" | "QUERY")
}

fn check_method(m: &str, r: &Route) -> Result<(), String> {
    match m {
        "GET" | "HEAD" => Ok(()),
        "POST" | "QUERY" if r.body.is_empty() => Err(format!(
            "method {m} is a search whose body Cordon must decide: declare its JSON fields \
             under [routes.body], e.g. plate = {{ bind = \"record\" }}"
        )),
        "POST" | "QUERY" => Ok(()),
        "PUT" | "PATCH" | "DELETE" => Err(format!(
            "method {m} changes data, and Cordon's policies decide reads and searches only: \
             routes take GET, HEAD, and POST or QUERY for searches"
        )),
        _ => Err(format!(
            "method {m:?} is not supported: routes take GET, HEAD, and POST or QUERY for searches"
        )),
    }
}

/// One map of declared parameters (the query's or the body's): plain names, `max` only
/// for limits and always for them, and each binding at most once.
fn check_params(what: &str, params: &BTreeMap<String, QueryParam>) -> Result<(), String> {
    for (name, p) in params {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'=' && b != b'&')
        {
            return Err(format!(
                "{what} {name:?}: use a plain name (printable ASCII, no '=' or '&')"
            ));
        }
        match (p.bind, p.max) {
            (Binding::Limit, None) => {
                return Err(format!(
                    "{what} {name:?} binds limit: give its max, e.g. max = 100"
                ))
            }
            (Binding::Limit, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(format!(
                    "{what} {name:?}: max applies only to bind = \"limit\""
                ))
            }
        }
    }
    for b in [
        Binding::Record,
        Binding::TimeFrom,
        Binding::TimeTo,
        Binding::Limit,
    ] {
        if params.values().filter(|p| p.bind == b).count() > 1 {
            return Err(format!("more than one {what} binds {b:?}: declare one"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn route(text: &str) -> Result<Route, String> {
        let r: Route = toml::from_str(text).map_err(|e| e.to_string())?;
        check(&r)?;
        Ok(r)
    }

    const BASE: &str = "prefix = \"/alpr/search\"\ndataset = \"alpr\"\naction = \"search\"\n";

    #[test]
    fn post_and_query_are_searches_only_with_a_declared_body() {
        let ok = format!(
            "{BASE}methods = [\"POST\", \"QUERY\"]\n[body]\nplate = {{ bind = \"record\" }}\n"
        );
        assert_eq!(route(&ok).unwrap().body.len(), 1);
        let e = route(&format!("{BASE}methods = [\"POST\"]\n")).unwrap_err();
        assert!(e.contains("[routes.body]"), "{e}");
        let e = route(&format!("{BASE}[body]\nplate = {{ bind = \"record\" }}\n")).unwrap_err();
        assert!(e.contains("neither POST nor QUERY"), "{e}");
    }

    #[test]
    fn methods_that_change_data_are_refused_even_with_a_body() {
        for m in ["PUT", "PATCH", "DELETE"] {
            let text =
                format!("{BASE}methods = [\"{m}\"]\n[body]\nplate = {{ bind = \"record\" }}\n");
            let e = route(&text).unwrap_err();
            assert!(e.contains("changes data"), "{m}: {e}");
        }
        let e = route(&format!("{BASE}methods = [\"CONNECT\"]\n")).unwrap_err();
        assert!(e.contains("not supported"), "{e}");
    }

    #[test]
    fn body_fields_are_checked_like_query_parameters() {
        for (body, says) in [
            ("limit = { bind = \"limit\" }", "give its max"),
            ("plate = { bind = \"record\", max = 3 }", "max applies only"),
            (
                "plate = { bind = \"record\" }\nid = { bind = \"record\" }",
                "more than one body field binds Record",
            ),
        ] {
            let text = format!("{BASE}methods = [\"POST\"]\n[body]\n{body}\n");
            let e = route(&text).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn routes_without_a_body_keep_the_hash_they_had() {
        let r = route(BASE).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("body"), "{json}");
    }
}
