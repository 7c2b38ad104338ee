//! The dimensions of a decision: every value a policy can see, one per field of
//! [`Facts`], with the kind of value it holds (a string, a yes/no, a set of words).

use crate::engine::Facts;

/// How many dimensions there are.
pub(crate) const COUNT: usize = 20;

/// One thing a policy can read. `Dataset` is both `resource` and `context.dataset`: one
/// field of [`Facts`] feeds both, so they cannot vary apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Dim {
    Principal,
    Action,
    Dataset,
    Agency,
    AgencyKind,
    DatasetKind,
    Path,
    Purpose,
    Authority,
    AuthorityCourt,
    AuthorityMatter,
    AuthorityRecord,
    AgencyInState,
    AlprDeclaration,
    HasReason,
    HasCase,
    AuthorityRegistered,
    AuthorityNamesPath,
    FiltersStatus,
    Flags,
}

/// What a dimension holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    YesNo,
    Words,
}

impl Dim {
    #[cfg(test)]
    pub const ALL: [Dim; COUNT] = [
        Dim::Principal,
        Dim::Action,
        Dim::Dataset,
        Dim::Agency,
        Dim::AgencyKind,
        Dim::DatasetKind,
        Dim::Path,
        Dim::Purpose,
        Dim::Authority,
        Dim::AuthorityCourt,
        Dim::AuthorityMatter,
        Dim::AuthorityRecord,
        Dim::AgencyInState,
        Dim::AlprDeclaration,
        Dim::HasReason,
        Dim::HasCase,
        Dim::AuthorityRegistered,
        Dim::AuthorityNamesPath,
        Dim::FiltersStatus,
        Dim::Flags,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn kind(self) -> Kind {
        match self {
            Dim::AgencyInState
            | Dim::AlprDeclaration
            | Dim::HasReason
            | Dim::HasCase
            | Dim::AuthorityRegistered
            | Dim::AuthorityNamesPath
            | Dim::FiltersStatus => Kind::YesNo,
            Dim::Flags => Kind::Words,
            _ => Kind::Text,
        }
    }

    /// How reports name the dimension.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Principal => "principal",
            Dim::Action => "action",
            Dim::Dataset => "dataset",
            Dim::Agency => "agency",
            Dim::AgencyKind => "agency_kind",
            Dim::DatasetKind => "dataset_kind",
            Dim::Path => "path",
            Dim::Purpose => "purpose",
            Dim::Authority => "authority",
            Dim::AuthorityCourt => "authority_court",
            Dim::AuthorityMatter => "authority_matter",
            Dim::AuthorityRecord => "authority_record",
            Dim::AgencyInState => "agency_in_state",
            Dim::AlprDeclaration => "alpr_declaration",
            Dim::HasReason => "has_reason",
            Dim::HasCase => "has_case",
            Dim::AuthorityRegistered => "authority_registered",
            Dim::AuthorityNamesPath => "authority_names_path",
            Dim::FiltersStatus => "filters_status",
            Dim::Flags => "flags",
        }
    }

    /// The dimension behind `context.<attr>`, if the context has that attribute.
    pub fn of_context(attr: &str) -> Option<Dim> {
        Some(match attr {
            "agency" => Dim::Agency,
            "agency_kind" => Dim::AgencyKind,
            "agency_in_state" => Dim::AgencyInState,
            "alpr_declaration" => Dim::AlprDeclaration,
            "dataset" => Dim::Dataset,
            "dataset_kind" => Dim::DatasetKind,
            "path" => Dim::Path,
            "purpose" => Dim::Purpose,
            "has_reason" => Dim::HasReason,
            "has_case" => Dim::HasCase,
            "authority" => Dim::Authority,
            "authority_court" => Dim::AuthorityCourt,
            "authority_matter" => Dim::AuthorityMatter,
            "authority_registered" => Dim::AuthorityRegistered,
            "authority_record" => Dim::AuthorityRecord,
            "authority_names_path" => Dim::AuthorityNamesPath,
            "filters_status" => Dim::FiltersStatus,
            "flags" => Dim::Flags,
            _ => return None,
        })
    }

    /// The dimension behind a request variable (`principal`, `action`, `resource`).
    pub fn of_var(var: &str) -> Option<Dim> {
        match var {
            "principal" => Some(Dim::Principal),
            "action" => Some(Dim::Action),
            "resource" => Some(Dim::Dataset),
            _ => None,
        }
    }

    /// The text value of a text dimension ("" for the others).
    pub fn text<'a>(self, f: &Facts<'a>) -> &'a str {
        match self {
            Dim::Principal => f.principal,
            Dim::Action => f.action,
            Dim::Dataset => f.dataset,
            Dim::Agency => f.agency,
            Dim::AgencyKind => f.agency_kind,
            Dim::DatasetKind => f.dataset_kind,
            Dim::Path => f.path,
            Dim::Purpose => f.purpose,
            Dim::Authority => f.authority,
            Dim::AuthorityCourt => f.authority_court,
            Dim::AuthorityMatter => f.authority_matter,
            Dim::AuthorityRecord => f.authority_record,
            _ => "",
        }
    }

    /// The value of a yes/no dimension (false for the others).
    pub fn yes_no(self, f: &Facts<'_>) -> bool {
        match self {
            Dim::AgencyInState => f.agency_in_state,
            Dim::AlprDeclaration => f.alpr_declaration,
            Dim::HasReason => f.has_reason,
            Dim::HasCase => f.has_case,
            Dim::AuthorityRegistered => f.authority_registered,
            Dim::AuthorityNamesPath => f.authority_names_path,
            Dim::FiltersStatus => f.filters_status,
            _ => false,
        }
    }
}

/// One value per dimension, owned, from which [`Facts`] are lent: the representative
/// requests a table is filled with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Values {
    pub text: [String; COUNT],
    pub yes_no: [bool; COUNT],
    pub words: Vec<String>,
}

impl Values {
    pub fn facts<'a>(&'a self, flags: &'a [&'a str]) -> Facts<'a> {
        let t = |d: Dim| self.text[d.index()].as_str();
        let b = |d: Dim| self.yes_no[d.index()];
        Facts {
            principal: t(Dim::Principal),
            action: t(Dim::Action),
            dataset: t(Dim::Dataset),
            agency: t(Dim::Agency),
            agency_kind: t(Dim::AgencyKind),
            agency_in_state: b(Dim::AgencyInState),
            alpr_declaration: b(Dim::AlprDeclaration),
            dataset_kind: t(Dim::DatasetKind),
            path: t(Dim::Path),
            purpose: t(Dim::Purpose),
            has_reason: b(Dim::HasReason),
            has_case: b(Dim::HasCase),
            authority: t(Dim::Authority),
            authority_court: t(Dim::AuthorityCourt),
            authority_matter: t(Dim::AuthorityMatter),
            authority_registered: b(Dim::AuthorityRegistered),
            authority_record: t(Dim::AuthorityRecord),
            authority_names_path: b(Dim::AuthorityNamesPath),
            filters_status: b(Dim::FiltersStatus),
            flags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_context_attribute_the_engine_sends_is_a_dimension() {
        // A context attribute added to the engine but not here would be read by policies
        // without the table knowing: the scan refuses unknown attributes, but say so here.
        for name in crate::engine::context_names() {
            assert!(
                Dim::of_context(&name).is_some(),
                "{name} is not a dimension"
            );
        }
        assert_eq!(Dim::ALL.len(), COUNT);
        for (i, d) in Dim::ALL.iter().enumerate() {
            assert_eq!(d.index(), i);
        }
    }
}
