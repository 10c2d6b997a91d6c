//! The model registry's entities, as MLflow defines them: registered models, their versions,
//! stages and aliases, and `models:/` URIs.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CatalogError;
use crate::model::Run;

/// A model version's stage (MLflow's deprecated but working stage workflow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stage {
    /// `None`: the stage of a new version.
    None,
    /// `Staging`.
    Staging,
    /// `Production`.
    Production,
    /// `Archived`.
    Archived,
}

impl Stage {
    /// Every stage, in MLflow's order (`ALL_STAGES`).
    pub const ALL: [Stage; 4] = [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];

    /// MLflow's spelling: `None`, `Staging`, `Production`, `Archived`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }

    /// MLflow's `get_canonical_stage`: the stage named `text` in any letter case.
    ///
    /// # Errors
    ///
    /// [`CatalogError::InvalidStage`] naming the valid stages.
    pub fn parse(text: &str) -> Result<Stage, CatalogError> {
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text) && text.is_ascii())
            .ok_or_else(|| CatalogError::InvalidStage {
                stage: text.to_string(),
            })
    }

    /// Whether `archive_existing_versions` may be used when moving a version to this stage
    /// (`Staging` and `Production`, MLflow's "active" stages).
    pub fn is_active(self) -> bool {
        matches!(self, Stage::Staging | Stage::Production)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stage {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::parse(s)
    }
}

/// A model version's registration status. Versions are `READY` as soon as they are created,
/// as in MLflow's file store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ModelVersionStatus {
    /// `READY`.
    #[default]
    Ready,
}

impl ModelVersionStatus {
    /// MLflow's spelling.
    pub fn as_str(self) -> &'static str {
        "READY"
    }
}

/// A registered model: MLflow's `RegisteredModel`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    /// Its unique name.
    pub name: String,
    /// Creation time, ms since the epoch.
    pub creation_timestamp: i64,
    /// Time of the last change to it, its versions' stages, tags or aliases, ms.
    pub last_updated_timestamp: i64,
    /// Its description.
    pub description: Option<String>,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
    /// Aliases, each naming a version.
    pub aliases: BTreeMap<String, u64>,
    /// For each stage (in [`Stage::ALL`] order), the highest version in it.
    pub latest_versions: Vec<ModelVersion>,
}

/// A model version: MLflow's `ModelVersion`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// Its number: 1, 2, 3 … per model, never reused.
    pub version: u64,
    /// Creation time, ms since the epoch.
    pub creation_timestamp: i64,
    /// Time of the last change to its description or stage, ms.
    pub last_updated_timestamp: i64,
    /// Its description.
    pub description: Option<String>,
    /// Where its files are (`runs:/<run_id>/<path>`, `file:///…`, `s3://…`).
    pub source: String,
    /// The run that produced it, if known.
    pub run_id: Option<String>,
    /// Always [`ModelVersionStatus::Ready`].
    pub status: ModelVersionStatus,
    /// Its stage.
    pub current_stage: Stage,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
    /// The aliases naming it, sorted.
    pub aliases: Vec<String>,
}

/// A registered model with every version it ever had: [`crate::Catalog::registry_snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryEntry {
    /// The model, as [`crate::Catalog::get_registered_model`] answers it.
    pub model: RegisteredModel,
    /// Its versions by number, deleted ones included.
    pub versions: Vec<StoredVersion>,
}

/// A model version as the registry keeps it, deleted or not.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    /// The version (a deleted version keeps the stage it had).
    pub version: ModelVersion,
    /// Deleted: MLflow's `Deleted_Internal`, hidden from every read, its number never reused.
    pub deleted: bool,
}

/// A model version with the run that produced it: what [`crate::Catalog::model_version_lineage`]
/// answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLineage {
    /// The version.
    pub version: ModelVersion,
    /// Its run (params, tags, latest metrics), when the version names one.
    pub run: Option<Run>,
}

/// What a `models:/` URI designates (MLflow's `_parse_model_uri`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelUri {
    /// `models:/<name>/<version>`.
    Version {
        /// The model.
        name: String,
        /// The version.
        version: u64,
    },
    /// `models:/<name>/<stage>`: the highest version in that stage.
    Stage {
        /// The model.
        name: String,
        /// The stage as written (checked when resolved).
        stage: String,
    },
    /// `models:/<name>/latest`: the highest version.
    Latest {
        /// The model.
        name: String,
    },
    /// `models:/<name>@<alias>`.
    Alias {
        /// The model.
        name: String,
        /// The alias.
        alias: String,
    },
}

