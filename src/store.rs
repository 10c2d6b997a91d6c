//! [`Store`]: one store folder, its metric store and its catalog.

use std::path::Path;
use std::sync::Arc;

use runlog_catalog::{Catalog, CatalogError, Experiment, NewRun, Run as RunInfo, ViewType};
use runlog_metrics::{MetricStore, RunReader};

use crate::error::Result;
use crate::run::Run;
use crate::sync::Syncer;

/// A store folder: experiments, runs and their metrics. Cheap to clone; `Send + Sync`.
///
/// Several processes may open the same store at once: each trainer writes its own runs, and
/// analysis tools read and search while they write.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub metrics: MetricStore,
    pub catalog: Arc<Catalog>,
    pub syncer: Option<Arc<Syncer>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(s) = &self.syncer {
            s.shutdown();
        }
    }
}

impl Store {
    /// Opens the store at `path`, creating it when the folder does not exist or is empty.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let metrics = MetricStore::open(path.as_ref())?;
        let catalog = Arc::new(Catalog::open(path.as_ref())?);
        let syncer = Some(Syncer::start(Arc::clone(&catalog)));
        Ok(Store {
            inner: Arc::new(Inner {
                metrics,
                catalog,
                syncer,
            }),
        })
    }

    /// Opens an existing store for reading only (searches, reads; no changes).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store> {
        let metrics = MetricStore::open(path.as_ref())?;
        let catalog = Arc::new(Catalog::open_read_only(path.as_ref())?);
        Ok(Store {
            inner: Arc::new(Inner {
                metrics,
                catalog,
                syncer: None,
            }),
        })
    }

    /// The store folder.
    pub fn path(&self) -> &Path {
        self.inner.metrics.path()
    }

    /// The catalog: every experiment and run operation, MLflow's `MlflowClient` surface.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The metric store underneath.
    pub fn metric_store(&self) -> &MetricStore {
        &self.inner.metrics
    }

    /// The active experiment named `name`, created if there is none (MLflow's
    /// `set_experiment`). A deleted experiment of that name is an error: restore it first.
    pub fn set_experiment(&self, name: &str) -> Result<Experiment> {
        let c = self.catalog();
        if let Some(e) = c.get_experiment_by_name(name)? {
            if e.lifecycle_stage != runlog_catalog::LifecycleStage::Active {
                return Err(CatalogError::InvalidState(format!(
                    "experiment {name:?} (id {}) is deleted; restore it or choose another name",
                    e.experiment_id
                ))
                .into());
            }
            return Ok(e);
        }
        match c.create_experiment(name, None, &[]) {
            Ok(id) => Ok(c.get_experiment(&id)?),
            // Another process created it in between.
            Err(CatalogError::ExperimentExists { .. }) => {
                c.get_experiment_by_name(name)?.ok_or_else(|| {
                    CatalogError::NotFound {
                        what: "experiment named",
                        id: name.to_string(),
                        hint: String::new(),
                    }
                    .into()
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A handle on the active experiment named `name`, created if there is none (as
    /// [`Store::set_experiment`]): where new runs go and what searches look at.
    pub fn experiment(&self, name: &str) -> Result<ExperimentHandle> {
        Ok(ExperimentHandle {
            info: self.set_experiment(name)?,
            store: self.clone(),
        })
    }

    /// Starts a run: records it in the catalog (durably) and opens its metric writer. Tags
    /// `mlflow.user`, `mlflow.source.name` and `mlflow.source.type` are filled in as MLflow's
    /// fluent API does, unless given.
    pub fn start_run(&self, new: NewRun) -> Result<Run> {
        let mut new = new;
        let has = |tags: &[(String, String)], k: &str| tags.iter().any(|(t, _)| t == k);
        if new.user.is_none() && !has(&new.tags, runlog_catalog::TAG_USER) {
            new.user = Some(current_user());
        }
        if !has(&new.tags, runlog_catalog::TAG_SOURCE_NAME) {
            let program = std::env::args().next().unwrap_or_default();
            new.tags
                .push((runlog_catalog::TAG_SOURCE_NAME.into(), program));
        }
        if !has(&new.tags, runlog_catalog::TAG_SOURCE_TYPE) {
            new.tags
                .push((runlog_catalog::TAG_SOURCE_TYPE.into(), "LOCAL".into()));
        }
        let info = self.catalog().create_run(new)?;
        Run::open(self.clone(), info, false)
    }

    /// Reopens run `run_id` to log more into it, from this or a new process (MLflow's
    /// `start_run(run_id=...)`): it becomes RUNNING again and keeps everything it had. Fails
    /// while another writer holds it (naming that process) and for deleted runs.
    pub fn resume_run(&self, run_id: &str) -> Result<Run> {
        let info = self.catalog().get_run(run_id)?;
        if info.lifecycle_stage != runlog_catalog::LifecycleStage::Active {
            return Err(CatalogError::InvalidState(format!(
                "run {run_id} is deleted; restore it before resuming it"
            ))
            .into());
        }
        Run::open(self.clone(), info, true)
    }

    /// The run `run_id` as the catalog has it (info, params, tags, latest metrics).
    pub fn get_run(&self, run_id: &str) -> Result<RunInfo> {
        Ok(self.catalog().get_run(run_id)?)
    }

    /// A reader of run `run_id`'s metrics: histories, step and time windows, latest values,
    /// downsampled curves, by key. Sees what the run's writer has flushed, also from another
    /// process; [`RunReader::refresh`] picks up later flushes.
    pub fn reader(&self, run_id: &str) -> Result<RunReader> {
        Ok(self.inner.metrics.reader(run_id)?)
    }

    /// MLflow's `search_runs` on active runs, first `max_results` only; see
    /// [`Catalog::search_runs`] for views and paging.
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
    ) -> Result<Vec<Arc<RunInfo>>> {
        Ok(self
            .catalog()
            .search_runs(
                experiment_ids,
                Some(filter),
                ViewType::ActiveOnly,
                order_by,
                max_results,
                None,
            )?
            .runs)
    }
}

/// The user name MLflow would record (`getpass.getuser()`): `$LOGNAME`, `$USER`, `$LNAME`,
/// `$USERNAME`, else `unknown`.
fn current_user() -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// An experiment of a [`Store`], from [`Store::experiment`]: starts runs in it and searches
/// them.
#[derive(Debug, Clone)]
pub struct ExperimentHandle {
    store: Store,
    info: Experiment,
}

impl ExperimentHandle {
    /// The experiment's id.
    pub fn id(&self) -> &str {
        &self.info.experiment_id
    }

    /// The experiment as it was when the handle was made (name, tags, lifecycle, times).
    pub fn info(&self) -> &Experiment {
        &self.info
    }

    /// Starts a run named `name` in this experiment.
    pub fn start_run(&self, name: &str) -> Result<Run> {
        self.start_run_with(NewRun::default().name(name))
    }

    /// Starts a run in this experiment with everything `new` gives (its experiment is
    /// replaced by this one).
    pub fn start_run_with(&self, new: NewRun) -> Result<Run> {
        let mut new = new;
        new.experiment_id = Some(self.info.experiment_id.clone());
        self.store.start_run(new)
    }

    /// MLflow's `search_runs` over this experiment's active runs, first `max_results`.
    pub fn search_runs(
        &self,
        filter: &str,
        order_by: &[&str],
        max_results: usize,
    ) -> Result<Vec<Arc<RunInfo>>> {
        self.store
            .search_runs(&[self.id()], filter, order_by, max_results)
    }

    /// The experiment's active runs, newest first.
    pub fn runs(&self) -> Result<Vec<Arc<RunInfo>>> {
        Ok(self
            .store
            .catalog()
            .list_runs(&[self.id()], ViewType::ActiveOnly)?)
    }
}
