//! A policy pack: a folder of Cedar policies, their schema, the agency and dataset
//! registries, the manifest saying what the pack governs, and the citation, basis and
//! source each policy stands for. Loaded and validated once; decisions are a
//! [`crate::Stack`]'s, even for one pack.

use crate::error::PolicyError;
use crate::files::PackFiles;
use crate::registry::{AgencyRegistry, DatasetRegistry};
use crate::vocab::Basis;
use cedar_policy::{PolicyId, PolicySet, Schema, ValidationMode, Validator};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The file names a pack folder holds.
pub const SCHEMA_FILE: &str = "schema.cedarschema";
pub const AGENCIES_FILE: &str = "agencies.json";
pub const DATASETS_FILE: &str = "datasets.json";
pub const CASES_FILE: &str = "cases.json";
pub const MANIFEST_FILE: &str = "pack.json";

/// The word policies see for an agency or dataset the deployment does not know.
pub const UNREGISTERED: &str = "unregistered";
/// The word policies see when no purpose code was sent.
pub const MISSING: &str = "missing";

/// What a policy stands for, read from its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    /// `@id`: the rule's name within its pack.
    pub id: String,
    /// The pack (folder name) it belongs to; empty until the pack is loaded.
    pub pack: String,
    /// `@citation`: the law (or local rule) the policy encodes.
    pub citation: String,
    /// `@basis`: state law, city ordinance, or the agency's own choice.
    pub basis: Basis,
    /// `@source`: where a reader can check the citation (the statute's text).
    pub source: String,
    /// `@needs_counsel`: the open legal question, when the sources do not settle the case
    /// and the rule takes the conservative answer.
    pub needs_counsel: Option<String>,
    /// `@explain`: one sentence a requester can read.
    pub explain: String,
    /// `@redact`: comma-separated fields an allow by this policy must remove.
    pub redact: Vec<String>,
    pub file: PathBuf,
}

/// What a pack governs: the dataset kinds and actions its law speaks to. On anything else
/// the pack abstains (a plate-reader law says nothing about case reports).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Governs {
    /// Dataset kinds (from the dataset registry), or `"*"` for every kind, including a
    /// dataset nobody registered.
    pub dataset_kinds: Scope,
    /// Actions, or `"*"` for every action, including an unrecognized one.
    pub actions: Scope,
}

/// Every value, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Scope {
    All(AllMarker),
    Only(Vec<String>),
}

/// The string `"*"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllMarker;

impl<'de> Deserialize<'de> for AllMarker {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        if word == "*" {
            Ok(AllMarker)
        } else {
            Err(serde::de::Error::custom(format!(
                "{word:?}: write \"*\" for everything, or a list of words"
            )))
        }
    }
}

impl Scope {
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All(_))
    }

    pub fn contains(&self, word: &str) -> bool {
        match self {
            Scope::All(_) => true,
            Scope::Only(words) => words.iter().any(|w| w == word),
        }
    }
}

/// `pack.json`: the pack's title, what it governs, and the stack its cases are written for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The law in a few words (`Illinois TRUST Act, 5 ILCS 805`).
    pub title: String,
    pub governs: Governs,
    /// The deployment its `cases.json` is written for: sibling pack folders, in order,
    /// including this one (`["illinois-trust-act", "illinois-alpr-2-130"]`).
    pub stack: Vec<String>,
}

/// A loaded, validated pack.
#[derive(Debug)]
pub struct Pack {
    name: String,
    dir: PathBuf,
    manifest: Manifest,
    schema: Schema,
    schema_text: String,
    policies: PolicySet,
    meta: HashMap<String, PolicyMeta>,
    registry: AgencyRegistry,
    datasets: DatasetRegistry,
    /// The files as read for this load: what was parsed, and what the hash covers.
    files: PackFiles,
}

