//! Routes: which dataset, and which action, a normalized path names, and what the route
//! declares about methods and query parameters.
use crate::config::Route;
use crate::path::NormalPath;
use cordon_policy::Action;
use std::sync::Arc;

/// What a path was mapped to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The route as configured: its methods, query parameters and redaction promise.
    pub route: Arc<Route>,
    pub dataset: String,
    pub action: Action,
    /// The segments below the route's prefix, joined with `/`: the record the path
    /// names, if any.
    pub path_record: Option<String>,
    /// The record path the policy sees: the normalized path without its leading slash,
    /// with the route's prefix spelled as configured.
    pub record: String,
    /// The path sent upstream, re-encoded, with the prefix spelled as configured.
    pub upstream_path: String,
}

struct Compiled {
    route: Arc<Route>,
    /// Lower-cased prefix segments, for matching.
    lower: Vec<String>,
    /// Prefix segments as configured, for rewriting.
    canonical: Vec<String>,
    dataset: String,
    action: Action,
}

/// The configured routes; the longest matching prefix wins.
pub struct Router {
    routes: Vec<Compiled>,
}

impl Router {
    pub fn new(routes: &[Route]) -> Self {
        let mut compiled: Vec<Compiled> = routes
            .iter()
            .filter_map(|r| {
                let p = crate::path::normalize_path(&r.prefix).ok()?;
                Some(Compiled {
                    route: Arc::new(r.clone()),
                    lower: p.segments().iter().map(|s| s.to_lowercase()).collect(),
                    canonical: p.segments().to_vec(),
                    dataset: r.dataset.clone(),
                    action: Action::parse(&r.action),
                })
            })
            .collect();
        compiled.sort_by_key(|c| std::cmp::Reverse(c.lower.len()));
        Router { routes: compiled }
    }

    /// The route for a path. Prefixes match whole segments ignoring case, because some
    /// upstreams ignore case and `/ALPR/...` must not slip past a rule for `/alpr/...`.
    pub fn route(&self, path: &NormalPath) -> Option<Target> {
        let segs = path.segments();
        let r = self.routes.iter().find(|r| {
            r.lower.len() <= segs.len()
                && r.lower
                    .iter()
                    .zip(segs)
                    .all(|(a, b)| *a == b.to_lowercase())
        })?;
        let mut canon: Vec<String> = r.canonical.clone();
        let below = &segs[r.lower.len()..];
        canon.extend(below.iter().cloned());
        let rebuilt = crate::path::normalize_path(&encode(&canon)).ok()?;
        Some(Target {
            route: r.route.clone(),
            path_record: (!below.is_empty()).then(|| below.join("/")),
            dataset: r.dataset.clone(),
            action: r.action.clone(),
            record: canon.join("/"),
            upstream_path: rebuilt.encoded(),
        })
    }
}

fn encode(segs: &[String]) -> String {
    let mut s = String::new();
    for seg in segs {
        s.push('/');
        s.extend(percent_encoding::utf8_percent_encode(
            seg,
            percent_encoding::NON_ALPHANUMERIC,
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::path::normalize_path;

    fn route(prefix: &str, dataset: &str, action: &str) -> Route {
        Route {
            prefix: prefix.into(),
            dataset: dataset.into(),
            action: action.into(),
            methods: vec!["GET".into(), "HEAD".into()],
            query: Default::default(),
            body: Default::default(),
            upstream_redacts: false,
            max_window_hours: None,
        }
    }

    fn router() -> Router {
        Router::new(&[
            route("/alpr/plates", "alpr", "search"),
            route("/records/people", "arrests", "read"),
        ])
    }

    #[test]
    fn case_tricks_reach_the_same_dataset_and_the_canonical_upstream_path() {
        let t = router()
            .route(&normalize_path("/ALPR/Plates/ABC123").unwrap())
            .unwrap();
        assert_eq!(t.dataset, "alpr");
        assert_eq!(t.upstream_path, "/alpr/plates/ABC123");
        assert_eq!(t.record, "alpr/plates/ABC123");
    }

    #[test]
    fn prefixes_match_whole_segments_only() {
        let r = router();
        assert!(r
            .route(&normalize_path("/alpr/platesX/1").unwrap())
            .is_none());
        assert!(r.route(&normalize_path("/other").unwrap()).is_none());
    }
}
