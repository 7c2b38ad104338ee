//! The bridge to Cedar: the context a request becomes, built straight from typed values
//! (no JSON, no per-request schema work), and the call to the authorizer.

use cedar_policy::{
    Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    Response, RestrictedExpression,
};
use std::str::FromStr;

/// The facts a policy can see about one request, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    pub principal: &'a str,
    pub action: &'a str,
    pub dataset: &'a str,
    pub agency: &'a str,
    pub agency_kind: &'a str,
    pub agency_in_state: bool,
    pub alpr_declaration: bool,
    pub dataset_kind: &'a str,
    pub path: &'a str,
    pub purpose: &'a str,
    pub has_reason: bool,
    pub has_case: bool,
    pub authority: &'a str,
    /// Who issued the authority ([`crate::Court`] word).
    pub authority_court: &'a str,
    /// What it is about ([`crate::Matter`] word).
    pub authority_matter: &'a str,
    /// Records staff registered it and it covers this record now.
    pub authority_registered: bool,
    pub authority_record: &'a str,
    /// See [`authority_names_path`].
    pub authority_names_path: bool,
    /// The request filters on citizenship, immigration status or place of birth.
    pub filters_status: bool,
    pub flags: &'a [&'a str],
}

/// Whether an authority names exactly the one record asked for: the path is non-empty,
/// holds no `*` pattern, and equals the record the authority names. Computed in Rust so
/// each policy compares one boolean instead of re-deriving it.
pub fn authority_names_path(path: &str, authority_record: &str) -> bool {
    !path.is_empty() && !path.contains('*') && path == authority_record
}

/// Entity types and action ids parsed once per pack.
pub struct Engine {
    principal_type: EntityTypeName,
    dataset_type: EntityTypeName,
    action_type: EntityTypeName,
    entities: Entities,
    authorizer: Authorizer,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

/// A fixed type name failed to parse: impossible unless the constants below are edited badly.
#[derive(Debug, thiserror::Error)]
#[error("internal entity type name {0:?} does not parse")]
pub struct BadTypeName(&'static str);

impl Engine {
    pub fn new() -> Result<Self, BadTypeName> {
        let parse =
            |name: &'static str| EntityTypeName::from_str(name).map_err(|_| BadTypeName(name));
        Ok(Engine {
            principal_type: parse("Principal")?,
            dataset_type: parse("Dataset")?,
            action_type: parse("Action")?,
            entities: Entities::empty(),
            authorizer: Authorizer::new(),
        })
    }

    /// Builds the Cedar request for `facts`. The context's shape is the schema's by
    /// construction (a test checks it), so the schema is not re-checked per request.
    pub fn request(&self, facts: &Facts<'_>) -> Result<Request, String> {
        let uid = |ty: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
        };
        let context = Context::from_pairs(context_pairs(facts)).map_err(|e| e.to_string())?;
        Request::new(
            uid(&self.principal_type, facts.principal),
            uid(&self.action_type, facts.action),
            uid(&self.dataset_type, facts.dataset),
            context,
            None,
        )
        .map_err(|e| e.to_string())
    }

    /// Asks Cedar.
    pub fn authorize(&self, request: &Request, policies: &PolicySet) -> Response {
        self.authorizer
            .is_authorized(request, policies, &self.entities)
    }
}

/// The names of the context attributes a request carries, in the engine's order.
#[cfg(test)]
pub(crate) fn context_names() -> Vec<String> {
    let facts = Facts {
        principal: "",
        action: "",
        dataset: "",
        agency: "",
        agency_kind: "",
        agency_in_state: false,
        alpr_declaration: false,
        dataset_kind: "",
        path: "",
        purpose: "",
        has_reason: false,
        has_case: false,
        authority: "",
        authority_court: "",
        authority_matter: "",
        authority_registered: false,
        authority_record: "",
        authority_names_path: false,
        filters_status: false,
        flags: &[],
    };
    context_pairs(&facts)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

fn context_pairs(f: &Facts<'_>) -> [(String, RestrictedExpression); 18] {
    let s = |v: &str| RestrictedExpression::new_string(v.to_owned());
    let b = RestrictedExpression::new_bool;
    let flags = RestrictedExpression::new_set(f.flags.iter().map(|flag| s(flag)));
    [
        ("agency".into(), s(f.agency)),
        ("agency_kind".into(), s(f.agency_kind)),
        ("agency_in_state".into(), b(f.agency_in_state)),
        ("alpr_declaration".into(), b(f.alpr_declaration)),
        ("dataset_kind".into(), s(f.dataset_kind)),
        ("path".into(), s(f.path)),
        ("purpose".into(), s(f.purpose)),
        ("has_reason".into(), b(f.has_reason)),
        ("has_case".into(), b(f.has_case)),
        ("authority".into(), s(f.authority)),
        ("authority_court".into(), s(f.authority_court)),
        ("authority_matter".into(), s(f.authority_matter)),
        ("authority_registered".into(), b(f.authority_registered)),
        ("filters_status".into(), b(f.filters_status)),
        ("authority_record".into(), s(f.authority_record)),
        ("authority_names_path".into(), b(f.authority_names_path)),
        ("flags".into(), flags),
        ("dataset".into(), s(f.dataset)),
    ]
}