impl Pack {
    /// Reads and validates a pack folder: the manifest, the schema, every policy (parsed,
    /// annotated, validated against the schema in strict mode) and the registries.
    pub fn load(dir: &Path) -> Result<Pack, PolicyError> {
        if !dir.is_dir() {
            return Err(PolicyError::NotADirectory {
                dir: dir.to_owned(),
            });
        }
        let name = folder_name(dir);
        let files = PackFiles::read(dir)?;
        let manifest = load_manifest(&files, dir, &name)?;
        let schema_path = require(&files, dir, SCHEMA_FILE, "schema.cedarschema")?;
        let schema_text = files.text(&schema_path)?.to_owned();
        let schema = parse_schema(&schema_path, &schema_text)?;
        let (policies, mut meta) = load_policies(&files, dir)?;
        validate(&schema, &policies)?;
        for m in meta.values_mut() {
            m.pack.clone_from(&name);
        }
        let agencies = require(&files, dir, AGENCIES_FILE, "agencies.json registry")?;
        let registry = AgencyRegistry::parse(&agencies, files.text(&agencies)?)?;
        let datasets = require(&files, dir, DATASETS_FILE, "datasets.json registry")?;
        let datasets = DatasetRegistry::parse(&datasets, files.text(&datasets)?)?;
        Ok(Pack {
            name,
            dir: dir.to_owned(),
            manifest,
            schema,
            schema_text,
            policies,
            meta,
            registry,
            datasets,
            files,
        })
    }

    /// The pack's files as they were read when it was loaded.
    pub fn files(&self) -> &PackFiles {
        &self.files
    }

    /// The folder's name: how decisions and cases name the pack.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The pack's own agencies (a stack merges every pack's).
    pub fn registry(&self) -> &AgencyRegistry {
        &self.registry
    }