impl ModelUri {
    /// Parses a `models:/` URI as MLflow 3.17.2's `_parse_model_uri` does: the scheme must be
    /// `models`; an authority (`models://host/…`) and a query are ignored; the path is
    /// `/<name>/<suffix>` (suffix: decimal digits are a version, `latest` in any case the
    /// highest version, anything else a stage) or `/<name>@<alias>` (split at the last `@`).
    ///
    /// # Errors
    ///
    /// [`CatalogError::InvalidModelUri`] with MLflow's description of the accepted forms.
    /// `models:/<model_id>` (MLflow 3's logged models) is refused: runlog has no logged models.
    pub fn parse(uri: &str) -> Result<ModelUri, CatalogError> {
        let improper = |why: &str| CatalogError::InvalidModelUri {
            uri: uri.to_string(),
            why: why.to_string(),
        };
        let Some((scheme, rest)) = uri.split_once(':') else {
            return Err(improper("it has no scheme"));
        };
        if !scheme.eq_ignore_ascii_case("models") {
            return Err(improper("its scheme is not models"));
        }
        // `urlparse` with `allow_fragments=False`: `//authority` is dropped, then the query.
        let mut path = rest;
        if let Some(after) = path.strip_prefix("//") {
            path = after.find('/').map_or("", |i| &after[i..]);
        }
        if let Some(q) = path.find('?') {
            path = &path[..q];
        }
        if !path.starts_with('/') || path.len() <= 1 {
            return Err(improper("the path must start with '/' and name a model"));
        }
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if parts.len() > 2 || parts[0].trim().is_empty() {
            return Err(improper("it has more than a name and one suffix"));
        }
        if let [name, suffix] = parts[..] {
            if suffix.trim().is_empty() {
                return Err(improper("the suffix after the name is empty"));
            }
            let name = name.to_string();
            if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
                let version = suffix
                    .parse::<u64>()
                    .map_err(|_| improper("the version number is too large"))?;
                return Ok(ModelUri::Version { name, version });
            }
            if suffix.eq_ignore_ascii_case("latest") {
                return Ok(ModelUri::Latest { name });
            }
            return Ok(ModelUri::Stage {
                name,
                stage: suffix.to_string(),
            });
        }
        if path.contains('@') {
            let (name, alias) = parts[0].rsplit_once('@').expect("checked above");
            if alias.trim().is_empty() {
                return Err(improper("the alias after '@' is empty"));
            }
            return Ok(ModelUri::Alias {
                name: name.to_string(),
                alias: alias.to_string(),
            });
        }
        Err(improper(
            "models:/<model_id> names an MLflow 3 logged model, which runlog does not have",
        ))
    }

    /// The registered model the URI names.
    pub fn name(&self) -> &str {
        match self {
            ModelUri::Version { name, .. }
            | ModelUri::Stage { name, .. }
            | ModelUri::Latest { name }
            | ModelUri::Alias { name, .. } => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_uris_parse_as_mlflow_parses_them() {
        let v = |n: &str, version| ModelUri::Version {
            name: n.into(),
            version,
        };
        assert_eq!(ModelUri::parse("models:/m/3").unwrap(), v("m", 3));
        assert_eq!(ModelUri::parse("models://x/m/3").unwrap(), v("m", 3));
        assert_eq!(ModelUri::parse("models:/m/3?x=1").unwrap(), v("m", 3));
        assert_eq!(ModelUri::parse("models:/m/0").unwrap(), v("m", 0));
        assert_eq!(
            ModelUri::parse("models:/m/Latest").unwrap(),
            ModelUri::Latest { name: "m".into() }
        );
        assert_eq!(
            ModelUri::parse("models:/m/production").unwrap(),
            ModelUri::Stage {
                name: "m".into(),
                stage: "production".into()
            }
        );
        assert_eq!(
            ModelUri::parse("models:/a@b@c").unwrap(),
            ModelUri::Alias {
                name: "a@b".into(),
                alias: "c".into()
            }
        );
        for bad in [
            "models:/m/3/extra",
            "models:m/3",
            "models:/m@",
            "runs:/m/3",
            "models:/",
            "models:/m",
            "models:/m/ ",
        ] {
            let e = ModelUri::parse(bad).unwrap_err();
            assert!(e.to_string().contains("models:/name/suffix"), "{bad}: {e}");
        }
    }

    #[test]
    fn stages_are_case_insensitive_and_name_the_valid_ones() {
        assert_eq!(Stage::parse("production").unwrap(), Stage::Production);
        assert_eq!(Stage::parse("NONE").unwrap(), Stage::None);
        let e = Stage::parse("bogus").unwrap_err().to_string();
        assert!(e.contains("None, Staging, Production, Archived"), "{e}");
    }
}
