//! Run artifacts through the facade: a run's artifact root is its catalog `artifact_uri`
//! (MLflow's default: `<store>/artifacts/<experiment_id>/<run_id>/artifacts`).

use std::fs::File;
use std::path::{Path, PathBuf};

use runlog_artifacts::{ArtifactRepo, FileInfo};
use runlog_catalog::{CatalogError, LifecycleStage, Run as RunInfo};

use crate::error::Result;
use crate::run::Run;
use crate::store::Store;

impl Store {
    /// What is directly in the folder `path` of run `run_id`'s artifacts (the root when
    /// `None`): MLflow's `list_artifacts`, paths relative to the run's artifact root, folders
    /// without a size, sorted by path. A file or a missing path lists nothing.
    pub fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        Ok(self.artifacts(run_id)?.list_artifacts(path)?)
    }

    /// The bytes of the artifact file `path` of run `run_id`.
    pub fn read_artifact(&self, run_id: &str, path: &str) -> Result<Vec<u8>> {
        Ok(self.artifacts(run_id)?.read(path)?)
    }

    /// Opens the artifact file `path` of run `run_id` for reading (large files: stream them).
    pub fn open_artifact(&self, run_id: &str, path: &str) -> Result<File> {
        Ok(self.artifacts(run_id)?.open(path)?)
    }

    /// Copies the artifact file or folder `path` of run `run_id` (`""`: all of them) into the
    /// existing local folder `dst`, keeping the artifact path (`reports/a.json` lands in
    /// `dst/reports/a.json`), and returns `dst/path` (MLflow's `download_artifacts`).
    pub fn download_artifacts(
        &self,
        run_id: &str,
        path: &str,
        dst: impl AsRef<Path>,
    ) -> Result<PathBuf> {
        Ok(self.artifacts(run_id)?.download(path, dst)?)
    }

    /// Run `run_id`'s artifact repository, for reading. When the recorded root is gone and
    /// the store holds the run's artifacts in the default place, that is used: the store
    /// folder was moved.
    pub fn artifacts(&self, run_id: &str) -> Result<ArtifactRepo> {
        let run = self.get_run(run_id)?;
        Ok(ArtifactRepo::for_run(
            self.catalog().root(),
            &run.artifact_uri,
            &run.experiment_id,
            &run.run_id,
        )?)
    }

    /// The repository of `run`'s recorded `artifact_uri` (a `file:` URI, percent-decoded as
    /// MLflow decodes it; the catalog records its default one encoded).
    pub(crate) fn artifact_repo(&self, run: &RunInfo) -> Result<ArtifactRepo> {
        Ok(ArtifactRepo::from_uri(&run.artifact_uri)?)
    }
}

impl Run {
    /// Copies the local file `local_path` into the run's artifacts, in the folder
    /// `artifact_path` (the root when `None`); a local folder is logged whole as
    /// `artifact_path/<its name>` (MLflow's `MlflowClient.log_artifact`). Large files are
    /// streamed; the artifact appears complete or not at all. Refused for a deleted run.
    pub fn log_artifact(
        &self,
        local_path: impl AsRef<Path>,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let local_path = local_path.as_ref();
        let repo = self.artifacts_for_writing()?;
        if local_path.is_dir() {
            let name = std::path::absolute(local_path)
                .ok()
                .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
                .ok_or_else(|| runlog_artifacts::ArtifactError::BadLocalPath {
                    path: local_path.to_path_buf(),
                    what: "its name is not valid UTF-8 or it has none; log its contents \
                               with log_artifacts"
                        .into(),
                })?;
            let dir = match artifact_path.filter(|p| !p.is_empty()) {
                Some(p) => format!("{p}/{name}"),
                None => name,
            };
            return Ok(repo.log_artifacts(local_path, Some(&dir))?);
        }
        Ok(repo.log_artifact(local_path, artifact_path)?)
    }

    /// Copies everything in the local folder `local_dir`, recursively and empty folders
    /// included, into the run's artifacts under `artifact_path` (the root when `None`). A
    /// symbolic link pointing outside `local_dir` refuses the folder before anything is
    /// written. Refused for a deleted run.
    pub fn log_artifacts(
        &self,
        local_dir: impl AsRef<Path>,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        Ok(self
            .artifacts_for_writing()?
            .log_artifacts(local_dir, artifact_path)?)
    }

    /// Writes `text` as the artifact file `artifact_file` (`dir/name.txt`), UTF-8 (MLflow's
    /// `log_text`). Refused for a deleted run.
    pub fn log_text(&self, text: &str, artifact_file: &str) -> Result<()> {
        Ok(self
            .artifacts_for_writing()?
            .log_text(text, artifact_file)?)
    }

    /// The run's artifact repository, after checking that the run is not deleted.
    fn artifacts_for_writing(&self) -> Result<ArtifactRepo> {
        let info = self.store().get_run(self.id())?;
        if info.lifecycle_stage != LifecycleStage::Active {
            return Err(CatalogError::InvalidState(format!(
                "run {} is deleted; restore it before logging artifacts to it",
                self.id()
            ))
            .into());
        }
        self.store().artifact_repo(&info)
    }
}
