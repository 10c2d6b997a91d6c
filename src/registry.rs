//! The model registry through the facade: register a run's model, resolve `models:/` URIs.
//! Everything else of the registry is on [`Store::catalog`] (MLflow's `MlflowClient` names).

use runlog_catalog::{CatalogError, ModelLineage, ModelVersion};

use crate::error::Result;
use crate::store::Store;

impl Store {
    /// MLflow's `register_model("runs:/<run_id>/<artifact_path>", name)`: creates the
    /// registered model `name` if there is none, then its next version, with source
    /// `runs:/<run_id>/<artifact_path>` and the run as its lineage. The run must exist.
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = runlog::Store::open(dir.path())?;
    /// let run = store.experiment("fraud")?.start_run("baseline")?;
    /// run.log_param("depth", 6)?;
    /// let run_id = run.id().to_string();
    /// run.finish(runlog::RunStatus::Finished)?;
    ///
    /// let v1 = store.register_model("fraud-detector", &run_id, "model")?;
    /// assert_eq!(v1.version, 1);
    /// assert_eq!(v1.source, format!("runs:/{run_id}/model"));
    /// store.catalog().set_registered_model_alias("fraud-detector", "champion", 1)?;
    ///
    /// let lineage = store.model_lineage("models:/fraud-detector@champion")?;
    /// assert_eq!(lineage.run.unwrap().params["depth"], "6");
    /// # Ok(()) }
    /// ```
    pub fn register_model(
        &self,
        name: &str,
        run_id: &str,
        artifact_path: &str,
    ) -> Result<ModelVersion> {
        let path = artifact_path.trim_start_matches('/');
        if path.is_empty() {
            return Err(CatalogError::InvalidArgument(format!(
                "the artifact path of the model in run {run_id} is empty; give the folder the \
                 run logged the model to, such as \"model\""
            ))
            .into());
        }
        // The run must exist: the version's lineage points at it.
        self.catalog().get_run(run_id)?;
        let catalog = self.catalog();
        match catalog.create_registered_model(name, None, &[]) {
            // Another process may create it at the same moment: fine too.
            Ok(_) | Err(CatalogError::ModelExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let source = format!("runs:/{run_id}/{path}");
        Ok(catalog.create_model_version(name, &source, Some(run_id), None, &[])?)
    }

    /// The model version a `models:/` URI designates: `models:/<name>/<version>`,
    /// `models:/<name>/<stage>` (the highest version in that stage), `models:/<name>/latest`,
    /// `models:/<name>@<alias>`.
    pub fn resolve_model(&self, uri: &str) -> Result<ModelVersion> {
        Ok(self.catalog().resolve_model_uri(uri)?)
    }

    /// The model version a `models:/` URI designates, with the run that produced it (params,
    /// tags, latest metrics).
    pub fn model_lineage(&self, uri: &str) -> Result<ModelLineage> {
        Ok(self.catalog().model_version_lineage(uri)?)
    }
}