    pub fn datasets(&self) -> &DatasetRegistry {
        &self.datasets
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub(crate) fn schema_text(&self) -> &str {
        &self.schema_text
    }

    /// The pack's Cedar policies, with their ids set from `@id`.
    pub fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// What each policy stands for, by id.
    pub fn policy_meta(&self, id: &str) -> Option<&PolicyMeta> {
        self.meta.get(id)
    }

    pub(crate) fn metas_by_id(&self) -> &HashMap<String, PolicyMeta> {
        &self.meta
    }

    /// Every policy's meta, in id order.
    pub fn metas(&self) -> Vec<&PolicyMeta> {
        let mut all: Vec<&PolicyMeta> = self.meta.values().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The metas of the rules that forbid (the ones a refusal can cite), in id order.
    pub fn forbid_metas(&self) -> Vec<&PolicyMeta> {
        let mut all: Vec<&PolicyMeta> = self
            .policies
            .policies()
            .filter(|p| p.effect() == cedar_policy::Effect::Forbid)
            .filter_map(|p| self.meta.get(p.id().to_string().as_str()))
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The folders of the stack this pack's cases are written for.
    pub fn home_stack(&self) -> Vec<PathBuf> {
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        self.manifest
            .stack
            .iter()
            .map(|name| {
                if *name == self.name {
                    self.dir.clone()
                } else {
                    parent.join(name)
                }
            })
            .collect()
    }
}

pub(crate) fn folder_name(dir: &Path) -> String {
    let dir = if dir.file_name().is_none() {
        dir.canonicalize().unwrap_or_else(|_| dir.to_owned())
    } else {
        dir.to_owned()
    };
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

fn load_manifest(files: &PackFiles, dir: &Path, name: &str) -> Result<Manifest, PolicyError> {
    let path = require(files, dir, MANIFEST_FILE, "pack.json manifest")?;
    let manifest: Manifest =
        serde_json::from_str(files.text(&path)?).map_err(|e| PolicyError::Registry {
            path: path.clone(),
            message: format!(
                "{e}: write {{\"title\": ..., \"governs\": {{\"dataset_kinds\": \"*\" or [...], \"actions\": \"*\" or [...]}}, \"stack\": [pack folders]}}"
            ),
        })?;
    if !manifest.stack.iter().any(|p| p == name) {
        return Err(PolicyError::Registry {
            path,
            message: format!(
                "stack {:?} does not include this pack ({name:?}): list the packs its cases are written for, this one included",
                manifest.stack
            ),
        });
    }
    if let Scope::Only(actions) = &manifest.governs.actions {
        if let Some(bad) = actions
            .iter()
            .find(|a| !crate::vocab::Action::WORDS.contains(&a.as_str()))
        {
            return Err(PolicyError::Registry {
                path,
                message: format!(
                    "governs.actions names {bad:?}: use {} or \"*\"",
                    crate::vocab::Action::WORDS.join(", ")
                ),
            });
        }
    }
    Ok(manifest)
}

pub(crate) fn require(
    files: &PackFiles,
    dir: &Path,
    file: &str,
    what: &'static str,
) -> Result<PathBuf, PolicyError> {
    let path = dir.join(file);
    if files.has_file(&path) {
        Ok(path)
    } else {
        Err(PolicyError::MissingFile {
            dir: dir.to_owned(),
            what,
        })
    }
}

pub(crate) fn parse_schema(path: &Path, text: &str) -> Result<Schema, PolicyError> {
    Schema::from_cedarschema_str(text)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| PolicyError::Schema {
            path: path.to_owned(),
            message: crate::diagnostics::render(&e),
        })
}

/// The `.cedar` files directly in `dir`, sorted by name, parsed and annotated.
pub(crate) fn load_policies(
    pack: &PackFiles,
    dir: &Path,
) -> Result<(PolicySet, HashMap<String, PolicyMeta>), PolicyError> {
    let files = pack.with_extension(dir, "cedar");
    if files.is_empty() {
        return Err(PolicyError::MissingFile {
            dir: dir.to_owned(),
            what: "*.cedar policy files",
        });
    }
    let mut policies = Vec::new();
    let mut meta: HashMap<String, PolicyMeta> = HashMap::new();
    for file in files {
        for (policy, m) in crate::annotations::read_file(&file, pack.text(&file)?)? {
            if let Some(first) = meta.get(&m.id) {
                return Err(PolicyError::DuplicateId {
                    id: m.id,
                    first: first.file.clone(),
                    second: file,
                });
            }
            meta.insert(m.id.clone(), m);
            policies.push(policy);
        }
    }
    let set = PolicySet::from_policies(policies).map_err(|e| PolicyError::PolicySet {
        message: crate::diagnostics::render(&e),
    })?;
    Ok((set, meta))
}

pub(crate) fn validate(schema: &Schema, policies: &PolicySet) -> Result<(), PolicyError> {
    let result = Validator::new(schema.clone()).validate(policies, ValidationMode::Strict);
    let mut messages: Vec<String> = result
        .validation_errors()
        .map(|e| format!("  error: {}", crate::diagnostics::render(e)))
        .collect();
    messages.extend(result.validation_warnings().map(|w| {
        format!(
            "  warning (treated as an error): {}",
            crate::diagnostics::render(w)
        )
    }));
    if messages.is_empty() {
        Ok(())
    } else {
        Err(PolicyError::Validation { messages })
    }
}

/// Checks a layered set for type errors. Its warnings are not errors: a layered rule may
/// be impossible by construction (a stack's "no pack governs" when one pack governs all).
pub(crate) fn validate_layered(schema: &Schema, policies: &PolicySet) -> Result<(), PolicyError> {
    let result = Validator::new(schema.clone()).validate(policies, ValidationMode::Strict);
    let messages: Vec<String> = result
        .validation_errors()
        .map(|e| format!("  error: {}", crate::diagnostics::render(e)))
        .collect();
    if messages.is_empty() {
        Ok(())
    } else {
        Err(PolicyError::Validation { messages })
    }
}

/// Ids are only ever set by the pack loader, from `@id`.
pub(crate) fn policy_id(id: &str) -> PolicyId {
    PolicyId::new(id)
}
