//! The agency and dataset registries of a pack: the only source of an agency's kind and a
//! dataset's kind, keyed by the authenticated agency id and the dataset name.

use crate::error::PolicyError;
use crate::vocab::AgencyKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One registered agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub name: String,
    pub kind: AgencyKind,
    /// Whether the agency is a public agency of the pack's own state (plate-read laws
    /// distinguish in-state from out-of-state and federal agencies).
    #[serde(default)]
    pub in_state: bool,
    /// Whether the agency has signed the written declaration a plate-read law requires
    /// before data is shared (625 ILCS 5/2-130).
    #[serde(default)]
    pub alpr_declaration: bool,
}

/// The agencies a pack knows, keyed by agency id (`cpd`, `ice-ero`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyRegistry {
    pub agencies: BTreeMap<String, Agency>,
}

impl AgencyRegistry {
    /// Reads `agencies.json`; every kind must be in the vocabulary.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PolicyError> {
        let registry: Self = parse_json(path, text)?;
        for (id, agency) in &registry.agencies {
            if !agency.kind.is_recognized() {
                return Err(PolicyError::Registry {
                    path: path.to_owned(),
                    message: format!(
                        "agency {id:?} has kind {:?}; use one of {}",
                        agency.kind.as_sent(),
                        AgencyKind::WORDS.join(", ")
                    ),
                });
            }
        }
        Ok(registry)
    }

    /// The registered agency for an authenticated agency id, if any.
    pub fn agency(&self, id: &str) -> Option<&Agency> {
        self.agencies.get(id)
    }

    /// The kind of an authenticated agency id; `None` for an unregistered agency.
    pub fn kind_of(&self, id: &str) -> Option<&AgencyKind> {
        self.agency(id).map(|a| &a.kind)
    }
}

/// One registered dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// What the data is, as policies see it: `plate_reads`, `criminal_records`, `gang_database`, ...
    pub kind: String,
    #[serde(default)]
    pub description: String,
}

/// The datasets a pack governs, keyed by dataset name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetRegistry {
    pub datasets: BTreeMap<String, Dataset>,
}

impl DatasetRegistry {
    /// Reads `datasets.json`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PolicyError> {
        let registry: Self = parse_json(path, text)?;
        if let Some((name, _)) = registry.datasets.iter().find(|(_, d)| d.kind.is_empty()) {
            return Err(PolicyError::Registry {
                path: path.to_owned(),
                message: format!("dataset {name:?} has an empty kind"),
            });
        }
        Ok(registry)
    }

    /// The kind of a dataset; `None` for a dataset the pack does not govern.
    pub fn kind_of(&self, name: &str) -> Option<&str> {
        self.datasets.get(name).map(|d| d.kind.as_str())
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, PolicyError> {
    serde_json::from_str(text).map_err(|e| PolicyError::Registry {
        path: path.to_owned(),
        message: e.to_string(),
    })
}
