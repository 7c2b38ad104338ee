//! The witness's TOML configuration (`cordon witness serve --config`): where it listens,
//! its key, its state, and the logs it witnesses. Relative paths are read from the
//! config file's folder, so a config and its key can move together.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cordon_log::witness::{Witness, WitnessError};
use cordon_log::{KeyError, Signer, Verifier};
use serde::Deserialize;
use thiserror::Error;

use crate::server::WitnessService;

/// Why a witness config could not be loaded or its witness opened.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: log {index}'s vkey is not a log verifier key: {source}")]
    LogKey {
        path: PathBuf,
        index: usize,
        source: KeyError,
    },
    #[error("{path}: log {index}: {why}")]
    Log {
        path: PathBuf,
        index: usize,
        why: String,
    },
    #[error("{path}: lists no logs; add a [[log]] with the vkey of each log to witness")]
    NoLogs { path: PathBuf },
    #[error("key file {path}: {why}")]
    Key { path: PathBuf, why: String },
    #[error("witness state {path}: {source}")]
    State { path: PathBuf, source: WitnessError },
}

/// The whole `witness.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// Address to listen on, e.g. `127.0.0.1:7380`.
    pub listen: SocketAddr,
    /// Path part of the submission prefix: `add-checkpoint` is served at
    /// `<prefix>/add-checkpoint`.
    #[serde(default)]
    pub prefix: String,
    /// The witness's secret key (`PRIVATE+KEY+name+…`, from `cordon witness keygen`).
    pub key: PathBuf,
    /// Where the latest cosigned checkpoint of each log is kept.
    pub state_dir: PathBuf,
    /// The logs this witness follows.
    #[serde(default, rename = "log")]
    pub logs: Vec<LogSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// The log's verifier key; its name is the log's origin.
    pub vkey: String,
    /// The origin, if given, must equal the key's name: a check on copy-paste mistakes.
    #[serde(default)]
    pub origin: Option<String>,
}

impl WitnessConfig {
    pub fn load(path: &Path) -> Result<WitnessConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, path, base)
    }

    /// Parses `text` (read from `path`), resolving relative paths against `base`.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<WitnessConfig, ConfigError> {
        let mut c: WitnessConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        c.key = base.join(&c.key);
        c.state_dir = base.join(&c.state_dir);
        if !c.prefix.is_empty() && !c.prefix.starts_with('/') {
            return Err(ConfigError::Syntax {
                path: path.to_path_buf(),
                message: format!("prefix {:?} must start with '/'", c.prefix),
            });
        }
        c.log_verifiers(path)?;
        Ok(c)
    }

    /// The logs' verifier keys, checked: log keys (not cosigner keys), names as given.
    pub fn log_verifiers(&self, path: &Path) -> Result<Vec<Verifier>, ConfigError> {
        if self.logs.is_empty() {
            return Err(ConfigError::NoLogs {
                path: path.to_path_buf(),
            });
        }
        let mut out = Vec::new();
        for (i, log) in self.logs.iter().enumerate() {
            let index = i + 1;
            let v = Verifier::parse(&log.vkey).map_err(|source| ConfigError::LogKey {
                path: path.to_path_buf(),
                index,
                source,
            })?;
            let why = if v.is_cosigner() {
                Some("the vkey is a witness's cosigner key, not a log's".to_string())
            } else {
                match &log.origin {
                    Some(o) if o != cordon_log::NoteVerifier::name(&v) => Some(format!(
                        "origin {o:?} differs from the vkey's name {:?}; they must be the same",
                        cordon_log::NoteVerifier::name(&v)
                    )),
                    _ => None,
                }
            };
            if let Some(why) = why {
                return Err(ConfigError::Log {
                    path: path.to_path_buf(),
                    index,
                    why,
                });
            }
            out.push(v);
        }
        Ok(out)
    }

    /// The witness with its HTTP service: cosigned copies for monitors live in
    /// `<state_dir>/cosigned`.
    pub fn open_service(&self, path: &Path) -> Result<WitnessService, ConfigError> {
        let witness = self.open_witness(path)?;
        let dir = self.state_dir.join("cosigned");
        WitnessService::new(witness, &dir, &self.prefix).map_err(|e| ConfigError::State {
            path: dir,
            source: WitnessError::Storage(e.to_string()),
        })
    }

    /// Reads the key and opens the witness's state.
    pub fn open_witness(&self, path: &Path) -> Result<Witness, ConfigError> {
        let key_err = |why: String| ConfigError::Key {
            path: self.key.clone(),
            why,
        };
        let text = std::fs::read_to_string(&self.key).map_err(|e| {
            key_err(format!(
                "{e}; make one with `cordon witness keygen --name NAME --key FILE`"
            ))
        })?;
        let signer = Signer::parse(&text).map_err(|e| key_err(e.to_string()))?;
        if !signer.is_cosigner() {
            return Err(key_err(
                "is a log signing key, not a witness key; make one with `cordon witness keygen`"
                    .into(),
            ));
        }
        Witness::open(signer, self.log_verifiers(path)?, &self.state_dir).map_err(|source| {
            ConfigError::State {
                path: self.state_dir.clone(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WitnessConfig, ConfigError> {
        WitnessConfig::parse(text, Path::new("w.toml"), Path::new("/etc/w"))
    }

    #[test]
    fn the_example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/witness.toml");
        let c = WitnessConfig::load(&path).unwrap();
        assert_eq!(c.log_verifiers(&path).unwrap().len(), 1);
    }

    #[test]
    fn a_config_names_what_is_wrong() {
        let log = Signer::generate("city.example/log").unwrap().verifier();
        let good = format!(
            "listen = \"127.0.0.1:7380\"\nkey = \"w.key\"\nstate_dir = \"state\"\n[[log]]\nvkey = \"{}\"\n",
            log.to_text()
        );
        let c = parse(&good).unwrap();
        assert_eq!(c.key, Path::new("/etc/w/w.key"));

        let e = parse("listen = \"127.0.0.1:7380\"\nkey = \"k\"\nstate_dir = \"s\"\n").unwrap_err();
        assert!(e.to_string().contains("lists no logs"), "{e}");
        let e = parse(&good.replace("listen", "lisen")).unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
        let e = parse(&format!("{good}origin = \"other.example/log\"\n")).unwrap_err();
        assert!(e.to_string().contains("differs"), "{e}");
        let w = Signer::generate_cosigner("w.example/w").unwrap().verifier();
        let e = parse(&good.replace(&log.to_text(), &w.to_text())).unwrap_err();
        assert!(e.to_string().contains("cosigner key"), "{e}");
    }
}
