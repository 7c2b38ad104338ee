//! The `[[routes]]` tables: which dataset and action a path names, which methods it
//! takes, and which query parameters the upstream honours and how each binds to the
//! decision. Anything a route does not declare is refused, never forwarded.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A path prefix that names a dataset.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Matched segment by segment, ignoring ASCII case: `/alpr/plates`.
    pub prefix: String,
    pub dataset: String,
    /// The action a request on this route performs: search, read, export or bulk.
    pub action: String,
    /// The methods this route takes (default `GET` and `HEAD`); others get 405.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// The query parameters the upstream honours, by name, each with its binding.
    /// Parameters not listed here are refused with 400.
    #[serde(default)]
    pub query: BTreeMap<String, QueryParam>,
    /// In forward-auth mode Cordon never sees the response, so a decision that obliges
    /// it to remove fields is a deny, unless the route declares that the upstream removes
    /// the fields named in `Cordon-Redact` itself.
    #[serde(default)]
    pub upstream_redacts: bool,
}

/// One declared query parameter.
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
        if !matches!(m.as_str(), "GET" | "HEAD") {
            return Err(at(format!(
                "method {m:?} is not supported: routes take GET and HEAD"
            )));
        }
    }
    let mut records = 0;
    for (name, p) in &r.query {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'=' && b != b'&')
        {
            return Err(at(format!(
                "query parameter {name:?}: use a plain name (printable ASCII, no '=' or '&')"
            )));
        }
        match (p.bind, p.max) {
            (Binding::Limit, None) => {
                return Err(at(format!(
                    "query parameter {name:?} binds limit: give its max, e.g. max = 100"
                )))
            }
            (Binding::Limit, Some(_)) => {}
            (_, Some(_)) => {
                return Err(at(format!(
                    "query parameter {name:?}: max applies only to bind = \"limit\""
                )))
            }
            (Binding::Record, None) => records += 1,
            _ => {}
        }
    }
    if records > 1 {
        return Err(at(
            "more than one query parameter binds the record: declare one".into(),
        ));
    }
    for b in [Binding::TimeFrom, Binding::TimeTo, Binding::Limit] {
        if r.query.values().filter(|p| p.bind == b).count() > 1 {
            return Err(at(format!(
                "more than one query parameter binds {b:?}: declare one"
            )));
        }
    }
    Ok(())
}
